//! `otelops monitor report` on recorded pages, live loopback scrapes, and bad input.

mod common;
#[path = "common/server.rs"]
mod server;

use std::sync::atomic::Ordering;

use common::{closed_port, fixture, fixture_text, otelops};
use server::{TestServer, page};

fn path(name: &str) -> String {
    fixture(name).display().to_string()
}

#[test]
fn recorded_v0165_page_reports_accepted_and_sent_counts() {
    let run = otelops(&[
        "--output",
        "json",
        "monitor",
        "report",
        "--from-file",
        &path("otelcol-v0.165-metrics.prom"),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let r = run.json();
    assert_eq!(r["status"], "OK");
    let rx = r["receivers"].as_array().unwrap();
    let traces = rx
        .iter()
        .find(|x| x["receiver"] == "otlp" && x["data_type"] == "traces")
        .unwrap();
    assert_eq!(traces["accepted"], 15.0);
    let ex = r["exporters"].as_array().unwrap();
    let otlp = ex
        .iter()
        .find(|x| x["exporter"] == "otlp" && x["data_type"] == "traces")
        .unwrap();
    assert_eq!(otlp["sent"], 15.0);
    assert_eq!(otlp["queue_capacity"], 1000.0);
    assert!(otlp["rates"].is_null());
    let notes = r["notes"].to_string();
    assert!(notes.contains("rates omitted"), "{notes}");
    assert!(
        notes.contains("export latency not exposed: set service.telemetry.metrics.level: detailed")
    );
}

#[test]
fn recorded_detailed_page_exposes_export_latency() {
    let run = otelops(&[
        "--output",
        "json",
        "monitor",
        "report",
        "--from-file",
        &path("otelcol-v0.165-metrics-detailed.prom"),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let lat = &run.json()["export_latency"];
    assert_eq!(lat["exposed"], true);
    assert!(lat["p99_ms"].as_f64().unwrap() > 0.0);
}

#[test]
fn recorded_pair_with_downstream_failing_is_crit_with_rates() {
    let run = otelops(&[
        "monitor",
        "report",
        "--from-file",
        &path("otelcol-v0.165-metrics.prom"),
        "--from-file",
        &path("otelcol-v0.165-metrics-send-failed.prom"),
    ]);
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("collector status: CRIT"));
    assert!(
        run.stdout
            .contains("CRIT exporter otlp/traces send failed: 100.00%"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("window "),
        "window from the pages' uptime"
    );
}

#[test]
fn pre_v0149_page_with_service_labels_is_read() {
    let run = otelops(&[
        "--output",
        "json",
        "monitor",
        "report",
        "--from-file",
        &path("otelcol-v0.90-service-labels.prom"),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let r = run.json();
    assert_eq!(r["exporters"][0]["exporter"], "otlp");
    assert_eq!(r["exporters"][0]["queue_utilisation_pct"], 0.0);
    assert!(r["resources"]["rss_mib"].as_f64().unwrap() > 20.0);
}

#[test]
fn live_scrapes_give_window_rates_and_refused_share() {
    // Second scrape: 1000 more accepted, 30 more refused → 2.9 % refused: WARN.
    let s = TestServer::start(vec![
        page(10, 5000, 0, 5000, 0, 50),
        page(10, 6000, 30, 6000, 0, 50),
    ]);
    let run = otelops(&[
        "--output",
        "json",
        "monitor",
        "report",
        "--metrics-url",
        &s.url("/metrics"),
        "--window",
        "200ms",
    ]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let r = run.json();
    assert_eq!(r["status"], "WARN");
    let pct = r["receivers"][0]["refused_pct"].as_f64().unwrap();
    assert!((pct - 30.0 / 1030.0 * 100.0).abs() < 1e-9, "{pct}");
    assert!(
        r["receivers"][0]["rates"]["accepted_per_sec"]
            .as_f64()
            .unwrap()
            > 0.0
    );
    assert_eq!(s.behaviour.metrics_hits.load(Ordering::SeqCst), 2);
}

#[test]
fn queue_thresholds_through_the_cli_and_a_custom_limit() {
    let file = tempfile::NamedTempFile::new().unwrap();
    let one = |queue: u32, extra: &[&str]| {
        std::fs::write(file.path(), page(queue, 100, 0, 100, 0, 10)).unwrap();
        let mut args = vec![
            "monitor",
            "report",
            "--from-file",
            file.path().to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        otelops(&args)
    };
    assert_eq!(one(800, &[]).code, 0);
    let warn = one(850, &[]);
    assert_eq!(warn.code, 1);
    assert!(
        warn.stdout
            .contains("WARN exporter otlp/traces queue utilisation: 85.00%"),
        "{}",
        warn.stdout
    );
    assert_eq!(one(960, &[]).code, 2);
    assert_eq!(one(850, &["--queue-warn-pct", "90"]).code, 0);
}

#[test]
fn memory_limit_comes_from_the_flag_or_the_config() {
    let page_file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(page_file.path(), page(0, 100, 0, 100, 0, 450)).unwrap();
    let p = page_file.path().to_str().unwrap();
    assert_eq!(
        otelops(&[
            "monitor",
            "report",
            "--from-file",
            p,
            "--memory-limit-mib",
            "1000"
        ])
        .code,
        0
    );
    assert_eq!(
        otelops(&[
            "monitor",
            "report",
            "--from-file",
            p,
            "--memory-limit-mib",
            "480"
        ])
        .code,
        2
    );
    let cfg = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        cfg.path(),
        "processors:\n  memory_limiter:\n    limit_mib: 540\n",
    )
    .unwrap();
    let run = otelops(&[
        "monitor",
        "report",
        "--from-file",
        p,
        "--config",
        cfg.path().to_str().unwrap(),
    ]);
    assert_eq!(run.code, 1, "450 of 540 MiB = 83 %: {}", run.stdout);
    assert!(run.stdout.contains("of limit 540 MiB"));
}

fn page_file(rss_mib: u32) -> tempfile::NamedTempFile {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), page(0, 100, 0, 100, 0, rss_mib)).unwrap();
    file
}

fn production_config() -> String {
    common::repo_root()
        .join("deploy/collector/production.yaml")
        .display()
        .to_string()
}

/// The production profile sizes memory_limiter as 80 %/20 % of the
/// container: monitor reads the container's memory where the collector
/// would, the cgroup's `memory.max` (here a directory of the test's own).
#[test]
fn production_config_memory_limit_comes_from_the_cgroup() {
    let cgroup = tempfile::tempdir().unwrap();
    std::fs::write(cgroup.path().join("memory.max"), "1073741824\n").unwrap();
    let rss = page_file(450);
    let config = production_config();
    let report = |extra: &[&str]| {
        let mut args = vec![
            "monitor",
            "report",
            "--config",
            &config,
            "--cgroup-dir",
            cgroup.path().to_str().unwrap(),
            "--from-file",
            rss.path().to_str().unwrap(),
        ];
        args.extend(extra);
        otelops(&args)
    };
    let run = report(&[]);
    assert_eq!(run.code, 0, "450 of 1024 MiB = 44 %: {}", run.stdout);
    assert!(
        !run.stdout.contains("memory limit unknown"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("of limit 1024 MiB"), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("memory limit: the container's memory, 1024 MiB from ")
            && run.stdout.contains("memory.max; memory_limiter"),
        "{}",
        run.stdout
    );
    // --container-memory-mib overrides the cgroup.
    let run = report(&["--container-memory-mib", "480"]);
    assert_eq!(run.code, 2, "450 of 480 MiB = 94 %: {}", run.stdout);
}

/// The committed OtelcolMemoryHigh rule (1024 MiB container) and monitor on
/// the same container: WARN starts at exactly the RSS the alert fires on.
#[test]
fn memory_warn_agrees_with_the_otelcol_memory_high_alert() {
    let rules = std::fs::read_to_string(
        common::repo_root().join("deploy/prometheus/otelcol-parker-rules.yaml"),
    )
    .unwrap();
    let rule = &rules[rules.find("alert: OtelcolMemoryHigh").unwrap()..];
    let expr = rule
        .lines()
        .find(|l| l.trim_start().starts_with("expr:"))
        .unwrap();
    let alert_bytes: f64 = expr.rsplit("> ").next().unwrap().trim().parse().unwrap();
    assert!(rule.contains("of the 1024 MiB container limit"), "{rule}");
    let judge = |rss_mib: u32| {
        let rss = page_file(rss_mib);
        let run = otelops(&[
            "monitor",
            "report",
            "--config",
            &production_config(),
            "--container-memory-mib",
            "1024",
            "--from-file",
            rss.path().to_str().unwrap(),
        ]);
        (f64::from(rss_mib) * 1024.0 * 1024.0 > alert_bytes, run.code)
    };
    // 819 MiB is just under the alert's 819.2 MiB, 820 just over.
    assert_eq!(judge(819), (false, 0));
    assert_eq!(judge(820), (true, 1));
}

#[test]
fn garbage_page_is_unknown_with_line_and_column() {
    let s = TestServer::start(vec!["otelcol_up 1\notelcol_x{a=\"b\" 3\n".into()]);
    let run = otelops(&[
        "monitor",
        "report",
        "--metrics-url",
        &s.url("/metrics"),
        "--window",
        "0s",
    ]);
    assert_eq!(run.code, 3);
    assert!(run.stderr.contains("/metrics:line 2:"), "{}", run.stderr);
}

#[test]
fn unreachable_collector_is_unknown() {
    let url = format!("http://127.0.0.1:{}/metrics", closed_port());
    let run = otelops(&["monitor", "report", "--metrics-url", &url, "--window", "0s"]);
    assert_eq!(run.code, 3);
    assert!(run.stderr.contains("cannot connect"), "{}", run.stderr);
}

#[test]
fn slow_collector_times_out_as_unknown() {
    let s = TestServer::start(vec![page(0, 1, 0, 1, 0, 1)]);
    s.behaviour.delay_ms.store(3000, Ordering::SeqCst);
    let run = otelops(&[
        "monitor",
        "report",
        "--metrics-url",
        &s.url("/metrics"),
        "--window",
        "0s",
        "--timeout",
        "200ms",
    ]);
    assert_eq!(run.code, 3);
    assert!(
        run.stderr.contains("no answer within 200ms"),
        "{}",
        run.stderr
    );
}

#[test]
fn http_error_page_is_unknown() {
    let s = TestServer::start(vec![]);
    let run = otelops(&[
        "monitor",
        "report",
        "--metrics-url",
        &s.url("/metrics"),
        "--window",
        "0s",
    ]);
    assert_eq!(run.code, 3);
    assert!(run.stderr.contains("HTTP 404"), "{}", run.stderr);
}

#[test]
fn missing_file_and_bad_config_are_unknown_with_clear_messages() {
    let run = otelops(&["monitor", "report", "--from-file", "/nonexistent/page.prom"]);
    assert_eq!(run.code, 3);
    assert!(
        run.stderr.contains("cannot read /nonexistent/page.prom"),
        "{}",
        run.stderr
    );

    let cfg = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(cfg.path(), "processors:\n  memory_limiter: [\n").unwrap();
    let run = otelops(&[
        "monitor",
        "report",
        "--from-file",
        &path("otelcol-v0.165-metrics.prom"),
        "--config",
        cfg.path().to_str().unwrap(),
    ]);
    assert_eq!(run.code, 3);
    assert!(run.stderr.contains("invalid YAML"), "{}", run.stderr);
    assert!(run.stderr.contains(&format!("{}:", cfg.path().display())));
}

#[test]
fn three_pages_or_inverted_thresholds_are_refused() {
    let p = path("otelcol-v0.165-metrics.prom");
    let run = otelops(&[
        "monitor",
        "report",
        "--from-file",
        &p,
        "--from-file",
        &p,
        "--from-file",
        &p,
    ]);
    assert_eq!(run.code, 3);
    assert!(run.stderr.contains("one page, or two"));
    let run = otelops(&[
        "monitor",
        "report",
        "--from-file",
        &p,
        "--queue-warn-pct",
        "99",
        "--queue-crit-pct",
        "90",
    ]);
    assert_eq!(run.code, 3);
    assert!(run.stderr.contains("--queue-warn"), "{}", run.stderr);
}

#[test]
fn copied_fixture_pages_are_byte_identical_to_their_recorded_originals() {
    // PROVENANCE.md records each copied page's SHA-256 as it was upstream.
    let provenance = fixture_text("PROVENANCE.md");
    for name in [
        "otelcol-v0.90-service-labels.prom",
        "otelcol-v0.90-opencensus.prom",
    ] {
        let recorded = provenance
            .lines()
            .find(|l| l.contains("sha256") && l.trim_end().ends_with(&format!("`{name}`")))
            .and_then(|l| l.split('`').nth(1))
            .unwrap_or_else(|| panic!("PROVENANCE.md records no sha256 for {name}"));
        let digest = ring::digest::digest(&ring::digest::SHA256, fixture_text(name).as_bytes());
        let actual: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            actual, recorded,
            "{name} differs from what PROVENANCE.md records"
        );
    }
}

#[test]
fn suffixed_v0140_form_reads_the_same_as_the_current_names() {
    let report = |name: &str| {
        let run = otelops(&[
            "--output",
            "json",
            "monitor",
            "report",
            "--from-file",
            &path(name),
        ]);
        assert_eq!(run.code, 0, "{name}: {}", run.stderr);
        run.json()
    };
    let current = report("otelcol-v0.165-metrics-detailed.prom");
    let suffixed = report("synthetic-v0.140-suffixed.prom");
    for key in [
        "receivers",
        "exporters",
        "batch",
        "resources",
        "export_latency",
    ] {
        let mut a = current[key].clone();
        let mut b = suffixed[key].clone();
        if key == "export_latency" {
            // Only the spelling of the source differs.
            a["source"] = serde_json::Value::Null;
            b["source"] = serde_json::Value::Null;
        }
        assert_eq!(a, b, "{key}");
    }
    assert!(!suffixed["receivers"].as_array().unwrap().is_empty());
    assert_eq!(suffixed["export_latency"]["exposed"], true);
}
