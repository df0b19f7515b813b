//! The guide's workload rules: memory-constrained settings (a smaller queue,
//! more frequent flushes), high-cardinality batches (a larger
//! `send_batch_max_size`), more consumers when exports are slow but succeed,
//! sampling when the volume is too high, and critical services kept whole
//! while the rest is sampled. They run after the queue/batch/memory rules
//! and replace those rules' advice where the workload says otherwise (no
//! bigger queue for a collector short of memory).

use crate::collector_config::document::{Node, Value};
use crate::collector_config::file::{ConfigFile, duration_ms, number};
use crate::monitor::Report;
use crate::monitor::evaluate::only_local_exporters;

use super::rules::{
    DEFAULT_BATCH_TIMEOUT_MS, DEFAULT_NUM_CONSUMERS, DEFAULT_QUEUE_SIZE, MEMORY_LIMIT_PCT,
    Recommendation, RuleOptions, fmt_ms, fmt_num,
};

/// Floors for the memory-constrained halvings: a queue of fewer requests
/// drops data at the first hiccup, a shorter flush only adds requests.
const MIN_QUEUE_SIZE: f64 = 10.0;
const MIN_FLUSH_MS: f64 = 100.0;
/// A batch send at this share of `send_batch_max_size` was cut by it.
const AT_MAX_SHARE: f64 = 0.9;

pub(super) fn evaluate(
    cfg: &ConfigFile,
    report: Option<&Report>,
    opts: &RuleOptions,
    out: &mut Vec<Recommendation>,
) {
    if let Some(r) = report {
        memory_constrained(cfg, r, opts, out);
        high_cardinality(cfg, r, out);
        slow_exports(cfg, r, opts, out);
        high_volume(cfg, r, opts, out);
    }
    critical_services(cfg, opts, out);
}

fn advice(
    rule: &'static str,
    component: String,
    setting: &str,
    current: Option<String>,
    recommended: String,
    reason: String,
    evidence: Vec<String>,
) -> Recommendation {
    Recommendation {
        rule,
        component,
        setting: Some(setting.into()),
        current,
        recommended: Some(recommended),
        reason,
        evidence,
        not_in_diff: None,
    }
}

fn has(out: &[Recommendation], component: &str, setting: &str) -> bool {
    out.iter()
        .any(|r| r.component == component && r.setting.as_deref() == Some(setting))
}

fn queue_enabled(ex: &Node) -> bool {
    ex.path(&["sending_queue", "enabled"])
        .and_then(Node::as_bool)
        != Some(false)
}

