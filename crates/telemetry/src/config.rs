//! Typed configuration from the standard `OTEL_*` variables and the optional
//! env file. Parsing is pure (`from_source` takes a map), so every variable
//! and every malformed value is testable without touching the process
//! environment. Certificate files are only named here; they are read when the
//! exporters are built (see `export`).
//!
//! opentelemetry-otlp reads some of these variables itself, but only from the
//! process environment and without CERTIFICATE/CLIENT_*/PROPAGATORS, and it
//! ignores malformed values. We parse everything here, fail loudly, and pass
//! every value to the exporter builders explicitly.

mod env_file;
mod error;
mod values;

pub use env_file::{DEFAULT_ENV_FILE, load_env_file, overlay_env_file, parse_env_file};
pub use error::ConfigError;
pub use values::Headers;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;
use values::{Source, parse_headers, parse_pairs, parse_ratio};

/// Everything `init` needs, resolved per signal.
#[derive(Clone, Debug)]
pub struct TelemetryConfig {
    /// `OTEL_SDK_DISABLED=true`: only the fmt subscriber, no-op providers.
    pub sdk_disabled: bool,
    /// `OTEL_SERVICE_NAME`, which wins over `ServiceInfo::name`.
    pub service_name: Option<String>,
    /// `OTEL_RESOURCE_ATTRIBUTES`, decoded, in order.
    pub resource_attributes: Vec<(String, String)>,
    pub traces: SignalConfig,
    pub metrics: SignalConfig,
    pub logs: SignalConfig,
    pub sampler: SamplerConfig,
    /// `OTEL_BSP_*`.
    pub span_batch: BatchConfig,
    /// `OTEL_BLRP_*`.
    pub log_batch: BatchConfig,
    /// `OTEL_METRIC_EXPORT_INTERVAL`.
    pub metric_export_interval: Duration,
    /// `OTEL_METRIC_EXPORT_TIMEOUT`.
    pub metric_export_timeout: Duration,
    /// `OTEL_PROPAGATORS`, in order; empty for `none`.
    pub propagators: Vec<Propagator>,
    /// `RUST_LOG` directives for the fmt subscriber (default `info`).
    pub log_filter: String,
    /// Retry of failed exports (not an OTEL variable), honouring
    /// Retry-After / RetryInfo.
    pub retry: RetryConfig,
    /// The whole key/value source, for resource detectors (K8S_*, AWS_*, …).
    pub env: EnvVars,
}

/// The key/value source config was read from. It may hold secrets (headers,
/// tokens of unrelated tools), so `Debug` prints the names only.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct EnvVars(pub HashMap<String, String>);

impl std::ops::Deref for EnvVars {
    type Target = HashMap<String, String>;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl std::fmt::Debug for EnvVars {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<&String> = self.0.keys().collect();
        names.sort();
        write!(f, "EnvVars{names:?}")
    }
}

/// Where and how one signal is exported.
#[derive(Clone, Debug, PartialEq)]
pub struct SignalConfig {
    pub exporter: ExporterKind,
    pub otlp: OtlpConfig,
}

/// `OTEL_{TRACES,METRICS,LOGS}_EXPORTER`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExporterKind {
    Otlp,
    Console,
    None,
}

/// OTLP exporter settings for one signal, after per-signal/generic resolution.
#[derive(Clone, Debug, PartialEq)]
pub struct OtlpConfig {
    /// Final URL: for HTTP it includes the signal path (`/v1/traces`).
    pub endpoint: String,
    pub protocol: Protocol,
    pub headers: Headers,
    /// `OTEL_EXPORTER_OTLP[_<SIGNAL>]_TIMEOUT`: per request, over HTTP and
    /// gRPC alike (one batch may retry until the processor's export timeout).
    pub timeout: Duration,
    pub compression: Compression,
    /// Trusted CA (PEM) for the server's certificate, with the variable
    /// that named it.
    pub certificate: Option<PemFile>,
    /// Client certificate and key (PEM) for mTLS.
    pub client_certificate: Option<PemFile>,
    pub client_key: Option<PemFile>,
}

