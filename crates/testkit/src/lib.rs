//! Test support shared by the workspace's tests and benchmarks (a
//! dev-dependency only): loopback ports for servers that tests start on a
//! port chosen beforehand.
//!
//! A port found by binding `127.0.0.1:0` and letting go lies in the kernel's
//! ephemeral range, where every other `bind(0)` on the machine (the services
//! that parallel tests start on port 0) and the source port of every outgoing
//! connection may take it before the server it was meant for binds it, or
//! while that server is down for a restart. [`free_port`] hands out ports
//! below that range instead, as production's fixed ports (6379, 4317) are,
//! and never the same one twice in a process.

use std::net::TcpListener;
use std::sync::atomic::{AtomicU32, Ordering};

/// The lowest port handed out.
const LOWEST: u32 = 10_000;

/// Where the kernel's ephemeral range starts (Linux's default when unknown).
fn ephemeral_start() -> u32 {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|r| r.split_whitespace().next()?.parse().ok())
        .unwrap_or(32_768)
}

/// A loopback port that was free a moment ago, below the ephemeral range,
/// not handed out before by this process (until the range wraps).
///
/// # Panics
/// When the ephemeral range starts too low to leave room below it, or every
/// port below it is taken.
pub fn free_port() -> u16 {
    // Test processes running at once start at different places.
    static NEXT: AtomicU32 = AtomicU32::new(u32::MAX);
    let ephemeral = ephemeral_start();
    assert!(
        ephemeral > LOWEST + 1_000,
        "the ephemeral port range starts at {ephemeral}: no room for fixed ports below it"
    );
    let span = ephemeral - LOWEST;
    let _ = NEXT.compare_exchange(
        u32::MAX,
        std::process::id().wrapping_mul(7919) % span,
        Ordering::Relaxed,
        Ordering::Relaxed,
    );
    for _ in 0..span {
        let port = LOWEST + NEXT.fetch_add(1, Ordering::Relaxed) % span;
        let port = u16::try_from(port).expect("ports below the ephemeral range fit in u16");
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free loopback port between {LOWEST} and {ephemeral}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_below_the_ephemeral_range_free_and_distinct() {
        let ports: Vec<u16> = (0..50).map(|_| free_port()).collect();
        for p in &ports {
            assert!(u32::from(*p) >= LOWEST && u32::from(*p) < ephemeral_start());
            TcpListener::bind(("127.0.0.1", *p)).expect("still free");
        }
        let mut distinct = ports.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), ports.len());
    }
}
