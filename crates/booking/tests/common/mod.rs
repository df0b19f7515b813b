//! Shared helpers for the booking integration tests: spawn the real
//! `parker-booking` and `parker-fares` binaries and a real `redis-server`
//! (or a real Redis Cluster of six) on loopback, talk HTTP to them, and
//! clean everything up on drop.
#![allow(dead_code)] // each test file uses a different subset

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// Every wait in these tests is bounded by one of these.
pub const START_TIMEOUT: Duration = Duration::from_secs(20);
pub const FLOW_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    Memory,
    Redis,
    /// Redis Cluster: 3 primaries with a replica each.
    Cluster,
}

/// Generates one `#[tokio::test]` per store (memory, one Redis, Redis
/// Cluster) for `async fn $name(StoreKind)`.
#[macro_export]
macro_rules! on_both_stores {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn memory() {
                super::$name($crate::common::StoreKind::Memory).await
            }
            $crate::on_redis_and_cluster!(@tests $name);
        }
    )*};
}

/// Generates one `#[tokio::test]` on one Redis and one on Redis Cluster
/// for `async fn $name(StoreKind)`.
#[macro_export]
macro_rules! on_redis_and_cluster {
    (@tests $name:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn redis() {
            super::$name($crate::common::StoreKind::Redis).await
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn cluster() {
            super::$name($crate::common::StoreKind::Cluster).await
        }
    };
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            $crate::on_redis_and_cluster!(@tests $name);
        }
    )*};
}

/// A child process killed (SIGKILL) and reaped on drop.
pub struct Proc {
    pub name: String,
    child: Child,
    pub log: PathBuf,
}

impl Proc {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `kill -9`: no shutdown code runs, like a crashed node.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then wait (bounded) for a clean exit; returns the exit status.
    pub fn terminate(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn log_path(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("parker-booking-logs");
    std::fs::create_dir_all(&dir).expect("the cargo target tmp dir is writable");
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    dir.join(format!("{name}-{}-{nanos}.log", std::process::id()))
}

/// Spawns `cmd`, sends stderr to a log file, and waits for the
/// "listening on http://ADDR" line on stdout; returns the process and base URL.
fn spawn_service(name: &str, mut cmd: Command) -> (Proc, String) {
    let log = log_path(name);
    let file = std::fs::File::create(&log).expect("creating a log file");
    cmd.stdout(Stdio::piped())
        .stderr(Stdio::from(file))
        .stdin(Stdio::null())
        // Away from the repository so no config/.env.otel is picked up.
        .current_dir(env!("CARGO_TARGET_TMPDIR"));
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("spawning {name}: {e}"));
    let stdout = child.stdout.take().expect("stdout is piped");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("listening on ").nth(1) {
                let url = rest
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_owned();
                let _ = tx.send(url);
            }
        }
    });
    let proc = Proc {
        name: name.to_owned(),
        child,
        log,
    };
    match rx.recv_timeout(START_TIMEOUT) {
        Ok(url) => (proc, url),
        Err(_) => panic!(
            "{name} did not report its address within {START_TIMEOUT:?}; log:\n{}",
            proc.log_text()
        ),
    }
}

fn sibling_binary(name: &str) -> PathBuf {
    let booking = PathBuf::from(env!("CARGO_BIN_EXE_parker-booking"));
    let path = booking.with_file_name(name);
    assert!(
        path.exists(),
        "{} not found: build it with `cargo build -p parker-fares` (./scripts/test and \
         `cargo test --workspace` do)",
        path.display()
    );
    path
}

/// Where spawned services send telemetry.
#[derive(Clone, Default)]
pub enum Telemetry {
    /// `OTEL_SDK_DISABLED=true`.
    #[default]
    Off,
    /// OTLP/gRPC to this endpoint, with short export intervals.
    Otlp(String),
}

