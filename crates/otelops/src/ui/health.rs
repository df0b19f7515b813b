//! Collector health (`/ui/health`, with `receive --ui --metrics-url URL`):
//! the collector's metrics page is scraped every interval, judged by
//! `monitor`'s snapshot and evaluate (rates between two scrapes), and kept
//! as `monitor` history records in memory; the page plots them as
//! `maintain weekly` does (queue %, refused %, send-failed %, memory vs
//! limit, throughput) with the guide's WARN and CRIT lines drawn on.

use std::collections::VecDeque;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};

use super::{Nav, clock, layout, page_response};
use crate::http_client::{HttpClient, Url};
use crate::maintain::weekly::series;
use crate::maintain::{Scale, Series, unix_ms};
use crate::monitor::evaluate::{Inputs, Status, Thresholds, evaluate};
use crate::monitor::history::Record;
use crate::monitor::{scrape, snapshot::snapshot};
use crate::receive::Shared;

/// Records kept: an hour at the default interval.
const KEEP: usize = 720;
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);
const WIDTH: f64 = 560.0;
const HEIGHT: f64 = 200.0;
const LEFT: f64 = 48.0;
const PAD: f64 = 14.0;

/// What the scraper learned so far.
#[derive(Debug)]
pub struct Health {
    pub url: Url,
    pub interval: Duration,
    /// What RSS is judged against, when the receiver was told.
    pub memory_limit_mib: Option<f64>,
    records: Mutex<VecDeque<Record>>,
    /// The last scrape's error, cleared by a good scrape.
    last_error: Mutex<Option<String>>,
}

impl Health {
    pub fn new(url: Url, interval: Duration, memory_limit_mib: Option<f64>) -> Arc<Health> {
        Arc::new(Health {
            url,
            interval,
            memory_limit_mib,
            records: Mutex::new(VecDeque::new()),
            last_error: Mutex::new(None),
        })
    }

    fn records(&self) -> Vec<Record> {
        self.records
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .cloned()
            .collect()
    }
}

/// Scrapes until `stop`; loopback URLs only (the receiver's client).
pub async fn watch(health: Arc<Health>, stop: impl Future<Output = ()>) {
    let client = HttpClient::loopback(health.interval.max(Duration::from_secs(2)));
    let mut previous = None;
    let mut ticks = tokio::time::interval(health.interval);
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = &mut stop => return,
            _ = ticks.tick() => {}
        }
        match scrape(&client, &health.url).await {
            Ok(page) => {
                let current = snapshot(&page);
                let now = Instant::now();
                let report = evaluate(
                    &Inputs {
                        current: &current,
                        previous: previous.as_ref().map(|(snap, at): &(_, Instant)| {
                            (snap, now.duration_since(*at).as_secs_f64())
                        }),
                        memory_limit_mib: health.memory_limit_mib,
                    },
                    &Thresholds::GUIDE,
                );
                let record = Record::from_report(unix_ms(std::time::SystemTime::now()), &report);
                let mut records = health.records.lock().unwrap_or_else(|p| p.into_inner());
                if records.len() == KEEP {
                    records.pop_front();
                }
                records.push_back(record);
                drop(records);
                *health.last_error.lock().unwrap_or_else(|p| p.into_inner()) = None;
                previous = Some((current, now));
            }
            Err(err) => {
                *health.last_error.lock().unwrap_or_else(|p| p.into_inner()) =
                    Some(err.to_string());
            }
        }
    }
}

/// The WARN and CRIT lines of a plot, by its title (as `weekly::series`
/// names them); memory's are the guide's percentages of the limit, in MiB,
/// when the limit is known.
fn limits(title: &str, t: &Thresholds, memory_limit_mib: Option<f64>) -> Option<(f64, f64)> {
    match title {
        "Queue utilisation" => Some((t.queue_warn_pct, t.queue_crit_pct)),
        "Refused" => Some((t.refused_warn_pct, t.refused_crit_pct)),
        "Send failed" => Some((t.send_failed_warn_pct, t.send_failed_crit_pct)),
        "Memory vs limit" => memory_limit_mib.map(|mib| {
            (
                mib * t.memory_warn_pct / 100.0,
                mib * t.memory_crit_pct / 100.0,
            )
        }),
        _ => None,
    }
}

