//! The three deployment profiles and the configuration each one renders.
//!
//! Every value that differs between environments is decided here, in one
//! place, so a reviewer can read the whole policy: sampling, batch and queue
//! sizes, which debug extensions run, and where TLS and auth come in.

use std::fmt;
use std::str::FromStr;

use super::model::*;

/// Where a collector runs; decides sampling, sizes and security.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Profile {
    Development,
    Staging,
    Production,
}

impl Profile {
    /// The rules to lint a file with when none is named: production when the
    /// file name says "prod", else development.
    pub fn for_file(file: &std::path::Path) -> Profile {
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        if name.contains("prod") {
            Profile::Production
        } else {
            Profile::Development
        }
    }

    pub const ALL: [Profile; 3] = [Profile::Development, Profile::Staging, Profile::Production];

    pub fn name(self) -> &'static str {
        match self {
            Profile::Development => "development",
            Profile::Staging => "staging",
            Profile::Production => "production",
        }
    }

    /// The share of ordinary traces kept: everything while developing, less
    /// as volume grows (staging and production keep more of some traces,
    /// see [`super::sampling::plan`]).
    pub fn sampling_percentage(self) -> f64 {
        match self {
            Profile::Development => 100.0,
            Profile::Staging => 50.0,
            Profile::Production => 10.0,
        }
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown profile {0:?}: expected development, staging or production")]
pub struct UnknownProfile(String);

impl FromStr for Profile {
    type Err = UnknownProfile;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "development" => Ok(Profile::Development),
            "staging" => Ok(Profile::Staging),
            "production" => Ok(Profile::Production),
            other => Err(UnknownProfile(other.to_owned())),
        }
    }
}

/// Environment variables a rendered profile reads, so deployments (and tests)
/// know what to set. Secrets are only ever referenced, never written.
pub fn referenced_env_vars(profile: Profile) -> &'static [&'static str] {
    match profile {
        Profile::Development => &["OTELCOL_EXPORT_ENDPOINT"],
        Profile::Staging => &["OTELCOL_BIND", "OTELCOL_EXPORT_ENDPOINT"],
        Profile::Production => &[
            "OTELCOL_BIND",
            "OTELCOL_EXPORT_ENDPOINT",
            "OTELCOL_EXPORT_CA_FILE",
            "OTELCOL_EXPORT_TOKEN",
            "OTELCOL_INGEST_TOKEN_FILE",
            "OTELCOL_TLS_CERT_FILE",
            "OTELCOL_TLS_KEY_FILE",
            "OTELCOL_QUEUE_DIR",
        ],
    }
}

/// Loopback unless the deployment says otherwise: development never listens
/// beyond this machine; staging/production take the address from
/// `OTELCOL_BIND` (the pod IP in Kubernetes, 0.0.0.0 inside a container).
fn bind_host(profile: Profile) -> &'static str {
    match profile {
        Profile::Development => "127.0.0.1",
        Profile::Staging | Profile::Production => "${env:OTELCOL_BIND:-127.0.0.1}",
    }
}

struct Sizes {
    batch_size: u32,
    batch_max: u32,
    batch_timeout: &'static str,
    consumers: u32,
    queue_size: u32,
}

fn sizes(profile: Profile) -> Sizes {
    match profile {
        Profile::Development => Sizes {
            batch_size: 256,
            batch_max: 512,
            batch_timeout: "1s",
            consumers: 2,
            queue_size: 1000,
        },
        Profile::Staging => Sizes {
            batch_size: 1024,
            batch_max: 2048,
            batch_timeout: "5s",
            consumers: 4,
            queue_size: 5000,
        },
        Profile::Production => Sizes {
            batch_size: 2048,
            batch_max: 4096,
            batch_timeout: "5s",
            consumers: 10,
            queue_size: 10000,
        },
    }
}

