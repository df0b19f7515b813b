//! Where the trigger's trace is collected from — the embedded receiver's
//! store, or a running `otelops receive` over its query API (which is also
//! how a trace arrives behind otelcol-parker: services → collector →
//! receiver) — and when it is complete: like Tracetest's periodic polling
//! profile, the trace is complete when it has spans and no span arrived
//! (in it, the traces linked to it, or a trace still in progress) for
//! `retry_delay`, and the wait gives up after `timeout`. Tracetest reads
//! once per `retry_delay`; reading every [`POLL`] instead ends the wait one
//! quiet period after the last span rather than up to two.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::receive::client::{SourceError, TraceSource};
use crate::receive::decode::{hex, parse_trace_id};
use crate::receive::model::TraceDetail;
use crate::receive::{Store, TraceOverview};

/// How often the spans are counted while waiting.
pub const POLL: Duration = Duration::from_millis(50);

/// Tracetest's polling profile, in our terms.
#[derive(Debug, Clone, Copy)]
pub struct Polling {
    pub retry_delay: Duration,
    pub timeout: Duration,
}

#[derive(Debug, Clone)]
pub enum Collector {
    Embedded(Arc<Store>),
    Receiver(TraceSource),
}

#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(
        "no span of trace {trace_id} arrived within {}s (is the service's telemetry pointed at this receiver?)",
        waited.as_secs_f64()
    )]
    NoTrace { trace_id: String, waited: Duration },
}

/// Spans collected so far, and whether the wait ran out while they still grew.
#[derive(Debug)]
pub struct Captured {
    pub details: Vec<TraceDetail>,
    pub timed_out: bool,
}

impl Collector {
    /// The trace `trace_id` and every trace linking into it (transitively),
    /// looking at traces that started after `since_unix_nano`; and how many
    /// spans they hold together with the traces still in progress. A linked
    /// trace is only known as linked once its root (which carries the link,
    /// and ends last) arrives, so a trace whose spans' parents have not all
    /// arrived counts too; finished unrelated traces (a worker's poll) do not.
    async fn read(
        &self,
        trace_id: &str,
        since_unix_nano: u64,
    ) -> Result<(Vec<TraceDetail>, usize), SourceError> {
        let mut found: Vec<TraceDetail> = Vec::new();
        let mut candidates: Vec<TraceDetail> = Vec::new();
        match self {
            Collector::Embedded(store) => {
                let id = parse_trace_id(trace_id)
                    .ok_or_else(|| SourceError::BadTraceId(trace_id.to_owned()))?;
                if let Some(spans) = store.trace(&id) {
                    found.push(TraceDetail::from_spans(id, &spans));
                }
                for t in store
                    .traces()
                    .iter()
                    .filter(|t| later(t, since_unix_nano, &id))
                {
                    if let Some(spans) = store.trace(&t.trace_id) {
                        candidates.push(TraceDetail::from_spans(t.trace_id, &spans));
                    }
                }
            }
            Collector::Receiver(source) => {
                if let Some(d) = source.show(trace_id).await? {
                    found.push(d);
                }
                for item in source.list().await? {
                    if item.trace_id != trace_id
                        && item.start_unix_nano >= since_unix_nano
                        && let Some(d) = source.show(&item.trace_id).await?
                    {
                        candidates.push(d);
                    }
                }
            }
        }
        let seen = found
            .iter()
            .chain(candidates.iter().filter(|d| in_progress(d)))
            .map(|d| d.spans.len())
            .sum();
        // Follow links until nothing new joins.
        let mut span_ids: HashSet<String> = found
            .iter()
            .flat_map(|d| d.spans.iter().map(|s| s.span_id.clone()))
            .collect();
        span_ids.insert(trigger_span_id(trace_id));
        loop {
            let (joined, rest): (Vec<_>, Vec<_>) = candidates.into_iter().partition(|d| {
                d.spans.iter().any(|s| {
                    s.links
                        .iter()
                        .any(|l| l.trace_id == trace_id || span_ids.contains(&l.span_id))
                })
            });
            candidates = rest;
            if joined.is_empty() {
                break;
            }
            span_ids.extend(
                joined
                    .iter()
                    .flat_map(|d| d.spans.iter().map(|s| s.span_id.clone())),
            );
            found.extend(joined);
        }
        Ok((found, seen))
    }

    /// Polls until the trace is complete (see the module doc).
    pub async fn wait(
        &self,
        trace_id: &str,
        since_unix_nano: u64,
        polling: Polling,
    ) -> Result<Captured, CaptureError> {
        let started = Instant::now();
        let mut last = 0;
        let mut quiet_since = Instant::now();
        loop {
            let (details, count) = self.read(trace_id, since_unix_nano).await?;
            if count != last {
                last = count;
                quiet_since = Instant::now();
            } else if !details.is_empty() && quiet_since.elapsed() >= polling.retry_delay {
                return Ok(Captured {
                    details,
                    timed_out: false,
                });
            }
            if started.elapsed() >= polling.timeout {
                if details.is_empty() {
                    return Err(CaptureError::NoTrace {
                        trace_id: trace_id.to_owned(),
                        waited: started.elapsed(),
                    });
                }
                return Ok(Captured {
                    details,
                    timed_out: true,
                });
            }
            tokio::time::sleep(POLL.min(polling.retry_delay)).await;
        }
    }
}

/// Whether some span's parent has not arrived yet.
fn in_progress(trace: &TraceDetail) -> bool {
    let ids: HashSet<&str> = trace.spans.iter().map(|s| s.span_id.as_str()).collect();
    trace.spans.iter().any(|s| {
        s.parent_span_id
            .as_deref()
            .is_some_and(|p| !ids.contains(p))
    })
}

fn later(t: &TraceOverview, since_unix_nano: u64, id: &[u8; 16]) -> bool {
    &t.trace_id != id && t.start_unix_nano >= since_unix_nano
}

/// The trigger span's id is derived from the trace id (its low half), so a
/// link can be recognised without keeping state.
pub fn trigger_span_id(trace_id: &str) -> String {
    trace_id[16..].to_owned()
}

/// A fresh random trace id (32 hex digits), never all zeros.
pub fn new_trace_id() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 16];
    loop {
        getrandom::fill(&mut bytes)?;
        if bytes[..8].iter().any(|&b| b != 0) && bytes[8..].iter().any(|&b| b != 0) {
            return Ok(hex(&bytes));
        }
    }
}
