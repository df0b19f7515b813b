//! Export outages, per signal: one warning when a collector starts failing
//! (not one per batch), one info line when export recovers with how many
//! spans/points/records were retried and how many were dropped meanwhile,
//! and the count of items lost because their batch's export failed.
//!
//! The exporters report each attempt they send and each one that failed
//! ([`Outage::attempt`], [`Outage::attempt_failed`]): our span exporter
//! directly, opentelemetry-otlp's (metrics, logs, OTLP/HTTP JSON spans)
//! through the gRPC interceptor and the HTTP client we give them
//! (`otlp.rs`), which see every attempt of its retry loop. `OnRuntime`
//! brackets each export ([`Outage::begin`], [`Outage::end`]); exports of
//! one signal are sequential (its batch processor or periodic reader awaits
//! each), so one counter per signal describes the export in progress.
//!
//! At shutdown ([`Outages::stop`]) an export whose attempt has failed is
//! given up rather than retried: a process that stops while its collector
//! is down must not spend its shutdown deadline in backoff. An attempt in
//! flight is never cut short (it may be the one that gets through): the
//! export is cut while it waits between attempts
//! ([`Outage::given_up_at_shutdown`]), or, where the attempt's end is not
//! seen (gRPC through opentelemetry-otlp), its next attempt is refused
//! ([`Outage::refuses_retry`]). Its items are counted as dropped.
//!
//! The log lines use targets under `parker_telemetry::export`, which the
//! subscriber keeps out of exported logs and span events (`guard.rs`): a
//! warning about a failing export must not become more to export.

use crate::config::Signal;
use opentelemetry_sdk::error::OTelSdkResult;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::sync::Notify;

/// The line that ends an outage (recovered, or shut down during it): one
/// set of fields whatever the level, which `tracing` wants constant.
macro_rules! summary {
    ($level:ident, $signal:expr, $open:expr, $message:literal) => {
        tracing::$level!(
            target: "parker_telemetry::export::outage",
            signal = %$signal,
            outage_secs = $open.since.elapsed().as_secs_f64(),
            retried = $open.retried,
            dropped = $open.dropped,
            unit = unit($signal),
            $message
        )
    };
}

static SPANS_FAILED: AtomicU64 = AtomicU64::new(0);
static POINTS_FAILED: AtomicU64 = AtomicU64::new(0);
static RECORDS_FAILED: AtomicU64 = AtomicU64::new(0);

/// Items of `signal` dropped in this process because their batch's export
/// failed: refused for good (a non-retryable answer), still failing when
/// the export timeout ran out, or given up at shutdown. Spans dropped
/// because the queue was full are not in it (see
/// [`dropped_spans`](super::dropped_spans)).
pub fn dropped_after_export(signal: Signal) -> u64 {
    failed_counter(signal).load(Ordering::Relaxed)
}

fn failed_counter(signal: Signal) -> &'static AtomicU64 {
    match signal {
        Signal::Traces => &SPANS_FAILED,
        Signal::Metrics => &POINTS_FAILED,
        Signal::Logs => &RECORDS_FAILED,
    }
}

fn unit(signal: Signal) -> &'static str {
    match signal {
        Signal::Traces => "spans",
        Signal::Metrics => "points",
        Signal::Logs => "records",
    }
}

/// One signal's export health.
#[derive(Debug)]
pub(crate) struct Outage {
    signal: Signal,
    /// Items in and attempts sent of the export in progress, and whether
    /// an attempt is under way (sent, its outcome not yet known).
    items: AtomicUsize,
    attempts: AtomicUsize,
    in_flight: AtomicBool,
    stopping: AtomicBool,
    /// Woken by a failed attempt and by `stop`.
    changed: Notify,
    open: Mutex<Option<Open>>,
}

/// An outage in progress: since when, and what it cost so far.
#[derive(Debug)]
struct Open {
    since: Instant,
    retried: u64,
    dropped: u64,
}

impl Outage {
    fn new(signal: Signal) -> Arc<Self> {
        Arc::new(Outage {
            signal,
            items: AtomicUsize::new(0),
            attempts: AtomicUsize::new(0),
            in_flight: AtomicBool::new(false),
            stopping: AtomicBool::new(false),
            changed: Notify::new(),
            open: Mutex::new(None),
        })
    }

    /// An attempt of the export in progress is being sent. The second one
    /// is the batch's first retry: the collector is failing.
    pub(crate) fn attempt(&self) {
        self.in_flight.store(true, Ordering::Release);
        if self.attempts.fetch_add(1, Ordering::AcqRel) == 1 {
            self.open_outage(self.items.load(Ordering::Acquire) as u64, 0);
        }
    }

    /// The attempt under way failed (refused, unreachable, timed out).
    pub(crate) fn attempt_failed(&self) {
        self.in_flight.store(false, Ordering::Release);
        self.changed.notify_waiters();
    }

    /// The attempt under way was accepted.
    pub(crate) fn attempt_succeeded(&self) {
        self.in_flight.store(false, Ordering::Release);
    }

    /// Shutdown has begun and this would be a retry: refuse it. For
    /// exporters whose attempts are seen only as they are sent.
    pub(crate) fn refuses_retry(&self) -> bool {
        self.stopping.load(Ordering::Acquire) && self.attempts.load(Ordering::Acquire) > 0
    }

    /// An export of `items` spans/points/records starts.
    pub(crate) fn begin(&self, items: usize) {
        self.items.store(items, Ordering::Release);
        self.attempts.store(0, Ordering::Release);
        self.in_flight.store(false, Ordering::Release);
    }

