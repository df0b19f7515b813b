//! `otelops diagnose` (issue 14) on the real otelcol-parker brought into the
//! guide's troubleshooting states: backends that are down, TLS-mismatched,
//! behind an expired certificate, or refusing our token (one collector, four
//! exporters); and memory_limiter refusing. `monitor` and `tune` are run on
//! the same collector: a full queue whose calls all fail is an export
//! failure, not a capacity problem.
//!
//! Artifacts (`$PARKER_TEST_ARTIFACTS/diagnose-*`): the rendered configs,
//! every scraped page, the collector logs and each otelops run's output.

mod common;
#[path = "common/config.rs"]
mod config_support;
#[path = "common/receive.rs"]
mod receive_support;
#[path = "common/collector/mod.rs"]
mod support;
#[path = "common/tls.rs"]
mod tls_support;

use std::time::Duration;

use serde_json::Value;
use support::artifacts::Artifacts;
use support::collector::{self, Collector, Ports};
use support::{otelops, sender};

const TAG: u8 = 0x4e;

fn finding<'a>(d: &'a Value, symptom: &str, subject: &str) -> &'a Value {
    d["findings"]
        .as_array()
        .unwrap_or_else(|| panic!("no findings: {d:#}"))
        .iter()
        .find(|f| f["symptom"] == symptom && f["subject"] == subject)
        .unwrap_or_else(|| panic!("no {symptom} finding for {subject} in {d:#}"))
}

/// `otelops diagnose --config C --metrics-url M --window W` plus `extra`.
async fn diagnose(
    art: &Artifacts,
    label: &str,
    config: &std::path::Path,
    ports: &Ports,
    window: &str,
    extra: &[&str],
) -> common::Run {
    let metrics = ports.metrics_url();
    let mut args = vec![
        "diagnose",
        "--config",
        config.to_str().unwrap(),
        "--metrics-url",
        &metrics,
        "--window",
        window,
    ];
    args.extend_from_slice(extra);
    otelops::run(art, label, &args).await
}

