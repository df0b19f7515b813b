//! A refusing collector (OTLP/HTTP 503, no Retry-After) goes away while the
//! exporter retries, and a new one listens on the same port (the collector
//! scenario of otelops' collector_memory_limiter, over a raw loopback
//! server we control).
//!
//! What these pin down about opentelemetry-otlp 0.33 as we configure it:
//! the retry budget of one batch is OTEL_EXPORTER_OTLP_TIMEOUT (the
//! exporter's `with_timeout`, which the spec defines per batch export), not
//! OTEL_BSP_EXPORT_TIMEOUT and not `max_retries`: a refusal that outlasts it
//! drops the batch, however many retries the policy allows. Connections to
//! the old collector (half-closed, or silent) are not reused: the next batch
//! reaches the new collector on the same port. But a kept-alive connection
//! to a collector that went silent is reused by the next retry, which then
//! waits out the per-request timeout, the whole budget when both are the
//! same OTEL_EXPORTER_OTLP_TIMEOUT: the batch is lost though a new
//! collector listens. These tests assert that current behaviour.

mod common;

use opentelemetry::trace::{Tracer, TracerProvider};
use opentelemetry_otlp::RetryPolicy;
use opentelemetry_sdk::error::OTelSdkResult;
use parker_telemetry::{ServiceInfo, TelemetryGuard};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A raw HTTP/1.1 receiver: answers every request with `status`
/// (keep-alive, empty body) until stopped; records each request body.
struct Receiver {
    bodies: Arc<Mutex<Vec<Vec<u8>>>>,
    stopped: Arc<Mutex<bool>>,
    conns: Arc<Mutex<Vec<TcpStream>>>,
}

/// Reads one request; its body, or None at EOF/error.
fn read_request(r: &mut BufReader<TcpStream>) -> Option<Vec<u8>> {
    let mut len = 0usize;
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':')
            && k.eq_ignore_ascii_case("content-length")
        {
            len = v.trim().parse().ok()?;
        }
    }
    let mut body = vec![0; len];
    r.read_exact(&mut body).ok()?;
    Some(body)
}

impl Receiver {
    fn start(listener: TcpListener, status: &'static str) -> Receiver {
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let stopped = Arc::new(Mutex::new(false));
        let conns = Arc::new(Mutex::new(Vec::new()));
        let (b, s, c) = (bodies.clone(), stopped.clone(), conns.clone());
        listener
            .set_nonblocking(true)
            .expect("nonblocking listener");
        std::thread::spawn(move || {
            while !*s.lock().expect("lock") {
                let stream = match listener.accept() {
                    Ok((stream, _)) => stream,
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(5));
                        continue;
                    }
                    Err(_) => return,
                };
                stream.set_nonblocking(false).expect("blocking stream");
                c.lock()
                    .expect("lock")
                    .push(stream.try_clone().expect("clone"));
                let (b, s) = (b.clone(), s.clone());
                std::thread::spawn(move || serve(stream, status, &b, &s));
            }
            // Dropping the listener frees the port for the next receiver.
        });
        Receiver {
            bodies,
            stopped,
            conns,
        }
    }

    fn requests(&self) -> usize {
        self.bodies.lock().expect("lock").len()
    }

    /// Stops listening and answering; `how` is done to open connections.
    fn stop(&self, how: Option<Shutdown>) {
        *self.stopped.lock().expect("lock") = true;
        if let Some(how) = how {
            for c in self.conns.lock().expect("lock").iter() {
                let _ = c.shutdown(how);
            }
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop(Some(Shutdown::Both));
    }
}

fn serve(stream: TcpStream, status: &str, bodies: &Mutex<Vec<Vec<u8>>>, stopped: &Mutex<bool>) {
    let mut w = stream.try_clone().expect("clone");
    let mut r = BufReader::new(stream);
    while let Some(body) = read_request(&mut r) {
        bodies.lock().expect("lock").push(body);
        if *stopped.lock().expect("lock") {
            // A stopping collector that never answers.
            continue;
        }
        let response = format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n"
        );
        if w.write_all(response.as_bytes()).is_err() {
            return;
        }
    }
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

