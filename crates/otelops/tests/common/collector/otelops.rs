//! Runs the `otelops` binary under test, bounded in time.

use std::process::Stdio;
use std::time::Duration;

use super::artifacts::Artifacts;

pub use crate::common::Run;

/// `otelops ARGS…` (≤ 30 s); output saved as `<label>.txt` in the artifacts.
pub async fn run(art: &Artifacts, label: &str, args: &[&str]) -> Run {
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_otelops"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn otelops");
    let out = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("otelops {args:?} did not finish within 30 s"))
        .expect("wait for otelops");
    let run = Run::from(out);
    art.note(&format!("otelops {label}: exit {}", run.code));
    art.save(
        &format!("{label}.txt"),
        &format!(
            "$ otelops {}\nexit {}\n--- stdout\n{}\n--- stderr\n{}",
            args.join(" "),
            run.code,
            run.stdout,
            run.stderr
        ),
    );
    run
}

/// `otelops monitor report --metrics-url URL --window W --output json`:
/// the run and its JSON.
pub async fn monitor_report_json(
    art: &Artifacts,
    label: &str,
    metrics_url: &str,
    window: &str,
) -> (Run, serde_json::Value) {
    let run = run(
        art,
        label,
        &[
            "monitor",
            "report",
            "--metrics-url",
            metrics_url,
            "--window",
            window,
            "--output",
            "json",
        ],
    )
    .await;
    let json = run.json();
    (run, json)
}
