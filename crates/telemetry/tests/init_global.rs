//! `init_with` installs the globals once; dropping its guard on a
//! current-thread runtime flushes without deadlocking. One test: globals can
//! be installed once per process.

mod common;

use opentelemetry::trace::{Tracer, TracerProvider};
use parker_telemetry::testing::OtlpSink;
use parker_telemetry::{InitError, ServiceInfo};

#[test]
fn init_installs_globals_once_and_drop_flushes_on_a_current_thread_runtime() {
    // The receiver runs on a runtime of its own so the test's single runtime
    // thread can block in `drop(guard)`.
    let sink_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("sink runtime");
    let sink = sink_runtime.block_on(OtlpSink::start());
    let config = common::fast_config(
        "grpc",
        &sink.grpc_endpoint(),
        &[
            // Nothing is exported before the guard is dropped.
            ("OTEL_BSP_SCHEDULE_DELAY", "600000"),
            ("OTEL_BLRP_SCHEDULE_DELAY", "600000"),
            ("OTEL_METRIC_EXPORT_INTERVAL", "600000"),
            ("OTEL_PROPAGATORS", "tracecontext"),
        ],
    );

    let app = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("app runtime");
    app.block_on(async {
        let guard = parker_telemetry::init_with(ServiceInfo::new("global", "1"), config.clone())
            .expect("first init");

        let mut fields: Vec<String> = opentelemetry::global::get_text_map_propagator(|p| {
            p.fields().map(str::to_owned).collect()
        });
        fields.sort();
        assert_eq!(fields, ["traceparent", "tracestate"]);

        tracing::info_span!("tracing span").in_scope(|| tracing::info!("inside"));
        opentelemetry::global::tracer_provider()
            .tracer("api")
            .start("api span");
        opentelemetry::global::meter("api")
            .u64_counter("global.counter")
            .build()
            .add(2, &[]);

        let second = parker_telemetry::init_with(ServiceInfo::new("again", "1"), config.clone());
        assert!(
            matches!(second, Err(InitError::AlreadyInitialized)),
            "{second:?}"
        );

        tokio::task::yield_now().await;
        drop(guard); // blocks the only runtime thread: must still flush
    });

    let mut names: Vec<String> = sink.spans().into_iter().map(|s| s.name).collect();
    names.sort();
    assert_eq!(names, ["api span", "tracing span"]);
    assert!(sink.logs().iter().any(|l| l.body == "inside"));
    assert!(sink.metric_names().iter().any(|n| n == "global.counter"));
}
