//! The human table for a [`Report`].

use std::fmt::Write;

use super::evaluate::Report;

fn num(v: Option<f64>, decimals: usize) -> String {
    match v {
        Some(x) if x.is_finite() => format!("{x:.decimals$}"),
        _ => "-".to_string(),
    }
}

fn name(component: &str, data_type: &str) -> String {
    if data_type.is_empty() {
        component.to_string()
    } else {
        format!("{component}/{data_type}")
    }
}

pub fn table(r: &Report) -> String {
    let mut out = String::new();
    let w = &mut out;
    let window = r
        .window_seconds
        .map_or("single scrape".to_string(), |s| format!("window {s:.1}s"));
    let _ = writeln!(w, "collector status: {}  ({window})", r.status);

    let _ = writeln!(w, "\nQueue health (exporters)");
    let _ = writeln!(
        w,
        "  {:<28} {:>8} {:>10} {:>8} {:>10} {:>10} {:>10} {:>8}  STATUS",
        "EXPORTER", "QUEUE%", "SIZE/CAP", "INFLIGHT", "SENT/s", "FAILED/s", "DROPPED/s", "FAILED%"
    );
    if r.exporters.is_empty() {
        let _ = writeln!(w, "  (no exporter series)");
    }
    for e in &r.exporters {
        let rates = e.rates.as_ref();
        let size = match (e.queue_size, e.queue_capacity) {
            (Some(s), Some(c)) => format!("{s:.0}/{c:.0}"),
            _ => "-".into(),
        };
        let _ = writeln!(
            w,
            "  {:<28} {:>8} {:>10} {:>8} {:>10} {:>10} {:>10} {:>8}  {}",
            name(&e.exporter, &e.data_type),
            num(e.queue_utilisation_pct, 1),
            size,
            num(e.in_flight, 0),
            num(rates.map(|r| r.sent_per_sec), 1),
            num(rates.map(|r| r.send_failed_per_sec), 1),
            num(rates.map(|r| r.enqueue_failed_per_sec), 1),
            num(e.send_failed_pct, 2),
            e.status
        );
    }

    let _ = writeln!(w, "\nPerformance (receivers)");
    let _ = writeln!(
        w,
        "  {:<28} {:>12} {:>12} {:>10} {:>12} {:>12} {:>9}  STATUS",
        "RECEIVER", "ACCEPTED", "REFUSED", "FAILED", "ACCEPTED/s", "REFUSED/s", "REFUSED%"
    );
    if r.receivers.is_empty() {
        let _ = writeln!(w, "  (no receiver series)");
    }
    for x in &r.receivers {
        let rates = x.rates.as_ref();
        let _ = writeln!(
            w,
            "  {:<28} {:>12.0} {:>12.0} {:>10.0} {:>12} {:>12} {:>9}  {}",
            name(&x.receiver, &x.data_type),
            x.accepted,
            x.refused,
            x.failed,
            num(rates.map(|r| r.accepted_per_sec), 1),
            num(rates.map(|r| r.refused_per_sec), 1),
            num(x.refused_pct, 2),
            x.status
        );
    }
    if let Some(b) = &r.batch {
        let _ = writeln!(
            w,
            "  batch send size p50/p90/p99: {}/{}/{}   triggers: size {:.0}, timeout {:.0} ({}% timeout)",
            num(b.send_size_p50, 0),
            num(b.send_size_p90, 0),
            num(b.send_size_p99, 0),
            b.size_triggered,
            b.timeout_triggered,
            num(b.timeout_trigger_pct, 0)
        );
    }
    let l = &r.export_latency;
    if l.exposed {
        // The error rate sits beside the latency: the percentiles are of the
        // calls that succeeded, and none may have.
        let latency = if l.p99_ms.is_some() {
            format!(
                "{}/{}/{} ms",
                num(l.p50_ms, 1),
                num(l.p90_ms, 1),
                num(l.p99_ms, 1)
            )
        } else {
            "- (no call succeeded)".to_string()
        };
        let errors = match l.error_pct {
            Some(e) if e > 0.0 => {
                let by: Vec<String> = l
                    .errors
                    .iter()
                    .map(|(c, n)| format!("{c} ×{n:.0}"))
                    .collect();
                format!("errors {e:.1}% of {:.0} calls ({})", l.calls, by.join(", "))
            }
            Some(_) => format!("errors 0% of {:.0} calls", l.calls),
            None => "no calls".to_string(),
        };
        let _ = writeln!(
            w,
            "  export latency p50/p90/p99 (successful calls): {latency}  {errors}  ({})  {}",
            l.source.as_deref().unwrap_or("-"),
            l.status
        );
    }

    let x = &r.resources;
    let _ = writeln!(w, "\nResource usage");
    let _ = writeln!(
        w,
        "  RSS {} MiB of limit {} MiB ({}%)  CPU {}%  heap {} MiB  uptime {} s  {}",
        num(x.rss_mib, 1),
        num(x.memory_limit_mib, 0),
        num(x.memory_pct, 1),
        num(x.cpu_pct, 1),
        num(x.heap_alloc_mib, 1),
        num(x.uptime_seconds, 0),
        x.status
    );

    if let Some(t) = &r.tail_sampling {
        let _ = writeln!(w, "\nTail sampling");
        let _ = writeln!(
            w,
            "  traces in memory {}  new {:.0}  kept {}%  dropped too early {:.0}  late spans {:.0}  decision p99 {} ms  {}",
            num(t.traces_on_memory, 0),
            t.new_traces,
            num(t.sampled_pct, 1),
            t.dropped_too_early,
            t.late_spans,
            num(t.decision_latency_p99_ms, 0),
            t.status
        );
        for (policy, kept) in &t.policy_sampled {
            let _ = writeln!(w, "  policy {policy}: kept {kept:.0}");
        }
    }

    let alerts: Vec<_> = r
        .checks
        .iter()
        .filter(|c| c.status != super::Status::Ok)
        .collect();
    if !alerts.is_empty() {
        let _ = writeln!(w, "\nAlerts");
        for c in alerts {
            let _ = writeln!(
                w,
                "  {:<4} {} {}: {:.2}{} ({})",
                c.status, c.scope, c.name, c.value, c.unit, c.rule
            );
        }
    }
    if !r.notes.is_empty() {
        let _ = writeln!(w, "\nNotes");
        for n in &r.notes {
            let _ = writeln!(w, "  - {n}");
        }
    }
    out
}

