//! The tail_sampling processor's figures (v0.161.0 names, no `_total`):
//! traces held in memory, traces dropped before their decision, the
//! decision timer's latency, and what each policy kept.
//!
//! Judged here: a trace dropped too early is lost whole (its spans were
//! accepted, then thrown away undecided), so any increase is CRIT; the
//! decision timer runs once a second, so a run that takes longer than that
//! delays every decision (CRIT), half of it is the warning.

use std::collections::BTreeMap;

use serde::Serialize;

use super::evaluate::{Check, Status, increase};
use crate::prom::{Histogram, Page};

pub const TRACES_ON_MEMORY: &str = "otelcol_processor_tail_sampling_sampling_traces_on_memory";
pub const DROPPED_TOO_EARLY: &str =
    "otelcol_processor_tail_sampling_sampling_trace_dropped_too_early";
pub const NEW_TRACES: &str = "otelcol_processor_tail_sampling_new_trace_id_received";
pub const DECISION_LATENCY: &str =
    "otelcol_processor_tail_sampling_sampling_decision_timer_latency";
pub const GLOBAL_SAMPLED: &str = "otelcol_processor_tail_sampling_global_count_traces_sampled";
pub const POLICY_SAMPLED: &str = "otelcol_processor_tail_sampling_count_traces_sampled";
/// Spans that came after their trace was decided (decision_wait too short).
pub const LATE_SPAN_AGE: &str = "otelcol_processor_tail_sampling_sampling_late_span_age";

/// Decision timer p99 (ms) above which WARN / CRIT.
pub const DECISION_WARN_MS: f64 = 500.0;
pub const DECISION_CRIT_MS: f64 = 1000.0;

/// One page's tail-sampling counters (cumulative) and gauge.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TailSamplingStats {
    pub traces_on_memory: Option<f64>,
    pub dropped_too_early: f64,
    pub new_traces: f64,
    pub sampled: f64,
    pub not_sampled: f64,
    pub late_spans: f64,
    pub decision_latency_ms: Option<Histogram>,
    /// policy → traces it sampled.
    pub policy_sampled: BTreeMap<String, f64>,
}

fn total(page: &Page, name: &str, keep: impl Fn(&crate::prom::Labels) -> bool) -> Option<f64> {
    let f = page.family(name)?;
    Some(
        f.samples
            .iter()
            .filter(|s| !s.name.ends_with("_created") && s.value.is_finite() && keep(&s.labels))
            .map(|s| s.value)
            .sum(),
    )
}

/// `None` when the page has no tail_sampling processor.
pub fn stats(page: &Page) -> Option<TailSamplingStats> {
    let new_traces = total(page, NEW_TRACES, |_| true);
    let traces_on_memory = total(page, TRACES_ON_MEMORY, |_| true);
    if new_traces.is_none() && traces_on_memory.is_none() {
        return None;
    }
    let sampled =
        |want: &'static str| move |l: &crate::prom::Labels| l.get("sampled") == Some(want);
    let mut policy_sampled = BTreeMap::new();
    if let Some(f) = page.family(POLICY_SAMPLED) {
        for s in &f.samples {
            if let (Some(policy), Some("true")) = (s.labels.get("policy"), s.labels.get("sampled"))
            {
                *policy_sampled.entry(policy.to_owned()).or_insert(0.0) += s.value;
            }
        }
    }
    Some(TailSamplingStats {
        traces_on_memory,
        dropped_too_early: total(page, DROPPED_TOO_EARLY, |_| true).unwrap_or(0.0),
        new_traces: new_traces.unwrap_or(0.0),
        sampled: total(page, GLOBAL_SAMPLED, sampled("true")).unwrap_or(0.0),
        not_sampled: total(page, GLOBAL_SAMPLED, sampled("false")).unwrap_or(0.0),
        late_spans: page
            .family(LATE_SPAN_AGE)
            .and_then(|f| Histogram::from_family(f, |_| true))
            .map_or(0.0, |h| h.count),
        decision_latency_ms: page
            .family(DECISION_LATENCY)
            .and_then(|f| Histogram::from_family(f, |_| true)),
        policy_sampled,
    })
}

/// The judged row `monitor` shows. Counts are over the window when there
/// are two pages, since the collector started otherwise.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TailSamplingRow {
    pub traces_on_memory: Option<f64>,
    pub new_traces: f64,
    pub dropped_too_early: f64,
    pub late_spans: f64,
    /// Share of decided traces kept.
    pub sampled_pct: Option<f64>,
    pub decision_latency_p99_ms: Option<f64>,
    pub policy_sampled: BTreeMap<String, f64>,
    pub status: Status,
}

