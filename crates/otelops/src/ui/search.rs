//! The trace search page (`/ui/`) and its rows alone (`/ui/rows`, same
//! parameters), which the page polls so new traces appear without a reload.

use std::sync::Arc;
use std::time::SystemTime;

use axum::extract::{RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};

use super::filter::Filter;
use super::{Nav, clock, error_page, layout, page_response};
use crate::receive::view::format_duration;
use crate::receive::{Shared, Store, TraceOverview, decode::hex};

/// Choices of the "started within" select; any duration works in the URL.
const LAST: [(&str, &str); 5] = [
    ("", "any time"),
    ("5m", "last 5 minutes"),
    ("15m", "last 15 minutes"),
    ("1h", "last hour"),
    ("1day", "last day"),
];

pub(crate) async fn page(State(shared): State<Arc<Shared>>, RawQuery(query): RawQuery) -> Response {
    let filter = match Filter::parse(query.as_deref().unwrap_or("")) {
        Ok(filter) => filter,
        Err(err) => return error_page(StatusCode::BAD_REQUEST, &err.to_string()),
    };
    let found = matching(&shared.store, &filter);
    let services = shared.store.summary().services;
    let body = html! {
        h1 { "Traces" }
        (form(&filter, &services))
        p #count aria-live="polite" { (count_text(found.len())) }
        div.scroll {
            table.traces {
                thead { tr {
                    th scope="col" { "Started" }
                    th scope="col" { "Root span" }
                    th scope="col" { "Services" }
                    th scope="col" .num { "Spans" }
                    th scope="col" .num { "Duration" }
                    th scope="col" .num { "Errors" }
                } }
                tbody #rows data-src={ "/ui/rows?" (filter.query()) } { (rows_markup(&found)) }
            }
        }
    };
    page_response(StatusCode::OK, layout("Traces", Nav::Traces, body))
}

pub(crate) async fn rows(State(shared): State<Arc<Shared>>, RawQuery(query): RawQuery) -> Response {
    let filter = match Filter::parse(query.as_deref().unwrap_or("")) {
        Ok(filter) => filter,
        Err(err) => return (StatusCode::BAD_REQUEST, err.to_string()).into_response(),
    };
    let found = matching(&shared.store, &filter);
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        rows_markup(&found).into_string(),
    )
        .into_response()
}

/// The stored traces that match, newest first.
pub fn matching(store: &Store, filter: &Filter) -> Vec<TraceOverview> {
    let now = SystemTime::now();
    let mut found: Vec<TraceOverview> = store
        .traces()
        .into_iter()
        .filter(|t| filter.matches(t, now, || store.trace(&t.trace_id)))
        .collect();
    found.sort_by_key(|t| std::cmp::Reverse(t.start_unix_nano));
    found
}

fn count_text(n: usize) -> String {
    match n {
        1 => "1 trace".to_owned(),
        n => format!("{n} traces"),
    }
}

fn form(filter: &Filter, services: &[String]) -> Markup {
    let chosen = filter.value("service");
    let last = filter.value("last");
    html! {
        form.search method="get" action="/ui/" role="search" {
            label { "Service"
                select name="service" {
                    option value="" { "any" }
                    @for s in services {
                        option value=(s) selected[s == chosen] { (s) }
                    }
                }
            }
            label { "Span name contains" input type="text" name="name" value=(filter.value("name")); }
            label { "Attribute" input type="text" name="attr" placeholder="key=value" value=(filter.value("attr")); }
            label { "Min duration" input type="text" name="min_duration" placeholder="250ms" value=(filter.value("min_duration")); }
            label { "Started"
                select name="last" {
                    @for (value, text) in LAST {
                        option value=(value) selected[value == last] { (text) }
                    }
                    @if !LAST.iter().any(|(v, _)| *v == last) {
                        option value=(last) selected { "last " (last) }
                    }
                }
            }
            label { "From (UTC)" input type="text" name="from" placeholder="2026-12-07T01:00:00Z" value=(filter.value("from")); }
            label { "To (UTC)" input type="text" name="to" placeholder="2026-12-07T02:00:00Z" value=(filter.value("to")); }
            label.check { input type="checkbox" name="errors" value="on" checked[filter.errors]; "Errors only" }
            button type="submit" { "Search" }
        }
    }
}

fn rows_markup(found: &[TraceOverview]) -> Markup {
    html! {
        @for t in found {
            @let id = hex(&t.trace_id);
            @let root = t.root.as_ref().map(|r| r.span().name).unwrap_or_default();
            tr.trace data-trace-id=(id) .error[t.error_count > 0] {
                td { time { (clock(t.start_unix_nano)) } }
                td { a href={ "/ui/traces/" (id) } { @if root.is_empty() { "(no root)" } @else { (root) } } }
                td.services { (t.services.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(", ")) }
                td.num.spans { (t.span_count) }
                td.num { (format_duration(t.end_unix_nano.saturating_sub(t.start_unix_nano))) }
                td.num.errors { (t.error_count) }
            }
        }
        @if found.is_empty() {
            tr.none { td colspan="6" { "No trace matches (yet): the list refreshes by itself." } }
        }
    }
}
