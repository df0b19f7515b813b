//! Metrics and logs follow the spans' rule with the default retry
//! configuration: a batch the collector refuses (UNAVAILABLE / 503) more
//! often than the old 3 retries allowed is retried until it is accepted,
//! over OTLP/gRPC and OTLP/HTTP protobuf, and the outage is logged once
//! with its recovery (what was retried, nothing dropped).

mod common;
#[path = "common/export_log.rs"]
mod export_log;

use export_log::ExportLog;
use opentelemetry::logs::{LogRecord, Logger, LoggerProvider};
use parker_telemetry::export::DROPPED_SPANS_METRIC;
use parker_telemetry::testing::{Failure, OtlpSink};
use parker_telemetry::{ServiceInfo, TelemetryGuard};
use std::time::Duration;

/// More refusals than opentelemetry-otlp's recommended 3 retries.
const REFUSALS: usize = 5;

/// A sink that refuses the first `REFUSALS` attempts, and telemetry with
/// the defaults exporting to it over `protocol`, plus `pairs`.
async fn refusing_sink(protocol: &str, pairs: &[(&str, &str)]) -> (OtlpSink, TelemetryGuard) {
    let sink = OtlpSink::start().await;
    sink.set_failures(std::iter::repeat_n(
        Failure::Unavailable {
            retry_after_secs: None,
        },
        REFUSALS,
    ));
    let endpoint = common::sink_endpoint(&sink, protocol);
    let mut all = vec![
        ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
    ];
    all.extend_from_slice(pairs);
    let guard = parker_telemetry::build(ServiceInfo::new("outage", "1"), &common::config(&all))
        .expect("build");
    (sink, guard)
}

async fn shutdown(guard: TelemetryGuard) {
    let r = tokio::task::spawn_blocking(move || guard.shutdown())
        .await
        .expect("join");
    assert!(r.is_ok(), "{r:?}");
}

/// The sink refused the first `REFUSALS` attempts of `signal`, then
/// accepted.
fn assert_refused_then_accepted(sink: &OtlpSink, signal: &str, protocol: &str) {
    let accepted: Vec<bool> = sink
        .attempts()
        .into_iter()
        .filter(|a| a.signal == signal)
        .map(|a| a.failure.is_none())
        .take(REFUSALS + 1)
        .collect();
    assert_eq!(
        accepted,
        [vec![false; REFUSALS], vec![true]].concat(),
        "{protocol} {signal}: refused {REFUSALS} times, then accepted"
    );
}

/// One warning naming the `items` being retried; one recovery line with
/// those `items` retried and nothing dropped.
fn assert_one_outage(log: &ExportLog, mark: usize, signal: &str, protocol: &str, items: u64) {
    let lines = log.since(mark, signal);
    let (warnings, recoveries) = (log.warnings(mark, signal), log.recoveries(mark, signal));
    assert_eq!(
        (warnings.len(), recoveries.len()),
        (1, 1),
        "{protocol}: {lines:#?}"
    );
    assert_eq!(
        warnings[0].count("retrying"),
        items,
        "{protocol}: {lines:#?}"
    );
    assert_eq!(
        (
            recoveries[0].count("retried"),
            recoveries[0].count("dropped")
        ),
        (items, 0),
        "{protocol}: {lines:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_metrics_and_logs_are_retried_until_accepted_with_the_defaults() {
    let log = ExportLog::global();
    for protocol in ["grpc", "http/protobuf"] {
        // Metrics: the periodic reader's first collection (its interval is
        // not a retry setting; 60 s would make the test wait a minute).
        let mark = log.len();
        let (sink, guard) = refusing_sink(
            protocol,
            &[
                ("OTEL_TRACES_EXPORTER", "none"),
                ("OTEL_LOGS_EXPORTER", "none"),
                ("OTEL_METRIC_EXPORT_INTERVAL", "500"),
            ],
        )
        .await;
        sink.wait_for_metric(DROPPED_SPANS_METRIC, Duration::from_secs(30))
            .await;
        assert_refused_then_accepted(&sink, "metrics", protocol);
        shutdown(guard).await;
        // The collection held the two points of the drop counter.
        assert_one_outage(log, mark, "metrics", protocol, 2);

        // Logs: one record, with the default batch settings.
        let mark = log.len();
        let (sink, guard) = refusing_sink(
            protocol,
            &[
                ("OTEL_TRACES_EXPORTER", "none"),
                ("OTEL_METRICS_EXPORTER", "none"),
            ],
        )
        .await;
        let logger = guard.logger_provider().logger("outage-test");
        let mut record = logger.create_log_record();
        record.set_body("refused, then kept".into());
        logger.emit(record);
        let logs = sink
            .wait_for_logs(|l| !l.is_empty(), Duration::from_secs(30))
            .await;
        assert_eq!(logs.len(), 1, "{protocol}: {logs:#?}");
        assert_refused_then_accepted(&sink, "logs", protocol);
        shutdown(guard).await;
        assert_one_outage(log, mark, "logs", protocol, 1);
    }
}
