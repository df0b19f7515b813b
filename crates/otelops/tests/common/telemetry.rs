//! parker-telemetry's SDK pipeline configured for a test: from key/value
//! pairs (tests never touch the process environment), by default exporting
//! traces only, every span, in 50 ms batches so exports arrive promptly;
//! and serving an app wrapped in its HTTP server layer on loopback.
#![allow(dead_code)] // each test binary uses a different part

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::Router;
use parker_telemetry::TelemetryConfig;

/// The `OTEL_*` settings in `pairs`, as the services would read them.
pub fn config_from(pairs: &[(&str, &str)]) -> TelemetryConfig {
    let vars: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    TelemetryConfig::from_source(&vars).expect("telemetry config")
}

/// Traces only (no metrics or logs), always sampled, 50 ms batches, over
/// OTLP `protocol` to `endpoint`.
pub fn traces_only(protocol: &str, endpoint: &str) -> TelemetryConfig {
    config_from(&[
        ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint),
        ("OTEL_TRACES_SAMPLER", "always_on"),
        ("OTEL_BSP_SCHEDULE_DELAY", "50"),
        ("OTEL_METRICS_EXPORTER", "none"),
        ("OTEL_LOGS_EXPORTER", "none"),
    ])
}

/// Serves `app` on 127.0.0.1 (a port the OS picks) with the peer address
/// parker-telemetry's `HttpServerLayer` records; returns the address.
pub async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .expect("serve");
    });
    addr
}
