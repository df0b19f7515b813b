//! `otelops diagnose`: the guide's four troubleshooting symptoms — high
//! queue utilisation, export failures, memory issues, certificate
//! expiration — found in the live metrics ([`crate::monitor`]), the
//! collector's log ([`log`]), its config and its certificates ([`certs`]),
//! each with its evidence, its cause, and the guide's resolution made
//! concrete: the YAML change as a diff (through [`crate::tune`]), the
//! certificate to renew and the command that renews it.
//!
//! Causes before symptoms: a full queue whose sends fail is an export
//! failure (growing the queue only delays the loss); the failure itself is
//! named from the error codes and the log — a certificate, a token, or a
//! backend that is not there. Start at [`diagnose`].

pub mod certs;
pub mod log;

use std::path::Path;

use serde::Serialize;

use crate::certs::probe::EndpointReport;
use crate::certs::{CertReport, Status, expiry_status};
use crate::collector_config::file::ConfigFile;
use crate::monitor::Report;
use crate::monitor::evaluate::only_local_exporters;
use crate::tune::{self, Recommendation, RuleOptions};

use certs::{CertSource, TlsExporter};
use log::{LogKind, LogSummary};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Symptom {
    HighQueueUtilisation,
    ExportFailures,
    MemoryIssues,
    CertificateExpiration,
}

impl std::fmt::Display for Symptom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Symptom::HighQueueUtilisation => "High queue utilisation",
            Symptom::ExportFailures => "Export failures",
            Symptom::MemoryIssues => "Memory issues",
            Symptom::CertificateExpiration => "Certificate expiration",
        })
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub symptom: Symptom,
    pub status: Status,
    /// What it is about: `exporters.otlp_grpc`, a certificate file, an endpoint.
    pub subject: String,
    pub cause: String,
    pub evidence: Vec<String>,
    /// The guide's resolution steps for the symptom, made concrete.
    pub steps: Vec<String>,
    /// Commands to run.
    pub commands: Vec<String>,
    /// The YAML change, as a unified diff of the config (may be empty).
    pub diff: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Diagnosis {
    pub status: Status,
    pub findings: Vec<Finding>,
    pub notes: Vec<String>,
}

/// Everything diagnose looks at; each part is optional.
pub struct Inputs<'a> {
    pub report: Option<&'a Report>,
    pub config: Option<&'a ConfigFile>,
    pub log: Option<&'a LogSummary>,
    pub certs: &'a [(CertSource, Result<CertReport, String>)],
    pub probes: &'a [(TlsExporter, Result<EndpointReport, String>)],
    pub rules: &'a RuleOptions,
}

pub fn diagnose(i: &Inputs<'_>) -> Diagnosis {
    let mut findings = Vec::new();
    let mut notes = Vec::new();
    let recs = match (i.config, i.report) {
        (Some(cfg), report) => tune::rules::evaluate(cfg, report, i.rules),
        (None, _) => Vec::new(),
    };
    if i.report.is_none() {
        notes.push("no metrics (--metrics-url): queue, export and memory figures not read".into());
    }
    if i.config.is_none() {
        notes.push(
            "no --config: no diffs, no certificate files or exporter endpoints from the config"
                .into(),
        );
    }
    if i.log.is_none() {
        notes.push(
            "no --log: causes named from metrics only (TLS and token errors show in the log)"
                .into(),
        );
    }
    for (src, r) in i.certs {
        if let Ok(rep) = r
            && expiry_status(rep.cert.days_left) == Status::Ok
        {
            notes.push(format!(
                "certificate {} ({}): {} days left, OK",
                src.path.display(),
                src.named_by,
                rep.cert.days_left
            ));
        }
    }
    let failing = export_failures(i, &mut findings);
    high_queue(i, &recs, &failing, &mut findings);
    memory(i, &recs, &mut findings);
    certificates(i, &mut findings);
    findings.sort_by_key(|f| std::cmp::Reverse(f.status));
    Diagnosis {
        status: findings
            .iter()
            .map(|f| f.status)
            .max()
            .unwrap_or(Status::Ok),
        findings,
        notes,
    }
}

