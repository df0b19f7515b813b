//! What `otelops traces` shows, as JSON-serializable values: the query API
//! returns these and `--output json` prints them, so the text views and
//! scripts read the same thing.

use std::collections::{HashMap, HashSet};

use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use serde::{Deserialize, Serialize};

use super::decode::hex;
use super::store::{StoredSpan, TraceId, TraceOverview};

/// One row of `otelops traces list`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraceListItem {
    pub trace_id: String,
    pub root_service: String,
    pub root_name: String,
    pub start_unix_nano: u64,
    pub duration_ns: u64,
    pub spans: usize,
    pub errors: usize,
    pub services: Vec<String>,
}

impl TraceListItem {
    pub fn from_overview(overview: &TraceOverview) -> TraceListItem {
        let root = overview.root.as_ref();
        TraceListItem {
            trace_id: hex(&overview.trace_id),
            root_service: root.map(|r| r.service.to_string()).unwrap_or_default(),
            root_name: root.map(|r| r.span().name).unwrap_or_default(),
            start_unix_nano: overview.start_unix_nano,
            duration_ns: overview
                .end_unix_nano
                .saturating_sub(overview.start_unix_nano),
            spans: overview.span_count,
            errors: overview.error_count,
            services: overview.services.iter().map(|s| s.to_string()).collect(),
        }
    }
}

/// `otelops traces show ID`: every span, in tree order (parents before
/// children, siblings by start time), with its depth in the tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraceDetail {
    pub trace_id: String,
    pub spans: Vec<SpanView>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpanView {
    pub span_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_span_id: Option<String>,
    /// 0 for a root; a span whose parent is not in the trace is a root too.
    pub depth: usize,
    pub service: String,
    pub name: String,
    pub kind: String,
    pub start_unix_nano: u64,
    pub end_unix_nano: u64,
    /// `unset`, `ok` or `error`.
    pub status: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub status_message: String,
    pub attributes: Vec<Attribute>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<EventView>,
    /// Spans this one links to (`otelops test` follows them into other traces).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<LinkView>,
    /// The attributes of the resource it was sent with.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resource: Vec<Attribute>,
    /// Its instrumentation scope: `name`, or `name version`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub scope: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinkView {
    pub trace_id: String,
    pub span_id: String,
}

impl SpanView {
    pub fn duration_ns(&self) -> u64 {
        self.end_unix_nano.saturating_sub(self.start_unix_nano)
    }

