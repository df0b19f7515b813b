//! Runs exporters on the library's own small tokio runtime.
//!
//! The SDK's batch processors and periodic reader export from their own OS
//! threads, but the OTLP gRPC (tonic) and async HTTP (hyper) clients need a
//! tokio reactor. Borrowing the application's runtime would deadlock flushes
//! on a current-thread runtime (its only thread is the one blocked in
//! `drop(guard)`), so exports run on a dedicated one-worker runtime instead.
//! The adapter also enforces the per-export timeout (OTEL_BSP_EXPORT_TIMEOUT
//! and friends), which the SDK's thread-based processors do not, and
//! reports each export's outcome to the signal's [`Outage`] (which also
//! cuts a failing export short once shutdown has begun).

use super::outage::Outage;
use super::queue::SpanQueue;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::logs::{LogBatch, LogExporter};
use opentelemetry_sdk::metrics::Temporality;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::runtime::{Handle, Runtime};

/// The export runtime: one worker thread, named so it shows up in stacks,
/// lowered by [`EXPORT_NICE_OFFSET`].
pub(crate) fn build_runtime() -> std::io::Result<Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("parker-telemetry-export")
        .on_thread_start(lower_this_thread)
        .enable_all()
        .build()
}

/// How much the threads that batch, encode and send telemetry (the export
/// runtime, and the SDK's batch and reader threads, at their first export)
/// are niced below the thread that started them (capped at 19). A batch of 2048 spans takes milliseconds to encode;
/// at the request threads' priority, on a busy core it ran for whole
/// scheduler slices while requests waited (p99 0.5 → 5.3 ms in the
/// `api_throughput` bench). Lowered, a request thread that wakes preempts
/// the export at once. The export still gets about a tenth of a saturated
/// core (weight 110 against 1024); should that not be enough, the bounded
/// queue sheds spans and counts them, as it does for a slow collector.
pub const EXPORT_NICE_OFFSET: i32 = 10;

/// Lowers the calling thread by [`EXPORT_NICE_OFFSET`], once per thread
/// (Linux: `setpriority` on the thread id; elsewhere nothing). Raising a nice value
/// needs no privilege; the thread cannot raise its priority back, which is
/// why only threads the telemetry owns are lowered.
fn lower_this_thread() {
    thread_local! {
        static LOWERED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }
    if LOWERED.with(|lowered| lowered.replace(true)) {
        return;
    }
    #[cfg(target_os = "linux")]
    // SAFETY: plain syscalls on the calling thread's own id; no memory is
    // passed. A failure only leaves the thread at its priority.
    unsafe {
        let tid = libc::gettid() as libc::id_t;
        // A new thread inherits its creator's nice value (a request thread's).
        let current = libc::getpriority(libc::PRIO_PROCESS, tid);
        libc::setpriority(
            libc::PRIO_PROCESS,
            tid,
            (current + EXPORT_NICE_OFFSET).min(19),
        );
    }
}

/// Whether the calling thread is one of the SDK's batch/reader threads
/// (`OpenTelemetry.Traces.BatchProcessor` and the like), which export by
/// calling the exporter and are ours to lower; an application thread that
/// flushes is not.
fn on_sdk_worker() -> bool {
    std::thread::current()
        .name()
        .is_some_and(|name| name.starts_with("OpenTelemetry."))
}

/// Wraps an SDK exporter so each export runs on `handle` with a deadline.
#[derive(Debug)]
pub(crate) struct OnRuntime<E> {
    inner: E,
    handle: Handle,
    timeout: Duration,
    outage: Arc<Outage>,
    /// For span exporters: the bounded queue whose slots a batch frees.
    queue: Option<Arc<SpanQueue>>,
}

impl<E> OnRuntime<E> {
    pub(crate) fn new(inner: E, handle: Handle, timeout: Duration, outage: Arc<Outage>) -> Self {
        OnRuntime {
            inner,
            handle,
            timeout,
            outage,
            queue: None,
        }
    }

    pub(crate) fn with_queue(mut self, queue: Arc<SpanQueue>) -> Self {
        self.queue = Some(queue);
        self
    }

