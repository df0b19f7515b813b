//! `config lint`: checks a collector configuration file for what
//! `otelcol validate` would reject (structure, component types, value types,
//! durations) and for the operations guide's practices (memory_limiter first,
//! batch, queues, TLS/auth and no literal secrets in production, sampling in
//! range, health_check). Every finding names a rule and a line:column.

mod practices;
mod schema;
mod structure;

use std::fmt;

use serde::Serialize;

use super::document::{self, DocumentError, Node, Pos};
use super::profile::Profile;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `pad` so table columns ({:<8}) line up.
        f.pad(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

/// One problem found in a configuration.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub severity: Severity,
    /// A stable rule id, e.g. `undefined-component` (see [`RULES`]).
    pub rule: &'static str,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// Every rule lint applies, with what it checks.
pub const RULES: &[(&str, Severity, &str)] = &[
    ("yaml-syntax", Severity::Error, "the file is not valid YAML"),
    (
        "unknown-key",
        Severity::Error,
        "a key the collector does not accept (top level, service, pipelines, known component settings)",
    ),
    (
        "wrong-type",
        Severity::Error,
        "a value of the wrong YAML type for its setting",
    ),
    (
        "missing-setting",
        Severity::Error,
        "a required setting is missing (OTLP receiver protocols, resource attributes)",
    ),
    (
        "bad-duration",
        Severity::Error,
        "a duration the collector cannot parse (Go syntax: 300ms, 5s, 1m30s)",
    ),
    (
        "invalid-component-id",
        Severity::Error,
        "a component id that is not type[/name]",
    ),
    (
        "unknown-component-type",
        Severity::Error,
        "a component type otelcol-parker is not built with",
    ),
    (
        "undefined-component",
        Severity::Error,
        "a pipeline or service.extensions names a component that is not configured",
    ),
    (
        "duplicate-reference",
        Severity::Error,
        "a pipeline lists the same component twice",
    ),
    (
        "invalid-pipeline",
        Severity::Error,
        "a pipeline with a bad id, no receivers or no exporters, or no pipelines at all",
    ),
    (
        "unused-component",
        Severity::Warning,
        "a configured component no pipeline or service.extensions uses",
    ),
    (
        "memory-limiter-first",
        Severity::Warning,
        "a pipeline whose first processor is not memory_limiter",
    ),
    (
        "sampler-on-logs",
        Severity::Warning,
        "probabilistic_sampler in a logs pipeline drops every record without a trace id",
    ),
    (
        "batch-missing",
        Severity::Warning,
        "a pipeline without a batch processor",
    ),
    (
        "queue-disabled",
        Severity::Warning,
        "an exporter with sending_queue disabled",
    ),
    (
        "sampling-range",
        Severity::Error,
        "sampling_percentage outside 0..=100",
    ),
    (
        "health-check-missing",
        Severity::Warning,
        "no health_check extension enabled",
    ),
    (
        "literal-secret",
        Severity::Error,
        "a token, password or Bearer value written literally instead of ${env:VAR} (warning outside production)",
    ),
    (
        "production-tls",
        Severity::Error,
        "production without TLS on an OTLP receiver or exporter",
    ),
    (
        "production-auth",
        Severity::Error,
        "production without an authenticator on an OTLP receiver or exporter",
    ),
    (
        "production-pii",
        Severity::Warning,
        "a production traces or logs pipeline without a redaction, attributes or transform processor",
    ),
];

/// What the linter must know beyond the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LintOptions {
    /// Production turns on the TLS/auth rules and makes literal secrets errors.
    pub production: bool,
}

impl LintOptions {
    pub fn for_profile(profile: Profile) -> Self {
        LintOptions {
            production: profile == Profile::Production,
        }
    }
}

/// Collects findings while the rules walk the tree.
#[derive(Debug, Default)]
pub(crate) struct Findings(Vec<Finding>);

impl Findings {
    pub(crate) fn error(&mut self, rule: &'static str, pos: Pos, message: impl Into<String>) {
        self.push(Severity::Error, rule, pos, message);
    }

    pub(crate) fn warning(&mut self, rule: &'static str, pos: Pos, message: impl Into<String>) {
        self.push(Severity::Warning, rule, pos, message);
    }

    pub(crate) fn push(
        &mut self,
        severity: Severity,
        rule: &'static str,
        pos: Pos,
        message: impl Into<String>,
    ) {
        self.0.push(Finding {
            severity,
            rule,
            line: pos.line,
            column: pos.column,
            message: message.into(),
        });
    }
}

/// The result of linting one text.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub findings: Vec<Finding>,
}

impl Report {
    pub fn errors(&self) -> usize {
        self.count(Severity::Error)
    }

    pub fn warnings(&self) -> usize {
        self.count(Severity::Warning)
    }

    fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == severity)
            .count()
    }

    /// One `file:line:column: severity[rule]: message` line per finding
    /// (the compiler's form, which editors jump to), then the tally.
    pub fn table(&self, file: &str) -> String {
        let mut out = String::new();
        for f in &self.findings {
            out.push_str(&format!(
                "{file}:{}:{}: {}[{}]: {}\n",
                f.line, f.column, f.severity, f.rule, f.message
            ));
        }
        out.push_str(&format!(
            "{file}: {} error(s), {} warning(s)\n",
            self.errors(),
            self.warnings()
        ));
        out
    }

    /// The report as JSON, every finding naming the file.
    pub fn to_json(&self, file: &str) -> serde_json::Value {
        let findings: Vec<_> = self
            .findings
            .iter()
            .map(|f| {
                let mut v = serde_json::to_value(f).expect("findings are plain data");
                v["file"] = file.into();
                v
            })
            .collect();
        serde_json::json!({
            "file": file,
            "errors": self.errors(),
            "warnings": self.warnings(),
            "findings": findings,
        })
    }
}

/// Lints configuration text. Only unparsable YAML is an `Err`; everything
/// else is a finding.
pub fn lint_str(source: &str, options: LintOptions) -> Result<Report, DocumentError> {
    let root = document::parse(source)?;
    Ok(lint_tree(&root, options))
}

pub fn lint_tree(root: &Node, options: LintOptions) -> Report {
    let mut findings = Findings::default();
    let config = structure::check(root, &mut findings);
    schema::check(root, &mut findings);
    if let Some(config) = config {
        practices::check(root, &config, options, &mut findings);
    }
    let mut findings = findings.0;
    findings.sort_by(|a, b| {
        (a.line, a.column, a.severity, a.rule).cmp(&(b.line, b.column, b.severity, b.rule))
    });
    findings.dedup();
    Report { findings }
}
