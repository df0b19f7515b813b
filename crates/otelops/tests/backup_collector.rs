//! A backup restored elsewhere runs the real otelcol-parker: a collector
//! config whose OTLP receivers use TLS, and its CA, certificate and 0600 key,
//! go through `otelops backup create` and `restore` into a new directory;
//! the collector started from the restored files passes `otelops health`
//! over https with the restored CA.

mod common;
#[path = "common/collector/mod.rs"]
mod support;
#[path = "common/tls.rs"]
mod tls_support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use support::artifacts::Artifacts;
use support::collector::{Collector, Ports};
use tls_support::Pki;

/// OTLP gRPC and HTTP on TLS with the files under `${env:CERTS_DIR}`.
fn config(ports: &Ports) -> String {
    format!(
        r#"extensions:
  health_check:
    endpoint: 127.0.0.1:{health}
    path: /
  zpages:
    endpoint: 127.0.0.1:{zpages}
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:{grpc}
        tls:
          cert_file: ${{env:CERTS_DIR}}/server.crt
          key_file: ${{env:CERTS_DIR}}/server.key
      http:
        endpoint: 127.0.0.1:{http}
        tls:
          cert_file: ${{env:CERTS_DIR}}/server.crt
          key_file: ${{env:CERTS_DIR}}/server.key
exporters:
  debug: {{}}
service:
  extensions: [health_check, zpages]
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [debug]
  telemetry:
    metrics:
      readers:
        - pull:
            exporter:
              prometheus:
                host: 127.0.0.1
                port: {metrics}
"#,
        health = ports.health,
        zpages = ports.zpages,
        grpc = ports.otlp_grpc,
        http = ports.otlp_http,
        metrics = ports.metrics,
    )
}

fn copy(from: &Path, to: &Path, mode: u32) {
    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
    std::fs::copy(from, to).unwrap();
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restored_backup_runs_the_real_collector_on_tls() {
    let art = Artifacts::new("backup_collector");
    let pki = Pki::new("backup");
    let server = pki.server("server", false);
    let ports = Ports::free();

    // The operator's machine: the collector's config and its certificates.
    let site = tempfile::tempdir().unwrap();
    let collector_dir = site.path().join("collector");
    std::fs::create_dir_all(&collector_dir).unwrap();
    std::fs::write(collector_dir.join("otel-collector.yaml"), config(&ports)).unwrap();
    let certs = site.path().join("certs");
    copy(&pki.ca_file(), &certs.join("ca.pem"), 0o644);
    copy(&server.cert_file, &certs.join("server.crt"), 0o644);
    copy(&server.key_file, &certs.join("server.key"), 0o600);
    let passphrase = site.path().join("backup.pass");
    std::fs::write(&passphrase, "a long backup passphrase\n").unwrap();
    std::fs::create_dir(site.path().join("backups")).unwrap();
    let archive = site.path().join("backups/site.tar.gz");

    let run = common::otelops(&[
        "backup",
        "create",
        "--config",
        &s(&collector_dir),
        "--certs",
        &s(&certs),
        "--out",
        &s(&archive),
        "--passphrase-file",
        &s(&passphrase),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);

    // Another machine: only the backup and the passphrase.
    let restored = tempfile::tempdir().unwrap();
    let run = common::otelops(&[
        "backup",
        "restore",
        &s(&archive),
        "--to",
        &s(restored.path()),
        "--passphrase-file",
        &s(&passphrase),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let new_certs = restored.path().join("certs");
    let key_mode = std::fs::metadata(new_certs.join("server.key"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(key_mode & 0o777, 0o600);

    let collector = Collector::spawn_with_env(
        restored.path().join("collector/otel-collector.yaml"),
        ports,
        &art,
        &[("CERTS_DIR", s(&new_certs))],
    );
    collector.wait_healthy().await;
    let args = vec![
        "health".to_owned(),
        "--health-url".to_owned(),
        ports.health_url(),
        "--metrics-url".to_owned(),
        ports.metrics_url(),
        "--zpages-url".to_owned(),
        ports.zpages_url(),
        "--otlp-grpc".to_owned(),
        format!("127.0.0.1:{}", ports.otlp_grpc),
        "--otlp-http".to_owned(),
        format!("127.0.0.1:{}", ports.otlp_http),
        "--cacert".to_owned(),
        s(&new_certs.join("ca.pem")),
    ];
    let run = tokio::task::spawn_blocking(move || common::otelops(&args))
        .await
        .expect("otelops health");
    assert_eq!(
        run.code,
        0,
        "{}\n{}\n{}",
        run.stdout,
        run.stderr,
        collector.log()
    );
    assert!(
        run.stdout
            .contains(&format!("https://127.0.0.1:{}", ports.otlp_grpc)),
        "{}",
        run.stdout
    );
}
