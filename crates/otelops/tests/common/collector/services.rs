//! The real `parker-fares` and `parker-booking` binaries as child processes
//! on loopback, exporting their traces over OTLP wherever a scenario points
//! them, plus a client that drives one booking until it is booked.
//!
//! The binaries are the ones cargo built next to the `otelops` binary under
//! test; if they are missing they are built once (`cargo build -p
//! parker-fares -p parker-booking`).

use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use super::artifacts::Artifacts;
use super::wait_until;

pub use crate::common::parker_service as binary;

/// How a service exports its traces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Otlp {
    Grpc,
    HttpProtobuf,
}

impl Otlp {
    /// `OTEL_EXPORTER_OTLP_PROTOCOL`.
    pub fn protocol(self) -> &'static str {
        match self {
            Otlp::Grpc => "grpc",
            Otlp::HttpProtobuf => "http/protobuf",
        }
    }

    /// The collector receiver's `transport` label for this protocol.
    pub fn transport(self) -> &'static str {
        match self {
            Otlp::Grpc => "grpc",
            Otlp::HttpProtobuf => "http",
        }
    }
}

/// A running service; killed on drop if it was not stopped.
pub struct Service {
    pub name: String,
    pub addr: String,
    child: Option<Child>,
    pid: u32,
    log: PathBuf,
}

impl Service {
    /// Starts `name` (a binary from [`binary`]) listening on a free loopback
    /// port, exporting traces only (metrics and logs off: the scenarios look
    /// at traces) with a short batch delay; waits (≤ 20 s) for `/healthz`.
    /// Inherited `OTEL_*`/`PARKER_*` variables are removed and the working
    /// directory is the artifacts dir, so nothing from the test's
    /// environment (or a `.env` file) changes what the service sends.
    pub async fn start(
        name: &str,
        otlp: Otlp,
        endpoint: &str,
        extra_env: &[(&str, &str)],
        art: &Artifacts,
    ) -> Service {
        let tuning = [
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
            ("OTEL_METRICS_EXPORTER", "none"),
            ("OTEL_LOGS_EXPORTER", "none"),
        ];
        Self::launch(name, otlp, endpoint, &tuning, extra_env, art).await
    }

    /// As [`start`](Self::start), but with parker-telemetry's defaults:
    /// only the endpoint and protocol are set, so traces, metrics and logs
    /// are all exported, batched and retried as a deployment with no
    /// `OTEL_*` tuning does.
    pub async fn start_untuned(
        name: &str,
        otlp: Otlp,
        endpoint: &str,
        extra_env: &[(&str, &str)],
        art: &Artifacts,
    ) -> Service {
        Self::launch(name, otlp, endpoint, &[], extra_env, art).await
    }

