//! Flattened views of received OTLP data ([`SinkSpan`], [`SinkLog`]) that
//! are convenient to assert on.

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use std::collections::BTreeMap;

/// A span flattened with its resource and scope. Ids are lowercase hex;
/// `parent_span_id` is empty for a root span.
#[derive(Clone, Debug, PartialEq)]
pub struct SinkSpan {
    pub trace_id: String,
    pub span_id: String,
    pub parent_span_id: String,
    pub name: String,
    /// `internal`, `server`, `client`, `producer`, `consumer` or `unspecified`.
    pub kind: String,
    /// OTLP span flags: the W3C trace-flags in the low byte, then the
    /// has-is-remote / is-remote bits of the parent.
    pub flags: u32,
    pub attributes: BTreeMap<String, String>,
    pub resource: BTreeMap<String, String>,
    pub scope_name: String,
    pub events: Vec<SinkEvent>,
    pub links: Vec<SinkLink>,
    /// `unset`, `ok` or `error`.
    pub status_code: String,
    pub status_message: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SinkEvent {
    pub name: String,
    pub attributes: BTreeMap<String, String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SinkLink {
    pub trace_id: String,
    pub span_id: String,
    pub attributes: BTreeMap<String, String>,
}

/// A log record flattened with its resource and scope.
#[derive(Clone, Debug, PartialEq)]
pub struct SinkLog {
    pub body: String,
    pub severity_text: String,
    pub severity_number: i32,
    /// Empty unless the record is a named event.
    pub event_name: String,
    /// 0 when unset.
    pub time_unix_nano: u64,
    pub observed_time_unix_nano: u64,
    /// Empty when the record was not emitted inside a span.
    pub trace_id: String,
    pub span_id: String,
    pub attributes: BTreeMap<String, String>,
    pub resource: BTreeMap<String, String>,
    pub scope_name: String,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Renders an attribute value as a string: strings as-is, others in a
/// JSON-like form (`[1, 2]`, `{k: v}`), bytes as hex.
pub fn any_value_string(value: &Option<AnyValue>) -> String {
    match value.as_ref().and_then(|v| v.value.as_ref()) {
        None => String::new(),
        Some(any_value::Value::StringValue(s)) => s.clone(),
        Some(any_value::Value::BoolValue(b)) => b.to_string(),
        Some(any_value::Value::IntValue(i)) => i.to_string(),
        Some(any_value::Value::DoubleValue(d)) => d.to_string(),
        Some(any_value::Value::BytesValue(b)) => hex(b),
        Some(any_value::Value::ArrayValue(a)) => format!(
            "[{}]",
            a.values
                .iter()
                .map(|v| any_value_string(&Some(v.clone())))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Some(any_value::Value::KvlistValue(kv)) => format!(
            "{{{}}}",
            kv.values
                .iter()
                .map(|kv| format!("{}: {}", kv.key, any_value_string(&kv.value)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        #[allow(unreachable_patterns)]
        Some(_) => String::new(),
    }
}

fn attrs(kvs: &[KeyValue]) -> BTreeMap<String, String> {
    kvs.iter()
        .map(|kv| (kv.key.clone(), any_value_string(&kv.value)))
        .collect()
}

fn span_kind(kind: i32) -> &'static str {
    match kind {
        1 => "internal",
        2 => "server",
        3 => "client",
        4 => "producer",
        5 => "consumer",
        _ => "unspecified",
    }
}

fn status_code(code: i32) -> &'static str {
    match code {
        1 => "ok",
        2 => "error",
        _ => "unset",
    }
}

/// Flattens trace requests into one [`SinkSpan`] per span.
pub fn flatten_spans(requests: &[ExportTraceServiceRequest]) -> Vec<SinkSpan> {
    let mut out = Vec::new();
    for rs in requests.iter().flat_map(|r| &r.resource_spans) {
        let resource = rs
            .resource
            .as_ref()
            .map(|r| attrs(&r.attributes))
            .unwrap_or_default();
        for ss in &rs.scope_spans {
            let scope_name = ss
                .scope
                .as_ref()
                .map(|s| s.name.clone())
                .unwrap_or_default();
            for span in &ss.spans {
                let status = span.status.clone().unwrap_or_default();
                out.push(SinkSpan {
                    trace_id: hex(&span.trace_id),
                    span_id: hex(&span.span_id),
                    parent_span_id: hex(&span.parent_span_id),
                    name: span.name.clone(),
                    kind: span_kind(span.kind).to_owned(),
                    flags: span.flags,
                    attributes: attrs(&span.attributes),
                    resource: resource.clone(),
                    scope_name: scope_name.clone(),
                    events: span
                        .events
                        .iter()
                        .map(|e| SinkEvent {
                            name: e.name.clone(),
                            attributes: attrs(&e.attributes),
                        })
                        .collect(),
                    links: span
                        .links
                        .iter()
                        .map(|l| SinkLink {
                            trace_id: hex(&l.trace_id),
                            span_id: hex(&l.span_id),
                            attributes: attrs(&l.attributes),
                        })
                        .collect(),
                    status_code: status_code(status.code).to_owned(),
                    status_message: status.message,
                });
            }
        }
    }
    out
}

/// Flattens log requests into one [`SinkLog`] per record.
pub fn flatten_logs(requests: &[ExportLogsServiceRequest]) -> Vec<SinkLog> {
    let mut out = Vec::new();
    for rl in requests.iter().flat_map(|r| &r.resource_logs) {
        let resource = rl
            .resource
            .as_ref()
            .map(|r| attrs(&r.attributes))
            .unwrap_or_default();
        for sl in &rl.scope_logs {
            let scope_name = sl
                .scope
                .as_ref()
                .map(|s| s.name.clone())
                .unwrap_or_default();
            for rec in &sl.log_records {
                out.push(SinkLog {
                    body: any_value_string(&rec.body),
                    severity_text: rec.severity_text.clone(),
                    severity_number: rec.severity_number,
                    event_name: rec.event_name.clone(),
                    time_unix_nano: rec.time_unix_nano,
                    observed_time_unix_nano: rec.observed_time_unix_nano,
                    trace_id: hex(&rec.trace_id),
                    span_id: hex(&rec.span_id),
                    attributes: attrs(&rec.attributes),
                    resource: resource.clone(),
                    scope_name: scope_name.clone(),
                });
            }
        }
    }
    out
}
