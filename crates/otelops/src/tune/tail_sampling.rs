//! Tuning the tail_sampling processor from what `monitor` saw: `num_traces`
//! must hold every trace for `decision_wait` (else traces are dropped too
//! early, whole), and `decision_wait` must outlast the last span of a trace
//! (else spans arrive after the decision: late spans).

use super::rules::{Environment, Recommendation};
use crate::collector_config::file::{ConfigFile, duration_ms, number};
use crate::monitor::Report;

/// The processor's defaults when a setting is absent (v0.161.0).
pub const DEFAULT_NUM_TRACES: f64 = 50_000.0;
pub const DEFAULT_DECISION_WAIT_MS: f64 = 30_000.0;
/// Traces in memory above this share of num_traces leave no room for a burst.
pub const MEMORY_HIGH_PCT: f64 = 80.0;

/// Rounded up to a whole thousand, so the diff reads like a chosen size.
fn round_up_thousands(v: f64) -> f64 {
    (v / 1000.0).ceil() * 1000.0
}

/// The environment's rate in a tail-sampled config: its top-level
/// probabilistic policies (a probabilistic part of an `and` policy is a
/// critical service's rate, left alone). A policy is an item of a list, which
/// the text editor does not address, so this is advice without a diff line.
pub fn rate_rule(cfg: &ConfigFile, env: Environment, out: &mut Vec<Recommendation>) {
    let target = env.sampling_percentage();
    for (id, p) in cfg.components("processors", "tail_sampling") {
        let policies = p
            .get("policies")
            .and_then(|n| n.as_seq())
            .unwrap_or_default();
        for policy in policies {
            if policy.get("type").and_then(|t| t.as_str()) != Some("probabilistic") {
                continue;
            }
            let name = policy.get("name").and_then(|n| n.as_str()).unwrap_or("?");
            let current = policy
                .path(&["probabilistic", "sampling_percentage"])
                .and_then(number);
            if current.is_some_and(|c| (c - target).abs() <= f64::EPSILON) {
                continue;
            }
            out.push(Recommendation {
                rule: "sampling",
                component: format!("processors.{id}"),
                setting: None,
                current: current.map(|c| c.to_string()),
                recommended: Some(target.to_string()),
                reason: format!(
                    "{env:?} keeps {target}% of ordinary traces: set policy {name:?}'s probabilistic.sampling_percentage"
                ),
                evidence: vec![format!("--environment {}", format!("{env:?}").to_lowercase())],
                not_in_diff: Some("a policy is an item of the policies list: set it by hand".into()),
            });
        }
    }
}