/// Exporter ids to judge: the config's network exporters, else the page's.
fn exporter_ids(i: &Inputs<'_>) -> Vec<String> {
    let mut ids: Vec<String> = match i.config {
        Some(cfg) => cfg
            .section("exporters")
            .iter()
            .map(|(id, _)| id.to_string())
            .collect(),
        None => i
            .report
            .map(|r| r.exporters.iter().map(|e| e.exporter.clone()).collect())
            .unwrap_or_default(),
    };
    ids.dedup();
    ids.retain(|id| !only_local_exporters([id]));
    ids
}

fn endpoint_of(i: &Inputs<'_>, id: &str) -> Option<String> {
    i.config?
        .section("exporters")
        .into_iter()
        .find(|(x, _)| *x == id)?
        .1
        .path(&["endpoint"])?
        .as_str()
        .map(str::to_string)
}

/// One finding per failing exporter; returns their ids.
fn export_failures(i: &Inputs<'_>, out: &mut Vec<Finding>) -> Vec<String> {
    let mut failing = Vec::new();
    let ids = exporter_ids(i);
    let sole = ids.len() == 1;
    for id in ids {
        let mut evidence = i
            .report
            .map(|r| tune::rules::failure_evidence(&id, r, i.rules))
            .unwrap_or_default();
        if !sole {
            evidence.retain(|e| !e.starts_with("export calls failing"));
        }
        let log_of = |k| i.log.and_then(|l| l.find(k, &id, sole));
        let tls_log = log_of(LogKind::Tls);
        let auth_log = log_of(LogKind::Auth);
        let down_log = log_of(LogKind::Unreachable);
        let probe = i.probes.iter().find(|(e, _)| e.id == id);
        let probe_failed = probe.and_then(|(e, r)| match r {
            Ok(rep) if rep.error.is_some() || rep.status == Status::Crit => Some((e, rep.clone())),
            _ => None,
        });
        for l in [tls_log, auth_log, down_log].into_iter().flatten() {
            evidence.push(format!("log: {} × {}", l.count, l.example));
        }
        if let Some((e, rep)) = &probe_failed {
            evidence.push(format!(
                "TLS probe of {}: {}",
                e.endpoint,
                rep.error.clone().unwrap_or_else(|| rep.problems.join("; "))
            ));
        }
        if evidence.is_empty() {
            continue;
        }
        let codes: Vec<String> = i
            .report
            .map(|r| {
                // Call errors carry no exporter label: they are this
                // exporter's only when it is the only one making calls.
                let mut c: Vec<String> = if sole {
                    r.export_latency.errors.keys().cloned().collect()
                } else {
                    Vec::new()
                };
                for e in r.exporters.iter().filter(|e| e.exporter == id) {
                    c.extend(e.failed_by.keys().cloned());
                }
                c
            })
            .unwrap_or_default();
        let has_code = |want: &[&str]| {
            codes
                .iter()
                .any(|c| want.iter().any(|w| c.eq_ignore_ascii_case(w)))
        };
        let endpoint = endpoint_of(i, &id).unwrap_or_else(|| "(endpoint not in the config)".into());
        let hostport = endpoint
            .trim_start_matches("https://")
            .trim_start_matches("http://")
            .split('/')
            .next()
            .unwrap_or_default()
            .to_string();
        let mut steps = Vec::new();
        let mut commands = Vec::new();
        let cause = if tls_log.is_some() || probe_failed.is_some() {
            let text = tls_log
                .map(|l| l.example.to_lowercase())
                .unwrap_or_default();
            let probe_text = probe_failed
                .as_ref()
                .and_then(|(_, r)| r.error.clone())
                .unwrap_or_default()
                .to_lowercase();
            let both = format!("{text} {probe_text}");
            steps.push(format!(
                "Review TLS settings: exporters.{id}.tls against the certificate {hostport} presents"
            ));
            commands.push(format!(
                "otelops certs check --endpoint {hostport}{}",
                i.probes
                    .iter()
                    .find(|(e, _)| e.id == id)
                    .and_then(|(e, _)| e.ca_file.as_ref())
                    .map(|c| format!(" --ca {}", c.display()))
                    .unwrap_or_default()
            ));
            if both.contains("first record does not look like a tls handshake") {
                "TLS mismatch: the exporter speaks TLS, the backend answers in plain text"
                    .to_string()
            } else if both.contains("expired") {
                commands.push(
                    "otelops certs rotate --dir DIR   # the backend's certificate directory".into(),
                );
                "certificate problem: the backend's certificate has expired (the TLS handshake fails)".to_string()
            } else if both.contains("unknown authority") || both.contains("unknownissuer") {
                "certificate problem: the backend's certificate is not signed by the CA the exporter trusts (tls.ca_file)".to_string()
            } else {
                "certificate problem: the TLS handshake with the backend fails".to_string()
            }
        } else if auth_log.is_some()
            || has_code(&[
                "Unauthenticated",
                "PERMISSION_DENIED",
                "PermissionDenied",
                "HTTP 401",
                "HTTP 403",
            ])
        {
            steps.push(format!(
                "Check authentication credentials: the token exporters.{id} sends (headers / bearertokenauth) is not the one the backend accepts"
            ));
            commands.push(
                "otelops token rotate --file TOKEN_FILE   # then give the backend the same token"
                    .into(),
            );
            "token problem: the backend refuses our credentials (Unauthenticated)".to_string()
        } else if down_log.is_some()
            || has_code(&["Unavailable", "DEADLINE_EXCEEDED", "DeadlineExceeded"])
        {
            "backend unreachable: nothing answers at the exporter's endpoint (UNAVAILABLE)"
                .to_string()
        } else {
            "sends to the backend fail".to_string()
        };
        // The guide's Export Failures steps, in order after the cause's own.
        steps.push(format!(
            "Check network connectivity to the backend: is it up and listening at {endpoint}?"
        ));
        commands.push(format!("otelops health --skip health --skip health-v2 --skip metrics --skip otlp-http --skip zpages --otlp-grpc http://{hostport}"));
        steps.push(format!(
            "Verify the endpoint configuration: exporters.{id}.endpoint = {endpoint}"
        ));
        if !steps.iter().any(|s| s.starts_with("Check authentication")) {
            steps.push(format!(
                "Check authentication credentials of exporters.{id}"
            ));
        }
        if !steps.iter().any(|s| s.starts_with("Review TLS")) {
            steps.push(format!("Review TLS settings of exporters.{id}"));
        }
        steps.push(
            "Do not grow the queue or add consumers while sends fail: that only delays the loss"
                .into(),
        );
        let mut status = Status::Warn;
        if let Some(r) = i.report {
            for e in r.exporters.iter().filter(|e| e.exporter == id) {
                if let Some(u) = e.queue_utilisation_pct {
                    evidence.push(format!(
                        "queue {:.0}/{:.0} ({u:.0}%): full because nothing drains it, not for lack of capacity",
                        e.queue_size.unwrap_or(0.0),
                        e.queue_capacity.unwrap_or(0.0)
                    ));
                }
                status = status.max(e.status);
            }
            status = status.max(r.export_latency.status);
        }
        if tls_log.is_some() || auth_log.is_some() || probe_failed.is_some() {
            status = Status::Crit;
        }
        failing.push(id.clone());
        out.push(Finding {
            symptom: Symptom::ExportFailures,
            status,
            subject: format!("exporters.{id}"),
            cause,
            evidence,
            steps,
            commands,
            diff: String::new(),
        });
    }
    failing
}

