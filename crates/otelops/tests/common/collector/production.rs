//! The real otelcol-parker on the production profile as `otelops config
//! render --profile production` prints it (only its ports moved to free
//! ones): OTLP receivers on TLS with bearer-token auth, the TLS files and
//! tokens given here. Used by `health_production` and `certs_rotate_live`.

use std::path::{Path, PathBuf};

use super::artifacts::Artifacts;
use super::collector::{Collector, Ports};

/// The ingest token the collector accepts (in the file bearertokenauth
/// watches, `OTELCOL_INGEST_TOKEN_FILE`).
pub const INGEST_TOKEN: &str = "ingest-7c1d2e";

/// Writes the collector's ingest token file (0600) under `work_dir`.
fn ingest_token_file(work_dir: &Path) -> PathBuf {
    let file = work_dir.join("collector-ingest.token");
    otelops::secret_file::write_atomic(&file, format!("{INGEST_TOKEN}\n").as_bytes(), 0o600)
        .expect("write the collector's ingest token file");
    file
}

/// The TLS files the receivers serve and the CA of the (absent) backend.
pub struct ProductionTls {
    pub ca_file: PathBuf,
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
    /// Where the sending queue lives (a `queue/` is made below it).
    pub work_dir: PathBuf,
}

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

/// Every variable the profile reads (its header lists them).
pub fn production_env(tls: &ProductionTls, ports: &Ports) -> Vec<(&'static str, String)> {
    vec![
        ("OTELCOL_BIND", "127.0.0.1".to_owned()),
        // Nothing listens there: exports queue up, the receivers still answer.
        (
            "OTELCOL_EXPORT_ENDPOINT",
            format!("127.0.0.1:{}", ports.downstream),
        ),
        ("OTELCOL_EXPORT_CA_FILE", path(&tls.ca_file)),
        ("OTELCOL_EXPORT_TOKEN", "export-token".to_owned()),
        (
            "OTELCOL_INGEST_TOKEN_FILE",
            path(&ingest_token_file(&tls.work_dir)),
        ),
        ("OTELCOL_TLS_CERT_FILE", path(&tls.cert_file)),
        ("OTELCOL_TLS_KEY_FILE", path(&tls.key_file)),
        ("OTELCOL_QUEUE_DIR", path(&tls.work_dir.join("queue"))),
    ]
}

pub fn path(p: &Path) -> String {
    p.to_str().expect("UTF-8 temp path").to_owned()
}

/// Starts the collector on the rendered production profile with `tls` and
/// waits for health_check.
pub async fn start_production(tls: &ProductionTls, art: &Artifacts) -> Collector {
    let ports = Ports::free();
    let config = art.save("production.yaml", &rendered_production(&ports));
    let env = production_env(tls, &ports);
    let collector = Collector::spawn_with_env(config, ports, art, &env);
    collector.wait_healthy().await;
    collector
}
