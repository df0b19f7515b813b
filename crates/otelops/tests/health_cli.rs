//! `otelops health` against a real loopback server shaped like a collector.

mod common;
#[path = "common/server.rs"]
mod server;

use std::sync::atomic::Ordering;

use common::{closed_port, fixture_text, otelops};
use server::TestServer;

fn server() -> TestServer {
    TestServer::start(vec![fixture_text("otelcol-v0.165-metrics.prom")])
}

fn health(s: &TestServer, extra: &[&str]) -> common::Run {
    let mut args: Vec<String> = vec!["health".into()];
    args.extend(s.health_flags());
    args.extend(extra.iter().map(|a| a.to_string()));
    otelops(&args)
}

fn line<'a>(run: &'a common::Run, check: &str) -> &'a str {
    run.stdout
        .lines()
        .find(|l| l.split_whitespace().nth(1) == Some(check))
        .unwrap_or_else(|| panic!("no line for {check}:\n{}", run.stdout))
}

#[test]
fn every_check_passes_against_a_healthy_collector() {
    let s = server();
    let run = health(&s, &[]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    for check in ["health", "metrics", "otlp-grpc", "otlp-http", "zpages"] {
        assert!(line(&run, check).starts_with("PASS"), "{}", run.stdout);
    }
    assert!(line(&run, "health").contains("Server available"));
    assert!(line(&run, "metrics").contains("otelcol_* metrics"));
    // v2 was not given and /status is 404 here: skipped, not failed.
    assert!(line(&run, "health-v2").starts_with("SKIP"));
    // Each line carries a latency.
    assert!(line(&run, "otlp-grpc").contains("ms"));
}

#[test]
fn json_output_lists_every_check_with_outcome_and_latency() {
    let s = server();
    let run = health(&s, &["--output", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let doc = run.json();
    assert_eq!(doc["ok"], true);
    let checks = doc["checks"].as_array().unwrap();
    assert_eq!(checks.len(), 6);
    let grpc = checks.iter().find(|c| c["check"] == "otlp-grpc").unwrap();
    assert_eq!(grpc["outcome"], "pass");
    assert!(grpc["latency_ms"].as_f64().unwrap() >= 0.0);
}

#[test]
fn not_ready_503_fails_the_health_check_with_exit_1() {
    let s = server();
    *s.behaviour.health.lock().unwrap() = Some((
        503,
        r#"{"status":"Server not available","upSince":"0001-01-01T00:00:00Z","uptime":""}"#.into(),
    ));
    let run = health(&s, &[]);
    assert_eq!(run.code, 1);
    let l = line(&run, "health");
    assert!(
        l.starts_with("FAIL") && l.contains("HTTP 503") && l.contains("Server not available"),
        "{l}"
    );
    assert!(line(&run, "metrics").starts_with("PASS"));
}

#[test]
fn health_v2_recorded_status_passes_and_a_failed_component_is_named() {
    let s = server();
    *s.behaviour.health_v2.lock().unwrap() =
        Some((200, fixture_text("otelcol-v0.165-healthv2-status.json")));
    let run = health(&s, &[]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(line(&run, "health-v2").starts_with("PASS"));

    let broken = r#"{"healthy":false,"status":"StatusRecoverableError","components":{"pipeline:traces":{"healthy":false,"status":"StatusRecoverableError","components":{"exporter:otlp":{"healthy":false,"status":"StatusRecoverableError","error":"rpc error: code = Unavailable"}}}}}"#;
    *s.behaviour.health_v2.lock().unwrap() = Some((503, broken.into()));
    let run = health(&s, &[]);
    assert_eq!(run.code, 1);
    let l = line(&run, "health-v2");
    assert!(
        l.contains("pipeline:traces/exporter:otlp") && l.contains("Unavailable"),
        "{l}"
    );
}

#[test]
fn explicit_health_v2_url_that_is_missing_fails() {
    let s = server();
    let run = health(&s, &["--health-v2-url", &s.url("/status")]);
    assert_eq!(run.code, 1);
    assert!(line(&run, "health-v2").starts_with("FAIL"));
}

#[test]
fn grpc_receiver_refusing_the_export_fails_otlp_grpc() {
    let s = server();
    s.set_grpc_ok(false);
    let run = health(&s, &[]);
    assert_eq!(run.code, 1);
    let l = line(&run, "otlp-grpc");
    assert!(l.starts_with("FAIL") && l.contains("Unavailable"), "{l}");
}

#[test]
fn otlp_http_error_status_fails_otlp_http() {
    let s = server();
    s.behaviour.otlp_http_status.store(503, Ordering::SeqCst);
    let run = health(&s, &[]);
    assert_eq!(run.code, 1);
    assert!(line(&run, "otlp-http").contains("HTTP 503"));
}

#[test]
fn missing_zpages_fail_and_skip_leaves_them_out() {
    let s = server();
    *s.behaviour.zpages_ok.lock().unwrap() = false;
    let run = health(&s, &[]);
    assert_eq!(run.code, 1);
    assert!(line(&run, "zpages").contains("/debug/servicez: HTTP 404"));
    let run = health(&s, &["--skip", "zpages"]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(line(&run, "zpages").starts_with("SKIP"));
}

#[test]
fn slow_endpoints_time_out() {
    let s = server();
    s.behaviour.delay_ms.store(3000, Ordering::SeqCst);
    let run = health(&s, &["--timeout", "300ms"]);
    assert_eq!(run.code, 1);
    assert!(
        line(&run, "metrics").contains("no answer within 300ms"),
        "{}",
        run.stdout
    );
    assert!(line(&run, "health").contains("no answer within"));
}

#[test]
fn garbage_metrics_page_fails_with_line_and_column() {
    let s = TestServer::start(vec!["otelcol_up 1\nthis is { not prometheus\n".into()]);
    let run = health(&s, &[]);
    assert_eq!(run.code, 1);
    let l = line(&run, "metrics");
    assert!(l.contains("not Prometheus text: line 2:"), "{l}");
}

#[test]
fn metrics_page_without_otelcol_series_fails() {
    let s = TestServer::start(vec!["# TYPE up gauge\nup 1\n".into()]);
    let run = health(&s, &[]);
    assert!(line(&run, "metrics").contains("none named otelcol_*"));
    assert_eq!(run.code, 1);
}

#[test]
fn stopped_collector_fails_every_check_clearly() {
    let port = closed_port();
    let base = format!("http://127.0.0.1:{port}");
    let run = otelops(&[
        "health",
        "--health-url",
        &format!("{base}/"),
        "--metrics-url",
        &format!("{base}/metrics"),
        "--otlp-grpc",
        &base,
        "--otlp-http",
        &base,
        "--zpages-url",
        &base,
    ]);
    assert_eq!(run.code, 1);
    for check in ["health", "metrics", "otlp-grpc", "otlp-http", "zpages"] {
        let l = line(&run, check);
        assert!(
            l.starts_with("FAIL") && l.to_lowercase().contains("connect"),
            "{l}"
        );
    }
}

#[test]
fn non_loopback_target_is_refused_without_allow_remote() {
    let run = otelops(&["health", "--collector", "192.0.2.10"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("--allow-remote"), "{}", run.stderr);
    let run = otelops(&["health", "--metrics-url", "http://192.0.2.10:8888/metrics"]);
    assert_eq!(run.code, 2);
}

#[test]
fn bad_timeout_is_a_usage_error() {
    let run = otelops(&["health", "--timeout", "soon"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("--timeout"));
}
