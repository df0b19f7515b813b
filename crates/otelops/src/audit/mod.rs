//! The operations guide's two checklists as reports: `security` (TLS,
//! tokens, certificates, literal secrets, non-root, network) and
//! `production` (resource limits, monitoring, alert rules, log shipping,
//! backups, runbook). Each [`Item`] carries a status, the evidence it was
//! judged on and the fix; the report's status is the worst item's.
//!
//! Start at [`security`] and [`production`]; [`sources`] loads every input
//! once (collector configs through `collector_config`, env files, manifests,
//! the live process), the other modules each judge one group of items and
//! never print.
//!
//! Secrets: token values are read to be judged, and only their length and
//! estimated strength ever appear in evidence.

pub mod backups;
pub mod cert;
pub mod config_rules;
pub mod live;
pub mod manifests;
pub mod render;
pub mod secrets;
pub mod sources;

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::http_client::TlsFiles;
pub use crate::monitor::Status;
use sources::Sources;

/// One checklist item: what was checked, how it came out, what it was
/// judged on and, unless it passed, how to fix it.
#[derive(Debug, Clone, Serialize)]
pub struct Item {
    pub id: &'static str,
    pub title: &'static str,
    pub status: Status,
    pub evidence: Vec<String>,
    pub fix: Vec<String>,
}

impl Item {
    pub fn new(id: &'static str, title: &'static str) -> Item {
        Item {
            id,
            title,
            status: Status::Ok,
            evidence: Vec::new(),
            fix: Vec::new(),
        }
    }

    /// Evidence that passed.
    pub fn ok(&mut self, evidence: impl Into<String>) {
        self.evidence.push(evidence.into());
    }

    /// A finding: the item takes the worse status, the fix is kept once.
    pub fn finding(&mut self, status: Status, evidence: impl Into<String>, fix: impl Into<String>) {
        self.status = self.status.max(status);
        self.evidence.push(evidence.into());
        let fix = fix.into();
        if !self.fix.contains(&fix) {
            self.fix.push(fix);
        }
    }

    pub fn crit(&mut self, evidence: impl Into<String>, fix: impl Into<String>) {
        self.finding(Status::Crit, evidence, fix);
    }

    pub fn warn(&mut self, evidence: impl Into<String>, fix: impl Into<String>) {
        self.finding(Status::Warn, evidence, fix);
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub audit: &'static str,
    pub status: Status,
    pub items: Vec<Item>,
}

impl Report {
    fn new(audit: &'static str, items: Vec<Item>) -> Report {
        let status = items.iter().map(|i| i.status).max().unwrap_or(Status::Ok);
        Report {
            audit,
            status,
            items,
        }
    }
}

/// A running collector to probe.
#[derive(Debug, Clone)]
pub struct LiveTarget {
    /// Host (loopback unless allowed otherwise, checked by the caller).
    pub host: String,
    /// CA and client identity for the TLS probe.
    pub tls: TlsFiles,
    pub timeout: Duration,
}

/// Everything the audits read. Paths that do not exist become findings,
/// not errors, except the collector configs (without them nothing can be
/// judged).
#[derive(Debug, Clone)]
pub struct Inputs {
    pub configs: Vec<PathBuf>,
    pub env_files: Vec<PathBuf>,
    pub k8s_dir: PathBuf,
    pub dockerfile: PathBuf,
    pub rules: PathBuf,
    /// Certificates to check besides the receivers' `cert_file`s.
    pub certs: Vec<PathBuf>,
    pub collector: Option<LiveTarget>,
    /// The running collector process (its uid; its environment resolves
    /// `${env:…}` references).
    pub pid: Option<u32>,
    pub backup_dir: PathBuf,
    pub max_backup_age: Duration,
    pub runbook: PathBuf,
    pub now: SystemTime,
}

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error(transparent)]
    Config(#[from] crate::collector_config::file::ConfigError),
    #[error("no collector config given (--config FILE)")]
    NoConfig,
    #[error("--pid {pid}: {reason}")]
    Process { pid: u32, reason: String },
    #[error("{path}: {reason}")]
    Input { path: PathBuf, reason: String },
}

/// The Security Audit Checklist.
pub fn security(inputs: &Inputs) -> Result<Report, AuditError> {
    let src = Sources::load(inputs)?;
    let items = vec![
        config_rules::tls_config(&src),
        live::tls_probe(&src, inputs.collector.as_ref()),
        config_rules::plaintext_endpoints(&src),
        config_rules::tokens_present(&src),
        secrets::tokens_strong(&src),
        cert::certificates(&src, &inputs.certs, inputs.now),
        secrets::literal_secrets(&src),
        manifests::non_root_image(&inputs.dockerfile),
        manifests::non_root_k8s(&src),
        live::non_root_process(inputs.pid),
        manifests::network_policy(&src),
        config_rules::bind_addresses(&src),
    ];
    Ok(Report::new("security", items))
}

/// The Production Checklist.
pub fn production(inputs: &Inputs) -> Result<Report, AuditError> {
    let src = Sources::load(inputs)?;
    let items = vec![
        manifests::resource_limits(&src),
        config_rules::monitoring(&src),
        manifests::alert_rules(&inputs.rules),
        config_rules::log_shipping(&src),
        backups::recent_backup(&inputs.backup_dir, inputs.max_backup_age, inputs.now),
        runbook(&inputs.runbook),
    ];
    Ok(Report::new("production", items))
}

fn runbook(path: &std::path::Path) -> Item {
    let mut item = Item::new("runbook", "A runbook is present");
    match std::fs::read_to_string(path) {
        Ok(text) if !text.trim().is_empty() => item.ok(format!(
            "{} ({} lines)",
            path.display(),
            text.lines().count()
        )),
        Ok(_) => item.crit(
            format!("{} is empty", path.display()),
            "write the runbook",
        ),
        Err(e) => item.crit(
            format!("{}: {e}", path.display()),
            format!(
                "write the runbook ({}): how to rotate certificates and tokens, restore a backup, and answer each alert",
                path.display()
            ),
        ),
    }
    item
}
