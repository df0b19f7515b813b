//! The gRPC twin of export_collector_restart.rs: a refusing collector
//! (OTLP/gRPC UNAVAILABLE) goes away while the exporter retries, and 8 s
//! later a new one listens on the same port. With the default
//! configuration, the batch being retried must reach the new collector
//! though the refusals and restart outlast
//! OTEL_EXPORTER_OTLP_TIMEOUT (tonic's per-request timeout; a batch retries
//! for the export timeout).
//!
//! Before parker-telemetry gave the exporter its own tonic channel, this
//! lost the batch: opentelemetry-otlp used OTEL_EXPORTER_OTLP_TIMEOUT as the
//! whole retry budget too, so retries stopped after ~300 ms.

mod common;

use opentelemetry::trace::{Tracer, TracerProvider};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use parker_telemetry::{ServiceInfo, TelemetryGuard};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Span names of every export request a collector got.
type Seen = Arc<Mutex<Vec<Vec<String>>>>;

#[derive(Clone)]
struct Collector {
    seen: Seen,
    refuse: bool,
}

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let names = request
            .into_inner()
            .resource_spans
            .iter()
            .flat_map(|r| &r.scope_spans)
            .flat_map(|s| &s.spans)
            .map(|s| s.name.clone())
            .collect();
        self.seen.lock().expect("lock").push(names);
        if self.refuse {
            return Err(tonic::Status::unavailable("collector is refusing data"));
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

/// A tonic OTLP trace receiver on `listener`, stopped gracefully (GOAWAY,
/// as a SIGTERM'd collector does) by `stop`.
struct Receiver {
    seen: Seen,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl Receiver {
    fn start(rt: &tokio::runtime::Runtime, listener: std::net::TcpListener, refuse: bool) -> Self {
        let seen = Seen::default();
        let svc = Collector {
            seen: seen.clone(),
            refuse,
        };
        let (stop, stopped) = oneshot::channel::<()>();
        let task = rt.spawn(async move {
            listener
                .set_nonblocking(true)
                .expect("nonblocking listener");
            let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
            let _ = tonic::transport::Server::builder()
                .add_service(TraceServiceServer::new(svc))
                .serve_with_incoming_shutdown(
                    tonic::transport::server::TcpIncoming::from(listener),
                    async {
                        let _ = stopped.await;
                    },
                )
                .await;
        });
        Receiver {
            seen,
            stop: Some(stop),
            task,
        }
    }

    fn requests(&self) -> usize {
        self.seen.lock().expect("lock").len()
    }

    fn received(&self, name: &str) -> bool {
        self.seen
            .lock()
            .expect("lock")
            .iter()
            .any(|names| names.iter().any(|n| n == name))
    }

    /// Stops the server and waits (bounded) until it has let the port go.
    fn stop(&mut self, rt: &tokio::runtime::Runtime) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let task = &mut self.task;
        let stopped =
            rt.block_on(async { tokio::time::timeout(Duration::from_secs(10), task).await });
        assert!(
            stopped.is_ok(),
            "the old collector did not stop within 10 s"
        );
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn wait_for(what: &str, timeout: Duration, ok: impl Fn() -> bool) {
    let deadline = Instant::now() + timeout;
    while !ok() {
        assert!(Instant::now() < deadline, "{what}: not within {timeout:?}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Binds `addr` again once the old receiver has let it go.
fn bind_again(addr: SocketAddr) -> std::net::TcpListener {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match std::net::TcpListener::bind(addr) {
            Ok(l) => return l,
            Err(e) => {
                assert!(Instant::now() < deadline, "rebind {addr}: {e}");
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    }
}

/// The HTTP test's exporter, over OTLP/gRPC: the default configuration
/// (no OTEL_BSP_*, the default retry policy), traces only, a 300 ms OTLP
/// timeout; the test flushes explicitly.
fn exporter(addr: SocketAddr) -> TelemetryGuard {
    let endpoint = format!("http://{addr}");
    let config = common::config(&[
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
        ("OTEL_METRICS_EXPORTER", "none"),
        ("OTEL_LOGS_EXPORTER", "none"),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "300"),
    ]);
    parker_telemetry::build(ServiceInfo::new("grpc-restart", "1"), &config).expect("build")
}

#[test]
fn a_grpc_batch_refused_for_longer_than_the_otlp_timeout_reaches_the_restarted_collector() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("server runtime");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let mut old = Receiver::start(&rt, listener, true);
    let guard = exporter(addr);

    let provider = guard.tracer_provider().clone();
    provider.tracer("restart-test").start("refused batch");
    // The SDK's force_flush gives up waiting after 5 s; the export goes on.
    let flusher = provider.clone();
    std::thread::spawn(move || {
        let _ = flusher.force_flush();
    });
    // The backoff starts at 100 ms: 8 refusals take over 700 ms, more
    // than twice the OTLP timeout.
    wait_for("8 refusals", Duration::from_secs(20), || {
        old.requests() >= 8
    });
    assert!(
        old.seen
            .lock()
            .expect("lock")
            .iter()
            .all(|names| names == &["refused batch"]),
        "the old collector saw only that batch"
    );

    // Down for 8 s (connections refused), then back on the same port.
    old.stop(&rt);
    std::thread::sleep(Duration::from_secs(8));
    let new = Receiver::start(&rt, bind_again(addr), false);
    wait_for(
        "the refused batch at the new collector",
        Duration::from_secs(20),
        || new.received("refused batch"),
    );
    drop(guard);
    drop(new);
}
