//! parker-telemetry's SDK pipeline configured for a test: from key/value
//! pairs (tests never touch the process environment), by default exporting
//! traces only, every span, in 50 ms batches so exports arrive promptly.
#![allow(dead_code)] // each test binary uses a different part

use std::collections::HashMap;

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