/// A PEM file named by a variable; read at init so errors can name both.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PemFile {
    pub var: String,
    pub path: PathBuf,
}

/// `OTEL_EXPORTER_OTLP_PROTOCOL`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    Grpc,
    HttpProtobuf,
    HttpJson,
}

/// `OTEL_EXPORTER_OTLP_COMPRESSION`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
}

/// `OTEL_TRACES_SAMPLER` + `OTEL_TRACES_SAMPLER_ARG`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SamplerConfig {
    AlwaysOn,
    AlwaysOff,
    TraceIdRatio(f64),
    ParentBasedAlwaysOn,
    ParentBasedAlwaysOff,
    ParentBasedTraceIdRatio(f64),
}

/// One `OTEL_PROPAGATORS` entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Propagator {
    TraceContext,
    Baggage,
}

/// A batch processor's knobs (`OTEL_BSP_*` / `OTEL_BLRP_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchConfig {
    pub schedule_delay: Duration,
    pub export_timeout: Duration,
    pub max_queue_size: usize,
    pub max_export_batch_size: usize,
}

/// The three OTLP signals.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Signal {
    Traces,
    Metrics,
    Logs,
}

impl Signal {
    fn upper(self) -> &'static str {
        match self {
            Signal::Traces => "TRACES",
            Signal::Metrics => "METRICS",
            Signal::Logs => "LOGS",
        }
    }
    fn path(self) -> &'static str {
        match self {
            Signal::Traces => "/v1/traces",
            Signal::Metrics => "/v1/metrics",
            Signal::Logs => "/v1/logs",
        }
    }
}

impl std::fmt::Display for Signal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.upper().to_ascii_lowercase())
    }
}

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

impl TelemetryConfig {
    /// The real process environment overlaid on the env file
    /// (`OTEL_ENV_FILE`, else `config/.env.otel` under the working directory
    /// when present). The real environment wins.
    pub fn from_env() -> Result<Self, ConfigError> {
        let process = env_file::process_env()?;
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
        Self::from_env_and_file(&process, &cwd)
    }

    /// As [`from_env`](Self::from_env) with an injected environment and base
    /// directory (for tests and tools).
    pub fn from_env_and_file(
        process: &HashMap<String, String>,
        base_dir: &Path,
    ) -> Result<Self, ConfigError> {
        Self::from_source(&overlay_env_file(process, base_dir)?)
    }

    /// Parses a key/value source. Unset and empty variables take the spec's
    /// defaults; any malformed value is an error.
    pub fn from_source(vars: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let src = Source(vars);
        let resource_attributes = match src.get("OTEL_RESOURCE_ATTRIBUTES") {
            None => Vec::new(),
            Some(v) => parse_pairs(v).map_err(|(n, problem)| {
                ConfigError::invalid(
                    "OTEL_RESOURCE_ATTRIBUTES",
                    v,
                    format!(
                        "key=value pairs separated by commas, values percent-encoded (entry {n} {problem})"
                    ),
                )
            })?,
        };
        let retry = RetryConfig::default();
        Ok(TelemetryConfig {
            sdk_disabled: src.bool("OTEL_SDK_DISABLED", false)?,
            service_name: src.get("OTEL_SERVICE_NAME").map(str::to_owned),
            resource_attributes,
            traces: signal(src, Signal::Traces)?,
            metrics: signal(src, Signal::Metrics)?,
            logs: signal(src, Signal::Logs)?,
            sampler: sampler(src)?,
            span_batch: batch(src, "OTEL_BSP", Duration::from_millis(5000))?,
            log_batch: batch(src, "OTEL_BLRP", Duration::from_millis(1000))?,
            metric_export_interval: positive_millis(
                src,
                "OTEL_METRIC_EXPORT_INTERVAL",
                Duration::from_millis(60_000),
            )?,
            metric_export_timeout: positive_millis(
                src,
                "OTEL_METRIC_EXPORT_TIMEOUT",
                Duration::from_millis(30_000),
            )?,
            propagators: propagators(src)?,
            log_filter: log_filter(src)?,
            retry,
            env: EnvVars(vars.clone()),
        })
    }

