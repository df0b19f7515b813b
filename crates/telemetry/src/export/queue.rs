//! A bounded span queue whose drops are counted.
//!
//! The SDK's BatchSpanProcessor already drops spans when its queue is full
//! (it never blocks `on_end`), but it only logs the count at shutdown. We
//! admit spans through our own counter of the same capacity in front of it,
//! so every drop is ours to count: [`dropped_spans`], the
//! `parker.telemetry.spans.dropped` metric, and a warning at most every 10 s.
//! A slot is freed when the batch holding the span reaches the exporter.

use opentelemetry::Context;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Span, SpanData, SpanProcessor};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

static DROPPED: AtomicU64 = AtomicU64::new(0);

/// Spans dropped in this process because the export queue was full.
pub fn dropped_spans() -> u64 {
    DROPPED.load(Ordering::Relaxed)
}

const WARN_EVERY: Duration = Duration::from_secs(10);

#[derive(Debug)]
pub(crate) struct SpanQueue {
    pending: AtomicUsize,
    capacity: usize,
    /// When we last warned and the drop total we reported then.
    last_warning: Mutex<(Option<Instant>, u64)>,
}

impl SpanQueue {
    pub(crate) fn new(capacity: usize) -> Arc<Self> {
        Arc::new(SpanQueue {
            pending: AtomicUsize::new(0),
            capacity,
            last_warning: Mutex::new((None, 0)),
        })
    }

    fn try_admit(&self) -> bool {
        self.pending
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |p| {
                (p < self.capacity).then_some(p + 1)
            })
            .is_ok()
    }

    /// `n` spans left the queue (handed to the exporter). Runs on the
    /// export thread, never on a request path, so it may also warn.
    pub(crate) fn release(&self, n: usize) {
        let _ = self
            .pending
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |p| {
                Some(p.saturating_sub(n))
            });
        self.warn_if_dropped();
    }

    /// Warns about new drops, at most once per 10 s.
    pub(crate) fn warn_if_dropped(&self) {
        let total = dropped_spans();
        let Ok(mut last) = self.last_warning.lock() else {
            return;
        };
        let (at, reported) = *last;
        if total == reported || at.is_some_and(|t| t.elapsed() < WARN_EVERY) {
            return;
        }
        *last = (Some(Instant::now()), total);
        drop(last);
        tracing::warn!(
            target: "parker_telemetry::export",
            dropped_total = total,
            dropped_since_last_warning = total - reported,
            queue_capacity = self.capacity,
            "span export queue full: spans dropped (is the collector reachable?)"
        );
    }
}

/// Admits sampled spans into `inner` (the SDK batch processor) only while
/// the queue has room; counts the rest. Never blocks.
#[derive(Debug)]
pub(crate) struct CountingProcessor<P> {
    pub(crate) inner: P,
    pub(crate) queue: Arc<SpanQueue>,
}

impl<P: SpanProcessor> SpanProcessor for CountingProcessor<P> {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        self.inner.on_start(span, cx);
    }

    fn on_end(&self, span: SpanData) {
        if !span.span_context.is_sampled() {
            // The batch processor ignores these; they take no slot.
            return;
        }
        if self.queue.try_admit() {
            self.inner.on_end(span);
        } else {
            DROPPED.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        let result = self.inner.shutdown_with_timeout(timeout);
        self.queue.warn_if_dropped();
        result
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}
