//! Plain-text views of stored traces: the trace list and the waterfall
//! (indented span tree, service, duration, a bar scaled to the trace,
//! status and the attributes people look for first), like otel-tui or
//! Jaeger's timeline. Color only when asked (the caller checks for a TTY).

use std::fmt::Write;

use super::Summary;
use super::model::{SpanView, TraceDetail, TraceListItem};

/// Attributes shown beside each span in the waterfall, in this order.
pub const KEY_ATTRIBUTES: [&str; 4] = [
    "http.route",
    "http.response.status_code",
    "db.operation.name",
    "error.type",
];

const NAME_WIDTH: usize = 44;
const SERVICE_WIDTH: usize = 14;
const BAR_WIDTH: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    pub color: bool,
}

impl Style {
    fn paint(self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }
}

/// Milliseconds with two decimals (`12.34ms`), or seconds past 10 s.
pub fn format_duration(ns: u64) -> String {
    let ms = ns as f64 / 1e6;
    if ms >= 10_000.0 {
        format!("{:.2}s", ms / 1000.0)
    } else {
        format!("{ms:.2}ms")
    }
}

/// `otelops traces list`: one line per trace, oldest first.
pub fn render_list(items: &[TraceListItem], style: Style) -> String {
    if items.is_empty() {
        return "no traces received yet\n".to_owned();
    }
    let mut out = list_header();
    for item in items {
        out.push_str(&list_row(item, style));
    }
    out
}

/// The list's column header line.
pub fn list_header() -> String {
    format!(
        "{:<32}  {:<SERVICE_WIDTH$}  {:<36}  {:>5}  {:>6}  {:>10}  SERVICES\n",
        "TRACE ID", "ROOT SERVICE", "ROOT SPAN", "SPANS", "ERRORS", "DURATION"
    )
}

/// One line of the list (`--follow` prints them as traces arrive).
pub fn list_row(item: &TraceListItem, style: Style) -> String {
    let errors = if item.errors > 0 {
        style.paint("31", &format!("{:>6}", item.errors))
    } else {
        format!("{:>6}", 0)
    };
    format!(
        "{:<32}  {:<SERVICE_WIDTH$}  {:<36}  {:>5}  {errors}  {:>10}  {}\n",
        item.trace_id,
        clip(&item.root_service, SERVICE_WIDTH),
        clip(&item.root_name, 36),
        item.spans,
        format_duration(item.duration_ns),
        item.services.join(","),
    )
}

