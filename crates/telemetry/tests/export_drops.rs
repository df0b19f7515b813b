//! A dead collector: creating spans never blocks, the bounded queue drops
//! and counts what does not fit, the count is exported as a metric, and the
//! warning about it is rate-limited. One test: drops are counted per process.

mod common;

use opentelemetry::trace::{Tracer, TracerProvider};
use opentelemetry_proto::tonic::metrics::v1::{metric, number_data_point};
use parker_telemetry::export::{DROPPED_SPANS_METRIC, dropped_spans};
use parker_telemetry::testing::OtlpSink;
use parker_telemetry::{ServiceInfo, ShutdownError};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tracing_subscriber::Layer;
use tracing_subscriber::layer::{Context, SubscriberExt};

/// Collects the drop warnings, which are emitted on the export thread (so
/// only a global subscriber sees them).
#[derive(Clone, Default)]
struct Warnings(Arc<Mutex<Vec<String>>>);

impl<S: tracing::Subscriber> Layer<S> for Warnings {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        if *event.metadata().level() == tracing::Level::WARN
            && event.metadata().target() == "parker_telemetry::export"
        {
            let mut fields = String::new();
            event.record(&mut |f: &tracing::field::Field, v: &dyn std::fmt::Debug| {
                fields.push_str(&format!("{}={v:?} ", f.name()));
            });
            self.0.lock().expect("warnings lock").push(fields);
        }
    }
}

impl Warnings {
    fn count(&self) -> usize {
        self.0.lock().expect("warnings lock").len()
    }
}

fn dropped_metric_value(sink: &OtlpSink) -> Option<i64> {
    sink.metrics()
        .iter()
        .flat_map(|rm| &rm.scope_metrics)
        .flat_map(|sm| &sm.metrics)
        .filter(|m| m.name == DROPPED_SPANS_METRIC)
        .filter_map(|m| match &m.data {
            Some(metric::Data::Sum(sum)) => Some(sum),
            _ => None,
        })
        .flat_map(|sum| &sum.data_points)
        .filter_map(|p| match p.value {
            Some(number_data_point::Value::AsInt(v)) => Some(v),
            _ => None,
        })
        .max()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_queue_drops_counts_and_warns_without_blocking() {
    let warnings = Warnings::default();
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(warnings.clone()))
        .expect("first global subscriber of this test binary");

    let metrics_sink = OtlpSink::start().await;
    let dead = format!("http://127.0.0.1:{}/v1/traces", common::closed_port());
    let config = common::fast_config(
        "http/protobuf",
        &metrics_sink.http_endpoint(),
        &[
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", &dead),
            ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "300"),
            ("OTEL_BSP_MAX_QUEUE_SIZE", "4"),
            ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "2"),
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
            ("OTEL_LOGS_EXPORTER", "none"),
        ],
    );
    // Building against a dead endpoint does not wait for it.
    let guard = parker_telemetry::build(ServiceInfo::new("dropper", "1"), &config).expect("build");
    let tracer = guard.tracer_provider().tracer("load");

    assert_eq!(dropped_spans(), 0);
    for i in 0..200 {
        tracer.start(format!("span-{i}"));
    }
    let dropped = dropped_spans();
    // At most the queue (4) plus the few batches the worker handed to the
    // exporter meanwhile can have been admitted; each export to the dead
    // endpoint takes up to its 300 ms timeout.
    assert!((180..=200).contains(&dropped), "dropped {dropped} of 200");

    // The count is exported as a metric.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while dropped_metric_value(&metrics_sink).is_none_or(|v| (v as u64) < dropped) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no {DROPPED_SPANS_METRIC} >= {dropped} arrived"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // One warning, however many exports run within 10 s.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while warnings.count() == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no drop warning was logged"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for i in 0..50 {
        tracer.start(format!("more-{i}"));
    }
    assert!(dropped_spans() > dropped, "the second burst must drop too");
    // Let several more export attempts (each ends in a timeout) go by.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(
        warnings.count(),
        1,
        "warnings: {:?}",
        warnings.0.lock().expect("lock")
    );
    let first = warnings.0.lock().expect("lock")[0].clone();
    assert!(first.contains("dropped_total="), "{first}");

    // Shutdown gives up on the dead endpoint within its deadline.
    let result = tokio::task::spawn_blocking(move || guard.shutdown())
        .await
        .expect("join");
    assert!(
        !matches!(result, Err(ShutdownError::Timeout(_))),
        "{result:?}"
    );
}
