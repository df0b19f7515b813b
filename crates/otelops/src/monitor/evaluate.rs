//! Judge a collector from one or two snapshots: rates over the window between
//! them, ratios, percentiles, and an OK/WARN/CRIT status for every threshold.

use std::collections::BTreeMap;

use serde::Serialize;

use super::snapshot::{ExporterCounters, Key, ReceiverCounters, Snapshot};
use crate::prom::Histogram;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    Ok,
    Warn,
    Crit,
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Status::Ok => "OK",
            Status::Warn => "WARN",
            Status::Crit => "CRIT",
        })
    }
}

/// Limits from the operations guide (WARN) plus our CRIT levels; every one is
/// a flag on `otelops monitor`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Thresholds {
    pub queue_warn_pct: f64,
    pub queue_crit_pct: f64,
    pub refused_warn_pct: f64,
    pub refused_crit_pct: f64,
    pub send_failed_warn_pct: f64,
    pub send_failed_crit_pct: f64,
    pub memory_warn_pct: f64,
    pub memory_crit_pct: f64,
    pub latency_warn_ms: f64,
    pub latency_crit_ms: f64,
}

impl Thresholds {
    /// The guide: queue > 80 %, refused > 1 %, memory > 80 % of the limit,
    /// export latency > 5000 ms. CRIT: queue > 95 % (one burst from dropping),
    /// refused > 5 %, memory > 90 % of the container (the guide's memory_limiter
    /// refuses data from 60 % and forces GC from 80 %, where the
    /// OtelcolMemoryHigh alert fires too), latency > 10 s (the default exporter
    /// timeout is 5 s).
    pub const GUIDE: Thresholds = Thresholds {
        queue_warn_pct: 80.0,
        queue_crit_pct: 95.0,
        refused_warn_pct: 1.0,
        refused_crit_pct: 5.0,
        send_failed_warn_pct: 1.0,
        send_failed_crit_pct: 5.0,
        memory_warn_pct: 80.0,
        memory_crit_pct: 90.0,
        latency_warn_ms: 5000.0,
        latency_crit_ms: 10000.0,
    };
}

/// Rule texts for per-component checks, formatted once per evaluation (a
/// 10,000-series page has thousands of rows).
struct RuleTexts<'a> {
    t: &'a Thresholds,
    queue: String,
    send_failed: String,
    refused: String,
}

impl<'a> RuleTexts<'a> {
    fn new(t: &'a Thresholds) -> Self {
        let pair = |w: f64, c: f64| format!("> {w}% WARN, > {c}% CRIT");
        RuleTexts {
            t,
            queue: pair(t.queue_warn_pct, t.queue_crit_pct),
            send_failed: pair(t.send_failed_warn_pct, t.send_failed_crit_pct),
            refused: pair(t.refused_warn_pct, t.refused_crit_pct),
        }
    }
}

fn judge(value: f64, warn: f64, crit: f64) -> Status {
    if value > crit {
        Status::Crit
    } else if value > warn {
        Status::Warn
    } else {
        Status::Ok
    }
}

