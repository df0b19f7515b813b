//! The span exporter's OTLP failure rules, against a scripted loopback
//! receiver: which HTTP statuses and gRPC codes are retried, that
//! Retry-After (seconds or HTTP-date) and RetryInfo are honoured within the
//! batch's retry budget, and that a partial success is logged once and not
//! retried. (`retry_export.rs` covers the common cases against `OtlpSink`.)

mod common;
#[path = "common/scripted_receiver.rs"]
mod scripted_receiver;

use opentelemetry::trace::{Tracer, TracerProvider};
use parker_telemetry::config::RetryConfig;
use parker_telemetry::testing::OtlpSink;
use parker_telemetry::{ServiceInfo, TelemetryConfig, TelemetryGuard};
use scripted_receiver::{Reply, ScriptedReceiver};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tracing_subscriber::Layer;
use tracing_subscriber::layer::{Context, SubscriberExt};

/// Traces only, flushed explicitly; 1 s per request and a 5 s export
/// timeout, so one batch may retry for 4 s; quick backoff steps.
fn config(protocol: &str, receiver: &ScriptedReceiver) -> TelemetryConfig {
    let endpoint = if protocol == "grpc" {
        receiver.grpc_endpoint()
    } else {
        receiver.http_endpoint()
    };
    let mut config = common::fast_config(
        protocol,
        &endpoint,
        &[
            ("OTEL_METRICS_EXPORTER", "none"),
            ("OTEL_LOGS_EXPORTER", "none"),
            ("OTEL_BSP_SCHEDULE_DELAY", "60000"),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "1000"),
            ("OTEL_BSP_EXPORT_TIMEOUT", "5000"),
        ],
    );
    config.retry = RetryConfig {
        max_retries: 6,
        initial_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
        max_jitter: Duration::from_millis(5),
    };
    config
}

/// Builds telemetry for `receiver`, ends one span, flushes (which waits
/// for the export and its retries) and shuts down; returns the flush result.
async fn export_one(protocol: &str, receiver: &ScriptedReceiver) -> Result<(), String> {
    let guard = parker_telemetry::build(ServiceInfo::new("r", "1"), &config(protocol, receiver))
        .expect("build");
    let provider = guard.tracer_provider().clone();
    provider.tracer("retry-rules").start("one");
    let flushed = tokio::task::spawn_blocking(move || provider.force_flush())
        .await
        .expect("join");
    shutdown(guard).await;
    flushed.map_err(|e| e.to_string())
}

async fn shutdown(guard: TelemetryGuard) {
    let r = tokio::task::spawn_blocking(move || guard.shutdown())
        .await
        .expect("join");
    assert!(r.is_ok(), "{r:?}");
}

fn http(status: u16, retry_after: Option<&str>) -> Reply {
    Reply::Http {
        status,
        retry_after: retry_after.map(str::to_owned),
    }
}

