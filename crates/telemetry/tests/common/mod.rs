//! Shared helpers for parker-telemetry's integration tests.
#![allow(dead_code)] // each test binary uses a different subset

use parker_telemetry::TelemetryConfig;
use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// A key/value source from pairs.
pub fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// Parses a config from pairs; panics with the error if it does not parse.
pub fn config(pairs: &[(&str, &str)]) -> TelemetryConfig {
    TelemetryConfig::from_source(&vars(pairs)).unwrap_or_else(|e| panic!("config {pairs:?}: {e}"))
}

/// The error message for a config that must not parse.
pub fn config_error(pairs: &[(&str, &str)]) -> String {
    match TelemetryConfig::from_source(&vars(pairs)) {
        Ok(c) => panic!("config {pairs:?} parsed but should not: {c:?}"),
        Err(e) => e.to_string(),
    }
}

/// Fast-exporting settings (short batch delays, everything sampled) for a
/// given protocol and endpoint, plus `extra`.
pub fn fast_config(protocol: &str, endpoint: &str, extra: &[(&str, &str)]) -> TelemetryConfig {
    let mut pairs = vec![
        ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint),
        ("OTEL_TRACES_SAMPLER", "always_on"),
        ("OTEL_BSP_SCHEDULE_DELAY", "50"),
        ("OTEL_BLRP_SCHEDULE_DELAY", "50"),
        ("OTEL_METRIC_EXPORT_INTERVAL", "200"),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "5000"),
    ];
    pairs.extend_from_slice(extra);
    config(&pairs)
}

/// The sink's endpoint for `protocol` (`grpc`, else OTLP/HTTP).
pub fn sink_endpoint(sink: &parker_telemetry::testing::OtlpSink, protocol: &str) -> String {
    if protocol == "grpc" {
        sink.grpc_endpoint()
    } else {
        sink.http_endpoint()
    }
}

/// A loopback port nobody listens on (bound, then released).
pub fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local addr").port()
}

/// Waits until something accepts TCP connections on `addr`.
pub fn wait_for_port(addr: SocketAddr, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    while TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_err() {
        assert!(
            Instant::now() < deadline,
            "nothing listens on {addr} after {timeout:?}"
        );
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// The rotel-agent binary: $ROTEL_AGENT, then PATH, then the repo's venv.
pub fn rotel_agent() -> PathBuf {
    if let Some(p) = std::env::var_os("ROTEL_AGENT") {
        return PathBuf::from(p);
    }
    if let Some(paths) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&paths) {
            let candidate = dir.join("rotel-agent");
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    if let Ok(entries) = std::fs::read_dir(root.join(".venv/lib")) {
        for entry in entries.flatten() {
            let candidate = entry.path().join("site-packages/rotel/rotel-agent");
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    panic!(
        "rotel-agent not found (ROTEL_AGENT unset, not on PATH, not in .venv): run ./scripts/test, which installs rotel"
    );
}

/// Kills the child on drop so a failing test never leaves it running.
pub struct ChildGuard(pub std::process::Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Serves `app` on 127.0.0.1:0 (with the peer address as `ConnectInfo`, so
/// `client.address` is recorded) and returns its address; the server task
/// dies with the runtime.
pub async fn serve_app(app: axum::Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    addr
}