/// Personal data handling (super::pii): staging and production, which see
/// real travellers' data; development renders without it.
pub fn pii_policy(profile: Profile) -> Option<super::pii::PiiPolicy> {
    (profile != Profile::Development).then(super::pii::PiiPolicy::default)
}

/// Builds the configuration for `profile`.
pub fn render(profile: Profile) -> CollectorConfig {
    render_with(profile, pii_policy(profile).as_ref())
}

/// Builds the configuration for `profile` with `pii` as its personal-data
/// policy (None: no PII processors).
pub fn render_with(profile: Profile, pii: Option<&super::pii::PiiPolicy>) -> CollectorConfig {
    let host = bind_host(profile);
    let pii = pii.map(super::pii::PiiPolicy::processors);
    let production = profile == Profile::Production;
    let sizes = sizes(profile);
    let tail_sampling = super::sampling::plan(profile);
    let trace_sampler = if tail_sampling.is_some() {
        "tail_sampling"
    } else {
        "probabilistic_sampler"
    };

    let server = |port: u16| ServerSettings {
        endpoint: format!("{host}:{port}"),
        tls: production.then(|| ServerTls {
            cert_file: "${env:OTELCOL_TLS_CERT_FILE}".into(),
            key_file: "${env:OTELCOL_TLS_KEY_FILE}".into(),
            min_version: "1.2".into(),
            // A rotated certificate is served within 30s, no restart; the
            // check is a file read on a handshake, at most every 30s.
            reload_interval: "30s".into(),
        }),
        auth: production.then(|| Authentication {
            authenticator: "bearertokenauth/ingest".into(),
        }),
    };

    let mut service_extensions = vec!["health_check".to_owned(), "zpages".to_owned()];
    if profile == Profile::Development {
        service_extensions.push("pprof".into());
    }
    if production {
        service_extensions.extend([
            "bearertokenauth/ingest".into(),
            "bearertokenauth/backend".into(),
            "file_storage".into(),
        ]);
    }

    // memory_limiter first; then the PII processors (when the profile has
    // them), so nothing later — sampler, batch, exporter — holds personal data.
    let pipeline = |pii_ids: &[&str], processors: &[&str]| {
        let pii_ids = if pii.is_some() { pii_ids } else { &[] };
        let (first, rest) = processors.split_first().expect("memory_limiter");
        Pipeline {
            receivers: vec!["otlp".into()],
            processors: std::iter::once(first)
                .chain(pii_ids)
                .chain(rest)
                .map(|p| (*p).to_owned())
                .collect(),
            exporters: vec!["otlp".into()],
        }
    };

    CollectorConfig {
        extensions: Extensions {
            health_check: HealthCheck {
                endpoint: format!("{host}:13133"),
                path: "/".into(),
            },
            // zPages and pprof expose internals: loopback only, reach them
            // with a port-forward.
            zpages: Endpoint {
                endpoint: "127.0.0.1:55679".into(),
            },
            pprof: (profile == Profile::Development).then(|| Pprof {
                endpoint: "127.0.0.1:1777".into(),
            }),
            // A file, not a variable: bearertokenauth watches it and reloads,
            // so `otelops token rotate` (and a rotated k8s Secret) takes effect
            // without a restart, and it may hold two tokens during an overlap.
            ingest_auth: production.then(|| BearerTokenAuth {
                token: None,
                filename: Some("${env:OTELCOL_INGEST_TOKEN_FILE}".into()),
            }),
            backend_auth: production.then(|| BearerTokenAuth {
                token: Some("${env:OTELCOL_EXPORT_TOKEN}".into()),
                filename: None,
            }),
            file_storage: production.then(|| FileStorage {
                directory: "${env:OTELCOL_QUEUE_DIR:-/var/lib/otelcol/queue}".into(),
                create_directory: true,
                timeout: "1s".into(),
            }),
        },
        receivers: Receivers {
            otlp: OtlpReceiver {
                protocols: OtlpProtocols {
                    grpc: server(4317),
                    http: server(4318),
                },
            },
        },
        processors: Processors {
            memory_limiter: MemoryLimiter {
                check_interval: "1s".into(),
                limit_percentage: 80,
                spike_limit_percentage: 20,
            },
            pii_attributes: pii.as_ref().map(|p| p.attributes.clone()),
            pii_redaction: pii.as_ref().map(|p| p.redaction.clone()),
            pii_transform: pii.as_ref().map(|p| p.transform.clone()),
            tail_sampling: tail_sampling.as_ref().map(|plan| plan.processor()),
            probabilistic_sampler: tail_sampling.is_none().then(|| ProbabilisticSampler {
                sampling_percentage: profile.sampling_percentage(),
            }),
            batch: Batch {
                timeout: sizes.batch_timeout.into(),
                send_batch_size: sizes.batch_size,
                send_batch_max_size: sizes.batch_max,
            },
        },
        exporters: Exporters {
            otlp: OtlpExporter {
                endpoint: if production {
                    // No default: production must say where its backend is.
                    "${env:OTELCOL_EXPORT_ENDPOINT}".into()
                } else {
                    "${env:OTELCOL_EXPORT_ENDPOINT:-127.0.0.1:14317}".into()
                },
                timeout: "10s".into(),
                tls: ClientTls {
                    insecure: !production,
                    ca_file: production.then(|| "${env:OTELCOL_EXPORT_CA_FILE}".into()),
                    min_version: production.then(|| "1.2".into()),
                },
                auth: production.then(|| Authentication {
                    authenticator: "bearertokenauth/backend".into(),
                }),
                sending_queue: SendingQueue {
                    enabled: true,
                    num_consumers: sizes.consumers,
                    queue_size: sizes.queue_size,
                    storage: production.then(|| "file_storage".into()),
                },
                retry_on_failure: RetryOnFailure {
                    enabled: true,
                    initial_interval: "5s".into(),
                    max_interval: "30s".into(),
                    max_elapsed_time: "300s".into(),
                },
            },
        },
        service: Service {
            extensions: service_extensions,
            pipelines: Pipelines {
                // memory_limiter first so it can refuse before anything else
                // spends memory; sample before batching so batches hold only
                // what is kept. The samplers are for traces only (logs
                // without a trace id would be dropped by the probabilistic
                // one), so the other two pipelines do not sample. The PII
                // processors come right after memory_limiter.
                traces: pipeline(
                    &super::pii::TRACES_AND_LOGS,
                    &["memory_limiter", trace_sampler, "batch"],
                ),
                metrics: pipeline(&super::pii::METRICS, &["memory_limiter", "batch"]),
                logs: pipeline(&super::pii::TRACES_AND_LOGS, &["memory_limiter", "batch"]),
            },
            telemetry: Telemetry {
                logs: TelemetryLogs {
                    level: "info".into(),
                },
                metrics: TelemetryMetrics {
                    // `detailed` is the only level that exposes export latency
                    // (http.client.request.duration / rpc.client.call.duration).
                    level: "detailed".into(),
                    readers: vec![MetricReader {
                        pull: PullReader {
                            exporter: PullExporter {
                                prometheus: PrometheusEndpoint {
                                    host: host.into(),
                                    port: 8888,
                                },
                            },
                        },
                    }],
                },
            },
        },
    }
}

/// The file header every rendered profile starts with.
fn header(profile: Profile) -> String {
    let vars = referenced_env_vars(profile).join(", ");
    format!(
        "# otelcol-parker configuration, profile {profile}.\n\
         # Generated by `otelops config render --profile {profile}`; do not edit by hand\n\
         # (a test re-renders it and fails on any difference).\n\
         # Reads environment variables: {vars}.\n"
    )
}

/// The YAML text of a profile, exactly as committed under deploy/collector/.
pub fn render_yaml(profile: Profile) -> Result<String, super::emit::EmitError> {
    let body = render(profile).to_yaml_string()?;
    Ok(format!("{}{body}", header(profile)))
}