    /// The signal's settings.
    pub fn signal(&self, signal: Signal) -> &SignalConfig {
        match signal {
            Signal::Traces => &self.traces,
            Signal::Metrics => &self.metrics,
            Signal::Logs => &self.logs,
        }
    }
}

fn positive_millis(src: Source<'_>, var: &str, default: Duration) -> Result<Duration, ConfigError> {
    let d = src.millis(var, default)?;
    if d.is_zero() {
        return Err(ConfigError::invalid(
            var,
            "0",
            "a whole number of milliseconds greater than 0",
        ));
    }
    Ok(d)
}

fn log_filter(src: Source<'_>) -> Result<String, ConfigError> {
    let Some(v) = src.get("RUST_LOG") else {
        return Ok("info".to_owned());
    };
    tracing_subscriber::EnvFilter::try_new(v).map_err(|e| {
        ConfigError::invalid("RUST_LOG", v, format!("tracing filter directives ({e})"))
    })?;
    Ok(v.to_owned())
}

fn signal(src: Source<'_>, signal: Signal) -> Result<SignalConfig, ConfigError> {
    let s = signal.upper();
    let exporter_var = format!("OTEL_{s}_EXPORTER");
    let exporter = match src.get(&exporter_var) {
        None | Some("otlp") => ExporterKind::Otlp,
        Some("console") => ExporterKind::Console,
        Some("none") => ExporterKind::None,
        Some(v) => {
            return Err(ConfigError::invalid(
                &exporter_var,
                v,
                "otlp, console or none",
            ));
        }
    };
    Ok(SignalConfig {
        exporter,
        otlp: otlp(src, signal)?,
    })
}

/// Per-signal variable first, then the generic one.
fn pick(src: Source<'_>, signal: Signal, suffix: &str) -> Option<(String, String)> {
    src.first(&[
        &format!("OTEL_EXPORTER_OTLP_{}_{suffix}", signal.upper()),
        &format!("OTEL_EXPORTER_OTLP_{suffix}"),
    ])
    .map(|(var, v)| (var, v.to_owned()))
}

fn otlp(src: Source<'_>, signal: Signal) -> Result<OtlpConfig, ConfigError> {
    let protocol = match pick(src, signal, "PROTOCOL") {
        None => Protocol::HttpProtobuf,
        Some((var, v)) => match v.as_str() {
            "grpc" => Protocol::Grpc,
            "http/protobuf" => Protocol::HttpProtobuf,
            "http/json" => Protocol::HttpJson,
            _ => {
                return Err(ConfigError::invalid(
                    &var,
                    &v,
                    "grpc, http/protobuf or http/json",
                ));
            }
        },
    };
    let insecure = match pick(src, signal, "INSECURE") {
        None => false,
        Some((var, v)) => values::parse_bool(&var, &v)?,
    };
    let endpoint = endpoint(src, signal, protocol, insecure)?;
    let headers = match pick(src, signal, "HEADERS") {
        None => Headers::default(),
        Some((var, v)) => parse_headers(&var, &v)?,
    };
    let timeout = match pick(src, signal, "TIMEOUT") {
        None => DEFAULT_TIMEOUT,
        Some((var, v)) => values::parse_millis(&var, &v)?,
    };
    let compression = match pick(src, signal, "COMPRESSION") {
        None => Compression::None,
        Some((var, v)) => match v.as_str() {
            "gzip" => Compression::Gzip,
            "none" => Compression::None,
            _ => return Err(ConfigError::invalid(&var, &v, "gzip or none")),
        },
    };
    let pem = |suffix: &str| {
        pick(src, signal, suffix).map(|(var, path)| PemFile {
            var,
            path: PathBuf::from(path),
        })
    };
    let client_certificate = pem("CLIENT_CERTIFICATE");
    let client_key = pem("CLIENT_KEY");
    match (&client_certificate, &client_key) {
        (Some(c), None) => {
            return Err(ConfigError::Inconsistent {
                var: c.var.clone(),
                value: c.path.display().to_string(),
                problem: format!(
                    "a client certificate needs a key: set OTEL_EXPORTER_OTLP_{}_CLIENT_KEY or OTEL_EXPORTER_OTLP_CLIENT_KEY",
                    signal.upper()
                ),
            });
        }
        (None, Some(k)) => {
            return Err(ConfigError::Inconsistent {
                var: k.var.clone(),
                value: k.path.display().to_string(),
                problem: format!(
                    "a client key needs a certificate: set OTEL_EXPORTER_OTLP_{}_CLIENT_CERTIFICATE or OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
                    signal.upper()
                ),
            });
        }
        _ => {}
    }
    Ok(OtlpConfig {
        endpoint,
        protocol,
        headers,
        timeout,
        compression,
        certificate: pem("CERTIFICATE"),
        client_certificate,
        client_key,
    })
}

