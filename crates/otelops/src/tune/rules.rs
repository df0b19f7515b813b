//! The operations guide's tuning rules. Each rule looks at the config (and the
//! judged metrics when given) and either stays silent or returns a
//! recommendation with the evidence it is based on.

use crate::collector_config::document::Node;
use crate::collector_config::file::{ConfigFile, duration_ms, number};
use crate::monitor::Report;
use serde::Serialize;

/// Collector defaults when a setting is absent (exporterhelper, batchprocessor).
pub const DEFAULT_QUEUE_SIZE: f64 = 1000.0;
pub const DEFAULT_NUM_CONSUMERS: f64 = 10.0;
pub const DEFAULT_BATCH_SIZE: f64 = 8192.0;
pub const DEFAULT_BATCH_TIMEOUT_MS: f64 = 200.0;
/// Trigger mix above which a batch setting is "mostly" hit (share of sends).
pub const TRIGGER_MOSTLY_PCT: f64 = 80.0;
/// Fewer batch sends than this is too little evidence for a batch rule.
pub const MIN_BATCH_SENDS: f64 = 10.0;
/// memory_limiter: hard limit 80 % and spike 20 % of the container's memory
/// (the guide's rule, and what `otelops config render` writes as percentages).
pub const MEMORY_LIMIT_PCT: f64 = 80.0;
pub const MEMORY_SPIKE_PCT: f64 = 20.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    Development,
    Staging,
    Production,
}

