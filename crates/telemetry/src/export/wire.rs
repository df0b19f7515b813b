//! OTLP/protobuf encoding of a span batch: an `ExportTraceServiceRequest`
//! (opentelemetry-proto v1) written straight from `&[SpanData]` into a
//! reused buffer.
//!
//! Why by hand: opentelemetry-otlp converts every batch into owned prost
//! structs first (`group_spans_by_resource_and_scope` + `From<SpanData>`:
//! every id, name and value copied, every `Key` formatted, every `Value`
//! cloned, over gRPC once per attempt), then encodes and drops them.
//! Callgrind on booking's `api_throughput` bench (one server span per
//! request) counted ~27k instructions per exported span on that path: ~14k
//! in the exporter (conversion, batch clone) and ~14k in tonic's body
//! encoder (prost `encode_raw`, then dropping the structs), a third of a
//! traced request. Here a size pass computes every nested length, then one
//! write pass emits the bytes: no per-span heap allocation, ~3.5k
//! instructions per span (`benches/encode.rs`: 512 server spans of 15
//! attributes, ~3.8k against ~29.6k for the SDK's path). Keys and varints
//! come from `prost::encoding`.
//!
//! The output is byte-for-byte what prost encodes for opentelemetry-proto
//! 0.33's own conversion (fields in tag order, proto3 defaults skipped,
//! oneof and message fields always written); `tests/export_wire.rs` checks
//! that against the reference for every field and value kind.

mod field;

use bytes::BufMut;

use field::{
    Out, fixed32_len, fixed64_len, ld_len, put_bytes, put_fixed32, put_fixed64, put_header,
    put_str, put_varint, str_len, varint_len,
};
use opentelemetry::trace::{SpanKind, Status, TraceState};
use opentelemetry::{Array, InstrumentationScope, KeyValue, Value};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SpanData;
use prost::encoding::{WireType, encode_key, encode_varint, encoded_len_varint, key_len};
use std::time::{SystemTime, UNIX_EPOCH};

/// `SpanFlags.SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK`: always set, as
/// opentelemetry-proto 0.33 does.
const HAS_IS_REMOTE: u32 = 0x100;
/// `SpanFlags.SPAN_FLAGS_CONTEXT_IS_REMOTE_MASK`.
const IS_REMOTE: u32 = 0x200;

/// The size pass and the write pass disagreed: the bytes would not be
/// valid protobuf, so the batch is refused rather than sent. A bug in this
/// module, never the data's fault; the counts say where to look.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("OTLP span encoder bug: {what} sized {sized} bytes but wrote {written}; batch not sent")]
pub struct EncodeError {
    /// `"resource"` or `"batch"`.
    pub what: &'static str,
    pub sized: usize,
    pub written: usize,
}

/// Encodes span batches; keeps the pre-encoded resource and scratch space
/// between batches, so encoding allocates only when a batch is larger than
/// any before it.
#[derive(Debug, Default)]
pub struct TraceEncoder {
    /// The `Resource` message body (its attributes).
    resource: Vec<u8>,
    /// Set when the resource's passes disagreed; every batch then fails.
    resource_error: Option<EncodeError>,
    resource_schema_url: String,
    /// One entry per `ScopeSpans`, in order of first appearance.
    groups: Vec<Group>,
    /// Per span of the batch, what the size pass learnt.
    spans: Vec<SpanInfo>,
    /// Per attribute of every span, in order: its lengths.
    attrs: Vec<KvLen>,
}

/// What the write pass of a span reuses from the size pass.
#[derive(Debug)]
struct SpanInfo {
    group: usize,
    /// Length of the `Span` message body.
    len: usize,
    /// Index of the span's first attribute in `TraceEncoder::attrs`.
    attrs_at: usize,
    start: u64,
    end: u64,
}

/// Lengths of a `KeyValue` message body and of its `AnyValue` body.
#[derive(Clone, Copy, Debug)]
struct KvLen {
    body: usize,
    value: usize,
}

impl KvLen {
    fn of(key: &str, value: &Value) -> KvLen {
        let value = any_value_len(value);
        KvLen {
            body: str_len(1, key) + ld_len(2, value),
            value,
        }
    }
}

