//! Ctrl-C and SIGTERM for the long-running commands (`receive`, `demo`),
//! registered up front so a `kill` from a test or a supervisor still gets the
//! command's summary and clean stop.

use anyhow::Context as _;

pub(crate) struct StopSignals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl StopSignals {
    #[cfg(unix)]
    pub(crate) fn install() -> anyhow::Result<StopSignals> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(StopSignals {
            interrupt: signal(SignalKind::interrupt()).context("install the SIGINT handler")?,
            terminate: signal(SignalKind::terminate()).context("install the SIGTERM handler")?,
        })
    }

    #[cfg(not(unix))]
    pub(crate) fn install() -> anyhow::Result<StopSignals> {
        Ok(StopSignals {})
    }

    pub(crate) async fn recv(&mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    }
}
