//! `PARKER_TELEMETRY_PIPELINE=stock` (the `api_throughput` bench's anchor):
//! `init` builds the SDK-default pipeline, which exports `tracing` spans and
//! the HTTP server span (made by `HttpServerLayer` with the subscriber's
//! tracer) over OTLP/gRPC to a real receiver; an unknown value is refused
//! naming the variable. One test: globals can be installed once per process.

mod common;

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use parker_telemetry::http::HttpServerLayer;
use parker_telemetry::testing::OtlpSink;
use parker_telemetry::{InitError, ServiceInfo};

fn set(name: &str, value: &str) {
    // SAFETY: set before any other thread of this test binary reads the
    // environment (the runtime is built afterwards; one test per binary).
    unsafe { std::env::set_var(name, value) };
}

#[test]
fn stock_pipeline_exports_tracing_and_server_spans_and_unknown_values_are_refused() {
    set("PARKER_TELEMETRY_PIPELINE", "sdk-default");
    let refused = parker_telemetry::init(ServiceInfo::new("stock-test", "1"));
    match refused {
        Err(e @ InitError::Pipeline(_)) => {
            let message = e.to_string();
            assert!(
                message.contains("PARKER_TELEMETRY_PIPELINE=sdk-default"),
                "{message}"
            );
        }
        other => panic!("an unknown pipeline was not refused: {other:?}"),
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let sink = runtime.block_on(OtlpSink::start());
    set("PARKER_TELEMETRY_PIPELINE", "stock");
    set("OTEL_EXPORTER_OTLP_ENDPOINT", &sink.grpc_endpoint());
    set("OTEL_BSP_SCHEDULE_DELAY", "50");
    runtime.block_on(async {
        let guard =
            parker_telemetry::init(ServiceInfo::new("stock-test", "1")).expect("stock init");
        tracing::info_span!("stock tracing span").in_scope(|| tracing::info!("inside"));

        let app = Router::new()
            .route("/ping", get(|| async { "pong" }))
            .layer(HttpServerLayer::new());
        let addr = common::serve_app(app).await;
        let body = reqwest::get(format!("http://{addr}/ping"))
            .await
            .expect("GET /ping")
            .text()
            .await
            .unwrap();
        assert_eq!(body, "pong");

        let spans = sink
            .wait_for_spans(|s| s.len() >= 2, Duration::from_secs(10))
            .await;
        let tracing_span = spans
            .iter()
            .find(|s| s.name == "stock tracing span")
            .expect("the tracing span was exported");
        assert_eq!(tracing_span.resource["service.name"], "stock-test");
        let server = spans
            .iter()
            .find(|s| s.name == "GET /ping")
            .unwrap_or_else(|| panic!("no server span among {spans:?}"));
        assert_eq!(server.kind, "server");
        assert_eq!(server.attributes["http.route"], "/ping");
        // Only traces: the stock pipeline exports no metrics or logs.
        assert!(sink.metrics().is_empty(), "metrics were exported");
        tokio::task::spawn_blocking(move || drop(guard))
            .await
            .unwrap();
    });
}
