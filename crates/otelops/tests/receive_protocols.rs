//! Every OTLP protocol and encoding from a real client: parker-telemetry's
//! SDK exporters (gRPC, HTTP/protobuf, HTTP/JSON, with and without gzip)
//! send traces, logs and metrics to a running `otelops receive`, which
//! stores the trace with its tree and service, counts the rest, and prints
//! the summary on exit.

mod common;
#[path = "common/receive.rs"]
mod receive_support;
#[path = "common/telemetry.rs"]
mod telemetry;

use opentelemetry::KeyValue;
use opentelemetry::metrics::MeterProvider;
use parker_telemetry::{ServiceInfo, TelemetryConfig};
use receive_support::*;

fn config(protocol: &str, endpoint: &str, gzip: bool) -> TelemetryConfig {
    let mut pairs = vec![
        ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint),
        ("OTEL_TRACES_SAMPLER", "always_on"),
        ("OTEL_BSP_SCHEDULE_DELAY", "50"),
        ("OTEL_BLRP_SCHEDULE_DELAY", "50"),
        ("OTEL_METRIC_EXPORT_INTERVAL", "200"),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "5000"),
    ];
    if gzip {
        pairs.push(("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"));
    }
    telemetry::config_from(&pairs)
}

async fn round_trip(protocol: &str, gzip: bool) {
    let running = Running::start(&[]);
    let endpoint = if protocol == "grpc" {
        running.grpc_url()
    } else {
        running.http_url("")
    };
    let guard = parker_telemetry::build(
        ServiceInfo::new("booking", "1.2.3"),
        &config(protocol, &endpoint, gzip),
    )
    .expect("telemetry builds");
    {
        let _subscriber = tracing::subscriber::set_default(guard.subscriber());
        let parent = tracing::info_span!(
            "book flight",
            otel.kind = "server",
            http.route = "/bookings"
        );
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

    let summary = wait_for_summary(&running, |s| {
        s["spans"] == 2
            && s["log_records"].as_u64() >= Some(1)
            && s["metric_points"].as_u64() >= Some(1)
    })
    .await;
    assert_eq!(summary["services"], serde_json::json!(["booking"]));
    assert_eq!(summary["rejected"], 0);

    let list = get_json(&running.http_url("/otelops/v1/traces")).await;
    let traces = list.as_array().expect("list");
    assert_eq!(traces.len(), 1, "{list}");
    assert_eq!(traces[0]["root_name"], "book flight");
    assert_eq!(traces[0]["root_service"], "booking");
    assert_eq!(traces[0]["spans"], 2);
    let id = traces[0]["trace_id"].as_str().expect("trace id");
    let detail = get_json(&running.http_url(&format!("/otelops/v1/traces/{id}"))).await;
    let spans = detail["spans"].as_array().expect("spans");
    let names: Vec<(&str, u64)> = spans
        .iter()
        .map(|s| (s["name"].as_str().unwrap(), s["depth"].as_u64().unwrap()))
        .collect();
    assert_eq!(names, [("book flight", 0), ("charge card", 1)]);
    assert_eq!(spans[0]["kind"], "server");
    assert_eq!(spans[1]["parent_span_id"], spans[0]["span_id"]);
    let amount = spans[1]["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["key"] == "amount")
        .expect("amount attribute");
    assert_eq!(amount["value"], "120");

    let shutdown = tokio::task::spawn_blocking(move || guard.shutdown())
        .await
        .expect("join");
    assert!(shutdown.is_ok(), "{shutdown:?}");
    let printed = running.stop();
    assert_eq!(summary_value(&printed, "services"), "booking");
    assert_eq!(summary_value(&printed, "traces"), "1");
    assert_eq!(summary_value(&printed, "spans"), "2");
    assert_eq!(summary_value(&printed, "errors"), "0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_from_parker_telemetry() {
    round_trip("grpc", false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_gzip_from_parker_telemetry() {
    round_trip("grpc", true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_protobuf_from_parker_telemetry() {
    round_trip("http/protobuf", false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_protobuf_gzip_from_parker_telemetry() {
    round_trip("http/protobuf", true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_json_from_parker_telemetry() {
    round_trip("http/json", false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_json_gzip_from_parker_telemetry() {
    round_trip("http/json", true).await;
}
