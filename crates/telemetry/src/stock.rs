//! The stock pipeline: traces set up the way opentelemetry-rust users do it
//! by default, selected with `PARKER_TELEMETRY_PIPELINE=stock`.
//!
//! It exists as the anchor of the `api_throughput` benchmark (parker-booking),
//! which measures what our pipeline costs against this one on the same
//! service; it is not meant for production. What it builds, and nothing more:
//! an `opentelemetry-otlp` span exporter over gRPC (tonic), configured by the
//! standard `OTEL_EXPORTER_OTLP_*` variables; the SDK's `BatchSpanProcessor`
//! with its defaults (`OTEL_BSP_*` as the SDK reads them); the SDK's default
//! sampler (`OTEL_TRACES_SAMPLER`/`_ARG` as the SDK reads them); the
//! `tracing-opentelemetry` layer with its defaults; a fmt layer filtered by
//! `RUST_LOG`; the W3C trace-context propagator. No metrics, no logs export,
//! no drop counting, no export runtime of our own: the tonic channel runs on
//! the caller's runtime, as in the opentelemetry-otlp examples.
//!
//! The subscriber also carries a [`TracerLayer`], so the service's HTTP
//! server span (made by [`crate::http::HttpServerLayer`] with the
//! subscriber's tracer) is recorded here too: both pipelines export the same
//! spans, and the benchmark compares pipelines, not instrumentation.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::current_tracer::TracerLayer;
use crate::export::Outages;
use crate::{InitError, ServiceInfo, TelemetryGuard};

/// The variable that selects the pipeline [`crate::init`] builds.
pub const PIPELINE_VAR: &str = "PARKER_TELEMETRY_PIPELINE";

/// Builds and installs the stock pipeline (see the module doc). Must run
/// inside a tokio runtime: the gRPC channel is created on it. The guard
/// flushes and shuts the tracer provider down on drop, as [`crate::init`]'s
/// does.
pub fn init(service: ServiceInfo) -> Result<TelemetryGuard, InitError> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .build()
        .map_err(|e| InitError::Exporter {
            signal: crate::config::Signal::Traces,
            message: e.to_string(),
        })?;
    let provider = SdkTracerProvider::builder()
        .with_resource(Resource::builder().with_service_name(service.name).build())
        .with_batch_exporter(exporter)
        .build();
    let tracer = provider.tracer("parker-telemetry");
    let log_filter = std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into());
    let filter = || EnvFilter::try_new(&log_filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let subscriber = tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_filter(filter()),
        )
        .with(
            tracing_opentelemetry::layer()
                .with_tracer(tracer.clone())
                .and_then(TracerLayer::new(tracer))
                .with_filter(filter()),
        );
    tracing::subscriber::set_global_default(subscriber)
        .map_err(|_| InitError::AlreadyInitialized)?;
    opentelemetry::global::set_tracer_provider(provider.clone());
    opentelemetry::global::set_text_map_propagator(
        opentelemetry_sdk::propagation::TraceContextPropagator::new(),
    );
    Ok(TelemetryGuard::new(
        provider,
        SdkMeterProvider::builder().build(),
        SdkLoggerProvider::builder().build(),
        None,
        Outages::default(),
        log_filter,
        false,
    ))
}
