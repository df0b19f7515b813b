//! inject + extract of `traceparent`/`tracestate`: the SDK propagator alone
//! and behind our strict W3C validator (`propagation::extract_with`).

use criterion::{Criterion, criterion_group, criterion_main};
use http::{HeaderMap, HeaderValue};
use opentelemetry::Context;
use opentelemetry::propagation::{TextMapCompositePropagator, TextMapPropagator};
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use opentelemetry_http::HeaderExtractor;
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};
use parker_telemetry::propagation::{extract_with, inject_with};
use std::hint::black_box;

fn propagation(c: &mut Criterion) {
    let propagator = TextMapCompositePropagator::new(vec![
        Box::new(TraceContextPropagator::new()),
        Box::new(BaggagePropagator::new()),
    ]);
    let cx = Context::new().with_remote_span_context(SpanContext::new(
        TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap(),
        SpanId::from_hex("00f067aa0ba902b7").unwrap(),
        TraceFlags::SAMPLED,
        true,
        TraceState::from_key_value([("rojo", "00f067aa0ba902b7"), ("congo", "t61rcWkgMzE")])
            .unwrap(),
    ));

    c.bench_function("inject_extract_strict", |b| {
        b.iter(|| {
            let mut headers = HeaderMap::new();
            inject_with(&propagator, black_box(&cx), &mut headers);
            black_box(extract_with(&propagator, &headers))
        })
    });

    c.bench_function("inject_extract_sdk_only", |b| {
        b.iter(|| {
            let mut headers = HeaderMap::new();
            inject_with(&propagator, black_box(&cx), &mut headers);
            black_box(propagator.extract(&HeaderExtractor(&headers)))
        })
    });

    let mut headers = HeaderMap::new();
    headers.insert(
        "traceparent",
        HeaderValue::from_static("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
    );
    c.bench_function("extract_traceparent_only_strict", |b| {
        b.iter(|| black_box(extract_with(&propagator, black_box(&headers))))
    });
}

criterion_group!(benches, propagation);
criterion_main!(benches);
