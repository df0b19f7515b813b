//! Weekly: performance trends (the monitor history), tuning
//! recommendations (`tune`), security configuration (`audit security`),
//! backup test (the newest backup verifies by a trial restore).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{Check, Inputs, Line, Series, Status};
use crate::collector_config::file::ConfigFile;
use crate::monitor::Thresholds;
use crate::monitor::history::{History, Record};
use crate::monitor::trends::{Direction, trends};
use crate::tune::{self, RuleOptions};

/// The trends look back this far.
pub const TREND_WINDOW: Duration = Duration::from_secs(7 * 86_400);

pub async fn checks(inputs: &Inputs) -> (Vec<Check>, Vec<Series>) {
    let (trend, series) = trends_check(inputs);
    let checks = vec![
        trend,
        tune_check(inputs).await,
        security_check(inputs),
        backup_check(inputs),
    ];
    (checks, series)
}

fn trends_check(inputs: &Inputs) -> (Check, Vec<Series>) {
    const ID: &str = "weekly.trends";
    const TASK: &str = "Analyze performance trends";
    let Some(path) = &inputs.monitor_history else {
        return (
            Check::skipped(
                ID,
                TASK,
                "no --monitor-history FILE (written by otelops monitor watch --history FILE)",
            ),
            Vec::new(),
        );
    };
    let mut check = Check::new(ID, TASK);
    // History::open creates a missing file; a typo must not look like a
    // quiet week.
    if !path.is_file() {
        check.finding(
            Status::Unknown,
            format!("{}: no such monitor history", path.display()),
            "run otelops monitor watch --history FILE so there are trends to read",
        );
        return (check, Vec::new());
    }
    let since = super::unix_ms(inputs.now).saturating_sub(TREND_WINDOW.as_millis() as u64);
    let records = match History::open(path).and_then(|h| h.since(since)) {
        Ok(r) => r,
        Err(e) => {
            check.finding(
                Status::Unknown,
                e.to_string(),
                "give a history written by otelops monitor watch --history",
            );
            return (check, Vec::new());
        }
    };
    if records.is_empty() {
        check.finding(
            Status::Unknown,
            format!("{}: no monitor round in the last 7 days", path.display()),
            "keep otelops monitor watch --history running",
        );
        return (check, Vec::new());
    }
    let t = trends(&records);
    check.ok(format!(
        "{} monitor rounds: {} OK, {} WARN, {} CRIT",
        t.records,
        t.status_counts.get("OK").unwrap_or(&0),
        t.status_counts.get("WARN").unwrap_or(&0),
        t.status_counts.get("CRIT").unwrap_or(&0)
    ));
    let crit = *t.status_counts.get("CRIT").unwrap_or(&0);
    if crit > 0 {
        check.finding(
            Status::Warn,
            format!("{crit} of {} rounds were CRIT", t.records),
            "read otelops monitor trends --history FILE for when, and the collector log of that time",
        );
    }
    // A metric counts as a worrying trend when it rises and has reached
    // half its monitor WARN level: a 0.3 % memory drift is not news.
    let g = Thresholds::GUIDE;
    let watched = [
        ("queue_utilisation_pct", g.queue_warn_pct),
        ("refused_pct", g.refused_warn_pct),
        ("send_failed_pct", g.send_failed_warn_pct),
        ("memory_pct", g.memory_warn_pct),
    ];
    for m in &t.metrics {
        let Some((_, warn)) = watched.iter().find(|(s, _)| m.metric.ends_with(s)) else {
            continue;
        };
        if m.direction == Direction::Rising && m.last >= warn / 2.0 {
            check.finding(
                Status::Warn,
                format!(
                    "{} rising: {:.1} → {:.1} (max {:.1}; WARN at {warn}) over {} rounds",
                    m.metric, m.first, m.last, m.max, m.samples
                ),
                format!("{}: find why it grows (load, downstream) before it reaches its limit; otelops tune", m.metric),
            );
            check.kinds.push(format!("{} rising", m.metric));
        }
    }
    (check, series(&records))
}

/// The plots: queue %, refused %, send-failed %, memory vs limit,
/// throughput, one line per component.
pub fn series(records: &[Record]) -> Vec<Series> {
    let by_suffix = |suffixes: &[&str]| -> Vec<Line> {
        let mut lines: BTreeMap<String, Vec<(u64, f64)>> = BTreeMap::new();
        for r in records {
            for (k, v) in &r.values {
                if let Some(s) = suffixes.iter().find(|s| k.ends_with(&format!(" {s}"))) {
                    let label = format!("{} ({s})", &k[..k.len() - s.len() - 1]);
                    let label = if suffixes.len() == 1 {
                        k[..k.len() - s.len() - 1].to_string()
                    } else {
                        label
                    };
                    lines.entry(label).or_default().push((r.ts_ms, *v));
                }
            }
        }
        lines
            .into_iter()
            .map(|(label, points)| Line { label, points })
            .collect()
    };
    let mut memory = vec![Line {
        label: "rss".into(),
        points: records
            .iter()
            .filter_map(|r| r.values.get("process rss_mib").map(|v| (r.ts_ms, *v)))
            .collect(),
    }];
    let limit: Vec<(u64, f64)> = records
        .iter()
        .filter_map(|r| {
            let rss = r.values.get("process rss_mib")?;
            let pct = r.values.get("process memory_pct").filter(|p| **p > 0.0)?;
            Some((r.ts_ms, rss / pct * 100.0))
        })
        .collect();
    if !limit.is_empty() {
        memory.push(Line {
            label: "limit".into(),
            points: limit,
        });
    }
    memory.retain(|l| !l.points.is_empty());
    let plot = |title: &str, unit: &str, lines: Vec<Line>| Series {
        title: title.into(),
        unit: unit.into(),
        lines,
    };
    vec![
        plot(
            "Queue utilisation",
            "%",
            by_suffix(&["queue_utilisation_pct"]),
        ),
        plot("Refused", "%", by_suffix(&["refused_pct"])),
        plot("Send failed", "%", by_suffix(&["send_failed_pct"])),
        plot("Memory vs limit", "MiB", memory),
        plot(
            "Throughput",
            "items/s",
            by_suffix(&["accepted_per_sec", "sent_per_sec"]),
        ),
    ]
}

