//! [`Capture`]: an in-memory OpenTelemetry pipeline for tests — finished spans,
//! metrics and log records of the code under test, with helpers to assert on
//! them.
//!
//! Spans and logs go through `tracing` exactly as in production (the same
//! span layer, [`crate::guard::span_layer`], and the logs bridge,
//! [`crate::guard::log_bridge`]), but into a subscriber
//! installed with `tracing::subscriber::set_default`: it applies to the current
//! thread only, so tests running in parallel do not see each other's spans.
//! Async tests must therefore run on a current-thread runtime
//! (`#[tokio::test]`'s default), where every task polls on this thread.
//! Metrics have no per-thread provider in OpenTelemetry: pass
//! [`Capture::meter`] to the instrument (`HttpServerLayer::with_meter`, ...).

use std::sync::OnceLock;
use std::time::Duration;

use crate::propagation::TraceContextPropagator;
use opentelemetry::metrics::{Meter, MeterProvider as _};
use opentelemetry::propagation::TextMapCompositePropagator;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::logs::{InMemoryLogExporter, SdkLoggerProvider, SimpleLogProcessor};
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, Metric, MetricData, ResourceMetrics};
use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::propagation::BaggagePropagator;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use tracing_subscriber::layer::SubscriberExt as _;

pub use opentelemetry_sdk::logs::in_memory_exporter::LogDataWithResource;

/// An installed in-memory pipeline; dropping it uninstalls the subscriber and
/// shuts the providers down.
pub struct Capture {
    spans: InMemorySpanExporter,
    tracer_provider: SdkTracerProvider,
    metrics: InMemoryMetricExporter,
    meter_provider: SdkMeterProvider,
    logs: InMemoryLogExporter,
    logger_provider: SdkLoggerProvider,
    _subscriber: tracing::subscriber::DefaultGuard,
}

impl Capture {
    /// Installs the pipeline for the current thread. Also installs (once per
    /// process) the W3C tracecontext + baggage global propagator that
    /// `parker_telemetry::init` would install by default, so
    /// `propagation::extract`/`inject` behave as in production.
    pub fn install() -> Capture {
        static PROPAGATOR: OnceLock<()> = OnceLock::new();
        PROPAGATOR.get_or_init(|| {
            opentelemetry::global::set_text_map_propagator(TextMapCompositePropagator::new(vec![
                Box::new(TraceContextPropagator::new()),
                Box::new(BaggagePropagator::new()),
            ]));
        });

        let spans = InMemorySpanExporter::default();
        // Simple (synchronous) export: a span is visible the moment it ends.
        let tracer_provider = SdkTracerProvider::builder()
            .with_simple_exporter(spans.clone())
            .build();
        let metrics = InMemoryMetricExporter::default();
        let meter_provider = SdkMeterProvider::builder()
            .with_reader(PeriodicReader::builder(metrics.clone()).build())
            .build();
        let logs = InMemoryLogExporter::default();
        let logger_provider = SdkLoggerProvider::builder()
            .with_log_processor(SimpleLogProcessor::new(logs.clone()))
            .build();

        // The production span layer (no code.*/thread.*/target attributes, no
        // busy/idle tracking), so captured spans look like exported ones.
        let subscriber = tracing_subscriber::registry()
            .with(crate::guard::span_layer(tracer_provider.tracer("capture")))
            .with(crate::guard::log_bridge::log_bridge(&logger_provider));
        let _subscriber = tracing::subscriber::set_default(subscriber);
        Capture {
            spans,
            tracer_provider,
            metrics,
            meter_provider,
            logs,
            logger_provider,
            _subscriber,
        }
    }

    /// A meter of this capture's provider, for instruments under test.
    pub fn meter(&self) -> Meter {
        self.meter_provider.meter_with_scope(crate::http::scope())
    }

    /// The tracer provider behind the capture's `tracing` layer.
    pub fn tracer_provider(&self) -> &SdkTracerProvider {
        &self.tracer_provider
    }

    /// All spans finished so far, in the order they ended.
    pub fn spans(&self) -> Vec<SpanData> {
        self.spans
            .get_finished_spans()
            .expect("in-memory span exporter is never shut down while Capture lives")
    }

    /// Finished spans named `name`.
    pub fn spans_named(&self, name: &str) -> Vec<SpanData> {
        self.spans()
            .into_iter()
            .filter(|s| s.name == name)
            .collect()
    }

    /// The one finished span named `name`; panics listing the names seen when
    /// there is none or more than one.
    pub fn span_named(&self, name: &str) -> SpanData {
        let spans = self.spans();
        let mut matching: Vec<SpanData> =
            spans.iter().filter(|s| s.name == name).cloned().collect();
        match matching.len() {
            1 => matching.remove(0),
            n => {
                let names: Vec<&str> = spans.iter().map(|s| s.name.as_ref()).collect();
                panic!(
                    "expected exactly one span named {name:?}, found {n}; finished spans: {names:?}"
                )
            }
        }
    }

