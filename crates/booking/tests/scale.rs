//! Three booking processes on one Redis or on Redis Cluster (one process
//! killed mid-load; on the cluster, also one primary failed over or frozen), 500 requests
//! with client retries and duplicated idempotency keys, a flaky provider
//! that sometimes loses order responses: every request ends final, nothing is lost, nothing is
//! ordered twice.

mod common;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

const REQUESTS: usize = 500;
/// Every fifth request re-sends an earlier request with its key.
const DUPLICATE_EVERY: usize = 5;
const AIRPORTS: [&str; 8] = ["JFK", "LHR", "CDG", "NRT", "SYD", "LAX", "AMS", "FRA"];

fn impossible(i: usize) -> bool {
    i % 10 == 3
}

/// Request index `n` sends request `i`: every fifth repeats the one before.
fn sent_as(n: usize) -> usize {
    if n % DUPLICATE_EVERY == DUPLICATE_EVERY - 1 {
        n - 1
    } else {
        n
    }
}

fn request(i: usize) -> (String, Value) {
    let origin = AIRPORTS[i % AIRPORTS.len()];
    let destination = AIRPORTS[(i / AIRPORTS.len() + 1 + i) % AIRPORTS.len()];
    let destination = if destination == origin {
        AIRPORTS[(i + 1) % AIRPORTS.len()]
    } else {
        destination
    };
    // One in ten asks for an impossible price and must expire.
    let max = if impossible(i) { "1.00" } else { "6000" };
    let mut body = booking_body(origin, destination, max);
    let start = 20 + (i % 30) as i64;
    body["departure"]["from"] = days_from_now(start).into();
    body["departure"]["to"] = days_from_now(start + 2).into();
    body["passengers"] = (1 + i % 2).into();
    (format!("load-{i}"), body)
}

/// POSTs with retries on transport errors and 5xx, moving to the next
/// process each time, as a load-balanced client would.
async fn post_with_retries(
    c: &reqwest::Client,
    bases: &[String],
    i: usize,
    key: &str,
    body: &Value,
) -> String {
    for attempt in 0..8 {
        let base = &bases[(i + attempt) % bases.len()];
        let sent = c
            .post(format!("{base}/v1/bookings"))
            .header("idempotency-key", key)
            .json(body)
            .send()
            .await;
        match sent {
            Ok(r) if r.status().as_u16() == 202 => {
                let v: Value = r.json().await.expect("202 body is JSON");
                return v["id"].as_str().expect("an id").to_owned();
            }
            Ok(r) if r.status().is_server_error() => {}
            Ok(r) => panic!(
                "request {i}: unexpected {}: {:?}",
                r.status(),
                r.text().await
            ),
            Err(_) => {}
        }
        tokio::time::sleep(Duration::from_millis(20 << attempt.min(4))).await;
    }
    panic!("request {i} was never accepted");
}

/// Every stored booking, paged; `Err` with the problem document when a
/// page is refused (a 503 while the store is unavailable).
async fn all_bookings(c: &reqwest::Client, base: &str) -> Result<Vec<Value>, Value> {
    let mut all = Vec::new();
    let mut cursor = String::new();
    loop {
        let r = c
            .get(format!("{base}/v1/bookings?limit=100{cursor}"))
            .send()
            .await
            .expect("list answers");
        let status = r.status();
        let page: Value = r.json().await.expect("a page is JSON");
        if status != reqwest::StatusCode::OK {
            return Err(page);
        }
        all.extend(page["items"].as_array().cloned().expect("a page has items"));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => return Ok(all),
        }
    }
}

/// What else goes wrong mid-load, besides a replica's `kill -9`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Also {
    Nothing,
    /// One cluster primary fails over to its replica and is killed.
    PrimaryFailover,
    /// One cluster primary freezes (answers nothing, sockets open) and the
    /// cluster promotes its replica.
    PrimaryFrozen,
}

