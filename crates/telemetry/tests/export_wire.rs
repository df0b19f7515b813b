//! The hand-written OTLP encoder (`export::wire`) against the reference:
//! for spans made by a real SDK tracer provider (and a few SpanData built
//! by hand for what the API cannot make), our bytes must be exactly what
//! prost encodes for opentelemetry-proto's own
//! `group_spans_by_resource_and_scope`, and decode to the same request.

use opentelemetry::trace::{
    Link, Span as _, SpanContext, SpanId, SpanKind, Status, TraceContextExt as _, TraceFlags,
    TraceId, TraceState, Tracer as _, TracerProvider as _,
};
use opentelemetry::{Array, Context, InstrumentationScope, KeyValue, StringValue, Value};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use parker_telemetry::export::wire::TraceEncoder;
use prost::Message;
use std::str::FromStr;
use std::time::{Duration, SystemTime};

/// Asserts our encoding of `spans` equals the reference, byte for byte.
fn assert_same_as_reference(spans: &[SpanData], resource: &Resource) {
    let mut encoder = TraceEncoder::new();
    encoder.set_resource(resource);
    let mut ours = Vec::new();
    encoder.encode(spans, &mut ours).expect("passes agree");
    assert_matches_reference(&ours, spans, resource);
}

fn assert_matches_reference(ours: &[u8], spans: &[SpanData], resource: &Resource) {
    let reference = ExportTraceServiceRequest {
        resource_spans: group_spans_by_resource_and_scope(
            spans.to_vec(),
            &ResourceAttributesWithSchema::from(resource),
        ),
    };
    let decoded = ExportTraceServiceRequest::decode(ours).expect("our bytes decode as OTLP");
    assert_eq!(
        decoded, reference,
        "decoded request differs from the reference"
    );
    assert_eq!(
        ours,
        reference.encode_to_vec().as_slice(),
        "bytes differ from prost's encoding of the reference"
    );
}

fn resource() -> Resource {
    Resource::builder_empty()
        .with_schema_url(
            [
                KeyValue::new("service.name", "parker-booking"),
                KeyValue::new("service.version", "1.2.3"),
                KeyValue::new("process.pid", 4242_i64),
                KeyValue::new("host.arch", ""),
                KeyValue::new(
                    "process.command_args",
                    Value::Array(Array::String(vec!["booking".into(), "--port".into()])),
                ),
            ],
            "https://opentelemetry.io/schemas/1.44.0",
        )
        .build()
}

/// A provider whose spans land in memory, with small limits so every
/// dropped count is exercised.
fn provider() -> (SdkTracerProvider, InMemorySpanExporter) {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .with_max_attributes_per_span(24)
        .with_max_events_per_span(3)
        .with_max_links_per_span(2)
        .with_max_attributes_per_event(2)
        .with_max_attributes_per_link(1)
        .build();
    (provider, exporter)
}

fn every_value_kind() -> Vec<KeyValue> {
    vec![
        KeyValue::new("bool.true", true),
        KeyValue::new("bool.false", false),
        KeyValue::new("int.zero", 0_i64),
        KeyValue::new("int.small", 7_i64),
        KeyValue::new("int.negative", -1_i64),
        KeyValue::new("int.max", i64::MAX),
        KeyValue::new("int.min", i64::MIN),
        KeyValue::new("double.zero", 0.0_f64),
        KeyValue::new("double.negative", -1.5_f64),
        KeyValue::new("double.infinite", f64::INFINITY),
        KeyValue::new("string", "POST /v1/bookings"),
        KeyValue::new("string.empty", ""),
        KeyValue::new("string.unicode", "Zürich → Tōkyō ✈"),
        KeyValue::new("string.long", "x".repeat(300)),
        KeyValue::new("", "empty key"),
        KeyValue::new("array.bool", Value::Array(Array::Bool(vec![true, false]))),
        KeyValue::new("array.int", Value::Array(Array::I64(vec![0, -5, 1 << 40]))),
        KeyValue::new("array.double", Value::Array(Array::F64(vec![0.0, 2.25]))),
        KeyValue::new(
            "array.string",
            Value::Array(Array::String(vec![
                StringValue::from(""),
                StringValue::from("a"),
                StringValue::from("ü".repeat(100)),
            ])),
        ),
        KeyValue::new("array.empty", Value::Array(Array::I64(vec![]))),
    ]
}