/// One judged value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    pub scope: String,
    pub name: String,
    pub value: f64,
    pub unit: &'static str,
    pub status: Status,
    pub rule: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExporterRates {
    pub sent_per_sec: f64,
    pub send_failed_per_sec: f64,
    pub enqueue_failed_per_sec: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExporterRow {
    pub exporter: String,
    pub data_type: String,
    pub queue_size: Option<f64>,
    pub queue_capacity: Option<f64>,
    pub queue_utilisation_pct: Option<f64>,
    pub in_flight: Option<f64>,
    /// Cumulative counts since the collector started.
    pub sent: f64,
    pub send_failed: f64,
    pub enqueue_failed: f64,
    pub rates: Option<ExporterRates>,
    pub send_failed_pct: Option<f64>,
    /// Failed items by `error_type` (over the window when there is one).
    pub failed_by: BTreeMap<String, f64>,
    pub status: Status,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReceiverRates {
    pub accepted_per_sec: f64,
    pub refused_per_sec: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReceiverRow {
    pub receiver: String,
    pub data_type: String,
    pub accepted: f64,
    pub refused: f64,
    pub failed: f64,
    pub rates: Option<ReceiverRates>,
    pub refused_pct: Option<f64>,
    pub status: Status,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BatchRow {
    pub send_size_p50: Option<f64>,
    pub send_size_p90: Option<f64>,
    pub send_size_p99: Option<f64>,
    pub size_triggered: f64,
    pub timeout_triggered: f64,
    /// Share of batches sent because the timeout fired (vs. size reached).
    pub timeout_trigger_pct: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResourceRow {
    pub rss_mib: Option<f64>,
    pub memory_limit_mib: Option<f64>,
    pub memory_pct: Option<f64>,
    /// Percent of one core over the window.
    pub cpu_pct: Option<f64>,
    pub heap_alloc_mib: Option<f64>,
    pub uptime_seconds: Option<f64>,
    /// Items memory_limiter refused (over the window when there is one):
    /// the collector is short of memory.
    pub limiter_refused: Option<f64>,
    pub status: Status,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LatencyRow {
    pub exposed: bool,
    /// Why there is no latency, when `exposed` is false.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub absent: Option<String>,
    pub source: Option<String>,
    /// Percentiles of the calls that succeeded only.
    pub p50_ms: Option<f64>,
    pub p90_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    /// Client calls (over the window when there is one), and how many failed.
    pub calls: f64,
    pub failed_calls: f64,
    pub error_pct: Option<f64>,
    /// Failed calls by status (`UNAVAILABLE`, `HTTP 401`, …).
    pub errors: BTreeMap<String, f64>,
    pub status: Status,
}

/// Exporter kinds that make no network calls, so have no client latency.
pub const LOCAL_EXPORTERS: [&str; 4] = ["debug", "nop", "file", "logging"];

/// Whether every exporter on the page is local (`debug`, `file`, …).
pub fn only_local_exporters(exporters: impl IntoIterator<Item = impl AsRef<str>>) -> bool {
    let mut any = false;
    let all = exporters.into_iter().all(|id| {
        any = true;
        let kind = id.as_ref().split('/').next().unwrap_or_default();
        LOCAL_EXPORTERS.contains(&kind)
    });
    any && all
}

pub const LATENCY_NOT_EXPOSED: &str = "export latency not exposed: set service.telemetry.metrics.level: detailed \
     (http.client.request.duration / rpc.client.call.duration; there is no otelcol_exporter_sent_spans_duration)";

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub status: Status,
    /// Seconds between the two scrapes; None for a single page.
    pub window_seconds: Option<f64>,
    pub exporters: Vec<ExporterRow>,
    pub receivers: Vec<ReceiverRow>,
    pub batch: Option<BatchRow>,
    pub resources: ResourceRow,
    pub export_latency: LatencyRow,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tail_sampling: Option<super::tail_sampling::TailSamplingRow>,
    pub checks: Vec<Check>,
    pub notes: Vec<String>,
    pub thresholds: Thresholds,
}

/// What to evaluate: the latest snapshot, optionally an earlier one and the
/// seconds between them, and the collector's memory limit if known.
pub struct Inputs<'a> {
    pub current: &'a Snapshot,
    pub previous: Option<(&'a Snapshot, f64)>,
    pub memory_limit_mib: Option<f64>,
}

/// Counter increase, treating a decrease as a restart (Prometheus semantics).
pub(super) fn increase(now: f64, before: f64) -> f64 {
    if now >= before { now - before } else { now }
}

fn pct(part: f64, whole: f64) -> Option<f64> {
    (whole > 0.0).then(|| part / whole * 100.0)
}

pub fn evaluate(inputs: &Inputs<'_>, t: &Thresholds) -> Report {
    let cur = inputs.current;
    let prev = inputs.previous.filter(|(_, dt)| *dt > 0.0);
    let mut checks = Vec::new();
    let mut notes = Vec::new();
    if prev.is_none() {
        notes.push(
            "one scrape only: rates omitted; refused % and send-failed % are since collector start"
                .to_string(),
        );
    }
    if !cur.has_otelcol {
        notes.push(
            "no otelcol_ series on the page: is this a collector's :8888/metrics?".to_string(),
        );
    }

    let rules = RuleTexts::new(t);
    let exporters = cur
        .exporters
        .iter()
        .map(|(key, c)| {
            exporter_row(
                key,
                c,
                prev.map(|(p, dt)| (p.exporters.get(key), dt)),
                &rules,
                &mut checks,
            )
        })
        .collect();
    let receivers = cur
        .receivers
        .iter()
        .map(|(key, c)| {
            receiver_row(
                key,
                c,
                prev.map(|(p, dt)| (p.receivers.get(key), dt)),
                &rules,
                &mut checks,
            )
        })
        .collect();
    let batch = cur.batch.as_ref().map(|b| {
        let before = prev.and_then(|(p, _)| p.batch.as_ref());
        let hist = match (&b.send_size, before.and_then(|p| p.send_size.as_ref())) {
            (Some(now), Some(then)) if now.count > then.count => Some(now.delta(then)),
            (now, _) => now.clone(),
        };
        let (size, timeout) = match before {
            Some(p) => (
                increase(b.size_trigger, p.size_trigger),
                increase(b.timeout_trigger, p.timeout_trigger),
            ),
            None => (b.size_trigger, b.timeout_trigger),
        };
        BatchRow {
            send_size_p50: hist.as_ref().and_then(|h| h.quantile(0.5)),
            send_size_p90: hist.as_ref().and_then(|h| h.quantile(0.9)),
            send_size_p99: hist.as_ref().and_then(|h| h.quantile(0.99)),
            size_triggered: size,
            timeout_triggered: timeout,
            timeout_trigger_pct: pct(timeout, size + timeout),
        }
    });
    let resources = resource_row(inputs, prev, t, &mut checks, &mut notes);
    let export_latency = latency_row(cur, prev, t, &mut checks, &mut notes);
    let tail_sampling = cur.tail_sampling.as_ref().map(|ts| {
        let before = prev.and_then(|(p, _)| p.tail_sampling.as_ref());
        super::tail_sampling::judge(ts, before, &mut checks)
    });
    let status = checks.iter().map(|c| c.status).max().unwrap_or(Status::Ok);
    Report {
        status,
        window_seconds: prev.map(|(_, dt)| dt),
        exporters,
        receivers,
        batch,
        resources,
        export_latency,
        tail_sampling,
        checks,
        notes,
        thresholds: *t,
    }
}

fn exporter_row(
    key: &Key,
    c: &ExporterCounters,
    prev: Option<(Option<&ExporterCounters>, f64)>,
    rules: &RuleTexts<'_>,
    checks: &mut Vec<Check>,
) -> ExporterRow {
    let t = rules.t;
    let scope = scope("exporter", key);
    let mut status = Status::Ok;
    let mut push = |check: Check, status: &mut Status| {
        *status = (*status).max(check.status);
        checks.push(check);
    };
    let util = match (c.queue_size, c.queue_capacity) {
        (Some(size), Some(cap)) => pct(size, cap),
        _ => None,
    };
    if let Some(u) = util {
        let rule = rules.queue.clone();
        let st = judge(u, t.queue_warn_pct, t.queue_crit_pct);
        push(
            Check {
                scope: scope.clone(),
                name: "queue utilisation".into(),
                value: u,
                unit: "%",
                status: st,
                rule,
            },
            &mut status,
        );
    }
    let zero = ExporterCounters::default();
    let (window, rates) = match prev {
        Some((p, dt)) => {
            let p = p.unwrap_or(&zero);
            let d = (
                increase(c.sent, p.sent),
                increase(c.send_failed, p.send_failed),
                increase(c.enqueue_failed, p.enqueue_failed),
            );
            let rates = ExporterRates {
                sent_per_sec: d.0 / dt,
                send_failed_per_sec: d.1 / dt,
                enqueue_failed_per_sec: d.2 / dt,
            };
            (d, Some(rates))
        }
        None => ((c.sent, c.send_failed, c.enqueue_failed), None),
    };
    let failed_pct = pct(window.1, window.0 + window.1);
    if let Some(f) = failed_pct {
        let rule = rules.send_failed.clone();
        let st = judge(f, t.send_failed_warn_pct, t.send_failed_crit_pct);
        push(
            Check {
                scope: scope.clone(),
                name: "send failed".into(),
                value: f,
                unit: "%",
                status: st,
                rule,
            },
            &mut status,
        );
    }
    if window.2 > 0.0 {
        // Enqueue failures are data dropped because the queue was full.
        let (st, rule) = if rates.is_some() {
            (
                Status::Crit,
                "any in the window: data dropped (queue full) → CRIT",
            )
        } else {
            (
                Status::Warn,
                "any since start: data was dropped (queue full) → WARN",
            )
        };
        push(
            Check {
                scope: scope.clone(),
                name: "enqueue failed".into(),
                value: window.2,
                unit: "items",
                status: st,
                rule: rule.into(),
            },
            &mut status,
        );
    }
    ExporterRow {
        exporter: key.0.clone(),
        data_type: key.1.clone(),
        queue_size: c.queue_size,
        queue_capacity: c.queue_capacity,
        queue_utilisation_pct: util,
        in_flight: c.in_flight,
        sent: c.sent,
        send_failed: c.send_failed,
        enqueue_failed: c.enqueue_failed,
        rates,
        send_failed_pct: failed_pct,
        failed_by: c
            .failed_by
            .iter()
            .map(|(k, v)| {
                let before = prev
                    .and_then(|(p, _)| p.and_then(|p| p.failed_by.get(k)))
                    .copied()
                    .unwrap_or(0.0);
                let d = if prev.is_some() {
                    increase(*v, before)
                } else {
                    *v
                };
                (k.clone(), d)
            })
            .filter(|(_, v)| *v > 0.0)
            .collect(),
        status,
    }
}

fn receiver_row(
    key: &Key,
    c: &ReceiverCounters,
    prev: Option<(Option<&ReceiverCounters>, f64)>,
    rules: &RuleTexts<'_>,
    checks: &mut Vec<Check>,
) -> ReceiverRow {
    let t = rules.t;
    let zero = ReceiverCounters::default();
    let (accepted, refused, rates) = match prev {
        Some((p, dt)) => {
            let p = p.unwrap_or(&zero);
            let (a, r) = (
                increase(c.accepted, p.accepted),
                increase(c.refused, p.refused),
            );
            (
                a,
                r,
                Some(ReceiverRates {
                    accepted_per_sec: a / dt,
                    refused_per_sec: r / dt,
                }),
            )
        }
        None => (c.accepted, c.refused, None),
    };
    let refused_pct = pct(refused, accepted + refused);
    let mut status = Status::Ok;
    if let Some(r) = refused_pct {
        status = judge(r, t.refused_warn_pct, t.refused_crit_pct);
        checks.push(Check {
            scope: scope("receiver", key),
            name: "refused".into(),
            value: r,
            unit: "%",
            status,
            rule: rules.refused.clone(),
        });
    }
    ReceiverRow {
        receiver: key.0.clone(),
        data_type: key.1.clone(),
        accepted: c.accepted,
        refused: c.refused,
        failed: c.failed,
        rates,
        refused_pct,
        status,
    }
}

fn resource_row(
    inputs: &Inputs<'_>,
    prev: Option<(&Snapshot, f64)>,
    t: &Thresholds,
    checks: &mut Vec<Check>,
    notes: &mut Vec<String>,
) -> ResourceRow {
    const MIB: f64 = 1024.0 * 1024.0;
    let p = &inputs.current.process;
    let rss_mib = p.rss_bytes.map(|b| b / MIB);
    let memory_pct = match (rss_mib, inputs.memory_limit_mib) {
        (Some(rss), Some(limit)) => pct(rss, limit),
        _ => None,
    };
    let mut status = Status::Ok;
    if let Some(m) = memory_pct {
        status = judge(m, t.memory_warn_pct, t.memory_crit_pct);
        checks.push(Check {
            scope: "process".into(),
            name: "memory (RSS of limit)".into(),
            value: m,
            unit: "%",
            status,
            rule: format!(
                "> {}% WARN, > {}% CRIT",
                t.memory_warn_pct, t.memory_crit_pct
            ),
        });
    } else if rss_mib.is_some() {
        notes.push(
            "memory limit unknown: pass --container-memory-mib, or --config with a memory_limiter"
                .into(),
        );
    }
    let cpu_pct = match (prev, p.cpu_seconds) {
        (Some((before, dt)), Some(now)) => before
            .process
            .cpu_seconds
            .map(|b| increase(now, b) / dt * 100.0),
        _ => None,
    };
    ResourceRow {
        rss_mib,
        memory_limit_mib: inputs.memory_limit_mib,
        memory_pct,
        cpu_pct,
        heap_alloc_mib: p.heap_alloc_bytes.map(|b| b / MIB),
        limiter_refused: p.limiter_refused.map(|now| {
            match prev.and_then(|(b, _)| b.process.limiter_refused) {
                Some(before) => increase(now, before),
                None => now,
            }
        }),
        uptime_seconds: p.uptime_seconds,
        status,
    }
}

fn latency_row(
    cur: &Snapshot,
    prev: Option<(&Snapshot, f64)>,
    t: &Thresholds,
    checks: &mut Vec<Check>,
    notes: &mut Vec<String>,
) -> LatencyRow {
    let mut row = LatencyRow {
        exposed: false,
        absent: None,
        source: None,
        p50_ms: None,
        p90_ms: None,
        p99_ms: None,
        calls: 0.0,
        failed_calls: 0.0,
        error_pct: None,
        errors: BTreeMap::new(),
        status: Status::Ok,
    };
    if cur.latency.is_empty() {
        // A collector whose exporters are all local (debug, file) makes no
        // network calls: there is no latency to expose, whatever the level.
        let why = if only_local_exporters(cur.exporters.keys().map(|k| &k.0)) {
            let kinds: Vec<&str> = cur.exporters.keys().map(|k| k.0.as_str()).collect();
            format!(
                "no export latency: no exporter makes network calls ({})",
                dedup(kinds).join(", ")
            )
        } else {
            LATENCY_NOT_EXPOSED.to_string()
        };
        notes.push(why.clone());
        row.absent = Some(why);
        return row;
    }
    row.exposed = true;
    // Per source (HTTP and gRPC clients have different buckets), over the
    // window when possible; the slowest p99 of the calls that succeeded
    // speaks for the exporters.
    let mut slowest: Option<(String, Histogram)> = None;
    for lat in &cur.latency {
        let before = prev.and_then(|(p, _)| p.latency.iter().find(|l| l.source == lat.source));
        let all = match before {
            Some(b) if lat.seconds.count >= b.seconds.count => lat.seconds.delta(&b.seconds),
            _ => lat.seconds.clone(),
        };
        row.calls += all.count;
        for (code, n) in &lat.failed {
            let was = before
                .and_then(|b| b.failed.get(code))
                .copied()
                .unwrap_or(0.0);
            let d = if before.is_some() {
                increase(*n, was)
            } else {
                *n
            };
            if d > 0.0 {
                row.failed_calls += d;
                *row.errors.entry(code.clone()).or_insert(0.0) += d;
            }
        }
        let ok = match (&lat.ok_seconds, before.and_then(|b| b.ok_seconds.as_ref())) {
            (Some(now), Some(then)) if now.count >= then.count => Some(now.delta(then)),
            (now, _) => now.clone(),
        };
        let Some(ok) = ok.filter(|h| h.count > 0.0) else {
            continue;
        };
        let p99 = |h: &Histogram| h.quantile(0.99).unwrap_or(f64::NEG_INFINITY);
        if slowest.as_ref().is_none_or(|(_, s)| p99(&ok) > p99(s)) {
            slowest = Some((lat.source.clone(), ok));
        }
    }
    row.error_pct = pct(row.failed_calls, row.calls);
    if let Some(e) = row.error_pct.filter(|e| *e > 0.0) {
        let st = judge(e, t.send_failed_warn_pct, t.send_failed_crit_pct);
        row.status = row.status.max(st);
        let by: Vec<String> = row
            .errors
            .iter()
            .map(|(c, n)| format!("{c} ×{n:.0}"))
            .collect();
        checks.push(Check {
            scope: "exporters".into(),
            name: format!("export call errors ({})", by.join(", ")),
            value: e,
            unit: "%",
            status: st,
            rule: format!(
                "> {}% WARN, > {}% CRIT",
                t.send_failed_warn_pct, t.send_failed_crit_pct
            ),
        });
    }
    let Some((source, h)) = slowest else {
        row.source = cur.latency.first().map(|l| l.source.clone());
        if row.failed_calls > 0.0 {
            notes.push(
                "export latency not judged: every export call failed (a failed call says nothing about the backend's speed)"
                    .into(),
            );
        }
        return row;
    };
    let ms = |q: f64| h.quantile(q).map(|s| s * 1000.0);
    row.source = Some(source);
    row.p50_ms = ms(0.5);
    row.p90_ms = ms(0.9);
    row.p99_ms = ms(0.99);
    if let Some(v) = row.p99_ms {
        let st = judge(v, t.latency_warn_ms, t.latency_crit_ms);
        row.status = row.status.max(st);
        checks.push(Check {
            scope: "exporters".into(),
            name: "export latency p99 (successful calls)".into(),
            value: v,
            unit: "ms",
            status: st,
            rule: format!(
                "> {} ms WARN, > {} ms CRIT",
                t.latency_warn_ms, t.latency_crit_ms
            ),
        });
    }
    row
}

fn dedup(mut v: Vec<&str>) -> Vec<&str> {
    v.sort_unstable();
    v.dedup();
    v
}

fn scope(kind: &str, key: &Key) -> String {
    if key.1.is_empty() {
        format!("{kind} {}", key.0)
    } else {
        format!("{kind} {}/{}", key.0, key.1)
    }
}

#[cfg(test)]
#[path = "evaluate_tests.rs"]
mod tests;
