//! `otelops config debug on|off` (issue 14, "Debug mode and versions"): the
//! guide's debug settings as a minimal edit the real otelcol-parker accepts,
//! `off` gives the original bytes back, and a collector started with the
//! debug config logs the spans sent to it at detailed verbosity.

mod common;
#[path = "common/config.rs"]
mod config_support;
#[path = "common/collector/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use config_support::{deploy, profile_env, read, validate};
use support::artifacts::Artifacts;
use support::collector::{self, Collector, Ports};
use support::{sender, wait_until};

/// Every collector config under deploy/collector that starts as-is: the
/// three rendered profiles and the valid corpus configs.
fn deploy_configs() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = ["development", "staging", "production"]
        .iter()
        .map(|p| deploy(&format!("collector/{p}.yaml")))
        .collect();
    files.extend(
        ["valid-minimal", "downstream-sink", "memory-limited"]
            .iter()
            .map(|c| deploy(&format!("collector/test-configs/{c}.yaml"))),
    );
    files
}

fn debug(args: &[&str]) -> common::Run {
    let mut all = vec!["config", "debug"];
    all.extend_from_slice(args);
    let run = common::otelops(&all);
    assert_eq!(run.code, 0, "otelops {all:?}: {}{}", run.stdout, run.stderr);
    run
}

fn copy_into(dir: &Path, from: &Path) -> PathBuf {
    let to = dir.join(from.file_name().expect("a file name"));
    std::fs::copy(from, &to).unwrap_or_else(|e| panic!("copying {}: {e}", from.display()));
    to
}

#[test]
fn debug_on_validates_with_the_real_collector_and_off_restores_every_byte() {
    let dir = tempfile::tempdir().unwrap();
    let env = profile_env(dir.path());
    for original in deploy_configs() {
        let file = copy_into(dir.path(), &original);
        let before = read(&file);
        debug(&["on", file.to_str().unwrap()]);
        let on = read(&file);
        let out = validate(&file, &env);
        assert!(
            out.status.success(),
            "otelcol-parker validate rejected {} with debug on:\n{}\n{on}",
            original.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let root = otelops::collector_config::document::parse(&on).unwrap();
        let at = |p: &[&str]| root.path(p).map(|n| n.to_json());
        assert_eq!(
            at(&["service", "telemetry", "logs", "level"]),
            Some("debug".into())
        );
        assert_eq!(
            at(&["service", "telemetry", "logs", "development"]),
            Some(true.into())
        );
        assert_eq!(
            at(&["exporters", "debug", "verbosity"]),
            Some("detailed".into())
        );
        for (name, pipeline) in root
            .path(&["service", "pipelines"])
            .unwrap()
            .as_map()
            .unwrap()
        {
            let exporters = pipeline.get("exporters").unwrap().to_json();
            assert!(
                exporters.as_array().unwrap().contains(&"debug".into()),
                "{}: pipeline {} lacks the debug exporter: {exporters}",
                original.display(),
                name.name
            );
        }
        // Every line before is still there, in order: comments included.
        let mut rest = on.lines();
        for line in before.lines().filter(|l| l.trim_start().starts_with('#')) {
            assert!(
                rest.any(|l| l == line),
                "{}: lost {line:?}",
                original.display()
            );
        }
        debug(&["off", file.to_str().unwrap()]);
        assert_eq!(
            read(&file),
            before,
            "{}: off did not restore it",
            original.display()
        );
    }
}

#[test]
fn dry_run_prints_the_diff_and_out_leaves_the_file_alone() {
    let dir = tempfile::tempdir().unwrap();
    let file = copy_into(dir.path(), &deploy("collector/staging.yaml"));
    let before = read(&file);
    let run = debug(&["on", file.to_str().unwrap(), "--dry-run"]);
    assert!(
        run.stdout
            .contains("+      level: debug  # otelops config debug: was \"      level: info\"\n"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("+    verbosity: detailed  # otelops config debug: added\n"),
        "{}",
        run.stdout
    );
    assert_eq!(read(&file), before, "--dry-run wrote the file");

    let out = dir.path().join("staging-debug.yaml");
    debug(&["on", file.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_eq!(read(&file), before, "--out changed the input");
    assert!(read(&out).contains("development: true  # otelops config debug: added"));
}

#[test]
fn a_config_without_pipelines_is_refused_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bare.yaml");
    std::fs::write(&file, "receivers:\n  otlp: {}\n").unwrap();
    let run = common::otelops(&["config", "debug", "on", file.to_str().unwrap()]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("bare.yaml"), "{}", run.stderr);
    assert!(run.stderr.contains("service.pipelines"), "{}", run.stderr);
    assert_eq!(read(&file), "receivers:\n  otlp: {}\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_collector_in_debug_mode_logs_the_spans_it_receives_in_detail() {
    let art = Artifacts::new("config-debug-live");
    let ports = Ports::free();
    let config = collector::render("healthy.yaml", &ports, &[], &art);
    debug(&["on", config.to_str().unwrap()]);
    let mut c = Collector::start(config, ports, &art).await;
    let sent = sender::http_many(&ports.otlp_http_url(), 0xdb, 1, 3).await;
    assert_eq!(sent.accepted.len(), 3, "{:?}", sent.statuses);
    // The detailed verbosity prints each span with its ids and name; the
    // names are unique to this send.
    let log = wait_until(
        "the debug exporter's span dump",
        Duration::from_secs(15),
        || async {
            let log = c.log();
            if log.contains("Span #2") && log.contains("scenario span") {
                Ok(log)
            } else {
                Err(format!("{} bytes of log, no \"Span #2\"", log.len()))
            }
        },
    )
    .await;
    for id in &sent.accepted {
        let hex: String = id.iter().map(|b| format!("{b:02x}")).collect();
        assert!(
            log.contains(&format!("ID             : {hex}")),
            "span {hex} not dumped:\n{log}"
        );
    }
    assert!(
        log.contains("\"level\":\"debug\"") || log.contains("\tdebug\t"),
        "no debug-level line:\n{log}"
    );
    c.stop().await;
}
