//! `RUST_LOG` filters what is logged (stderr and OTLP log records, and the
//! span events made from log events), never which spans exist: spans are
//! the sampler's business. With `RUST_LOG=warn` an info and a debug span
//! still reach the receiver, while only the warning becomes a log record.

mod common;

use parker_telemetry::ServiceInfo;
use parker_telemetry::testing::OtlpSink;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn rust_log_warn_keeps_spans_and_filters_logs() {
    let sink = OtlpSink::start().await;
    let config = common::fast_config("grpc", &sink.grpc_endpoint(), &[("RUST_LOG", "warn")]);
    let guard =
        parker_telemetry::build(ServiceInfo::new("booking", "1.0.0"), &config).expect("build");
    {
        let _subscriber = tracing::subscriber::set_default(guard.subscriber());
        let outer = tracing::info_span!("checkout", otel.kind = "server");
        outer.in_scope(|| {
            tracing::info!("below the filter");
            let inner = tracing::debug_span!("price lookup");
            inner.in_scope(|| tracing::warn!("fare feed slow"));
        });
    }

    let spans = sink.wait_for_spans(|s| s.len() >= 2, WAIT).await;
    let outer = spans
        .iter()
        .find(|s| s.name == "checkout")
        .expect("the info span is exported under RUST_LOG=warn");
    let inner = spans
        .iter()
        .find(|s| s.name == "price lookup")
        .expect("the debug span is exported under RUST_LOG=warn");
    assert_eq!(inner.parent_span_id, outer.span_id);
    assert!(
        outer.events.is_empty(),
        "the info event is filtered out of span events too: {:?}",
        outer.events
    );
    assert_eq!(
        inner
            .events
            .iter()
            .map(|e| e.name.as_str())
            .collect::<Vec<_>>(),
        ["fare feed slow"]
    );
    // No code location, thread or busy/idle attributes: they cost time per
    // span and carry nothing the semantic conventions ask for.
    for key in ["code.file.path", "thread.name", "busy_ns", "target"] {
        assert!(
            !outer.attributes.contains_key(key),
            "unexpected {key} on {:?}",
            outer.attributes
        );
    }

    let logs = sink
        .wait_for_logs(|l| l.iter().any(|r| r.body == "fare feed slow"), WAIT)
        .await;
    let warned = logs
        .iter()
        .find(|r| r.body == "fare feed slow")
        .expect("warning exported");
    assert_eq!(warned.span_id, inner.span_id);
    assert!(
        logs.iter().all(|r| r.body != "below the filter"),
        "RUST_LOG=warn lets no info record through: {logs:?}"
    );
    guard.shutdown().expect("clean shutdown");
}
