//! End to end: spans, log records and metrics built by parker-telemetry reach
//! a real OTLP receiver on loopback over gRPC, HTTP/protobuf and HTTP/JSON,
//! with and without gzip, carrying the configured headers.

mod common;

use opentelemetry::KeyValue;
use opentelemetry::metrics::MeterProvider;
use parker_telemetry::ServiceInfo;
use parker_telemetry::testing::{OtlpSink, Transport};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(10);

async fn round_trip(protocol: &str, gzip: bool) {
    let sink = OtlpSink::start().await;
    let endpoint = if protocol == "grpc" {
        sink.grpc_endpoint()
    } else {
        sink.http_endpoint()
    };
    let mut extra = vec![
        (
            "OTEL_EXPORTER_OTLP_HEADERS",
            "authorization=Bearer%20t0ken,x-tenant=parker,x-literal=a%2541",
        ),
        (
            "OTEL_RESOURCE_ATTRIBUTES",
            "deployment.environment.name=test",
        ),
    ];
    if gzip {
        extra.push(("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"));
    }
    let config = common::fast_config(protocol, &endpoint, &extra);
    let guard =
        parker_telemetry::build(ServiceInfo::new("booking", "9.9.9"), &config).expect("build");
    {
        let _subscriber = tracing::subscriber::set_default(guard.subscriber());
        let parent = tracing::info_span!("book flight", otel.kind = "server", booking.id = "B-1");
        let _entered = parent.enter();
        let child = tracing::info_span!("charge card", amount = 120);
        child.in_scope(|| tracing::info!(card = "visa", "charged"));
    }
    let counter = guard
        .meter_provider()
        .meter("test")
        .u64_counter("bookings.made")
        .build();
    counter.add(1, &[KeyValue::new("route", "LHR-JFK")]);

    let spans = sink.wait_for_spans(|s| s.len() >= 2, WAIT).await;
    let parent = spans
        .iter()
        .find(|s| s.name == "book flight")
        .expect("parent span");
    let child = spans
        .iter()
        .find(|s| s.name == "charge card")
        .expect("child span");
    assert_eq!(parent.kind, "server");
    assert_eq!(child.kind, "internal");
    assert_eq!(parent.attributes["booking.id"], "B-1");
    assert_eq!(child.attributes["amount"], "120");
    assert_eq!(child.trace_id, parent.trace_id);
    assert_eq!(child.parent_span_id, parent.span_id);
    assert_eq!(parent.parent_span_id, "");
    assert_eq!(parent.trace_id.len(), 32);
    assert_eq!(
        child
            .events
            .iter()
            .map(|e| e.name.as_str())
            .collect::<Vec<_>>(),
        ["charged"]
    );
    for span in [parent, child] {
        assert_eq!(span.resource["service.name"], "booking");
        assert_eq!(span.resource["service.version"], "9.9.9");
        assert_eq!(span.resource["deployment.environment.name"], "test");
        assert_eq!(span.resource["telemetry.sdk.language"], "rust");
    }

    let logs = sink
        .wait_for_logs(|l| l.iter().any(|r| r.body == "charged"), WAIT)
        .await;
    let log = logs
        .iter()
        .find(|r| r.body == "charged")
        .expect("log record");
    assert_eq!(log.severity_text, "INFO");
    assert_eq!(log.attributes["card"], "visa");
    assert_eq!(
        (log.trace_id.as_str(), log.span_id.as_str()),
        (child.trace_id.as_str(), child.span_id.as_str())
    );
    assert_eq!(log.resource["service.name"], "booking");

    let metrics = sink.wait_for_metric("bookings.made", WAIT).await;
    assert!(metrics.iter().all(|rm| rm.resource.is_some()));

    let attempts = sink.attempts();
    let transport = if protocol == "grpc" {
        Transport::Grpc
    } else {
        Transport::Http
    };
    assert!(
        attempts
            .iter()
            .all(|a| a.transport == transport && a.failure.is_none())
    );
    for signal in ["traces", "logs", "metrics"] {
        let a = attempts
            .iter()
            .find(|a| a.signal == signal)
            .unwrap_or_else(|| panic!("no {signal} request"));
        assert_eq!(
            a.headers.get("authorization").map(|v| v.as_bytes()),
            Some(&b"Bearer t0ken"[..])
        );
        assert_eq!(
            a.headers.get("x-tenant").map(|v| v.as_bytes()),
            Some(&b"parker"[..])
        );
        // Decoded exactly once: "%2541" is the literal "%41".
        assert_eq!(
            a.headers.get("x-literal").map(|v| v.as_bytes()),
            Some(&b"a%41"[..])
        );
        let encoding_header = if protocol == "grpc" {
            "grpc-encoding"
        } else {
            "content-encoding"
        };
        assert_eq!(
            a.headers.get(encoding_header).is_some_and(|v| v == "gzip"),
            gzip,
            "{signal} {encoding_header}"
        );
        if protocol != "grpc" {
            let content_type = if protocol == "http/json" {
                "application/json"
            } else {
                "application/x-protobuf"
            };
            assert_eq!(
                a.headers.get("content-type").map(|v| v.as_bytes()),
                Some(content_type.as_bytes())
            );
        }
    }

    let shutdown = tokio::task::spawn_blocking(move || guard.shutdown())
        .await
        .expect("join");
    assert!(shutdown.is_ok(), "{shutdown:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_delivers_spans_logs_and_metrics() {
    round_trip("grpc", false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_with_gzip() {
    round_trip("grpc", true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_protobuf_delivers_spans_logs_and_metrics() {
    round_trip("http/protobuf", false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_protobuf_with_gzip() {
    round_trip("http/protobuf", true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_json_delivers_spans_logs_and_metrics() {
    round_trip("http/json", false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_signal_endpoints_and_disabled_signals() {
    let traces_sink = OtlpSink::start().await;
    let other_sink = OtlpSink::start().await;
    let traces_endpoint = format!("{}/v1/traces", traces_sink.http_endpoint());
    let config = common::fast_config(
        "http/protobuf",
        &other_sink.http_endpoint(),
        &[
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", &traces_endpoint),
            ("OTEL_LOGS_EXPORTER", "none"),
        ],
    );
    let guard = parker_telemetry::build(ServiceInfo::new("fares", "1"), &config).expect("build");
    {
        let _subscriber = tracing::subscriber::set_default(guard.subscriber());
        tracing::info_span!("quote").in_scope(|| tracing::info!("quoted"));
    }
    guard
        .meter_provider()
        .meter("t")
        .u64_counter("quotes")
        .build()
        .add(1, &[]);
    traces_sink
        .wait_for_spans(|s| s.iter().any(|s| s.name == "quote"), WAIT)
        .await;
    other_sink.wait_for_metric("quotes", WAIT).await;
    let shutdown = tokio::task::spawn_blocking(move || guard.shutdown())
        .await
        .expect("join");
    assert!(shutdown.is_ok(), "{shutdown:?}");
    // Everything is flushed by shutdown: nothing else may have arrived.
    assert!(
        other_sink.spans().is_empty(),
        "spans went to the generic endpoint"
    );
    assert!(
        other_sink.logs().is_empty() && traces_sink.logs().is_empty(),
        "logs exporter is none"
    );
    assert!(traces_sink.metrics().is_empty());
}