fn diff_of(
    i: &Inputs<'_>,
    recs: &[Recommendation],
    keep: impl Fn(&Recommendation) -> bool,
) -> (Vec<Recommendation>, String) {
    let mut mine: Vec<Recommendation> = recs.iter().filter(|r| keep(r)).cloned().collect();
    let diff = i
        .config
        .map(|c| tune::diff(c, &mut mine))
        .unwrap_or_default();
    (mine, diff)
}

fn describe(r: &Recommendation) -> String {
    match (&r.setting, &r.recommended) {
        (Some(s), Some(v)) => format!(
            "{}.{s}: {} → {v} ({})",
            r.component,
            r.current.as_deref().unwrap_or("(unset)"),
            r.reason
        ),
        _ => format!("{}: {}", r.component, r.reason),
    }
}

fn high_queue(i: &Inputs<'_>, recs: &[Recommendation], failing: &[String], out: &mut Vec<Finding>) {
    let Some(r) = i.report else { return };
    for e in &r.exporters {
        let Some(u) = e
            .queue_utilisation_pct
            .filter(|u| *u > r.thresholds.queue_warn_pct)
        else {
            continue;
        };
        if failing.contains(&e.exporter) {
            continue; // an export failure, reported as such
        }
        let component = format!("exporters.{}", e.exporter);
        let (mine, diff) = diff_of(i, recs, |x| {
            x.component == component
                && matches!(
                    x.rule,
                    "queue-consumers" | "queue-size" | "slow-exports" | "memory-constrained"
                )
        });
        let mut evidence = vec![format!(
            "queue {:.0}/{:.0} ({u:.1}% > {}%), sends succeed",
            e.queue_size.unwrap_or(0.0),
            e.queue_capacity.unwrap_or(0.0),
            r.thresholds.queue_warn_pct
        )];
        evidence.extend(mine.iter().flat_map(|x| x.evidence.clone()));
        let mut steps: Vec<String> = mine.iter().map(describe).collect();
        steps.push("The guide: increase num_consumers, increase queue_size, check backend latency, consider sampling".into());
        out.push(Finding {
            symptom: Symptom::HighQueueUtilisation,
            status: e.status,
            subject: component,
            cause: "the queue fills faster than its consumers drain it".into(),
            evidence,
            steps,
            commands: vec![],
            diff,
        });
    }
}

