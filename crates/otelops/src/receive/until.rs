//! When a receiver that collects for a while stops: after a duration, once a
//! number of spans were accepted, or on an interrupt — whichever comes first.
//! `otelops receive` and `check --listen` both wait this way.

use std::future::Future;
use std::time::Duration;

use super::{ReceiverHandle, Store, Summary};

/// The bounds of one collection; None for a bound not set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Until {
    pub duration: Option<Duration>,
    pub spans: Option<u64>,
}

/// Why collecting stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    Duration,
    Spans,
    Interrupted,
}

impl std::fmt::Display for StopReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            StopReason::Duration => "--duration elapsed",
            StopReason::Spans => "--spans count was reached",
            StopReason::Interrupted => "interrupt (Ctrl-C)",
        })
    }
}

impl Until {
    /// The bounds in words, for the "receiving … until" line.
    pub fn describe(&self) -> String {
        let mut bounds = Vec::new();
        if let Some(d) = self.duration {
            bounds.push(humantime::format_duration(d).to_string());
        }
        if let Some(n) = self.spans {
            bounds.push(format!("{n} spans"));
        }
        bounds.push("Ctrl-C".into());
        bounds.join(" or ")
    }

    /// Waits for the first bound `store` reaches, or `interrupted`.
    pub async fn wait(&self, store: &Store, interrupted: impl Future<Output = ()>) -> StopReason {
        let mut changed = store.subscribe();
        let enough = async {
            match self.spans {
                Some(n) => {
                    while store.accepted_spans() < n {
                        if changed.changed().await.is_err() {
                            break;
                        }
                    }
                }
                None => std::future::pending().await,
            }
        };
        let elapsed = async {
            match self.duration {
                Some(d) => tokio::time::sleep(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = enough => StopReason::Spans,
            () = elapsed => StopReason::Duration,
            () = interrupted => StopReason::Interrupted,
        }
    }
}

impl ReceiverHandle {
    /// Receives until `until` or `interrupted`, then shuts down.
    pub async fn run_until(
        self,
        until: &Until,
        interrupted: impl Future<Output = ()>,
    ) -> (StopReason, Summary) {
        let stopped = until.wait(self.store(), interrupted).await;
        (stopped, self.shutdown().await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_read_in_order_and_ctrl_c_always_ends() {
        let until = Until {
            duration: Some(Duration::from_secs(30)),
            spans: Some(100),
        };
        assert_eq!(until.describe(), "30s or 100 spans or Ctrl-C");
        assert_eq!(Until::default().describe(), "Ctrl-C");
    }

    #[tokio::test]
    async fn the_first_bound_reached_ends_the_wait() {
        let store = Store::new(10, crate::receive::OnFull::Evict);
        let never = std::future::pending::<()>;
        let short = Until {
            duration: Some(Duration::from_millis(10)),
            spans: Some(1),
        };
        assert_eq!(short.wait(&store, never()).await, StopReason::Duration);
        let no_spans_needed = Until {
            duration: None,
            spans: Some(0),
        };
        assert_eq!(
            no_spans_needed.wait(&store, never()).await,
            StopReason::Spans
        );
        assert_eq!(
            Until::default().wait(&store, async {}).await,
            StopReason::Interrupted
        );
    }
}