#[derive(Debug)]
struct Group {
    /// Index of the first span of this scope (whose scope stands for all).
    first: usize,
    /// Length of the `ScopeSpans` message body.
    len: usize,
}

impl TraceEncoder {
    /// An encoder for an empty resource (until [`set_resource`](Self::set_resource)).
    pub fn new() -> Self {
        TraceEncoder::default()
    }

    /// Encodes `resource` once; every later batch copies these bytes.
    pub fn set_resource(&mut self, resource: &Resource) {
        let len = resource
            .iter()
            .map(|(k, v)| ld_len(1, kv_len(k.as_str(), v)))
            .sum();
        self.resource.clear();
        self.resource.resize(len, 0);
        let mut out = Out::new(&mut self.resource);
        for (key, value) in resource.iter() {
            put_kv(1, key.as_str(), value, &mut out);
        }
        self.resource_error = (!out.is_full()).then(|| EncodeError {
            what: "resource",
            sized: len,
            written: out.written(),
        });
        self.resource_schema_url.clear();
        self.resource_schema_url
            .push_str(resource.schema_url().unwrap_or_default());
    }

    /// Replaces `out` with the `ExportTraceServiceRequest` for `spans`: one
    /// `ResourceSpans`, one `ScopeSpans` per distinct instrumentation scope
    /// (in order of first appearance), spans in batch order within each.
    /// Fails (and `out` is not to be sent) if the size pass and the write
    /// pass disagree.
    pub fn encode(&mut self, spans: &[SpanData], out: &mut Vec<u8>) -> Result<(), EncodeError> {
        if let Some(e) = &self.resource_error {
            return Err(e.clone());
        }
        self.groups.clear();
        self.spans.clear();
        self.attrs.clear();

        // Size pass. Span attributes are the bulk of a batch: their lengths
        // are kept for the write pass rather than computed twice.
        for (i, span) in spans.iter().enumerate() {
            let group = self.group_of(spans, i);
            let attrs_at = self.attrs.len();
            let mut attrs_len = 0;
            for kv in &span.attributes {
                let l = KvLen::of(kv.key.as_str(), &kv.value);
                attrs_len += ld_len(9, l.body);
                self.attrs.push(l);
            }
            let (start, end) = (to_nanos(span.start_time), to_nanos(span.end_time));
            let len = span_len(span, attrs_len, start, end);
            self.groups[group].len += ld_len(2, len);
            self.spans.push(SpanInfo {
                group,
                len,
                attrs_at,
                start,
                end,
            });
        }
        let mut resource_spans_len =
            ld_len(1, self.resource.len()) + str_len(3, &self.resource_schema_url);
        for group in &mut self.groups {
            let scope = &spans[group.first].instrumentation_scope;
            group.len +=
                ld_len(1, scope_len(scope)) + str_len(3, scope.schema_url().unwrap_or_default());
            resource_spans_len += ld_len(2, group.len);
        }
        let total = ld_len(1, resource_spans_len);
        // Every byte gets written: only growth needs initialising.
        out.resize(total, 0);
        let mut cursor = Out::new(out);
        let out = &mut cursor;

        // Write pass, fields in tag order.
        put_header(1, resource_spans_len, out);
        put_bytes(1, &self.resource, out);
        for (g, group) in self.groups.iter().enumerate() {
            put_header(2, group.len, out);
            let scope = &spans[group.first].instrumentation_scope;
            put_header(1, scope_len(scope), out);
            put_scope(scope, out);
            let members = spans.iter().zip(&self.spans).skip(group.first);
            for (span, info) in members.filter(|(_, info)| info.group == g) {
                put_header(2, info.len, out);
                put_span(span, info, &self.attrs[info.attrs_at..], out);
            }
            put_str(3, scope.schema_url().unwrap_or_default(), out);
        }
        put_str(3, &self.resource_schema_url, out);
        if out.is_full() {
            Ok(())
        } else {
            Err(EncodeError {
                what: "batch",
                sized: total,
                written: out.written(),
            })
        }
    }