fn memory(i: &Inputs<'_>, recs: &[Recommendation], out: &mut Vec<Finding>) {
    let mut evidence = Vec::new();
    let mut status = Status::Ok;
    if let Some(r) = i.report {
        if let Some(m) = r
            .resources
            .memory_pct
            .filter(|m| *m > r.thresholds.memory_warn_pct)
        {
            evidence.push(format!("RSS at {m:.1}% of the memory limit"));
            status = status.max(r.resources.status);
        }
        if let Some(n) = r.resources.limiter_refused.filter(|n| *n > 0.0) {
            evidence.push(format!("memory_limiter refused {n:.0} items"));
            status = Status::Crit;
        }
    }
    if let Some(l) = i
        .log
        .and_then(|l| l.kinds.iter().find(|k| k.kind == LogKind::Memory))
    {
        evidence.push(format!("log: {} × {}", l.count, l.example));
        status = status.max(Status::Warn);
    }
    if evidence.is_empty() {
        return;
    }
    let (mine, diff) = diff_of(i, recs, |x| {
        matches!(
            x.rule,
            "memory-constrained" | "memory-limiter" | "memory-pressure"
        )
    });
    let mut steps: Vec<String> = mine.iter().map(describe).collect();
    steps
        .push("Check the memory_limiter settings (limit 80 %, spike 20 % of the container)".into());
    steps.push("Reduce batch and queue sizes (the diff), or give the container more memory".into());
    out.push(Finding {
        symptom: Symptom::MemoryIssues,
        status,
        subject: "processors.memory_limiter".into(),
        cause: "the collector is short of memory: memory_limiter refuses data so that it does not run out".into(),
        evidence,
        steps,
        commands: vec![format!(
            "otelops monitor report --config {}   # RSS against the limit",
            i.config
                .map_or("CONFIG".to_string(), |c| c.path.display().to_string())
        )],
        diff,
    });
}