fn endpoint(
    src: Source<'_>,
    signal: Signal,
    protocol: Protocol,
    insecure: bool,
) -> Result<String, ConfigError> {
    let per_signal = format!("OTEL_EXPORTER_OTLP_{}_ENDPOINT", signal.upper());
    let (var, raw, is_generic) = if let Some(v) = src.get(&per_signal) {
        (per_signal.as_str(), v, false)
    } else if let Some(v) = src.get("OTEL_EXPORTER_OTLP_ENDPOINT") {
        ("OTEL_EXPORTER_OTLP_ENDPOINT", v, true)
    } else {
        return Ok(match protocol {
            Protocol::Grpc => "http://localhost:4317".to_owned(),
            _ => format!("http://localhost:4318{}", signal.path()),
        });
    };
    let has_scheme = raw.contains("://");
    // Spec: INSECURE only matters for gRPC endpoints given without a scheme.
    let url = if has_scheme || protocol != Protocol::Grpc {
        raw.to_owned()
    } else if insecure {
        format!("http://{raw}")
    } else {
        format!("https://{raw}")
    };
    let expected = "an http:// or https:// URL";
    let uri: http::Uri = url
        .parse()
        .map_err(|_| ConfigError::invalid(var, raw, expected))?;
    match uri.scheme_str() {
        Some("http" | "https") if uri.host().is_some() => {}
        _ => return Err(ConfigError::invalid(var, raw, expected)),
    }
    if is_generic && protocol != Protocol::Grpc {
        // Spec: the generic endpoint is a base URL; the signal path is appended.
        return Ok(format!("{}{}", url.trim_end_matches('/'), signal.path()));
    }
    Ok(url)
}

fn sampler(src: Source<'_>) -> Result<SamplerConfig, ConfigError> {
    let ratio = || match src.get("OTEL_TRACES_SAMPLER_ARG") {
        None => Ok(1.0),
        Some(v) => parse_ratio("OTEL_TRACES_SAMPLER_ARG", v),
    };
    Ok(match src.get("OTEL_TRACES_SAMPLER") {
        None | Some("parentbased_always_on") => SamplerConfig::ParentBasedAlwaysOn,
        Some("always_on") => SamplerConfig::AlwaysOn,
        Some("always_off") => SamplerConfig::AlwaysOff,
        Some("traceidratio") => SamplerConfig::TraceIdRatio(ratio()?),
        Some("parentbased_always_off") => SamplerConfig::ParentBasedAlwaysOff,
        Some("parentbased_traceidratio") => SamplerConfig::ParentBasedTraceIdRatio(ratio()?),
        Some(v) => {
            return Err(ConfigError::invalid(
                "OTEL_TRACES_SAMPLER",
                v,
                "always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off or parentbased_traceidratio",
            ));
        }
    })
}

