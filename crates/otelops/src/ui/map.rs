//! The service map (`/ui/map`): services and the calls between them, from
//! the stored spans. A client span of service A whose child is a server
//! span of service B is one call A → B; its duration is the client span's
//! (what A waited), and it failed when either side has status Error.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::f64::consts::PI;
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};

use super::{Nav, layout, page_response};
use crate::receive::view::format_duration;
use crate::receive::{Shared, Store, StoredSpan};

const SPAN_KIND_SERVER: i32 = 2;
const SPAN_KIND_CLIENT: i32 = 3;
const SIZE: f64 = 520.0;
const RADIUS: f64 = 180.0;
/// A node's radius: room for a name like `parker-booking`.
const NODE: f64 = 50.0;

/// The calls from one service to another.
#[derive(Debug, Clone, PartialEq)]
pub struct Edge {
    pub from: String,
    pub to: String,
    pub calls: usize,
    pub errors: usize,
    /// Client-side durations, sorted.
    durations: Vec<u64>,
}

impl Edge {
    pub fn error_rate(&self) -> f64 {
        self.errors as f64 / self.calls.max(1) as f64
    }

    /// Nearest-rank 95th percentile of the client span durations.
    pub fn p95_ns(&self) -> u64 {
        if self.durations.is_empty() {
            return 0;
        }
        let rank = (self.durations.len() as f64 * 0.95).ceil() as usize;
        self.durations[rank.clamp(1, self.durations.len()) - 1]
    }
}

#[derive(Debug, Default)]
pub struct ServiceMap {
    pub services: BTreeSet<String>,
    pub edges: Vec<Edge>,
}

/// Every edge in the store's traces.
pub fn build(store: &Store) -> ServiceMap {
    let mut map = ServiceMap::default();
    let mut edges: BTreeMap<(String, String), Edge> = BTreeMap::new();
    for overview in store.traces() {
        map.services
            .extend(overview.services.iter().map(|s| s.to_string()));
        let Some(spans) = store.trace(&overview.trace_id) else {
            continue;
        };
        for (client, server) in calls(&spans) {
            let key = (client.service.to_string(), server.service.to_string());
            let edge = edges.entry(key.clone()).or_insert_with(|| Edge {
                from: key.0,
                to: key.1,
                calls: 0,
                errors: 0,
                durations: Vec::new(),
            });
            edge.calls += 1;
            edge.errors += usize::from(client.is_error || server.is_error);
            edge.durations
                .push(client.end_unix_nano.saturating_sub(client.start_unix_nano));
        }
    }
    map.edges = edges
        .into_values()
        .map(|mut e| {
            e.durations.sort_unstable();
            e
        })
        .collect();
    map
}

/// (client span, its server child in another service) pairs of one trace.
fn calls(spans: &[StoredSpan]) -> Vec<(&StoredSpan, &StoredSpan)> {
    let kinds: Vec<i32> = spans.iter().map(|s| s.span().kind).collect();
    let clients: HashMap<[u8; 8], usize> = spans
        .iter()
        .enumerate()
        .filter(|(i, _)| kinds[*i] == SPAN_KIND_CLIENT)
        .map(|(i, s)| (s.span_id, i))
        .collect();
    spans
        .iter()
        .enumerate()
        .filter(|(i, _)| kinds[*i] == SPAN_KIND_SERVER)
        .filter_map(|(_, server)| {
            let client = &spans[*clients.get(&server.parent_span_id?)?];
            (client.service != server.service).then_some((client, server))
        })
        .collect()
}

