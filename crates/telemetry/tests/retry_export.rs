//! Retry behaviour of the exporters (opentelemetry-otlp's retry policy, as
//! configured by parker-telemetry) against a receiver scripted to fail.

mod common;

use opentelemetry::trace::{Tracer, TracerProvider};
use parker_telemetry::ServiceInfo;
use parker_telemetry::testing::{Failure, OtlpSink};

/// Traces only, so every request the sink sees is a trace export.
fn traces_only(protocol: &str, sink: &OtlpSink) -> parker_telemetry::TelemetryConfig {
    let endpoint = if protocol == "grpc" {
        sink.grpc_endpoint()
    } else {
        sink.http_endpoint()
    };
    common::fast_config(
        protocol,
        &endpoint,
        &[
            ("OTEL_METRICS_EXPORTER", "none"),
            ("OTEL_LOGS_EXPORTER", "none"),
            // Only explicit flushes export.
            ("OTEL_BSP_SCHEDULE_DELAY", "60000"),
        ],
    )
}

/// Ends one span named `name` and flushes; returns the flush result.
async fn export_one(
    guard: &parker_telemetry::TelemetryGuard,
    name: &'static str,
) -> opentelemetry_sdk::error::OTelSdkResult {
    let provider = guard.tracer_provider().clone();
    provider.tracer("retry-test").start(name);
    // force_flush blocks until the export (with its retries) is done.
    tokio::task::spawn_blocking(move || provider.force_flush())
        .await
        .expect("join")
}

async fn shutdown(guard: parker_telemetry::TelemetryGuard) {
    let r = tokio::task::spawn_blocking(move || guard.shutdown())
        .await
        .expect("join");
    assert!(r.is_ok(), "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_503_with_retry_after_then_200_delivers_the_batch() {
    let sink = OtlpSink::start().await;
    sink.set_failures([Failure::Unavailable {
        retry_after_secs: Some(1),
    }]);
    let guard = parker_telemetry::build(
        ServiceInfo::new("r", "1"),
        &traces_only("http/protobuf", &sink),
    )
    .expect("build");
    let flushed = export_one(&guard, "retried").await;
    assert!(flushed.is_ok(), "{flushed:?}");
    let attempts = sink.attempts();
    assert_eq!(attempts.len(), 2, "{attempts:#?}");
    assert_eq!(
        attempts[0].failure,
        Some(Failure::Unavailable {
            retry_after_secs: Some(1)
        })
    );
    assert_eq!(attempts[1].failure, None);
    assert_eq!(
        sink.spans()
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>(),
        ["retried"]
    );
    shutdown(guard).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_429_is_retried() {
    let sink = OtlpSink::start().await;
    sink.set_failures([Failure::TooManyRequests, Failure::TooManyRequests]);
    let guard =
        parker_telemetry::build(ServiceInfo::new("r", "1"), &traces_only("http/json", &sink))
            .expect("build");
    let flushed = export_one(&guard, "after-429").await;
    assert!(flushed.is_ok(), "{flushed:?}");
    assert_eq!(sink.attempts().len(), 3);
    assert_eq!(sink.spans().len(), 1);
    shutdown(guard).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_400_is_not_retried() {
    let sink = OtlpSink::start().await;
    sink.set_failures([Failure::BadRequest]);
    let guard = parker_telemetry::build(
        ServiceInfo::new("r", "1"),
        &traces_only("http/protobuf", &sink),
    )
    .expect("build");
    let _ = export_one(&guard, "rejected").await;
    // The flush returned, so the exporter is done with that batch.
    assert_eq!(
        sink.attempts().len(),
        1,
        "400 must not be retried: {:#?}",
        sink.attempts()
    );
    assert!(sink.spans().is_empty());
    // The receiver accepts again: the next batch gets through on one attempt.
    let flushed = export_one(&guard, "accepted").await;
    assert!(flushed.is_ok(), "{flushed:?}");
    assert_eq!(sink.attempts().len(), 2);
    assert_eq!(
        sink.spans()
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>(),
        ["accepted"]
    );
    shutdown(guard).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_unavailable_is_retried_until_accepted() {
    let sink = OtlpSink::start().await;
    sink.set_failures([
        Failure::Unavailable {
            retry_after_secs: None,
        },
        Failure::Unavailable {
            retry_after_secs: None,
        },
    ]);
    let guard = parker_telemetry::build(ServiceInfo::new("r", "1"), &traces_only("grpc", &sink))
        .expect("build");
    let flushed = export_one(&guard, "grpc-retried").await;
    assert!(flushed.is_ok(), "{flushed:?}");
    assert_eq!(sink.attempts().len(), 3);
    assert_eq!(
        sink.spans()
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>(),
        ["grpc-retried"]
    );
    shutdown(guard).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_invalid_argument_is_not_retried() {
    let sink = OtlpSink::start().await;
    sink.set_failures([Failure::BadRequest]);
    let guard = parker_telemetry::build(ServiceInfo::new("r", "1"), &traces_only("grpc", &sink))
        .expect("build");
    let _ = export_one(&guard, "rejected").await;
    assert_eq!(sink.attempts().len(), 1, "{:#?}", sink.attempts());
    assert!(sink.spans().is_empty());
    shutdown(guard).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_retry_info_makes_unavailable_and_resource_exhausted_retryable() {
    let sink = OtlpSink::start().await;
    sink.set_failures([
        Failure::Unavailable {
            retry_after_secs: Some(1),
        },
        Failure::TooManyRequests,
    ]);
    let guard = parker_telemetry::build(ServiceInfo::new("r", "1"), &traces_only("grpc", &sink))
        .expect("build");
    let flushed = export_one(&guard, "after-retry-info").await;
    assert!(flushed.is_ok(), "{flushed:?}");
    let outcomes: Vec<Option<Failure>> = sink.attempts().into_iter().map(|a| a.failure).collect();
    assert_eq!(
        outcomes,
        [
            Some(Failure::Unavailable {
                retry_after_secs: Some(1)
            }),
            Some(Failure::TooManyRequests),
            None
        ]
    );
    assert_eq!(sink.spans().len(), 1);
    shutdown(guard).await;
}