    /// Waits (polling, at most `timeout`) until a span named `name` has
    /// finished and returns it; panics listing the names seen on timeout.
    /// Servers end their span after the response is handed over, so a client
    /// can see the response first.
    pub async fn wait_for_span(&self, name: &str, timeout: Duration) -> SpanData {
        let spans = self
            .wait_for_spans(|spans| spans.iter().any(|s| s.name == name), timeout)
            .await;
        spans
            .into_iter()
            .find(|s| s.name == name)
            .expect("wait_for_spans returned only once the predicate held")
    }

    /// Waits (polling, at most `timeout`) until `pred` holds for the finished
    /// spans and returns them; panics listing the names seen on timeout.
    pub async fn wait_for_spans(
        &self,
        pred: impl Fn(&[SpanData]) -> bool,
        timeout: Duration,
    ) -> Vec<SpanData> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let spans = self.spans();
            if pred(&spans) {
                return spans;
            }
            if tokio::time::Instant::now() >= deadline {
                let names: Vec<&str> = spans.iter().map(|s| s.name.as_ref()).collect();
                panic!("spans did not match within {timeout:?}; finished spans: {names:?}");
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Log records emitted so far (from `tracing` events).
    pub fn logs(&self) -> Vec<LogDataWithResource> {
        self.logs
            .get_emitted_logs()
            .expect("in-memory log exporter is never shut down while Capture lives")
    }

    /// Collects and returns the metrics recorded so far (cumulative).
    pub fn metrics(&self) -> Vec<ResourceMetrics> {
        self.metrics.reset();
        self.meter_provider
            .force_flush()
            .expect("flushing the in-memory meter provider");
        self.metrics
            .get_finished_metrics()
            .expect("in-memory metric exporter is never shut down while Capture lives")
    }

    /// The histogram named `name` from a fresh collection: one
    /// `(attributes, count, sum, bucket bounds)` per data point. Panics listing
    /// the metric names seen when it is missing or not an f64 histogram.
    pub fn histogram(&self, name: &str) -> Vec<HistogramPoint> {
        let collected = self.metrics();
        let metrics: Vec<&Metric> = collected
            .iter()
            .flat_map(|rm| rm.scope_metrics())
            .flat_map(|sm| sm.metrics())
            .collect();
        let Some(metric) = metrics.iter().find(|m| m.name() == name) else {
            let names: Vec<&str> = metrics.iter().map(|m| m.name()).collect();
            panic!("no metric named {name:?}; metrics seen: {names:?}");
        };
        let AggregatedMetrics::F64(MetricData::Histogram(histogram)) = metric.data() else {
            panic!("metric {name:?} is not an f64 histogram");
        };
        histogram
            .data_points()
            .map(|p| HistogramPoint {
                attributes: p.attributes().cloned().collect(),
                count: p.count(),
                sum: p.sum(),
                bounds: p.bounds().collect(),
            })
            .collect()
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        // Errors here only mean "already shut down".
        let _ = self.tracer_provider.shutdown();
        let _ = self.meter_provider.shutdown();
        let _ = self.logger_provider.shutdown();
    }
}

/// One data point of a captured histogram.
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramPoint {
    pub attributes: Vec<KeyValue>,
    pub count: u64,
    pub sum: f64,
    pub bounds: Vec<f64>,
}

impl HistogramPoint {
    /// The attribute `key` as a string (`None` when absent).
    pub fn attr(&self, key: &str) -> Option<String> {
        find(&self.attributes, key).map(|v| v.to_string())
    }
}

/// Attribute lookups on captured spans.
pub trait SpanDataExt {
    /// The attribute `key`, if set.
    fn attr_value(&self, key: &str) -> Option<&Value>;
    /// The attribute `key` rendered as a string, if set.
    fn attr(&self, key: &str) -> Option<String> {
        self.attr_value(key).map(|v| v.to_string())
    }
    /// The attribute `key` as an integer, if set and an integer.
    fn attr_i64(&self, key: &str) -> Option<i64> {
        match self.attr_value(key) {
            Some(Value::I64(v)) => Some(*v),
            _ => None,
        }
    }
    /// Attributes of the first event named `name` (`None` when there is none).
    fn event_attrs(&self, name: &str) -> Option<Vec<KeyValue>>;
}

impl SpanDataExt for SpanData {
    fn attr_value(&self, key: &str) -> Option<&Value> {
        find(&self.attributes, key)
    }

    fn event_attrs(&self, name: &str) -> Option<Vec<KeyValue>> {
        self.events
            .iter()
            .find(|e| e.name == name)
            .map(|e| e.attributes.clone())
    }
}

/// The value of `key` in a list of attributes.
pub fn find<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a Value> {
    attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| &kv.value)
}
