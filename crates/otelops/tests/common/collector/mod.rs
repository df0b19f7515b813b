//! Harness for the scenarios that run the real `otelcol-parker`: start it on
//! free loopback ports from a config template, wait for health, stop, kill -9
//! and restart it; scrape its `/metrics` (every page is saved as a test
//! artifact); a restartable downstream OTLP sink; a sender of exactly N
//! uniquely identified spans; and a bounded way to run `otelops`.
//! For the end-to-end scenario: the real parker-booking/parker-fares
//! (`services`), rotel-agent (`rotel`) and a reader of the OTLP-JSON copies
//! `otelops receive --jsonl` writes (`otlp_copy`).
//!
//! Used by the collector-scenarios tests (`tests/collector_*.rs`) as
//! `#[path = "common/collector/mod.rs"] mod support;`, next to `mod common;`
//! whose ports, binary finders and `Run` it shares. `e2e_source.rs` (the
//! source-attribute table of the end-to-end scenario) is included by
//! `collector_e2e.rs` alone.
#![allow(dead_code)] // each scenario file uses a different part

pub mod artifacts;
pub mod collector;
pub mod metrics;
pub mod otelops;
pub mod otlp_copy;
pub mod rotel;
pub mod sender;
pub mod services;
pub mod sink;

pub use crate::common::free_port;

use std::future::Future;
use std::time::Duration;

/// Polls `check` every 50 ms until it returns `Some`, or panics after
/// `timeout` with `what` and the last state `describe` gives.
pub async fn wait_until<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        match check().await {
            Ok(v) => return v,
            Err(last) => {
                if tokio::time::Instant::now() >= deadline {
                    panic!("timed out after {timeout:?} waiting for {what}; last seen: {last}");
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
