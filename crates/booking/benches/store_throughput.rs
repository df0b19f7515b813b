//! Bookings/s of the Redis store on one Redis and on a 3-primary Redis
//! Cluster (each primary with a replica), measured side by side in one run:
//! phases alternate single / cluster for a few rounds and the medians are
//! printed with their ratio and the load average (on a shared machine the
//! neighbours move the figures; compare the two columns of one run).
//!
//! One booking is its whole life in the store, as the API and the worker
//! drive it: `create` with an `Idempotency-Key`, `claim` (batches of up to
//! 16 due bookings), `save` to `booked` (done). 32 tasks each create a
//! booking, then claim and finish whatever is due; bookings/s counts
//! bookings saved as done. In process, against `RedisStore` (no HTTP, no
//! fare provider), so the figure is the store's.
//!
//! Run: `cargo bench -p parker-booking --bench store_throughput`
//! (`PARKER_BENCH_SECS`: seconds per phase, default 3;
//! `PARKER_BENCH_ROUNDS`: rounds, default 3).

// The tests' helpers: the same real redis-server and cluster they start.
#[path = "../tests/common/mod.rs"]
mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use parker_booking::domain::{Booking, IdempotencyKey, Status};
use parker_booking::store::redis::RedisStore;
use parker_booking::store::{Idempotency, Next, Store};

const TASKS: usize = 32;
const CLAIM_BATCH: usize = 16;
const LEASE: Duration = Duration::from_secs(30);

/// Bookings taken from created to done in `secs` seconds (after a 1 s
/// warm-up), per second.
async fn bookings_per_second(store: RedisStore, secs: u64, round: usize) -> f64 {
    let done = Arc::new(AtomicU64::new(0));
    let request = Arc::new(common::stored_request());
    let measure_from = Instant::now() + Duration::from_secs(1);
    let deadline = measure_from + Duration::from_secs(secs);
    let mut at_start = 0;
    let mut tasks = tokio::task::JoinSet::new();
    for task in 0..TASKS {
        let (store, done, request) = (store.clone(), done.clone(), request.clone());
        tasks.spawn(async move {
            let worker = format!("bench-{task}");
            let mut i = 0u64;
            while Instant::now() < deadline {
                let key: IdempotencyKey = format!("bench-{round}-{task}-{i}")
                    .parse()
                    .expect("a valid key");
                i += 1;
                let booking = Booking::new((*request).clone(), None);
                let idem = Idempotency {
                    key: &key,
                    fingerprint: "bench",
                };
                store.create(&booking, Some(idem)).await.expect("create");
                for claim in store
                    .claim(&worker, LEASE, CLAIM_BATCH)
                    .await
                    .expect("claim")
                {
                    let mut b = claim.booking;
                    b.status = Status::Booked;
                    if store
                        .save(&worker, Status::Pending, &b, Next::Done)
                        .await
                        .expect("save")
                    {
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        });
    }
    tokio::time::sleep_until(measure_from.into()).await;
    at_start += done.load(Ordering::Relaxed);
    tokio::time::sleep_until(deadline.into()).await;
    let measured = done.load(Ordering::Relaxed) - at_start;
    while let Some(r) = tasks.join_next().await {
        r.expect("bench task");
    }
    measured as f64 / secs as f64
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing
    // and only checks that the bench builds and starts.
    if !std::env::args().any(|a| a == "--bench") {
        println!("store_throughput: run with `cargo bench` to measure");
        return;
    }
    let var = |name: &str| std::env::var(name).ok().and_then(|s| s.parse::<u64>().ok());
    let secs = var("PARKER_BENCH_SECS").unwrap_or(3);
    let rounds = var("PARKER_BENCH_ROUNDS").unwrap_or(3) as usize;
    let (_single, single_store) = common::store_on_redis("bench:").await;
    let (_cluster, cluster_store) = common::store_on_cluster("bench:").await;
    println!(
        "{rounds} rounds x {secs} s per phase, {TASKS} tasks, claims of up to {CLAIM_BATCH}; load average before {}",
        load_average()
    );
    let (mut on_single, mut on_cluster) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        let s = bookings_per_second(single_store.clone(), secs, 2 * round).await;
        let c = bookings_per_second(cluster_store.clone(), secs, 2 * round + 1).await;
        println!(
            "  round {round}: one Redis {s:.0} bookings/s, cluster (3 primaries) {c:.0} bookings/s"
        );
        on_single.push(s);
        on_cluster.push(c);
    }
    let (s, c) = (median(on_single), median(on_cluster));
    println!(
        "bookings/s (medians): one Redis {s:.0}, Redis Cluster 3 primaries {c:.0}, cluster/single {:.2}; load average after {}",
        c / s,
        load_average()
    );
}