fn remote_parent(trace_state: &str) -> Context {
    Context::new().with_remote_span_context(SpanContext::new(
        TraceId::from(0x0af7_6519_16cd_43dd_8448_eb21_1c80_319c_u128),
        SpanId::from(0xb7ad_6b71_6920_3331_u64),
        TraceFlags::SAMPLED,
        true,
        TraceState::from_str(trace_state).expect("valid tracestate"),
    ))
}

fn link(trace_state: &str, remote: bool, sampled: bool, attrs: Vec<KeyValue>) -> Link {
    let flags = if sampled {
        TraceFlags::SAMPLED
    } else {
        TraceFlags::default()
    };
    Link::new(
        SpanContext::new(
            TraceId::from(0x1234_u128),
            SpanId::from(0x5678_u64),
            flags,
            remote,
            TraceState::from_str(trace_state).expect("valid tracestate"),
        ),
        attrs,
        0,
    )
}

/// Every field the conversion writes, from real SDK spans.
fn sdk_spans() -> Vec<SpanData> {
    let (provider, exporter) = provider();
    let plain = provider.tracer("plain");
    let versioned = provider.tracer_with_scope(
        InstrumentationScope::builder("parker-telemetry")
            .with_version("0.1.0")
            .with_schema_url("https://opentelemetry.io/schemas/1.44.0")
            .with_attributes([
                KeyValue::new("scope.a", 1_i64),
                KeyValue::new("scope.b", "x"),
            ])
            .build(),
    );
    // Equal to `versioned` (attribute order does not matter): same group.
    let versioned_reordered = provider.tracer_with_scope(
        InstrumentationScope::builder("parker-telemetry")
            .with_version("0.1.0")
            .with_schema_url("https://opentelemetry.io/schemas/1.44.0")
            .with_attributes([
                KeyValue::new("scope.b", "x"),
                KeyValue::new("scope.a", 1_i64),
            ])
            .build(),
    );
    let other_version = provider.tracer_with_scope(
        InstrumentationScope::builder("parker-telemetry")
            .with_version("0.2.0")
            .build(),
    );
    let empty_name = provider.tracer("");

    // A server span under a remote parent with a tracestate, everything set.
    let mut span = versioned
        .span_builder("POST /v1/bookings")
        .with_kind(SpanKind::Server)
        .with_attributes(every_value_kind())
        .with_links(vec![
            link(
                "vendor=abc,other=1",
                true,
                true,
                vec![
                    KeyValue::new("l", 1_i64),
                    KeyValue::new("over the limit", 2_i64),
                ],
            ),
            link("", false, false, vec![]),
            link("dropped=1", true, true, vec![]),
        ])
        .start_with_context(
            &versioned,
            &remote_parent("parker=b1,rojo=00f067aa0ba902b7"),
        );
    span.set_attribute(KeyValue::new("late.1", "a"));
    span.set_attribute(KeyValue::new("late.2", "b"));
    span.set_attribute(KeyValue::new("late.3", "over the limit"));
    span.set_attribute(KeyValue::new("late.4", "over the limit"));
    span.set_attribute(KeyValue::new("late.5", "over the limit"));
    span.add_event(
        "exception",
        vec![
            KeyValue::new("exception.type", "io::Error"),
            KeyValue::new("exception.message", ""),
            KeyValue::new("dropped.one", 1_i64),
        ],
    );
    span.add_event("", vec![]);
    span.add_event_with_timestamp(
        "at epoch + 1s",
        SystemTime::UNIX_EPOCH + Duration::from_secs(1),
        vec![KeyValue::new("e", true)],
    );
    span.add_event("over the limit", vec![]);
    span.set_status(Status::error("fare provider timed out"));
    let server_cx = Context::current_with_span(span);

    // Local children of every kind and status.
    for (kind, status) in [
        (SpanKind::Client, Status::Ok),
        (SpanKind::Internal, Status::Unset),
        (SpanKind::Producer, Status::error("")),
        (SpanKind::Consumer, Status::Unset),
    ] {
        let mut child = plain
            .span_builder(format!("{kind:?}"))
            .with_kind(kind)
            .start_with_context(&plain, &server_cx);
        child.set_status(status);
        child.end();
    }
    versioned_reordered
        .span_builder("same scope, reordered attributes")
        .start_with_context(&versioned_reordered, &server_cx)
        .end();
    other_version.start("root of another version").end();
    empty_name.start("").end();
    versioned.start("root").end();
    drop(server_cx);
    provider.force_flush().expect("flush");
    exporter.get_finished_spans().expect("finished spans")
}

