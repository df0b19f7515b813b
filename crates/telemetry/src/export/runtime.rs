//! Runs exporters on the library's own small tokio runtime.
//!
//! The SDK's batch processors and periodic reader export from their own OS
//! threads, but the OTLP gRPC (tonic) and async HTTP (hyper) clients need a
//! tokio reactor. Borrowing the application's runtime would deadlock flushes
//! on a current-thread runtime (its only thread is the one blocked in
//! `drop(guard)`), so exports run on a dedicated one-worker runtime instead.
//! The adapter also enforces the per-export timeout (OTEL_BSP_EXPORT_TIMEOUT
//! and friends), which the SDK's thread-based processors do not.

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

/// The export runtime: one worker thread, named so it shows up in stacks.
pub(crate) fn build_runtime() -> std::io::Result<Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("parker-telemetry-export")
        .enable_all()
        .build()
}

/// Wraps an SDK exporter so each export runs on `handle` with a deadline.
#[derive(Debug)]
pub(crate) struct OnRuntime<E> {
    inner: E,
    handle: Handle,
    timeout: Duration,
    /// For span exporters: the bounded queue whose slots a batch frees.
    queue: Option<Arc<SpanQueue>>,
}

impl<E> OnRuntime<E> {
    pub(crate) fn new(inner: E, handle: Handle, timeout: Duration) -> Self {
        OnRuntime {
            inner,
            handle,
            timeout,
            queue: None,
        }
    }

    pub(crate) fn with_queue(mut self, queue: Arc<SpanQueue>) -> Self {
        self.queue = Some(queue);
        self
    }

    fn run<F>(&self, export: F) -> OTelSdkResult
    where
        F: Future<Output = OTelSdkResult> + Send,
    {
        let timeout = self.timeout;
        let bounded = async move {
            tokio::time::timeout(timeout, export)
                .await
                .unwrap_or(Err(OTelSdkError::Timeout(timeout)))
        };
        if Handle::try_current().is_err() {
            // The usual case: an SDK worker thread.
            return self.handle.block_on(bounded);
        }
        // Called from inside some runtime (e.g. a flush from async code),
        // where Handle::block_on would panic: block a helper thread instead.
        let handle = &self.handle;
        std::thread::scope(|s| {
            s.spawn(move || handle.block_on(bounded))
                .join()
                .unwrap_or_else(|_| Err(OTelSdkError::InternalFailure("export panicked".into())))
        })
    }
}

impl<E: SpanExporter> SpanExporter for OnRuntime<E> {
    fn export(&self, batch: Vec<SpanData>) -> impl Future<Output = OTelSdkResult> + Send {
        if let Some(queue) = &self.queue {
            queue.release(batch.len());
        }
        std::future::ready(self.run(self.inner.export(batch)))
    }
    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        if let Some(queue) = &self.queue {
            queue.warn_if_dropped();
        }
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
        std::future::ready(self.run(self.inner.export(batch)))
    }
    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
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
        std::future::ready(self.run(self.inner.export(metrics)))
    }
    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }
    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }
    fn temporality(&self) -> Temporality {
        self.inner.temporality()
    }
}
