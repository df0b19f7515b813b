//! The guide's scheduled maintenance (daily, weekly, monthly) as checks:
//! each task gathers its evidence through the existing modules (`health`,
//! `monitor`, `tune`, `audit`, `backup`, `certs`, `token`, [`crate::version`]),
//! judges it, and says what to do. The report's status is the worst check's;
//! `--history` keeps each run so the next one says what changed.
//!
//! One file per concern: [`daily`], [`weekly`], [`monthly`] hold the checks
//! of each schedule; [`logs`] reads collector logs, [`runbook`] the
//! runbook's command lines, [`history`] the runs, [`render`] the table and
//! [`html`] the self-contained page. Nothing here prints.

pub mod daily;
pub mod history;
pub mod html;
pub mod logs;
pub mod monthly;
pub mod render;
pub mod runbook;
pub mod weekly;

use std::path::PathBuf;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::backup::Passphrase;
use crate::health::{CheckKind, Targets};
use crate::http_client::{HttpClient, TlsFiles};

/// How one check came out. Ordered by how much it needs a person:
/// skipped (nothing given to check) < OK < UNKNOWN (could not check) <
/// WARN < CRIT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    Skipped,
    Ok,
    Unknown,
    Warn,
    Crit,
}

impl Status {
    pub fn label(self) -> &'static str {
        match self {
            Status::Skipped => "SKIPPED",
            Status::Ok => "OK",
            Status::Unknown => "UNKNOWN",
            Status::Warn => "WARN",
            Status::Crit => "CRIT",
        }
    }
}

impl From<crate::monitor::Status> for Status {
    fn from(s: crate::monitor::Status) -> Status {
        match s {
            crate::monitor::Status::Ok => Status::Ok,
            crate::monitor::Status::Warn => Status::Warn,
            crate::monitor::Status::Crit => Status::Crit,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Schedule {
    Daily,
    Weekly,
    Monthly,
}

impl Schedule {
    pub fn name(self) -> &'static str {
        match self {
            Schedule::Daily => "daily",
            Schedule::Weekly => "weekly",
            Schedule::Monthly => "monthly",
        }
    }
}

/// One task of the guide's list: its status, the evidence it was judged
/// on, and what to do about it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Check {
    /// Stable id (`daily.logs`), the key runs are compared by.
    pub id: String,
    /// The guide's wording of the task.
    pub task: String,
    pub status: Status,
    pub evidence: Vec<String>,
    pub action: Vec<String>,
    /// What the check found, one stable key each (a log message kind, an
    /// exporter that fails): the history says which are new.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kinds: Vec<String>,
}

impl Check {
    pub fn new(id: &str, task: &str) -> Check {
        Check {
            id: id.into(),
            task: task.into(),
            status: Status::Ok,
            evidence: Vec::new(),
            action: Vec::new(),
            kinds: Vec::new(),
        }
    }

    /// Evidence that passed.
    pub fn ok(&mut self, evidence: impl Into<String>) {
        self.evidence.push(evidence.into());
    }

    /// A finding: the check takes the worse status; each action is kept once.
    pub fn finding(
        &mut self,
        status: Status,
        evidence: impl Into<String>,
        action: impl Into<String>,
    ) {
        self.status = self.status.max(status);
        self.evidence.push(evidence.into());
        let action = action.into();
        if !action.is_empty() && !self.action.contains(&action) {
            self.action.push(action);
        }
    }

    /// Nothing was given to check (`why` names the flag that would).
    pub fn skipped(id: &str, task: &str, why: impl Into<String>) -> Check {
        let mut c = Check::new(id, task);
        c.status = Status::Skipped;
        c.evidence.push(why.into());
        c
    }
}

/// One series of the monitor history, for the report's plots.
#[derive(Debug, Clone, Serialize)]
pub struct Series {
    /// `queue %`, `refused %`, …
    pub title: String,
    pub unit: String,
    /// One line per component (exporter, receiver, `rss`, `limit`).
    pub lines: Vec<Line>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Line {
    pub label: String,
    /// (Unix ms, value), oldest first.
    pub points: Vec<(u64, f64)>,
}

/// Where a series' points land in a plot area (SVG coordinates, y down):
/// time spans the width, 0 to a tenth above the highest value (or `reach`,
/// e.g. a CRIT threshold that must stay in view) spans the height. Shared by
/// the HTML report and the web view's health page.
#[derive(Debug, Clone, Copy)]
pub struct Scale {
    pub left: f64,
    pub top: f64,
    pub width: f64,
    pub height: f64,
    /// Oldest and newest time (Unix ms) of any point.
    pub t0: u64,
    pub t1: u64,
    /// The value at the top of the plot.
    pub vmax: f64,
}

impl Scale {
    pub fn new(
        s: &Series,
        reach: Option<f64>,
        (left, top, width, height): (f64, f64, f64, f64),
    ) -> Scale {
        let points = s.lines.iter().flat_map(|l| &l.points);
        let (mut t0, mut t1, mut vmax) = (u64::MAX, 0u64, reach.unwrap_or(0.0));
        for (t, v) in points {
            t0 = t0.min(*t);
            t1 = t1.max(*t);
            vmax = vmax.max(*v);
        }
        Scale {
            left,
            top,
            width,
            height,
            t0: t0.min(t1),
            t1,
            vmax: if vmax > 0.0 { vmax * 1.1 } else { 1.0 },
        }
    }

    pub fn x(&self, t: u64) -> f64 {
        if self.t1 > self.t0 {
            self.left + (t - self.t0) as f64 / (self.t1 - self.t0) as f64 * self.width
        } else {
            self.left + self.width / 2.0
        }
    }