    async fn launch(
        name: &str,
        otlp: Otlp,
        endpoint: &str,
        tuning: &[(&str, &str)],
        extra_env: &[(&str, &str)],
        art: &Artifacts,
    ) -> Service {
        let addr = format!("127.0.0.1:{}", super::free_port());
        let log = art.path(&format!("{name}.log"));
        let file = std::fs::File::create(&log)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", log.display()));
        let mut cmd = Command::new(binary(name));
        for (key, _) in std::env::vars_os() {
            let k = key.to_string_lossy();
            if k.starts_with("OTEL_") || k.starts_with("PARKER_") {
                cmd.env_remove(&key);
            }
        }
        cmd.current_dir(art.dir())
            .env("PARKER_LISTEN", &addr)
            .env("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
            .env("OTEL_EXPORTER_OTLP_PROTOCOL", otlp.protocol())
            .envs(tuning.iter().copied())
            .envs(extra_env.iter().copied())
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("clone log handle"))
            .stderr(file);
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        let pid = child.id();
        art.note(&format!(
            "{name} started on {addr} (pid {pid}), OTLP {} to {endpoint}",
            otlp.protocol()
        ));
        let service = Service {
            name: name.to_owned(),
            addr,
            child: Some(child),
            pid,
            log,
        };
        service.wait_healthy().await;
        service
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    async fn wait_healthy(&self) {
        let client = super::sender::client();
        let url = self.url("/healthz");
        wait_until(
            &format!("{} healthy at {url}", self.name),
            Duration::from_secs(20),
            || async {
                match client.get(&url).send().await {
                    Ok(r) if r.status() == 200 => Ok(()),
                    Ok(r) => Err(format!("HTTP {}", r.status())),
                    Err(e) => Err(format!("{e}; log:\n{}", self.log())),
                }
            },
        )
        .await
    }

    /// SIGTERM, then waits (≤ 15 s) for the exit: the services flush their
    /// span batches on the way out, so after this everything they recorded
    /// has been handed to the exporter's endpoint.
    pub async fn stop(&mut self) -> ExitStatus {
        let pid = self.pid;
        let st = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .expect("run kill -TERM");
        assert!(
            st.success(),
            "kill -TERM {pid} ({}) failed: {st}",
            self.name
        );
        let child = self.child.as_mut().expect("service not running");
        let status = wait_until(
            &format!("{} (pid {pid}) to exit after SIGTERM", self.name),
            Duration::from_secs(15),
            || {
                let r = child
                    .try_wait()
                    .map_err(|e| e.to_string())
                    .and_then(|s| s.ok_or_else(|| "still running".to_owned()));
                async move { r }
            },
        )
        .await;
        self.child = None;
        status
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The version a service binary reports (`parker-booking --version` prints
/// `parker-booking 0.1.0`): what its resource must say as service.version.
pub fn version(name: &str) -> String {
    let out = Command::new(binary(name))
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {name} --version: {e}"));
    let text = String::from_utf8_lossy(&out.stdout);
    text.trim()
        .strip_prefix(name)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| panic!("{name} --version printed {text:?}"))
}

/// What driving one booking produced.
#[derive(Debug, Clone)]
pub struct Booked {
    pub id: String,
    /// `GET /v1/bookings/{id}` once booked.
    pub record: serde_json::Value,
}

/// POSTs one booking with the W3C `traceparent` given (so the trace id the
/// server span must carry is known up front), then polls it (≤ 30 s) until
/// it is booked; a booking that ends any other way fails the scenario.
/// (A search that finds nothing would wait `PARKER_RECHECK_MS`, 30 s by
/// default, and run out this bound: a clear timeout, not a hang.)
pub async fn book_one(booking: &Service, traceparent: &str, art: &Artifacts) -> Booked {
    book_at(&booking.url(""), traceparent, art).await
}

/// [`book_one`] against the parker-booking at `base` (`http://host:port`),
/// e.g. one running in a container.
pub async fn book_at(base: &str, traceparent: &str, art: &Artifacts) -> Booked {
    let client = super::sender::client();
    let today = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
        / 86_400;
    let body = serde_json::json!({
        "traveller": {"name": "Ada Lovelace", "email": "ada@example.com"},
        "origin": "JFK",
        "destination": "LHR",
        // A week: the offers change with the date, and a day may have no
        // economy seat; seven in a row without one is ~1 in 10⁸ (and any
        // economy fare of this route is below max_price).
        "departure": {"from": civil_date(today + 30), "to": civil_date(today + 36)},
        "max_price": {"amount": "900.00", "currency": "EUR"},
        "cabin": "economy",
        "passengers": 1,
    });
    let url = format!("{base}/v1/bookings");
    let resp = client
        .post(&url)
        .header("traceparent", traceparent)
        .header("idempotency-key", "collector-e2e-1")
        .json(&body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST {url}: {e}"));
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    assert_eq!(status, 202, "POST {url} answered {status}: {text}");
    let accepted: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("POST {url} body {text:?}: {e}"));
    let id = accepted["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {accepted}"))
        .to_owned();
    art.note(&format!("booking {id} accepted"));
    let url = format!("{base}/v1/bookings/{id}");
    let record: serde_json::Value = wait_until(
        &format!("booking {id} to be booked"),
        Duration::from_secs(30),
        || async {
            let r = client.get(&url).send().await.map_err(|e| e.to_string())?;
            let v: serde_json::Value = r.json().await.map_err(|e| e.to_string())?;
            match v["status"].as_str() {
                Some("booked") => Ok(v),
                Some("pending" | "ordering") => Err(v.to_string()),
                _ => panic!("booking {id} ended without being booked: {v}"),
            }
        },
    )
    .await;
    art.note(&format!("booking {id} booked"));
    art.save(
        "booking-record.json",
        &serde_json::to_string_pretty(&record).unwrap_or_default(),
    );
    Booked { id, record }
}

/// `YYYY-MM-DD` of a day counted from 1970-01-01 (Howard Hinnant's
/// civil-from-days; a date crate for two dates in a test is not worth it).
pub fn civil_date(days: u64) -> String {
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}
