//! One downstream's copy of the spans that went through a collector, read
//! back from the OTLP-JSON lines `otelops receive --jsonl` wrote: every span
//! with the resource and scope it arrived under, keyed by span id, so two
//! copies (or a copy and what the source is known to have sent) can be
//! compared field by field.

use std::collections::BTreeMap;
use std::path::Path;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::Span;

/// A span as one downstream received it. Attribute lists (of the resource,
/// scope, span, its events and links) are sorted by key: OTLP gives their
/// order no meaning, and an exporter may reorder them.
#[derive(Debug, Clone, PartialEq)]
pub struct Received {
    pub resource: Resource,
    pub resource_schema_url: String,
    pub scope: InstrumentationScope,
    pub scope_schema_url: String,
    pub span: Span,
}

impl Received {
    pub fn resource_attr(&self, key: &str) -> Option<&any_value::Value> {
        attr(&self.resource.attributes, key)
    }

    pub fn span_attr(&self, key: &str) -> Option<&any_value::Value> {
        attr(&self.span.attributes, key)
    }

    pub fn service(&self) -> &str {
        match self.resource_attr("service.name") {
            Some(any_value::Value::StringValue(s)) => s,
            _ => "",
        }
    }

    pub fn span_id(&self) -> String {
        hex(&self.span.span_id)
    }

    pub fn trace_id(&self) -> String {
        hex(&self.span.trace_id)
    }

    pub fn parent_id(&self) -> String {
        hex(&self.span.parent_span_id)
    }
}

pub fn attr<'a>(attrs: &'a [KeyValue], key: &str) -> Option<&'a any_value::Value> {
    attrs
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .and_then(|v: &AnyValue| v.value.as_ref())
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Every span of one downstream, by span id (hex), each with every copy
/// that arrived (more than one = delivered twice).
#[derive(Debug, Default)]
pub struct SpanCopy {
    pub spans: BTreeMap<String, Vec<Received>>,
}

impl SpanCopy {
    /// Reads the JSONL file; a line that is not an OTLP-JSON trace export
    /// request fails the scenario with the line number.
    pub fn read(path: &Path) -> SpanCopy {
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let mut copy = SpanCopy::default();
        for (n, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let request: ExportTraceServiceRequest =
                serde_json::from_str(line).unwrap_or_else(|e| {
                    panic!("{}:{}: not OTLP-JSON traces: {e}", path.display(), n + 1)
                });
            copy.add(request);
        }
        copy
    }

    pub fn add(&mut self, request: ExportTraceServiceRequest) {
        for rs in request.resource_spans {
            let mut resource = rs.resource.unwrap_or_default();
            sort(&mut resource.attributes);
            for ss in rs.scope_spans {
                let mut scope = ss.scope.unwrap_or_default();
                sort(&mut scope.attributes);
                for mut span in ss.spans {
                    sort(&mut span.attributes);
                    for e in &mut span.events {
                        sort(&mut e.attributes);
                    }
                    for l in &mut span.links {
                        sort(&mut l.attributes);
                    }
                    self.spans
                        .entry(hex(&span.span_id))
                        .or_default()
                        .push(Received {
                            resource: resource.clone(),
                            resource_schema_url: rs.schema_url.clone(),
                            scope: scope.clone(),
                            scope_schema_url: ss.schema_url.clone(),
                            span,
                        });
                }
            }
        }
    }

    /// Spans received, redeliveries included.
    pub fn total(&self) -> usize {
        self.spans.values().map(Vec::len).sum()
    }

    /// The single copy of each span (panics naming a span that came twice).
    pub fn unique(&self) -> BTreeMap<&str, &Received> {
        self.spans
            .iter()
            .map(|(id, copies)| {
                assert_eq!(copies.len(), 1, "span {id} arrived {} times", copies.len());
                (id.as_str(), &copies[0])
            })
            .collect()
    }

    /// Human-readable differences from `other` (empty = the same spans,
    /// each with equal resource, scope and every span field).
    pub fn differences(&self, other: &SpanCopy, names: (&str, &str)) -> Vec<String> {
        let (a, b) = (self.unique(), other.unique());
        let mut out = Vec::new();
        for id in a.keys().filter(|id| !b.contains_key(*id)) {
            out.push(format!("span {id} only at {}", names.0));
        }
        for id in b.keys().filter(|id| !a.contains_key(*id)) {
            out.push(format!("span {id} only at {}", names.1));
        }
        for (id, x) in &a {
            let Some(y) = b.get(id) else { continue };
            if x != y {
                out.push(format!(
                    "span {id} ({}) differs:\n  {}: {x:?}\n  {}: {y:?}",
                    x.span.name, names.0, names.1
                ));
            }
        }
        out
    }

    /// The copy as pretty OTLP-JSON-ish records (one per span), for artifacts.
    pub fn dump(&self) -> String {
        let records: Vec<serde_json::Value> = self
            .spans
            .values()
            .flatten()
            .map(|r| {
                serde_json::json!({
                    "resource": r.resource,
                    "resourceSchemaUrl": r.resource_schema_url,
                    "scope": r.scope,
                    "scopeSchemaUrl": r.scope_schema_url,
                    "span": r.span,
                })
            })
            .collect();
        serde_json::to_string_pretty(&records).unwrap_or_default()
    }
}

fn sort(attrs: &mut [KeyValue]) {
    attrs.sort_by(|x, y| x.key.cmp(&y.key));
}
