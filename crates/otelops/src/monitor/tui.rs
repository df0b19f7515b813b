//! The live terminal view of `monitor watch`: the guide's three panels —
//! Queue Health (a gauge per exporter queue), Performance (sparklines of
//! throughput, refusals and export latency) and Resource Usage (memory gauge,
//! CPU sparkline). `draw` is pure, so it is tested on ratatui's TestBackend.

use std::time::Duration;

use ratatui::crossterm::event::{self, Event, KeyCode, KeyModifiers};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Gauge, Paragraph, Sparkline};
use ratatui::{DefaultTerminal, Frame};

use super::MonitorError;
use super::evaluate::{Report, Status};
use super::history::Record;
use super::watch::{Round, View};

fn color(s: Status) -> Color {
    match s {
        Status::Ok => Color::Green,
        Status::Warn => Color::Yellow,
        Status::Crit => Color::Red,
    }
}

/// Sum of every history value whose key ends with `suffix`, per record.
fn series(recent: &[Record], suffix: &str, combine: fn(f64, f64) -> f64) -> Vec<u64> {
    recent
        .iter()
        .map(|r| {
            let v = r
                .values
                .iter()
                .filter(|(k, _)| k.ends_with(suffix))
                .map(|(_, v)| *v)
                .fold(0.0, combine);
            // Sparklines take integers; hundredths keep percent detail.
            (v * 100.0).max(0.0).round() as u64
        })
        .collect()
}

pub fn draw(
    frame: &mut Frame,
    ts_ms: u64,
    report: &Report,
    recent: &[Record],
    last_error: Option<&str>,
) {
    // The queue panel is as tall as its gauges; with no queue it is one
    // line, and the space goes to the panels that have data.
    let queue_rows = report
        .exporters
        .iter()
        .filter(|e| e.queue_utilisation_pct.is_some())
        .count() as u16;
    let [header, queues, perf, resources] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Length(queue_rows.max(1) + 2),
        Constraint::Min(12),
        Constraint::Length(7),
    ])
    .areas(frame.area());
    let when =
        humantime::format_rfc3339_seconds(std::time::UNIX_EPOCH + Duration::from_millis(ts_ms));
    let mut head = vec![Line::styled(
        format!(
            "otelops monitor — {}  at {when}   (q to quit)",
            report.status
        ),
        Style::new().fg(color(report.status)),
    )];
    if let Some(e) = last_error {
        head.push(Line::styled(
            format!("last scrape failed: {e}"),
            Style::new().fg(Color::Red),
        ));
    }
    frame.render_widget(Paragraph::new(head), header);
    draw_queues(frame, queues, report);
    draw_performance(frame, perf, report, recent);
    draw_resources(frame, resources, report, recent);
}

fn draw_queues(frame: &mut Frame, area: Rect, report: &Report) {
    let block = Block::bordered().title("Queue Health");
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let rows: Vec<_> = report
        .exporters
        .iter()
        .filter(|e| e.queue_utilisation_pct.is_some())
        .collect();
    if rows.is_empty() {
        let ids: Vec<&str> = report
            .exporters
            .iter()
            .map(|e| e.exporter.as_str())
            .collect();
        let text = if ids.is_empty() {
            "no exporter on the page".to_string()
        } else {
            let mut ids = ids;
            ids.dedup();
            format!("no sending queue ({})", ids.join(", "))
        };
        frame.render_widget(Paragraph::new(text), inner);
        return;
    }
    let areas = Layout::vertical(rows.iter().map(|_| Constraint::Length(1))).split(inner);
    for (e, a) in rows.iter().zip(areas.iter()) {
        let pct = e.queue_utilisation_pct.unwrap_or(0.0);
        let name = if e.data_type.is_empty() {
            e.exporter.clone()
        } else {
            format!("{}/{}", e.exporter, e.data_type)
        };
        let gauge = Gauge::default()
            .gauge_style(Style::new().fg(color(e.status)))
            .ratio((pct / 100.0).clamp(0.0, 1.0))
            .label(format!(
                "{name}: {pct:.1}% ({:.0}/{:.0})",
                e.queue_size.unwrap_or(0.0),
                e.queue_capacity.unwrap_or(0.0)
            ));
        frame.render_widget(gauge, *a);
    }
}

