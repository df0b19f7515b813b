//! Span start+end with 8 attributes, sampled, exported through a
//! BatchSpanProcessor into an exporter that drops everything: the cost a
//! request path pays per span. Two paths: the OpenTelemetry API directly and
//! a `tracing` span bridged by tracing-opentelemetry (what our services use).

use criterion::{Criterion, criterion_group, criterion_main};
use opentelemetry::KeyValue;
use opentelemetry::trace::{Span as _, Tracer as _, TracerProvider as _};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{
    BatchSpanProcessor, Sampler, SdkTracerProvider, SpanData, SpanExporter,
};
use tracing_subscriber::layer::SubscriberExt as _;

#[derive(Debug)]
struct NoopExporter;

impl SpanExporter for NoopExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        drop(batch);
        Ok(())
    }
}

fn provider() -> SdkTracerProvider {
    SdkTracerProvider::builder()
        .with_sampler(Sampler::AlwaysOn)
        .with_span_processor(BatchSpanProcessor::builder(NoopExporter).build())
        .build()
}

fn spans(c: &mut Criterion) {
    let provider = provider();
    let tracer = provider.tracer("bench");
    c.bench_function("otel_api_span_8_attributes", |b| {
        b.iter(|| {
            let mut span = tracer
                .span_builder("GET /fares/{id}")
                .with_attributes([
                    KeyValue::new("http.request.method", "GET"),
                    KeyValue::new("http.route", "/fares/{id}"),
                    KeyValue::new("url.path", "/fares/42"),
                    KeyValue::new("url.scheme", "http"),
                    KeyValue::new("server.address", "127.0.0.1"),
                    KeyValue::new("server.port", 8080),
                    KeyValue::new("network.protocol.version", "1.1"),
                    KeyValue::new("http.response.status_code", 200),
                ])
                .start(&tracer);
            span.end();
        })
    });

    // The layer as configured by default (code location and thread
    // attributes on every span), then without those extras.
    let default_layer =
        tracing_opentelemetry::layer().with_tracer(provider.tracer("bench-tracing"));
    bench_tracing_span(
        c,
        "tracing_span_8_attributes",
        tracing_subscriber::registry().with(default_layer),
    );
    // What services get: `parker_telemetry::guard::span_layer` (no
    // location, thread, target attributes, no busy/idle tracking).
    let lean_layer = parker_telemetry::guard::span_layer(provider.tracer("bench-tracing"));
    bench_tracing_span(
        c,
        "tracing_span_8_attributes_service_layer",
        tracing_subscriber::registry().with(lean_layer),
    );
    let _ = provider.shutdown();
}

fn bench_tracing_span(
    c: &mut Criterion,
    name: &str,
    subscriber: impl tracing::Subscriber + Send + Sync,
) {
    tracing::subscriber::with_default(subscriber, || {
        c.bench_function(name, |b| {
            b.iter(|| {
                let span = tracing::info_span!(
                    "request",
                    otel.name = "GET /fares/{id}",
                    http.request.method = "GET",
                    http.route = "/fares/{id}",
                    url.path = "/fares/42",
                    url.scheme = "http",
                    server.address = "127.0.0.1",
                    server.port = 8080_i64,
                    network.protocol.version = "1.1",
                    http.response.status_code = 200_i64,
                );
                span.in_scope(|| {});
            })
        });
    });
}

criterion_group!(benches, spans);
criterion_main!(benches);