/// The collector is short of memory: RSS above the guide's 80 %, or the
/// memory_limiter refusing data while no queue is full (so the refusals are
/// the limiter's, not backpressure).
fn memory_constrained(
    cfg: &ConfigFile,
    r: &Report,
    opts: &RuleOptions,
    out: &mut Vec<Recommendation>,
) {
    let mut evidence = Vec::new();
    if let Some(m) = r.resources.memory_pct.filter(|m| *m > MEMORY_LIMIT_PCT) {
        evidence.push(format!("RSS at {m:.1}% of the memory limit"));
    }
    if let Some(n) = r.resources.limiter_refused.filter(|n| *n > 0.0) {
        evidence.push(format!(
            "memory_limiter refused {n:.0} items{}",
            if r.window_seconds.is_some() {
                " in the window"
            } else {
                " since start"
            }
        ));
    }
    let refused: f64 = r
        .receivers
        .iter()
        .map(|x| x.rates.as_ref().map_or(x.refused, |v| v.refused_per_sec))
        .sum();
    let queue_full = r.exporters.iter().any(|e| {
        e.queue_utilisation_pct
            .is_some_and(|u| u > opts.queue_high_pct)
            || e.enqueue_failed > 0.0
    });
    if evidence.is_empty()
        && refused > 0.0
        && !queue_full
        && !cfg.components("processors", "memory_limiter").is_empty()
    {
        evidence.push(format!(
            "receivers refused data ({refused:.1}{}) with no exporter queue full: the memory_limiter is refusing",
            if r.window_seconds.is_some() { "/s" } else { " since start" }
        ));
    }
    if evidence.is_empty() {
        return;
    }
    // A bigger queue or bigger batches hold more in memory: drop that advice.
    out.retain(|x| {
        !matches!(
            x.rule,
            "queue-size" | "queue-consumers" | "batch-size" | "batch-timeout"
        )
    });
    for (id, ex) in cfg.section("exporters") {
        if !queue_enabled(ex) || only_local_exporters([id]) {
            continue;
        }
        let size = ex
            .path(&["sending_queue", "queue_size"])
            .and_then(number)
            .unwrap_or(DEFAULT_QUEUE_SIZE);
        let new = (size / 2.0).floor().max(MIN_QUEUE_SIZE);
        if new < size {
            out.push(advice(
                "memory-constrained",
                format!("exporters.{id}"),
                "sending_queue.queue_size",
                Some(fmt_num(size)),
                fmt_num(new),
                "short of memory: a smaller queue holds less data in memory (the guide's memory-constrained settings)".into(),
                evidence.clone(),
            ));
        }
    }
    for (id, p) in cfg.components("processors", "batch") {
        let timeout = p
            .path(&["timeout"])
            .and_then(duration_ms)
            .unwrap_or(DEFAULT_BATCH_TIMEOUT_MS);
        let new = (timeout / 2.0).max(MIN_FLUSH_MS);
        if new < timeout {
            out.push(advice(
                "memory-constrained",
                format!("processors.{id}"),
                "timeout",
                Some(fmt_ms(timeout)),
                fmt_ms(new),
                "short of memory: flushing batches more often keeps less data waiting in memory"
                    .into(),
                evidence.clone(),
            ));
        }
    }
}

/// Batch sends cut at `send_batch_max_size`: many distinct series arrive
/// together (a high-cardinality workload); a larger max sends them whole.
fn high_cardinality(cfg: &ConfigFile, r: &Report, out: &mut Vec<Recommendation>) {
    let Some(p99) = r.batch.as_ref().and_then(|b| b.send_size_p99) else {
        return;
    };
    if out.iter().any(|x| x.rule == "memory-constrained") {
        return;
    }
    for (id, p) in cfg.components("processors", "batch") {
        let component = format!("processors.{id}");
        let Some(max) = p
            .path(&["send_batch_max_size"])
            .and_then(number)
            .filter(|m| *m > 0.0)
        else {
            continue;
        };
        if p99 < max * AT_MAX_SHARE || has(out, &component, "send_batch_max_size") {
            continue;
        }
        out.push(advice(
            "high-cardinality",
            component,
            "send_batch_max_size",
            Some(fmt_num(max)),
            fmt_num(max * 2.0),
            "batches are cut at send_batch_max_size (a high-cardinality workload): a larger maximum sends them in fewer requests".into(),
            vec![format!(
                "batch send size p99 {p99:.0} ≥ {:.0}% of send_batch_max_size {}",
                AT_MAX_SHARE * 100.0,
                fmt_num(max)
            )],
        ));
    }
}

/// Exports slow but succeeding: more consumers send more requests at once.
/// Never while calls fail — more consumers only hammer a backend that is down.
fn slow_exports(cfg: &ConfigFile, r: &Report, opts: &RuleOptions, out: &mut Vec<Recommendation>) {
    let l = &r.export_latency;
    let Some(p99) = l.p99_ms.filter(|p| *p > r.thresholds.latency_warn_ms) else {
        return;
    };
    if l.error_pct.unwrap_or(0.0) > opts.send_failed_high_pct
        || out.iter().any(|x| x.rule == "memory-constrained")
    {
        return;
    }
    for (id, ex) in cfg.section("exporters") {
        let component = format!("exporters.{id}");
        if !queue_enabled(ex)
            || only_local_exporters([id])
            || has(out, &component, "sending_queue.num_consumers")
        {
            continue;
        }
        let now = ex
            .path(&["sending_queue", "num_consumers"])
            .and_then(number)
            .unwrap_or(DEFAULT_NUM_CONSUMERS);
        out.push(advice(
            "slow-exports",
            component,
            "sending_queue.num_consumers",
            Some(fmt_num(now)),
            fmt_num(now * 2.0),
            "export calls succeed but slowly: more consumers keep more requests in flight".into(),
            vec![format!(
                "export latency p99 {p99:.0} ms (successful calls) > {} ms; call errors {:.1}%",
                r.thresholds.latency_warn_ms,
                l.error_pct.unwrap_or(0.0)
            )],
        ));
    }
}

