//! Compliance checks on telemetry: the OTLP encoding (`export_format`), the
//! semantic conventions (`semconv`) and W3C Trace Context behaviour
//! (`trace_context`, pure judging logic).
//!
//! Start at [`input::load`] (files -> OTLP JSON documents), then
//! [`export_format::check`] / [`semconv::check`], which return [`Finding`]s.
//! Findings carry the file (and line, for JSON lines), the OTLP path
//! (`resourceSpans[0].scopeSpans[0].spans[3].attributes["http.method"]`) and
//! the span they concern; [`Report`] orders them for printing.

pub mod export_format;
pub mod input;
pub mod live;
pub mod render;
pub mod run;
mod schema;
pub mod semconv;
mod span_name;
pub mod trace_context;
pub mod view;

use serde::Serialize;

/// How serious a finding is. Only violations make `otelops check` exit 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// Breaks a MUST of the OTLP specification or the semantic conventions.
    Violation,
    /// Breaks a SHOULD, or loses information a backend would use.
    Improvement,
    /// Worth knowing; nothing to fix.
    Information,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Violation => "violation",
            Level::Improvement => "improvement",
            Level::Information => "information",
        }
    }
}

/// Where a document came from: a file, and for JSON lines the line number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Source {
    pub file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}", self.file),
            None => write!(f, "{}", self.file),
        }
    }
}

/// The span a finding is about, as people find it in a trace viewer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SpanRef {
    pub name: String,
    pub span_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub level: Level,
    /// Stable rule id, e.g. `otlp.trace-id` or `semconv.deprecated`.
    pub rule: &'static str,
    #[serde(flatten)]
    pub source: Source,
    /// OTLP/JSON path of the offending value.
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub span: Option<SpanRef>,
    pub message: String,
}

/// Findings of one check run, sorted by level, then file, then path.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub check: &'static str,
    pub files: usize,
    pub violations: usize,
    pub improvements: usize,
    pub information: usize,
    pub findings: Vec<Finding>,
}

impl Report {
    pub fn new(check: &'static str, files: usize, mut findings: Vec<Finding>) -> Report {
        findings.sort_by(|a, b| {
            (a.level, &a.source.file, a.source.line, &a.path, a.rule).cmp(&(
                b.level,
                &b.source.file,
                b.source.line,
                &b.path,
                b.rule,
            ))
        });
        let count = |level| findings.iter().filter(|f| f.level == level).count();
        Report {
            check,
            files,
            violations: count(Level::Violation),
            improvements: count(Level::Improvement),
            information: count(Level::Information),
            findings,
        }
    }

    pub fn has_violations(&self) -> bool {
        self.violations > 0
    }
}
