//! `--history FILE`: one JSON line per run (schedule, status, each check's
//! status and finding kinds), so the next run of the same schedule says
//! what changed: new and resolved findings, status changes.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{Report, Schedule, Status};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Run {
    pub at_ms: u64,
    pub schedule: Schedule,
    pub status: Status,
    pub checks: Vec<CheckRun>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckRun {
    pub id: String,
    pub status: Status,
    #[serde(default)]
    pub kinds: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
#[error("history {path}: {reason}")]
pub struct HistoryError {
    pub path: PathBuf,
    pub reason: String,
}

impl Run {
    pub fn of(report: &Report) -> Run {
        Run {
            at_ms: report.at_ms,
            schedule: report.schedule,
            status: report.status,
            checks: report
                .checks
                .iter()
                .map(|c| CheckRun {
                    id: c.id.clone(),
                    status: c.status,
                    kinds: c.kinds.clone(),
                })
                .collect(),
        }
    }
}

/// The last run of `schedule` in the file (none if the file is missing).
pub fn last(path: &Path, schedule: Schedule) -> Result<Option<Run>, HistoryError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(HistoryError {
                path: path.into(),
                reason: e.to_string(),
            });
        }
    };
    let mut last = None;
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let run: Run = serde_json::from_str(line).map_err(|e| HistoryError {
            path: path.into(),
            reason: format!("line {}: {e}", n + 1),
        })?;
        if run.schedule == schedule {
            last = Some(run);
        }
    }
    Ok(last)
}

/// What changed from `previous` to `now`, one sentence each.
pub fn changes(previous: Option<&Run>, now: &Run) -> Vec<String> {
    let Some(prev) = previous else {
        return vec!["first recorded run of this schedule".into()];
    };
    let mut out = Vec::new();
    for c in &now.checks {
        let Some(p) = prev.checks.iter().find(|p| p.id == c.id) else {
            out.push(format!("{}: new check, {}", c.id, c.status.label()));
            continue;
        };
        if p.status != c.status {
            out.push(format!(
                "{}: {} → {}",
                c.id,
                p.status.label(),
                c.status.label()
            ));
        }
        for k in c.kinds.iter().filter(|k| !p.kinds.contains(k)) {
            out.push(format!("{}: new: {k}", c.id));
        }
        for k in p.kinds.iter().filter(|k| !c.kinds.contains(k)) {
            out.push(format!("{}: resolved: {k}", c.id));
        }
    }
    if out.is_empty() {
        out.push("no change since the last run".into());
    }
    out
}

/// Fills `report.changes` from the file's last run, then appends this run.
pub fn record(path: &Path, report: &mut Report) -> Result<(), HistoryError> {
    let err = |reason: String| HistoryError {
        path: path.into(),
        reason,
    };
    let now = Run::of(report);
    report.changes = changes(last(path, report.schedule)?.as_ref(), &now);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| err(e.to_string()))?;
    }
    let mut line = serde_json::to_string(&now).map_err(|e| err(e.to_string()))?;
    line.push('\n');
    // One write of a whole line with O_APPEND: concurrent runs do not
    // interleave inside a line.
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut f| f.write_all(line.as_bytes()))
        .map_err(|e| err(e.to_string()))
}