fn wait_for(what: &str, timeout: Duration, ok: impl Fn() -> bool) {
    let deadline = Instant::now() + timeout;
    while !ok() {
        assert!(Instant::now() < deadline, "{what}: not within {timeout:?}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The otelops scenario's exporter: traces only over OTLP/HTTP protobuf,
/// explicit flushes only, 25 s export timeout, a patient retry policy.
fn exporter(addr: SocketAddr, otlp_timeout_ms: &str) -> TelemetryGuard {
    let endpoint = format!("http://{addr}");
    let mut config = common::fast_config(
        "http/protobuf",
        &endpoint,
        &[
            ("OTEL_METRICS_EXPORTER", "none"),
            ("OTEL_LOGS_EXPORTER", "none"),
            ("OTEL_BSP_SCHEDULE_DELAY", "600000"),
            ("OTEL_BSP_EXPORT_TIMEOUT", "25000"),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", otlp_timeout_ms),
        ],
    );
    config.retry = RetryPolicy::recommended()
        .with_max_retries(80)
        .with_initial_delay(Duration::from_millis(100))
        .with_max_delay(Duration::from_millis(250))
        .with_max_jitter(Duration::from_millis(10));
    parker_telemetry::build(ServiceInfo::new("restart", "1"), &config).expect("build")
}

/// Ends a span named `name` and flushes on another thread; the flush
/// result arrives on the channel.
fn end_and_flush(guard: &TelemetryGuard, name: &'static str) -> mpsc::Receiver<OTelSdkResult> {
    let provider = guard.tracer_provider().clone();
    provider.tracer("restart-test").start(name);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(provider.force_flush());
    });
    rx
}

fn flushed(rx: mpsc::Receiver<OTelSdkResult>) -> OTelSdkResult {
    // Bounded: the flush gives up by the 25 s export timeout at worst.
    rx.recv_timeout(Duration::from_secs(40))
        .expect("force_flush did not return within 40 s")
}

#[test]
fn a_refusal_outlasting_the_otlp_timeout_drops_the_batch_and_the_next_reaches_a_new_collector() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let old = Receiver::start(listener, "503 Service Unavailable");
    let guard = exporter(addr, "1000");

    // Refused until the exporter gives up: that is the 1 s
    // OTEL_EXPORTER_OTLP_TIMEOUT, long before 80 retries (each waits
    // at least 100 ms, so at most ~10 fit in the budget) or the 25 s
    // export timeout.
    let result = flushed(end_and_flush(&guard, "refused batch"));
    assert!(result.is_err(), "every attempt was refused: {result:?}");
    let attempts = old.requests();
    assert!(
        (1..=12).contains(&attempts),
        "the retry budget is the 1 s OTLP timeout, not 81 attempts: {attempts} attempts"
    );

    // The old collector goes (its connections half-closed, as a
    // SIGTERM'd Go server does), a new one takes the same port.
    old.stop(Some(Shutdown::Write));
    let new = Receiver::start(bind_again(addr), "200 OK");
    let result = flushed(end_and_flush(&guard, "after the restart"));
    assert!(result.is_ok(), "{result:?}");
    let bodies = new.bodies.lock().expect("lock").clone();
    assert!(
        bodies.iter().any(|b| contains(b, "after the restart")),
        "the next batch reached the new collector"
    );
    assert!(
        !bodies.iter().any(|b| contains(b, "refused batch")),
        "the given-up batch is gone for good"
    );
    assert_eq!(old.requests(), attempts, "nothing more went to the old one");
    drop(guard);
}

#[test]
fn a_retry_reuses_the_kept_alive_connection_to_a_collector_gone_silent() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let old = Receiver::start(listener, "503 Service Unavailable");
    // 3 s: per request (hyper client) and for the whole batch (retries).
    let guard = exporter(addr, "3000");
    let rx = end_and_flush(&guard, "retried batch");
    wait_for("a refusal", Duration::from_secs(10), || old.requests() >= 1);

    // The old collector stops answering but keeps its connections open
    // (as during the ~5 s linger after "Shutdown complete"); a new one
    // listens on the same port at once, well before the next retry.
    old.stop(None);
    let new = Receiver::start(bind_again(addr), "200 OK");

    // Current behaviour: the retry goes out on the pooled keep-alive
    // connection to the old collector, waits out the whole per-request
    // timeout there, and that uses up the batch's retry budget (the same
    // OTEL_EXPORTER_OTLP_TIMEOUT): the batch is dropped although the new
    // collector was listening all along.
    let result = flushed(rx);
    assert!(result.is_err(), "{result:?}");
    assert!(old.requests() >= 2, "the retry went to the old collector");
    assert!(
        !new.bodies
            .lock()
            .expect("lock")
            .iter()
            .any(|b| contains(b, "retried batch")),
        "the retried batch never reached the new collector"
    );

    // The timed-out connection is not pooled again: the next batch
    // connects anew and reaches the new collector.
    let result = flushed(end_and_flush(&guard, "next batch"));
    assert!(result.is_ok(), "{result:?}");
    assert!(
        new.bodies
            .lock()
            .expect("lock")
            .iter()
            .any(|b| contains(b, "next batch")),
        "the next batch reached the new collector"
    );
    drop(old);
    drop(guard);
}

/// Binds `addr` again once the old receiver has let it go.
fn bind_again(addr: SocketAddr) -> TcpListener {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match TcpListener::bind(addr) {
            Ok(l) => return l,
            Err(e) => {
                assert!(Instant::now() < deadline, "rebind {addr}: {e}");
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    }
}
