//! A collector that accepts connections but never answers must not hang
//! the process: shutdown gives up at its deadline.

mod common;

use opentelemetry::trace::{Tracer, TracerProvider};
use parker_telemetry::guard::SHUTDOWN_DEADLINE;
use parker_telemetry::{ServiceInfo, ShutdownError};

#[test]
fn shutdown_gives_up_on_a_collector_that_never_answers() {
    // The kernel completes the TCP handshake from the backlog; nobody ever
    // reads the request or answers it.
    let black_hole = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let endpoint = format!("http://{}", black_hole.local_addr().expect("addr"));
    let config = common::fast_config(
        "http/protobuf",
        &endpoint,
        &[
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "120000"),
            ("OTEL_BSP_EXPORT_TIMEOUT", "120000"),
            ("OTEL_BSP_SCHEDULE_DELAY", "600000"),
            ("OTEL_METRICS_EXPORTER", "none"),
            ("OTEL_LOGS_EXPORTER", "none"),
        ],
    );
    let guard = parker_telemetry::build(ServiceInfo::new("stuck", "1"), &config).expect("build");
    guard.tracer_provider().tracer("t").start("never delivered");
    let result = guard.shutdown();
    assert!(
        matches!(result, Err(ShutdownError::Timeout(d)) if d == SHUTDOWN_DEADLINE),
        "{result:?}"
    );
    drop(black_hole);
}