/// More spans a second than `--max-spans-per-sec`: sample so that about
/// that many remain.
fn high_volume(cfg: &ConfigFile, r: &Report, opts: &RuleOptions, out: &mut Vec<Recommendation>) {
    let rate: f64 = r
        .receivers
        .iter()
        .filter(|x| x.data_type == "traces")
        .filter_map(|x| x.rates.as_ref().map(|v| v.accepted_per_sec))
        .sum();
    if rate <= opts.max_spans_per_sec {
        return;
    }
    let keep = opts.max_spans_per_sec / rate * 100.0;
    let evidence = vec![format!(
        "accepted {rate:.0} spans/s > --max-spans-per-sec {}",
        fmt_num(opts.max_spans_per_sec)
    )];
    let samplers = cfg.components("processors", "probabilistic_sampler");
    if samplers.is_empty() {
        out.retain(|x| x.rule != "sampling");
        let pct = keep.floor().max(1.0);
        out.push(advice(
            "high-volume",
            "processors.probabilistic_sampler".into(),
            "sampling_percentage",
            None,
            fmt_num(pct),
            format!(
                "too many spans for one collector: sample {}% (then add probabilistic_sampler to the traces pipeline's processors, after memory_limiter)",
                fmt_num(pct)
            ),
            evidence,
        ));
        return;
    }
    for (id, p) in samplers {
        let component = format!("processors.{id}");
        let current = p
            .path(&["sampling_percentage"])
            .and_then(number)
            .unwrap_or(100.0);
        let new = (current * keep / 100.0 * 10.0).floor().max(1.0) / 10.0;
        if new >= current {
            continue;
        }
        out.retain(|x| !(x.component == component && x.rule == "sampling"));
        out.push(advice(
            "high-volume",
            component,
            "sampling_percentage",
            Some(fmt_num(current)),
            fmt_num(new),
            "too many spans for one collector even after sampling: sample fewer".into(),
            evidence.clone(),
        ));
    }
}

/// The sampling percentage the traces will get, if below 100: an advised
/// one (earlier rules), else the configured sampler's.
fn sampled_pct(cfg: &ConfigFile, out: &[Recommendation]) -> Option<f64> {
    let advised = out
        .iter()
        .filter(|x| x.setting.as_deref() == Some("sampling_percentage"))
        .filter_map(|x| x.recommended.as_deref()?.parse::<f64>().ok())
        .reduce(f64::min);
    let configured = cfg
        .components("processors", "probabilistic_sampler")
        .iter()
        .filter_map(|(_, p)| p.path(&["sampling_percentage"]).and_then(number))
        .reduce(f64::min);
    advised.or(configured).filter(|p| *p < 100.0)
}

