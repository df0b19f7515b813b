//! The typed model of an otelcol-parker configuration: the components our
//! profiles use, with the fields we set. `render` builds one of these and
//! serialises it; a test reads one back with [`CollectorConfig::from_yaml_str`]
//! (fields we do not model are ignored on the way in).
//!
//! Field names follow the collector's YAML keys exactly (v0.165 and v0.161.0). Durations are
//! kept as Go duration strings ("5s") because that is what the collector parses.

use serde::{Deserialize, Serialize};

use super::document::{self, DocumentError};
use super::emit::{self, EmitError};

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error(transparent)]
    Yaml(#[from] DocumentError),
    #[error("not a configuration in our profiles' shape: {0}")]
    Shape(#[from] serde_json::Error),
}

/// A whole collector configuration in the shape our profiles produce.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CollectorConfig {
    pub extensions: Extensions,
    pub receivers: Receivers,
    pub processors: Processors,
    pub exporters: Exporters,
    pub service: Service,
}

impl CollectorConfig {
    /// Reads a configuration in our profiles' shape. Settings we do not model
    /// are ignored; a missing one is an error naming it.
    pub fn from_yaml_str(text: &str) -> Result<Self, ModelError> {
        Ok(document::from_node(&document::parse(text)?)?)
    }

    /// The YAML body (no header comment).
    pub fn to_yaml_string(&self) -> Result<String, EmitError> {
        emit::to_yaml(self)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Extensions {
    pub health_check: HealthCheck,
    pub zpages: Endpoint,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pprof: Option<Pprof>,
    /// Checks the bearer token on incoming OTLP (server side).
    #[serde(
        rename = "bearertokenauth/ingest",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub ingest_auth: Option<BearerTokenAuth>,
    /// Adds the bearer token to outgoing OTLP (client side).
    #[serde(
        rename = "bearertokenauth/backend",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub backend_auth: Option<BearerTokenAuth>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_storage: Option<FileStorage>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthCheck {
    pub endpoint: String,
    pub path: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Endpoint {
    pub endpoint: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pprof {
    pub endpoint: String,
}

/// Never holds a literal token: the profiles write `${env:VAR}`, either as
/// the token or as the path of a token file (`filename`), which the extension
/// watches and reloads, so a rotated token needs no restart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BearerTokenAuth {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileStorage {
    pub directory: String,
    pub create_directory: bool,
    pub timeout: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Receivers {
    pub otlp: OtlpReceiver,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OtlpReceiver {
    pub protocols: OtlpProtocols,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OtlpProtocols {
    pub grpc: ServerSettings,
    pub http: ServerSettings,
}

/// The parts of confighttp/configgrpc server settings we use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerSettings {
    pub endpoint: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<ServerTls>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<Authentication>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerTls {
    pub cert_file: String,
    pub key_file: String,
    pub min_version: String,
    /// How often the receiver re-reads cert_file/key_file, so a rotated
    /// certificate (`otelops certs rotate`) is served without a restart.
    pub reload_interval: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Authentication {
    pub authenticator: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Processors {
    pub memory_limiter: MemoryLimiter,
    /// Personal data: keys deleted or hashed (staging and production).
    #[serde(
        rename = "attributes/pii",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub pii_attributes: Option<AttributesProcessor>,
    /// Personal data: values that look like e-mails or card numbers masked.
    #[serde(
        rename = "redaction/pii",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub pii_redaction: Option<Redaction>,
    /// Personal data where redaction does not look: span names, log bodies.
    #[serde(
        rename = "transform/pii",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub pii_transform: Option<Transform>,
    /// Development only: head sampling at 100 %, nothing waits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probabilistic_sampler: Option<ProbabilisticSampler>,
    /// Staging and production: keep errors, slow traces and critical
    /// services, the rest at a rate (`super::sampling`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tail_sampling: Option<super::sampling::TailSampling>,
    pub batch: Batch,
}

/// Limits are a share of the container's memory (cgroup limit), the guide's
/// 80 % hard / 20 % spike rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemoryLimiter {
    pub check_interval: String,
    pub limit_percentage: u32,
    pub spike_limit_percentage: u32,
}

/// The attributes processor: one action per key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttributesProcessor {
    pub actions: Vec<AttributeAction>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttributeAction {
    pub key: String,
    /// `delete` or `hash` (SHA-256 hex of the value in v0.161.0).
    pub action: String,
}

/// The redaction processor: every key allowed, values matching
/// `blocked_values` masked as `****` (resource, span, span event, log record
/// and data point attributes, in v0.161.0).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Redaction {
    pub allow_all_keys: bool,
    pub blocked_values: Vec<String>,
    /// `silent`: no `redaction.*` attributes listing what was masked.
    pub summary: String,
}

/// The transform processor: OTTL statements per signal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transform {
    pub error_mode: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trace_statements: Vec<OttlStatements>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub log_statements: Vec<OttlStatements>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OttlStatements {
    pub context: String,
    pub statements: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbabilisticSampler {
    pub sampling_percentage: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Batch {
    pub timeout: String,
    pub send_batch_size: u32,
    pub send_batch_max_size: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Exporters {
    pub otlp: OtlpExporter,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OtlpExporter {
    pub endpoint: String,
    pub timeout: String,
    pub tls: ClientTls,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<Authentication>,
    pub sending_queue: SendingQueue,
    pub retry_on_failure: RetryOnFailure,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientTls {
    pub insecure: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_version: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SendingQueue {
    pub enabled: bool,
    pub num_consumers: u32,
    pub queue_size: u32,
    /// The id of a storage extension (file_storage) for a queue that survives restarts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RetryOnFailure {
    pub enabled: bool,
    pub initial_interval: String,
    pub max_interval: String,
    pub max_elapsed_time: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Service {
    pub extensions: Vec<String>,
    pub pipelines: Pipelines,
    pub telemetry: Telemetry,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pipelines {
    pub traces: Pipeline,
    pub metrics: Pipeline,
    pub logs: Pipeline,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pipeline {
    pub receivers: Vec<String>,
    pub processors: Vec<String>,
    pub exporters: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Telemetry {
    pub logs: TelemetryLogs,
    pub metrics: TelemetryMetrics,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TelemetryLogs {
    pub level: String,
}

/// v0.165 syntax: a pull reader with a Prometheus exporter serves `:8888/metrics`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TelemetryMetrics {
    pub level: String,
    pub readers: Vec<MetricReader>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricReader {
    pub pull: PullReader,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PullReader {
    pub exporter: PullExporter,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PullExporter {
    pub prometheus: PrometheusEndpoint,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrometheusEndpoint {
    pub host: String,
    pub port: u16,
}
