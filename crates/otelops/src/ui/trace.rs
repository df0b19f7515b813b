//! One trace (`/ui/traces/{id}`): the waterfall across services (nesting,
//! timing bars, errors marked), every span's details in a `<details>`
//! (attributes, events with exception stack traces, links to other traces,
//! its resource and scope), the check findings about each span beside it
//! and those about resources and scopes above the waterfall, and the
//! `traceparent` to continue the trace from.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};

use super::findings::{self, TraceFindings};
use super::{Nav, clock, error_page, layout, page_response};
use crate::check::Finding;
use crate::receive::Shared;
use crate::receive::decode::parse_trace_id;
use crate::receive::model::{Attribute, SpanView, TraceDetail};
use crate::receive::view::format_duration;

/// Width of a bar's coordinate space (SVG units, stretched to the column).
const SCALE: f64 = 1000.0;
/// Nesting shown by indentation classes `d0`..`d12`; deeper spans stay at 12.
const MAX_INDENT: usize = 12;
/// Bar colours cycle through this many service classes.
const SERVICE_COLOURS: usize = 6;

pub(crate) async fn page(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    let Some(trace_id) = parse_trace_id(&id) else {
        return error_page(
            StatusCode::BAD_REQUEST,
            &format!("trace id {id:?} is not 32 hex digits"),
        );
    };
    let Some(stored) = shared.store.trace(&trace_id) else {
        return error_page(
            StatusCode::NOT_FOUND,
            &format!("trace {id} is not in the store (never received, or evicted)"),
        );
    };
    let detail = TraceDetail::from_spans(trace_id, &stored);
    let found = findings::of_trace(&detail.trace_id, &stored);
    let title = detail
        .spans
        .first()
        .map(|s| s.name.clone())
        .unwrap_or_default();
    page_response(
        StatusCode::OK,
        layout(&format!("Trace {title}"), Nav::None, view(&detail, &found)),
    )
}

fn view(detail: &TraceDetail, found: &TraceFindings) -> Markup {
    let start = detail.start_unix_nano();
    let total = detail.end_unix_nano().saturating_sub(start).max(1);
    let mut services: Vec<&str> = Vec::new();
    for span in &detail.spans {
        if !services.contains(&span.service.as_str()) {
            services.push(&span.service);
        }
    }
    let errors = detail.spans.iter().filter(|s| s.status == "error").count();
    let root = detail.spans.first();
    // Continue this trace from the root span, sampled.
    let traceparent = root
        .map(|r| format!("00-{}-{}-01", detail.trace_id, r.span_id))
        .unwrap_or_default();
    html! {
        h1 { (root.map(|r| r.name.as_str()).unwrap_or("(empty trace)")) }
        dl.facts {
            dt { "Trace" } dd { code #trace-id { (detail.trace_id) } }
            dt { "Started" } dd { (clock(start)) }
            dt { "Duration" } dd { (format_duration(total)) }
            dt { "Spans" } dd #span-count { (detail.spans.len()) }
            dt { "Services" } dd #services {
                @for (i, s) in services.iter().enumerate() {
                    span class={ "svc svc-" (i % SERVICE_COLOURS) } { (s) } " "
                }
            }
            dt { "Errors" } dd #error-count .error[errors > 0] { (errors) }
            dt { "Findings" } dd #finding-count { (found.total()) " (export-format, semantic-conventions)" }
        }
        div.traceparent {
            label for="traceparent" { "traceparent" }
            input #traceparent type="text" readonly value=(traceparent);
            button type="button" data-copy="traceparent" { "Copy" }
        }
        @if !found.origins.is_empty() {
            section.findings #origin-findings aria-label="Resource and scope findings" {
                h2 { "Resource and scope findings" }
                (finding_list(&found.origins))
            }
        }
        p.hint { "Open a span for its attributes, events, links, resource, scope and findings." }
        ol.waterfall aria-label="Spans in tree order" {
            @for span in &detail.spans {
                @let service_index = services.iter().position(|s| *s == span.service).unwrap_or(0);
                @let span_findings = found.by_span.get(&span.span_id).map(Vec::as_slice).unwrap_or(&[]);
                (span_row(span, service_index, start, total, span_findings))
            }
        }
    }
}