async fn tune_check(inputs: &Inputs) -> Check {
    const ID: &str = "weekly.tune";
    const TASK: &str = "Review tuning recommendations";
    let Some(config) = &inputs.config else {
        return Check::skipped(ID, TASK, "no --config FILE to tune");
    };
    let mut check = Check::new(ID, TASK);
    let cfg = match ConfigFile::load(config) {
        Ok(c) => c,
        Err(e) => {
            check.finding(Status::Unknown, e.to_string(), "give a readable --config");
            return check;
        }
    };
    let report = super::monitor_report(inputs).await;
    let report = match report {
        Ok(r) => Some(r),
        Err(e) => {
            check.ok(format!("metrics not read ({e}); config rules only"));
            None
        }
    };
    let t = tune::tune(&cfg, report.as_ref(), &RuleOptions::guide());
    if t.recommendations.is_empty() {
        check.ok(format!("{}: nothing to change", t.config));
    }
    for r in &t.recommendations {
        let change = match (&r.setting, &r.recommended) {
            (Some(s), Some(new)) => format!(
                "{}.{s}: {} → {new}",
                r.component,
                r.current.as_deref().unwrap_or("(unset)")
            ),
            _ => format!("{}: advice", r.component),
        };
        check.finding(
            Status::Warn,
            format!("[{}] {change}: {}", r.rule, r.reason),
            format!(
                "review and apply the diff of: otelops tune --config {} --metrics-url {}",
                config.display(),
                inputs.targets.metrics
            ),
        );
        check.kinds.push(format!("{} {}", r.rule, r.component));
    }
    check
}

fn security_check(inputs: &Inputs) -> Check {
    const ID: &str = "weekly.security";
    const TASK: &str = "Check security configuration";
    let Some(config) = &inputs.config else {
        return Check::skipped(ID, TASK, "no --config FILE to audit");
    };
    super::audit_check(
        ID,
        TASK,
        crate::audit::security(&super::audit_inputs(inputs, config.clone())),
    )
}

/// The newest `*.tar.gz` under `dir` (by modification time).
fn newest_backup(dir: &Path) -> std::io::Result<Option<PathBuf>> {
    let mut best: Option<(std::time::SystemTime, PathBuf)> = None;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        if !path.to_string_lossy().ends_with(".tar.gz") {
            continue;
        }
        let modified = entry.metadata()?.modified()?;
        if best.as_ref().is_none_or(|(t, _)| modified > *t) {
            best = Some((modified, path));
        }
    }
    Ok(best.map(|(_, p)| p))
}

fn backup_check(inputs: &Inputs) -> Check {
    const ID: &str = "weekly.backup";
    const TASK: &str = "Test backup restoration";
    let Some(dir) = &inputs.backup_dir else {
        return Check::skipped(ID, TASK, "no --backup-dir DIR");
    };
    let mut check = Check::new(ID, TASK);
    let newest = match newest_backup(dir) {
        Ok(Some(p)) => p,
        Ok(None) => {
            check.finding(
                Status::Crit,
                format!("{}: no backup (*.tar.gz)", dir.display()),
                format!("otelops backup create --config DIR --certs DIR --out {}/NAME.tar.gz --passphrase-file F", dir.display()),
            );
            return check;
        }
        Err(e) => {
            check.finding(
                Status::Unknown,
                format!("{}: {e}", dir.display()),
                "give a readable --backup-dir",
            );
            return check;
        }
    };
    let Some(passphrase) = &inputs.passphrase else {
        check.finding(
            Status::Unknown,
            format!("{}: not tested, no passphrase", newest.display()),
            "give --passphrase-file FILE or --passphrase-env VAR",
        );
        return check;
    };
    match crate::backup::verify(&newest, passphrase) {
        Ok(r) => check.ok(format!(
            "{}: verified; {} config and {} certificate files restored into a temporary directory and read back equal",
            newest.display(),
            r.config_files,
            r.certs_files
        )),
        Err(e) => {
            check.finding(
                Status::Crit,
                format!("{}: {e}", newest.display()),
                "make a new backup now (otelops backup create) and find out what damaged this one",
            );
            check.kinds.push("backup failed verification".into());
        }
    }
    check
}
