//! `otelops certs rotate` against the real otelcol-parker on the rendered
//! production profile (TLS with `reload_interval`, bearer token), with the
//! certificates `otelops certs init` made: both OTLP receivers present the
//! old certificate's serial, the rotation swaps the files, and they present
//! the new serial without a restart, while a client exporting over fresh
//! TLS connections all along sees no failed export.

mod common;
#[path = "common/production.rs"]
mod production;
#[path = "common/collector/mod.rs"]
mod support;
#[path = "common/tls.rs"]
mod tls_support;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use support::artifacts::Artifacts;
use support::collector::Ports;

const INGEST_TOKEN: &str = "ingest-7c1d2e";
const TOKENS: Tokens = Tokens {
    ingest: INGEST_TOKEN,
    export: "export-token",
};
use production::{ProductionTls, Tokens, path, start_production};

/// The serial `certs check --endpoint` sees at `port`.
async fn served_serial(port: u16, ca: &Path) -> Result<String, String> {
    let args = vec![
        "--output".to_owned(),
        "json".into(),
        "certs".into(),
        "check".into(),
        "--endpoint".into(),
        format!("127.0.0.1:{port}"),
        "--ca".into(),
        path(ca),
    ];
    let run = tokio::task::spawn_blocking(move || common::otelops(&args))
        .await
        .expect("otelops certs check");
    if run.code != 0 {
        return Err(format!("exit {}: {}{}", run.code, run.stdout, run.stderr));
    }
    Ok(run.json()["chain"][0]["serial"]
        .as_str()
        .expect("a serial")
        .to_owned())
}

/// One round of real OTLP exports (an empty request over gRPC and over
/// HTTP, each on a new TLS connection) by `otelops health`.
fn export_round(ports: &Ports, ca: &Path, token: &Path) -> common::Run {
    common::otelops(&[
        "health",
        "--health-url",
        &ports.health_url(),
        "--metrics-url",
        &ports.metrics_url(),
        "--zpages-url",
        &ports.zpages_url(),
        "--otlp-grpc",
        &format!("127.0.0.1:{}", ports.otlp_grpc),
        "--otlp-http",
        &format!("127.0.0.1:{}", ports.otlp_http),
        "--cacert",
        &path(ca),
        "--token-file",
        &path(token),
    ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotated_certificate_is_served_without_a_restart_and_no_export_fails() {
    let art = Artifacts::new("certs_rotate_live");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("tls");
    let init = common::otelops(&["certs", "init", "--dir", &path(&dir)]);
    assert_eq!(init.code, 0, "{}", init.stderr);
    let tls = ProductionTls {
        ca_file: dir.join("ca.crt"),
        cert_file: dir.join("tls.crt"),
        key_file: dir.join("tls.key"),
        work_dir: tmp.path().to_owned(),
    };
    let token = tmp.path().join("ingest.token");
    otelops::secret_file::write_atomic(&token, INGEST_TOKEN.as_bytes(), 0o600).unwrap();
    let collector = start_production(&tls, &TOKENS, &art).await;
    let ports = collector.ports;
    let pid = collector.pid();
    let ca = tls.ca_file.clone();

    let file = common::otelops(&["--output", "json", "certs", "check", &path(&tls.cert_file)]);
    let old_serial = file.json()[0]["serial"].as_str().unwrap().to_owned();
    for port in [ports.otlp_grpc, ports.otlp_http] {
        assert_eq!(served_serial(port, &ca).await.unwrap(), old_serial);
    }

    // Export continuously through the rotation.
    let stop = Arc::new(AtomicBool::new(false));
    let exporter = {
        let (stop, ca, token) = (stop.clone(), ca.clone(), token.clone());
        std::thread::spawn(move || {
            let (mut rounds, mut failures) = (0, Vec::new());
            while !stop.load(Ordering::SeqCst) {
                let run = export_round(&ports, &ca, &token);
                rounds += 1;
                if run.code != 0 {
                    failures.push(format!("{}{}", run.stdout, run.stderr));
                }
                std::thread::sleep(Duration::from_millis(200));
            }
            (rounds, failures)
        })
    };

    let rotate = common::otelops(&[
        "--output",
        "json",
        "certs",
        "rotate",
        "--dir",
        &path(&dir),
        "--before",
        "91d",
    ]);
    assert_eq!(rotate.code, 0, "{}", rotate.stderr);
    let new_serial = rotate.json()["new_serial"].as_str().unwrap().to_owned();
    assert_ne!(new_serial, old_serial);

    // reload_interval is 30s in the profile; allow two intervals.
    for port in [ports.otlp_grpc, ports.otlp_http] {
        let (want, ca) = (new_serial.clone(), ca.clone());
        support::wait_until("the new serial", Duration::from_secs(75), || {
            let (want, ca) = (want.clone(), ca.clone());
            async move {
                let got = served_serial(port, &ca).await?;
                if got == want {
                    Ok(())
                } else {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    Err(format!("port {port} still serves {got}"))
                }
            }
        })
        .await;
    }
    // A few exports against the new certificate too.
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, Ordering::SeqCst);
    let (rounds, failures) = exporter.join().expect("exporter thread");
    art.note(&format!("{rounds} export rounds through the rotation"));
    assert!(rounds >= 5, "only {rounds} export rounds");
    assert!(failures.is_empty(), "failed exports: {failures:#?}");
    assert_eq!(collector.pid(), pid, "the collector was restarted");
}
