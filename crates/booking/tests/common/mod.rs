//! Shared helpers for the booking integration tests: spawn the real
//! `parker-booking` and `parker-fares` binaries and a real `redis-server`
//! on loopback, talk HTTP to them, and clean everything up on drop.
#![allow(dead_code)] // each test file uses a different subset

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
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
}

/// Generates one `#[tokio::test]` per store for `async fn $name(StoreKind)`.
#[macro_export]
macro_rules! on_both_stores {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn memory() {
                super::$name($crate::common::StoreKind::Memory).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn redis() {
                super::$name($crate::common::StoreKind::Redis).await
            }
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
    pub redis_url: Option<String>,
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
    .args(&opts.args);
    if let Some(url) = &opts.redis_url {
        cmd.args(["--redis-url", url]);
    }
    opts.telemetry.apply(&mut cmd);
    spawn_service("parker-booking", cmd)
}

/// A port that was free a moment ago (for services that must come back on
/// the same port; everything else binds port 0).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("binding 127.0.0.1:0 works on loopback")
}

/// A throwaway `redis-server` on a loopback port, no persistence.
pub struct Redis {
    pub port: u16,
    proc: Option<Proc>,
}

fn redis_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("PARKER_REDIS_SERVER") {
        return PathBuf::from(path);
    }
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("redis-server"))
            .find(|p| p.is_file())
    });
    found.unwrap_or_else(|| {
        panic!(
            "redis-server not found (PARKER_REDIS_SERVER unset, not on PATH): \
             run ./scripts/test, which installs redis-server"
        )
    })
}

impl Redis {
    pub fn start() -> Redis {
        let mut redis = Redis {
            port: free_port(),
            proc: None,
        };
        redis.restart();
        redis
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// Starts (again) on the same port.
    pub fn restart(&mut self) {
        let log = log_path("redis");
        let file = std::fs::File::create(&log).expect("creating a log file");
        let child = Command::new(redis_binary())
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .stdout(Stdio::from(file))
            .stderr(Stdio::null())
            .stdin(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("spawning redis-server: {e}"));
        let proc = Proc {
            name: "redis".into(),
            child,
            log,
        };
        let deadline = Instant::now() + START_TIMEOUT;
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "redis-server did not listen on {} within {START_TIMEOUT:?}; log:\n{}",
                self.port,
                proc.log_text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        self.proc = Some(proc);
    }

    pub fn stop(&mut self) {
        if let Some(mut p) = self.proc.take() {
            p.kill9();
        }
    }
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
    pub redis: Option<Redis>,
}

impl Stack {
    pub fn start(
        kind: StoreKind,
        fares: FaresOptions,
        booking_args: &[&str],
        telemetry: Telemetry,
    ) -> Stack {
        let redis = (kind == StoreKind::Redis).then(Redis::start);
        let (fares_proc, fares_url) = start_fares(&fares);
        let (booking, url) = start_booking(&BookingOptions {
            fares_url: fares_url.clone(),
            redis_url: redis.as_ref().map(Redis::url),
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
