//! The production profile as `otelops config render --profile production`
//! prints it, run on the real otelcol-parker with a CA, server certificate
//! and tokens made in the test (`otelops health` and `otelops audit` check
//! it live). Include next to the collector harness and the TLS helpers:
//! `#[path = "common/collector/mod.rs"] mod support;`,
//! `#[path = "common/tls.rs"] mod tls_support;`,
//! `#[path = "common/production.rs"] mod production;`.
#![allow(dead_code)]

use std::path::Path;

use crate::support::artifacts::Artifacts;
use crate::support::collector::{Collector, Ports};
use crate::tls_support::{Pki, ServerCert};

/// The production profile from the CLI, with each fixed port replaced by
/// `ports`; every replaced string must occur exactly once, so a change to
/// the profile shows up here instead of as a collector on a default port.
pub fn rendered_production(ports: &Ports) -> String {
    let run = crate::common::otelops(&["config", "render", "--profile", "production"]);
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

/// The collector's ingest token file (bearertokenauth `filename:`, which it
/// watches) in the Pki's directory.
pub const COLLECTOR_TOKEN_FILE: &str = "collector-ingest.token";

/// The collector's tokens.
pub struct Tokens<'a> {
    pub ingest: &'a str,
    pub export: &'a str,
}

/// Every variable the profile reads (its header lists them).
pub fn production_env(
    pki: &Pki,
    server: &ServerCert,
    ports: &Ports,
    tokens: &Tokens,
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
        ("OTELCOL_EXPORT_TOKEN", tokens.export.to_owned()),
        (
            "OTELCOL_INGEST_TOKEN_FILE",
            path(&pki.token_file(COLLECTOR_TOKEN_FILE, tokens.ingest)),
        ),
        ("OTELCOL_TLS_CERT_FILE", path(&server.cert_file)),
        ("OTELCOL_TLS_KEY_FILE", path(&server.key_file)),
        ("OTELCOL_QUEUE_DIR", path(&queue)),
    ]
}

pub fn path(p: &Path) -> String {
    p.to_str().expect("UTF-8 temp path").to_owned()
}

/// Starts the collector on the rendered production profile with `server`'s
/// certificate and `tokens`, and waits for health_check.
pub async fn start_production(
    pki: &Pki,
    server: &ServerCert,
    tokens: &Tokens<'_>,
    art: &Artifacts,
) -> Collector {
    let ports = Ports::free();
    let config = art.save("production.yaml", &rendered_production(&ports));
    let env = production_env(pki, server, &ports, tokens);
    let collector = Collector::spawn_with_env(config, ports, art, &env);
    collector.wait_healthy().await;
    collector
}