fn span_row(
    span: &SpanView,
    service_index: usize,
    start: u64,
    total: u64,
    found: &[Finding],
) -> Markup {
    let left = span.start_unix_nano.saturating_sub(start) as f64 / total as f64 * SCALE;
    // At least 2 units so a span of no measurable length is still seen.
    let width = (span.duration_ns() as f64 / total as f64 * SCALE).max(2.0);
    let error = span.status == "error";
    let depth_class = format!("d{}", span.depth.min(MAX_INDENT));
    let service_class = format!("svc-{}", service_index % SERVICE_COLOURS);
    html! {
        li.span .error[error] id={ "span-" (span.span_id) } data-span-id=(span.span_id) data-service=(span.service) {
            details {
                summary {
                    span class={ "label " (depth_class) } {
                        span class={ "svc " (service_class) } { (span.service) }
                        " "
                        span.name { (span.name) }
                        @if error { " " span.badge.error-badge { "error" } }
                        @if !found.is_empty() { " " span.badge.finding-badge { (found.len()) " finding" @if found.len() > 1 { "s" } } }
                    }
                    span.dur { (format_duration(span.duration_ns())) }
                    svg.bar viewBox={ "0 0 " (SCALE) " 10" } preserveAspectRatio="none" aria-hidden="true" {
                        rect class={ (service_class) @if error { " error" } } x=(format!("{left:.1}")) y="1" width=(format!("{width:.1}")) height="8" {}
                    }
                }
                (span_detail(span, found))
            }
        }
    }
}

fn span_detail(span: &SpanView, found: &[Finding]) -> Markup {
    html! {
        div.detail {
            dl.facts {
                dt { "Span" } dd { code { (span.span_id) } }
                dt { "Parent" } dd { code { (span.parent_span_id.as_deref().unwrap_or("(root)")) } }
                dt { "Kind" } dd { (span.kind) }
                dt { "Status" } dd .error[span.status == "error"] {
                    (span.status)
                    @if !span.status_message.is_empty() { ": " (span.status_message) }
                }
                dt { "Started" } dd { (clock(span.start_unix_nano)) }
            }
            @if !found.is_empty() {
                section.findings aria-label="Findings" {
                    h3 { "Findings" }
                    (finding_list(found))
                }
            }
            h3 { "Attributes" }
            (attributes(&span.attributes))
            @if !span.events.is_empty() {
                h3 { "Events" }
                ol.events {
                    @for event in &span.events {
                        li.event {
                            strong { (event.name) } " " small { (clock(event.time_unix_nano)) }
                            (event_attributes(&event.attributes))
                        }
                    }
                }
            }
            @if !span.links.is_empty() {
                h3 { "Links" }
                ul.links {
                    @for link in &span.links {
                        li {
                            a href={ "/ui/traces/" (link.trace_id) "#span-" (link.span_id) } {
                                "trace " code { (link.trace_id) } ", span " code { (link.span_id) }
                            }
                        }
                    }
                }
            }
            h3 { "Resource" }
            (attributes(&span.resource))
            h3 { "Scope" }
            p.scope { @if span.scope.is_empty() { "(none)" } @else { code { (span.scope) } } }
        }
    }
}

fn finding_list(found: &[Finding]) -> Markup {
    html! {
        ul {
            @for f in found {
                li class={ "finding " (f.level.as_str()) } {
                    strong { (f.level.as_str()) } " " code { (f.rule) } " " (f.message)
                    br; small { code { (f.path) } }
                }
            }
        }
    }
}

fn attributes(list: &[Attribute]) -> Markup {
    html! {
        @if list.is_empty() {
            p.hint { "none" }
        } @else {
            table.attrs {
                @for a in list {
                    tr { th scope="row" { (a.key) } td { (a.value) } }
                }
            }
        }
    }
}

/// Event attributes, with an exception's stack trace kept as written.
fn event_attributes(list: &[Attribute]) -> Markup {
    html! {
        table.attrs {
            @for a in list {
                tr {
                    th scope="row" { (a.key) }
                    td {
                        @if a.key == "exception.stacktrace" {
                            pre.stack { (a.value) }
                        } @else {
                            (a.value)
                        }
                    }
                }
            }
        }
    }
}
