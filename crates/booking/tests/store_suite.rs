//! The `Store` contract, one suite run on both implementations: the
//! in-memory store and `RedisStore` against a real `redis-server` and a real
//! Redis Cluster (each test starts its own on loopback ports, so tests
//! cannot see each other's keys).

mod common;

use std::time::Duration;

use parker_booking::domain::{Booking, BookingId, BookingRequest, IdempotencyKey, Status};
use parker_booking::store::memory::MemoryStore;
use parker_booking::store::redis::RedisStore;
use parker_booking::store::{Cancelled, Created, Idempotency, Next, Store, StoreError};

/// Generates, for each `async fn $name(impl Store)`, a test on a fresh
/// `MemoryStore`, one on a fresh `RedisStore` with its own server and one
/// on a `RedisStore` with its own cluster.
macro_rules! store_suite {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn memory() {
                super::$name(super::MemoryStore::new()).await
            }
            #[tokio::test]
            async fn redis() {
                let (_server, store) = super::common::store_on_redis("suite:").await;
                super::$name(store).await
            }
            /// Cluster refuses a script whose keys span slots
            /// (`CROSSSLOT`), so this also shows one slot per script.
            #[tokio::test]
            async fn cluster() {
                let (_cluster, store) = super::common::store_on_cluster("suite:").await;
                super::$name(store).await
            }
        }
    )*};
}

store_suite!(
    a_due_booking_is_leased_to_one_worker_only,
    an_expired_lease_is_taken_over_and_fences_the_old_worker,
    same_key_same_body_replays_and_other_body_is_refused,
    only_pending_bookings_cancel_and_listing_pages_in_creation_order,
);

fn request() -> BookingRequest {
    common::stored_request()
}

const LEASE: Duration = Duration::from_secs(5);

async fn a_due_booking_is_leased_to_one_worker_only(store: impl Store) {
    let b = Booking::new(request(), None);
    store.create(&b, None).await.unwrap();
    let first = store.claim("w1", LEASE, 10).await.unwrap();
    let second = store.claim("w2", LEASE, 10).await.unwrap();
    assert_eq!(first.len(), 1);
    assert!(second.is_empty());
}

async fn an_expired_lease_is_taken_over_and_fences_the_old_worker(store: impl Store) {
    let b = Booking::new(request(), None);
    store.create(&b, None).await.unwrap();
    store
        .claim("w1", Duration::from_millis(20), 10)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(40)).await;
    let taken = store.claim("w2", LEASE, 10).await.unwrap();
    assert_eq!(taken.len(), 1);
    assert!(taken[0].lag >= Duration::from_millis(15));
    assert!(
        !store
            .save("w1", Status::Pending, &b, Next::Done)
            .await
            .unwrap()
    );
    assert!(
        store
            .save("w2", Status::Pending, &b, Next::Done)
            .await
            .unwrap()
    );
}

async fn same_key_same_body_replays_and_other_body_is_refused(store: impl Store) {
    let key: IdempotencyKey = "k-1".parse().unwrap();
    let first = Booking::new(request(), None);
    let idem = || Idempotency {
        key: &key,
        fingerprint: "body-a",
    };
    store.create(&first, Some(idem())).await.unwrap();
    let again = Booking::new(request(), None);
    match store.create(&again, Some(idem())).await.unwrap() {
        Created::Replayed(b) => assert_eq!(b.id, first.id),
        other => panic!("expected a replay, got {other:?}"),
    }
    let other = Idempotency {
        key: &key,
        fingerprint: "body-b",
    };
    let err = store.create(&again, Some(other)).await.unwrap_err();
    assert!(matches!(err, StoreError::KeyReused { .. }), "{err}");
    assert_eq!(store.list(None, 10).await.unwrap().len(), 1);
}

async fn only_pending_bookings_cancel_and_listing_pages_in_creation_order(store: impl Store) {
    let mut ids = Vec::new();
    for _ in 0..5 {
        let b = Booking::new(request(), None);
        ids.push(b.id);
        store.create(&b, None).await.unwrap();
    }
    assert!(matches!(
        store.cancel(ids[0]).await.unwrap(),
        Cancelled::Done(_)
    ));
    assert!(matches!(
        store.cancel(ids[0]).await.unwrap(),
        Cancelled::TooLate(_)
    ));
    assert!(matches!(
        store.cancel(BookingId::new()).await.unwrap(),
        Cancelled::NotFound
    ));
    let page1 = store.list(None, 2).await.unwrap();
    let page2 = store.list(Some(page1[1].id), 10).await.unwrap();
    let listed: Vec<_> = page1.iter().chain(&page2).map(|b| b.id).collect();
    assert_eq!(listed, ids);
    // The cancelled booking left the queue.
    assert_eq!(store.claim("w", LEASE, 10).await.unwrap().len(), 4);
}

