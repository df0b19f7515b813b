//! Bookings/s of the Redis store on one Redis and on a 3-primary Redis
//! Cluster (each primary with a replica), measured side by side in one run:
//! phases alternate single / cluster for a few rounds and the medians are
//! printed with their ratio and the load average (on a shared machine the
//! neighbours move the figures; compare the two columns of one run).
//!
//! One booking is its whole life in the store, as the API and the worker
//! drive it: `create` with an `Idempotency-Key`; `claim` (batches of up to
//! 16 due bookings, shards scanned from a rotating start) and `save` to
//! `booked` (done). 24 tasks create, 8 workers claim and finish; bookings/s
//! counts bookings saved as done (created/s is printed beside it). In
//! process, against `RedisStore` (no HTTP, no fare provider), so the figure
//! is the store's.
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
use parker_booking::store::redis::{Endpoint, RedisStore};
use parker_booking::store::{Idempotency, Next, Store};

/// Tasks creating bookings, as the API does.
const CREATORS: usize = 24;
/// Tasks claiming and finishing them, as the workers of several replicas do.
const WORKERS: usize = 8;
const CLAIM_BATCH: usize = 16;
const LEASE: Duration = Duration::from_secs(30);

/// Bookings created and bookings taken to done per second, in `secs`
/// seconds after a 1 s warm-up.
async fn bookings_per_second(store: RedisStore, secs: u64) -> (f64, f64) {
    let created = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicU64::new(0));
    let request = Arc::new(common::stored_request());
    let measure_from = Instant::now() + Duration::from_secs(1);
    let deadline = measure_from + Duration::from_secs(secs);
    let mut tasks = tokio::task::JoinSet::new();
    for task in 0..CREATORS {
        let (store, created, request) = (store.clone(), created.clone(), request.clone());
        tasks.spawn(async move {
            let mut i = 0u64;
            while Instant::now() < deadline {
                let key: IdempotencyKey = format!("bench-{task}-{i}").parse().expect("a valid key");
                i += 1;
                let idem = Idempotency {
                    key: &key,
                    fingerprint: "bench",
                };
                let booking = Booking::new((*request).clone(), None);
                store.create(&booking, Some(idem)).await.expect("create");
                created.fetch_add(1, Ordering::Relaxed);
            }
        });
    }
    for task in 0..WORKERS {
        let (store, done) = (store.clone(), done.clone());
        tasks.spawn(async move {
            let worker = format!("bench-worker-{task}");
            while Instant::now() < deadline {
                let claims = store
                    .claim(&worker, LEASE, CLAIM_BATCH)
                    .await
                    .expect("claim");
                if claims.is_empty() {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                for claim in claims {
                    let mut b = claim.booking;
                    b.status = Status::Booked;
                    let saved = store
                        .save(&worker, Status::Pending, &b, Next::Done)
                        .await
                        .expect("save");
                    done.fetch_add(u64::from(saved), Ordering::Relaxed);
                }
            }
        });
    }
    tokio::time::sleep_until(measure_from.into()).await;
    let (created_0, done_0) = (
        created.load(Ordering::Relaxed),
        done.load(Ordering::Relaxed),
    );
    tokio::time::sleep_until(deadline.into()).await;
    let rate =
        |n: &AtomicU64, at_start: u64| (n.load(Ordering::Relaxed) - at_start) as f64 / secs as f64;
    let figures = (rate(&created, created_0), rate(&done, done_0));
    while let Some(r) = tasks.join_next().await {
        r.expect("bench task");
    }
    figures
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
    let single = common::Redis::start();
    let cluster = common::RedisCluster::start();
    let cluster_endpoint = Endpoint::cluster(&cluster.seeds());
    println!(
        "{rounds} rounds x {secs} s per phase, {CREATORS} creating tasks, {WORKERS} workers claiming up to {CLAIM_BATCH}; load average before {}",
        load_average()
    );
    let (mut on_single, mut on_cluster) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        // A prefix per phase: no backlog from an earlier phase.
        let prefix = format!("bench{round}:");
        let store = RedisStore::connect(&single.url(), &prefix)
            .await
            .expect("connecting to redis-server");
        let (s_created, s) = bookings_per_second(store, secs).await;
        let store = RedisStore::connect_to(&cluster_endpoint, &prefix, None)
            .await
            .expect("connecting to the cluster");
        let (c_created, c) = bookings_per_second(store, secs).await;
        println!(
            "  round {round}: one Redis {s:.0} booked/s ({s_created:.0} created/s), \
             cluster (3 primaries) {c:.0} booked/s ({c_created:.0} created/s)"
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