pub fn rules(cfg: &ConfigFile, report: Option<&Report>, out: &mut Vec<Recommendation>) {
    let Some(row) = report.and_then(|r| r.tail_sampling.as_ref()) else {
        return;
    };
    for (id, p) in cfg.components("processors", "tail_sampling") {
        let num_traces = p
            .get("num_traces")
            .and_then(number)
            .unwrap_or(DEFAULT_NUM_TRACES);
        let in_memory = row.traces_on_memory.unwrap_or(0.0);
        let used_pct = in_memory / num_traces * 100.0;
        if row.dropped_too_early > 0.0 || used_pct > MEMORY_HIGH_PCT {
            // Twice what was held, so the gauge sits at half the limit.
            let wanted = round_up_thousands((in_memory * 2.0).max(num_traces * 2.0));
            let mut evidence = vec![format!(
                "{in_memory:.0} traces in memory of num_traces {num_traces:.0} ({used_pct:.0}%)"
            )];
            if row.dropped_too_early > 0.0 {
                evidence.push(format!(
                    "{:.0} traces dropped too early (otelcol_processor_tail_sampling_sampling_trace_dropped_too_early)",
                    row.dropped_too_early
                ));
            }
            out.push(Recommendation {
                rule: "tail_sampling",
                component: format!("processors.{id}"),
                setting: Some("num_traces".into()),
                current: Some(format!("{num_traces:.0}")),
                recommended: Some(format!("{wanted:.0}")),
                reason: "tail_sampling must hold every trace for decision_wait: a trace evicted \
                         before its decision is lost whole; raise num_traces (and the memory \
                         limit with it) or add gateway replicas"
                    .into(),
                evidence,
                not_in_diff: None,
            });
        }
        if row.late_spans > 0.0 {
            let wait_ms = p
                .get("decision_wait")
                .and_then(duration_ms)
                .unwrap_or(DEFAULT_DECISION_WAIT_MS);
            let wanted_s = (wait_ms * 2.0 / 1000.0).ceil();
            out.push(Recommendation {
                rule: "tail_sampling",
                component: format!("processors.{id}"),
                setting: Some("decision_wait".into()),
                current: Some(format!("{}s", wait_ms / 1000.0)),
                recommended: Some(format!("{wanted_s}s")),
                reason: "spans arrived after their trace was decided (they follow the earlier \
                         decision, and a trace decided before its error span arrived is dropped): \
                         wait longer, and size num_traces for the longer wait"
                    .into(),
                evidence: vec![format!(
                    "{:.0} late spans (otelcol_processor_tail_sampling_sampling_late_span_age)",
                    row.late_spans
                )],
                not_in_diff: None,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::{RuleOptions, tune};
    use crate::collector_config::file::ConfigFile;
    use crate::monitor::evaluate::{Inputs, Thresholds, evaluate};
    use crate::monitor::snapshot;

    const CONFIG: &str = "\
processors:
  tail_sampling:
    decision_wait: 10s
    num_traces: 10000
    policies:
    - name: errors
      type: status_code
      status_code:
        status_codes:
        - ERROR
";

    fn page(in_memory: u32, dropped: u32, late: u32) -> String {
        format!(
            "otelcol_processor_tail_sampling_new_trace_id_received 50000\n\
             otelcol_processor_tail_sampling_sampling_traces_on_memory {in_memory}\n\
             otelcol_processor_tail_sampling_sampling_trace_dropped_too_early {dropped}\n\
             # TYPE otelcol_processor_tail_sampling_sampling_late_span_age histogram\n\
             otelcol_processor_tail_sampling_sampling_late_span_age_bucket{{le=\"+Inf\"}} {late}\n\
             otelcol_processor_tail_sampling_sampling_late_span_age_sum 0\n\
             otelcol_processor_tail_sampling_sampling_late_span_age_count {late}\n"
        )
    }

    fn tuned(page: &str) -> super::super::Tuning {
        let snap = snapshot(&crate::prom::parse(page).unwrap());
        let report = evaluate(
            &Inputs {
                current: &snap,
                previous: None,
                memory_limit_mib: None,
            },
            &Thresholds::GUIDE,
        );
        let cfg = ConfigFile::from_text(Path::new("gateway.yaml"), CONFIG.into()).unwrap();
        tune(&cfg, Some(&report), &RuleOptions::guide())
    }

    #[test]
    fn traces_dropped_too_early_and_late_spans_raise_num_traces_and_decision_wait() {
        let t = tuned(&page(9500, 12, 3));
        let fired: Vec<_> = t
            .recommendations
            .iter()
            .filter(|r| r.rule == "tail_sampling")
            .map(|r| {
                (
                    r.setting.as_deref().unwrap(),
                    r.recommended.as_deref().unwrap(),
                )
            })
            .collect();
        assert_eq!(fired, [("num_traces", "20000"), ("decision_wait", "20s")]);
        assert!(
            t.diff.contains("-    decision_wait: 10s\n-    num_traces: 10000\n+    decision_wait: 20s\n+    num_traces: 20000\n"),
            "{}",
            t.diff
        );
    }

    #[test]
    fn a_tail_sampler_with_room_and_no_late_spans_is_left_alone() {
        let t = tuned(&page(4000, 0, 0));
        assert!(t.recommendations.iter().all(|r| r.rule != "tail_sampling"));
        assert_eq!(t.diff, "");
    }
}
