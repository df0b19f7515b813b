//! `otelops health`: is a collector up, and can it take data? One result per
//! check (health_check v1/v2, internal metrics, OTLP gRPC and HTTP receivers,
//! zPages), each with its latency. Checks run concurrently.
//!
//! Start at [`run`]; each check is in [`checks`].

mod checks;

use serde::Serialize;

use crate::http_client::{self, HttpClient, HttpError, Url};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CheckKind {
    Health,
    HealthV2,
    Metrics,
    OtlpGrpc,
    OtlpHttp,
    Zpages,
}

impl CheckKind {
    pub fn name(self) -> &'static str {
        match self {
            CheckKind::Health => "health",
            CheckKind::HealthV2 => "health-v2",
            CheckKind::Metrics => "metrics",
            CheckKind::OtlpGrpc => "otlp-grpc",
            CheckKind::OtlpHttp => "otlp-http",
            CheckKind::Zpages => "zpages",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Pass,
    Fail,
    Skipped,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckResult {
    pub check: CheckKind,
    pub target: String,
    pub outcome: Outcome,
    pub latency_ms: Option<f64>,
    pub detail: String,
}

/// Where each check goes; built from `--collector` and the per-check URLs.
#[derive(Debug, Clone)]
pub struct Targets {
    pub health: Url,
    /// Explicit v2 URL; None probes `<health base>/status`.
    pub health_v2: Option<Url>,
    pub metrics: Url,
    pub otlp_grpc: Url,
    pub otlp_http: Url,
    pub zpages: Url,
}

/// Flags as given; None means "derive from the collector host".
#[derive(Debug, Clone, Default)]
pub struct TargetFlags {
    pub collector: String,
    pub health_url: Option<String>,
    pub health_v2_url: Option<String>,
    pub metrics_url: Option<String>,
    pub otlp_grpc: Option<String>,
    pub otlp_http: Option<String>,
    pub zpages_url: Option<String>,
    pub allow_remote: bool,
    /// The OTLP receivers speak TLS: their default and scheme-less targets
    /// are https.
    pub otlp_tls: bool,
}

impl Targets {
    pub fn from_flags(f: &TargetFlags) -> Result<Targets, HttpError> {
        let host = http_client::checked_host(&f.collector, f.allow_remote)?;
        let otlp = if f.otlp_tls { "https" } else { "http" };
        let url = |given: &Option<String>, default: String| -> Result<Url, HttpError> {
            let s = given.clone().unwrap_or(default);
            // `host:port` without a scheme is accepted for the OTLP flags.
            let s = if s.contains("://") {
                s
            } else {
                format!("{otlp}://{s}")
            };
            http_client::checked_url(&s, f.allow_remote)
        };
        let mut otlp_http = url(&f.otlp_http, format!("{otlp}://{host}:4318"))?;
        if otlp_http.path() == "/" {
            otlp_http.set_path("/v1/traces");
        }
        Ok(Targets {
            health: url(&f.health_url, format!("http://{host}:13133/"))?,
            health_v2: f
                .health_v2_url
                .as_ref()
                .map(|u| url(&Some(u.clone()), String::new()))
                .transpose()?,
            metrics: url(&f.metrics_url, format!("http://{host}:8888/metrics"))?,
            otlp_grpc: url(&f.otlp_grpc, format!("{otlp}://{host}:4317"))?,
            otlp_http,
            zpages: url(&f.zpages_url, format!("http://{host}:55679"))?,
        })
    }
}

/// Runs every check not skipped, concurrently. The client's token goes only
/// to the OTLP receivers (the ones that authenticate); health_check, metrics
/// and zPages get none.
pub async fn run(targets: &Targets, skip: &[CheckKind], client: &HttpClient) -> Vec<CheckResult> {
    let plain = client.without_token();
    let skipped = |k: CheckKind, target: &Url| CheckResult {
        check: k,
        target: target.to_string(),
        outcome: Outcome::Skipped,
        latency_ms: None,
        detail: "skipped (--skip)".into(),
    };
    let v2_target = targets.health_v2.clone().unwrap_or_else(|| {
        let mut u = targets.health.clone();
        u.set_path("/status");
        u
    });
    let run_one = |k: CheckKind| {
        let plain = &plain;
        let v2_target = &v2_target;
        async move {
            let target = match k {
                CheckKind::Health => &targets.health,
                CheckKind::HealthV2 => v2_target,
                CheckKind::Metrics => &targets.metrics,
                CheckKind::OtlpGrpc => &targets.otlp_grpc,
                CheckKind::OtlpHttp => &targets.otlp_http,
                CheckKind::Zpages => &targets.zpages,
            };
            if skip.contains(&k) {
                return skipped(k, target);
            }
            match k {
                CheckKind::Health => checks::health_v1(plain, target).await,
                CheckKind::HealthV2 => {
                    checks::health_v2(plain, target, targets.health_v2.is_some()).await
                }
                CheckKind::Metrics => checks::metrics(plain, target).await,
                CheckKind::OtlpGrpc => checks::otlp_grpc(client, target).await,
                CheckKind::OtlpHttp => checks::otlp_http(client, target).await,
                CheckKind::Zpages => checks::zpages(plain, target).await,
            }
        }
    };
    let (a, b, c, d, e, f) = tokio::join!(
        run_one(CheckKind::Health),
        run_one(CheckKind::HealthV2),
        run_one(CheckKind::Metrics),
        run_one(CheckKind::OtlpGrpc),
        run_one(CheckKind::OtlpHttp),
        run_one(CheckKind::Zpages),
    );
    vec![a, b, c, d, e, f]
}

pub fn any_failed(results: &[CheckResult]) -> bool {
    results.iter().any(|r| r.outcome == Outcome::Fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags() -> TargetFlags {
        TargetFlags {
            collector: "127.0.0.1".into(),
            ..TargetFlags::default()
        }
    }

    #[test]
    fn defaults_follow_the_collector_ports() {
        let t = Targets::from_flags(&flags()).unwrap();
        assert_eq!(t.health.as_str(), "http://127.0.0.1:13133/");
        assert_eq!(t.metrics.as_str(), "http://127.0.0.1:8888/metrics");
        assert_eq!(t.otlp_grpc.as_str(), "http://127.0.0.1:4317/");
        assert_eq!(t.otlp_http.as_str(), "http://127.0.0.1:4318/v1/traces");
        assert_eq!(t.zpages.as_str(), "http://127.0.0.1:55679/");
        assert!(t.health_v2.is_none());
    }

    #[test]
    fn host_port_without_scheme_and_ipv6_collectors_are_accepted() {
        let t = Targets::from_flags(&TargetFlags {
            otlp_grpc: Some("localhost:14317".into()),
            ..flags()
        })
        .unwrap();
        assert_eq!(t.otlp_grpc.as_str(), "http://localhost:14317/");
        let t = Targets::from_flags(&TargetFlags {
            collector: "::1".into(),
            ..flags()
        })
        .unwrap();
        assert_eq!(t.metrics.as_str(), "http://[::1]:8888/metrics");
        let t = Targets::from_flags(&TargetFlags {
            otlp_http: Some("http://127.0.0.1:9/custom".into()),
            ..flags()
        });
        assert_eq!(t.unwrap().otlp_http.path(), "/custom");
    }

    #[test]
    fn with_tls_the_otlp_defaults_and_scheme_less_targets_are_https() {
        let tls = TargetFlags {
            otlp_tls: true,
            otlp_http: Some("127.0.0.1:14318".into()),
            ..flags()
        };
        let t = Targets::from_flags(&tls).unwrap();
        assert_eq!(t.otlp_grpc.as_str(), "https://127.0.0.1:4317/");
        assert_eq!(t.otlp_http.as_str(), "https://127.0.0.1:14318/v1/traces");
        // The other endpoints stay plain http (the profiles serve them so).
        assert_eq!(t.health.as_str(), "http://127.0.0.1:13133/");
        let explicit = Targets::from_flags(&TargetFlags {
            otlp_grpc: Some("http://127.0.0.1:4317".into()),
            ..tls
        });
        assert_eq!(explicit.unwrap().otlp_grpc.scheme(), "http");
    }

    #[test]
    fn any_remote_target_is_refused_without_allow_remote() {
        let remote = TargetFlags {
            zpages_url: Some("http://203.0.113.9:55679".into()),
            ..flags()
        };
        assert!(matches!(
            Targets::from_flags(&remote),
            Err(HttpError::NotLoopback { .. })
        ));
        assert!(
            Targets::from_flags(&TargetFlags {
                allow_remote: true,
                ..remote
            })
            .is_ok()
        );
    }
}
