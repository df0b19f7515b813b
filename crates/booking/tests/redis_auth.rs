//! Redis with a password (`requirepass`): parker-booking reads it from
//! `--redis-password-file` (never a flag value) and books through one Redis
//! and through a Cluster whose nodes all require it; a wrong, empty or
//! missing password stops the start with an error that says so (at once,
//! but on Cluster a wrong one after the connect timeout).

mod common;

use std::path::PathBuf;

use common::*;

const PASSWORD: &str = "s3cret-test-password-0123456789";

/// A 0600 file holding `content`, in a directory removed on drop.
fn password_file(content: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join("redis-password");
    std::fs::write(&path, content).expect("writing the password file");
    (dir, path)
}

/// One booking through the whole flow on `store_args`, with the password
/// from `file` given as a container would (the environment).
async fn books_with_the_password(store_args: Vec<String>, file: &std::path::Path) {
    let (_fares, fares_url) = start_fares(&FaresOptions::default());
    let (_booking, base) = start_booking(&BookingOptions {
        fares_url,
        store_args,
        env: vec![(
            "PARKER_REDIS_PASSWORD_FILE".into(),
            file.to_string_lossy().into_owned(),
        )],
        ..BookingOptions::default()
    });
    let c = client();
    let (status, created) = create(&c, &base, &booking_body("JFK", "LHR", "6000")).await;
    assert_eq!(status, 202, "{created}");
    let id = created["id"].as_str().expect("an id");
    let booking = wait_final(&c, &base, id, std::time::Duration::from_secs(20)).await;
    assert_eq!(booking["status"], "booked", "{booking}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn booking_authenticates_to_redis_with_the_password_file() {
    let redis = Redis::start_with_password(PASSWORD);
    // The trailing newline of a file written by `echo` or `otelops token gen`
    // is not part of the password.
    let (_dir, file) = password_file(&format!("{PASSWORD}\n"));
    books_with_the_password(vec!["--redis-url".into(), redis.url()], &file).await;
    // The bookings really are behind the password.
    let keys = redis_cli(redis.port, &["KEYS", "parker:*"]);
    assert!(keys.contains("NOAUTH"), "{keys}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn booking_authenticates_to_every_cluster_node() {
    let cluster = RedisCluster::start_with_password(PASSWORD);
    let (_dir, file) = password_file(PASSWORD);
    books_with_the_password(vec!["--redis-cluster".into(), cluster.seeds()], &file).await;
    // The cluster client reports a refused password inside an I/O error
    // (`Failed to create initial connections`), which the start waits out
    // like an outage; the error it ends with names the cause.
    let (_dir, wrong) = password_file("not-the-password");
    let stderr = failing_run(&[
        "--redis-cluster",
        &cluster.seeds(),
        "--redis-password-file",
        &wrong.to_string_lossy(),
        "--redis-connect-timeout-ms",
        "800",
    ])
    .await;
    assert!(
        stderr.contains("connecting to Redis (--redis-cluster) for 800 ms")
            && stderr.contains("Password authentication failed"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_or_empty_password_stops_the_start_with_a_clear_error() {
    let redis = Redis::start_with_password(PASSWORD);
    let url = redis.url();
    let (_dir, wrong) = password_file("not-the-password\n");
    // Refused at once, not waited out as an outage (the timeout is long).
    let stderr = failing_run(&[
        "--redis-url",
        &url,
        "--redis-password-file",
        &wrong.to_string_lossy(),
        "--redis-connect-timeout-ms",
        "60000",
    ])
    .await;
    assert!(
        stderr.contains("refused the password (--redis-password-file)"),
        "{stderr}"
    );
    assert!(!stderr.contains("Redis not reachable yet"), "{stderr}");
    assert!(!stderr.contains("not-the-password"), "{stderr}");

    let (_dir, empty) = password_file("\n");
    let missing = empty.with_file_name("absent");
    for (file, expected) in [
        (
            &empty,
            "the first line is empty; it must hold the Redis password".to_owned(),
        ),
        (
            &missing,
            format!("reading --redis-password-file {}", missing.display()),
        ),
    ] {
        let stderr = failing_run(&[
            "--redis-url",
            &url,
            "--redis-password-file",
            &file.to_string_lossy(),
        ])
        .await;
        assert!(stderr.contains(&expected), "{stderr}");
    }
}