/// `watch` without the terminal UI: one summary line per round (plus a line
/// per non-OK check), or one JSON object per line.
pub struct LineView {
    pub output: crate::output::OutputFormat,
}

impl super::watch::View for LineView {
    fn show(&mut self, ts_ms: u64, round: super::watch::Round<'_>) -> anyhow::Result<bool> {
        use super::watch::Round;
        let when = humantime::format_rfc3339_seconds(
            std::time::UNIX_EPOCH + std::time::Duration::from_millis(ts_ms),
        );
        match (round, self.output) {
            (Round::Judged { report, .. }, crate::output::OutputFormat::Json) => {
                println!(
                    "{}",
                    serde_json::json!({ "ts_ms": ts_ms, "report": report })
                );
            }
            (Round::Judged { report: r, .. }, crate::output::OutputFormat::Table) => {
                let queue = r
                    .exporters
                    .iter()
                    .filter_map(|e| e.queue_utilisation_pct)
                    .fold(None, max_opt);
                let refused = r
                    .receivers
                    .iter()
                    .filter_map(|x| x.refused_pct)
                    .fold(None, max_opt);
                println!(
                    "{when} {:<4} queue max {}%  refused max {}%  rss {} MiB ({}% of limit)  cpu {}%  latency p99 {} ms",
                    r.status,
                    num(queue, 1),
                    num(refused, 2),
                    num(r.resources.rss_mib, 1),
                    num(r.resources.memory_pct, 1),
                    num(r.resources.cpu_pct, 1),
                    num(r.export_latency.p99_ms, 0)
                );
                for c in r.checks.iter().filter(|c| c.status != super::Status::Ok) {
                    println!(
                        "    {:<4} {} {}: {:.2}{} ({})",
                        c.status, c.scope, c.name, c.value, c.unit, c.rule
                    );
                }
            }
            (Round::Failed { error }, crate::output::OutputFormat::Json) => {
                println!(
                    "{}",
                    serde_json::json!({ "ts_ms": ts_ms, "error": error.to_string() })
                );
            }
            (Round::Failed { error }, crate::output::OutputFormat::Table) => {
                println!("{when} scrape failed: {error}");
            }
        }
        Ok(true)
    }

    async fn wait(&mut self, d: std::time::Duration) -> anyhow::Result<bool> {
        tokio::time::sleep(d).await;
        Ok(true)
    }
}

fn max_opt(acc: Option<f64>, v: f64) -> Option<f64> {
    Some(acc.map_or(v, |a: f64| a.max(v)))
}

/// `monitor trends` as a table.
pub fn trends_table(t: &super::trends::Trends, since: std::time::Duration) -> String {
    let mut out = String::new();
    let w = &mut out;
    let count = |s: &str| t.status_counts.get(s).copied().unwrap_or(0);
    let _ = writeln!(
        w,
        "{} records over the last {}  (OK {}, WARN {}, CRIT {})",
        t.records,
        humantime::format_duration(since),
        count("OK"),
        count("WARN"),
        count("CRIT")
    );
    let _ = writeln!(
        w,
        "  {:<48} {:>7} {:>12} {:>12} {:>12}  TREND",
        "METRIC", "SAMPLES", "MIN", "AVG", "MAX"
    );
    for m in &t.metrics {
        let _ = writeln!(
            w,
            "  {:<48} {:>7} {:>12.2} {:>12.2} {:>12.2}  {:?}",
            m.metric, m.samples, m.min, m.avg, m.max, m.direction
        );
    }
    out
}