fn grpc(code: tonic::Code, retry_info: Option<Duration>) -> Reply {
    Reply::Grpc { code, retry_info }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_429_502_503_504_are_retried() {
    let receiver = ScriptedReceiver::start([
        http(429, None),
        http(502, None),
        http(503, None),
        http(504, None),
    ])
    .await;
    let flushed = export_one("http/protobuf", &receiver).await;
    assert_eq!(flushed, Ok(()));
    assert_eq!(receiver.attempts(), 5);
    assert_eq!(receiver.accepted_spans(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_429_with_retry_after_seconds_is_retried() {
    let receiver = ScriptedReceiver::start([http(429, Some("1"))]).await;
    let flushed = export_one("http/protobuf", &receiver).await;
    assert_eq!(flushed, Ok(()));
    assert_eq!(receiver.attempts(), 2);
    assert_eq!(receiver.accepted_spans(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_retry_after_as_a_past_http_date_is_retried() {
    let receiver =
        ScriptedReceiver::start([http(503, Some("Fri, 31 Dec 1999 23:59:59 GMT"))]).await;
    let flushed = export_one("http/protobuf", &receiver).await;
    assert_eq!(flushed, Ok(()));
    assert_eq!(receiver.attempts(), 2);
}

/// Honouring the delay means not retrying sooner: a delay past the 4 s
/// budget (as seconds or as an HTTP-date) ends the batch after one try,
/// where without Retry-After it would have been retried.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_retry_after_beyond_the_budget_gives_up_at_once() {
    let in_a_minute =
        httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(60));
    for retry_after in ["30", in_a_minute.as_str()] {
        let receiver = ScriptedReceiver::start([http(429, Some(retry_after))]).await;
        let flushed = export_one("http/protobuf", &receiver).await;
        let error = flushed.expect_err("the batch is given up");
        assert!(
            error.contains(&receiver.http_endpoint()) && error.contains("429"),
            "the error names the endpoint and the status: {error}"
        );
        assert_eq!(receiver.attempts(), 1, "Retry-After: {retry_after}");
        assert_eq!(receiver.accepted_spans(), 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_401_and_413_are_not_retried() {
    for status in [401, 413] {
        let receiver = ScriptedReceiver::start([http(status, Some("0"))]).await;
        let flushed = export_one("http/protobuf", &receiver).await;
        let error = flushed.expect_err("a 4xx is final");
        assert!(error.contains(&status.to_string()), "{error}");
        assert_eq!(receiver.attempts(), 1, "HTTP {status}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_codes_the_otlp_spec_calls_retryable_are_retried() {
    use tonic::Code;
    let receiver = ScriptedReceiver::start([
        grpc(Code::Unavailable, None),
        grpc(Code::Cancelled, None),
        grpc(Code::Aborted, None),
        grpc(Code::OutOfRange, None),
        grpc(Code::DataLoss, None),
        grpc(Code::DeadlineExceeded, None),
    ])
    .await;
    let flushed = export_one("grpc", &receiver).await;
    assert_eq!(flushed, Ok(()));
    assert_eq!(receiver.attempts(), 7);
    assert_eq!(receiver.accepted_spans(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_resource_exhausted_is_retried_only_with_retry_info() {
    let without = ScriptedReceiver::start([grpc(tonic::Code::ResourceExhausted, None)]).await;
    let error = export_one("grpc", &without)
        .await
        .expect_err("RESOURCE_EXHAUSTED without RetryInfo is final");
    assert!(
        error.contains(&without.grpc_endpoint()) && error.contains("ResourceExhausted"),
        "the error names the endpoint and the code: {error}"
    );
    assert_eq!(without.attempts(), 1);
    assert_eq!(without.accepted_spans(), 0);

    let with = ScriptedReceiver::start([grpc(
        tonic::Code::ResourceExhausted,
        Some(Duration::from_millis(200)),
    )])
    .await;
    assert_eq!(export_one("grpc", &with).await, Ok(()));
    assert_eq!(with.attempts(), 2);
    assert_eq!(with.accepted_spans(), 1);
}

/// A RetryInfo delay past the budget is honoured by not retrying at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_retry_info_beyond_the_budget_gives_up_at_once() {
    let receiver = ScriptedReceiver::start([grpc(
        tonic::Code::Unavailable,
        Some(Duration::from_secs(60)),
    )])
    .await;
    let error = export_one("grpc", &receiver).await.expect_err("given up");
    assert!(error.contains("Unavailable"), "{error}");
    assert_eq!(receiver.attempts(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_permission_denied_is_not_retried() {
    let receiver = ScriptedReceiver::start([grpc(tonic::Code::PermissionDenied, None)]).await;
    let error = export_one("grpc", &receiver).await.expect_err("final");
    assert!(error.contains("PermissionDenied"), "{error}");
    assert_eq!(receiver.attempts(), 1);
}

/// Collects the exporter's warnings (emitted on the export thread, so only
/// a global subscriber sees them), one global subscriber per test binary.
#[derive(Clone, Default)]
struct Warnings(Arc<Mutex<Vec<String>>>);

impl<S: tracing::Subscriber> Layer<S> for Warnings {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        if *event.metadata().level() == tracing::Level::WARN
            && event.metadata().target() == "opentelemetry_otlp"
        {
            let mut fields = String::new();
            event.record(&mut |f: &tracing::field::Field, v: &dyn std::fmt::Debug| {
                fields.push_str(&format!("{}={v:?} ", f.name()));
            });
            self.0.lock().expect("warnings lock").push(fields);
        }
    }
}

fn warnings() -> &'static Warnings {
    static WARNINGS: OnceLock<Warnings> = OnceLock::new();
    WARNINGS.get_or_init(|| {
        let warnings = Warnings::default();
        tracing::subscriber::set_global_default(
            tracing_subscriber::registry().with(warnings.clone()),
        )
        .expect("the only global subscriber of this test binary");
        warnings
    })
}

/// The target is one the guard's subscriber keeps out of exported logs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partial_success_is_logged_once_and_not_retried_over_both_transports() {
    let warnings = warnings();
    for protocol in ["grpc", "http/protobuf"] {
        let receiver = ScriptedReceiver::start([Reply::Partial {
            rejected: 3,
            message: format!("{protocol}: span too large"),
        }])
        .await;
        assert_eq!(export_one(protocol, &receiver).await, Ok(()));
        assert_eq!(receiver.attempts(), 1, "{protocol}: not retried");
        let logged: Vec<String> = warnings
            .0
            .lock()
            .expect("warnings lock")
            .iter()
            .filter(|w| w.contains(&format!("{protocol}: span too large")))
            .cloned()
            .collect();
        assert_eq!(logged.len(), 1, "{protocol}: {logged:#?}");
        assert!(logged[0].contains("rejected_spans=3"), "{}", logged[0]);
    }
}

/// OTLP/HTTP requests say who sent them; a configured User-Agent wins.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_requests_carry_a_user_agent() {
    for (configured, expected) in [
        (
            None,
            concat!("parker-telemetry/", env!("CARGO_PKG_VERSION")),
        ),
        (Some("user-agent=booking-canary"), "booking-canary"),
    ] {
        let sink = OtlpSink::start().await;
        let mut extra = vec![
            ("OTEL_METRICS_EXPORTER", "none"),
            ("OTEL_LOGS_EXPORTER", "none"),
        ];
        extra.extend(configured.map(|h| ("OTEL_EXPORTER_OTLP_HEADERS", h)));
        let config = common::fast_config("http/protobuf", &sink.http_endpoint(), &extra);
        let guard = parker_telemetry::build(ServiceInfo::new("r", "1"), &config).expect("build");
        guard.tracer_provider().tracer("ua").start("one");
        let attempts = sink.wait_for_attempts(1, Duration::from_secs(10)).await;
        assert_eq!(
            attempts[0].headers.get("user-agent").map(|v| v.as_bytes()),
            Some(expected.as_bytes())
        );
        shutdown(guard).await;
    }
}