/// `otelops traces show ID`: the waterfall.
pub fn render_waterfall(trace: &TraceDetail, style: Style) -> String {
    let start = trace.start_unix_nano();
    let total = trace.end_unix_nano().saturating_sub(start);
    let errors = trace.spans.iter().filter(|s| s.status == "error").count();
    let mut services: Vec<&str> = trace.spans.iter().map(|s| s.service.as_str()).collect();
    services.sort_unstable();
    services.dedup();
    let mut out = format!(
        "trace {}  {}  {} ({})  {}  {}\n",
        trace.trace_id,
        plural(trace.spans.len(), "span"),
        plural(services.len(), "service"),
        services.join(", "),
        format_duration(total),
        plural(errors, "error"),
    );
    let _ = writeln!(
        out,
        "{:<NAME_WIDTH$}  {:<SERVICE_WIDTH$}  {:>10}  {:<w$}  {:<6}  ATTRIBUTES",
        "SPAN",
        "SERVICE",
        "DURATION",
        "TIMELINE",
        "STATUS",
        w = BAR_WIDTH + 2
    );
    let prefixes = tree_prefixes(&trace.spans);
    for (span, prefix) in trace.spans.iter().zip(prefixes) {
        let name = clip(&format!("{prefix}{}", span.name), NAME_WIDTH);
        let status = match span.status.as_str() {
            "error" => style.paint("31", &format!("{:<6}", "ERROR")),
            "ok" => format!("{:<6}", "OK"),
            _ => format!("{:<6}", ""),
        };
        let bar = bar(span, start, total);
        let bar = if span.status == "error" {
            style.paint("31", &bar)
        } else {
            style.paint("36", &bar)
        };
        let mut attrs: Vec<String> = KEY_ATTRIBUTES
            .iter()
            .filter_map(|key| span.attribute(key).map(|v| format!("{key}={v}")))
            .collect();
        if span.status == "error" && !span.status_message.is_empty() {
            attrs.push(format!("message={:?}", span.status_message));
        }
        let line = format!(
            "{name:<NAME_WIDTH$}  {:<SERVICE_WIDTH$}  {:>10}  |{bar}|  {status}  {}",
            clip(&span.service, SERVICE_WIDTH),
            format_duration(span.duration_ns()),
            attrs.join(" ")
        );
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// The bar: the span's share of the trace's time, placed at its offset.
fn bar(span: &SpanView, trace_start: u64, total: u64) -> String {
    let scale = |ns: u64| -> usize {
        if total == 0 {
            0
        } else {
            ((ns as u128 * BAR_WIDTH as u128) / total as u128) as usize
        }
    };
    let offset = scale(span.start_unix_nano.saturating_sub(trace_start)).min(BAR_WIDTH - 1);
    let length = scale(span.duration_ns()).clamp(1, BAR_WIDTH - offset);
    format!(
        "{}{}{}",
        " ".repeat(offset),
        "█".repeat(length),
        " ".repeat(BAR_WIDTH - offset - length)
    )
}

/// Box-drawing prefixes (`├─ `, `│  └─ `) for spans in tree order: a span
/// is the last child when no later sibling follows before the depth drops.
fn tree_prefixes(spans: &[SpanView]) -> Vec<String> {
    let is_last = |i: usize| {
        let depth = spans[i].depth;
        spans[i + 1..]
            .iter()
            .take_while(|s| s.depth >= depth)
            .all(|s| s.depth > depth)
    };
    let mut open: Vec<bool> = Vec::new(); // per ancestor depth: more siblings follow
    let mut prefixes = Vec::with_capacity(spans.len());
    for (i, span) in spans.iter().enumerate() {
        if span.depth == 0 {
            open.clear();
            prefixes.push(String::new());
            continue;
        }
        open.truncate(span.depth - 1);
        let mut prefix: String = open
            .iter()
            .map(|&more| if more { "│  " } else { "   " })
            .collect();
        let last = is_last(i);
        prefix.push_str(if last { "└─ " } else { "├─ " });
        open.push(!last);
        prefixes.push(prefix);
    }
    prefixes
}

fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

fn clip(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        text.to_owned()
    } else {
        let mut clipped: String = text.chars().take(width.saturating_sub(1)).collect();
        clipped.push('…');
        clipped
    }
}

/// What `otelops receive` prints on exit.
pub fn summary_table(summary: &Summary) -> String {
    let services = if summary.services.is_empty() {
        "-".to_owned()
    } else {
        summary.services.join(", ")
    };
    let rows = [
        ("services", services),
        ("traces", summary.traces.to_string()),
        ("spans", summary.spans.to_string()),
        ("errors", summary.errors.to_string()),
        ("evicted", summary.evicted.to_string()),
        ("rejected", summary.rejected.to_string()),
        ("refused", summary.refused.to_string()),
        ("metric points", summary.metric_points.to_string()),
        ("log records", summary.log_records.to_string()),
    ];
    let mut out = String::from("summary\n");
    for (name, value) in rows {
        let _ = writeln!(out, "  {name:<14} {value}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_lines_up_its_values_and_marks_no_services() {
        let empty = summary_table(&Summary::default());
        assert!(
            empty.starts_with("summary\n  services       -\n"),
            "{empty}"
        );
        let summary = Summary {
            services: vec!["parker-booking".into(), "parker-fares".into()],
            spans: 12,
            metric_points: 3,
            ..Summary::default()
        };
        let table = summary_table(&summary);
        assert!(
            table.contains("  services       parker-booking, parker-fares\n")
                && table.contains("  spans          12\n")
                && table.ends_with("  metric points  3\n  log records    0\n"),
            "{table}"
        );
    }
}
