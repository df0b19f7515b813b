//! Versions: what the running collector is (its metrics page's
//! `target_info{service_version}`, the build's resource), what our
//! distribution pins (`deploy/collector/builder-config.yaml`), which SDKs the
//! services run (`telemetry.sdk.*` resource attributes of the spans
//! `otelops receive --jsonl` kept), and whether a target release is newer —
//! with the guide's upgrade steps as the commands to run. Nothing is fetched
//! from the internet: the target comes from `--target` or a release list.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::http_client::{HttpClient, Url};
use crate::receive::client::{SourceError, TraceSource};

/// A release number `MAJOR.MINOR.PATCH` (a `v` prefix and a `-suffix` such
/// as our `-parker` are ignored for comparing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Release(pub u64, pub u64, pub u64);

impl Release {
    pub fn parse(text: &str) -> Option<Release> {
        let core = text.trim().trim_start_matches('v');
        let core = core.split(['-', '+']).next()?;
        let mut parts = core.split('.').map(|p| p.parse::<u64>().ok());
        let r = Release(parts.next()??, parts.next()??, parts.next()??);
        parts.next().is_none().then_some(r)
    }
}

impl std::fmt::Display for Release {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "v{}.{}.{}", self.0, self.1, self.2)
    }
}

#[derive(Debug, Clone)]
pub struct Inputs {
    /// The collector's metrics page.
    pub metrics_url: Option<Url>,
    pub manifest: PathBuf,
    /// The services' spans: a running receiver's query API, or the
    /// `otelops receive --jsonl` copy.
    pub receiver: Option<TraceSource>,
    pub target: Option<String>,
    /// A file of release numbers, one a line (`#` comments).
    pub releases: Option<PathBuf>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Running {
    pub service_name: Option<String>,
    pub version: String,
    pub instance: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Sdk {
    pub service: String,
    pub language: String,
    pub name: String,
    pub version: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct VersionReport {
    pub running: Option<Running>,
    /// Why the running version is unknown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub running_error: Option<String>,
    /// `dist.version` of the manifest.
    pub pinned: Option<String>,
    /// The collector release the manifest's modules are at.
    pub pinned_release: Option<Release>,
    pub sdks: Vec<Sdk>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sdk_error: Option<String>,
    pub target: Option<Release>,
    /// Whether the target is newer than what runs (or, if nothing answers,
    /// what is pinned).
    pub update_available: Option<bool>,
    /// The guide's upgrade steps for the target, as commands.
    pub next_steps: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum VersionError {
    #[error("{path}: {reason}")]
    Input { path: PathBuf, reason: String },
    #[error("--target {0:?} is not a release number like v0.162.0")]
    BadTarget(String),
}

pub async fn check(inputs: &Inputs, client: &HttpClient) -> Result<VersionReport, VersionError> {
    let target = target(inputs)?;
    let (pinned, pinned_release) = pinned(&inputs.manifest)?;
    let (running, running_error) = match &inputs.metrics_url {
        Some(url) => match running(client, url).await {
            Ok(r) => (Some(r), None),
            Err(e) => (None, Some(e)),
        },
        None => (None, Some("no metrics URL".into())),
    };
    let (sdks, sdk_error) = match &inputs.receiver {
        Some(TraceSource::File(p)) => match sdks_in_file(p) {
            Ok(s) => (s, None),
            Err(e) => (Vec::new(), Some(e)),
        },
        Some(receiver) => match sdks_from_receiver(receiver).await {
            Ok(s) => (s, None),
            Err(e) => (Vec::new(), Some(e.to_string())),
        },
        None => (Vec::new(), None),
    };
    let current = running
        .as_ref()
        .and_then(|r| Release::parse(&r.version))
        .or(pinned_release);
    let update_available = match (target, current) {
        (Some(t), Some(c)) => Some(t > c),
        _ => None,
    };
    let next_steps = match (update_available, target) {
        (Some(true), Some(t)) => upgrade_steps(t, &inputs.manifest),
        _ => Vec::new(),
    };
    Ok(VersionReport {
        running,
        running_error,
        pinned,
        pinned_release,
        sdks,
        sdk_error,
        target,
        update_available,
        next_steps,
    })
}

/// `target_info{service_version}` of the metrics page (the collector's
/// build, `dist.version`).
async fn running(client: &HttpClient, url: &Url) -> Result<Running, String> {
    let (text, _) = client.get_text(url).await.map_err(|e| e.to_string())?;
    let page = crate::prom::parse(&text).map_err(|e| format!("{url}: {e}"))?;
    let info = page
        .families()
        .iter()
        .flat_map(|f| &f.samples)
        .find(|s| s.name == "target_info" && s.labels.get("service_version").is_some())
        .ok_or_else(|| format!("{url}: no target_info{{service_version}} on the page"))?;
    Ok(Running {
        service_name: info.labels.get("service_name").map(str::to_owned),
        version: info
            .labels
            .get("service_version")
            .unwrap_or_default()
            .to_owned(),
        instance: info.labels.get("service_instance_id").map(str::to_owned),
    })
}

/// `dist.version` and the release of the collector modules (the
/// `go.opentelemetry.io/collector/…` gomod lines that are not stable v1.x).
pub fn pinned(manifest: &Path) -> Result<(Option<String>, Option<Release>), VersionError> {
    let err = |reason: String| VersionError::Input {
        path: manifest.into(),
        reason,
    };
    let text = std::fs::read_to_string(manifest).map_err(|e| err(e.to_string()))?;
    // The project's one YAML parser (saphyr, through collector_config).
    let doc = crate::collector_config::document::parse(&text)
        .map_err(|e| err(e.to_string()))?
        .to_json();
    let dist = doc
        .pointer("/dist/version")
        .and_then(|v| v.as_str())
        .map(str::to_owned);
    let mut releases = BTreeSet::new();
    for kind in [
        "receivers",
        "exporters",
        "processors",
        "extensions",
        "connectors",
    ] {
        for m in doc
            .get(kind)
            .and_then(|v| v.as_array())
            .into_iter()
            .flatten()
        {
            let Some(gomod) = m.get("gomod").and_then(|g| g.as_str()) else {
                continue;
            };
            if let Some(r) = gomod.rsplit(' ').next().and_then(Release::parse)
                && r.0 == 0
            {
                releases.insert(r);
            }
        }
    }
    if releases.len() > 1 {
        return Err(err(format!(
            "modules at more than one collector release: {}",
            releases
                .iter()
                .map(|r| r.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    Ok((dist, releases.into_iter().next()))
}

fn target(inputs: &Inputs) -> Result<Option<Release>, VersionError> {
    let mut candidates = Vec::new();
    if let Some(t) = &inputs.target {
        candidates.push(Release::parse(t).ok_or_else(|| VersionError::BadTarget(t.clone()))?);
    }
    if let Some(path) = &inputs.releases {
        let text = std::fs::read_to_string(path).map_err(|e| VersionError::Input {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        for (n, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            candidates.push(Release::parse(line).ok_or_else(|| VersionError::Input {
                path: path.clone(),
                reason: format!(
                    "line {}: {line:?} is not a release number like v0.162.0",
                    n + 1
                ),
            })?);
        }
    }
    Ok(candidates.into_iter().max())
}

/// The SDK a resource names (`telemetry.sdk.*`, by `service.name`), read
/// through `attr`; none without `telemetry.sdk.version`.
fn sdk_of(attr: impl Fn(&str) -> Option<String>) -> Option<Sdk> {
    Some(Sdk {
        version: attr("telemetry.sdk.version")?,
        service: attr("service.name").unwrap_or_else(|| "unknown_service".into()),
        language: attr("telemetry.sdk.language").unwrap_or_default(),
        name: attr("telemetry.sdk.name").unwrap_or_default(),
    })
}

/// Traces a running receiver is asked about for the SDKs, the newest.
const RECEIVER_TRACES: usize = 200;

/// The `telemetry.sdk.*` of each service in the newest traces a running
/// receiver holds (its query API gives every span's resource).
async fn sdks_from_receiver(receiver: &TraceSource) -> Result<Vec<Sdk>, SourceError> {
    let mut out = BTreeSet::new();
    // The list is in arrival order, oldest first.
    for item in receiver.list().await?.iter().rev().take(RECEIVER_TRACES) {
        let Some(trace) = receiver.show(&item.trace_id).await? else {
            continue; // evicted since the list
        };
        for span in &trace.spans {
            let attr = |key: &str| {
                span.resource
                    .iter()
                    .find(|a| a.key == key)
                    .map(|a| a.value.clone())
            };
            out.extend(sdk_of(attr));
        }
    }
    Ok(out.into_iter().collect())
}

/// The `telemetry.sdk.*` of each service in an OTLP-JSON lines file.
fn sdks_in_file(path: &Path) -> Result<Vec<Sdk>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut out = BTreeSet::new();
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let doc: serde_json::Value = serde_json::from_str(line)
            .map_err(|e| format!("{} line {}: {e}", path.display(), n + 1))?;
        for kind in ["resourceSpans", "resourceLogs", "resourceMetrics"] {
            for r in doc
                .get(kind)
                .and_then(|v| v.as_array())
                .into_iter()
                .flatten()
            {
                let attr = |key: &str| {
                    r.pointer("/resource/attributes")
                        .and_then(|a| a.as_array())
                        .into_iter()
                        .flatten()
                        .find(|a| a.get("key").and_then(|k| k.as_str()) == Some(key))
                        .and_then(|a| a.pointer("/value/stringValue"))
                        .and_then(|v| v.as_str())
                        .map(str::to_owned)
                };
                out.extend(sdk_of(attr));
            }
        }
    }
    Ok(out.into_iter().collect())
}

/// The guide's update procedure: build the new release, staging first,
/// health and trace tests there, then the rolling update.
fn upgrade_steps(target: Release, manifest: &Path) -> Vec<String> {
    let v = format!("{}.{}.{}", target.0, target.1, target.2);
    vec![
        format!(
            "edit {}: every collector and contrib gomod to v{v}, dist.version to {v}-parker (stable v1.x modules to their matching release)",
            manifest.display()
        ),
        "scripts/build-collector".into(),
        "otelcol-parker validate --config deploy/collector/production.yaml".into(),
        format!("podman build -t otelcol-parker:{v}-parker -f deploy/docker/Dockerfile ."),
        format!(
            "kubectl -n parker-observability-staging set image deployment/otelcol-parker otelcol-parker=otelcol-parker:{v}-parker"
        ),
        "otelops health --collector STAGING_HOST".into(),
        "otelops test run --file tests/tracetest/booking-flow.yaml --receiver STAGING_RECEIVER"
            .into(),
        format!(
            "kubectl -n parker-observability set image deployment/otelcol-parker otelcol-parker=otelcol-parker:{v}-parker && kubectl -n parker-observability rollout status deployment/otelcol-parker"
        ),
        "otelops version --target v".to_string() + &v,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn releases_compare_by_number_not_text() {
        assert_eq!(Release::parse("0.161.0-parker"), Some(Release(0, 161, 0)));
        assert!(Release::parse("v0.162.0").unwrap() > Release::parse("0.161.9").unwrap());
        assert!(Release::parse("v0.99.0").unwrap() < Release::parse("v0.100.0").unwrap());
        assert_eq!(Release::parse("latest"), None);
        assert_eq!(Release::parse("1.2"), None);
    }
}
