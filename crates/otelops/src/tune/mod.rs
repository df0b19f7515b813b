//! Tuning advice: the guide's rules applied to a collector config and its
//! judged metrics, each recommendation with its evidence, and the unified
//! diff that would apply them.
//!
//! Start at [`tune`]; the rules live in [`rules`] (the workload rules —
//! memory, cardinality, slow exports, volume, critical services — in
//! `workload`), text edits in [`edit`] (flow-style mappings in `flow_edit`).

pub mod edit;
mod flow_edit;
pub mod rules;
mod tail_sampling;
mod workload;

use serde::Serialize;

pub use rules::{DEFAULT_MAX_SPANS_PER_SEC, Environment, Recommendation, RuleOptions};

use crate::collector_config::file::ConfigFile;
use crate::monitor::Report;

#[derive(Debug, Clone, Serialize)]
pub struct Tuning {
    pub config: String,
    pub recommendations: Vec<Recommendation>,
    /// Unified diff of the config with every settable recommendation applied;
    /// empty when nothing changes.
    pub diff: String,
    pub notes: Vec<String>,
}

/// Never fails: a recommendation the text editor cannot apply (say an
/// `${env:…}` value where a mapping should be) is still returned, with
/// `not_in_diff` saying why; block and flow style are both edited.
pub fn tune(cfg: &ConfigFile, report: Option<&Report>, opts: &RuleOptions) -> Tuning {
    let mut recommendations = rules::evaluate(cfg, report, opts);
    let diff = diff(cfg, &mut recommendations);
    let name = cfg.path.display().to_string();
    let mut notes = Vec::new();
    if report.is_none() {
        notes.push("no metrics given (--metrics-url or --from-file): only config rules ran".into());
    }
    if opts.container_memory_mib.is_none()
        && !cfg.components("processors", "memory_limiter").is_empty()
    {
        notes.push(
            "pass --container-memory-mib to size memory_limiter limit_mib/spike_limit_mib".into(),
        );
    }
    if opts.environment.is_none() {
        notes.push("pass --environment to check the sampling percentage".into());
    }
    Tuning {
        config: name,
        recommendations,
        diff,
        notes,
    }
}

/// The unified diff of `cfg` with `recommendations` applied (empty when
/// nothing changes); one the text editor cannot write gets `not_in_diff`.
/// `diagnose` calls it with the recommendations of one finding.
pub fn diff(cfg: &ConfigFile, recommendations: &mut [Recommendation]) -> String {
    let mut text = cfg.text.clone();
    for r in recommendations.iter_mut() {
        let (Some(setting), Some(value)) = (&r.setting, &r.recommended) else {
            continue;
        };
        // `exporters.otlp/backend` + `sending_queue.queue_size`: ids may hold
        // `/` but never `.`, settings are dotted paths.
        let (section, id) = r.component.split_once('.').unwrap_or((&r.component, ""));
        let mut path = vec![section, id];
        path.extend(setting.split('.'));
        match edit::set_scalar(&text, &path, value) {
            Ok(edited) => text = edited,
            Err(e) => r.not_in_diff = Some(e.reason),
        }
    }
    if text == cfg.text {
        return String::new();
    }
    let name = cfg.path.display().to_string();
    similar::TextDiff::from_lines(&cfg.text, &text)
        .unified_diff()
        .context_radius(3)
        .header(
            &format!("a/{}", name.trim_start_matches('/')),
            &format!("b/{}", name.trim_start_matches('/')),
        )
        .to_string()
}

#[cfg(test)]
mod tests;
