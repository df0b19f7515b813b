//! `otelops monitor report` on the real otelcol-parker's live numbers
//! (issue 7, item 4): after exactly N spans went through, the report shows N
//! accepted by the receiver and N sent by the exporter, read from the
//! collector's own current metric names.

mod common;
#[path = "common/collector/mod.rs"]
mod support;

use std::time::Duration;

use serde_json::Value;
use support::artifacts::Artifacts;
use support::collector::{self, Collector, Ports};
use support::{otelops, sender};

const TAG: u8 = 0x4d;

fn row<'a>(rows: &'a Value, key: &str, name: &str) -> &'a Value {
    rows.as_array()
        .unwrap_or_else(|| panic!("not an array: {rows}"))
        .iter()
        .find(|r| r[key] == name && r["data_type"] == "traces")
        .unwrap_or_else(|| panic!("no {key}={name} traces row in {rows:#}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn monitor_report_counts_exactly_the_spans_sent_through_the_collector() {
    const N_HTTP: usize = 150; // 15 requests of 10
    const N_GRPC: usize = 100; // 10 requests of 10
    const N: usize = N_HTTP + N_GRPC;
    let art = Artifacts::new("collector_monitor_live_numbers");
    let ports = Ports::free();
    let sink = support::sink::Sink::start(ports.downstream).await;
    let config = collector::render("healthy.yaml", &ports, &[], &art);
    let col = Collector::start(config, ports, &art).await;
    col.scrape("before").await;

    let mut sent = sender::http_many(&ports.otlp_http_url(), TAG, 15, 10).await;
    sent.merge(sender::grpc_many(&ports.otlp_grpc_url(), TAG, 10, 10).await);
    assert_eq!(
        sent.accepted.len(),
        N,
        "every request should be accepted: {:?}",
        sent.statuses
    );

    sink.wait_unique(N, Duration::from_secs(20)).await;
    assert_eq!(sink.unique(), N, "the sink got spans nobody sent");
    assert!(
        sink.ids().iter().all(|id| sent.accepted.contains(id)),
        "the sink received a span id that was not sent"
    );
    // The exporter counts a request as sent once the downstream answered.
    let page = col
        .scrape_until("exporter sent N", Duration::from_secs(10), |p| {
            p.sum("otelcol_exporter_sent_spans", &[("exporter", "otlp_grpc")]) >= N as f64
        })
        .await;
    // The collector's own numbers, read independently of otelops.
    assert_eq!(
        page.sum("otelcol_receiver_accepted_spans", &[("receiver", "otlp")]),
        N as f64
    );
    assert_eq!(
        page.sum("otelcol_receiver_accepted_spans", &[("transport", "http")]),
        N_HTTP as f64
    );
    assert_eq!(
        page.sum("otelcol_receiver_accepted_spans", &[("transport", "grpc")]),
        N_GRPC as f64
    );

    let run = otelops::run(
        &art,
        "monitor-report",
        &[
            "monitor",
            "report",
            "--metrics-url",
            &ports.metrics_url(),
            "--window",
            "0s",
            "--memory-limit-mib",
            "512",
            "--output",
            "json",
        ],
    )
    .await;
    let report = run.json();
    assert_eq!(run.code, 0, "a healthy flow is OK: {run:#?}");
    assert_eq!(report["status"], "OK");
    let receiver = row(&report["receivers"], "receiver", "otlp");
    assert_eq!(
        receiver["accepted"].as_f64(),
        Some(N as f64),
        "{receiver:#}"
    );
    assert_eq!(receiver["refused"].as_f64(), Some(0.0), "{receiver:#}");
    let exporter = row(&report["exporters"], "exporter", "otlp_grpc");
    assert_eq!(exporter["sent"].as_f64(), Some(N as f64), "{exporter:#}");
    assert_eq!(exporter["send_failed"].as_f64(), Some(0.0), "{exporter:#}");
    assert_eq!(
        exporter["queue_capacity"].as_f64(),
        Some(100.0),
        "{exporter:#}"
    );
    assert!(
        report["resources"]["rss_mib"]
            .as_f64()
            .is_some_and(|m| m > 0.0),
        "RSS read from otelcol_process_memory_rss: {:#}",
        report["resources"]
    );

    // With a window, the rates come from two live scrapes: more spans
    // arrive between them.
    let later = tokio::spawn({
        let base = ports.otlp_http_url();
        async move {
            // Well inside the 4 s window: after otelops' first scrape,
            // before its second.
            tokio::time::sleep(Duration::from_millis(1500)).await;
            sender::http_many(&base, TAG, 5, 10).await
        }
    });
    let run = otelops::run(
        &art,
        "monitor-report-window",
        &[
            "monitor",
            "report",
            "--metrics-url",
            &ports.metrics_url(),
            "--window",
            "4s",
            "--output",
            "json",
        ],
    )
    .await;
    let more = later.await.expect("sender task");
    assert_eq!(more.accepted.len(), 50, "{:?}", more.statuses);
    let report = run.json();
    let receiver = row(&report["receivers"], "receiver", "otlp");
    let window = report["window_seconds"].as_f64().expect("window_seconds");
    let rate = receiver["rates"]["accepted_per_sec"]
        .as_f64()
        .expect("accepted rate");
    assert!(
        (rate * window - 50.0).abs() < 0.5,
        "accepted over the window should be the 50 spans sent during it: rate {rate}/s × {window}s\n{receiver:#}"
    );
    assert_eq!(receiver["accepted"].as_f64(), Some((N + 50) as f64));
    col.scrape("after").await;
}
