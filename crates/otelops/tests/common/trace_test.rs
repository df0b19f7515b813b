//! Helpers of the `otelops test` scenarios (`tests/trace_test*.rs`): the
//! booking system the shipped definitions run against — real
//! `parker-fares`, the demo's fault relay (the first order gets a 503) and
//! real `parker-booking`, on the memory store or a real `redis-server` —
//! the variables the definitions read, and `otelops test run` as a child.
//!
//! Included as `#[path = "common/trace_test.rs"] mod tt;` next to
//! `mod common;` and `#[path = "common/collector/mod.rs"] mod support;`
//! (whose `Service` and `Artifacts` it uses).
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use otelops::demo::relay::Relay;

use crate::common::{self, Run};
use crate::support::artifacts::Artifacts;
use crate::support::services::{Otlp, Service, civil_date};

/// Bound on one `otelops test run` (its own polling timeout is shorter).
pub const RUN_LIMIT: Duration = Duration::from_secs(120);

/// A shipped definition: `tests/tracetest/<name>` at the repository root.
pub fn shipped(name: &str) -> String {
    common::repo_root()
        .join("tests/tracetest")
        .join(name)
        .display()
        .to_string()
}

/// A throwaway `redis-server` ($PARKER_REDIS_SERVER) on a free loopback
/// port, without persistence unless a redis.conf asks for it; killed on drop.
pub struct Redis {
    pub port: u16,
    child: Child,
}

impl Redis {
    pub fn start(art: &Artifacts) -> Redis {
        Redis::spawn(None, &["--save", "", "--appendonly", "no"], art)
    }

    /// Started with the redis.conf at `conf`, its network and data settings
    /// overridden for the test: loopback, a free port, `dir` (arguments
    /// after the file win over it; a `dir` in the file must exist, though).
    pub fn start_with_conf(conf: &Path, dir: &Path, art: &Artifacts) -> Redis {
        let dir = dir.to_str().expect("a UTF-8 temporary directory");
        Redis::spawn(Some(conf), &["--dir", dir], art)
    }

    /// redis-server [CONF] --port P --bind 127.0.0.1 ARGS… (a config file
    /// must come first; the arguments after it win over it).
    fn spawn(conf: Option<&Path>, args: &[&str], art: &Artifacts) -> Redis {
        let binary = std::env::var_os("PARKER_REDIS_SERVER")
            .map(PathBuf::from)
            .expect(
                "PARKER_REDIS_SERVER names redis-server (eval \"$(./scripts/install-test-deps)\")",
            );
        let port = common::free_port();
        let log = std::fs::File::create(art.path("redis.log")).expect("create redis.log");
        let child = Command::new(&binary)
            .args(conf)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "redis-server did not listen on {port}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Redis { port, child }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// parker-fares, the fault relay and parker-booking, exporting traces to
/// `endpoint` over OTLP/HTTP protobuf.
pub struct BookingSystem {
    pub fares: Service,
    pub relay: Relay,
    pub booking: Service,
}

impl BookingSystem {
    pub async fn start(endpoint: &str, redis: Option<&Redis>, art: &Artifacts) -> BookingSystem {
        let fares = Service::start("parker-fares", Otlp::HttpProtobuf, endpoint, &[], art).await;
        let fares_addr: SocketAddr = fares.addr.parse().expect("fares listens on ip:port");
        let relay = Relay::start("127.0.0.1:0".parse().expect("loopback"), fares_addr)
            .await
            .expect("start the fault relay");
        let relay_url = format!("http://{}", relay.listen);
        let redis_url = redis.map(Redis::url);
        let mut env = vec![
            ("PARKER_FARES_URL", relay_url.as_str()),
            ("PARKER_WORKER_POLL_MS", "50"),
            ("PARKER_RETRY_BASE_MS", "100"),
            ("PARKER_SHUTDOWN_GRACE_MS", "2000"),
        ];
        if let Some(url) = &redis_url {
            env.push(("PARKER_REDIS_URL", url));
        }
        let booking =
            Service::start("parker-booking", Otlp::HttpProtobuf, endpoint, &env, art).await;
        BookingSystem {
            fares,
            relay,
            booking,
        }
    }

    /// The variables the shipped definitions read. A week of departures
    /// (as the collector scenarios use) so an economy offer always exists;
    /// the idempotency key is new per run.
    pub fn definition_env(&self) -> Vec<(String, String)> {
        let today = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock after 1970")
            .as_secs()
            / 86_400;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock after 1970")
            .as_nanos();
        vec![
            ("PARKER_BOOKING_URL".into(), self.booking.url("")),
            ("DEPARTURE_FROM".into(), civil_date(today + 30)),
            ("DEPARTURE_TO".into(), civil_date(today + 36)),
            ("BOOKING_KEY".into(), format!("trace-test-{nanos}")),
        ]
    }
}

/// `otelops test run ARGS` with `env`, bounded by [`RUN_LIMIT`], off the
/// async runtime (the relay runs on it meanwhile).
pub async fn otelops_test(args: Vec<String>, env: Vec<(String, String)>) -> Run {
    tokio::task::spawn_blocking(move || {
        let mut cmd = common::otelops_command();
        cmd.arg("test").args(&args).envs(env);
        common::run_bounded(&mut cmd, RUN_LIMIT).into()
    })
    .await
    .expect("otelops test run did not panic")
}

/// Asserts the run exited `code`, showing everything it printed if not.
pub fn assert_exit(run: &Run, code: i32) {
    assert_eq!(
        run.code, code,
        "otelops test exited {} (expected {code})\nstdout:\n{}\nstderr:\n{}",
        run.code, run.stdout, run.stderr
    );
}
