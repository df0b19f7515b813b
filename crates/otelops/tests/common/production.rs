//! The production profile as `otelops config render --profile production`
//! prints it, run on the real otelcol-parker with a CA, server certificate
//! and tokens made in the test (`otelops health` and `otelops audit` check
//! it live). Include next to the collector harness and the TLS helpers:
//! `#[path = "common/collector/mod.rs"] mod support;`,
//! `#[path = "common/tls.rs"] mod tls_support;`,
//! `#[path = "common/production.rs"] mod production;`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

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

/// The TLS files the receivers serve, the CA of the (absent) backend, and
/// where the sending queue and the collector's token file go.
pub struct ProductionTls {
    pub ca_file: PathBuf,
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
    pub work_dir: PathBuf,
}

impl ProductionTls {
    /// `server`'s certificate, signed by `pki`'s CA, in `pki`'s directory.
    pub fn from_pki(pki: &Pki, server: &ServerCert) -> ProductionTls {
        ProductionTls {
            ca_file: pki.ca_file(),
            cert_file: server.cert_file.clone(),
            key_file: server.key_file.clone(),
            work_dir: pki.dir().to_owned(),
        }
    }
}

/// Every variable the profile reads (its header lists them); writes the
/// collector's ingest token file (0600) into `tls.work_dir`.
pub fn production_env(
    tls: &ProductionTls,
    ports: &Ports,
    tokens: &Tokens,
) -> Vec<(&'static str, String)> {
    let token_file = tls.work_dir.join(COLLECTOR_TOKEN_FILE);
    otelops::secret_file::write_atomic(
        &token_file,
        format!("{}\n", tokens.ingest).as_bytes(),
        0o600,
    )
    .expect("write the collector's ingest token file");
    vec![
        ("OTELCOL_BIND", "127.0.0.1".to_owned()),
        // Nothing listens there: exports queue up, the receivers still answer.
        (
            "OTELCOL_EXPORT_ENDPOINT",
            format!("127.0.0.1:{}", ports.downstream),
        ),
        ("OTELCOL_EXPORT_CA_FILE", path(&tls.ca_file)),
        ("OTELCOL_EXPORT_TOKEN", tokens.export.to_owned()),
        ("OTELCOL_INGEST_TOKEN_FILE", path(&token_file)),
        ("OTELCOL_TLS_CERT_FILE", path(&tls.cert_file)),
        ("OTELCOL_TLS_KEY_FILE", path(&tls.key_file)),
        ("OTELCOL_QUEUE_DIR", path(&tls.work_dir.join("queue"))),
    ]
}

pub fn path(p: &Path) -> String {
    p.to_str().expect("UTF-8 temp path").to_owned()
}

/// Starts the collector on the rendered production profile with `tls` and
/// `tokens`, and waits for health_check.
pub async fn start_production(
    tls: &ProductionTls,
    tokens: &Tokens<'_>,
    art: &Artifacts,
) -> Collector {
    let ports = Ports::free();
    let config = art.save("production.yaml", &rendered_production(&ports));
    let env = production_env(tls, &ports, tokens);
    let collector = Collector::spawn_with_env(config, ports, art, &env);
    collector.wait_healthy().await;
    collector
}
