//! The OTLP/HTTP protobuf fast path: check a span's protobuf encoding and
//! pick out the fields the store indexes, without building the decoded
//! attribute tree.
//!
//! Why hand-written: prost can only validate by decoding, and decoding a
//! span allocates once per attribute key and value; that was half of the
//! receiver's CPU. This walker checks the same things prost would reject
//! (truncation, bad varints, wrong wire types for known fields, invalid
//! UTF-8 in strings, nesting too deep) for the whole span tree, including
//! attributes, events and links, and allocates nothing. Unknown fields are
//! skipped, as prost does.

use prost::Message;

use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::resource::v1::Resource;

/// Why a span's bytes are not a valid `Span` message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid protobuf in a span: {0}")]
pub struct WireError(&'static str);

/// The fields the store indexes, borrowed from the span's bytes.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SpanFields<'a> {
    pub trace_id: &'a [u8],
    pub span_id: &'a [u8],
    pub parent_span_id: &'a [u8],
    pub name: &'a str,
    pub start_time_unix_nano: u64,
    pub end_time_unix_nano: u64,
    pub status_code: i32,
}

/// The request with each span left as its encoded bytes (zero-copy slices
/// of the body). Same field numbers as `ExportTraceServiceRequest`.
#[derive(Clone, PartialEq, Message)]
pub struct LazyTraceRequest {
    #[prost(message, repeated, tag = "1")]
    pub resource_spans: Vec<LazyResourceSpans>,
}

#[derive(Clone, PartialEq, Message)]
pub struct LazyResourceSpans {
    #[prost(message, optional, tag = "1")]
    pub resource: Option<Resource>,
    #[prost(message, repeated, tag = "2")]
    pub scope_spans: Vec<LazyScopeSpans>,
    #[prost(string, tag = "3")]
    pub schema_url: String,
}

#[derive(Clone, PartialEq, Message)]
pub struct LazyScopeSpans {
    #[prost(message, optional, tag = "1")]
    pub scope: Option<InstrumentationScope>,
    /// Each element is one encoded `Span` (a message field and a bytes
    /// field share the length-delimited wire format).
    #[prost(bytes = "bytes", repeated, tag = "2")]
    pub spans: Vec<axum::body::Bytes>,
    #[prost(string, tag = "3")]
    pub schema_url: String,
}

