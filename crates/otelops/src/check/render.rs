//! Plain-text tables for `otelops check`: findings grouped by level, and the
//! trace-context cases with their verdicts.

use super::trace_context::TraceContextReport;
use super::{Level, Report};

/// Findings grouped by level, one block per finding: where, which span, what.
pub fn table(report: &Report) -> String {
    let mut out = String::new();
    for level in [Level::Violation, Level::Improvement, Level::Information] {
        let findings: Vec<_> = report
            .findings
            .iter()
            .filter(|f| f.level == level)
            .collect();
        if findings.is_empty() {
            continue;
        }
        out.push_str(&format!(
            "{} ({})\n",
            level.as_str().to_uppercase(),
            findings.len()
        ));
        for finding in findings {
            out.push_str(&format!("  {:<32} {}\n", finding.rule, finding.message));
            out.push_str(&format!(
                "  {:<32} at {}: {}\n",
                "", finding.source, finding.path
            ));
            if let Some(span) = &finding.span {
                out.push_str(&format!(
                    "  {:<32} span \"{}\" ({})\n",
                    "", span.name, span.span_id
                ));
            }
        }
    }
    out.push_str(&format!(
        "check {}: {} file(s), {} violation(s), {} improvement(s), {} information\n",
        report.check, report.files, report.violations, report.improvements, report.information
    ));
    out
}

/// One line per case, failures with their reason, then the tally.
pub fn trace_context_table(run: &TraceContextReport) -> String {
    let mut out = String::new();
    for verdict in &run.verdicts {
        let mark = if verdict.passed { "PASS" } else { "FAIL" };
        out.push_str(&format!("{mark}  {:<42} {}\n", verdict.case, verdict.rule));
        if !verdict.passed {
            out.push_str(&format!("      {}\n", verdict.detail));
        }
    }
    let failed: Vec<&str> = run.failed().map(|v| v.case).collect();
    out.push_str(&format!(
        "check trace-context: {}: {} case(s), {} passed, {} failed{}\n",
        run.target,
        run.verdicts.len(),
        run.passed(),
        failed.len(),
        if failed.is_empty() {
            String::new()
        } else {
            format!(" ({})", failed.join(", "))
        }
    ));
    out
}
