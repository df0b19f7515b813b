//! Command line and environment configuration of `parker-booking`. Every
//! flag can also be set through its `PARKER_*` variable.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;

use crate::worker::WorkerConfig;

#[derive(Debug, Clone, Parser)]
#[command(
    name = "parker-booking",
    version,
    about = "Parker Flight auto-booking service"
)]
pub struct Config {
    /// Address to listen on.
    #[arg(long, env = "PARKER_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Base URL of the fare provider.
    #[arg(
        long,
        env = "PARKER_FARES_URL",
        default_value = "http://127.0.0.1:8081"
    )]
    pub fares_url: reqwest::Url,
    /// Redis URL (redis://host:port/db); absent → embedded in-memory store.
    #[arg(long, env = "PARKER_REDIS_URL", conflicts_with = "redis_cluster")]
    pub redis_url: Option<String>,
    /// Redis Cluster seed nodes, comma-separated redis:// URLs
    /// (redis://10.0.0.1:6379,redis://10.0.0.2:6379); the rest of the
    /// cluster is discovered from them.
    #[arg(long, env = "PARKER_REDIS_CLUSTER", value_name = "URLS")]
    pub redis_cluster: Option<String>,
    /// File whose first line is the Redis password (`requirepass`, or the
    /// ACL `default` user's), for --redis-url and --redis-cluster alike.
    #[arg(long, env = "PARKER_REDIS_PASSWORD_FILE", value_name = "FILE")]
    pub redis_password_file: Option<std::path::PathBuf>,
    /// How long to keep trying to reach Redis at startup, in milliseconds.
    #[arg(
        long,
        env = "PARKER_REDIS_CONNECT_TIMEOUT_MS",
        default_value_t = 30_000
    )]
    pub redis_connect_timeout_ms: u64,
    /// Prefix of every Redis key, so several deployments can share one Redis.
    #[arg(long, env = "PARKER_REDIS_PREFIX", default_value = "parker:")]
    pub redis_prefix: String,
    /// Serve `POST /test`, the W3C Trace Context test-service endpoint.
    #[arg(long, env = "PARKER_ENABLE_TEST_ENDPOINT")]
    pub enable_test_endpoint: bool,
    /// Run the API without the auto-booking worker.
    #[arg(long, env = "PARKER_DISABLE_WORKER")]
    pub disable_worker: bool,
    /// How often an idle worker looks for due bookings, in milliseconds.
    #[arg(long, env = "PARKER_WORKER_POLL_MS", default_value_t = 250)]
    pub worker_poll_ms: u64,
    /// Bookings one process works on at once.
    #[arg(long, env = "PARKER_WORKER_CONCURRENCY", default_value_t = 32)]
    pub worker_concurrency: usize,
    /// Length of a worker's lease on a booking, in milliseconds; a crashed
    /// worker's bookings are taken over after this.
    #[arg(long, env = "PARKER_LEASE_MS", default_value_t = 10_000)]
    pub lease_ms: u64,
    /// Transient provider failures in a row before a booking fails.
    #[arg(long, env = "PARKER_MAX_ATTEMPTS", default_value_t = 5)]
    pub max_attempts: u32,
    /// First retry delay after a transient failure (doubles each time), ms.
    #[arg(long, env = "PARKER_RETRY_BASE_MS", default_value_t = 200)]
    pub retry_base_ms: u64,
    /// Fare searches without a matching offer before a booking expires.
    #[arg(long, env = "PARKER_MAX_SEARCHES", default_value_t = 10)]
    pub max_searches: u32,
    /// Delay between fare searches for a booking, in milliseconds.
    #[arg(long, env = "PARKER_RECHECK_MS", default_value_t = 30_000)]
    pub recheck_ms: u64,
    /// Timeout of one call to the fare provider, in milliseconds.
    #[arg(long, env = "PARKER_FARES_TIMEOUT_MS", default_value_t = 5_000)]
    pub fares_timeout_ms: u64,
    /// On shutdown, how long in-flight work may take, in milliseconds.
    #[arg(long, env = "PARKER_SHUTDOWN_GRACE_MS", default_value_t = 10_000)]
    pub shutdown_grace_ms: u64,
}

impl Config {
    pub fn worker(&self) -> WorkerConfig {
        WorkerConfig {
            poll_interval: Duration::from_millis(self.worker_poll_ms.max(1)),
            concurrency: self.worker_concurrency.max(1),
            lease: Duration::from_millis(self.lease_ms.max(100)),
            max_attempts: self.max_attempts.max(1),
            retry_base: Duration::from_millis(self.retry_base_ms),
            max_searches: self.max_searches.max(1),
            recheck: Duration::from_millis(self.recheck_ms),
        }
    }
}