#[derive(Clone, Copy)]
enum Kind {
    Bytes,
    Str,
    Varint,
    Fixed64,
    Fixed32,
    Msg(&'static Schema),
}

/// Kind by field number (index 0 is never a field), for the messages
/// inside a Span. An array, not a map: this lookup runs once per field.
struct Schema(&'static [Option<Kind>]);

impl Schema {
    fn kind(&self, field: u32) -> Option<Kind> {
        self.0.get(field as usize).copied().flatten()
    }
}

use Kind::{Bytes, Fixed32, Fixed64, Msg, Str, Varint};

static ANY_VALUE: Schema = Schema(&[
    None,
    Some(Str),                  // 1 string_value
    Some(Varint),               // 2 bool_value
    Some(Varint),               // 3 int_value
    Some(Fixed64),              // 4 double_value
    Some(Msg(&ARRAY_VALUE)),    // 5 array_value
    Some(Msg(&KEY_VALUE_LIST)), // 6 kvlist_value
    Some(Bytes),                // 7 bytes_value
    Some(Varint),               // 8 string_value_strindex (profiles)
]);
static ARRAY_VALUE: Schema = Schema(&[None, Some(Msg(&ANY_VALUE))]);
static KEY_VALUE_LIST: Schema = Schema(&[None, Some(Msg(&KEY_VALUE))]);
// 3: key_strindex (profiles).
static KEY_VALUE: Schema = Schema(&[None, Some(Str), Some(Msg(&ANY_VALUE)), Some(Varint)]);
static EVENT: Schema = Schema(&[
    None,
    Some(Fixed64),
    Some(Str),
    Some(Msg(&KEY_VALUE)),
    Some(Varint),
]);
static LINK: Schema = Schema(&[
    None,
    Some(Bytes),           // 1 trace_id
    Some(Bytes),           // 2 span_id
    Some(Str),             // 3 trace_state
    Some(Msg(&KEY_VALUE)), // 4 attributes
    Some(Varint),          // 5 dropped_attributes_count
    Some(Fixed32),         // 6 flags
]);
static STATUS: Schema = Schema(&[None, None, Some(Str), Some(Varint)]);
static SPAN: Schema = Schema(&[
    None,
    Some(Bytes),           // 1 trace_id
    Some(Bytes),           // 2 span_id
    Some(Str),             // 3 trace_state
    Some(Bytes),           // 4 parent_span_id
    Some(Str),             // 5 name
    Some(Varint),          // 6 kind
    Some(Fixed64),         // 7 start_time_unix_nano
    Some(Fixed64),         // 8 end_time_unix_nano
    Some(Msg(&KEY_VALUE)), // 9 attributes
    Some(Varint),          // 10 dropped_attributes_count
    Some(Msg(&EVENT)),     // 11 events
    Some(Varint),          // 12 dropped_events_count
    Some(Msg(&LINK)),      // 13 links
    Some(Varint),          // 14 dropped_links_count
    Some(Msg(&STATUS)),    // 15 status
    Some(Fixed32),         // 16 flags
]);

/// prost's own nesting limit.
const MAX_DEPTH: usize = 100;

/// Checks one encoded span and returns its indexed fields.
pub fn scan_span(buf: &[u8]) -> Result<SpanFields<'_>, WireError> {
    let mut fields = SpanFields::default();
    walk(buf, &SPAN, 0, &mut |field, value| match (field, value) {
        (1, Value::Len(v)) => fields.trace_id = v,
        (2, Value::Len(v)) => fields.span_id = v,
        (4, Value::Len(v)) => fields.parent_span_id = v,
        // Validated as UTF-8 by `walk` before it gets here.
        (5, Value::Len(v)) => fields.name = std::str::from_utf8(v).unwrap_or(""),
        (7, Value::Fixed(v)) => fields.start_time_unix_nano = v,
        (8, Value::Fixed(v)) => fields.end_time_unix_nano = v,
        (15, Value::Len(v)) => fields.status_code = status_code(v),
        _ => {}
    })?;
    Ok(fields)
}

enum Value<'a> {
    Len(&'a [u8]),
    Fixed(u64),
}

/// Last `code` (field 3) in an already validated Status message.
fn status_code(buf: &[u8]) -> i32 {
    let mut code = 0;
    // Already validated by the outer walk, so this cannot fail.
    let _ = walk(buf, &STATUS, 0, &mut |field, value| {
        if let (3, Value::Fixed(v)) = (field, value) {
            code = v as i32;
        }
    });
    code
}

/// Walks one message, validating every field against `schema` (recursing
/// into sub-messages) and handing this message's own field values to
/// `visit`. Varints are reported as `Value::Fixed` too.
fn walk<'a>(
    mut buf: &'a [u8],
    schema: &Schema,
    depth: usize,
    visit: &mut dyn FnMut(u32, Value<'a>),
) -> Result<(), WireError> {
    if depth > MAX_DEPTH {
        return Err(WireError("nested too deep"));
    }
    while !buf.is_empty() {
        let key = varint(&mut buf)?;
        let field = u32::try_from(key >> 3).map_err(|_| WireError("field number out of range"))?;
        if field == 0 {
            return Err(WireError("field number 0"));
        }
        let wire = (key & 7) as u8;
        let kind = schema.kind(field);
        let expected = kind.map(|k| match k {
            Varint => 0,
            Fixed64 => 1,
            Bytes | Str | Msg(_) => 2,
            Fixed32 => 5,
        });
        if expected.is_some_and(|e| e != wire) {
            return Err(WireError("wrong wire type for a known field"));
        }
        let value = match wire {
            0 => Value::Fixed(varint(&mut buf)?),
            1 => Value::Fixed(u64::from_le_bytes(
                take(&mut buf, 8)?.try_into().unwrap_or_default(),
            )),
            5 => Value::Fixed(u64::from(u32::from_le_bytes(
                take(&mut buf, 4)?.try_into().unwrap_or_default(),
            ))),
            2 => {
                let len = usize::try_from(varint(&mut buf)?)
                    .map_err(|_| WireError("length out of range"))?;
                let bytes = take(&mut buf, len)?;
                match kind {
                    Some(Str) => {
                        std::str::from_utf8(bytes)
                            .map_err(|_| WireError("string field is not UTF-8"))?;
                    }
                    Some(Msg(sub)) => walk(bytes, sub, depth + 1, &mut |_, _| {})?,
                    _ => {}
                }
                Value::Len(bytes)
            }
            // Groups were deprecated before OTLP existed; no encoder emits them.
            _ => return Err(WireError("unsupported wire type")),
        };
        visit(field, value);
    }
    Ok(())
}

fn take<'a>(buf: &mut &'a [u8], n: usize) -> Result<&'a [u8], WireError> {
    if buf.len() < n {
        return Err(WireError("truncated field"));
    }
    let (head, tail) = buf.split_at(n);
    *buf = tail;
    Ok(head)
}

