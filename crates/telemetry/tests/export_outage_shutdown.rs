//! Shutdown while the collector refuses everything, with the default
//! configuration (traces, metrics and logs on; no OTEL_BSP_* and no retry
//! settings), over OTLP/gRPC and OTLP/HTTP protobuf: a batch is being
//! retried (the default keeps retrying until the 30 s export timeout), yet
//! dropping the guard ends well within its 5 s deadline, and what was
//! given up is counted exactly.
//! Its own test binary: the drop counters are per process.

mod common;

use opentelemetry::logs::{LogRecord, Logger, LoggerProvider};
use opentelemetry::trace::{Tracer, TracerProvider};
use parker_telemetry::config::Signal;
use parker_telemetry::export::dropped_after_export;
use parker_telemetry::guard::SHUTDOWN_DEADLINE;
use parker_telemetry::testing::{Failure, OtlpSink};
use parker_telemetry::{ServiceInfo, ShutdownError};
use std::time::{Duration, Instant};

const SPANS: u64 = 10;
const RECORDS: u64 = 3;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_during_an_outage_ends_within_its_deadline_and_counts_what_it_gave_up() {
    for protocol in ["grpc", "http/protobuf"] {
        run(protocol).await;
    }
}

async fn run(protocol: &str) {
    let sink = OtlpSink::start().await;
    sink.set_failures(std::iter::repeat_n(
        Failure::Unavailable {
            retry_after_secs: None,
        },
        1_000_000,
    ));
    let endpoint = common::sink_endpoint(&sink, protocol);
    let config = common::config(&[
        ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
    ]);
    let guard = parker_telemetry::build(ServiceInfo::new("stopping", "1"), &config).expect("build");
    let before = [Signal::Traces, Signal::Metrics, Signal::Logs].map(dropped_after_export);

    let tracer = guard.tracer_provider().tracer("shutdown-test");
    for i in 0..SPANS {
        tracer.start(format!("span {i}"));
    }
    let logger = guard.logger_provider().logger("shutdown-test");
    for i in 0..RECORDS {
        let mut record = logger.create_log_record();
        record.set_body(format!("record {i}").into());
        logger.emit(record);
    }
    // The span batch goes out after the default 5 s schedule delay; its
    // second attempt means it is being retried.
    let deadline = Instant::now() + Duration::from_secs(20);
    while sink
        .attempts()
        .iter()
        .filter(|a| a.signal == "traces")
        .count()
        < 2
    {
        assert!(Instant::now() < deadline, "{protocol}: no trace retry");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let started = Instant::now();
    let result = tokio::task::spawn_blocking(move || guard.shutdown())
        .await
        .expect("join");
    let took = started.elapsed();
    assert!(
        took < SHUTDOWN_DEADLINE,
        "{protocol}: shutdown took {took:?}"
    );
    assert!(
        !matches!(result, Err(ShutdownError::Timeout(_))),
        "{protocol}: {result:?}"
    );
    let after = [Signal::Traces, Signal::Metrics, Signal::Logs].map(dropped_after_export);
    assert_eq!(after[0] - before[0], SPANS, "{protocol}: spans given up");
    assert_eq!(
        after[2] - before[2],
        RECORDS,
        "{protocol}: records given up"
    );
    // The final collection: the two points of parker.telemetry.spans.dropped
    // (reason queue_full and export_failed), the only metric here.
    assert_eq!(after[1] - before[1], 2, "{protocol}: points given up");
    assert!(
        sink.spans().is_empty() && sink.logs().is_empty() && sink.metrics().is_empty(),
        "{protocol}: the sink accepted nothing"
    );
}
