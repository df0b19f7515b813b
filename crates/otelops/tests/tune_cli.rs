//! `otelops tune` through the binary: recommendations, diff, JSON, bad input.

mod common;
#[path = "common/server.rs"]
mod server;

use common::{fixture, otelops};
use server::{TestServer, page};

const CONFIG: &str = "\
# collector under test
processors:
  memory_limiter:
    check_interval: 1s
    limit_mib: 400
    spike_limit_mib: 100
  batch:
    send_batch_size: 1024
    timeout: 1s
  probabilistic_sampler:
    sampling_percentage: 10
exporters:
  otlp:
    endpoint: 127.0.0.1:4317
    sending_queue:
      num_consumers: 4
      queue_size: 1000  # per signal
";

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> String {
    let p = dir.path().join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

/// `otelops [--output OUTPUT] tune --config CONFIG` on two saved pages where
/// the otlp queue goes from 10 % to 90 % of 1000 while sends succeed.
fn tune_filling_queue(output: &str, config: &str, extra: &[&str]) -> common::Run {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(&dir, "collector.yaml", config);
    let a = write(&dir, "a.prom", &page(100, 1000, 0, 1000, 0, 50));
    let b = write(&dir, "b.prom", &page(900, 2000, 0, 2000, 0, 50));
    let mut args = vec!["--output", output, "tune", "--config", &cfg];
    args.extend(["--from-file", &a, "--from-file", &b]);
    args.extend(extra);
    otelops(&args)
}

#[test]
fn high_queue_in_saved_pages_recommends_a_larger_queue_with_a_diff() {
    let run = tune_filling_queue("table", CONFIG, &[]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("[queue-size] exporters.otlp.sending_queue.queue_size: 1000 → 2000"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("evidence: queue utilisation 90.0%"));
    // Paths as `git apply` takes them: a/ and b/ before the config's path.
    assert!(
        run.stdout.contains("--- a/") && run.stdout.contains("/collector.yaml\n+++ b/"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(
            "-      queue_size: 1000  # per signal\n+      queue_size: 2000  # per signal"
        )
    );
}

/// Valid YAML in flow style gets its diff like block style; a setting the
/// editor cannot write (its parent is an env reference) is still recommended,
/// without a diff line and saying why.
const FLOW_CONFIG: &str = "\
processors:
  batch: {timeout: 1s}
  probabilistic_sampler: ${env:SAMPLER_SETTINGS}
exporters:
  otlp: {endpoint: 127.0.0.1:4317, sending_queue: {queue_size: 20}}  # flow
";

#[test]
fn flow_style_config_gets_its_recommendations_and_diff() {
    let tune = |output| tune_filling_queue(output, FLOW_CONFIG, &["--environment", "production"]);
    let run = tune("table");
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("[queue-size] exporters.otlp.sending_queue.queue_size: 20 → 40"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(
            "-  otlp: {endpoint: 127.0.0.1:4317, sending_queue: {queue_size: 20}}  # flow\n\
             +  otlp: {endpoint: 127.0.0.1:4317, sending_queue: {queue_size: 40}}  # flow"
        ),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(
            "[sampling] processors.probabilistic_sampler.sampling_percentage: (unset) → 10"
        ) && run.stdout.contains(
            "not in the diff (set it by hand): `probabilistic_sampler` has an inline value"
        ),
        "{}",
        run.stdout
    );

    let json = tune("json");
    assert_eq!(json.code, 1, "{}", json.stderr);
    let t = json.json();
    let recs = t["recommendations"].as_array().unwrap();
    let queue = recs.iter().find(|r| r["rule"] == "queue-size").unwrap();
    assert!(queue.get("not_in_diff").is_none(), "{queue}");
    let sampling = recs.iter().find(|r| r["rule"] == "sampling").unwrap();
    assert!(
        sampling["not_in_diff"]
            .as_str()
            .unwrap()
            .contains("${env:SAMPLER_SETTINGS}"),
        "{sampling}"
    );
}

#[test]
fn json_output_carries_rules_evidence_and_diff() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(&dir, "collector.yaml", CONFIG);
    let run = otelops(&[
        "--output",
        "json",
        "tune",
        "--config",
        &cfg,
        "--container-memory-mib",
        "1000",
        "--environment",
        "staging",
    ]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let t = run.json();
    let rules: Vec<_> = t["recommendations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["setting"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        rules,
        vec!["limit_mib", "spike_limit_mib", "sampling_percentage"]
    );
    let diff = t["diff"].as_str().unwrap();
    assert!(
        diff.contains("+    limit_mib: 800")
            && diff.contains("+    spike_limit_mib: 200")
            && diff.contains("+    sampling_percentage: 50"),
        "{diff}"
    );
}

#[test]
fn well_tuned_config_and_quiet_metrics_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(&dir, "collector.yaml", CONFIG);
    let s = TestServer::start(vec![page(10, 100, 0, 100, 0, 50)]);
    let run = otelops(&[
        "tune",
        "--config",
        &cfg,
        "--metrics-url",
        &s.url("/metrics"),
        "--window",
        "0s",
        "--container-memory-mib",
        "500",
        "--environment",
        "production",
    ]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("nothing to change"));
}

#[test]
fn rendered_staging_profile_is_tunable() {
    let staging = fixture("../../../../deploy/collector/staging.yaml");
    let run = otelops(&[
        "--output",
        "json",
        "tune",
        "--config",
        staging.to_str().unwrap(),
        "--environment",
        "production",
    ]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let t = run.json();
    // Staging tail-samples: the environment's rate is a policy in a list,
    // recommended without a diff line; the critical services' rate stays.
    let recs = t["recommendations"].as_array().unwrap();
    let sampling: Vec<_> = recs.iter().filter(|r| r["rule"] == "sampling").collect();
    assert_eq!(sampling.len(), 1, "{recs:?}");
    assert_eq!(sampling[0]["component"], "processors.tail_sampling");
    assert_eq!(sampling[0]["current"], "50");
    assert_eq!(sampling[0]["recommended"], "10");
    assert!(
        sampling[0]["reason"]
            .as_str()
            .unwrap()
            .contains("\"environment-rate\"")
    );
    assert!(sampling[0]["not_in_diff"].as_str().is_some());
}

#[test]
fn bad_yaml_names_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(
        &dir,
        "broken.yaml",
        "processors:\n  batch:\n    timeout: [1s\n",
    );
    let run = otelops(&["tune", "--config", &cfg]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains(&format!("{cfg}:")) && run.stderr.contains("invalid YAML"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("panicked"));
}

#[test]
fn missing_config_and_bad_flags_are_input_errors() {
    let run = otelops(&["tune", "--config", "/nonexistent/collector.yaml"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("cannot read collector config /nonexistent/collector.yaml"),
        "{}",
        run.stderr
    );
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(&dir, "c.yaml", CONFIG);
    let run = otelops(&["tune", "--config", &cfg, "--container-memory-mib", "-5"]);
    assert_eq!(run.code, 2);
    let run = otelops(&["tune", "--config", &cfg, "--environment", "qa"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("development, staging, production"),
        "{}",
        run.stderr
    );
}