fn varint(buf: &mut &[u8]) -> Result<u64, WireError> {
    let mut value = 0u64;
    for i in 0..10 {
        let Some((&byte, rest)) = buf.split_first() else {
            return Err(WireError("truncated varint"));
        };
        *buf = rest;
        // As prost: the tenth byte may only carry the top bit of a u64.
        if i == 9 && byte > 1 {
            return Err(WireError("varint overflows 64 bits"));
        }
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte < 0x80 {
            return Ok(value);
        }
    }
    Err(WireError("varint longer than 10 bytes"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::{
        AnyValue, ArrayValue, KeyValue, KeyValueList, any_value,
    };
    use opentelemetry_proto::tonic::trace::v1::span::{Event, Link};
    use opentelemetry_proto::tonic::trace::v1::{Span, Status};

    fn sample() -> Span {
        let value = |v| Some(AnyValue { value: Some(v) });
        Span {
            trace_id: vec![7; 16],
            span_id: vec![8; 8],
            parent_span_id: vec![9; 8],
            name: "GET /fares".into(),
            kind: 3,
            start_time_unix_nano: 11,
            end_time_unix_nano: 22,
            attributes: vec![KeyValue {
                key: "tags".into(),
                value: value(any_value::Value::ArrayValue(ArrayValue {
                    values: vec![AnyValue {
                        value: Some(any_value::Value::StringValue("a".into())),
                    }],
                })),
                ..Default::default()
            }],
            events: vec![Event {
                name: "retry".into(),
                time_unix_nano: 15,
                attributes: vec![KeyValue {
                    key: "n".into(),
                    value: value(any_value::Value::KvlistValue(KeyValueList {
                        values: vec![KeyValue {
                            key: "ok".into(),
                            value: value(any_value::Value::BoolValue(true)),
                            ..Default::default()
                        }],
                    })),
                    ..Default::default()
                }],
                dropped_attributes_count: 1,
            }],
            links: vec![Link {
                trace_id: vec![3; 16],
                span_id: vec![4; 8],
                trace_state: "k=v".into(),
                attributes: vec![KeyValue {
                    key: "w".into(),
                    value: value(any_value::Value::DoubleValue(0.5)),
                    ..Default::default()
                }],
                flags: 1,
                ..Default::default()
            }],
            flags: 0x301,
            status: Some(Status {
                code: 2,
                message: "boom".into(),
            }),
            ..Default::default()
        }
    }

    #[test]
    fn scan_picks_the_indexed_fields() {
        let bytes = sample().encode_to_vec();
        let fields = scan_span(&bytes).expect("valid");
        assert_eq!(fields.trace_id, &[7; 16]);
        assert_eq!(fields.span_id, &[8; 8]);
        assert_eq!(fields.parent_span_id, &[9; 8]);
        assert_eq!(fields.name, "GET /fares");
        assert_eq!(
            (fields.start_time_unix_nano, fields.end_time_unix_nano),
            (11, 22)
        );
        assert_eq!(fields.status_code, 2);
    }

    #[test]
    fn scan_agrees_with_prost_on_every_truncation() {
        let bytes = sample().encode_to_vec();
        for cut in 0..bytes.len() {
            let ours = scan_span(&bytes[..cut]).is_ok();
            let prost = Span::decode(&bytes[..cut]).is_ok();
            assert_eq!(ours, prost, "cut at {cut}");
        }
    }

    #[test]
    fn scan_agrees_with_prost_on_single_byte_corruptions() {
        let bytes = sample().encode_to_vec();
        let mut disagreements = Vec::new();
        for at in 0..bytes.len() {
            for value in [
                0x00,
                0x01,
                0x7f,
                0x80,
                0xff,
                bytes[at] ^ 0x08,
                bytes[at] ^ 0x02,
            ] {
                let mut mutated = bytes.clone();
                mutated[at] = value;
                let ours = scan_span(&mutated).is_ok();
                let prost = Span::decode(&mutated[..]).is_ok();
                if ours != prost {
                    disagreements.push((at, value, ours, prost));
                }
            }
        }
        assert_eq!(disagreements, []);
    }

    #[test]
    fn invalid_utf8_deep_in_an_attribute_is_rejected() {
        let mut span = sample();
        span.attributes[0].key = "\u{e9}".into(); // 0xc3 0xa9
        let mut bytes = span.encode_to_vec();
        let at = bytes
            .windows(2)
            .position(|w| w == [0xc3, 0xa9])
            .expect("key bytes");
        bytes[at + 1] = 0x28; // broken continuation byte
        assert!(Span::decode(&bytes[..]).is_err());
        assert_eq!(
            scan_span(&bytes),
            Err(WireError("string field is not UTF-8"))
        );
    }

    #[test]
    fn a_known_field_with_the_wrong_wire_type_is_rejected() {
        // Field 7 (start time, fixed64) sent as a varint.
        let bytes = [7 << 3, 1];
        assert!(Span::decode(&bytes[..]).is_err());
        assert!(scan_span(&bytes).is_err());
    }
}
