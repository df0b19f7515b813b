//! `testing::Capture`: per-thread isolation and its assertion helpers.

use parker_telemetry::testing::Capture;

#[test]
fn capture_sees_spans_of_its_own_thread_only() {
    let capture = Capture::install();
    std::thread::spawn(|| {
        let _other = Capture::install();
        tracing::info_span!("elsewhere").in_scope(|| {});
    })
    .join()
    .unwrap();
    tracing::info_span!("here").in_scope(|| {});

    let names: Vec<String> = capture.spans().iter().map(|s| s.name.to_string()).collect();
    assert_eq!(names, ["here"]);
}

#[test]
fn span_named_panics_listing_the_spans_seen() {
    let capture = Capture::install();
    tracing::info_span!("quote").in_scope(|| {});
    let panic =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| capture.span_named("book")))
            .expect_err("no span named book");
    let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(
        message.contains("\"book\"") && message.contains("\"quote\""),
        "{message}"
    );
}

#[test]
fn events_inside_spans_become_correlated_logs() {
    let capture = Capture::install();
    tracing::info_span!("quote").in_scope(|| tracing::warn!(route = "LHR-JFK", "slow provider"));

    let span = capture.span_named("quote");
    let logs = capture.logs();
    assert_eq!(logs.len(), 1);
    let trace = logs[0]
        .record
        .trace_context()
        .expect("trace context on the log");
    assert_eq!(trace.trace_id, span.span_context.trace_id());
    assert_eq!(trace.span_id, span.span_context.span_id());
}

#[test]
fn metrics_are_collected_from_the_capture_meter() {
    let capture = Capture::install();
    let histogram = capture.meter().f64_histogram("test.duration").build();
    histogram.record(0.5, &[]);
    histogram.record(1.5, &[]);
    let points = capture.histogram("test.duration");
    assert_eq!(points.len(), 1);
    assert_eq!(points[0].count, 2);
    assert_eq!(points[0].sum, 2.0);
}
