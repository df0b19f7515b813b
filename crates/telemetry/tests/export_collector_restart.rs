//! A refusing collector (OTLP/HTTP 503, no Retry-After) goes away while the
//! exporter retries, and a new one listens on the same port (otelops'
//! collector_memory_limiter scenario, over a raw loopback server we
//! control). With the default configuration, the batch being retried must
//! reach the new collector:
//!
//! - though the refusals and an 8 s restart outlast
//!   OTEL_EXPORTER_OTLP_TIMEOUT (the per-request timeout; a batch retries
//!   for the export timeout);
//! - though a retry first lands on a kept-alive connection to the old
//!   collector gone silent (that attempt times out, the next connects anew).
//!
//! Before parker-telemetry gave the HTTP client its own timeout, both lost
//! the batch: opentelemetry-otlp used OTEL_EXPORTER_OTLP_TIMEOUT as the
//! whole retry budget too.

mod common;

use opentelemetry::trace::{Tracer, TracerProvider};
use parker_telemetry::{ServiceInfo, TelemetryGuard};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
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

/// How long the collector is down between the two (the scenario).
const DOWN: Duration = Duration::from_secs(8);

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

/// The default configuration (no OTEL_BSP_*, the default retry policy:
/// retry until the 30 s export timeout), traces only over OTLP/HTTP
/// protobuf; the tests flush explicitly.
fn exporter(addr: SocketAddr, otlp_timeout_ms: &str) -> TelemetryGuard {
    let endpoint = format!("http://{addr}");
    let config = common::config(&[
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
        ("OTEL_METRICS_EXPORTER", "none"),
        ("OTEL_LOGS_EXPORTER", "none"),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", otlp_timeout_ms),
    ]);
    parker_telemetry::build(ServiceInfo::new("restart", "1"), &config).expect("build")
}

/// Ends a span named `name`, then asks for a flush on another thread
/// (the SDK's force_flush gives up waiting after 5 s, the export goes on).
fn end_and_flush(guard: &TelemetryGuard, name: &'static str) {
    let provider = guard.tracer_provider().clone();
    provider.tracer("restart-test").start(name);
    std::thread::spawn(move || {
        let _ = provider.force_flush();
    });
}

fn received(receiver: &Receiver, name: &str) -> bool {
    receiver
        .bodies
        .lock()
        .expect("lock")
        .iter()
        .any(|b| contains(b, name))
}

#[test]
fn a_batch_refused_for_longer_than_the_otlp_timeout_reaches_the_restarted_collector() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let old = Receiver::start(listener, "503 Service Unavailable");
    // Requests time out after 300 ms; the batch may retry for 25 s.
    let guard = exporter(addr, "300");
    end_and_flush(&guard, "refused batch");
    // The backoff starts at 100 ms: 8 refusals take over 700 ms, more
    // than twice the OTLP timeout.
    wait_for("8 refusals", Duration::from_secs(20), || {
        old.requests() >= 8
    });

    // The old collector goes (its connections half-closed, as a
    // SIGTERM'd Go server does); 8 s later a new one takes the same port.
    old.stop(Some(Shutdown::Write));
    std::thread::sleep(DOWN);
    let new = Receiver::start(bind_again(addr), "200 OK");
    wait_for(
        "the refused batch at the new collector",
        Duration::from_secs(20),
        || received(&new, "refused batch"),
    );
    assert!(
        old.bodies
            .lock()
            .expect("lock")
            .iter()
            .all(|b| contains(b, "refused batch")),
        "the old collector saw only that batch"
    );
    drop(guard);
}

#[test]
fn a_retry_stuck_on_a_connection_to_a_silent_collector_times_out_and_reconnects() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let old = Receiver::start(listener, "503 Service Unavailable");
    let guard = exporter(addr, "1000");
    end_and_flush(&guard, "retried batch");
    wait_for("a refusal", Duration::from_secs(10), || old.requests() >= 1);

    // The old collector stops answering but keeps its connections open
    // (as during the ~5 s linger after "Shutdown complete"); a new one
    // listens on the same port at once, before the next retry. The retry
    // goes out on the pooled keep-alive connection to the old one, times
    // out after 1 s, and the one after connects to the new collector.
    old.stop(None);
    let new = Receiver::start(bind_again(addr), "200 OK");
    wait_for(
        "the retried batch at the new collector",
        Duration::from_secs(20),
        || received(&new, "retried batch"),
    );

    assert!(
        old.requests() >= 2,
        "a retry went to the old collector first"
    );

    // And the next batch follows it there.
    end_and_flush(&guard, "next batch");
    wait_for(
        "the next batch at the new collector",
        Duration::from_secs(20),
        || received(&new, "next batch"),
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