pub fn judge(
    cur: &TailSamplingStats,
    prev: Option<&TailSamplingStats>,
    checks: &mut Vec<Check>,
) -> TailSamplingRow {
    let inc = |now: f64, then: fn(&TailSamplingStats) -> f64| match prev {
        Some(p) => increase(now, then(p)),
        None => now,
    };
    let dropped = inc(cur.dropped_too_early, |p| p.dropped_too_early);
    let sampled = inc(cur.sampled, |p| p.sampled);
    let not_sampled = inc(cur.not_sampled, |p| p.not_sampled);
    let latency = match (
        &cur.decision_latency_ms,
        prev.and_then(|p| p.decision_latency_ms.as_ref()),
    ) {
        (Some(now), Some(then)) if now.count > then.count => Some(now.delta(then)),
        (now, _) => now.clone(),
    };
    let p99 = latency.as_ref().and_then(|h| h.quantile(0.99));
    let scope = "processor tail_sampling".to_owned();
    let dropped_status = if dropped > 0.0 {
        Status::Crit
    } else {
        Status::Ok
    };
    checks.push(Check {
        scope: scope.clone(),
        name: "traces dropped too early".into(),
        value: dropped,
        unit: "traces",
        status: dropped_status,
        rule: "> 0 CRIT (num_traces too small for the rate × decision_wait)".into(),
    });
    let mut status = dropped_status;
    if let Some(ms) = p99 {
        let s = if ms > DECISION_CRIT_MS {
            Status::Crit
        } else if ms > DECISION_WARN_MS {
            Status::Warn
        } else {
            Status::Ok
        };
        checks.push(Check {
            scope,
            name: "decision latency p99".into(),
            value: ms,
            unit: "ms",
            status: s,
            rule: format!("> {DECISION_WARN_MS}ms WARN, > {DECISION_CRIT_MS}ms CRIT (the timer ticks every 1s)"),
        });
        status = status.max(s);
    }
    let mut policy_sampled = cur.policy_sampled.clone();
    if let Some(p) = prev {
        for (policy, v) in &mut policy_sampled {
            *v = increase(*v, p.policy_sampled.get(policy).copied().unwrap_or(0.0));
        }
    }
    TailSamplingRow {
        traces_on_memory: cur.traces_on_memory,
        new_traces: inc(cur.new_traces, |p| p.new_traces),
        dropped_too_early: dropped,
        late_spans: inc(cur.late_spans, |p| p.late_spans),
        sampled_pct: (sampled + not_sampled > 0.0)
            .then(|| sampled / (sampled + not_sampled) * 100.0),
        decision_latency_p99_ms: p99,
        policy_sampled,
        status,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = "\
# TYPE otelcol_processor_tail_sampling_new_trace_id_received counter
otelcol_processor_tail_sampling_new_trace_id_received 2000
# TYPE otelcol_processor_tail_sampling_sampling_traces_on_memory gauge
otelcol_processor_tail_sampling_sampling_traces_on_memory 1200
# TYPE otelcol_processor_tail_sampling_sampling_trace_dropped_too_early counter
otelcol_processor_tail_sampling_sampling_trace_dropped_too_early DROPPED
# TYPE otelcol_processor_tail_sampling_global_count_traces_sampled counter
otelcol_processor_tail_sampling_global_count_traces_sampled{decision=\"not_sampled\",sampled=\"false\"} 1500
otelcol_processor_tail_sampling_global_count_traces_sampled{decision=\"sampled\",sampled=\"true\"} 500
# TYPE otelcol_processor_tail_sampling_count_traces_sampled counter
otelcol_processor_tail_sampling_count_traces_sampled{decision=\"sampled\",policy=\"errors\",sampled=\"true\"} 100
otelcol_processor_tail_sampling_count_traces_sampled{decision=\"not_sampled\",policy=\"errors\",sampled=\"false\"} 1900
# TYPE otelcol_processor_tail_sampling_sampling_decision_timer_latency histogram
otelcol_processor_tail_sampling_sampling_decision_timer_latency_bucket{le=\"1\"} 50
otelcol_processor_tail_sampling_sampling_decision_timer_latency_bucket{le=\"2000\"} 55
otelcol_processor_tail_sampling_sampling_decision_timer_latency_bucket{le=\"+Inf\"} 55
otelcol_processor_tail_sampling_sampling_decision_timer_latency_sum 8
otelcol_processor_tail_sampling_sampling_decision_timer_latency_count 55
";

    fn page(dropped: u32) -> Page {
        crate::prom::parse(&PAGE.replace("DROPPED", &dropped.to_string())).unwrap()
    }

    #[test]
    fn a_page_without_tail_sampling_has_no_stats() {
        let p = crate::prom::parse("otelcol_process_uptime 3\n").unwrap();
        assert_eq!(stats(&p), None);
    }

    #[test]
    fn traces_dropped_too_early_are_crit_and_a_slow_decision_timer_too() {
        let mut checks = Vec::new();
        let row = judge(&stats(&page(3)).unwrap(), None, &mut checks);
        assert_eq!(row.traces_on_memory, Some(1200.0));
        assert_eq!(row.dropped_too_early, 3.0);
        assert_eq!(row.sampled_pct, Some(25.0));
        assert_eq!(row.policy_sampled["errors"], 100.0);
        assert_eq!(row.status, Status::Crit);
        let names: Vec<(&str, Status)> =
            checks.iter().map(|c| (c.name.as_str(), c.status)).collect();
        // 5 of 55 timer runs took 1–2 s: the p99 is above 1 s.
        assert_eq!(
            names,
            [
                ("traces dropped too early", Status::Crit),
                ("decision latency p99", Status::Crit)
            ]
        );
    }

    #[test]
    fn over_a_window_only_new_drops_count() {
        let (before, after) = (stats(&page(3)).unwrap(), stats(&page(3)).unwrap());
        let mut checks = Vec::new();
        let row = judge(&after, Some(&before), &mut checks);
        assert_eq!(row.dropped_too_early, 0.0);
        assert_eq!(checks[0].status, Status::Ok);
    }
}
