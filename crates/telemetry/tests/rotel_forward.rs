//! Through a real collector: parker-telemetry → rotel-agent (OTLP gRPC and
//! HTTP receivers) → rotel's OTLP exporter → OtlpSink. Names, attributes,
//! resource and parent/child ids must arrive intact.

mod common;

use common::{ChildGuard, closed_port, wait_for_port};
use parker_telemetry::ServiceInfo;
use parker_telemetry::testing::{OtlpSink, SinkSpan};
use std::process::{Command, Stdio};
use std::time::Duration;

async fn send_trace(protocol: &str, endpoint: &str, service: &str) {
    let config = common::fast_config(
        protocol,
        endpoint,
        &[
            ("OTEL_METRICS_EXPORTER", "none"),
            ("OTEL_LOGS_EXPORTER", "none"),
        ],
    );
    let guard =
        parker_telemetry::build(ServiceInfo::new(service, "2.0.0"), &config).expect("build");
    {
        let _subscriber = tracing::subscriber::set_default(guard.subscriber());
        let root = tracing::info_span!(
            "POST /bookings",
            otel.kind = "server",
            http.request.method = "POST"
        );
        let _entered = root.enter();
        tracing::info_span!("HSET", otel.kind = "client", db.system.name = "redis").in_scope(|| {});
    }
    let r = tokio::task::spawn_blocking(move || guard.shutdown())
        .await
        .expect("join");
    assert!(r.is_ok(), "{r:?}");
}

fn assert_trace(spans: &[SinkSpan], service: &str) {
    let of_service: Vec<&SinkSpan> = spans
        .iter()
        .filter(|s| s.resource.get("service.name").map(String::as_str) == Some(service))
        .collect();
    let root = of_service
        .iter()
        .find(|s| s.name == "POST /bookings")
        .expect("root span");
    let child = of_service
        .iter()
        .find(|s| s.name == "HSET")
        .expect("child span");
    assert_eq!(root.kind, "server");
    assert_eq!(child.kind, "client");
    assert_eq!(root.attributes["http.request.method"], "POST");
    assert_eq!(child.attributes["db.system.name"], "redis");
    assert_eq!(child.trace_id, root.trace_id);
    assert_eq!(child.parent_span_id, root.span_id);
    assert_eq!(root.parent_span_id, "");
    assert_eq!(root.resource["service.version"], "2.0.0");
    assert_eq!(root.scope_name, "parker-telemetry");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traces_pass_through_rotel_intact_over_grpc_and_http() {
    let sink = OtlpSink::start().await;
    let grpc_port = closed_port();
    let http_port = closed_port();
    let _rotel = ChildGuard(
        Command::new(common::rotel_agent())
            .args([
                "start",
                "--otlp-grpc-endpoint",
                &format!("127.0.0.1:{grpc_port}"),
            ])
            .args(["--otlp-http-endpoint", &format!("127.0.0.1:{http_port}")])
            .args(["--exporter", "otlp", "--otlp-exporter-protocol", "grpc"])
            .args(["--otlp-exporter-endpoint", &sink.grpc_endpoint()])
            .args(["--batch-timeout", "50ms"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn rotel-agent"),
    );
    wait_for_port(([127, 0, 0, 1], grpc_port).into(), Duration::from_secs(10));
    wait_for_port(([127, 0, 0, 1], http_port).into(), Duration::from_secs(10));

    send_trace("grpc", &format!("http://127.0.0.1:{grpc_port}"), "via-grpc").await;
    send_trace(
        "http/protobuf",
        &format!("http://127.0.0.1:{http_port}"),
        "via-http",
    )
    .await;

    let spans = sink
        .wait_for_spans(|s| s.len() >= 4, Duration::from_secs(15))
        .await;
    assert_trace(&spans, "via-grpc");
    assert_trace(&spans, "via-http");
}