mod three_replicas_500_requests_all_final_none_lost_none_ordered_twice {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn redis() {
        three_replicas(StoreKind::Redis, Also::Nothing).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn cluster() {
        three_replicas(StoreKind::Cluster, Also::Nothing).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn cluster_with_a_primary_failover() {
        three_replicas(StoreKind::Cluster, Also::PrimaryFailover).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn cluster_with_a_frozen_primary() {
        three_replicas(StoreKind::Cluster, Also::PrimaryFrozen).await
    }
}

async fn three_replicas(kind: StoreKind, also: Also) {
    let mut redis = Backend::start(kind).expect("a Redis store");
    let (_fares, fares_url) = start_fares(&FaresOptions {
        args: ["--error-rate", "0.05", "--lost-response-rate", "0.1"]
            .map(String::from)
            .to_vec(),
        ..FaresOptions::default()
    });
    let mut procs = Vec::new();
    let mut bases = Vec::new();
    for _ in 0..3 {
        let (p, url) = start_booking(&BookingOptions {
            fares_url: fares_url.clone(),
            store_args: redis.args(),
            args: ["--lease-ms", "3000", "--max-attempts", "8"]
                .map(String::from)
                .to_vec(),
            ..BookingOptions::default()
        });
        procs.push(p);
        bases.push(url);
    }
    let bases = Arc::new(bases);
    let c = client();
    let limit = Arc::new(tokio::sync::Semaphore::new(32));
    let mut tasks = tokio::task::JoinSet::new();
    let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    for n in 0..REQUESTS {
        let i = sent_as(n);
        let (key, body) = request(i);
        let (c, bases, limit) = (c.clone(), bases.clone(), limit.clone());
        let accepted = accepted.clone();
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await.expect("semaphore open");
            let id = post_with_retries(&c, &bases, n, &key, &body).await;
            accepted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            (key, id)
        });
    }
    // Mid-load, one replica dies: clients retry elsewhere, its leases expire
    // and the others take its bookings over.
    tokio::time::sleep(Duration::from_millis(300)).await;
    procs[2].kill9();
    if also != Also::Nothing {
        let Backend::Cluster(cluster) = &mut redis else {
            panic!("a failover needs a cluster")
        };
        // Off the runtime: the helper blocks on redis-cli while requests go on.
        let (old, new) = tokio::task::block_in_place(|| match also {
            Also::PrimaryFrozen => cluster.freeze_one_primary(),
            _ => cluster.fail_over_one(),
        });
        let accepted = accepted.load(std::sync::atomic::Ordering::Relaxed);
        eprintln!("primary {old} failed over to {new} after {accepted} of {REQUESTS} requests");
        assert!(
            accepted < REQUESTS,
            "the failover must come mid-load for this test to mean anything"
        );
    }
    let mut by_key: HashMap<String, String> = HashMap::new();
    while let Some(joined) = tasks.join_next().await {
        let (key, id) = joined.expect("request task");
        if let Some(earlier) = by_key.insert(key.clone(), id.clone()) {
            assert_eq!(earlier, id, "key {key} gave two bookings");
        }
    }
    let unique_ids: HashSet<String> = by_key.values().cloned().collect();
    assert_eq!(unique_ids.len(), REQUESTS - REQUESTS / DUPLICATE_EVERY);

    // Every accepted booking reaches a final state.
    let deadline = Instant::now() + Duration::from_secs(60);
    let bookings = loop {
        let state = match all_bookings(&c, &bases[0]).await {
            Ok(all) => {
                let pending = all
                    .iter()
                    .filter(|b| !is_final(b["status"].as_str().unwrap_or("")))
                    .count();
                if pending == 0 && all.len() >= unique_ids.len() {
                    break all;
                }
                format!("{pending} of {} bookings not final", all.len())
            }
            Err(problem) => format!("the list is refused: {problem}"),
        };
        assert!(Instant::now() < deadline, "after 60 s, {state}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let stored: HashSet<String> = bookings
        .iter()
        .map(|b| b["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(stored, unique_ids, "nothing lost, nothing extra");

    let booked: HashMap<String, &Value> = bookings
        .iter()
        .filter(|b| b["status"] == "booked")
        .map(|b| (b["id"].as_str().unwrap().to_owned(), b))
        .collect();
    let expired = bookings.iter().filter(|b| b["status"] == "expired").count();
    let impossible_sent: HashSet<usize> = (0..REQUESTS)
        .map(sent_as)
        .filter(|i| impossible(*i))
        .collect();
    assert_eq!(
        expired,
        impossible_sent.len(),
        "exactly the impossible prices expire"
    );
    assert_eq!(
        booked.len() + expired,
        unique_ids.len(),
        "{:#?}",
        bookings
            .iter()
            .filter(|b| b["status"] == "failed")
            .collect::<Vec<_>>()
    );

    // The provider saw one order per booked booking, keyed by its id.
    let orders = fares_orders(&c, &fares_url).await;
    let mut keys = HashSet::new();
    for order in &orders {
        let key = order["order_key"].as_str().unwrap();
        assert!(keys.insert(key.to_owned()), "order key {key} twice");
        let booking = booked
            .get(key)
            .unwrap_or_else(|| panic!("order {order} has no booked booking"));
        assert_eq!(booking["order_id"], order["id"]);
        assert_eq!(order["status"], "confirmed");
    }
    assert_eq!(orders.len(), booked.len(), "one order per booked booking");
    assert!(
        orders.iter().any(|o| o["requests"].as_u64() > Some(1)),
        "lost responses were retried under the same key"
    );
    drop(procs);
}
