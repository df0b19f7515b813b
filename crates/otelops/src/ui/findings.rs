//! `check export-format` and `check semantic-conventions` on one stored
//! trace, for the trace view to show beside the spans they are about.
//!
//! The store keeps each span as received but only the `service.name` of its
//! resource (and not its scope), so the trace is rebuilt as one OTLP/JSON
//! request with a resource per service. Findings about the rebuilt resource
//! or scope would describe that rebuild, not what the service sent, so only
//! span findings are kept; the page says where to check the rest.

use std::collections::BTreeMap;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans};

use crate::check::input::{Document, Format, Signal};
use crate::check::{Finding, Source, export_format, semconv};
use crate::receive::StoredSpan;
use crate::semconv_registry;

/// Span findings of both checks, by span id (hex).
pub fn by_span(trace_id: &str, spans: &[StoredSpan]) -> BTreeMap<String, Vec<Finding>> {
    let document = Document {
        source: Source {
            file: format!("trace {trace_id}"),
            line: None,
        },
        format: Format::Json,
        signal: Signal::Traces,
        value: serde_json::to_value(rebuild(spans)).unwrap_or_default(),
    };
    let documents = [document];
    let mut found: BTreeMap<String, Vec<Finding>> = BTreeMap::new();
    let all = export_format::check(&documents)
        .into_iter()
        .chain(semconv::check(semconv_registry::embedded(), &documents));
    for finding in all {
        if let Some(span) = &finding.span {
            found.entry(span.span_id.clone()).or_default().push(finding);
        }
    }
    found
}

/// One request, one resource (just `service.name`) per service.
fn rebuild(spans: &[StoredSpan]) -> ExportTraceServiceRequest {
    let mut by_service: BTreeMap<&str, Vec<_>> = BTreeMap::new();
    for span in spans {
        by_service
            .entry(&span.service)
            .or_default()
            .push(span.span());
    }
    ExportTraceServiceRequest {
        resource_spans: by_service
            .into_iter()
            .map(|(service, spans)| ResourceSpans {
                resource: Some(Resource {
                    attributes: vec![KeyValue {
                        key: "service.name".to_owned(),
                        value: Some(AnyValue {
                            value: Some(any_value::Value::StringValue(service.to_owned())),
                        }),
                        ..Default::default()
                    }],
                    ..Default::default()
                }),
                scope_spans: vec![ScopeSpans {
                    spans,
                    ..Default::default()
                }],
                schema_url: String::new(),
            })
            .collect(),
    }
}