fn draw_performance(frame: &mut Frame, area: Rect, report: &Report, recent: &[Record]) {
    let [a, b, c] = Layout::vertical([Constraint::Length(4); 3]).areas(area);
    let accepted = series(recent, "accepted_per_sec", |x, y| x + y);
    let last_accepted = accepted.last().map_or(0.0, |v| *v as f64 / 100.0);
    frame.render_widget(
        Sparkline::default()
            .block(Block::bordered().title(format!("Performance — accepted/s {last_accepted:.1}")))
            .data(&accepted),
        a,
    );
    let refused = series(recent, "refused_pct", f64::max);
    let worst_refused = report
        .receivers
        .iter()
        .filter_map(|r| r.refused_pct)
        .fold(0.0, f64::max);
    frame.render_widget(
        Sparkline::default()
            .block(Block::bordered().title(format!("refused % (max) {worst_refused:.2}")))
            .style(Style::new().fg(Color::Yellow))
            .data(&refused),
        b,
    );
    let l = &report.export_latency;
    let errors = match l.error_pct {
        Some(e) if e > 0.0 => format!(", errors {e:.1}% of calls"),
        _ => String::new(),
    };
    let title = match (l.p99_ms, &l.absent) {
        (Some(v), _) => format!("export latency p99 {v:.0} ms (successful calls){errors}"),
        (None, Some(why)) => why.clone(),
        (None, None) if l.failed_calls > 0.0 => {
            format!("export latency: no call succeeded{errors}")
        }
        (None, None) => "export latency: no calls yet".to_string(),
    };
    let latency = series(recent, "latency_p99_ms", f64::max);
    frame.render_widget(
        Sparkline::default()
            .block(Block::bordered().title(title))
            .data(&latency),
        c,
    );
}

fn draw_resources(frame: &mut Frame, area: Rect, report: &Report, recent: &[Record]) {
    let [mem, cpu] = Layout::horizontal([Constraint::Percentage(50); 2]).areas(area);
    let r = &report.resources;
    let label = match (r.rss_mib, r.memory_limit_mib) {
        (Some(rss), Some(limit)) => format!("RSS {rss:.0} / {limit:.0} MiB"),
        (Some(rss), None) => format!("RSS {rss:.0} MiB (limit unknown)"),
        _ => "RSS not exposed".to_string(),
    };
    frame.render_widget(
        Gauge::default()
            .block(Block::bordered().title("Resource Usage — memory"))
            .gauge_style(Style::new().fg(color(r.status)))
            .ratio((r.memory_pct.unwrap_or(0.0) / 100.0).clamp(0.0, 1.0))
            .label(label),
        mem,
    );
    let cpu_series = series(recent, "cpu_pct", f64::max);
    let cpu_title = r
        .cpu_pct
        .map_or("CPU % (needs two scrapes)".to_string(), |c| {
            format!("CPU {c:.1}%")
        });
    frame.render_widget(
        Sparkline::default()
            .block(Block::bordered().title(cpu_title))
            .data(&cpu_series),
        cpu,
    );
}

/// The live view; restores the terminal when dropped.
pub struct TuiView {
    terminal: DefaultTerminal,
    last: Option<(u64, Report, Vec<Record>)>,
}

impl TuiView {
    /// Enter raw mode and the alternate screen (left again on drop).
    pub fn start() -> std::io::Result<TuiView> {
        Ok(TuiView {
            terminal: ratatui::try_init()?,
            last: None,
        })
    }
}

impl Drop for TuiView {
    fn drop(&mut self) {
        ratatui::restore();
    }
}