    /// The group of span `i`, creating it on the scope's first appearance.
    /// Batches usually hold long runs of one scope: try the previous span's
    /// group before scanning.
    fn group_of(&mut self, spans: &[SpanData], i: usize) -> usize {
        let scope = &spans[i].instrumentation_scope;
        if let Some(last) = self.spans.last().map(|info| info.group)
            && same_scope(&spans[self.groups[last].first].instrumentation_scope, scope)
        {
            return last;
        }
        if let Some(g) = self
            .groups
            .iter()
            .position(|g| same_scope(&spans[g.first].instrumentation_scope, scope))
        {
            return g;
        }
        self.groups.push(Group { first: i, len: 0 });
        self.groups.len() - 1
    }
}

/// `InstrumentationScope`'s own `==` (what the SDK groups by) sorts copies
/// of both attribute lists; attributes in the same order need no copy.
fn same_scope(a: &InstrumentationScope, b: &InstrumentationScope) -> bool {
    a.name() == b.name()
        && a.version() == b.version()
        && a.schema_url() == b.schema_url()
        && (a.attributes().eq(b.attributes()) || a == b)
}

fn to_nanos(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

fn span_kind(kind: &SpanKind) -> u64 {
    match kind {
        SpanKind::Internal => 1,
        SpanKind::Server => 2,
        SpanKind::Client => 3,
        SpanKind::Producer => 4,
        SpanKind::Consumer => 5,
    }
}

fn flags(trace_flags: u8, remote: bool) -> u32 {
    u32::from(trace_flags) | HAS_IS_REMOTE | if remote { IS_REMOTE } else { 0 }
}

/// `(code, message)` of the `Status` message.
fn status(status: &Status) -> (u64, &str) {
    match status {
        Status::Unset => (0, ""),
        Status::Ok => (1, ""),
        Status::Error { description } => (2, description),
    }
}

// ---- lengths: every function returns a field's full encoded size ----
// (scalar and string fields: see `field`)

/// `TraceState::header()` without building the string: `k=v` joined by `,`.
fn trace_state_len(ts: &TraceState) -> usize {
    let mut n: usize = 0;
    let mut len = 0;
    for (k, v) in ts {
        n += 1;
        len += k.len() + 1 + v.len();
    }
    len + n.saturating_sub(1)
}

fn trace_state_field_len(tag: u32, ts: &TraceState) -> usize {
    match trace_state_len(ts) {
        0 => 0,
        len => ld_len(tag, len),
    }
}

/// Body of an `AnyValue`; its oneof is written even when default.
fn any_value_len(value: &Value) -> usize {
    match value {
        Value::Bool(_) => key_len(2) + 1,
        Value::I64(v) => key_len(3) + encoded_len_varint(*v as u64),
        Value::F64(_) => key_len(4) + 8,
        Value::String(s) => ld_len(1, s.as_str().len()),
        Value::Array(a) => ld_len(5, array_len(a)),
        // A kind newer than this encoder: an empty AnyValue (no value).
        _ => 0,
    }
}

/// Body of an `ArrayValue`: each element an `AnyValue` in field 1.
fn array_len(array: &Array) -> usize {
    match array {
        Array::Bool(v) => v.len() * ld_len(1, key_len(2) + 1),
        Array::I64(v) => v
            .iter()
            .map(|i| ld_len(1, key_len(3) + encoded_len_varint(*i as u64)))
            .sum(),
        Array::F64(v) => v.len() * ld_len(1, key_len(4) + 8),
        Array::String(v) => v
            .iter()
            .map(|s| ld_len(1, ld_len(1, s.as_str().len())))
            .sum(),
        _ => 0,
    }
}

/// Body of a `KeyValue` (`key_strindex` is never set).
fn kv_len(key: &str, value: &Value) -> usize {
    str_len(1, key) + ld_len(2, any_value_len(value))
}

fn attrs_len<'a>(tag: u32, attrs: impl IntoIterator<Item = &'a KeyValue>) -> usize {
    attrs
        .into_iter()
        .map(|kv| ld_len(tag, kv_len(kv.key.as_str(), &kv.value)))
        .sum()
}

fn scope_len(scope: &InstrumentationScope) -> usize {
    str_len(1, scope.name())
        + str_len(2, scope.version().unwrap_or_default())
        + attrs_len(3, scope.attributes())
}