/// `otelops certs rotate --dir DIR` when DIR is one of ours (has `ca.key`),
/// else the CA that issued it must renew it.
fn renewal(path: &Path, issuer: &str) -> (String, Vec<String>) {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if dir.join("ca.key").is_file() && !path.ends_with("ca.crt") {
        (
            format!("Renew {} (its CA is in {})", path.display(), dir.display()),
            vec![format!("otelops certs rotate --dir {}", dir.display())],
        )
    } else {
        (
            format!(
                "Renew {} with the CA that issued it ({issuer}), then replace the file",
                path.display()
            ),
            vec![format!("otelops certs check {}", path.display())],
        )
    }
}

fn certificates(i: &Inputs<'_>, out: &mut Vec<Finding>) {
    for (src, r) in i.certs {
        let rep = match r {
            Ok(rep) => rep,
            Err(e) => {
                out.push(Finding {
                    symptom: Symptom::CertificateExpiration,
                    status: Status::Crit,
                    subject: src.path.display().to_string(),
                    cause: "the certificate file cannot be read".into(),
                    evidence: vec![format!(
                        "{} (named by {}): {e}",
                        src.path.display(),
                        src.named_by
                    )],
                    steps: vec!["Fix the path or the file".into()],
                    commands: vec![],
                    diff: String::new(),
                });
                continue;
            }
        };
        let status = expiry_status(rep.cert.days_left);
        if status == Status::Ok {
            continue;
        }
        let (step, commands) = renewal(&src.path, &rep.cert.issuer);
        out.push(Finding {
            symptom: Symptom::CertificateExpiration,
            status,
            subject: src.path.display().to_string(),
            cause: if rep.cert.days_left <= 0 {
                format!(
                    "the certificate expired on {}: TLS handshakes with it fail",
                    rep.cert.not_after
                )
            } else {
                format!("the certificate expires in {} days", rep.cert.days_left)
            },
            evidence: vec![format!(
                "{} (named by {}): subject {}, notAfter {}, {} days left",
                src.path.display(),
                src.named_by,
                rep.cert.subject,
                rep.cert.not_after,
                rep.cert.days_left
            )],
            steps: vec![
                step,
                "The receivers reload it (reload_interval) without a restart".into(),
            ],
            commands,
            diff: String::new(),
        });
    }
    for (e, r) in i.probes {
        let Ok(rep) = r else { continue };
        let Some(leaf) = rep.chain.first() else {
            continue;
        };
        let status = expiry_status(leaf.days_left);
        if status == Status::Ok {
            continue;
        }
        out.push(Finding {
            symptom: Symptom::CertificateExpiration,
            status,
            subject: e.endpoint.clone(),
            cause: if leaf.days_left <= 0 {
                format!("the backend's certificate expired on {}", leaf.not_after)
            } else {
                format!(
                    "the backend's certificate expires in {} days",
                    leaf.days_left
                )
            },
            evidence: vec![format!(
                "{} (exporters.{}) presents {}, notAfter {}, {} days left",
                e.endpoint, e.id, leaf.subject, leaf.not_after, leaf.days_left
            )],
            steps: vec![format!(
                "Renew the certificate of the backend at {} (issuer {})",
                e.endpoint, leaf.issuer
            )],
            commands: vec![format!("otelops certs check --endpoint {}", e.endpoint)],
            diff: String::new(),
        });
    }
}

pub mod render;

#[cfg(test)]
mod tests;