    pub fn y(&self, v: f64) -> f64 {
        self.top + self.height - (v / self.vmax).clamp(0.0, 1.0) * self.height
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub schedule: Schedule,
    /// Unix milliseconds of the run.
    pub at_ms: u64,
    pub status: Status,
    pub checks: Vec<Check>,
    /// What differs from the previous run in `--history` (empty without one).
    pub changes: Vec<String>,
    /// The monitor history's trends (weekly), for the plots.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub series: Vec<Series>,
}

impl Report {
    pub fn new(
        schedule: Schedule,
        at: SystemTime,
        checks: Vec<Check>,
        series: Vec<Series>,
    ) -> Report {
        let status = checks
            .iter()
            .map(|c| c.status)
            .max()
            .unwrap_or(Status::Ok)
            .max(Status::Ok);
        Report {
            schedule,
            at_ms: unix_ms(at),
            status,
            checks,
            changes: Vec::new(),
            series,
        }
    }
}

pub fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Where the collector's logs come from.
#[derive(Debug, Clone)]
pub enum LogSource {
    /// The collector's own log (console or JSON encoding); `-` is stdin.
    File(PathBuf),
    Stdin,
    /// The OTLP-JSON copy `otelops receive --jsonl FILE` writes of the logs
    /// the collector exported to it (receive itself keeps only counts).
    Received(PathBuf),
}

/// Everything the checks read; what is `None` or empty makes its check
/// SKIPPED (and says which flag would run it).
#[derive(Debug)]
pub struct Inputs {
    pub config: Option<PathBuf>,
    pub targets: Targets,
    pub skip: Vec<CheckKind>,
    pub client: HttpClient,
    /// Time between the two metric scrapes (rates); zero takes one.
    pub window: std::time::Duration,
    pub timeout: std::time::Duration,
    pub allow_remote: bool,
    /// CA and client identity for the exporter endpoints' TLS probe.
    pub tls: TlsFiles,
    pub logs: Vec<LogSource>,
    pub monitor_history: Option<PathBuf>,
    pub backup_dir: Option<PathBuf>,
    pub passphrase: Option<Passphrase>,
    pub certs: Vec<PathBuf>,
    pub ingest_token_files: Vec<PathBuf>,
    /// Tokens older than this are due for rotation.
    pub token_max_age: std::time::Duration,
    pub runbook: PathBuf,
    pub version: crate::version::Inputs,
    /// For the security audit (defaults as `otelops audit`).
    pub audit: AuditPaths,
    pub now: SystemTime,
}

/// The repository paths `otelops audit` reads besides the config.
#[derive(Debug, Clone)]
pub struct AuditPaths {
    pub env_files: Vec<PathBuf>,
    pub k8s_dir: PathBuf,
    pub dockerfile: PathBuf,
    pub rules: PathBuf,
}

/// Runs one schedule's checks (no history: see [`history`]).
pub async fn run(schedule: Schedule, inputs: &Inputs) -> Report {
    let (checks, series) = match schedule {
        Schedule::Daily => (daily::checks(inputs).await, Vec::new()),
        Schedule::Weekly => weekly::checks(inputs).await,
        Schedule::Monthly => (monthly::checks(inputs).await, Vec::new()),
    };
    Report::new(schedule, inputs.now, checks, series)
}

/// One `monitor` judgement of the collector's metrics page (two scrapes
/// `window` apart), as daily's queue and export checks and weekly's tune use.
pub(crate) async fn monitor_report(
    inputs: &Inputs,
) -> Result<crate::monitor::Report, crate::monitor::MonitorError> {
    crate::monitor::report(
        &crate::monitor::Source::Url {
            url: inputs.targets.metrics.clone(),
            client: inputs.client.without_token(),
        },
        &crate::monitor::ReportOptions {
            window: inputs.window,
            thresholds: crate::monitor::Thresholds::GUIDE,
            memory_limit_mib: None,
        },
    )
    .await
}

/// The audit inputs for `configs` as `otelops audit` would build them.
pub(crate) fn audit_inputs(inputs: &Inputs, config: PathBuf) -> crate::audit::Inputs {
    crate::audit::Inputs {
        configs: vec![config],
        env_files: inputs.audit.env_files.clone(),
        k8s_dir: inputs.audit.k8s_dir.clone(),
        dockerfile: inputs.audit.dockerfile.clone(),
        rules: inputs.audit.rules.clone(),
        certs: inputs.certs.clone(),
        collector: None,
        pid: None,
        backup_dir: inputs
            .backup_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from("/var/backups/otelcol-parker")),
        max_backup_age: std::time::Duration::from_secs(7 * 86_400),
        runbook: inputs.runbook.clone(),
        now: inputs.now,
    }
}

/// An audit report as one check: its non-OK items as evidence, their fixes
/// as actions.
pub(crate) fn audit_check(
    id: &str,
    task: &str,
    report: Result<crate::audit::Report, crate::audit::AuditError>,
) -> Check {
    let mut check = Check::new(id, task);
    match report {
        Ok(report) => {
            let passed = report
                .items
                .iter()
                .filter(|i| i.status == crate::monitor::Status::Ok)
                .count();
            check.ok(format!(
                "otelops audit {}: {passed} of {} items OK",
                report.audit,
                report.items.len()
            ));
            for item in &report.items {
                if item.status == crate::monitor::Status::Ok {
                    continue;
                }
                let status = Status::from(item.status);
                check.finding(
                    status,
                    format!(
                        "{} {}: {}",
                        item.status,
                        item.title,
                        item.evidence.join("; ")
                    ),
                    item.fix.join("; "),
                );
                check.kinds.push(format!("{}:{}", item.id, item.status));
            }
        }
        Err(e) => check.finding(
            Status::Unknown,
            format!("the audit could not run: {e}"),
            "fix the input it names, then run otelops audit security",
        ),
    }
    check
}