/// `--critical-service NAME`: keep every trace of these services while the
/// rest is sampled. probabilistic_sampler cannot tell services apart, so
/// tail_sampling takes its place in the traces pipelines: one
/// `string_attribute` policy on `service.name`, one `probabilistic` policy
/// at the current percentage for the rest (a trace is kept when any policy
/// keeps it).
fn critical_services(cfg: &ConfigFile, opts: &RuleOptions, out: &mut Vec<Recommendation>) {
    if opts.critical_services.is_empty() {
        return;
    }
    let names = opts.critical_services.join(", ");
    let evidence = vec![format!("--critical-service {names}")];
    let tail = cfg.components("processors", "tail_sampling");
    if let Some((id, p)) = tail.first() {
        let mut kept = Vec::new();
        if let Some(policies) = p.path(&["policies"]) {
            strings(policies, &mut kept);
        }
        let missing: Vec<&str> = opts
            .critical_services
            .iter()
            .map(String::as_str)
            .filter(|n| !kept.contains(n))
            .collect();
        if !missing.is_empty() {
            out.push(Recommendation {
                rule: "critical-services",
                component: format!("processors.{id}"),
                setting: None,
                current: None,
                recommended: None,
                reason: format!(
                    "add a policy that keeps {}: {{name: critical-services, type: string_attribute, string_attribute: {{key: service.name, values: [{}]}}}}",
                    missing.join(", "),
                    missing.join(", ")
                ),
                evidence,
                not_in_diff: Some("the policies list is edited by hand".into()),
            });
        }
        return;
    }
    let Some(pct) = sampled_pct(cfg, out) else {
        return; // everything is kept already
    };
    let policies = format!(
        "[{{name: critical-services, type: string_attribute, string_attribute: {{key: service.name, values: [{names}]}}}}, \
         {{name: sample-the-rest, type: probabilistic, probabilistic: {{sampling_percentage: {}}}}}]",
        fmt_num(pct)
    );
    out.push(advice(
        "critical-services",
        "processors.tail_sampling".into(),
        "policies",
        None,
        policies,
        format!(
            "keep every trace of {names} and {}% of the rest (tail_sampling decides per trace, after all its spans arrived)",
            fmt_num(pct)
        ),
        evidence.clone(),
    ));
    let pipelines = cfg
        .root
        .path(&["service", "pipelines"])
        .and_then(Node::as_map)
        .unwrap_or_default()
        .iter()
        .filter(|(k, _)| k.name.split('/').next() == Some("traces"));
    for (key, pipeline) in pipelines {
        let name = key.name.as_str();
        let Some(list) = pipeline.path(&["processors"]) else {
            continue;
        };
        let Some(items) = list.as_seq() else { continue };
        let mut ids: Vec<String> = items
            .iter()
            .filter_map(|n| n.as_str().map(str::to_string))
            .collect();
        let current = format!("[{}]", ids.join(", "));
        match ids
            .iter()
            .position(|i| i.split('/').next() == Some("probabilistic_sampler"))
        {
            Some(i) => ids[i] = "tail_sampling".into(),
            None => {
                // Before the batch processor, after memory_limiter.
                let at = ids
                    .iter()
                    .position(|i| i.split('/').next() == Some("batch"))
                    .unwrap_or(ids.len());
                ids.insert(at, "tail_sampling".into());
            }
        }
        let new = format!("[{}]", ids.join(", "));
        let flow = is_flow(cfg, list);
        out.push(Recommendation {
            rule: "critical-services",
            component: "service.pipelines".into(),
            setting: Some(format!("{name}.processors")),
            current: Some(current),
            // A block list cannot take a one-line value: stated, not diffed.
            recommended: Some(new),
            reason: "tail_sampling replaces probabilistic_sampler in the traces pipeline".into(),
            evidence: evidence.clone(),
            not_in_diff: None,
        });
        if !flow {
            let last = out.last_mut().expect("just pushed");
            last.not_in_diff =
                Some("the processors list is in block style: edit it by hand".into());
            last.reason = format!(
                "{} — set it to {}",
                last.reason,
                last.recommended.take().unwrap_or_default()
            );
        }
    }
}

/// Whether a sequence is written `[a, b]` (then one line's value can be replaced).
fn is_flow(cfg: &ConfigFile, node: &Node) -> bool {
    if !matches!(node.value, Value::Seq(_)) {
        return false;
    }
    cfg.text
        .lines()
        .nth(node.pos.line.saturating_sub(1))
        .and_then(|l| l.get(node.pos.column.saturating_sub(1)..))
        .is_some_and(|rest| rest.starts_with('['))
}

/// Every string scalar under `node`.
fn strings<'a>(node: &'a Node, acc: &mut Vec<&'a str>) {
    match &node.value {
        Value::Str(s) => acc.push(s),
        Value::Seq(items) => items.iter().for_each(|n| strings(n, acc)),
        Value::Map(entries) => entries.iter().for_each(|(_, n)| strings(n, acc)),
        _ => {}
    }
}

#[cfg(test)]
#[path = "workload_tests.rs"]
mod tests;