    /// The export of `items` ended with `result`.
    pub(crate) fn end(&self, items: usize, result: &OTelSdkResult) {
        let items = items as u64;
        // gRPC attempts of opentelemetry-otlp are seen only as sent: every
        // one but the last of an export that was retried failed.
        let retried = self.attempts.load(Ordering::Acquire) > 1;
        if result.is_err() {
            failed_counter(self.signal).fetch_add(items, Ordering::Relaxed);
            // Opened here only if no retry opened it: refused for good.
            self.open_outage(0, items);
        }
        let Ok(mut open) = self.open.lock() else {
            return;
        };
        let Some(o) = open.as_mut() else {
            return;
        };
        if retried {
            o.retried += items;
        }
        if result.is_err() {
            o.dropped += items;
            return;
        }
        if let Some(o) = open.take() {
            drop(open);
            summary!(info, self.signal, o, "telemetry export recovered");
        }
    }

    /// Opens an outage unless one is open: the one warning it gets, with
    /// what the export at hand is retrying or has dropped (the totals
    /// follow in the recovery line).
    fn open_outage(&self, retrying: u64, dropped: u64) {
        let Ok(mut open) = self.open.lock() else {
            return;
        };
        if open.is_some() {
            return;
        }
        *open = Some(Open {
            since: Instant::now(),
            retried: 0,
            dropped: 0,
        });
        drop(open);
        if self.stopping.load(Ordering::Acquire) {
            // Shutting down: `shut_down` is about to sum it up in one line.
            return;
        }
        tracing::warn!(
            target: "parker_telemetry::export::outage",
            signal = %self.signal,
            retrying,
            dropped,
            unit = unit(self.signal),
            "telemetry export failing (is the collector down?): batches are retried until the export timeout, then dropped and counted; one line follows when export recovers"
        );
    }

    #[cfg(test)]
    fn is_open(&self) -> bool {
        self.open.lock().map(|o| o.is_some()).unwrap_or(false)
    }

    /// Resolves once shutdown has begun and the export in progress is
    /// waiting to retry (an attempt failed, none is under way): from then
    /// on it would only wait in backoff.
    pub(crate) async fn given_up_at_shutdown(&self) {
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let waiting_to_retry = self.attempts.load(Ordering::Acquire) > 0
                && !self.in_flight.load(Ordering::Acquire);
            if self.stopping.load(Ordering::Acquire) && waiting_to_retry {
                return;
            }
            changed.await;
        }
    }

    /// Shutdown ends the process's exports: say what an outage still open
    /// cost, since no recovery line will.
    pub(crate) fn shut_down(&self) {
        let Ok(mut open) = self.open.lock() else {
            return;
        };
        if let Some(o) = open.take() {
            summary!(
                warn,
                self.signal,
                o,
                "telemetry shut down while export was failing"
            );
        }
    }
}

/// The three signals' outages of one pipeline (one `build`).
#[derive(Clone, Debug)]
pub(crate) struct Outages {
    pub(crate) traces: Arc<Outage>,
    pub(crate) metrics: Arc<Outage>,
    pub(crate) logs: Arc<Outage>,
}

impl Default for Outages {
    fn default() -> Self {
        Outages {
            traces: Outage::new(Signal::Traces),
            metrics: Outage::new(Signal::Metrics),
            logs: Outage::new(Signal::Logs),
        }
    }
}

impl Outages {
    /// Shutdown has begun: exports that fail are no longer retried.
    pub(crate) fn stop(&self) {
        for o in [&self.traces, &self.metrics, &self.logs] {
            o.stopping.store(true, Ordering::Release);
            o.changed.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// How long a test may wait for a state change it caused.
    const SETTLE: Duration = Duration::from_secs(1);

    #[tokio::test]
    async fn an_export_with_a_failed_attempt_is_given_up_once_shutdown_begins() {
        let outages = Outages::default();
        let o = outages.traces.clone();
        o.begin(3);
        o.attempt();
        o.attempt_failed();
        let waiting = tokio::spawn({
            let o = o.clone();
            async move { o.given_up_at_shutdown().await }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished(), "not before shutdown");
        outages.stop();
        tokio::time::timeout(SETTLE, waiting)
            .await
            .expect("given up at shutdown")
            .expect("join");
    }

    #[tokio::test]
    async fn an_attempt_in_flight_is_not_cut_short_at_shutdown() {
        let outages = Outages::default();
        let o = outages.metrics.clone();
        o.begin(3);
        o.attempt();
        o.attempt_failed();
        o.attempt();
        outages.stop();
        let waited =
            tokio::time::timeout(Duration::from_millis(200), o.given_up_at_shutdown()).await;
        assert!(waited.is_err(), "the retry under way may get through");
        o.attempt_succeeded();
        assert!(o.refuses_retry(), "but no further retry starts");
    }

    #[test]
    fn a_first_attempt_is_never_refused_even_at_shutdown() {
        let outages = Outages::default();
        outages.stop();
        let o = &outages.logs;
        o.begin(1);
        assert!(!o.refuses_retry());
        o.attempt();
        assert!(o.refuses_retry());
    }

    #[test]
    fn the_first_retry_opens_an_outage_and_a_delivered_batch_closes_it() {
        let o = Outage::new(Signal::Logs);
        o.begin(7);
        o.attempt();
        assert!(!o.is_open(), "a first attempt is no outage");
        o.attempt_failed();
        o.attempt();
        assert!(o.is_open());
        o.end(7, &Ok(()));
        assert!(!o.is_open());
    }
}
