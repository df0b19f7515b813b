//! How far a run is, on stderr (stdout keeps the result, so `--output json`
//! stays parseable): a bar redrawn in place when stderr is a terminal, a
//! plain line a second otherwise (CI logs, pipes). A hand-drawn bar rather
//! than indicatif: one line of `\r` output needs no dependency.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::Shared;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// A bar redrawn in place.
    Bar,
    /// One line per second.
    Lines,
    None,
}

impl Style {
    /// A bar on a terminal, lines otherwise.
    pub fn for_stderr() -> Style {
        use std::io::IsTerminal;
        if std::io::stderr().is_terminal() {
            Style::Bar
        } else {
            Style::Lines
        }
    }
}

pub struct Progress {
    task: Option<(oneshot::Sender<()>, JoinHandle<()>)>,
}

impl Progress {
    pub fn start(style: Style, shared: Arc<Shared>, requests: u64, duration: Duration) -> Progress {
        let every = match style {
            Style::Bar => Duration::from_millis(200),
            Style::Lines => Duration::from_secs(1),
            Style::None => return Progress { task: None },
        };
        let (stop, mut stopped) = oneshot::channel();
        let started = Instant::now();
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.tick().await;
            loop {
                let last = tokio::select! {
                    _ = tick.tick() => false,
                    _ = &mut stopped => true,
                };
                let line = line(&shared, requests, duration, started.elapsed());
                let mut err = std::io::stderr().lock();
                // Progress is best effort: a closed stderr must not end the run.
                let _ = match (style, last) {
                    (Style::Bar, false) => write!(err, "\r{line}\x1b[K"),
                    (Style::Bar, true) => writeln!(err, "\r{line}\x1b[K"),
                    (_, false) => writeln!(err, "{line}"),
                    (_, true) => Ok(()),
                };
                if last {
                    return;
                }
            }
        });
        Progress {
            task: Some((stop, task)),
        }
    }

    /// Draws the last state (a bar ends its line) and stops.
    pub async fn finish(self) {
        if let Some((stop, task)) = self.task {
            let _ = stop.send(());
            let _ = task.await;
        }
    }
}

/// `[#####-----] 523/1000 requests  2.1s  12345 spans accepted`; the bar
/// fills by requests or by time, whichever bound is nearer.
pub fn line(shared: &Shared, requests: u64, duration: Duration, elapsed: Duration) -> String {
    const WIDTH: usize = 24;
    let done = shared.done.load(Ordering::Relaxed);
    let by_count = done as f64 / requests as f64;
    let by_time = elapsed.as_secs_f64() / duration.as_secs_f64();
    let fraction = by_count.max(by_time).clamp(0.0, 1.0);
    let filled = (fraction * WIDTH as f64).round() as usize;
    let count = if requests == super::MAX_REQUESTS {
        format!("{done} requests")
    } else {
        format!("{done}/{requests} requests")
    };
    format!(
        "[{}{}] {count}  {:.1}s  {} spans accepted",
        "#".repeat(filled),
        "-".repeat(WIDTH - filled),
        elapsed.as_secs_f64(),
        shared.spans_accepted.load(Ordering::Relaxed),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bar_fills_by_the_nearer_bound() {
        let shared = Shared::default();
        shared.done.store(250, Ordering::Relaxed);
        shared.spans_accepted.store(2000, Ordering::Relaxed);
        let l = line(
            &shared,
            1000,
            Duration::from_secs(60),
            Duration::from_secs(3),
        );
        assert_eq!(
            l,
            "[######------------------] 250/1000 requests  3.0s  2000 spans accepted"
        );
        let l = line(
            &shared,
            super::super::MAX_REQUESTS,
            Duration::from_secs(4),
            Duration::from_secs(3),
        );
        assert!(
            l.starts_with("[##################------] 250 requests"),
            "{l}"
        );
    }
}