pub(crate) async fn page(State(shared): State<Arc<Shared>>) -> Response {
    let map = build(&shared.store);
    let body = html! {
        h1 { "Service map" }
        p.hint { "A call A → B is a client span of A whose child is a server span of B. p95 is of A's client spans." }
        @if map.services.is_empty() {
            p { "No spans received yet." }
        } @else {
            (svg(&map))
        }
        div.scroll {
            table.edges {
                caption { "Calls between services" }
                thead { tr {
                    th scope="col" { "From" } th scope="col" { "To" }
                    th scope="col" .num { "Calls" } th scope="col" .num { "Error rate" } th scope="col" .num { "p95" }
                } }
                tbody {
                    @for e in &map.edges {
                        tr.edge data-from=(e.from) data-to=(e.to) {
                            td { (e.from) } td { (e.to) }
                            td.num.calls { (e.calls) }
                            td.num .error[e.errors > 0] { (percent(e.error_rate())) }
                            td.num { (format_duration(e.p95_ns())) }
                        }
                    }
                    @if map.edges.is_empty() {
                        tr { td colspan="5" { "No calls between services seen yet." } }
                    }
                }
            }
        }
    };
    page_response(StatusCode::OK, layout("Service map", Nav::Map, body))
}

fn percent(rate: f64) -> String {
    format!("{:.1}%", rate * 100.0)
}

/// Services on a circle, calls as arrows labelled with their figures.
fn svg(map: &ServiceMap) -> Markup {
    let names: Vec<&String> = map.services.iter().collect();
    let n = names.len();
    let centre = SIZE / 2.0;
    let at = |name: &str| -> (f64, f64) {
        let i = names.iter().position(|s| *s == name).unwrap_or(0);
        if n == 1 {
            return (centre, centre);
        }
        let angle = 2.0 * PI * i as f64 / n as f64 - PI / 2.0;
        (centre + RADIUS * angle.cos(), centre + RADIUS * angle.sin())
    };
    html! {
        svg.map xmlns="http://www.w3.org/2000/svg" viewBox={ "0 0 " (SIZE) " " (SIZE) } role="img" aria-label="Service map" {
            defs {
                marker #arrow viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse" {
                    path d="M 0 0 L 10 5 L 0 10 z" {}
                }
            }
            @for e in &map.edges {
                @let (x1, y1) = at(&e.from);
                @let (x2, y2) = at(&e.to);
                // Stop the arrow at the node's edge.
                @let len = ((x2 - x1).powi(2) + (y2 - y1).powi(2)).sqrt().max(1.0);
                @let (ex, ey) = (x2 - (x2 - x1) / len * (NODE + 2.0), y2 - (y2 - y1) / len * (NODE + 2.0));
                @let (sx, sy) = (x1 + (x2 - x1) / len * (NODE + 2.0), y1 + (y2 - y1) / len * (NODE + 2.0));
                g.edge data-from=(e.from) data-to=(e.to) .error[e.errors > 0] {
                    line x1=(format!("{sx:.1}")) y1=(format!("{sy:.1}")) x2=(format!("{ex:.1}")) y2=(format!("{ey:.1}")) marker-end="url(#arrow)" {}
                    text x=(format!("{:.1}", (x1 + x2) / 2.0)) y=(format!("{:.1}", (y1 + y2) / 2.0 - 6.0)) text-anchor="middle" {
                        (e.calls) " calls · " (percent(e.error_rate())) " errors · p95 " (format_duration(e.p95_ns()))
                    }
                }
            }
            @for name in &names {
                @let (x, y) = at(name);
                g.node data-service=(name) {
                    circle cx=(format!("{x:.1}")) cy=(format!("{y:.1}")) r=(NODE) {}
                    text x=(format!("{x:.1}")) y=(format!("{:.1}", y + 4.0)) text-anchor="middle" { (name) }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn p95_is_the_nearest_rank() {
        let edge = |durations: Vec<u64>| Edge {
            from: "a".into(),
            to: "b".into(),
            calls: durations.len(),
            errors: 1,
            durations,
        };
        assert_eq!(edge((1..=100).collect()).p95_ns(), 95);
        assert_eq!(edge(vec![7]).p95_ns(), 7);
        assert_eq!(edge(vec![1, 2]).p95_ns(), 2);
        assert_eq!(edge(vec![]).p95_ns(), 0);
        assert_eq!(edge(vec![1, 2, 3, 4]).error_rate(), 0.25);
    }
}
