//! The resource monitor: scrape a collector's internal metrics (or read saved
//! pages), turn them into [`Snapshot`]s, judge them ([`evaluate`]), keep a
//! history for trends, and alert on changes.
//!
//! Start at [`report`] (one judgement from one or two pages) and
//! [`watch::run`] (the loop).

pub mod evaluate;
pub mod history;
pub mod memory_limit;
pub mod render;
pub mod snapshot;
pub mod tail_sampling;
pub mod trends;
pub mod tui;
pub mod watch;
pub mod webhook;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub use evaluate::{Report, Status, Thresholds, evaluate};
pub use snapshot::{Snapshot, snapshot};

use crate::http_client::{HttpClient, HttpError, Url};
use crate::prom::{self, Page, ParseError};

#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
    #[error(transparent)]
    Http(#[from] HttpError),
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{origin}:{source}")]
    Parse { origin: String, source: ParseError },
    #[error("history {path}: {reason}")]
    History { path: PathBuf, reason: String },
    #[error("{0}")]
    Input(String),
}

/// Where pages come from.
#[derive(Debug, Clone)]
pub enum Source {
    Url { url: Url, client: HttpClient },
    Files(Vec<PathBuf>),
}

pub fn read_page(path: &Path) -> Result<Page, MonitorError> {
    let text = std::fs::read_to_string(path).map_err(|source| MonitorError::Read {
        path: path.into(),
        source,
    })?;
    prom::parse(&text).map_err(|source| MonitorError::Parse {
        origin: path.display().to_string(),
        source,
    })
}

pub async fn scrape(client: &HttpClient, url: &Url) -> Result<Page, MonitorError> {
    let (text, _) = client.get_text(url).await?;
    prom::parse(&text).map_err(|source| MonitorError::Parse {
        origin: url.to_string(),
        source,
    })
}

/// Seconds between two saved pages: the collector's own uptime difference
/// when both pages carry it, else the given window.
pub fn file_window(a: &Snapshot, b: &Snapshot, fallback: Duration) -> f64 {
    match (a.process.uptime_seconds, b.process.uptime_seconds) {
        (Some(x), Some(y)) if y > x => y - x,
        _ => fallback.as_secs_f64(),
    }
}

/// What `monitor report` needs besides the source.
#[derive(Debug, Clone)]
pub struct ReportOptions {
    pub window: Duration,
    pub thresholds: Thresholds,
    pub memory_limit_mib: Option<f64>,
}

/// One report: two scrapes `window` apart (one if the window is zero), or one
/// or two saved pages.
pub async fn report(source: &Source, opts: &ReportOptions) -> Result<Report, MonitorError> {
    let (first, second) = match source {
        Source::Files(paths) => match paths.as_slice() {
            [one] => (None, snapshot(&read_page(one)?)),
            [a, b] => {
                let (a, b) = (snapshot(&read_page(a)?), snapshot(&read_page(b)?));
                let dt = file_window(&a, &b, opts.window);
                (Some((a, dt)), b)
            }
            _ => {
                return Err(MonitorError::Input(
                    "--from-file takes one page, or two for rates".into(),
                ));
            }
        },
        Source::Url { url, client } => {
            let started = Instant::now();
            let a = snapshot(&scrape(client, url).await?);
            if opts.window.is_zero() {
                (None, a)
            } else {
                tokio::time::sleep(opts.window).await;
                let b = snapshot(&scrape(client, url).await?);
                (Some((a, started.elapsed().as_secs_f64())), b)
            }
        }
    };
    let inputs = evaluate::Inputs {
        current: &second,
        previous: first.as_ref().map(|(s, dt)| (s, *dt)),
        memory_limit_mib: opts.memory_limit_mib,
    };
    Ok(evaluate(&inputs, &opts.thresholds))
}
