//! `otelops health` against the real otelcol-parker (issue 7, item 3):
//! passes while it runs, fails naming the check while it is stopped, and
//! while a pipeline component cannot start.

mod common;
#[path = "common/collector/mod.rs"]
mod support;

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;
use support::artifacts::Artifacts;
use support::collector::{self, Collector, Ports};
use support::otelops;
use support::sink::Sink;

fn health_args(p: &Ports) -> Vec<String> {
    vec![
        "health".into(),
        "--collector".into(),
        "127.0.0.1".into(),
        "--health-url".into(),
        p.health_url(),
        "--metrics-url".into(),
        p.metrics_url(),
        "--otlp-grpc".into(),
        p.otlp_grpc_url(),
        "--otlp-http".into(),
        p.otlp_http_url(),
        "--zpages-url".into(),
        p.zpages_url(),
        "--timeout".into(),
        "1s".into(),
    ]
}

async fn health(art: &Artifacts, label: &str, p: &Ports, output: &str) -> otelops::Run {
    let mut args = health_args(p);
    args.extend(["--output".into(), output.into()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    otelops::run(art, label, &args).await
}

/// `check name → (outcome, detail)` from `otelops health --output json`.
fn outcomes(run: &otelops::Run) -> Vec<(String, String, String)> {
    let doc = run.json();
    doc["checks"]
        .as_array()
        .unwrap_or_else(|| panic!("no checks array in {doc}"))
        .iter()
        .map(|c| {
            let s = |k: &str| c[k].as_str().unwrap_or_default().to_string();
            (s("check"), s("outcome"), s("detail"))
        })
        .collect()
}

fn outcome_of(all: &[(String, String, String)], check: &str) -> (String, String) {
    all.iter()
        .find(|(c, _, _)| c == check)
        .map(|(_, o, d)| (o.clone(), d.clone()))
        .unwrap_or_else(|| panic!("check {check} missing from {all:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_passes_while_running_and_names_the_check_while_stopped() {
    let art = Artifacts::new("collector_health_running_then_stopped");
    let ports = Ports::free();
    let _sink = Sink::start(ports.downstream).await;
    let config = collector::render("healthy.yaml", &ports, &[], &art);
    let mut col = Collector::start(config, ports, &art).await;
    col.scrape("running").await;

    let up = health(&art, "health-running", &ports, "json").await;
    let checks = outcomes(&up);
    assert_eq!(
        up.code, 0,
        "health must pass against the running collector: {up:#?}"
    );
    assert_eq!(up.json()["ok"], Value::Bool(true), "{up:#?}");
    for name in ["health", "metrics", "otlp-grpc", "otlp-http", "zpages"] {
        let (outcome, detail) = outcome_of(&checks, name);
        assert_eq!(outcome, "pass", "{name}: {detail}\n{up:#?}");
    }
    let (_, detail) = outcome_of(&checks, "health");
    assert!(
        detail.contains("Server available"),
        "health detail: {detail}"
    );
    // otelcol-parker has no healthcheckv2 (no v0.161.0 release): the v2 probe
    // at <health>/status gets health_check v1's own body and is skipped, not
    // passed.
    let (outcome, detail) = outcome_of(&checks, "health-v2");
    assert_eq!(outcome, "skipped", "health-v2: {detail}");
    assert!(
        detail.contains("not detected"),
        "health-v2 detail: {detail}"
    );

    let status = col.stop().await;
    assert!(
        status.success(),
        "SIGTERM should stop the collector cleanly: {status}"
    );

    let down = health(&art, "health-stopped", &ports, "json").await;
    assert_eq!(
        down.code, 1,
        "health must fail while the collector is stopped: {down:#?}"
    );
    assert_eq!(down.json()["ok"], Value::Bool(false));
    let checks = outcomes(&down);
    for name in ["health", "metrics", "otlp-grpc", "otlp-http", "zpages"] {
        let (outcome, detail) = outcome_of(&checks, name);
        assert_eq!(
            outcome, "fail",
            "{name} should fail while stopped: {detail}"
        );
        assert!(!detail.is_empty(), "{name} fails without saying why");
    }
    let (_, detail) = outcome_of(&checks, "health");
    assert!(
        detail.to_lowercase().contains("refused") || detail.to_lowercase().contains("connect"),
        "the health check should say nothing listens: {detail}"
    );

    // The table names the failing check on its own line.
    let table = health(&art, "health-stopped-table", &ports, "table").await;
    assert_eq!(table.code, 1);
    assert!(
        table
            .stdout
            .lines()
            .any(|l| l.starts_with("FAIL") && l.contains("health ")),
        "no FAIL line naming the health check:\n{}",
        table.stdout
    );
}

/// Checks the config validates, starts the collector on it, asserts
/// health_check never says ready before the collector exits with an error
/// whose text contains every one of `says`, then runs `otelops health`.
async fn cannot_start(
    art: &Artifacts,
    ports: Ports,
    config: PathBuf,
    says: &[&str],
) -> otelops::Run {
    let validate = std::process::Command::new(collector::binary())
        .args(["validate", "--config"])
        .arg(&config)
        .output()
        .expect("run otelcol-parker validate");
    assert!(
        validate.status.success(),
        "the config must be valid for this case: {}",
        String::from_utf8_lossy(&validate.stderr)
    );
    let mut col = Collector::spawn(config, ports, art);
    // health_check starts before the pipelines; it must never report ready.
    let client = support::sender::client();
    let watch = async {
        loop {
            if let Ok(r) = client.get(ports.health_url()).send().await {
                assert_ne!(
                    r.status(),
                    200,
                    "health_check said ready although a pipeline component failed to start"
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    let status = tokio::select! {
        s = col.wait_exit(Duration::from_secs(20)) => s,
        _ = watch => unreachable!("the watch loop never ends"),
    };
    assert!(
        !status.success(),
        "the collector should exit with an error: {status}"
    );
    let log = col.log();
    assert!(
        says.iter().all(|s| log.contains(s)),
        "the collector should say {says:?}:\n{log}"
    );
    let run = health(art, "health-cannot-start", &ports, "json").await;
    assert_eq!(
        run.code, 1,
        "health must fail when the pipeline cannot start: {run:#?}"
    );
    let checks = outcomes(&run);
    let (outcome, detail) = outcome_of(&checks, "health");
    assert_eq!(outcome, "fail", "health check: {detail}");
    run
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_fails_naming_the_check_when_a_receiver_cannot_start() {
    let art = Artifacts::new("collector_health_receiver_cannot_start");
    // The config is valid but the OTLP/HTTP receiver's port is already
    // taken, so the pipeline cannot start.
    let squatter = std::net::TcpListener::bind("127.0.0.1:0").expect("hold a port");
    let ports = Ports {
        otlp_http: squatter.local_addr().expect("squatter address").port(),
        ..Ports::free()
    };
    let _sink = Sink::start(ports.downstream).await;
    let config = collector::render("healthy.yaml", &ports, &[], &art);
    let run = cannot_start(
        &art,
        ports,
        config,
        &[
            "failed to start \"otlp\" receiver",
            "address already in use",
        ],
    )
    .await;
    let (outcome, detail) = outcome_of(&outcomes(&run), "otlp-http");
    assert_eq!(
        outcome, "fail",
        "the squatted OTLP/HTTP port is no receiver: {detail}"
    );
    drop(squatter);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_fails_naming_the_check_when_an_exporter_cannot_start() {
    let art = Artifacts::new("collector_health_exporter_cannot_start");
    let ports = Ports::free();
    let _sink = Sink::start(ports.downstream).await;
    // Valid YAML and a valid config, but the exporter's CA file does not
    // exist: only found when the exporter starts.
    let missing = art.path("missing-ca.pem");
    let config = collector::render("healthy.yaml", &ports, &[], &art);
    let text = std::fs::read_to_string(&config).expect("rendered config");
    assert_eq!(text.matches("      insecure: true").count(), 1, "{text}");
    let text = text.replace(
        "      insecure: true",
        &format!("      ca_file: {}", missing.display()),
    );
    std::fs::write(&config, text).expect("write config");
    let run = cannot_start(
        &art,
        ports,
        config,
        &["failed to start \"otlp_grpc\" exporter", "missing-ca.pem"],
    )
    .await;
    // Nothing listens at all: every check fails and says so, but the
    // health-v2 probe, which is skipped as "not detected" (not asked for).
    for (check, outcome, detail) in outcomes(&run) {
        let expected = if check == "health-v2" {
            "skipped"
        } else {
            "fail"
        };
        assert_eq!(outcome, expected, "{check}: {detail}");
    }
}
