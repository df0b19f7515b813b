//! What our own services emit passes the checks: parker-telemetry's real
//! pipeline (HTTP server layer on a real axum server, traced reqwest client,
//! exception events) exports OTLP/HTTP protobuf to a loopback sink; the
//! requests are written as protobuf and as OTLP JSON files and checked by
//! the real `otelops` binary.

#[path = "common/check.rs"]
mod check_support;
mod common;
#[path = "common/telemetry.rs"]
mod telemetry;

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use check_support::*;
use parker_telemetry::ServiceInfo;
use parker_telemetry::http::{HttpServerLayer, TracedClient};
use parker_telemetry::testing::OtlpSink;
use prost::Message;

const WAIT: Duration = Duration::from_secs(10);

#[derive(Debug)]
struct ProviderDown;

impl std::fmt::Display for ProviderDown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "fare provider unavailable")
    }
}

impl std::error::Error for ProviderDown {}

async fn fare() -> &'static str {
    "fare"
}

async fn failing() -> StatusCode {
    parker_telemetry::exception::record_error_typed(&tracing::Span::current(), &ProviderDown);
    StatusCode::BAD_GATEWAY
}

async fn serve() -> SocketAddr {
    telemetry::serve(
        Router::new()
            .route("/fares/{id}", get(fare))
            .route("/book", get(failing))
            .layer(HttpServerLayer::new()),
    )
    .await
}

/// Current-thread runtime: the scoped subscriber sees the server tasks too.
#[tokio::test]
async fn parker_telemetry_output_has_no_violations() {
    let sink = OtlpSink::start().await;
    let guard = parker_telemetry::build(
        ServiceInfo::new("parker-booking", "0.1.0"),
        &telemetry::traces_only("http/protobuf", &sink.http_endpoint()),
    )
    .expect("telemetry pipeline");
    {
        let _subscriber = tracing::subscriber::set_default(guard.subscriber());
        let addr = serve().await;
        let client = TracedClient::new(
            reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .expect("client"),
        );
        for path in ["/fares/42?currency=EUR", "/book"] {
            let request = client
                .inner()
                .get(format!("http://{addr}{path}"))
                .build()
                .expect("request");
            client.execute(request).await.expect("response");
        }
    }
    // Two server spans and two client spans.
    sink.wait_for_spans(|spans| spans.len() >= 4, WAIT).await;
    let requests = sink.trace_requests();

    let dir = tempfile::tempdir().expect("tempdir");
    let (mut protobuf, mut json) = (Vec::new(), Vec::new());
    for (i, request) in requests.iter().enumerate() {
        let pb = write_temp(&dir, &format!("export-{i}.pb"), &request.encode_to_vec());
        let text = serde_json::to_vec(request).expect("OTLP JSON");
        let text = write_temp(&dir, &format!("export-{i}.json"), &text);
        protobuf.push(pb.display().to_string());
        json.push(text.display().to_string());
    }
    // Each encoding on its own: together they would hold every span twice.
    for files in [&protobuf, &json] {
        for check in ["export-format", "semantic-conventions"] {
            let mut args = vec!["--output", "json", "check", check];
            args.extend(files.iter().map(String::as_str));
            let out = otelops(&args);
            let report = stdout_json(&out);
            assert_eq!(report["violations"], 0, "{check}: {report:#}");
            assert_eq!(code(&out), 0, "{check}");
        }
    }
    guard.shutdown().expect("telemetry shutdown");
}
