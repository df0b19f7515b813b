//! A collector that refuses (UNAVAILABLE / 503) for longer than the export
//! timeout, over OTLP/gRPC and OTLP/HTTP protobuf, with the default
//! configuration but for a 5 s OTEL_BSP_EXPORT_TIMEOUT (to keep the test
//! short): every span is either delivered or dropped and counted — the
//! batch still failing when the export timeout ran out as
//! `export_failed`, what the bounded queue had no room for as
//! `queue_full` — the sum is exact, ending spans stays as cheap as before
//! the outage, and the outage is logged once, its recovery once.
//! Its own test binary: the drop counters are per process.

mod common;
#[path = "common/export_log.rs"]
mod export_log;

use export_log::ExportLog;
use opentelemetry::trace::{Tracer, TracerProvider};
use parker_telemetry::config::Signal;
use parker_telemetry::export::{dropped_after_export, dropped_spans};
use parker_telemetry::testing::{Failure, OtlpSink};
use parker_telemetry::{ServiceInfo, TelemetryGuard};
use std::collections::HashSet;
use std::time::{Duration, Instant};

/// The default `OTEL_BSP_MAX_QUEUE_SIZE` and `_MAX_EXPORT_BATCH_SIZE`.
const QUEUE: u64 = 2048;
const BATCH: u64 = 512;
const BEFORE: usize = 500;
/// Well over the queue: the rest must be dropped, not buffered.
const DURING: u64 = 5000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_collector_refusing_longer_than_the_export_timeout_costs_exactly_the_counted_spans() {
    let log = ExportLog::global();
    for protocol in ["grpc", "http/protobuf"] {
        run(protocol, log).await;
    }
}

async fn run(protocol: &str, log: &ExportLog) {
    let sink = OtlpSink::start().await;
    let endpoint = common::sink_endpoint(&sink, protocol);
    let config = common::config(&[
        ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
        ("OTEL_METRICS_EXPORTER", "none"),
        ("OTEL_LOGS_EXPORTER", "none"),
        ("OTEL_BSP_EXPORT_TIMEOUT", "5000"),
    ]);
    let guard = parker_telemetry::build(ServiceInfo::new("outage", "1"), &config).expect("build");
    let tracer = guard.tracer_provider().tracer("outage-test");
    let mark = log.len();

    // Before: the collector takes everything.
    let started = Instant::now();
    for i in 0..BEFORE {
        tracer.start(format!("before {i}"));
    }
    let before = started.elapsed();
    flush(&guard).await;
    sink.wait_for_spans(|s| s.len() >= BEFORE, Duration::from_secs(20))
        .await;

    // The outage: every attempt refused, for longer than the export timeout.
    sink.set_failures(std::iter::repeat_n(
        Failure::Unavailable {
            retry_after_secs: None,
        },
        1_000_000,
    ));
    let (queue_full_0, failed_0) = (dropped_spans(), dropped_after_export(Signal::Traces));
    let started = Instant::now();
    for i in 0..DURING {
        tracer.start(format!("during {i}"));
    }
    let during = started.elapsed();
    let queue_full = dropped_spans() - queue_full_0;
    // Memory stays bounded: at most the queue and the one batch handed to
    // the (now retrying) exporter were admitted; the rest was dropped.
    assert!(
        (DURING - QUEUE - BATCH..=DURING - QUEUE).contains(&queue_full),
        "{protocol}: {queue_full} of {DURING} dropped at the queue"
    );
    // Ending a span costs what it did before the outage (a generous
    // factor: this guards against blocking, not a benchmark).
    let (per_before, per_during) = (before / BEFORE as u32, during / DURING as u32);
    assert!(
        per_during <= per_before * 10 + Duration::from_micros(50),
        "{protocol}: {per_during:?} per span during the outage, {per_before:?} before"
    );

    wait("the first batch given up at the export timeout", || {
        dropped_after_export(Signal::Traces) > failed_0
    })
    .await;
    assert_eq!(
        log.warnings(mark, "traces").len(),
        1,
        "{protocol}: one warning"
    );
    assert!(log.recoveries(mark, "traces").is_empty(), "{protocol}");

    // The collector takes data again: what was queued is delivered.
    sink.set_failures([]);
    flush(&guard).await;
    let delivered = || {
        sink.spans()
            .iter()
            .filter(|s| s.name.starts_with("during "))
            .count() as u64
    };
    let failed = || dropped_after_export(Signal::Traces) - failed_0;
    wait("every span delivered or counted", || {
        delivered() + queue_full + failed() == DURING
    })
    .await;
    let export_failed = failed();
    assert!(
        (1..=QUEUE).contains(&export_failed),
        "{protocol}: {export_failed} given up"
    );
    let names: Vec<String> = sink.spans().into_iter().map(|s| s.name).collect();
    let unique: HashSet<&String> = names.iter().collect();
    assert_eq!(
        unique.len(),
        names.len(),
        "{protocol}: a span delivered twice"
    );

    let warnings = log.warnings(mark, "traces");
    let recoveries = log.recoveries(mark, "traces");
    assert_eq!(warnings.len(), 1, "{protocol}: {warnings:#?}");
    // It names the batch being retried when the outage began.
    assert!(
        (1..=BATCH).contains(&warnings[0].count("retrying")),
        "{protocol}: {warnings:#?}"
    );
    assert_eq!(recoveries.len(), 1, "{protocol}: {recoveries:#?}");
    assert_eq!(recoveries[0].count("dropped"), export_failed, "{protocol}");
    assert!(
        recoveries[0].count("retried") >= export_failed,
        "{protocol}: {recoveries:#?}"
    );

    let result = tokio::task::spawn_blocking(move || guard.shutdown())
        .await
        .expect("join");
    assert!(result.is_ok(), "{protocol}: {result:?}");
}

async fn flush(guard: &TelemetryGuard) {
    let provider = guard.tracer_provider().clone();
    // The SDK's force_flush gives up waiting after 5 s; the export goes on.
    let _ = tokio::task::spawn_blocking(move || provider.force_flush()).await;
}

/// Polls `ok` for up to 40 s (the export timeout, backoff and batching
/// delays, with room to spare).
async fn wait(what: &str, ok: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(40);
    while !ok() {
        assert!(Instant::now() < deadline, "{what}: not within 40 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
