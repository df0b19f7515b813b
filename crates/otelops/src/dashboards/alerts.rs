//! Prometheus alert rules for the guide's thresholds, on the collector's
//! current metric names (see `promql` for the name forms accepted).

use std::collections::BTreeMap;

use serde::Serialize;

use super::{JOB, Thresholds, promql};

#[derive(Debug, Serialize)]
pub struct RuleFile {
    groups: Vec<Group>,
}

#[derive(Debug, Serialize)]
struct Group {
    name: &'static str,
    rules: Vec<Rule>,
}

#[derive(Debug, Serialize)]
struct Rule {
    alert: &'static str,
    expr: String,
    #[serde(rename = "for")]
    for_: &'static str,
    labels: BTreeMap<&'static str, &'static str>,
    annotations: BTreeMap<&'static str, String>,
}

/// Where each alert's `runbook_url` points: the runbook's path in this
/// repository. Relative on purpose: the project records no canonical
/// repository host, and a path resolves against whichever checkout or
/// mirror the operator reads (GitHub and GitLab render it as a link from
/// the rules file); a test checks every anchor exists in the runbook.
pub const RUNBOOK: &str = "docs/runbook.md";

fn rule(
    alert: &'static str,
    expr: String,
    for_: &'static str,
    severity: &'static str,
    summary: String,
    description: String,
) -> Rule {
    Rule {
        alert,
        expr,
        for_,
        labels: BTreeMap::from([("severity", severity)]),
        annotations: BTreeMap::from([
            ("summary", summary),
            ("description", description),
            (
                "runbook_url",
                format!("{RUNBOOK}#{}", runbook_section(alert)),
            ),
        ]),
    }
}

/// The runbook section (GitHub heading anchor) that answers `alert`.
pub fn runbook_section(alert: &str) -> &'static str {
    match alert {
        "OtelcolDown" => "collector-down",
        "OtelcolExporterQueueHigh" => "high-queue-utilisation",
        "OtelcolReceiverRefusedHigh" | "OtelcolMemoryHigh" => "memory-issues",
        "OtelcolExportLatencyHigh" => "high-export-latency",
        "OtelcolTailSamplingDroppedTooEarly" => "traces-dropped-before-the-sampling-decision",
        _ => "troubleshooting",
    }
}

/// The alert names, in file order.
pub const ALERTS: [&str; 6] = [
    "OtelcolDown",
    "OtelcolExporterQueueHigh",
    "OtelcolReceiverRefusedHigh",
    "OtelcolMemoryHigh",
    "OtelcolExportLatencyHigh",
    "OtelcolTailSamplingDroppedTooEarly",
];

pub fn rule_file(t: &Thresholds) -> RuleFile {
    let selector = format!(r#"{{job="{JOB}"}}"#);
    let by_instance = "job, instance";
    let rules = vec![
        rule(
            ALERTS[0],
            format!("up{selector} == 0 or absent(up{selector})"),
            "1m",
            "critical",
            "Collector {{ $labels.instance }} is down".into(),
            format!("Prometheus cannot scrape the collector's :8888/metrics (job {JOB}); telemetry is not flowing."),
        ),
        rule(
            ALERTS[1],
            format!(
                "{} > {}",
                promql::queue_utilisation(&format!("{by_instance}, exporter")),
                t.queue_percent
            ),
            "5m",
            "warning",
            "Exporter {{ $labels.exporter }} queue above threshold on {{ $labels.instance }}".into(),
            format!(
                "The sending queue is more than {}% full: the backend is slow or down; data will be dropped when it fills.",
                t.queue_percent
            ),
        ),
        rule(
            ALERTS[2],
            promql::SIGNALS
                .iter()
                .map(|signal| {
                    let pct = promql::refused_percent(signal, &format!("{by_instance}, receiver"), "5m");
                    format!("{} > {}", promql::with_signal(&pct, signal), t.refused_percent)
                })
                .collect::<Vec<_>>()
                .join("\nor "),
            "5m",
            "warning",
            "Receiver {{ $labels.receiver }} refuses {{ $labels.signal }} on {{ $labels.instance }}".into(),
            format!(
                "More than {}% of incoming data is refused, usually by memory_limiter: the collector is short of memory or overloaded.",
                t.refused_percent
            ),
        ),
        rule(
            ALERTS[3],
            format!(
                "max by ({by_instance}) ({}) > {}",
                promql::memory_rss(),
                t.memory_limit_bytes() * t.memory_percent / 100.0
            ),
            "5m",
            "warning",
            "Collector {{ $labels.instance }} memory above threshold".into(),
            format!(
                "Resident memory is above {}% of the {} MiB container limit; memory_limiter will start refusing data.",
                t.memory_percent, t.memory_limit_mib
            ),
        ),
        rule(
            ALERTS[4],
            format!(
                "{} > {}",
                promql::export_latency_quantile(0.99, by_instance, "5m"),
                t.export_latency_seconds
            ),
            "5m",
            "warning",
            "Export latency high on {{ $labels.instance }}".into(),
            format!(
                "p99 export latency is above {} s (needs service.telemetry.metrics.level: detailed).",
                t.export_latency_seconds
            ),
        ),
        tail_sampling_dropped_too_early(&selector, by_instance),
    ];
    RuleFile {
        groups: vec![Group {
            name: "otelcol-parker",
            rules,
        }],
    }
}

/// A trace evicted from tail_sampling before its decision is lost whole
/// (its spans were accepted), so any increase alerts: num_traces is too
/// small for the trace rate × decision_wait (`otelops tune` sizes it).
fn tail_sampling_dropped_too_early(selector: &str, by_instance: &str) -> Rule {
    let dropped =
        promql::counter("otelcol_processor_tail_sampling_sampling_trace_dropped_too_early");
    rule(
        ALERTS[5],
        format!(
            "sum by ({by_instance}) (increase({}[5m])) > 0",
            dropped.replacen('}', &format!(", {}", &selector[1..]), 1)
        ),
        "0m",
        "critical",
        "Tail sampling drops traces before deciding on {{ $labels.instance }}".into(),
        "tail_sampling evicted traces before decision_wait because num_traces is full: those traces are lost whole. \
         Raise num_traces (and memory) or add gateway replicas; `otelops tune` says by how much."
            .into(),
    )
}