fn event_len(e: &opentelemetry::trace::Event) -> usize {
    fixed64_len(1, to_nanos(e.timestamp))
        + str_len(2, &e.name)
        + attrs_len(3, &e.attributes)
        + varint_len(4, e.dropped_attributes_count.into())
}

fn link_len(l: &opentelemetry::trace::Link) -> usize {
    let cx = &l.span_context;
    ld_len(1, 16)
        + ld_len(2, 8)
        + trace_state_field_len(3, cx.trace_state())
        + attrs_len(4, &l.attributes)
        + varint_len(5, l.dropped_attributes_count.into())
        + fixed32_len(6, flags(cx.trace_flags().to_u8(), cx.is_remote()))
}

fn status_len(s: &Status) -> usize {
    let (code, message) = status(s);
    str_len(2, message) + varint_len(3, code)
}

/// `attrs_len`: the attributes' fields; `start`, `end`: the times in ns.
fn span_len(s: &SpanData, attrs_len: usize, start: u64, end: u64) -> usize {
    let cx = &s.span_context;
    let parent = if s.parent_span_id == opentelemetry::trace::SpanId::INVALID {
        0
    } else {
        ld_len(4, 8)
    };
    ld_len(1, 16)
        + ld_len(2, 8)
        + trace_state_field_len(3, cx.trace_state())
        + parent
        + str_len(5, &s.name)
        + varint_len(6, span_kind(&s.span_kind))
        + fixed64_len(7, start)
        + fixed64_len(8, end)
        + attrs_len
        + varint_len(10, s.dropped_attributes_count.into())
        + s.events
            .iter()
            .map(|e| ld_len(11, event_len(e)))
            .sum::<usize>()
        + varint_len(12, s.events.dropped_count.into())
        + s.links
            .iter()
            .map(|l| ld_len(13, link_len(l)))
            .sum::<usize>()
        + varint_len(14, s.links.dropped_count.into())
        + ld_len(15, status_len(&s.status))
        + fixed32_len(16, flags(cx.trace_flags().to_u8(), s.parent_span_is_remote))
}

// ---- writes: mirror the lengths above field for field ----
// (scalar and string fields, and the cursor: see `field`)

fn put_trace_state(tag: u32, ts: &TraceState, out: &mut Out<'_>) {
    let len = trace_state_len(ts);
    if len == 0 {
        return;
    }
    put_header(tag, len, out);
    for (i, (k, v)) in ts.into_iter().enumerate() {
        if i > 0 {
            out.put_u8(b',');
        }
        out.put_slice(k.as_bytes());
        out.put_u8(b'=');
        out.put_slice(v.as_bytes());
    }
}

#[inline(always)]
fn put_any_value(value: &Value, out: &mut Out<'_>) {
    match value {
        Value::Bool(b) => put_oneof_bool(*b, out),
        Value::I64(i) => put_oneof_int(*i, out),
        Value::F64(f) => put_oneof_double(*f, out),
        Value::String(s) => put_bytes(1, s.as_str().as_bytes(), out),
        Value::Array(a) => {
            put_header(5, array_len(a), out);
            put_array(a, out);
        }
        _ => {}
    }
}

#[inline]
fn put_oneof_bool(b: bool, out: &mut Out<'_>) {
    encode_key(2, WireType::Varint, out);
    out.put_u8(u8::from(b));
}

#[inline]
fn put_oneof_int(i: i64, out: &mut Out<'_>) {
    encode_key(3, WireType::Varint, out);
    encode_varint(i as u64, out);
}

#[inline]
fn put_oneof_double(f: f64, out: &mut Out<'_>) {
    encode_key(4, WireType::SixtyFourBit, out);
    out.put_slice(&f.to_le_bytes());
}