fn batch(
    src: Source<'_>,
    prefix: &str,
    default_delay: Duration,
) -> Result<BatchConfig, ConfigError> {
    let queue_var = format!("{prefix}_MAX_QUEUE_SIZE");
    let batch_var = format!("{prefix}_MAX_EXPORT_BATCH_SIZE");
    let config = BatchConfig {
        schedule_delay: src.millis(&format!("{prefix}_SCHEDULE_DELAY"), default_delay)?,
        export_timeout: src.millis(
            &format!("{prefix}_EXPORT_TIMEOUT"),
            Duration::from_millis(30_000),
        )?,
        max_queue_size: src.count(&queue_var, 2048)?,
        max_export_batch_size: src.count(&batch_var, 512)?,
    };
    if config.max_export_batch_size > config.max_queue_size {
        return Err(ConfigError::Inconsistent {
            var: batch_var,
            value: config.max_export_batch_size.to_string(),
            problem: format!("must not exceed {queue_var} ({})", config.max_queue_size),
        });
    }
    Ok(config)
}

fn propagators(src: Source<'_>) -> Result<Vec<Propagator>, ConfigError> {
    let Some(v) = src.get("OTEL_PROPAGATORS") else {
        return Ok(vec![Propagator::TraceContext, Propagator::Baggage]);
    };
    let mut list = Vec::new();
    for name in v.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let p = match name {
            "tracecontext" => Propagator::TraceContext,
            "baggage" => Propagator::Baggage,
            "none" => continue,
            _ => {
                return Err(ConfigError::invalid(
                    "OTEL_PROPAGATORS",
                    v,
                    format!(
                        "a comma-separated list of tracecontext, baggage or none ({name:?} is not supported)"
                    ),
                ));
            }
        };
        if !list.contains(&p) {
            list.push(p);
        }
    }
    Ok(list)
}

/// How failed exports are retried: exponential backoff from
/// `initial_delay`, doubling up to `max_delay`, plus up to `max_jitter`,
/// at most `max_retries` times and never past the batch's export timeout.
/// Ours rather than opentelemetry-otlp's `RetryPolicy` (whose fields are
/// private) because our span exporter applies it too.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryConfig {
    pub max_retries: usize,
    pub initial_delay: Duration,
    pub max_delay: Duration,
    pub max_jitter: Duration,
}

impl Default for RetryConfig {
    /// Bounded by time, not by count: a batch is retried until the
    /// processor's export timeout (`OTEL_BSP_EXPORT_TIMEOUT` and friends,
    /// 30 s by default) runs out, so a collector restart shorter than that
    /// loses nothing. The OTLP exporters' recommended 3 retries (~1 s in
    /// all) lost every batch of an 8 s restart. Backoff: 100 ms doubling up
    /// to 2 s, so a collector that is back is found within ~2 s, plus up to
    /// 250 ms of jitter so services that failed together do not retry in
    /// lockstep.
    fn default() -> Self {
        RetryConfig {
            max_retries: usize::MAX,
            initial_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(2),
            max_jitter: Duration::from_millis(250),
        }
    }
}

impl RetryConfig {
    /// The same policy for opentelemetry-otlp's exporters (metrics, logs,
    /// OTLP/HTTP JSON spans). Their own retry loop rather than a wrapper of
    /// ours around `export()`: it still has the HTTP status, gRPC code,
    /// Retry-After and RetryInfo to classify, where a wrapper would see only
    /// an error string; and it stops at the deadline we give it as
    /// `with_timeout` (`otlp::retry_budget`), so with the default
    /// `max_retries` it too is bounded by the export timeout alone.
    pub(crate) fn otlp_policy(&self) -> opentelemetry_otlp::RetryPolicy {
        opentelemetry_otlp::RetryPolicy::recommended()
            .with_max_retries(self.max_retries)
            .with_initial_delay(self.initial_delay)
            .with_max_delay(self.max_delay)
            .with_max_jitter(self.max_jitter)
    }
}