#[test]
fn sdk_spans_of_every_kind_encode_exactly_like_the_reference() {
    let spans = sdk_spans();
    assert!(spans.len() >= 9, "{} spans", spans.len());
    // The fixture exercises what it claims to.
    let server = spans
        .iter()
        .find(|s| s.name == "POST /v1/bookings")
        .expect("server span");
    assert!(server.dropped_attributes_count > 0);
    assert!(server.events.dropped_count > 0);
    assert!(server.links.dropped_count > 0);
    assert!(server.events.iter().any(|e| e.dropped_attributes_count > 0));
    assert!(server.links.iter().any(|l| l.dropped_attributes_count > 0));
    assert!(server.parent_span_is_remote);
    assert_eq!(
        server.span_context.trace_state().header(),
        "parker=b1,rojo=00f067aa0ba902b7"
    );

    assert_same_as_reference(&spans, &resource());
}

#[test]
fn every_value_kind_alone_matches_the_reference() {
    let (provider, exporter) = provider();
    let tracer = provider.tracer("values");
    for kv in every_value_kind() {
        tracer
            .span_builder("one attribute")
            .with_attributes([kv])
            .start(&tracer)
            .end();
    }
    let spans = exporter.get_finished_spans().expect("finished spans");
    for span in &spans {
        assert_same_as_reference(std::slice::from_ref(span), &resource());
    }
}

#[test]
fn scopes_group_in_order_of_first_appearance() {
    let (provider, exporter) = provider();
    let names = ["a", "b", "a", "c", "b", "a"];
    for (i, name) in names.iter().enumerate() {
        provider.tracer(*name).start(format!("span {i}")).end();
    }
    let spans = exporter.get_finished_spans().expect("finished spans");
    let mut encoder = TraceEncoder::new();
    let mut ours = Vec::new();
    encoder.encode(&spans, &mut ours).expect("passes agree");
    let decoded = ExportTraceServiceRequest::decode(ours.as_slice()).expect("decode");
    let groups: Vec<(String, usize)> = decoded.resource_spans[0]
        .scope_spans
        .iter()
        .map(|s| (s.scope.clone().unwrap_or_default().name, s.spans.len()))
        .collect();
    assert_eq!(
        groups,
        [
            ("a".to_owned(), 3),
            ("b".to_owned(), 2),
            ("c".to_owned(), 1)
        ]
    );
    assert_matches_reference(&ours, &spans, &Resource::builder_empty().build());
}

/// SpanData the API cannot produce: a start before the epoch, invalid ids,
/// an unsampled remote parent, an empty resource without schema URL.
#[test]
fn hand_built_edge_cases_match_the_reference() {
    let mut spans = sdk_spans();
    let mut odd = spans[0].clone();
    odd.start_time = SystemTime::UNIX_EPOCH - Duration::from_secs(5);
    odd.end_time = SystemTime::UNIX_EPOCH;
    odd.span_context = SpanContext::new(
        TraceId::INVALID,
        SpanId::INVALID,
        TraceFlags::default(),
        true,
        TraceState::NONE,
    );
    odd.parent_span_id = SpanId::from(1_u64);
    odd.parent_span_is_remote = true;
    odd.name = "".into();
    spans.push(odd);
    assert_same_as_reference(&spans, &Resource::builder_empty().build());
}

