//! `OTEL_SDK_DISABLED=true`: init succeeds, installs only the fmt
//! subscriber, and nothing is exported.

mod common;

use opentelemetry::trace::{Span, Tracer, TracerProvider};
use parker_telemetry::ServiceInfo;
use parker_telemetry::testing::OtlpSink;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabled_sdk_exports_nothing_and_globals_stay_noop() {
    let sink = OtlpSink::start().await;
    let config = common::fast_config(
        "grpc",
        &sink.grpc_endpoint(),
        &[("OTEL_SDK_DISABLED", "true")],
    );
    let guard = parker_telemetry::init_with(ServiceInfo::new("off", "1"), config).expect("init");
    tracing::info_span!("ignored").in_scope(|| tracing::info!("still logged to stderr"));
    let span = opentelemetry::global::tracer_provider()
        .tracer("t")
        .start("noop");
    assert!(
        !span.span_context().is_valid(),
        "global tracer must be a no-op"
    );
    assert!(
        tokio::task::spawn_blocking(move || guard.shutdown())
            .await
            .expect("join")
            .is_ok()
    );
    assert!(sink.attempts().is_empty(), "{:#?}", sink.attempts());
}