pub(crate) async fn page(State(shared): State<Arc<Shared>>) -> Response {
    let Some(health) = &shared.health else {
        let body = html! {
            h1 { "Collector health" }
            p { "Start the receiver with " code { "--metrics-url URL" } " (the collector's metrics page, e.g. http://127.0.0.1:8888/metrics) to see it here." }
        };
        return page_response(
            StatusCode::OK,
            layout("Collector health", Nav::Health, body),
        );
    };
    let records = health.records();
    let error = health
        .last_error
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    let status = records.last().map(|r| r.status);
    let body = html! {
        h1 { "Collector health" }
        p { "Scraping " code { (health.url.as_str()) } " every " (humantime::format_duration(health.interval)) "; "
            (records.len()) " scrape" @if records.len() != 1 { "s" } " kept"
            @if let Some(last) = records.last() { ", last at " (clock(last.ts_ms * 1_000_000)) } "." }
        @if let Some(status) = status {
            p #status class=(status_class(status)) { "Now: " (status) }
        }
        @if let Some(error) = error {
            p.problem role="alert" { "Last scrape failed: " (error) }
        }
        p.hint { "Dashed lines: the guide's WARN (amber) and CRIT (red) thresholds"
            @if health.memory_limit_mib.is_none() { " (memory's need the limit: start the receiver with " code { "--container-memory-mib" } " or " code { "--config" } ")" }
            "." }
        div.plots {
            @for s in series(&records) {
                (plot(&s, limits(&s.title, &Thresholds::GUIDE, health.memory_limit_mib)))
            }
        }
    };
    page_response(
        StatusCode::OK,
        layout("Collector health", Nav::Health, body),
    )
}

fn status_class(status: Status) -> &'static str {
    match status {
        Status::Ok => "ok",
        Status::Warn => "warn",
        Status::Crit => "error",
    }
}

/// One plot: a line per component, the thresholds as dashed lines; the
/// value axis reaches the CRIT line so it is always in view.
fn plot(s: &Series, limits: Option<(f64, f64)>) -> Markup {
    let (w, h) = (WIDTH - LEFT - PAD, HEIGHT - 2.0 * PAD);
    let scale = Scale::new(s, limits.map(|l| l.1), (LEFT, PAD, w, h));
    let top = scale.vmax;
    let (x, y) = (|t| scale.x(t), |v| scale.y(v));
    html! {
        figure.plot data-title=(s.title) {
            figcaption { (s.title) " (" (s.unit) ")" }
            svg.chart xmlns="http://www.w3.org/2000/svg" viewBox={ "0 0 " (WIDTH) " " (HEIGHT) } role="img" aria-label=(s.title) {
                line.axis x1=(LEFT) y1=(PAD) x2=(LEFT) y2=(PAD + h) {}
                line.axis x1=(LEFT) y1=(PAD + h) x2=(LEFT + w) y2=(PAD + h) {}
                text x=(LEFT - 4.0) y=(PAD + 8.0) text-anchor="end" { (format!("{top:.1}")) }
                text x=(LEFT - 4.0) y=(PAD + h) text-anchor="end" { "0" }
                @if let Some((warn, crit)) = limits {
                    line.limit.warn data-value=(warn) x1=(LEFT) x2=(LEFT + w) y1=(format!("{:.1}", y(warn))) y2=(format!("{:.1}", y(warn))) {}
                    line.limit.crit data-value=(crit) x1=(LEFT) x2=(LEFT + w) y1=(format!("{:.1}", y(crit))) y2=(format!("{:.1}", y(crit))) {}
                }
                @if s.lines.iter().all(|l| l.points.is_empty()) {
                    text.no-data x=(LEFT + w / 2.0) y=(PAD + h / 2.0) text-anchor="middle" { "no data yet" }
                }
                @for (i, line) in s.lines.iter().enumerate() {
                    polyline class={ "series svc-" (i % 6) } data-label=(line.label)
                        points=(line.points.iter().map(|(t, v)| format!("{:.1},{:.1}", x(*t), y(*v))).collect::<Vec<_>>().join(" ")) {}
                }
            }
            ul.legend {
                @for (i, line) in s.lines.iter().enumerate() {
                    li class={ "svc-" (i % 6) } { (line.label) }
                }
            }
        }
    }
}