    /// Runs the export of `items` spans/points/records.
    fn run<F>(&self, items: usize, export: F) -> OTelSdkResult
    where
        F: Future<Output = OTelSdkResult> + Send,
    {
        let timeout = self.timeout;
        let outage = &*self.outage;
        let queue = self.queue.as_deref();
        outage.begin(items);
        let bounded = async move {
            tokio::select! {
                // The export first: an attempt that just got through wins
                // over shutdown's cut.
                biased;
                result = tokio::time::timeout(timeout, export) => {
                    result.unwrap_or(Err(OTelSdkError::Timeout(timeout)))
                }
                () = outage.given_up_at_shutdown() => Err(OTelSdkError::InternalFailure(
                    "export failing at shutdown: given up instead of retried".into(),
                )),
                never = warn_of_drops_meanwhile(queue) => match never {},
            }
        };
        let result = if Handle::try_current().is_err() {
            // The usual case: an SDK worker thread.
            if on_sdk_worker() {
                lower_this_thread();
            }
            self.handle.block_on(bounded)
        } else {
            // Called from inside some runtime (e.g. a flush from async code),
            // where Handle::block_on would panic: block a helper thread instead.
            let handle = &self.handle;
            std::thread::scope(|s| {
                s.spawn(move || handle.block_on(bounded))
                    .join()
                    .unwrap_or_else(|_| {
                        Err(OTelSdkError::InternalFailure("export panicked".into()))
                    })
            })
        };
        outage.end(items, &result);
        result
    }
}

impl<E: SpanExporter> SpanExporter for OnRuntime<E> {
    fn export(&self, batch: Vec<SpanData>) -> impl Future<Output = OTelSdkResult> + Send {
        let items = batch.len();
        if let Some(queue) = &self.queue {
            queue.release(items);
        }
        std::future::ready(self.run(items, self.inner.export(batch)))
    }
    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        if let Some(queue) = &self.queue {
            queue.warn_if_dropped();
        }
        self.outage.shut_down();
        self.inner.shutdown_with_timeout(timeout)
    }
    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }
    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

impl<E: LogExporter> LogExporter for OnRuntime<E> {
    fn export(&self, batch: LogBatch<'_>) -> impl Future<Output = OTelSdkResult> + Send {
        let items = batch.iter().count();
        std::future::ready(self.run(items, self.inner.export(batch)))
    }
    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.outage.shut_down();
        self.inner.shutdown_with_timeout(timeout)
    }
    fn event_enabled(
        &self,
        level: opentelemetry::logs::Severity,
        target: &str,
        name: Option<&str>,
    ) -> bool {
        self.inner.event_enabled(level, target, name)
    }
    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

impl<E: PushMetricExporter> PushMetricExporter for OnRuntime<E> {
    fn export(&self, metrics: &ResourceMetrics) -> impl Future<Output = OTelSdkResult> + Send {
        std::future::ready(self.run(data_points(metrics), self.inner.export(metrics)))
    }
    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }
    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.outage.shut_down();
        self.inner.shutdown_with_timeout(timeout)
    }
    fn temporality(&self) -> Temporality {
        self.inner.temporality()
    }
}

/// An export may retry until the export timeout (an outage): spans the
/// full queue drops meanwhile are still reported (at most every 10 s, see
/// `SpanQueue::warn_if_dropped`), not only when the next export starts.
async fn warn_of_drops_meanwhile(queue: Option<&SpanQueue>) -> std::convert::Infallible {
    let Some(queue) = queue else {
        return std::future::pending().await;
    };
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        queue.warn_if_dropped();
    }
}

/// The data points in one collection, what a metrics outage counts.
fn data_points(metrics: &ResourceMetrics) -> usize {
    use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData};
    fn points<T>(data: &MetricData<T>) -> usize {
        match data {
            MetricData::Gauge(g) => g.data_points().count(),
            MetricData::Sum(s) => s.data_points().count(),
            MetricData::Histogram(h) => h.data_points().count(),
            MetricData::ExponentialHistogram(e) => e.data_points().count(),
        }
    }
    metrics
        .scope_metrics()
        .flat_map(|scope| scope.metrics())
        .map(|metric| match metric.data() {
            AggregatedMetrics::F64(d) => points(d),
            AggregatedMetrics::U64(d) => points(d),
            AggregatedMetrics::I64(d) => points(d),
        })
        .sum()
}