    pub fn attribute(&self, key: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|a| a.key == key)
            .map(|a| a.value.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attribute {
    pub key: String,
    /// Rendered for reading: strings as-is, arrays `[a, b]`, bytes as hex.
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventView {
    pub name: String,
    pub time_unix_nano: u64,
    pub attributes: Vec<Attribute>,
}

impl TraceDetail {
    pub fn from_spans(trace_id: TraceId, stored: &[StoredSpan]) -> TraceDetail {
        let mut spans = Vec::with_capacity(stored.len());
        for (index, depth) in tree_order(stored) {
            let s = &stored[index];
            let span = s.span();
            let status = span.status.as_ref().map(|st| st.code).unwrap_or(0);
            spans.push(SpanView {
                span_id: hex(&s.span_id),
                parent_span_id: s.parent_span_id.map(|p| hex(&p)),
                depth,
                service: s.service.to_string(),
                name: span.name,
                kind: kind_name(span.kind).to_owned(),
                start_unix_nano: s.start_unix_nano,
                end_unix_nano: s.end_unix_nano,
                status: match status {
                    1 => "ok",
                    2 => "error",
                    _ => "unset",
                }
                .to_owned(),
                status_message: span.status.map(|st| st.message).unwrap_or_default(),
                attributes: attributes(&span.attributes),
                events: span
                    .events
                    .iter()
                    .map(|e| EventView {
                        name: e.name.clone(),
                        time_unix_nano: e.time_unix_nano,
                        attributes: attributes(&e.attributes),
                    })
                    .collect(),
                links: span
                    .links
                    .iter()
                    .map(|l| LinkView {
                        trace_id: hex(&l.trace_id),
                        span_id: hex(&l.span_id),
                    })
                    .collect(),
                resource: attributes(&s.origin.resource.attributes),
                scope: scope_label(&s.origin.scope),
            });
        }
        TraceDetail {
            trace_id: hex(&trace_id),
            spans,
        }
    }

    pub fn start_unix_nano(&self) -> u64 {
        self.spans
            .iter()
            .map(|s| s.start_unix_nano)
            .min()
            .unwrap_or(0)
    }

    pub fn end_unix_nano(&self) -> u64 {
        self.spans
            .iter()
            .map(|s| s.end_unix_nano)
            .max()
            .unwrap_or(0)
    }
}

fn scope_label(scope: &opentelemetry_proto::tonic::common::v1::InstrumentationScope) -> String {
    if scope.version.is_empty() {
        scope.name.clone()
    } else {
        format!("{} {}", scope.name, scope.version)
    }
}

/// (index into `spans`, depth) in depth-first order. Iterative, and each
/// span is visited once, so deep or cyclic parent chains cannot hang it.
fn tree_order(spans: &[StoredSpan]) -> Vec<(usize, usize)> {
    let ids: HashSet<[u8; 8]> = spans.iter().map(|s| s.span_id).collect();
    let mut children: HashMap<[u8; 8], Vec<usize>> = HashMap::new();
    let mut roots = Vec::new();
    for (i, span) in spans.iter().enumerate() {
        match span.parent_span_id {
            Some(parent) if ids.contains(&parent) && parent != span.span_id => {
                children.entry(parent).or_default().push(i)
            }
            _ => roots.push(i),
        }
    }
    let by_start =
        |list: &mut Vec<usize>| list.sort_by_key(|&i| (spans[i].start_unix_nano, spans[i].span_id));
    by_start(&mut roots);
    for list in children.values_mut() {
        by_start(list);
    }
    let mut order = Vec::with_capacity(spans.len());
    let mut visited = vec![false; spans.len()];
    let mut stack: Vec<(usize, usize)> = roots.iter().rev().map(|&i| (i, 0)).collect();
    while let Some((i, depth)) = stack.pop() {
        if std::mem::replace(&mut visited[i], true) {
            continue;
        }
        order.push((i, depth));
        if let Some(kids) = children.get(&spans[i].span_id) {
            stack.extend(kids.iter().rev().map(|&k| (k, depth + 1)));
        }
    }
    // Spans only reachable through a cycle: show them as roots rather than lose them.
    for (i, seen) in visited.iter().enumerate() {
        if !seen {
            order.push((i, 0));
        }
    }
    order
}

fn kind_name(kind: i32) -> &'static str {
    match kind {
        1 => "internal",
        2 => "server",
        3 => "client",
        4 => "producer",
        5 => "consumer",
        _ => "unspecified",
    }
}

fn attributes(list: &[KeyValue]) -> Vec<Attribute> {
    list.iter()
        .map(|kv| Attribute {
            key: kv.key.clone(),
            value: kv.value.as_ref().map(any_value_text).unwrap_or_default(),
        })
        .collect()
}

/// An attribute value as text.
pub fn any_value_text(value: &AnyValue) -> String {
    use any_value::Value;
    match &value.value {
        None => String::new(),
        Some(Value::StringValue(s)) => s.clone(),
        Some(Value::BoolValue(b)) => b.to_string(),
        Some(Value::IntValue(i)) => i.to_string(),
        Some(Value::DoubleValue(d)) => d.to_string(),
        Some(Value::BytesValue(b)) => hex(b),
        Some(Value::ArrayValue(a)) => {
            let items: Vec<String> = a.values.iter().map(any_value_text).collect();
            format!("[{}]", items.join(", "))
        }
        Some(Value::KvlistValue(kv)) => {
            let items: Vec<String> = kv
                .values
                .iter()
                .map(|kv| {
                    format!(
                        "{}={}",
                        kv.key,
                        kv.value.as_ref().map(any_value_text).unwrap_or_default()
                    )
                })
                .collect();
            format!("{{{}}}", items.join(", "))
        }
        #[allow(unreachable_patterns)]
        Some(_) => String::new(),
    }
}
