//! Per-request overhead of `HttpServerLayer`: the same axum router with and
//! without the layer, driven in-process with `tower::ServiceExt::oneshot`
//! (no sockets), spans sampled and batch-exported to a no-op exporter.

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use criterion::{Criterion, criterion_group, criterion_main};
use http::Request;
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::{
    BatchSpanProcessor, Sampler, SdkTracerProvider, SpanData, SpanExporter,
};
use parker_telemetry::http::HttpServerLayer;
use tower::ServiceExt as _;
use tracing_subscriber::layer::SubscriberExt as _;

#[derive(Debug)]
struct NoopExporter;

impl SpanExporter for NoopExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        drop(batch);
        Ok(())
    }
}

fn router() -> Router {
    Router::new().route("/fares/{id}", get(|| async { "fare" }))
}

fn request() -> Request<Body> {
    Request::get("/fares/42")
        .header("host", "127.0.0.1:8080")
        .header(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        )
        .body(Body::empty())
        .unwrap()
}

fn http_layer(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let tracer_provider = SdkTracerProvider::builder()
        .with_sampler(Sampler::AlwaysOn)
        .with_span_processor(BatchSpanProcessor::builder(NoopExporter).build())
        .build();
    let meter_provider = SdkMeterProvider::builder()
        .with_reader(PeriodicReader::builder(InMemoryMetricExporter::default()).build())
        .build();
    opentelemetry::global::set_text_map_propagator(
        opentelemetry_sdk::propagation::TraceContextPropagator::new(),
    );
    let subscriber = tracing_subscriber::registry().with(parker_telemetry::guard::span_layer(
        tracer_provider.tracer("bench"),
    ));
    let _guard = tracing::subscriber::set_default(subscriber);

    let plain = router();
    let traced = router().layer(HttpServerLayer::with_meter(&meter_provider.meter("bench")));

    let mut group = c.benchmark_group("http_server_request");
    group.bench_function("without_layer", |b| {
        b.iter(|| runtime.block_on(plain.clone().oneshot(request())).unwrap())
    });
    group.bench_function("with_layer", |b| {
        b.iter(|| runtime.block_on(traced.clone().oneshot(request())).unwrap())
    });
    group.finish();
    let _ = tracer_provider.shutdown();
    let _ = meter_provider.shutdown();
}

criterion_group!(benches, http_layer);
criterion_main!(benches);
