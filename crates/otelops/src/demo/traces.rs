//! Which of the received traces the demo shows: the auto-booking worker's
//! traces are found by their root span (`process booking`) and its
//! `booking.id`; the one shown is the trace where the injected provider
//! failure happened (it crosses both services and carries the error), or a
//! clean booking's when there was no failure.

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::receive::model::TraceDetail;
use crate::receive::{Store, TraceOverview, decode::hex};

/// The worker's root span name and the attribute naming the booking.
const WORKER_ROOT: &str = "process booking";
const BOOKING_ID: &str = "booking.id";
/// Spans still arriving after the traces were found (batch exports of the
/// two services interleave): wait until the store is quiet this long.
const SETTLE: Duration = Duration::from_millis(600);

/// The trace the demo prints, and why that one.
#[derive(Debug, Clone, Serialize)]
pub struct ShownTrace {
    pub trace_id: String,
    pub why: String,
    pub services: Vec<String>,
    pub spans: usize,
    pub errors: usize,
    /// The worker trace in which the failed order was retried.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_trace_id: Option<String>,
    /// Every span of the trace, in waterfall order.
    pub detail: TraceDetail,
}

/// The worker traces of one booking, oldest first.
fn worker_traces(store: &Store, booking_id: &str) -> Vec<TraceOverview> {
    let mut found: Vec<TraceOverview> = store
        .traces()
        .into_iter()
        .filter(|t| {
            t.root.as_ref().is_some_and(|root| {
                let span = root.span();
                span.name == WORKER_ROOT
                    && span.attributes.iter().any(|kv| {
                        kv.key == BOOKING_ID
                            && kv.value.as_ref().is_some_and(|v| {
                                crate::receive::model::any_value_text(v) == booking_id
                            })
                    })
            })
        })
        .collect();
    found.sort_by_key(|t| t.start_unix_nano);
    found
}

/// Whether a trace holds spans of both services.
fn crosses_services(trace: &TraceOverview) -> bool {
    trace.services.len() >= 2
}

/// Waits until every booking's worker traces are in and, for the booking
/// whose order failed, the failing trace (both services, an error) and the
/// retry after it; then until no span arrived for a moment. Returns what to
/// show, or `None` after `timeout` (the caller reports what is missing).
pub async fn wait_and_pick(
    store: &Store,
    bookings: &[String],
    faulted: Option<&str>,
    timeout: Duration,
) -> Option<ShownTrace> {
    let started = Instant::now();
    let mut picked = None;
    while started.elapsed() < timeout {
        picked = pick(store, bookings, faulted);
        if picked.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    picked.as_ref()?;
    // Quiet for SETTLE, so the waterfall and the checks see whole traces.
    let mut last = store.accepted_spans();
    let mut quiet_since = Instant::now();
    while quiet_since.elapsed() < SETTLE && started.elapsed() < timeout {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = store.accepted_spans();
        if now != last {
            last = now;
            quiet_since = Instant::now();
        }
    }
    pick(store, bookings, faulted)
}

fn pick(store: &Store, bookings: &[String], faulted: Option<&str>) -> Option<ShownTrace> {
    let all: Vec<Vec<TraceOverview>> = bookings.iter().map(|id| worker_traces(store, id)).collect();
    if all
        .iter()
        .any(|traces| !traces.iter().any(crosses_services))
    {
        return None;
    }
    let (trace, why, retry) = match faulted {
        Some(id) => {
            let traces = worker_traces(store, id);
            let failed = traces
                .iter()
                .position(|t| t.error_count > 0 && crosses_services(t))?;
            let retry = traces[failed + 1..].iter().find(|t| crosses_services(t))?;
            (
                traces[failed].clone(),
                format!(
                    "the auto-booking worker's trace for booking {id}, where parker-fares \
                     answered the order with the injected 503 (retried in trace {})",
                    hex(&retry.trace_id)
                ),
                Some(hex(&retry.trace_id)),
            )
        }
        None => {
            let trace = all[0].iter().find(|t| crosses_services(t))?.clone();
            (
                trace,
                format!(
                    "the auto-booking worker's trace for booking {}, a clean booking (no failure was injected)",
                    bookings[0]
                ),
                None,
            )
        }
    };
    let spans = store.trace(&trace.trace_id)?;
    let detail = TraceDetail::from_spans(trace.trace_id, &spans);
    let mut services: Vec<String> = trace.services.iter().map(|s| s.to_string()).collect();
    services.sort();
    Some(ShownTrace {
        trace_id: hex(&trace.trace_id),
        why,
        services,
        spans: spans.len(),
        errors: spans.iter().filter(|s| s.is_error).count(),
        retry_trace_id: retry,
        detail,
    })
}