impl View for TuiView {
    fn show(&mut self, ts_ms: u64, round: Round<'_>) -> anyhow::Result<bool> {
        let error = match round {
            Round::Judged { report, recent } => {
                self.last = Some((ts_ms, report.clone(), recent.to_vec()));
                None
            }
            Round::Failed { error } => Some(error_text(error)),
        };
        if let Some((ts, report, recent)) = &self.last {
            self.terminal
                .draw(|f| draw(f, *ts, report, recent, error.as_deref()))?;
        } else if let Some(e) = &error {
            self.terminal.draw(|f| {
                f.render_widget(Paragraph::new(format!("scrape failed: {e}")), f.area())
            })?;
        }
        Ok(true)
    }

    async fn wait(&mut self, d: Duration) -> anyhow::Result<bool> {
        let deadline = std::time::Instant::now() + d;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return Ok(true);
            }
            if event::poll(left.min(Duration::from_millis(200)))?
                && let Event::Key(k) = event::read()?
            {
                let ctrl_c =
                    k.code == KeyCode::Char('c') && k.modifiers.contains(KeyModifiers::CONTROL);
                if k.code == KeyCode::Char('q') || k.code == KeyCode::Esc || ctrl_c {
                    return Ok(false);
                }
            }
        }
    }
}

fn error_text(e: &MonitorError) -> String {
    e.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::evaluate::{Inputs, Thresholds, evaluate};
    use crate::monitor::snapshot;
    use ratatui::{Terminal, backend::TestBackend};

    /// One page judged, as `watch` judges each round.
    fn judged(page: &str, memory_limit_mib: Option<f64>) -> Report {
        let snap = snapshot(&crate::prom::parse(page).unwrap());
        evaluate(
            &Inputs {
                current: &snap,
                previous: None,
                memory_limit_mib,
            },
            &Thresholds::GUIDE,
        )
    }

    #[test]
    fn panels_show_queue_gauge_and_memory() {
        let report = judged(
            "otelcol_exporter_queue_size{exporter=\"otlp\",data_type=\"traces\"} 850\n\
             otelcol_exporter_queue_capacity{exporter=\"otlp\",data_type=\"traces\"} 1000\n\
             otelcol_process_memory_rss 104857600\n",
            Some(400.0),
        );
        let mut term = Terminal::new(TestBackend::new(100, 30)).unwrap();
        term.draw(|f| draw(f, 0, &report, &[], None)).unwrap();
        let text: String = term
            .backend()
            .buffer()
            .content()
            .iter()
            .map(|c| c.symbol())
            .collect();
        assert!(text.contains("Queue Health"));
        assert!(text.contains("otlp/traces: 85.0% (850/1000)"), "{text}");
        assert!(text.contains("RSS 100 / 400 MiB"));
        assert!(text.contains("export latency not exposed"));
        assert!(text.contains("WARN"));
    }

    #[test]
    fn a_debug_only_collector_gets_no_empty_queue_panel_and_no_false_hint() {
        let report = judged(
            "otelcol_exporter_sent_spans{exporter=\"debug\"} 5\n\
             otelcol_receiver_accepted_spans{receiver=\"otlp\",transport=\"http\"} 5\n",
            None,
        );
        let mut term = Terminal::new(TestBackend::new(100, 30)).unwrap();
        term.draw(|f| draw(f, 0, &report, &[], None)).unwrap();
        let buf = term.backend().buffer().clone();
        let rows: Vec<String> = (0..30)
            .map(|y| (0..100).map(|x| buf[(x, y)].symbol()).collect())
            .collect();
        let text = rows.join("\n");
        assert!(text.contains("no sending queue (debug)"), "{text}");
        assert!(
            text.contains("no exporter makes network calls (debug)"),
            "{text}"
        );
        assert!(!text.contains("level: detailed"), "{text}");
        // Queue Health takes three lines (border, one line, border); the
        // Performance panels start right after it.
        let queue = rows
            .iter()
            .position(|r| r.contains("Queue Health"))
            .unwrap();
        let perf = rows.iter().position(|r| r.contains("Performance")).unwrap();
        assert_eq!(perf - queue, 3, "{text}");
    }
}
