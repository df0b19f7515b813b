//! Running `otelops load` for the load_* tests: the shipped sample trace,
//! a run with `--output json`, and reading its counters.
//! Include with `#[path = "common/load.rs"] mod load_support;` next to
//! `mod common;`.
#![allow(dead_code)] // each test file uses a different part

use std::path::PathBuf;

use crate::common;

/// `test-data/sample-trace.json` at the repository root (what the guide POSTs).
pub fn sample_trace() -> PathBuf {
    common::repo_root().join("test-data/sample-trace.json")
}

/// Spans in the sample trace.
pub const SAMPLE_SPANS: u64 = 12;

/// `otelops load ARGS… --output json` on a blocking thread (≤ 60 s).
pub async fn load(args: &[&str]) -> (common::Run, serde_json::Value) {
    let mut all: Vec<String> = vec!["load".into()];
    all.extend(args.iter().map(|a| a.to_string()));
    all.extend(["--output".into(), "json".into()]);
    let run = tokio::task::spawn_blocking(move || common::otelops(&all))
        .await
        .expect("otelops load");
    let json = run.json();
    (run, json)
}

/// `summary.<group>.<name>` as a number (e.g. `spans`, `accepted`).
pub fn count(summary: &serde_json::Value, group: &str, name: &str) -> u64 {
    summary[group][name]
        .as_u64()
        .unwrap_or_else(|| panic!("no {group}.{name} in {summary:#}"))
}
