//! [`TelemetryGuard`]: owns the providers and the export runtime, and on
//! drop flushes and shuts them down within a fixed deadline. Shutdown runs on
//! its own OS thread and the caller waits with a timeout, so it never hangs
//! the process and never deadlocks a current-thread tokio runtime (exports
//! do not need the caller's runtime at all: they run on ours).

use opentelemetry::trace::TracerProvider;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};

use crate::current_tracer::TracerLayer;
use crate::export::Outages;

pub(crate) mod log_bridge;
use std::time::{Duration, Instant};
use tokio::runtime::Runtime;
use tracing_subscriber::filter::{FilterExt, LevelFilter, Targets, filter_fn};
use tracing_subscriber::layer::{Layered, SubscriberExt};
use tracing_subscriber::{EnvFilter, Layer, Registry};

/// Total time allowed for flushing and shutting down all providers.
pub const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(5);

/// Why shutdown did not finish cleanly.
#[derive(Debug, thiserror::Error)]
pub enum ShutdownError {
    #[error("telemetry shutdown did not finish within {0:?}; unsent telemetry was dropped")]
    Timeout(Duration),
    #[error("telemetry shutdown failed: {0}")]
    Providers(String),
}

/// Keeps telemetry running; dropping it flushes and shuts everything down.
#[must_use = "dropping the guard shuts telemetry down"]
pub struct TelemetryGuard {
    inner: Option<Inner>,
}

struct Inner {
    tracer: SdkTracerProvider,
    meter: SdkMeterProvider,
    logger: SdkLoggerProvider,
    runtime: Option<Runtime>,
    /// Told when shutdown begins, so failing exports stop retrying.
    outages: Outages,
    log_filter: String,
    sdk_disabled: bool,
}

impl std::fmt::Debug for TelemetryGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TelemetryGuard")
            .field("active", &self.inner.is_some())
            .finish()
    }
}

impl TelemetryGuard {
    pub(crate) fn new(
        tracer: SdkTracerProvider,
        meter: SdkMeterProvider,
        logger: SdkLoggerProvider,
        runtime: Option<Runtime>,
        outages: Outages,
        log_filter: String,
        sdk_disabled: bool,
    ) -> Self {
        TelemetryGuard {
            inner: Some(Inner {
                tracer,
                meter,
                logger,
                runtime,
                outages,
                log_filter,
                sdk_disabled,
            }),
        }
    }

    fn inner(&self) -> &Inner {
        // `inner` is only taken by `shutdown(self)` and `drop`.
        self.inner
            .as_ref()
            .expect("TelemetryGuard used after shutdown")
    }

    pub fn tracer_provider(&self) -> &SdkTracerProvider {
        &self.inner().tracer
    }

    pub fn meter_provider(&self) -> &SdkMeterProvider {
        &self.inner().meter
    }

    pub fn logger_provider(&self) -> &SdkLoggerProvider {
        &self.inner().logger
    }

    /// The tracing subscriber `init` installs: fmt to stderr and the logs
    /// bridge (events become log records carrying the active span's
    /// trace/span id), both filtered by `RUST_LOG`, and the OpenTelemetry
    /// span layer. Use it with `tracing::subscriber::set_default` to test
    /// without globals.
    ///
    /// Filters are per layer, so each layer only pays for what it uses:
    /// - fmt sees events only. Shown spans would make it format every field
    ///   of every span into its extensions (the largest single cost per
    ///   request), for log lines that rarely come. Log lines lose the span
    ///   prefix; the log records keep their trace/span id.
    /// - the span layer sees every span (the sampler decides what is
    ///   exported, not `RUST_LOG`: `RUST_LOG=warn` must not silence traces)
    ///   and the events `RUST_LOG` lets through (they become span events).
    /// - the logs bridge sees events only; a record carries the event's
    ///   code location as `code.file.path`/`code.line.number` and its time
    ///   (see [`log_bridge`]).
    /// - nothing of the export path itself, or every export would produce
    ///   more to export.
    ///
    /// Layers disagree about most callsites, so every span and event asks
    /// each filter; the cheap kind test comes first so that the `RUST_LOG`
    /// directives and the target list only run where they matter.
    pub fn subscriber(&self) -> Box<dyn tracing::Subscriber + Send + Sync> {
        let inner = self.inner();
        // Validated when the config was parsed.
        let log_filter =
            || EnvFilter::try_new(&inner.log_filter).unwrap_or_else(|_| EnvFilter::new("info"));
        let fmt = tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_filter(filter_fn(|meta| meta.is_event()).and(log_filter()));
        let base = Registry::default().with(fmt);
        if inner.sdk_disabled {
            return Box::new(base);
        }
        let otel = span_layer(inner.tracer.tracer("parker-telemetry")).with_filter(
            filter_fn(|meta| meta.is_span())
                .or(log_filter())
                .and(no_export_feedback()),
        );
        let logs = log_bridge::log_bridge(&inner.logger).with_filter(
            filter_fn(|meta| meta.is_event())
                .and(log_filter())
                .and(no_export_feedback()),
        );
        Box::new(base.with(otel).with(logs))
    }