impl Telemetry {
    fn apply(&self, cmd: &mut Command) {
        // The developer's own OTEL_* settings must not redirect the test's data.
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("OTEL_") {
                cmd.env_remove(key);
            }
        }
        cmd.env("RUST_LOG", "info,h2=warn,hyper=warn,tower=warn");
        match self {
            Telemetry::Off => {
                cmd.env("OTEL_SDK_DISABLED", "true");
            }
            Telemetry::Otlp(endpoint) => {
                cmd.env("OTEL_SDK_DISABLED", "false")
                    .env("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
                    .env("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
                    .env("OTEL_TRACES_SAMPLER", "always_on")
                    .env("OTEL_BSP_SCHEDULE_DELAY", "100")
                    .env("OTEL_BLRP_SCHEDULE_DELAY", "100")
                    .env("OTEL_METRIC_EXPORT_INTERVAL", "300");
            }
        }
    }
}

/// Options for the fare provider.
#[derive(Clone, Default)]
pub struct FaresOptions {
    pub args: Vec<String>,
    pub telemetry: Telemetry,
}

pub fn start_fares(opts: &FaresOptions) -> (Proc, String) {
    let mut cmd = Command::new(sibling_binary("parker-fares"));
    cmd.args(["--listen", "127.0.0.1:0"]).args(&opts.args);
    opts.telemetry.apply(&mut cmd);
    spawn_service("parker-fares", cmd)
}

/// Options for one booking process.
#[derive(Clone, Default)]
pub struct BookingOptions {
    pub fares_url: String,
    /// `--redis-url …` or `--redis-cluster …` ([`Backend::args`]); empty →
    /// the embedded in-memory store.
    pub store_args: Vec<String>,
    /// Fixed listen address (for restarts on the same port); else port 0.
    pub listen: Option<String>,
    pub args: Vec<String>,
    /// Extra environment of the process.
    pub env: Vec<(String, String)>,
    pub telemetry: Telemetry,
}

pub fn start_booking(opts: &BookingOptions) -> (Proc, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_parker-booking"));
    // Flags through the environment, as a container would set them.
    cmd.env(
        "PARKER_LISTEN",
        opts.listen.as_deref().unwrap_or("127.0.0.1:0"),
    )
    .env("PARKER_FARES_URL", &opts.fares_url)
    // Fast loops so tests finish quickly.
    .env("PARKER_WORKER_POLL_MS", "50")
    .env("PARKER_RETRY_BASE_MS", "50")
    .env("PARKER_RECHECK_MS", "100")
    .env("PARKER_MAX_SEARCHES", "3")
    .envs(opts.env.iter().map(|(k, v)| (k, v)))
    .args(&opts.store_args)
    .args(&opts.args);
    opts.telemetry.apply(&mut cmd);
    spawn_service("parker-booking", cmd)
}

/// A port for servers that must come back on the same port (Redis after a
/// restart) or advertise it (cluster nodes); everything else binds port 0.
/// Below the ephemeral range (see `parker_testkit`): while such a server is
/// down, clients keep reconnecting to its port, and a port inside the range
/// could meanwhile become another process's `bind(0)` port.
pub use parker_testkit::free_port;

/// A throwaway `redis-server` on a loopback port, no persistence.
pub struct Redis {
    pub port: u16,
    proc: Option<Proc>,
    /// Flags it starts (and restarts) with.
    extra: Vec<String>,
}

/// A Redis binary: `$var`, else `name` on PATH.
fn redis_tool(var: &str, name: &str) -> PathBuf {
    if let Some(path) = std::env::var_os(var) {
        return PathBuf::from(path);
    }
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    });
    found.unwrap_or_else(|| {
        panic!(
            "{name} not found ({var} unset, not on PATH): \
             run ./scripts/test, which installs it"
        )
    })
}

fn redis_binary() -> PathBuf {
    redis_tool("PARKER_REDIS_SERVER", "redis-server")
}

impl Redis {
    pub fn start() -> Redis {
        Self::start_with(Vec::new())
    }

    /// A server that requires `password` (`requirepass`).
    pub fn start_with_password(password: &str) -> Redis {
        Self::start_with(vec!["--requirepass".into(), password.into()])
    }