fn put_array(array: &Array, out: &mut Out<'_>) {
    match array {
        Array::Bool(v) => v.iter().for_each(|b| {
            put_header(1, key_len(2) + 1, out);
            put_oneof_bool(*b, out);
        }),
        Array::I64(v) => v.iter().for_each(|i| {
            put_header(1, key_len(3) + encoded_len_varint(*i as u64), out);
            put_oneof_int(*i, out);
        }),
        Array::F64(v) => v.iter().for_each(|f| {
            put_header(1, key_len(4) + 8, out);
            put_oneof_double(*f, out);
        }),
        Array::String(v) => v.iter().for_each(|s| {
            put_header(1, ld_len(1, s.as_str().len()), out);
            put_bytes(1, s.as_str().as_bytes(), out);
        }),
        _ => {}
    }
}

/// A `KeyValue` message as field `tag` of its parent.
fn put_kv(tag: u32, key: &str, value: &Value, out: &mut Out<'_>) {
    put_kv_sized(tag, key, value, KvLen::of(key, value), out);
}

#[inline(always)]
fn put_kv_sized(tag: u32, key: &str, value: &Value, len: KvLen, out: &mut Out<'_>) {
    put_header(tag, len.body, out);
    put_str(1, key, out);
    put_header(2, len.value, out);
    put_any_value(value, out);
}

fn put_attrs<'a>(tag: u32, attrs: impl IntoIterator<Item = &'a KeyValue>, out: &mut Out<'_>) {
    for kv in attrs {
        put_kv(tag, kv.key.as_str(), &kv.value, out);
    }
}

fn put_scope(scope: &InstrumentationScope, out: &mut Out<'_>) {
    put_str(1, scope.name(), out);
    put_str(2, scope.version().unwrap_or_default(), out);
    put_attrs(3, scope.attributes(), out);
}

fn put_event(e: &opentelemetry::trace::Event, out: &mut Out<'_>) {
    put_fixed64(1, to_nanos(e.timestamp), out);
    put_str(2, &e.name, out);
    put_attrs(3, &e.attributes, out);
    put_varint(4, e.dropped_attributes_count.into(), out);
}

fn put_link(l: &opentelemetry::trace::Link, out: &mut Out<'_>) {
    let cx = &l.span_context;
    put_bytes(1, &cx.trace_id().to_bytes(), out);
    put_bytes(2, &cx.span_id().to_bytes(), out);
    put_trace_state(3, cx.trace_state(), out);
    put_attrs(4, &l.attributes, out);
    put_varint(5, l.dropped_attributes_count.into(), out);
    put_fixed32(6, flags(cx.trace_flags().to_u8(), cx.is_remote()), out);
}

/// `attrs`: the lengths of `s`'s attributes (and of later spans').
fn put_span(s: &SpanData, info: &SpanInfo, attrs: &[KvLen], out: &mut Out<'_>) {
    let cx = &s.span_context;
    put_bytes(1, &cx.trace_id().to_bytes(), out);
    put_bytes(2, &cx.span_id().to_bytes(), out);
    put_trace_state(3, cx.trace_state(), out);
    if s.parent_span_id != opentelemetry::trace::SpanId::INVALID {
        put_bytes(4, &s.parent_span_id.to_bytes(), out);
    }
    put_str(5, &s.name, out);
    put_varint(6, span_kind(&s.span_kind), out);
    put_fixed64(7, info.start, out);
    put_fixed64(8, info.end, out);
    // A local cursor: its position stays in registers, where one behind
    // `&mut` is reloaded after every byte stored (a `u8` store may alias it).
    let mut local = out.detach();
    for (kv, &len) in s.attributes.iter().zip(attrs) {
        put_kv_sized(9, kv.key.as_str(), &kv.value, len, &mut local);
    }
    out.attach(local);
    put_varint(10, s.dropped_attributes_count.into(), out);
    for e in s.events.iter() {
        put_header(11, event_len(e), out);
        put_event(e, out);
    }
    put_varint(12, s.events.dropped_count.into(), out);
    for l in s.links.iter() {
        put_header(13, link_len(l), out);
        put_link(l, out);
    }
    put_varint(14, s.links.dropped_count.into(), out);
    put_header(15, status_len(&s.status), out);
    let (code, message) = status(&s.status);
    put_str(2, message, out);
    put_varint(3, code, out);
    put_fixed32(
        16,
        flags(cx.trace_flags().to_u8(), s.parent_span_is_remote),
        out,
    );
}