fn text(v: &Value) -> String {
    v.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diagnose_names_each_export_failure_by_its_cause() {
    let art = Artifacts::new("diagnose-export-failures");
    let ports = Ports::free();
    let pki = tls_support::Pki::new("diagnose");
    pki.write_otelops_ca();
    let expired = pki.server("tls", true);
    // Backends: a plain gRPC sink where TLS is expected, a TLS one with the
    // expired certificate, `otelops receive` wanting a token we do not send.
    let _plain = support::sink::Sink::start(ports.downstream).await;
    let tls_sink = parker_telemetry::testing::OtlpSink::start_tls(expired.sink_tls(None)).await;
    let tls_port = tls_sink
        .grpc_endpoint()
        .rsplit(':')
        .next()
        .unwrap()
        .to_string();
    let token = pki.token_file("backend.token", &"b".repeat(64));
    let token_backend = receive_support::Running::start(&["--token-file", token.to_str().unwrap()]);
    let dead = common::closed_port().to_string();
    let token_port = token_backend.grpc.port().to_string();
    let ca = pki.ca_file();
    let config = collector::render(
        "export-failures.yaml",
        &ports,
        &[
            ("DEAD_PORT", &dead),
            ("EXPIRED_PORT", &tls_port),
            ("TOKEN_PORT", &token_port),
            ("CA_FILE", ca.to_str().unwrap()),
        ],
        &art,
    );
    let col = Collector::start(config.clone(), ports, &art).await;

    // Until the dead exporter's queue is full (10 of 10) and the others
    // have given up on some spans.
    let mut sent = 0;
    let page = loop {
        sent += sender::http_many(&ports.otlp_http_url(), TAG, 5, 2)
            .await
            .accepted
            .len();
        let p = col.scrape("sending").await;
        let full = p.sum(
            "otelcol_exporter_queue_size",
            &[("exporter", "otlp_grpc/dead")],
        ) >= 10.0;
        let given_up = ["otlp_grpc/mismatch", "otlp_grpc/expired", "otlp_grpc/token"]
            .iter()
            .all(|e| p.sum("otelcol_exporter_send_failed_spans", &[("exporter", e)]) > 0.0);
        if full && given_up {
            break p;
        }
        assert!(
            sent < 2000,
            "no full queue after {sent} spans: {}",
            collector::counters(&p)
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    // What the collector itself says, read without otelops.
    assert_eq!(
        page.sum(
            "otelcol_exporter_send_failed_spans",
            &[("exporter", "otlp_grpc/dead")]
        ),
        0.0,
        "the dead exporter retries forever: nothing given up yet"
    );
    assert!(
        page.sum(
            "otelcol_exporter_send_failed_spans",
            &[
                ("exporter", "otlp_grpc/token"),
                ("error_type", "Unauthenticated")
            ]
        ) > 0.0
    );
    assert!(page.has("rpc_client_call_duration_bucket"));

    let log = art.save("collector-for-diagnose.log", &col.log());
    let run = diagnose(
        &art,
        "diagnose",
        &config,
        &ports,
        "2s",
        &[
            "--log",
            log.to_str().unwrap(),
            "--cert",
            expired.cert_file.to_str().unwrap(),
            "--output",
            "json",
        ],
    )
    .await;
    let d = run.json();
    assert_eq!(run.code, 2, "worst finding CRIT: {run:#?}");
    assert_eq!(d["status"], "CRIT");

    // The CA the exporters name in the config was read too.
    assert!(
        text(&d["notes"]).contains(&format!(
            "certificate {} (exporters.otlp_grpc/mismatch.tls.ca_file)",
            ca.display()
        )),
        "{d:#}"
    );
    let dead_f = finding(&d, "export_failures", "exporters.otlp_grpc/dead");
    assert!(
        text(&dead_f["cause"]).contains("backend unreachable"),
        "{dead_f:#}"
    );
    assert!(
        text(&dead_f["evidence"]).contains("full because nothing drains it"),
        "{dead_f:#}"
    );
    let steps = text(&dead_f["steps"]);
    assert!(steps.contains("Check network connectivity"), "{steps}");
    assert!(steps.contains(&format!("127.0.0.1:{dead}")), "{steps}");
    assert!(steps.contains("Do not grow the queue"), "{steps}");
    // A full queue whose calls fail is not a capacity problem.
    assert!(
        !text(&d["findings"]).contains("high_queue_utilisation"),
        "{d:#}"
    );

    let mismatch = finding(&d, "export_failures", "exporters.otlp_grpc/mismatch");
    assert!(
        text(&mismatch["cause"]).contains("TLS mismatch"),
        "{mismatch:#}"
    );

    let exp = finding(&d, "export_failures", "exporters.otlp_grpc/expired");
    assert!(
        text(&exp["cause"]).contains("certificate has expired"),
        "{exp:#}"
    );
    assert!(text(&exp["evidence"]).contains("x509"), "{exp:#}");
    assert!(
        text(&exp["commands"]).contains(&format!(
            "otelops certs check --endpoint 127.0.0.1:{tls_port}"
        )),
        "{exp:#}"
    );

    let tok = finding(&d, "export_failures", "exporters.otlp_grpc/token");
    assert!(text(&tok["cause"]).contains("token problem"), "{tok:#}");
    assert!(
        text(&tok["evidence"]).contains("Unauthenticated"),
        "{tok:#}"
    );

    // The expired certificate: the file to renew and the command that
    // renews it — which does.
    let cert_path = expired.cert_file.display().to_string();
    let cert = finding(&d, "certificate_expiration", &cert_path);
    assert_eq!(cert["status"], "CRIT");
    let rotate = format!("otelops certs rotate --dir {}", pki.dir().display());
    assert!(text(&cert["commands"]).contains(&rotate), "{cert:#}");
    let probe = finding(
        &d,
        "certificate_expiration",
        &format!("127.0.0.1:{tls_port}"),
    );
    assert!(
        text(&probe["cause"]).contains("expired on 2021"),
        "{probe:#}"
    );
    let renewed = otelops::run(
        &art,
        "certs-rotate",
        &["certs", "rotate", "--dir", pki.dir().to_str().unwrap()],
    )
    .await;
    assert_eq!(renewed.code, 0, "{renewed:#?}");
    let check = otelops::run(
        &art,
        "certs-check-renewed",
        &["certs", "check", expired.cert_file.to_str().unwrap()],
    )
    .await;
    assert_eq!(check.code, 0, "the renewed certificate is OK: {check:#?}");

    // monitor: the error rate beside the latency, never "OK" for calls
    // that all failed on the dead backend.
    let (_, r) =
        otelops::monitor_report_json(&art, "monitor-report", &ports.metrics_url(), "2s").await;
    let lat = &r["export_latency"];
    assert!(lat["error_pct"].as_f64().unwrap() > 50.0, "{lat:#}");
    assert!(text(&lat["errors"]).contains("UNAVAILABLE"), "{lat:#}");
    assert_ne!(lat["status"], "OK", "{lat:#}");
    assert_eq!(r["status"], "CRIT");
    let table = otelops::run(
        &art,
        "monitor-report-table",
        &[
            "monitor",
            "report",
            "--metrics-url",
            &ports.metrics_url(),
            "--window",
            "1s",
        ],
    )
    .await;
    assert!(
        table
            .stdout
            .contains("export latency p50/p90/p99 (successful calls)"),
        "{}",
        table.stdout
    );
    assert!(table.stdout.contains("errors "), "{}", table.stdout);

    // tune: no more consumers, no bigger queue while sends fail.
    let run = otelops::run(
        &art,
        "tune",
        &[
            "tune",
            "--config",
            config.to_str().unwrap(),
            "--metrics-url",
            &ports.metrics_url(),
            "--window",
            "1s",
            "--output",
            "json",
        ],
    )
    .await;
    let t = run.json();
    let recs = t["recommendations"].as_array().unwrap();
    assert!(
        recs.iter()
            .all(|x| x["setting"] != "sending_queue.num_consumers"
                && x["setting"] != "sending_queue.queue_size"),
        "{t:#}"
    );
    assert!(
        recs.iter()
            .any(|x| x["rule"] == "downstream-failures"
                && x["component"] == "exporters.otlp_grpc/dead"),
        "{t:#}"
    );
    col.scrape("after").await;
    drop(token_backend);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diagnose_reports_memory_limiter_refusing_with_the_memory_constrained_diff() {
    let art = Artifacts::new("diagnose-memory-limited");
    let ports = Ports::free();
    let config = collector::render("memory-limited.yaml", &ports, &[], &art);
    let col = Collector::start(config.clone(), ports, &art).await;
    col.wait_until_refusing().await;
    let sent = sender::http_many(&ports.otlp_http_url(), TAG, 4, 4).await;
    assert!(!sent.refused.is_empty(), "{:?}", sent.statuses);
    let page = col
        .scrape_until("limiter refused", Duration::from_secs(10), |p| {
            p.sum("otelcol_processor_memory_limiter_refused_spans", &[]) > 0.0
        })
        .await;
    assert!(page.sum("otelcol_receiver_refused_spans", &[]) > 0.0);
    let log = art.save("collector-for-diagnose.log", &col.log());
    let run = diagnose(
        &art,
        "diagnose",
        &config,
        &ports,
        "0s",
        &["--log", log.to_str().unwrap(), "--output", "json"],
    )
    .await;
    let d = run.json();
    assert_eq!(run.code, 2, "{run:#?}");
    let m = finding(&d, "memory_issues", "processors.memory_limiter");
    assert!(
        text(&m["evidence"]).contains("memory_limiter refused"),
        "{m:#}"
    );
    assert!(
        text(&m["evidence"]).contains("log: ")
            && text(&m["evidence"]).contains("Memory usage is above"),
        "{m:#}"
    );
    // The guide's memory-constrained settings, as the diff: a smaller queue.
    assert!(
        text(&m["diff"]).contains("-      queue_size: 100\\n+      queue_size: 50"),
        "{m:#}"
    );
    assert!(
        text(&m["commands"]).contains(&format!("--config {}", config.display())),
        "{m:#}"
    );
    assert!(
        text(&m["steps"]).contains("memory_limiter settings"),
        "{m:#}"
    );
    // The table shows the same with the diff.
    let table = diagnose(&art, "diagnose-table", &config, &ports, "0s", &[]).await;
    assert!(table.stdout.contains("Memory issues"), "{}", table.stdout);
    assert!(
        table.stdout.contains("+      queue_size: 50"),
        "{}",
        table.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn monitor_on_a_debug_only_collector_says_no_exporter_makes_network_calls() {
    let art = Artifacts::new("diagnose-debug-only");
    let ports = Ports::free();
    let config = collector::render("debug-only.yaml", &ports, &[], &art);
    let col = Collector::start(config, ports, &art).await;
    let sent = sender::http_many(&ports.otlp_http_url(), TAG, 3, 2).await;
    assert_eq!(sent.accepted.len(), 6, "{:?}", sent.statuses);
    let page = col
        .scrape_until("debug sent 6", Duration::from_secs(10), |p| {
            p.sum("otelcol_exporter_sent_spans", &[("exporter", "debug")]) >= 6.0
        })
        .await;
    assert!(!page.has("otelcol_exporter_queue_size"));
    let (_, r) =
        otelops::monitor_report_json(&art, "monitor-report", &ports.metrics_url(), "0s").await;
    let absent = r["export_latency"]["absent"].as_str().unwrap_or_default();
    assert!(
        absent.contains("no exporter makes network calls (debug)"),
        "{r:#}"
    );
    // The level is detailed: no advice to set it.
    assert!(
        !text(&r["notes"]).contains("set service.telemetry"),
        "{r:#}"
    );
}

/// `tune --critical-service`: the diff, applied with `patch`, is a config
/// otelcol-parker v0.161.0 accepts (tail_sampling is in the distribution).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn critical_service_diff_is_a_config_the_collector_validates() {
    let art = Artifacts::new("diagnose-critical-service");
    let config = art.save(
        "sampled.yaml",
        "\
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:4317
processors:
  memory_limiter:
    check_interval: 1s
    limit_mib: 400
  probabilistic_sampler:
    sampling_percentage: 10
  batch: {}
exporters:
  debug: {}
service:
  pipelines:
    traces:
      receivers: [otlp]
      processors: [memory_limiter, probabilistic_sampler, batch]
      exporters: [debug]
",
    );
    let run = otelops::run(
        &art,
        "tune-critical",
        &[
            "tune",
            "--config",
            config.to_str().unwrap(),
            "--critical-service",
            "parker-booking",
            "--output",
            "json",
        ],
    )
    .await;
    assert_eq!(run.code, 1, "{run:#?}");
    let diff = run.json()["diff"].as_str().unwrap().to_string();
    assert!(diff.contains("tail_sampling"), "{diff}");
    let patch = art.save("critical.diff", &diff);
    let applied = std::process::Command::new("patch")
        .arg(&config)
        .arg(&patch)
        .output()
        .expect("run patch");
    assert!(applied.status.success(), "{applied:?}");
    let validate = config_support::validate(&config, &[]);
    assert!(
        validate.status.success(),
        "otelcol-parker validate refused the tuned config: {}\n{}",
        String::from_utf8_lossy(&validate.stderr),
        std::fs::read_to_string(&config).unwrap()
    );
}
