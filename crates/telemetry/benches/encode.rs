//! Encoding one export batch (512 server spans of ~15 attributes, what the
//! booking API produces) into OTLP protobuf: our `wire` encoder against
//! opentelemetry-otlp's path (opentelemetry-proto's conversion into prost
//! structs, prost encode, drop). Prints ns per batch; divide by 512 for
//! ns per span.

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use opentelemetry::trace::{
    SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
};
use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};
use parker_telemetry::export::wire::TraceEncoder;
use prost::Message;
use std::borrow::Cow;
use std::time::{Duration, SystemTime};

const BATCH: usize = 512;

fn server_span(i: u64, scope: &InstrumentationScope) -> SpanData {
    let start = SystemTime::UNIX_EPOCH + Duration::from_nanos(1_764_000_000_000_000_000 + i);
    SpanData {
        span_context: SpanContext::new(
            TraceId::from(0x5b8e_fff7_9879_8fbd_8d2e_7cf4_a3ca_0f1b_u128 + u128::from(i)),
            SpanId::from(0x051f_e1d5_a2cf_8e20 + i),
            TraceFlags::SAMPLED,
            false,
            TraceState::NONE,
        ),
        parent_span_id: SpanId::from(0x7a3b_9c1d_4e5f_6071 + i),
        parent_span_is_remote: true,
        span_kind: SpanKind::Server,
        name: Cow::Borrowed("POST /v1/bookings"),
        start_time: start,
        end_time: start + Duration::from_micros(850),
        attributes: vec![
            KeyValue::new("http.request.method", "POST"),
            KeyValue::new("http.route", "/v1/bookings"),
            KeyValue::new("http.response.status_code", 202_i64),
            KeyValue::new("url.path", "/v1/bookings"),
            KeyValue::new("url.scheme", "http"),
            KeyValue::new("server.address", "booking.parker.internal"),
            KeyValue::new("server.port", 8080_i64),
            KeyValue::new("client.address", "10.42.7.19"),
            KeyValue::new("network.peer.address", "10.42.7.19"),
            KeyValue::new("network.peer.port", 52_814_i64),
            KeyValue::new("network.protocol.version", "1.1"),
            KeyValue::new("user_agent.original", "parker-load/1.0"),
            KeyValue::new("http.request.body.size", 412_i64),
            KeyValue::new("http.response.body.size", 96_i64),
            KeyValue::new("parker.booking.id", format!("bk_{i:016x}")),
        ],
        dropped_attributes_count: 0,
        events: SpanEvents::default(),
        links: SpanLinks::default(),
        status: Status::Unset,
        instrumentation_scope: scope.clone(),
    }
}

fn batch() -> (Vec<SpanData>, Resource) {
    let scope = InstrumentationScope::builder("parker-telemetry")
        .with_version("0.1.0")
        .build();
    let spans = (0..BATCH as u64).map(|i| server_span(i, &scope)).collect();
    let resource = Resource::builder_empty()
        .with_attributes([
            KeyValue::new("service.name", "parker-booking"),
            KeyValue::new("service.version", "0.1.0"),
            KeyValue::new("deployment.environment.name", "production"),
            KeyValue::new("host.name", "booking-7d9f8c-x2k4q"),
            KeyValue::new("process.pid", 4242_i64),
        ])
        .build();
    (spans, resource)
}

fn encode(c: &mut Criterion) {
    let (spans, resource) = batch();
    let mut group = c.benchmark_group("encode_512_server_spans");
    group.throughput(Throughput::Elements(BATCH as u64));

    let mut encoder = TraceEncoder::new();
    encoder.set_resource(&resource);
    let mut out = Vec::new();
    group.bench_function("wire", |b| {
        b.iter(|| {
            encoder.encode(&spans, &mut out).expect("passes agree");
            out.len()
        })
    });

    let attrs = ResourceAttributesWithSchema::from(&resource);
    let mut out = Vec::new();
    group.bench_function("opentelemetry_proto", |b| {
        b.iter_batched(
            || spans.clone(),
            |batch| {
                out.clear();
                let request = ExportTraceServiceRequest {
                    resource_spans: group_spans_by_resource_and_scope(batch, &attrs),
                };
                request.encode(&mut out).expect("Vec grows");
                out.len()
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group!(benches, encode);
criterion_main!(benches);
