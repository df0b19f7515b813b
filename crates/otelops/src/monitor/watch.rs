//! `monitor watch`: scrape every interval, judge against the previous scrape,
//! append to the history, POST alerts on state changes, and show the result
//! (a line per round, JSON lines, or the live terminal view).

use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::evaluate::{Inputs, Report, Status, Thresholds, evaluate};
use super::history::{History, Record};
use super::webhook::{self, State};
use super::{MonitorError, Snapshot, scrape, snapshot};
use crate::http_client::{HttpClient, Url};

pub struct WatchOptions {
    pub url: Url,
    /// Scrapes the page and posts the webhook (its timeout bounds both).
    pub client: HttpClient,
    pub interval: Duration,
    /// Rounds to run; None runs until interrupted.
    pub count: Option<u64>,
    pub thresholds: Thresholds,
    pub memory_limit_mib: Option<f64>,
    pub history: PathBuf,
    pub webhook: Option<Url>,
}

/// What one round produced, handed to the view.
pub enum Round<'a> {
    Judged {
        report: &'a Report,
        recent: &'a [Record],
    },
    Failed {
        error: &'a MonitorError,
    },
}

/// Where rounds are shown. Returns false to stop (the user quit).
pub trait View {
    fn show(&mut self, ts_ms: u64, round: Round<'_>) -> anyhow::Result<bool>;
    /// Wait for the next round; a view may end the wait early (quit key).
    fn wait(&mut self, d: Duration) -> impl std::future::Future<Output = anyhow::Result<bool>>;
}

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// How a watch ended: the last round's status, or None when it failed.
pub async fn run(opts: &WatchOptions, view: &mut impl View) -> anyhow::Result<Option<Status>> {
    let history = History::open(&opts.history)?;
    let mut previous: Option<(Snapshot, Instant)> = None;
    let mut state = State::new();
    let mut last_status = Status::Ok;
    let mut recent: Vec<Record> = Vec::new();
    let mut round = 0u64;
    let mut outcome;
    loop {
        round += 1;
        let ts = now_ms();
        let started = Instant::now();
        match scrape(&opts.client, &opts.url).await {
            Ok(page) => {
                let snap = snapshot(&page);
                let inputs = Inputs {
                    current: &snap,
                    previous: previous
                        .as_ref()
                        .map(|(s, at)| (s, started.duration_since(*at).as_secs_f64())),
                    memory_limit_mib: opts.memory_limit_mib,
                };
                let report = evaluate(&inputs, &opts.thresholds);
                let record = Record::from_report(ts, &report);
                history.append(&record)?;
                recent.push(record);
                if recent.len() > 120 {
                    recent.remove(0);
                }
                let alert = webhook::changes(&state, last_status, &report, ts);
                if let (Some(alert), Some(url)) = (alert, &opts.webhook)
                    && let Err(e) = webhook::post(&opts.client, url, &alert).await
                {
                    eprintln!("otelops: webhook failed: {e}");
                }
                state = webhook::state_of(&report);
                last_status = report.status;
                outcome = Some(report.status);
                if !view.show(
                    ts,
                    Round::Judged {
                        report: &report,
                        recent: &recent,
                    },
                )? {
                    break;
                }
                previous = Some((snap, started));
            }
            Err(error) => {
                // A restarting collector must not end the watch: report and go on.
                outcome = None;
                if !view.show(ts, Round::Failed { error: &error })? {
                    break;
                }
            }
        }
        if opts.count.is_some_and(|c| round >= c) {
            break;
        }
        if !view
            .wait(opts.interval.saturating_sub(started.elapsed()))
            .await?
        {
            break;
        }
    }
    Ok(outcome)
}
