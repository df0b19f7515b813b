//! `otelops monitor N`: the guide's `monitor 5` form, a watch every N minutes.

mod common;
#[path = "common/server.rs"]
mod server;

use common::otelops;
use server::{TestServer, page};

#[test]
fn monitor_minutes_watches_with_that_interval() {
    let s = TestServer::start(vec![page(850, 2000, 0, 2000, 0, 50)]);
    let dir = tempfile::tempdir().unwrap();
    let history = dir.path().join("h.redb");
    let run = otelops(&[
        "--output",
        "json",
        "monitor",
        "5",
        "--once",
        "--metrics-url",
        &s.url("/metrics"),
        "--history",
        history.to_str().unwrap(),
    ]);
    // Queue at 85 %: WARN, as `monitor watch` would say.
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let round: serde_json::Value = serde_json::from_str(run.stdout.lines().next().unwrap())
        .unwrap_or_else(|e| panic!("{e}: {}", run.stdout));
    assert_eq!(round["report"]["status"], "WARN", "{round}");
    assert!(history.exists(), "the watch keeps its history");
}

#[test]
fn monitor_zero_minutes_is_refused_like_a_zero_interval() {
    let run = otelops(&["monitor", "0", "--once", "--no-tui"]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stderr.contains("--interval must be greater than zero"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_word_after_monitor_is_still_an_unknown_subcommand() {
    let run = otelops(&["monitor", "five"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("five"), "{}", run.stderr);
}
