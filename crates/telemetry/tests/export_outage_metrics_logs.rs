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
use parker_telemetry::{ServiceInfo, TelemetryConfig, TelemetryGuard};
use std::time::Duration;

/// More refusals than opentelemetry-otlp's recommended 3 retries.
const REFUSALS: usize = 5;

fn refuse(sink: &OtlpSink) {
    sink.set_failures(std::iter::repeat_n(
        Failure::Unavailable {
            retry_after_secs: None,
        },
        REFUSALS,
    ));
}

/// The defaults, to `sink` over `protocol`, plus `pairs`.
fn to_sink(protocol: &str, sink: &OtlpSink, pairs: &[(&str, &str)]) -> TelemetryConfig {
    let endpoint = common::sink_endpoint(sink, protocol);
    let mut all = vec![
        ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
    ];
    all.extend_from_slice(pairs);
    common::config(&all)
}

async fn shutdown(guard: TelemetryGuard) {
    let r = tokio::task::spawn_blocking(move || guard.shutdown())
        .await
        .expect("join");
    assert!(r.is_ok(), "{r:?}");
}

/// Only the outcome of each attempt of `signal`, in order.
fn outcomes(sink: &OtlpSink, signal: &str) -> Vec<bool> {
    sink.attempts()
        .into_iter()
        .filter(|a| a.signal == signal)
        .map(|a| a.failure.is_none())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_metrics_and_logs_are_retried_until_accepted_with_the_defaults() {
    let log = ExportLog::global();
    for protocol in ["grpc", "http/protobuf"] {
        // Metrics: the periodic reader's first collection (its interval is
        // not a retry setting; 60 s would make the test wait a minute).
        let sink = OtlpSink::start().await;
        refuse(&sink);
        let mark = log.len();
        let config = to_sink(
            protocol,
            &sink,
            &[
                ("OTEL_TRACES_EXPORTER", "none"),
                ("OTEL_LOGS_EXPORTER", "none"),
                ("OTEL_METRIC_EXPORT_INTERVAL", "500"),
            ],
        );
        let guard = parker_telemetry::build(ServiceInfo::new("m", "1"), &config).expect("build");
        sink.wait_for_metric(DROPPED_SPANS_METRIC, Duration::from_secs(30))
            .await;
        let attempts = outcomes(&sink, "metrics");
        assert_eq!(
            attempts[..=REFUSALS],
            [vec![false; REFUSALS], vec![true]].concat(),
            "{protocol}: refused {REFUSALS} times, then accepted"
        );
        shutdown(guard).await;
        let (warnings, recoveries) = (
            log.warnings(mark, "metrics"),
            log.recoveries(mark, "metrics"),
        );
        assert_eq!(warnings.len(), 1, "{protocol}: {warnings:#?}");
        assert_eq!(recoveries.len(), 1, "{protocol}: {recoveries:#?}");
        assert_eq!(warnings[0].count("retrying"), 2, "{warnings:#?}");
        assert_eq!(recoveries[0].count("dropped"), 0);
        // The collection held the two points of the drop counter.
        assert_eq!(recoveries[0].count("retried"), 2, "{recoveries:#?}");

        // Logs: one record, with the default batch settings.
        let sink = OtlpSink::start().await;
        refuse(&sink);
        let mark = log.len();
        let config = to_sink(
            protocol,
            &sink,
            &[
                ("OTEL_TRACES_EXPORTER", "none"),
                ("OTEL_METRICS_EXPORTER", "none"),
            ],
        );
        let guard = parker_telemetry::build(ServiceInfo::new("l", "1"), &config).expect("build");
        let logger = guard.logger_provider().logger("outage-test");
        let mut record = logger.create_log_record();
        record.set_body("refused, then kept".into());
        logger.emit(record);
        let logs = sink
            .wait_for_logs(|l| !l.is_empty(), Duration::from_secs(30))
            .await;
        assert_eq!(logs.len(), 1, "{protocol}: {logs:#?}");
        assert_eq!(
            outcomes(&sink, "logs"),
            [vec![false; REFUSALS], vec![true]].concat(),
            "{protocol}"
        );
        shutdown(guard).await;
        let (warnings, recoveries) = (log.warnings(mark, "logs"), log.recoveries(mark, "logs"));
        assert_eq!(
            warnings.len(),
            1,
            "{protocol}: {:#?}",
            log.since(mark, "logs")
        );
        assert_eq!(warnings[0].count("retrying"), 1, "{warnings:#?}");
        assert_eq!(recoveries.len(), 1, "{protocol}: {recoveries:#?}");
        assert_eq!(
            (
                recoveries[0].count("retried"),
                recoveries[0].count("dropped")
            ),
            (1, 0),
            "{protocol}"
        );
    }
}