#[test]
fn an_empty_batch_matches_the_reference() {
    assert_same_as_reference(&[], &resource());
}

/// The encoder keeps its buffers between batches: a small batch after a
/// large one, and a new resource, come out exactly right.
#[test]
fn a_reused_encoder_encodes_each_batch_afresh() {
    let spans = sdk_spans();
    let mut encoder = TraceEncoder::new();
    let mut out = Vec::new();
    // One instance: a resource's attribute order is its map's.
    let resource = resource();
    encoder.set_resource(&resource);
    encoder.encode(&spans, &mut out).expect("passes agree");
    assert_matches_reference(&out, &spans, &resource);

    let small = Resource::builder_empty()
        .with_attributes([KeyValue::new("service.name", "fares")])
        .build();
    encoder.set_resource(&small);
    encoder.encode(&spans[..1], &mut out).expect("passes agree");
    assert_matches_reference(&out, &spans[..1], &small);
}

/// Random spans: every field, every value kind (arrays included), events,
/// links, status, trace state, several scopes, a random resource. Our bytes
/// must equal the reference's for each batch; a size pass that disagrees
/// with the write pass would fail `encode` (the check that keeps corrupt
/// bytes off the wire in release builds too).
mod random {
    use super::assert_same_as_reference;
    use opentelemetry::trace::{
        Event, Link, SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
    };
    use opentelemetry::{Array, InstrumentationScope, KeyValue, StringValue, Value};
    use opentelemetry_sdk::Resource;
    use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};
    use proptest::prelude::*;
    use std::time::{Duration, SystemTime};

    fn text() -> impl Strategy<Value = String> {
        // Mostly short ASCII, sometimes any Unicode, sometimes empty or long
        // (lengths past 127 take two-byte varints).
        prop_oneof![
            4 => "[a-z./_ ]{0,12}",
            2 => "\\PC{0,8}",
            1 => Just(String::new()),
            1 => "[a-z]{120,200}",
        ]
    }

    fn double() -> impl Strategy<Value = f64> {
        // NaN never equals itself, so the decoded comparison could not pass.
        any::<f64>().prop_filter("not NaN", |f| !f.is_nan())
    }

    fn value() -> impl Strategy<Value = Value> {
        prop_oneof![
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::I64),
            double().prop_map(Value::F64),
            text().prop_map(|s| Value::String(s.into())),
            prop::collection::vec(any::<bool>(), 0..4).prop_map(|v| Value::Array(Array::Bool(v))),
            prop::collection::vec(any::<i64>(), 0..4).prop_map(|v| Value::Array(Array::I64(v))),
            prop::collection::vec(double(), 0..4).prop_map(|v| Value::Array(Array::F64(v))),
            prop::collection::vec(text(), 0..4).prop_map(|v| Value::Array(Array::String(
                v.into_iter().map(StringValue::from).collect()
            ))),
        ]
    }

    fn attributes(max: usize) -> impl Strategy<Value = Vec<KeyValue>> {
        prop::collection::vec(
            (text(), value()).prop_map(|(k, v)| KeyValue::new(k, v)),
            0..max,
        )
    }

    fn trace_state() -> impl Strategy<Value = TraceState> {
        prop::collection::vec(("[a-z][a-z0-9_-]{0,6}", "[a-z0-9]{1,8}"), 0..3)
            .prop_map(|kvs| TraceState::from_key_value(kvs).unwrap_or(TraceState::NONE))
    }

    fn span_context() -> impl Strategy<Value = SpanContext> {
        (
            any::<u128>(),
            any::<u64>(),
            any::<u8>(),
            any::<bool>(),
            trace_state(),
        )
            .prop_map(|(t, s, flags, remote, ts)| {
                SpanContext::new(
                    TraceId::from(t),
                    SpanId::from(s),
                    TraceFlags::new(flags),
                    remote,
                    ts,
                )
            })
    }

    fn time() -> impl Strategy<Value = SystemTime> {
        // Up to ~2^62 ns after the epoch: fixed64 values of every width.
        (0u64..(1 << 62)).prop_map(|n| SystemTime::UNIX_EPOCH + Duration::from_nanos(n))
    }

    fn status() -> impl Strategy<Value = Status> {
        prop_oneof![
            Just(Status::Unset),
            Just(Status::Ok),
            text().prop_map(Status::error),
        ]
    }

    fn kind() -> impl Strategy<Value = SpanKind> {
        prop_oneof![
            Just(SpanKind::Client),
            Just(SpanKind::Server),
            Just(SpanKind::Producer),
            Just(SpanKind::Consumer),
            Just(SpanKind::Internal),
        ]
    }

    fn event() -> impl Strategy<Value = Event> {
        (text(), time(), attributes(3), any::<u32>())
            .prop_map(|(name, at, attrs, dropped)| Event::new(name, at, attrs, dropped))
    }

    fn link() -> impl Strategy<Value = Link> {
        (span_context(), attributes(3), any::<u32>())
            .prop_map(|(cx, attrs, dropped)| Link::new(cx, attrs, dropped))
    }

    fn scope() -> impl Strategy<Value = InstrumentationScope> {
        (
            text(),
            prop::option::of(text()),
            prop::option::of(text()),
            attributes(3),
        )
            .prop_map(|(name, version, schema, attrs)| {
                let mut b = InstrumentationScope::builder(name).with_attributes(attrs);
                if let Some(v) = version {
                    b = b.with_version(v);
                }
                if let Some(s) = schema {
                    b = b.with_schema_url(s);
                }
                b.build()
            })
    }

    prop_compose! {
        fn span(scopes: Vec<InstrumentationScope>)(
            scope in prop::sample::select(scopes),
            cx in span_context(),
            parent in any::<u64>(),
            parent_remote in any::<bool>(),
            kind in kind(),
            name in text(),
            start in time(),
            end in time(),
            attrs in attributes(6),
            dropped_attrs in any::<u32>(),
            events in prop::collection::vec(event(), 0..3),
            dropped_events in any::<u32>(),
            links in prop::collection::vec(link(), 0..3),
            dropped_links in any::<u32>(),
            status in status(),
        ) -> SpanData {
            // Non-exhaustive: filled in rather than built.
            let mut span_events = SpanEvents::default();
            span_events.events = events;
            span_events.dropped_count = dropped_events;
            let mut span_links = SpanLinks::default();
            span_links.links = links;
            span_links.dropped_count = dropped_links;
            SpanData {
                span_context: cx,
                parent_span_id: SpanId::from(parent),
                parent_span_is_remote: parent_remote,
                span_kind: kind,
                name: name.into(),
                start_time: start,
                end_time: end,
                attributes: attrs,
                dropped_attributes_count: dropped_attrs,
                events: span_events,
                links: span_links,
                status,
                instrumentation_scope: scope,
            }
        }
    }

    fn batch() -> impl Strategy<Value = Vec<SpanData>> {
        prop::collection::vec(scope(), 1..4)
            .prop_flat_map(|scopes| prop::collection::vec(span(scopes), 0..8))
    }

    fn resource() -> impl Strategy<Value = Resource> {
        (attributes(5), prop::option::of(text())).prop_map(|(attrs, schema)| match schema {
            Some(url) => Resource::builder_empty()
                .with_schema_url(attrs, url)
                .build(),
            None => Resource::builder_empty().with_attributes(attrs).build(),
        })
    }

    proptest! {
        #[test]
        fn random_batches_encode_exactly_like_the_reference(
            spans in batch(),
            resource in resource(),
        ) {
            assert_same_as_reference(&spans, &resource);
        }
    }
}