impl Environment {
    /// Trace sampling by environment: everything while developing, half in
    /// staging, 10 % in production — the profiles `otelops config render` writes.
    pub fn sampling_percentage(self) -> f64 {
        match self {
            Environment::Development => 100.0,
            Environment::Staging => 50.0,
            Environment::Production => 10.0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recommendation {
    pub rule: &'static str,
    /// `exporters.otlp`, `processors.batch`, …
    pub component: String,
    /// Setting under the component (`sending_queue.queue_size`); None for
    /// advice that is not a config change.
    pub setting: Option<String>,
    pub current: Option<String>,
    pub recommended: Option<String>,
    pub reason: String,
    pub evidence: Vec<String>,
    /// Why the unified diff leaves this change out (set it by hand).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_in_diff: Option<String>,
}

#[derive(Debug, Clone)]
pub struct RuleOptions {
    pub container_memory_mib: Option<f64>,
    pub environment: Option<Environment>,
    pub queue_high_pct: f64,
    pub send_failed_high_pct: f64,
    /// Accepted spans per second above which sampling is advised.
    pub max_spans_per_sec: f64,
    /// `service.name`s whose traces are always kept (`--critical-service`).
    pub critical_services: Vec<String>,
}

impl RuleOptions {
    /// The guide's thresholds (queue 80 %, send failures 1 %), no container
    /// size, environment or critical service: what `diagnose` asks tune with.
    pub fn guide() -> RuleOptions {
        RuleOptions {
            container_memory_mib: None,
            environment: None,
            queue_high_pct: crate::monitor::Thresholds::GUIDE.queue_warn_pct,
            send_failed_high_pct: crate::monitor::Thresholds::GUIDE.send_failed_warn_pct,
            max_spans_per_sec: DEFAULT_MAX_SPANS_PER_SEC,
            critical_services: Vec::new(),
        }
    }
}

/// The guide's "too much volume" line for one collector: above this many
/// spans a second, sample.
pub const DEFAULT_MAX_SPANS_PER_SEC: f64 = 10_000.0;

pub(super) fn fmt_num(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v}")
    }
}

pub(super) fn fmt_ms(ms: f64) -> String {
    if ms >= 1000.0 && (ms % 1000.0) == 0.0 {
        format!("{}s", ms / 1000.0)
    } else {
        format!("{ms:.0}ms")
    }
}

pub fn evaluate(
    cfg: &ConfigFile,
    report: Option<&Report>,
    opts: &RuleOptions,
) -> Vec<Recommendation> {
    let mut out = Vec::new();
    queue_rules(cfg, report, opts, &mut out);
    batch_rules(cfg, report, &mut out);
    memory_rules(cfg, report, opts, &mut out);
    sampling_rule(cfg, opts, &mut out);
    super::tail_sampling::rules(cfg, report, &mut out);
    super::workload::evaluate(cfg, report, opts, &mut out);
    out
}

/// Why sends of an exporter are failing, as evidence lines; empty when they
/// are not (above `--send-failed-high-pct`). Export call errors have no
/// exporter label, so they count against every exporter that makes calls.
pub(crate) fn failure_evidence(id: &str, report: &Report, opts: &RuleOptions) -> Vec<String> {
    let mut evidence = Vec::new();
    for e in report.exporters.iter().filter(|e| e.exporter == id) {
        if let Some(f) = e.send_failed_pct.filter(|f| *f > opts.send_failed_high_pct) {
            let by: Vec<String> = e
                .failed_by
                .iter()
                .map(|(k, v)| format!("{k} ×{v:.0}"))
                .collect();
            let by = if by.is_empty() {
                String::new()
            } else {
                format!(" ({})", by.join(", "))
            };
            evidence.push(format!(
                "send failed {f:.2}% > {}%{by}",
                opts.send_failed_high_pct
            ));
        }
    }
    // Without client metrics (level normal) and before retries give up, a
    // stalled exporter shows as a full queue that sent nothing in the window.
    for e in report.exporters.iter().filter(|e| e.exporter == id) {
        let (Some(rates), Some(u), Some(window)) =
            (&e.rates, e.queue_utilisation_pct, report.window_seconds)
        else {
            continue;
        };
        if rates.sent_per_sec == 0.0 && u > opts.queue_high_pct && e.in_flight.unwrap_or(0.0) > 0.0
        {
            evidence.push(format!(
                "nothing sent in the {window:.1}s window while the queue is {u:.0}% full and {:.0} requests are in flight: the backend takes nothing",
                e.in_flight.unwrap_or(0.0)
            ));
        }
    }
    let local = crate::monitor::evaluate::only_local_exporters([id]);
    let l = &report.export_latency;
    if let Some(e) = l
        .error_pct
        .filter(|e| *e > opts.send_failed_high_pct && !local)
    {
        let by: Vec<String> = l
            .errors
            .iter()
            .map(|(k, v)| format!("{k} ×{v:.0}"))
            .collect();
        evidence.push(format!(
            "export calls failing: {e:.1}% of {:.0} ({})",
            l.calls,
            by.join(", ")
        ));
    }
    evidence
}

fn queue_rules(
    cfg: &ConfigFile,
    report: Option<&Report>,
    opts: &RuleOptions,
    out: &mut Vec<Recommendation>,
) {
    for (id, ex) in cfg.section("exporters") {
        let component = format!("exporters.{id}");
        let enabled = ex
            .path(&["sending_queue", "enabled"])
            .and_then(Node::as_bool);
        if enabled == Some(false) {
            out.push(Recommendation {
                rule: "queue-enabled",
                not_in_diff: None,
                component: component.clone(),
                setting: Some("sending_queue.enabled".into()),
                current: Some("false".into()),
                recommended: Some("true".into()),
                reason:
                    "without a sending queue every backend hiccup drops data or blocks the pipeline"
                        .into(),
                evidence: vec![format!("{component}.sending_queue.enabled is false")],
            });
            continue;
        }
        let Some(report) = report else { continue };
        let rows: Vec<_> = report
            .exporters
            .iter()
            .filter(|e| e.exporter == id)
            .collect();
        let util = rows
            .iter()
            .filter_map(|e| e.queue_utilisation_pct)
            .fold(None, |a: Option<f64>, v| Some(a.map_or(v, |a| a.max(v))));
        let dropped: f64 = rows
            .iter()
            .map(|e| {
                e.rates
                    .as_ref()
                    .map_or(e.enqueue_failed, |r| r.enqueue_failed_per_sec)
            })
            .sum();
        let in_flight: f64 = rows.iter().filter_map(|e| e.in_flight).sum();
        let failure = failure_evidence(id, report, opts);
        let failing = !failure.is_empty();
        if failing {
            out.push(Recommendation {
                rule: "downstream-failures",
                not_in_diff: None,
                component: component.clone(),
                setting: None,
                current: None,
                recommended: None,
                reason: "sends to the backend are failing: check the downstream endpoint, its auth and its capacity \
                         before growing the queue or adding consumers (a bigger queue only delays the loss)"
                    .into(),
                evidence: failure,
            });
        }
        let high = util.is_some_and(|u| u > opts.queue_high_pct);
        if !(high || dropped > 0.0) || failing {
            continue;
        }
        let mut evidence = Vec::new();
        if let Some(u) = util {
            evidence.push(format!(
                "queue utilisation {u:.1}% (threshold {}%)",
                opts.queue_high_pct
            ));
        }
        if dropped > 0.0 {
            evidence.push(format!(
                "enqueue failed {dropped:.1} (data dropped because the queue was full)"
            ));
        }
        let consumers = ex
            .path(&["sending_queue", "num_consumers"])
            .and_then(number);
        let consumers_now = consumers.unwrap_or(DEFAULT_NUM_CONSUMERS);
        if in_flight >= consumers_now {
            // Every consumer is busy: the queue fills because it drains too slowly.
            evidence.push(format!(
                "in-flight requests {in_flight:.0} ≥ num_consumers {consumers_now:.0}"
            ));
            out.push(Recommendation {
                rule: "queue-consumers",
                not_in_diff: None,
                component: component.clone(),
                setting: Some("sending_queue.num_consumers".into()),
                current: Some(fmt_num(consumers_now)),
                recommended: Some(fmt_num(consumers_now * 2.0)),
                reason: "all queue consumers are busy: more consumers drain the queue faster"
                    .into(),
                evidence,
            });
        } else {
            let size = ex
                .path(&["sending_queue", "queue_size"])
                .and_then(number)
                .unwrap_or(DEFAULT_QUEUE_SIZE);
            out.push(Recommendation {
                rule: "queue-size",
                not_in_diff: None,
                component: component.clone(),
                setting: Some("sending_queue.queue_size".into()),
                current: Some(fmt_num(size)),
                recommended: Some(fmt_num(size * 2.0)),
                reason:
                    "the queue is near full while sends succeed: a larger queue absorbs the bursts"
                        .into(),
                evidence,
            });
        }
    }
}

fn batch_rules(cfg: &ConfigFile, report: Option<&Report>, out: &mut Vec<Recommendation>) {
    let Some(b) = report.and_then(|r| r.batch.as_ref()) else {
        return;
    };
    let sends = b.size_triggered + b.timeout_triggered;
    let Some(timeout_pct) = b.timeout_trigger_pct.filter(|_| sends >= MIN_BATCH_SENDS) else {
        return;
    };
    for (id, p) in cfg.components("processors", "batch") {
        let component = format!("processors.{id}");
        let size = p
            .path(&["send_batch_size"])
            .and_then(number)
            .unwrap_or(DEFAULT_BATCH_SIZE);
        let timeout = p
            .path(&["timeout"])
            .and_then(duration_ms)
            .unwrap_or(DEFAULT_BATCH_TIMEOUT_MS);
        let mix = format!(
            "of {sends:.0} batch sends, {:.0} by timeout ({timeout_pct:.0}%), {:.0} by size",
            b.timeout_triggered, b.size_triggered
        );
        let p50 = b
            .send_size_p50
            .map(|v| format!("batch send size p50 {v:.0}"));
        if timeout_pct > TRIGGER_MOSTLY_PCT {
            let new = (timeout / 2.0).max(DEFAULT_BATCH_TIMEOUT_MS);
            if new < timeout {
                out.push(Recommendation {
                    rule: "batch-timeout",
                    not_in_diff: None,
                    component: component.clone(),
                    setting: Some("timeout".into()),
                    current: Some(fmt_ms(timeout)),
                    recommended: Some(fmt_ms(new)),
                    reason: "batches are mostly sent on timeout, so data waits the full timeout: \
                             a shorter timeout cuts that delay"
                        .into(),
                    evidence: [Some(mix.clone()), p50.clone()]
                        .into_iter()
                        .flatten()
                        .collect(),
                });
            }
        } else if 100.0 - timeout_pct > TRIGGER_MOSTLY_PCT {
            out.push(Recommendation {
                rule: "batch-size",
                not_in_diff: None,
                component: component.clone(),
                setting: Some("send_batch_size".into()),
                current: Some(fmt_num(size)),
                recommended: Some(fmt_num(size * 2.0)),
                reason: "batches are mostly sent because they reached send_batch_size: \
                         larger batches mean fewer export requests"
                    .into(),
                evidence: [Some(mix.clone()), p50.clone()]
                    .into_iter()
                    .flatten()
                    .collect(),
            });
            if let Some(max) = p
                .path(&["send_batch_max_size"])
                .and_then(number)
                .filter(|m| *m > 0.0 && *m < size * 2.0)
            {
                out.push(Recommendation {
                    rule: "batch-size",
                    not_in_diff: None,
                    component: component.clone(),
                    setting: Some("send_batch_max_size".into()),
                    current: Some(fmt_num(max)),
                    recommended: Some(fmt_num(size * 4.0)),
                    reason: "send_batch_max_size must stay above the new send_batch_size".into(),
                    evidence: vec![mix.clone()],
                });
            }
        }
    }
}

fn memory_rules(
    cfg: &ConfigFile,
    report: Option<&Report>,
    opts: &RuleOptions,
    out: &mut Vec<Recommendation>,
) {
    for (id, p) in cfg.components("processors", "memory_limiter") {
        let component = format!("processors.{id}");
        let mut want = |key: &str,
                        current: Option<f64>,
                        target: f64,
                        reason: String,
                        evidence: Vec<String>| {
            if current.is_none_or(|c| (c - target).abs() >= 1.0) {
                out.push(Recommendation {
                    rule: "memory-limiter",
                    not_in_diff: None,
                    component: component.clone(),
                    setting: Some(key.into()),
                    current: current.map(fmt_num),
                    recommended: Some(fmt_num(target)),
                    reason,
                    evidence,
                });
            }
        };
        let limit_mib = p.path(&["limit_mib"]).and_then(number);
        let limit_pct = p.path(&["limit_percentage"]).and_then(number);
        if let Some(c) = opts.container_memory_mib.filter(|_| limit_pct.is_none()) {
            let ev = vec![format!("container memory {c:.0} MiB")];
            want(
                "limit_mib",
                limit_mib,
                (c * MEMORY_LIMIT_PCT / 100.0).floor(),
                format!(
                    "hard limit at {MEMORY_LIMIT_PCT}% of the container leaves room for the Go runtime"
                ),
                ev.clone(),
            );
            let spike = p.path(&["spike_limit_mib"]).and_then(number);
            want(
                "spike_limit_mib",
                spike,
                (c * MEMORY_SPIKE_PCT / 100.0).floor(),
                format!(
                    "spike limit {MEMORY_SPIKE_PCT}% of the container: refusals start before the hard limit"
                ),
                ev,
            );
        } else if limit_pct.is_some() {
            let ev = vec![format!(
                "{component} uses percentages of the container's memory"
            )];
            want(
                "limit_percentage",
                limit_pct,
                MEMORY_LIMIT_PCT,
                format!("the guide's hard limit: {MEMORY_LIMIT_PCT}%"),
                ev.clone(),
            );
            let spike = p.path(&["spike_limit_percentage"]).and_then(number);
            want(
                "spike_limit_percentage",
                spike,
                MEMORY_SPIKE_PCT,
                format!("the guide's spike limit: {MEMORY_SPIKE_PCT}%"),
                ev,
            );
        }
        if let Some(m) = report
            .and_then(|r| r.resources.memory_pct)
            .filter(|m| *m > 80.0)
        {
            out.push(Recommendation {
                rule: "memory-pressure",
                not_in_diff: None,
                component: component.clone(),
                setting: None,
                current: None,
                recommended: None,
                reason:
                    "RSS is close to the memory limit: give the container more memory or shed load \
                         (the limiter will start refusing data)"
                        .into(),
                evidence: vec![format!("RSS at {m:.1}% of the memory limit")],
            });
        }
    }
}

fn sampling_rule(cfg: &ConfigFile, opts: &RuleOptions, out: &mut Vec<Recommendation>) {
    let Some(env) = opts.environment else { return };
    // A tail-sampled config keeps its rates in policies.
    if !cfg.components("processors", "tail_sampling").is_empty() {
        return super::tail_sampling::rate_rule(cfg, env, out);
    }
    let target = env.sampling_percentage();
    let samplers = cfg.components("processors", "probabilistic_sampler");
    if samplers.is_empty() && target < 100.0 {
        out.push(Recommendation {
            rule: "sampling",
            not_in_diff: None,
            component: "processors.probabilistic_sampler".into(),
            setting: None,
            current: None,
            recommended: Some(fmt_num(target)),
            reason: format!(
                "no probabilistic_sampler: add one with sampling_percentage {} for {env:?} and put it in the traces pipeline",
                fmt_num(target)
            ),
            evidence: vec!["processors has no probabilistic_sampler".into()],
        });
    }
    for (id, p) in samplers {
        let current = p.path(&["sampling_percentage"]).and_then(number);
        if current.is_none_or(|c| (c - target).abs() > f64::EPSILON) {
            out.push(Recommendation {
                rule: "sampling",
                not_in_diff: None,
                component: format!("processors.{id}"),
                setting: Some("sampling_percentage".into()),
                current: current.map(fmt_num),
                recommended: Some(fmt_num(target)),
                reason: format!("{env:?} samples {}% of traces", fmt_num(target)),
                evidence: vec![format!(
                    "--environment {}",
                    format!("{env:?}").to_lowercase()
                )],
            });
        }
    }
}