/// Keys carry their own hash tag: a brace in the prefix would replace it
/// and split a script's keys over slots, so it is refused up front.
#[tokio::test]
async fn a_prefix_with_a_brace_is_refused_before_connecting() {
    // Nothing listens here: the refusal must come from the prefix alone.
    let url = format!("redis://127.0.0.1:{}/0", common::free_port());
    let err = RedisStore::connect(&url, "parker:{blue}:")
        .await
        .err()
        .expect("a prefix with braces is refused");
    assert!(matches!(err, StoreError::Config(_)), "{err}");
    assert!(err.to_string().contains("--redis-prefix"), "{err}");
}

/// The hash-tagged layout replaced the untagged one: a booking written
/// under an old key (`b:<id>`, `due`) is neither read nor claimed.
#[tokio::test]
async fn a_booking_in_the_old_untagged_layout_is_not_read() {
    let (server, store) = common::store_on_redis("suite:").await;
    let b = Booking::new(request(), None);
    let id = b.id.to_string();
    let doc = serde_json::to_string(&b).unwrap();
    common::redis_cli(server.port, &["SET", &format!("suite:b:{id}"), &doc]);
    common::redis_cli(server.port, &["ZADD", "suite:due", "0", &id]);
    common::redis_cli(server.port, &["ZADD", "suite:all", "0", &id]);
    assert!(store.get(b.id).await.unwrap().is_none());
    assert!(store.list(None, 10).await.unwrap().is_empty());
    assert!(store.claim("w", LEASE, 10).await.unwrap().is_empty());
    // Written through the store, the same booking is found.
    store.create(&b, None).await.unwrap();
    assert_eq!(store.get(b.id).await.unwrap().map(|s| s.id), Some(b.id));
}

/// A booking in each of the 16 shards (the shard is the id's last hex digit).
fn one_booking_per_shard() -> Vec<Booking> {
    let mut by_shard: Vec<Option<Booking>> = vec![None; 16];
    while by_shard.iter().any(Option::is_none) {
        let b = Booking::new(request(), None);
        let digit = b.id.to_string().chars().last().and_then(|c| c.to_digit(16));
        let slot = &mut by_shard[digit.expect("a hex digit") as usize];
        if slot.is_none() {
            *slot = Some(b);
        }
    }
    by_shard.into_iter().flatten().collect()
}

/// Each claim starts one shard further than the one before, so workers of
/// many replicas spread over the sharded pending index instead of all
/// taking the same shard first.
async fn claims_rotate_over_the_shards(store: RedisStore) {
    for b in one_booking_per_shard() {
        store.create(&b, None).await.unwrap();
    }
    let mut shards = Vec::new();
    for _ in 0..16 {
        let claimed = store.claim("w", LEASE, 1).await.unwrap();
        assert_eq!(claimed.len(), 1);
        let id = claimed[0].booking.id.to_string();
        shards.push(u32::from_str_radix(&id[id.len() - 1..], 16).unwrap());
    }
    for pair in shards.windows(2) {
        assert_eq!(
            pair[1],
            (pair[0] + 1) % 16,
            "shards claimed in turn: {shards:?}"
        );
    }
    assert!(store.claim("w", LEASE, 16).await.unwrap().is_empty());
}

mod claims_rotate_over_the_shards {
    #[tokio::test]
    async fn redis() {
        let (_server, store) = super::common::store_on_redis("suite:").await;
        super::claims_rotate_over_the_shards(store).await
    }
    #[tokio::test]
    async fn cluster() {
        let (_cluster, store) = super::common::store_on_cluster("suite:").await;
        super::claims_rotate_over_the_shards(store).await
    }
}

/// On Redis the idempotency record and the booking live in different slots,
/// so create writes the record, then the booking. A process that dies in
/// between leaves a record without a booking: a retry with the key creates
/// the booking under the recorded id, once.
#[tokio::test]
async fn a_retry_completes_a_create_that_died_after_its_idempotency_record() {
    let (server, store) = common::store_on_redis("suite:").await;
    let lost = BookingId::new();
    common::redis_cli(
        server.port,
        &["SET", "suite:idem:k-crash", &format!("{lost}\nbody-a")],
    );
    let key: IdempotencyKey = "k-crash".parse().unwrap();
    let idem = || Idempotency {
        key: &key,
        fingerprint: "body-a",
    };
    for _ in 0..2 {
        match store
            .create(&Booking::new(request(), None), Some(idem()))
            .await
            .unwrap()
        {
            Created::Replayed(b) => assert_eq!(b.id, lost),
            other => panic!("expected the recorded booking, got {other:?}"),
        }
    }
    assert_eq!(store.get(lost).await.unwrap().map(|b| b.id), Some(lost));
    assert_eq!(store.list(None, 10).await.unwrap().len(), 1);
    assert_eq!(store.claim("w", LEASE, 10).await.unwrap().len(), 1);
}
