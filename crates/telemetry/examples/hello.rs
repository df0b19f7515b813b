//! A tiny service that starts telemetry and emits one trace (a parent span
//! with a child, and a log event inside it). By default everything goes to
//! stdout through the console exporter; set OTEL_TRACES_EXPORTER=otlp (and
//! an endpoint) to send it to a collector instead.
//!
//!     cargo run -p parker-telemetry --example hello

use parker_telemetry::{ServiceInfo, TelemetryConfig};
use std::collections::HashMap;

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    // Console defaults under config/.env.otel and the real environment,
    // which both win.
    let env: HashMap<String, String> = std::env::vars().collect();
    let mut vars = parker_telemetry::config::overlay_env_file(&env, &std::env::current_dir()?)?;
    for (key, value) in [
        ("OTEL_TRACES_EXPORTER", "console"),
        ("OTEL_METRICS_EXPORTER", "none"),
        ("OTEL_LOGS_EXPORTER", "none"),
    ] {
        vars.entry(key.to_owned())
            .or_insert_with(|| value.to_owned());
    }
    let config = TelemetryConfig::from_source(&vars)?;

    let guard =
        parker_telemetry::init_with(ServiceInfo::new("hello", env!("CARGO_PKG_VERSION")), config)?;
    {
        let search = tracing::info_span!("search fares", otel.kind = "server", route = "LHR-JFK");
        let _entered = search.enter();
        tracing::info!(offers = 3, "found offers");
        let pick = tracing::info_span!("pick cheapest", offers = 3);
        pick.in_scope(|| tracing::info!("picked offer"));
    }
    guard.shutdown()?;
    Ok(())
}
