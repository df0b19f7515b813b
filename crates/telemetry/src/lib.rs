//! parker-telemetry: one call to set up traces, metrics and logs for a
//! Parker Flight service, configured by the standard `OTEL_*` variables (and
//! `config/.env.otel`), exporting OTLP, and never blocking a request path.
//!
//! Not for: business logic, or anything about bookings or the collector.
//!
//! Start with [`init`]: it reads [`config::TelemetryConfig::from_env`],
//! detects the [`resource`], builds the [`export`] pipelines, and installs
//! global providers, the propagator and a `tracing` subscriber; keep the
//! returned [`TelemetryGuard`] alive for the life of the process.
//! Services instrument with `tracing` spans and events; [`propagation`],
//! [`http`], [`db`] and [`exception`] hold the semantic-convention helpers.

pub mod config; // OTEL_* + config/.env.otel parsing
pub mod current_tracer; // the subscriber's tracer, for spans made with the OTel API
pub mod export; // exporters, TLS, bounded queue + drop counting
pub mod guard; // TelemetryGuard, shutdown with deadline
pub mod resource; // resource detection
pub mod stock; // the benchmark's anchor: the SDK-default pipeline (PARKER_TELEMETRY_PIPELINE=stock)

pub mod db; // owner: instrumentation helper — Redis client spans
pub mod exception; // owner: instrumentation helper — exception recording
pub mod http; // owner: instrumentation helper — server tower layer, reqwest client helper
pub mod propagation; // owner: instrumentation helper — W3C traceparent/tracestate/baggage

#[cfg(feature = "testing")]
pub mod testing; // capture.rs: instrumentation helper; otlp_sink.rs: core helper

pub use config::{ConfigError, TelemetryConfig};
pub use guard::{ShutdownError, TelemetryGuard};

use config::Signal;
use std::path::PathBuf;

/// Who the service is; `OTEL_SERVICE_NAME` / `OTEL_RESOURCE_ATTRIBUTES`
/// override these.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceInfo {
    pub name: String,
    pub version: String,
    pub namespace: Option<String>,
}

impl ServiceInfo {
    pub fn new(name: impl Into<String>, version: impl Into<String>) -> Self {
        ServiceInfo {
            name: name.into(),
            version: version.into(),
            namespace: None,
        }
    }

    pub fn with_namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = Some(namespace.into());
        self
    }
}

/// Why telemetry could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InitError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("{var}={}: cannot read certificate file: {source}", path.display())]
    CertificateUnreadable {
        var: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{var}={}: {problem}", path.display())]
    CertificateInvalid {
        var: String,
        path: PathBuf,
        problem: String,
    },
    #[error("TLS setup failed: {0}")]
    Tls(String),
    #[error("cannot build the OTLP {signal} exporter: {message}")]
    Exporter { signal: Signal, message: String },
    #[error("cannot start the telemetry export runtime: {0}")]
    Runtime(#[source] std::io::Error),
    #[error("PARKER_TELEMETRY_PIPELINE={0}: expected `parker` (the default) or `stock`")]
    Pipeline(String),
    #[error("a global tracing subscriber is already installed (was init called twice?)")]
    AlreadyInitialized,
}

/// Reads the real process env overlaid on the env file, then [`init_with`].
/// Call it once, early in `main`. It does not need the caller's tokio
/// runtime: exports run on a small runtime of the library's own, so the
/// guard can be dropped on a current-thread runtime.
///
/// `PARKER_TELEMETRY_PIPELINE=stock` builds [`stock::init`]'s pipeline
/// instead (the benchmark's anchor); any other value is refused.
pub fn init(service: ServiceInfo) -> Result<TelemetryGuard, InitError> {
    match std::env::var(stock::PIPELINE_VAR).ok().as_deref() {
        None | Some("") | Some("parker") => init_with(service, TelemetryConfig::from_env()?),
        Some("stock") => stock::init(service),
        Some(other) => Err(InitError::Pipeline(other.to_owned())),
    }
}

/// [`build`], then installs the global tracer/meter providers, the
/// propagator and the `tracing` subscriber. A second call fails with
/// [`InitError::AlreadyInitialized`]. With `OTEL_SDK_DISABLED=true` only the
/// fmt subscriber is installed and the globals stay no-op.
pub fn init_with(
    service: ServiceInfo,
    config: TelemetryConfig,
) -> Result<TelemetryGuard, InitError> {
    let guard = build(service, &config)?;
    tracing::subscriber::set_global_default(guard.subscriber())
        .map_err(|_| InitError::AlreadyInitialized)?;
    if !config.sdk_disabled {
        opentelemetry::global::set_tracer_provider(guard.tracer_provider().clone());
        opentelemetry::global::set_meter_provider(guard.meter_provider().clone());
        opentelemetry::global::set_text_map_propagator(export::propagator(&config.propagators));
    }
    Ok(guard)
}

/// Builds the providers (and the export runtime) without installing
/// anything global: for tests and for processes that wire `tracing`
/// themselves (see [`TelemetryGuard::subscriber`]).
pub fn build(service: ServiceInfo, config: &TelemetryConfig) -> Result<TelemetryGuard, InitError> {
    use opentelemetry_sdk::logs::SdkLoggerProvider;
    use opentelemetry_sdk::metrics::SdkMeterProvider;
    use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};

    if config.sdk_disabled {
        return Ok(TelemetryGuard::new(
            SdkTracerProvider::builder()
                .with_sampler(Sampler::AlwaysOff)
                .build(),
            SdkMeterProvider::builder().build(),
            SdkLoggerProvider::builder().build(),
            None,
            export::Outages::default(),
            config.log_filter.clone(),
            true,
        ));
    }
    let resource = resource::detect(&service, config);
    let runtime = export::build_runtime().map_err(InitError::Runtime)?;
    let handle = runtime.handle().clone();
    let outages = export::Outages::default();
    let providers = {
        let _in_runtime = handle.enter();
        (|| {
            Ok::<_, InitError>((
                export::tracer_provider(config, resource.clone(), &handle, &outages)?,
                export::meter_provider(config, resource.clone(), &handle, &outages)?,
                export::logger_provider(config, resource, &handle, &outages)?,
            ))
        })()
    };
    let (tracer, meter, logger) = match providers {
        Ok(p) => p,
        Err(e) => {
            // Dropping a runtime inside an async context panics.
            runtime.shutdown_background();
            return Err(e);
        }
    };
    Ok(TelemetryGuard::new(
        tracer,
        meter,
        logger,
        Some(runtime),
        outages,
        config.log_filter.clone(),
        false,
    ))
}
