//! Export pipelines: OTLP (gRPC, HTTP/protobuf, HTTP/JSON) or console per
//! signal, batching with a bounded, drop-counting span queue, all exports
//! on the library's own runtime (see `runtime`). Spans over gRPC and
//! HTTP/protobuf go through our own exporter (`traces`), which encodes
//! with `wire`; everything else through opentelemetry-otlp (`otlp`).

mod otlp;
mod outage;
mod queue;
mod runtime;
mod traces;
pub mod wire;

pub use outage::dropped_after_export;
pub use queue::dropped_spans;
pub use runtime::EXPORT_NICE_OFFSET;

pub(crate) use outage::Outages;
pub(crate) use runtime::build_runtime;

use crate::InitError;
use crate::config::Signal;
use crate::config::{BatchConfig, ExporterKind, Propagator, SamplerConfig, TelemetryConfig};
use crate::propagation::TraceContextPropagator;
use opentelemetry::KeyValue;
use opentelemetry::metrics::MeterProvider;
use opentelemetry::propagation::TextMapCompositePropagator;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::logs::{BatchLogProcessor, SdkLoggerProvider};
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::propagation::BaggagePropagator;
use opentelemetry_sdk::trace::{BatchSpanProcessor, Sampler, SdkTracerProvider, SpanExporter};
use queue::{CountingProcessor, SpanQueue};
use runtime::OnRuntime;
use tokio::runtime::Handle;

/// Name of the counter of dropped spans, with attribute `reason`:
/// `queue_full` (the bounded queue had no room: [`dropped_spans`]) or
/// `export_failed` (the batch was refused for good, or still failing when
/// the export timeout ran out: [`dropped_after_export`]).
pub const DROPPED_SPANS_METRIC: &str = "parker.telemetry.spans.dropped";

/// The SDK sampler for a configured one.
pub fn sampler(config: SamplerConfig) -> Sampler {
    match config {
        SamplerConfig::AlwaysOn => Sampler::AlwaysOn,
        SamplerConfig::AlwaysOff => Sampler::AlwaysOff,
        SamplerConfig::TraceIdRatio(r) => Sampler::TraceIdRatioBased(r),
        SamplerConfig::ParentBasedAlwaysOn => Sampler::ParentBased(Box::new(Sampler::AlwaysOn)),
        SamplerConfig::ParentBasedAlwaysOff => Sampler::ParentBased(Box::new(Sampler::AlwaysOff)),
        SamplerConfig::ParentBasedTraceIdRatio(r) => {
            Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(r)))
        }
    }
}

/// The composite propagator for `OTEL_PROPAGATORS` (empty list: no-op).
pub fn propagator(list: &[Propagator]) -> TextMapCompositePropagator {
    let parts: Vec<Box<dyn opentelemetry::propagation::TextMapPropagator + Send + Sync>> = list
        .iter()
        .map(
            |p| -> Box<dyn opentelemetry::propagation::TextMapPropagator + Send + Sync> {
                match p {
                    Propagator::TraceContext => Box::new(TraceContextPropagator::new()),
                    Propagator::Baggage => Box::new(BaggagePropagator::new()),
                }
            },
        )
        .collect();
    TextMapCompositePropagator::new(parts)
}

fn span_batch(b: &BatchConfig) -> opentelemetry_sdk::trace::BatchConfig {
    opentelemetry_sdk::trace::BatchConfigBuilder::default()
        .with_max_queue_size(b.max_queue_size)
        .with_max_export_batch_size(b.max_export_batch_size)
        .with_scheduled_delay(b.schedule_delay)
        .build()
}

fn log_batch(b: &BatchConfig) -> opentelemetry_sdk::logs::BatchConfig {
    opentelemetry_sdk::logs::BatchConfigBuilder::default()
        .with_max_queue_size(b.max_queue_size)
        .with_max_export_batch_size(b.max_export_batch_size)
        .with_scheduled_delay(b.schedule_delay)
        .build()
}

/// Must run inside `handle`'s context: the gRPC channel is created there.
pub(crate) fn tracer_provider(
    config: &TelemetryConfig,
    resource: Resource,
    handle: &Handle,
    outages: &Outages,
) -> Result<SdkTracerProvider, InitError> {
    let builder = SdkTracerProvider::builder()
        .with_resource(resource)
        .with_sampler(sampler(config.sampler));
    let b = &config.span_batch;
    let queue = SpanQueue::new(b.max_queue_size);
    let processor = match config.traces.exporter {
        ExporterKind::None => return Ok(builder.build()),
        ExporterKind::Otlp => {
            let outage = &outages.traces;
            match otlp::span_exporter(&config.traces.otlp, &config.retry, b.export_timeout, outage)?
            {
                otlp::OtlpSpanExporter::Wire(e) => {
                    batch_processor(on_runtime_of(e, handle, b, &queue, outages), b)
                }
                otlp::OtlpSpanExporter::Json(e) => {
                    batch_processor(on_runtime_of(e, handle, b, &queue, outages), b)
                }
            }
        }
        ExporterKind::Console => batch_processor(
            on_runtime_of(
                opentelemetry_stdout::SpanExporter::default(),
                handle,
                b,
                &queue,
                outages,
            ),
            b,
        ),
    };
    Ok(builder
        .with_span_processor(CountingProcessor {
            inner: processor,
            queue,
        })
        .build())
}

