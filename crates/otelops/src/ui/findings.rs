//! `check export-format` and `check semantic-conventions` on one stored
//! trace, for the trace view to show beside the spans they are about.
//!
//! The store keeps every span with the resource and scope it came with, so
//! the trace is rebuilt as one OTLP/JSON request with a `ResourceSpans` per
//! resource and a `ScopeSpans` per scope, as the services sent them (spans of
//! one origin that arrived in several batches meet in one). Findings about a
//! resource or scope are kept apart from the span findings.

use std::collections::BTreeMap;
use std::sync::Arc;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans};

use crate::check::input::{Document, Format, Signal};
use crate::check::{Finding, Source, export_format, semconv};
use crate::receive::StoredSpan;
use crate::receive::store::Origin;
use crate::semconv_registry;

/// What both checks found on one trace.
#[derive(Debug, Default)]
pub struct TraceFindings {
    /// Span findings, by span id (hex).
    pub by_span: BTreeMap<String, Vec<Finding>>,
    /// Findings about a resource or an instrumentation scope.
    pub origins: Vec<Finding>,
}

impl TraceFindings {
    pub fn total(&self) -> usize {
        self.by_span.values().map(Vec::len).sum::<usize>() + self.origins.len()
    }
}

/// Runs both checks on the trace as its services sent it.
pub fn of_trace(trace_id: &str, spans: &[StoredSpan]) -> TraceFindings {
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
    let mut found = TraceFindings::default();
    let all = export_format::check(&documents)
        .into_iter()
        .chain(semconv::check(semconv_registry::embedded(), &documents));
    for finding in all {
        match &finding.span {
            Some(span) => found
                .by_span
                .entry(span.span_id.clone())
                .or_default()
                .push(finding),
            None => found.origins.push(finding),
        }
    }
    found
}

/// One request: a `ResourceSpans` per distinct resource, a `ScopeSpans` per
/// distinct scope in it, in the order they first appear.
fn rebuild(spans: &[StoredSpan]) -> ExportTraceServiceRequest {
    let mut resources: Vec<ResourceSpans> = Vec::new();
    // (origin, index of its ResourceSpans, index of its ScopeSpans there)
    let mut placed: Vec<(&Arc<Origin>, usize, usize)> = Vec::new();
    for span in spans {
        let origin = &span.origin;
        let (r, s) = match placed.iter().find(|(o, ..)| Arc::ptr_eq(o, origin)) {
            Some(&(_, r, s)) => (r, s),
            None => {
                let r = resources
                    .iter()
                    .position(|rs| {
                        rs.resource.as_ref() == Some(&origin.resource)
                            && rs.schema_url == origin.resource_schema_url
                    })
                    .unwrap_or_else(|| {
                        resources.push(ResourceSpans {
                            resource: Some(origin.resource.clone()),
                            scope_spans: Vec::new(),
                            schema_url: origin.resource_schema_url.clone(),
                        });
                        resources.len() - 1
                    });
                let scopes = &mut resources[r].scope_spans;
                scopes.push(ScopeSpans {
                    scope: Some(origin.scope.clone()),
                    spans: Vec::new(),
                    schema_url: origin.scope_schema_url.clone(),
                });
                placed.push((origin, r, scopes.len() - 1));
                (r, scopes.len() - 1)
            }
        };
        resources[r].scope_spans[s].spans.push(span.span());
    }
    ExportTraceServiceRequest {
        resource_spans: resources,
    }
}
