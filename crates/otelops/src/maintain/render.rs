//! The terminal table: one block per check (status, task, evidence, then
//! the actions), the changes since the last run at the end.

use std::fmt::Write;
use std::time::{Duration, SystemTime};

use super::Report;

pub fn timestamp(at_ms: u64) -> String {
    humantime::format_rfc3339_seconds(SystemTime::UNIX_EPOCH + Duration::from_millis(at_ms))
        .to_string()
}

pub fn table(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "otelops maintain {}: {} ({})\n",
        report.schedule.name(),
        report.status.label(),
        timestamp(report.at_ms)
    );
    for c in &report.checks {
        let _ = writeln!(out, "{:<8} {}", c.status.label(), c.task);
        for e in &c.evidence {
            let _ = writeln!(out, "         - {e}");
        }
        for a in &c.action {
            let _ = writeln!(out, "         action: {a}");
        }
    }
    if !report.changes.is_empty() {
        let _ = writeln!(out, "\nChanges since the last run:");
        for c in &report.changes {
            let _ = writeln!(out, "  - {c}");
        }
    }
    out
}
