//! Harness for the scenarios that run the real `otelcol-parker`: start it on
//! free loopback ports from a config template, wait for health, stop, kill -9
//! and restart it; scrape its `/metrics` (every page is saved as a test
//! artifact); a restartable downstream OTLP sink; a sender of exactly N
//! uniquely identified spans; and a bounded way to run `otelops`.
//! For the end-to-end scenario: the real parker-booking/parker-fares
//! (`services`), rotel-agent (`rotel`) and a reader of the OTLP-JSON copies
//! `otelops receive --jsonl` writes (`otlp_copy`).
//!
//! Owned by the collector-scenarios tests (`tests/collector_*.rs`); kept apart
//! from `tests/common` (the fake-collector helpers of the unit-level tests).
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

/// A loopback port that was free a moment ago (bound to :0, then released),
/// and never handed out before in this test process, so scenarios running
/// in parallel do not pick each other's ports.
pub fn free_port() -> u16 {
    static USED: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut used = USED.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = l.local_addr().expect("local addr").port();
        if !used.contains(&port) {
            used.push(port);
            return port;
        }
    }
}
