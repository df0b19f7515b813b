//! `otelops monitor watch` over a sequence of pages, its webhook alerts, its
//! history, and `monitor trends` on that history.

mod common;
#[path = "common/server.rs"]
mod server;

use common::{closed_port, otelops};
use server::{TestServer, page};

#[test]
fn watch_alerts_on_changes_keeps_history_and_trends_read_it() {
    // Queue 10 % → 85 % (WARN) → 85 % (no change) → 97 % (CRIT).
    let s = TestServer::start(vec![
        page(100, 1000, 0, 1000, 0, 50),
        page(850, 2000, 0, 2000, 0, 50),
        page(850, 3000, 0, 3000, 0, 50),
        page(970, 4000, 0, 4000, 0, 50),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let history = dir.path().join("h.redb");
    let run = otelops(&[
        "monitor",
        "watch",
        "--metrics-url",
        &s.url("/metrics"),
        "--interval",
        "100ms",
        "--count",
        "4",
        "--no-tui",
        "--history",
        history.to_str().unwrap(),
        "--webhook",
        &s.url("/alerts"),
    ]);
    assert_eq!(
        run.code, 2,
        "last round CRIT:\n{}\n{}",
        run.stdout, run.stderr
    );
    assert_eq!(
        run.stdout
            .lines()
            .filter(|l| l.contains(" queue max "))
            .count(),
        4,
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("WARN exporter otlp/traces queue utilisation: 85.00%")
    );

    let alerts = s.behaviour.alerts.lock().unwrap().clone();
    assert_eq!(alerts.len(), 2, "{alerts:#?}");
    assert_eq!(
        (
            alerts[0]["previous_status"].as_str(),
            alerts[0]["status"].as_str()
        ),
        (Some("OK"), Some("WARN"))
    );
    assert_eq!(alerts[0]["changes"][0]["check"], "queue utilisation");
    assert_eq!(alerts[0]["changes"][0]["value"], 85.0);
    assert_eq!(
        (
            alerts[1]["previous_status"].as_str(),
            alerts[1]["status"].as_str()
        ),
        (Some("WARN"), Some("CRIT"))
    );
    assert_eq!(alerts[1]["source"], "otelops");

    let trends = otelops(&[
        "--output",
        "json",
        "monitor",
        "trends",
        "--since",
        "1h",
        "--history",
        history.to_str().unwrap(),
    ]);
    assert_eq!(trends.code, 0, "{}", trends.stderr);
    let t = trends.json();
    assert_eq!(t["records"], 4);
    assert_eq!(t["status_counts"]["WARN"], 2);
    assert_eq!(t["status_counts"]["CRIT"], 1);
    let q = t["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["metric"] == "exporter otlp/traces queue_utilisation_pct")
        .unwrap();
    assert_eq!(
        (q["min"].as_f64(), q["max"].as_f64()),
        (Some(10.0), Some(97.0))
    );
    assert_eq!(q["direction"], "rising");

    let table = otelops(&[
        "monitor",
        "trends",
        "--since",
        "7d",
        "--history",
        history.to_str().unwrap(),
    ]);
    assert!(
        table.stdout.contains("4 records over the last 7days"),
        "{}",
        table.stdout
    );
}

#[test]
fn watch_once_prints_one_json_line() {
    let s = TestServer::start(vec![page(0, 10, 0, 10, 0, 10)]);
    let dir = tempfile::tempdir().unwrap();
    let run = otelops(&[
        "--output",
        "json",
        "monitor",
        "watch",
        "--once",
        "--metrics-url",
        &s.url("/metrics"),
        "--history",
        dir.path().join("h.redb").to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let lines: Vec<_> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 1);
    let v: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(v["report"]["status"], "OK");
}

#[test]
fn watch_keeps_going_when_a_scrape_fails_and_ends_unknown() {
    let url = format!("http://127.0.0.1:{}/metrics", closed_port());
    let dir = tempfile::tempdir().unwrap();
    let run = otelops(&[
        "monitor",
        "watch",
        "--metrics-url",
        &url,
        "--count",
        "2",
        "--interval",
        "50ms",
        "--no-tui",
        "--history",
        dir.path().join("h.redb").to_str().unwrap(),
    ]);
    assert_eq!(run.code, 3);
    assert_eq!(
        run.stdout.matches("scrape failed").count(),
        2,
        "{}",
        run.stdout
    );
}

#[test]
fn remote_webhook_is_refused() {
    let run = otelops(&[
        "monitor",
        "watch",
        "--once",
        "--webhook",
        "http://198.51.100.7/alerts",
        "--history",
        "/tmp/x.redb",
    ]);
    assert_eq!(run.code, 3);
    assert!(run.stderr.contains("--allow-remote"), "{}", run.stderr);
}

#[test]
fn trends_without_history_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let run = otelops(&[
        "monitor",
        "trends",
        "--history",
        dir.path().join("none.redb").to_str().unwrap(),
    ]);
    assert_eq!(run.code, 3);
    assert!(
        run.stderr.contains("run `otelops monitor watch` first"),
        "{}",
        run.stderr
    );
}

#[test]
fn corrupt_history_file_is_a_clear_error() {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), b"this is not a redb database, just text").unwrap();
    let run = otelops(&[
        "monitor",
        "trends",
        "--history",
        file.path().to_str().unwrap(),
    ]);
    assert_eq!(run.code, 3);
    assert!(
        run.stderr
            .contains(&format!("history {}", file.path().display())),
        "{}",
        run.stderr
    );
}