    /// Flushes and shuts down all providers, waiting at most
    /// [`SHUTDOWN_DEADLINE`].
    pub fn shutdown(mut self) -> Result<(), ShutdownError> {
        match self.inner.take() {
            Some(inner) => shutdown(inner),
            None => Ok(()),
        }
    }
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(inner) = self.inner.take()
            && let Err(e) = shutdown(inner)
        {
            eprintln!("parker-telemetry: {e}");
        }
    }
}

/// The tracing-opentelemetry layer as services use it, with its tracer
/// carried for spans made directly with the OpenTelemetry API (the HTTP
/// server span, see [`crate::current_tracer`]). Off, for cost per span:
/// `code.*` location, `thread.*` and `target` attributes (they name our
/// instrumentation, not the caller's code; semconv attributes carry what
/// matters) and busy/idle time tracking (a clock read and an extensions
/// lock on every enter and exit, i.e. every poll of a request's future).
pub fn span_layer<S>(
    tracer: SdkTracer,
) -> Layered<TracerLayer, tracing_opentelemetry::OpenTelemetryLayer<S, SdkTracer>, S>
where
    S: tracing::Subscriber + for<'span> tracing_subscriber::registry::LookupSpan<'span>,
{
    tracing_opentelemetry::layer()
        .with_tracer(tracer.clone())
        .with_location(false)
        .with_threads(false)
        .with_target(false)
        .with_tracked_inactivity(false)
        .and_then(TracerLayer::new(tracer))
}

/// Events and spans of the export path itself (HTTP/gRPC clients, the SDK)
/// must not be exported, or every export would produce more to export.
fn no_export_feedback() -> Targets {
    Targets::new()
        .with_default(LevelFilter::TRACE)
        .with_targets(
            [
                "hyper",
                "hyper_util",
                "hyper_rustls",
                "h2",
                "tonic",
                "tower",
                "rustls",
                "reqwest",
                "opentelemetry",
                "opentelemetry_sdk",
                "opentelemetry_otlp",
                "opentelemetry_http",
                // Our own export warnings (queue full, outages).
                "parker_telemetry::export",
            ]
            .map(|t| (t, LevelFilter::OFF)),
        )
}

fn shutdown(inner: Inner) -> Result<(), ShutdownError> {
    // A collector that is down now gets one more attempt per batch, not
    // the rest of the export timeout: the deadline below is for all three
    // signals.
    inner.outages.stop();
    let (done, wait) = std::sync::mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("parker-telemetry-shutdown".into())
        .spawn(move || {
            let deadline = Instant::now() + SHUTDOWN_DEADLINE;
            let left = || deadline.saturating_duration_since(Instant::now());
            let mut problems = Vec::new();
            let mut timed_out = false;
            let mut run = |what: &str, shutdown: &dyn Fn(Duration) -> OTelSdkResult| {
                let budget = left();
                let started = Instant::now();
                match shutdown(budget) {
                    Ok(()) | Err(OTelSdkError::AlreadyShutdown) => {}
                    // Providers fold their processors' timeouts into other
                    // errors; a failure that used the whole budget is one.
                    Err(_) if started.elapsed() >= budget => timed_out = true,
                    Err(e) => problems.push(format!("{what}: {e}")),
                }
            };
            run("traces", &|t| inner.tracer.shutdown_with_timeout(t));
            run("logs", &|t| inner.logger.shutdown_with_timeout(t));
            run("metrics", &|t| inner.meter.shutdown_with_timeout(t));
            let _ = done.send((timed_out, problems));
            if let Some(rt) = inner.runtime {
                if timed_out {
                    // An SDK worker may still be inside an export on this
                    // runtime; shutting it down would panic that thread. The
                    // process is stopping anyway: let the runtime go.
                    std::mem::forget(rt);
                } else {
                    rt.shutdown_timeout(Duration::from_millis(200));
                }
            }
        });
    if spawned.is_err() {
        return Err(ShutdownError::Providers(
            "cannot spawn the shutdown thread".into(),
        ));
    }
    // A little slack over the providers' own deadline for the thread itself.
    match wait.recv_timeout(SHUTDOWN_DEADLINE + Duration::from_millis(500)) {
        Ok((true, _)) => Err(ShutdownError::Timeout(SHUTDOWN_DEADLINE)),
        Ok((false, problems)) if problems.is_empty() => Ok(()),
        Ok((false, problems)) => Err(ShutdownError::Providers(problems.join("; "))),
        Err(_) => Err(ShutdownError::Timeout(SHUTDOWN_DEADLINE)),
    }
}
