//! The real otelcol-parker on the production profile as `otelops config
//! render --profile production` prints it (only its ports moved to free
//! ones): OTLP receivers on TLS with a server certificate made in the test
//! and bearer-token auth. For `health_production` and `load_production`;
//! include with `#[path = "common/collector/production.rs"] mod production;`
//! next to `mod common;`, `support` (common/collector) and `tls_support`
//! (common/tls.rs).
#![allow(dead_code)] // each test file uses a different part

use std::path::Path;

use crate::common;
use crate::support::artifacts::Artifacts;
use crate::support::collector::{Collector, Ports};
use crate::tls_support::{Pki, ServerCert};

pub const INGEST_TOKEN: &str = "ingest-7c1d2e";
pub const WRONG_TOKEN: &str = "wrong-94b0aa";

/// The production profile from the CLI, with each fixed port replaced by
/// `ports`; every replaced string must occur exactly once, so a change to
/// the profile shows up here instead of as a collector on a default port.
pub fn rendered_production(ports: &Ports) -> String {
    let run = common::otelops(&["config", "render", "--profile", "production"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let mut text = run.stdout;
    let bind = "${env:OTELCOL_BIND:-127.0.0.1}";
    for (from, to) in [
        (format!("{bind}:13133"), format!("{bind}:{}", ports.health)),
        (
            format!("{bind}:4317"),
            format!("{bind}:{}", ports.otlp_grpc),
        ),
        (
            format!("{bind}:4318"),
            format!("{bind}:{}", ports.otlp_http),
        ),
        (
            "endpoint: 127.0.0.1:55679".to_owned(),
            format!("endpoint: 127.0.0.1:{}", ports.zpages),
        ),
        ("port: 8888".to_owned(), format!("port: {}", ports.metrics)),
    ] {
        assert_eq!(text.matches(&from).count(), 1, "{from:?} in:\n{text}");
        text = text.replace(&from, &to);
    }
    text
}

/// Every variable the profile reads (its header lists them).
pub fn production_env(
    pki: &Pki,
    server: &ServerCert,
    ports: &Ports,
) -> Vec<(&'static str, String)> {
    let queue = pki.dir().join("queue");
    vec![
        ("OTELCOL_BIND", "127.0.0.1".to_owned()),
        // Nothing listens there: exports queue up, the receivers still answer.
        (
            "OTELCOL_EXPORT_ENDPOINT",
            format!("127.0.0.1:{}", ports.downstream),
        ),
        ("OTELCOL_EXPORT_CA_FILE", path(&pki.ca_file())),
        ("OTELCOL_EXPORT_TOKEN", "export-token".to_owned()),
        ("OTELCOL_INGEST_TOKEN", INGEST_TOKEN.to_owned()),
        ("OTELCOL_TLS_CERT_FILE", path(&server.cert_file)),
        ("OTELCOL_TLS_KEY_FILE", path(&server.key_file)),
        ("OTELCOL_QUEUE_DIR", path(&queue)),
    ]
}

pub fn path(p: &Path) -> String {
    p.to_str().expect("UTF-8 temp path").to_owned()
}

/// Starts the collector on the rendered production profile with `server`'s
/// certificate and waits for health_check.
pub async fn start_production(pki: &Pki, server: &ServerCert, art: &Artifacts) -> Collector {
    let ports = Ports::free();
    let config = art.save("production.yaml", &rendered_production(&ports));
    let env = production_env(pki, server, &ports);
    let collector = Collector::spawn_with_env(config, ports, art, &env);
    collector.wait_healthy().await;
    collector
}
