//! `--html FILE`: one self-contained page (inline CSS and SVG; no script,
//! no network, no external asset) with the findings and a plot per trend.
//!
//! The SVG is written by hand: a plot here is a polyline with its points,
//! two axes and a few labels, which a plotting crate would not make
//! simpler, and its output would need the same escaping review.
//! Every text from the report is escaped; the report holds no secrets
//! (token values never enter evidence).

use std::fmt::Write;

use super::render::timestamp;
use super::{Report, Scale, Series, Status};

const WIDTH: f64 = 560.0;
const HEIGHT: f64 = 220.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 40.0;
const COLOURS: [&str; 6] = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
];

/// Escapes text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn status_class(s: Status) -> &'static str {
    match s {
        Status::Skipped => "skipped",
        Status::Ok => "ok",
        Status::Unknown => "unknown",
        Status::Warn => "warn",
        Status::Crit => "crit",
    }
}

pub fn page(report: &Report) -> String {
    let title = format!(
        "otelops maintain {}: {} ({})",
        report.schedule.name(),
        report.status.label(),
        timestamp(report.at_ms)
    );
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>{}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 24px; color: #222; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ border-bottom: 1px solid #ddd; padding: 6px 8px; text-align: left; vertical-align: top; }}
.status {{ font-weight: bold; white-space: nowrap; }}
.ok {{ color: #1a7f37; }} .warn {{ color: #9a6700; }} .crit {{ color: #cf222e; }}
.unknown {{ color: #6e40c9; }} .skipped {{ color: #777; }}
ul {{ margin: 0; padding-left: 18px; }}
.plots {{ display: flex; flex-wrap: wrap; gap: 16px; }}
figure {{ margin: 0; }} figcaption {{ font-weight: bold; }}
svg text {{ font-size: 11px; fill: #444; }}
</style></head><body>
<h1 class="{}">{}</h1>
"#,
        escape(&title),
        status_class(report.status),
        escape(&title)
    );
    out.push_str("<table id=\"findings\"><thead><tr><th>Status</th><th>Task</th><th>Evidence</th><th>Action</th></tr></thead><tbody>\n");
    for c in &report.checks {
        let _ = writeln!(
            out,
            "<tr data-check=\"{}\"><td class=\"status {}\">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&c.id),
            status_class(c.status),
            c.status.label(),
            escape(&c.task),
            list(&c.evidence),
            list(&c.action)
        );
    }
    out.push_str("</tbody></table>\n");
    if !report.changes.is_empty() {
        let _ = write!(
            out,
            "<h2>Changes since the last run</h2>\n<div id=\"changes\">{}</div>\n",
            list(&report.changes)
        );
    }
    if !report.series.is_empty() {
        out.push_str("<h2>Trends (monitor history)</h2>\n<div class=\"plots\">\n");
        for s in &report.series {
            out.push_str(&plot(s));
        }
        out.push_str("</div>\n");
    }
    out.push_str("</body></html>\n");
    out
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        return String::new();
    }
    let mut out = String::from("<ul>");
    for i in items {
        let _ = write!(out, "<li>{}</li>", escape(i));
    }
    out.push_str("</ul>");
    out
}

/// One plot: a polyline and a circle per point for each line, axes with
/// the value range and the time span, a legend.
fn plot(s: &Series) -> String {
    let (pw, ph) = (WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM);
    let scale = Scale::new(s, None, (LEFT, TOP, pw, ph));
    let (t0, t1, vmax) = (scale.t0, scale.t1, scale.vmax);
    let (x, y) = (|t| scale.x(t), |v| scale.y(v));
    let mut out = String::new();
    let _ = write!(
        out,
        "<figure class=\"plot\" data-title=\"{t}\"><figcaption>{t} ({u})</figcaption>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{h}\" viewBox=\"0 0 {WIDTH} {h}\" role=\"img\" aria-label=\"{t}\">\n",
        t = escape(&s.title),
        u = escape(&s.unit),
        h = HEIGHT + 18.0 * s.lines.len() as f64,
    );
    let _ = write!(
        out,
        "<line x1=\"{LEFT}\" y1=\"{TOP}\" x2=\"{LEFT}\" y2=\"{b}\" stroke=\"#888\"/><line x1=\"{LEFT}\" y1=\"{b}\" x2=\"{r}\" y2=\"{b}\" stroke=\"#888\"/>\n<text x=\"{lx}\" y=\"{ty}\" text-anchor=\"end\">{vmax:.1}</text><text x=\"{lx}\" y=\"{b}\" text-anchor=\"end\">0</text>\n",
        b = TOP + ph,
        r = LEFT + pw,
        lx = LEFT - 4.0,
        ty = TOP + 8.0,
    );
    if s.lines.iter().all(|l| l.points.is_empty()) {
        let _ = writeln!(
            out,
            "<text class=\"no-data\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">no data in the history</text>",
            LEFT + pw / 2.0,
            TOP + ph / 2.0
        );
    } else {
        let _ = writeln!(
            out,
            "<text x=\"{LEFT}\" y=\"{ty}\">{}</text><text x=\"{r}\" y=\"{ty}\" text-anchor=\"end\">{}</text>",
            escape(&timestamp(t0)),
            escape(&timestamp(t1)),
            r = LEFT + pw,
            ty = TOP + ph + 14.0,
        );
    }
    for (i, line) in s.lines.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let coords: Vec<String> = line
            .points
            .iter()
            .map(|(t, v)| format!("{:.1},{:.1}", x(*t), y(*v)))
            .collect();
        let _ = writeln!(
            out,
            "<polyline class=\"series\" data-label=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"1.5\" points=\"{}\"/>",
            escape(&line.label),
            coords.join(" ")
        );
        for (t, v) in &line.points {
            let _ = write!(
                out,
                "<circle class=\"point\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"2.5\" fill=\"{colour}\"><title>{} {v:.2}</title></circle>",
                x(*t),
                y(*v),
                escape(&timestamp(*t))
            );
        }
        let ly = HEIGHT + 18.0 * i as f64 + 4.0;
        let _ = write!(
            out,
            "\n<rect x=\"{LEFT}\" y=\"{}\" width=\"10\" height=\"10\" fill=\"{colour}\"/><text x=\"{}\" y=\"{}\">{}</text>\n",
            ly - 9.0,
            LEFT + 14.0,
            ly,
            escape(&line.label)
        );
    }
    out.push_str("</svg></figure>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            escape("<script>\"a\" & 'b'"),
            "&lt;script&gt;&quot;a&quot; &amp; &#39;b&#39;"
        );
    }
}