fn on_runtime_of<E>(
    exporter: E,
    handle: &Handle,
    b: &BatchConfig,
    queue: &std::sync::Arc<SpanQueue>,
    outages: &Outages,
) -> OnRuntime<E> {
    OnRuntime::new(
        exporter,
        handle.clone(),
        b.export_timeout,
        outages.traces.clone(),
    )
    .with_queue(queue.clone())
}

fn batch_processor<E: SpanExporter + 'static>(exporter: E, b: &BatchConfig) -> BatchSpanProcessor {
    BatchSpanProcessor::builder(exporter)
        .with_batch_config(span_batch(b))
        .build()
}

/// Must run inside `handle`'s context.
pub(crate) fn meter_provider(
    config: &TelemetryConfig,
    resource: Resource,
    handle: &Handle,
    outages: &Outages,
) -> Result<SdkMeterProvider, InitError> {
    let builder = SdkMeterProvider::builder().with_resource(resource);
    let timeout = config.metric_export_timeout;
    let builder = match config.metrics.exporter {
        ExporterKind::None => builder,
        ExporterKind::Otlp => {
            let exporter = otlp::metric_exporter(
                &config.metrics.otlp,
                &config.retry,
                timeout,
                &outages.metrics,
            )?;
            builder.with_reader(periodic_reader(exporter, config, handle, outages))
        }
        ExporterKind::Console => builder.with_reader(periodic_reader(
            opentelemetry_stdout::MetricExporter::default(),
            config,
            handle,
            outages,
        )),
    };
    let provider = builder.build();
    register_drop_metric(&provider);
    Ok(provider)
}

/// A reader that exports on our runtime, bounded by the export timeout
/// and watched by the metrics outage tracker.
fn periodic_reader<E: PushMetricExporter>(
    exporter: E,
    config: &TelemetryConfig,
    handle: &Handle,
    outages: &Outages,
) -> PeriodicReader<OnRuntime<E>> {
    let timeout = config.metric_export_timeout;
    PeriodicReader::builder(OnRuntime::new(
        exporter,
        handle.clone(),
        timeout,
        outages.metrics.clone(),
    ))
    .with_interval(config.metric_export_interval)
    .build()
}

/// Must run inside `handle`'s context.
pub(crate) fn logger_provider(
    config: &TelemetryConfig,
    resource: Resource,
    handle: &Handle,
    outages: &Outages,
) -> Result<SdkLoggerProvider, InitError> {
    let builder = SdkLoggerProvider::builder().with_resource(resource);
    let b = &config.log_batch;
    let builder = match config.logs.exporter {
        ExporterKind::None => builder,
        ExporterKind::Otlp => {
            let exporter = otlp::log_exporter(
                &config.logs.otlp,
                &config.retry,
                b.export_timeout,
                &outages.logs,
            )?;
            let exporter = OnRuntime::new(
                exporter,
                handle.clone(),
                b.export_timeout,
                outages.logs.clone(),
            );
            builder.with_log_processor(
                BatchLogProcessor::builder(exporter)
                    .with_batch_config(log_batch(b))
                    .build(),
            )
        }
        ExporterKind::Console => {
            let exporter = OnRuntime::new(
                opentelemetry_stdout::LogExporter::default(),
                handle.clone(),
                b.export_timeout,
                outages.logs.clone(),
            );
            builder.with_log_processor(
                BatchLogProcessor::builder(exporter)
                    .with_batch_config(log_batch(b))
                    .build(),
            )
        }
    };
    Ok(builder.build())
}

/// `parker.telemetry.spans.dropped`: observed from [`dropped_spans`] and
/// [`dropped_after_export`] at each collection, so counting a drop costs
/// one atomic add. One counter with a `reason`, not two, so "spans lost"
/// is one sum and a dashboard can still tell a small queue from a down
/// collector.
fn register_drop_metric(provider: &SdkMeterProvider) {
    // The SDK keeps the callback registered for the provider's lifetime.
    let _counter = provider
        .meter("parker-telemetry")
        .u64_observable_counter(DROPPED_SPANS_METRIC)
        .with_unit("{span}")
        .with_description(
            "Spans dropped: the export queue was full (reason=queue_full) or their batch's export failed (reason=export_failed)",
        )
        .with_callback(|observer| {
            observer.observe(dropped_spans(), &[KeyValue::new("reason", "queue_full")]);
            observer.observe(
                dropped_after_export(Signal::Traces),
                &[KeyValue::new("reason", "export_failed")],
            );
        })
        .build();
}