    fn start_with(extra: Vec<String>) -> Redis {
        let mut redis = Redis {
            port: free_port(),
            proc: None,
            extra,
        };
        redis.restart();
        redis
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// Starts (again) on the same port.
    pub fn restart(&mut self) {
        let extra: Vec<&str> = self.extra.iter().map(String::as_str).collect();
        self.proc = Some(spawn_redis_server(self.port, &extra, "redis-server".into()));
    }

    pub fn stop(&mut self) {
        if let Some(mut p) = self.proc.take() {
            p.kill9();
        }
    }
}

/// A `redis-server` on `port` of loopback, no persistence, with `extra`
/// flags; returns once it listens.
fn spawn_redis_server(port: u16, extra: &[&str], name: String) -> Proc {
    let log = log_path("redis");
    let file = std::fs::File::create(&log).expect("creating a log file");
    let child = Command::new(redis_binary())
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
        .args(extra)
        .stdout(Stdio::from(file))
        .stderr(Stdio::null())
        .stdin(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("spawning redis-server: {e}"));
    let proc = Proc { name, child, log };
    wait_listening(port, &proc);
    proc
}

/// Waits until a process listens on `port` of loopback.
fn wait_listening(port: u16, proc: &Proc) {
    let deadline = Instant::now() + START_TIMEOUT;
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "{} did not listen on {port} within {START_TIMEOUT:?}; log:\n{}",
            proc.name,
            proc.log_text()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// One node of a [`RedisCluster`], in a directory of its own (its
/// `nodes.conf`).
pub struct ClusterNode {
    pub port: u16,
    proc: Proc,
    dir: PathBuf,
}

/// A real Redis Cluster on loopback: six `redis-server --cluster-enabled
/// yes`, formed by `redis-cli --cluster create --cluster-replicas 1` into 3
/// primaries with a replica each. Killed and its directories removed on drop.
pub struct RedisCluster {
    pub nodes: Vec<ClusterNode>,
    /// Every node's `requirepass` (and `masterauth`), if any.
    password: Option<String>,
}

/// `redis-cli -p PORT ARGS…`'s stdout; panics naming the command on failure.
pub fn redis_cli(port: u16, args: &[&str]) -> String {
    redis_cli_as(port, None, args)
}

/// [`redis_cli`] with `password` for `AUTH` (through `REDISCLI_AUTH`, not a flag).
pub fn redis_cli_as(port: u16, password: Option<&str>, args: &[&str]) -> String {
    let mut cmd = Command::new(redis_tool("PARKER_REDIS_CLI", "redis-cli"));
    cmd.args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(args)
        .env_remove("REDISCLI_AUTH")
        .stdin(Stdio::null());
    if let Some(password) = password {
        cmd.env("REDISCLI_AUTH", password);
    }
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("running redis-cli: {e}"));
    assert!(
        out.status.success(),
        "redis-cli -p {port} {args:?}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Polls `check` every 50 ms until it holds; panics with `what` after
/// [`START_TIMEOUT`].
fn wait_until(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + START_TIMEOUT;
    while !check() {
        assert!(Instant::now() < deadline, "{what} within {START_TIMEOUT:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl RedisCluster {
    pub fn start() -> RedisCluster {
        Self::start_with(None)
    }

    /// A cluster whose nodes require `password` (of each other too).
    pub fn start_with_password(password: &str) -> RedisCluster {
        Self::start_with(Some(password))
    }

    fn start_with(password: Option<&str>) -> RedisCluster {
        let base = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("parker-redis-cluster");
        let mut nodes = Vec::new();
        for _ in 0..6 {
            let (port, bus_port) = (free_port(), free_port().to_string());
            let dir = base.join(format!("{}-{port}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).expect("creating a cluster node directory");
            let dir_text = dir.to_string_lossy();
            let mut cluster_args = vec![
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                "nodes.conf",
                "--cluster-port",
                &bus_port,
                // A failed primary is noticed within a second.
                "--cluster-node-timeout",
                "1000",
                "--dir",
                &dir_text,
            ];
            if let Some(password) = password {
                cluster_args.extend(["--requirepass", password, "--masterauth", password]);
            }
            let proc = spawn_redis_server(
                port,
                &cluster_args,
                format!("redis-server (cluster node {port})"),
            );
            nodes.push(ClusterNode { port, proc, dir });
        }
        let cluster = RedisCluster {
            nodes,
            password: password.map(str::to_owned),
        };
        let addresses: Vec<String> = cluster
            .nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect();
        let mut create = vec!["--cluster", "create"];
        create.extend(addresses.iter().map(String::as_str));
        create.extend(["--cluster-replicas", "1", "--cluster-yes"]);
        cluster.cli(cluster.nodes[0].port, &create);
        for node in &cluster.nodes {
            wait_until(
                &format!("cluster node {} reports cluster_state:ok", node.port),
                || {
                    cluster
                        .cli(node.port, &["CLUSTER", "INFO"])
                        .contains("cluster_state:ok")
                },
            );
        }
        // Replicas in sync, so a failover has something to take over.
        for node in cluster.replicas() {
            wait_until(&format!("replica {node} in sync with its primary"), || {
                cluster
                    .cli(node, &["INFO", "replication"])
                    .contains("master_link_status:up")
            });
        }
        cluster
    }

    /// `redis-cli` on one node, with the cluster's password.
    pub fn cli(&self, port: u16, args: &[&str]) -> String {
        redis_cli_as(port, self.password.as_deref(), args)
    }

    /// `--redis-cluster`'s value: every node as a seed.
    pub fn seeds(&self) -> String {
        self.nodes
            .iter()
            .map(|n| format!("redis://127.0.0.1:{}", n.port))
            .collect::<Vec<_>>()
            .join(",")
    }

    fn role(&self, port: u16) -> String {
        let info = self.cli(port, &["INFO", "replication"]);
        info.lines()
            .find_map(|l| l.trim().strip_prefix("role:"))
            .unwrap_or("?")
            .to_owned()
    }

    /// Ports of the nodes that are replicas now.
    pub fn replicas(&self) -> Vec<u16> {
        self.nodes
            .iter()
            .map(|n| n.port)
            .filter(|p| self.role(*p) == "slave")
            .collect()
    }

    /// Fails over one primary: `CLUSTER FAILOVER` on a replica, which
    /// (coordinated with its primary, so no acknowledged write is lost)
    /// becomes primary; the old primary, now a replica, is then killed
    /// (`kill -9`). Returns (old primary, new primary) ports.
    /// A replica and the port of the primary it follows.
    fn replica_and_its_primary(&self) -> (u16, u16) {
        let replica = self.replicas()[0];
        let info = self.cli(replica, &["INFO", "replication"]);
        let primary: u16 = info
            .lines()
            .find_map(|l| l.trim().strip_prefix("master_port:"))
            .and_then(|p| p.trim().parse().ok())
            .expect("a replica names its primary's port");
        (replica, primary)
    }

    /// Freezes one primary (`SIGSTOP`: its sockets stay open and nothing
    /// answers, like a host gone from the network) and waits until the
    /// cluster has promoted its replica; returns (old primary, new primary).
    /// The frozen node is killed on drop.
    pub fn freeze_one_primary(&self) -> (u16, u16) {
        let (replica, primary) = self.replica_and_its_primary();
        let old = self
            .nodes
            .iter()
            .find(|n| n.port == primary)
            .expect("the primary is one of the nodes");
        let stopped = Command::new("kill")
            .args(["-STOP", &old.proc.pid().to_string()])
            .status()
            .expect("running kill -STOP");
        assert!(stopped.success(), "kill -STOP of the primary on {primary}");
        wait_until(&format!("replica {replica} promoted to primary"), || {
            self.role(replica) == "master"
        });
        (primary, replica)
    }

    /// A manual failover of one primary to its replica, then `kill -9` of
    /// the old primary; returns (old primary, new primary).
    pub fn fail_over_one(&mut self) -> (u16, u16) {
        let (replica, primary) = self.replica_and_its_primary();
        self.cli(replica, &["CLUSTER", "FAILOVER"]);
        wait_until(&format!("replica {replica} became primary"), || {
            self.role(replica) == "master"
        });
        let old = self
            .nodes
            .iter_mut()
            .find(|n| n.port == primary)
            .expect("the old primary is one of the nodes");
        old.proc.kill9();
        let alive: Vec<u16> = self
            .nodes
            .iter()
            .filter(|n| n.port != primary)
            .map(|n| n.port)
            .collect();
        for port in alive {
            wait_until(
                &format!("cluster node {port} reports cluster_state:ok"),
                || {
                    self.cli(port, &["CLUSTER", "INFO"])
                        .contains("cluster_state:ok")
                },
            );
        }
        (primary, replica)
    }
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            node.proc.kill9();
            let _ = std::fs::remove_dir_all(&node.dir);
        }
    }
}

/// The Redis that booking processes share: one server or a cluster.
pub enum Backend {
    Single(Redis),
    Cluster(RedisCluster),
}

impl Backend {
    /// A fresh backend of `kind`; `None` for the in-memory store.
    pub fn start(kind: StoreKind) -> Option<Backend> {
        match kind {
            StoreKind::Memory => None,
            StoreKind::Redis => Some(Backend::Single(Redis::start())),
            StoreKind::Cluster => Some(Backend::Cluster(RedisCluster::start())),
        }
    }

    /// The booking flags that select it.
    pub fn args(&self) -> Vec<String> {
        match self {
            Backend::Single(r) => vec!["--redis-url".into(), r.url()],
            Backend::Cluster(c) => vec!["--redis-cluster".into(), c.seeds()],
        }
    }

    /// The port Redis spans name: the server's, or the first seed node's.
    pub fn span_port(&self) -> u16 {
        match self {
            Backend::Single(r) => r.port,
            Backend::Cluster(c) => c.nodes[0].port,
        }
    }
}

/// A valid parsed booking request, for tests that call the store directly.
pub fn stored_request() -> parker_booking::domain::BookingRequest {
    let from = parker_booking::domain::today_utc()
        .checked_add(jiff::Span::new().days(10))
        .expect("a date in range");
    serde_json::from_value(json!({
        "traveller": {"name": "Ada", "email": "ada@example.com"},
        "origin": "JFK", "destination": "LHR",
        "departure": {"from": from.to_string(), "to": from.to_string()},
        "max_price": {"amount": "500", "currency": "EUR"},
        "cabin": "economy", "passengers": 1
    }))
    .expect("a valid booking request")
}

/// A `RedisStore` (prefix `prefix`) on a fresh `redis-server`.
pub async fn store_on_redis(prefix: &str) -> (Redis, parker_booking::store::redis::RedisStore) {
    let server = Redis::start();
    let store = parker_booking::store::redis::RedisStore::connect(&server.url(), prefix)
        .await
        .expect("connecting to the test's redis-server");
    (server, store)
}

/// A `RedisStore` (prefix `prefix`) on a fresh cluster.
pub async fn store_on_cluster(
    prefix: &str,
) -> (RedisCluster, parker_booking::store::redis::RedisStore) {
    let cluster = RedisCluster::start();
    let endpoint = parker_booking::store::redis::Endpoint::cluster(&cluster.seeds());
    let store = parker_booking::store::redis::RedisStore::connect_to(&endpoint, prefix, None)
        .await
        .expect("connecting to the test's cluster");
    (cluster, store)
}

/// An HTTP client whose every request is bounded.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("a default reqwest client builds")
}

pub fn days_from_now(days: i64) -> String {
    let today = jiff::tz::TimeZone::UTC
        .to_datetime(jiff::Timestamp::now())
        .date();
    today
        .checked_add(jiff::Span::new().days(days))
        .expect("dates in range")
        .to_string()
}

/// A valid booking request; tweak fields with `body["x"] = ...`.
pub fn booking_body(origin: &str, destination: &str, max_price: &str) -> Value {
    json!({
        "traveller": { "name": "Ada Lovelace", "email": "ada@example.com" },
        "origin": origin,
        "destination": destination,
        "departure": { "from": days_from_now(30), "to": days_from_now(32) },
        "max_price": { "amount": max_price, "currency": "EUR" },
        "cabin": "economy",
        "passengers": 1
    })
}

/// `body` with the field at `path` (object keys) set to `value`.
pub fn with(mut body: Value, path: &[&str], value: Value) -> Value {
    let mut at = &mut body;
    for key in &path[..path.len() - 1] {
        at = &mut at[*key];
    }
    at[path[path.len() - 1]] = value;
    body
}

pub async fn create(client: &reqwest::Client, base: &str, body: &Value) -> (u16, Value) {
    let r = client
        .post(format!("{base}/v1/bookings"))
        .json(body)
        .send()
        .await
        .expect("POST /v1/bookings answers");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// The JSON body of `GET url`.
pub async fn get_json(client: &reqwest::Client, url: &str) -> Value {
    client
        .get(url)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"))
        .json()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: the body is not JSON: {e}"))
}

pub async fn get_booking(client: &reqwest::Client, base: &str, id: &str) -> Value {
    get_json(client, &format!("{base}/v1/bookings/{id}")).await
}

pub fn is_final(status: &str) -> bool {
    matches!(status, "booked" | "failed" | "expired" | "cancelled")
}

/// Polls until the booking is final; panics with its last state otherwise.
pub async fn wait_final(
    client: &reqwest::Client,
    base: &str,
    id: &str,
    timeout: Duration,
) -> Value {
    let deadline = Instant::now() + timeout;
    loop {
        let b = get_booking(client, base, id).await;
        if b["status"].as_str().is_some_and(is_final) {
            return b;
        }
        assert!(
            Instant::now() < deadline,
            "booking {id} not final after {timeout:?}: {b:#}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Every order the fare provider holds.
pub async fn fares_orders(client: &reqwest::Client, fares: &str) -> Vec<Value> {
    let list: Value = client
        .get(format!("{fares}/v1/orders"))
        .send()
        .await
        .expect("GET /v1/orders answers")
        .json()
        .await
        .expect("orders are JSON");
    list["orders"].as_array().cloned().unwrap_or_default()
}

/// Asserts an RFC 9457 problem response and returns its body.
pub async fn expect_problem(response: reqwest::Response, status: u16) -> Value {
    assert_eq!(
        response.status().as_u16(),
        status,
        "status of {:?}",
        response.url().path()
    );
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(content_type, "application/problem+json");
    let body: Value = response.json().await.expect("a problem is JSON");
    assert_eq!(body["status"], status);
    assert!(
        body["type"].is_string() && body["title"].is_string(),
        "{body}"
    );
    assert!(
        body["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "problem without detail: {body}"
    );
    body
}

/// A running fares + booking pair on the given store.
pub struct Stack {
    pub fares: Proc,
    pub fares_url: String,
    pub booking: Proc,
    pub url: String,
    pub redis: Option<Backend>,
}

impl Stack {
    pub fn start(
        kind: StoreKind,
        fares: FaresOptions,
        booking_args: &[&str],
        telemetry: Telemetry,
    ) -> Stack {
        let redis = Backend::start(kind);
        let (fares_proc, fares_url) = start_fares(&fares);
        let (booking, url) = start_booking(&BookingOptions {
            fares_url: fares_url.clone(),
            store_args: redis.as_ref().map(Backend::args).unwrap_or_default(),
            args: booking_args.iter().map(|s| s.to_string()).collect(),
            telemetry,
            ..BookingOptions::default()
        });
        Stack {
            fares: fares_proc,
            fares_url,
            booking,
            url,
            redis,
        }
    }
}

/// Runs parker-booking with `args` (no store variables from the caller's
/// environment), expects it to fail, and returns its stderr.
pub async fn failing_run(args: &[&str]) -> String {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_parker-booking"));
    cmd.args(["--listen", "127.0.0.1:0"])
        .args(args)
        .env("OTEL_SDK_DISABLED", "true")
        .env_remove("PARKER_REDIS_URL")
        .env_remove("PARKER_REDIS_CLUSTER")
        .env_remove("PARKER_REDIS_PASSWORD_FILE")
        .current_dir(env!("CARGO_TARGET_TMPDIR"))
        .kill_on_drop(true);
    let output = tokio::time::timeout(START_TIMEOUT, cmd.output())
        .await
        .expect("parker-booking gives up within its connect timeout")
        .expect("running parker-booking");
    assert!(!output.status.success());
    String::from_utf8_lossy(&output.stderr).into_owned()
}
