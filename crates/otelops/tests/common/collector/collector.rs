//! The real `otelcol-parker`, started from a config template with its ports
//! substituted, on loopback only. Stopped with SIGTERM, killed with SIGKILL,
//! restarted on the same ports; killed on drop so a failing test never
//! leaves a collector behind.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use super::artifacts::Artifacts;
use super::metrics::Page;
use super::wait_until;

pub use crate::common::otelcol_parker as binary;

/// Every port a collector of these templates listens on, plus the
/// downstream it exports to.
#[derive(Debug, Clone, Copy)]
pub struct Ports {
    pub otlp_grpc: u16,
    pub otlp_http: u16,
    pub health: u16,
    pub zpages: u16,
    pub metrics: u16,
    pub downstream: u16,
}

impl Ports {
    pub fn free() -> Ports {
        let next = super::free_port;
        Ports {
            otlp_grpc: next(),
            otlp_http: next(),
            health: next(),
            zpages: next(),
            metrics: next(),
            downstream: next(),
        }
    }

    pub fn health_url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.health)
    }
    pub fn metrics_url(&self) -> String {
        format!("http://127.0.0.1:{}/metrics", self.metrics)
    }
    pub fn otlp_grpc_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.otlp_grpc)
    }
    pub fn otlp_http_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.otlp_http)
    }
    pub fn zpages_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.zpages)
    }
}

/// Renders `tests/fixtures/collector/<template>` with `@@NAME@@` placeholders
/// (the collector's own `${…}` syntax stays untouched) into the artifacts dir.
pub fn render(template: &str, ports: &Ports, extra: &[(&str, &str)], art: &Artifacts) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/collector")
        .join(template);
    let mut text = std::fs::read_to_string(&src)
        .unwrap_or_else(|e| panic!("cannot read template {}: {e}", src.display()));
    let subst = [
        ("OTLP_GRPC_PORT", ports.otlp_grpc.to_string()),
        ("OTLP_HTTP_PORT", ports.otlp_http.to_string()),
        ("HEALTH_PORT", ports.health.to_string()),
        ("ZPAGES_PORT", ports.zpages.to_string()),
        ("METRICS_PORT", ports.metrics.to_string()),
        ("DOWNSTREAM_PORT", ports.downstream.to_string()),
    ];
    for (k, v) in subst
        .iter()
        .map(|(k, v)| (*k, v.as_str()))
        .chain(extra.iter().copied())
    {
        text = text.replace(&format!("@@{k}@@"), v);
    }
    // Only YAML, not comments, must be free of placeholders.
    let left = text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .any(|l| l.contains("@@"));
    assert!(
        !left,
        "template {template} has a placeholder left after rendering:\n{text}"
    );
    art.save(template, &text)
}

pub struct Collector {
    pub config: PathBuf,
    pub ports: Ports,
    art: Artifacts,
    child: Option<Child>,
    runs: usize,
    client: reqwest::Client,
    /// Extra environment for the process (kept across restarts).
    env: Vec<(String, String)>,
}

impl Collector {
    /// Starts the collector on `config` (already rendered); does not wait.
    pub fn spawn(config: PathBuf, ports: Ports, art: &Artifacts) -> Collector {
        Collector::spawn_with_env(config, ports, art, &[])
    }

    /// As [`Collector::spawn`], with extra environment variables (the
    /// production profile reads its TLS files and tokens from `OTELCOL_*`).
    pub fn spawn_with_env(
        config: PathBuf,
        ports: Ports,
        art: &Artifacts,
        env: &[(&str, String)],
    ) -> Collector {
        let mut c = Collector {
            config,
            ports,
            art: art.clone(),
            child: None,
            runs: 0,
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(2))
                .build()
                .expect("reqwest client"),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        };
        c.start_process();
        c
    }

    /// Starts it and waits (≤ 20 s) until health_check answers 200.
    pub async fn start(config: PathBuf, ports: Ports, art: &Artifacts) -> Collector {
        let c = Collector::spawn(config, ports, art);
        c.wait_healthy().await;
        c
    }

    fn start_process(&mut self) {
        assert!(self.child.is_none(), "collector already running");
        self.runs += 1;
        let log_path = self.art.path(&self.log_name());
        let log = std::fs::File::create(&log_path)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", log_path.display()));
        let child = Command::new(binary())
            .arg("--config")
            .arg(&self.config)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone log handle"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start otelcol-parker: {e}"));
        self.art.note(&format!(
            "collector started: {} (pid {})",
            self.log_name(),
            child.id()
        ));
        self.child = Some(child);
    }

    /// `collector-<config>-runN.log`: one per start, per config.
    fn log_name(&self) -> String {
        let stem = self
            .config
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        format!("collector-{stem}-run{}.log", self.runs)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.art.path(&self.log_name())).unwrap_or_default()
    }

    /// Waits (≤ 10 s) until the memory_limiter says it refuses data. It
    /// decides at its first check (check_interval after start) and lets
    /// data through before that, so a scenario about refusals waits for
    /// its own word.
    pub async fn wait_until_refusing(&self) {
        wait_until(
            "memory_limiter to start refusing",
            Duration::from_secs(10),
            || async {
                if self.log().contains("Refusing data") {
                    Ok(())
                } else {
                    Err("no \"Refusing data\" in the collector log".to_string())
                }
            },
        )
        .await;
    }

    fn log_tail(&self) -> String {
        let log = self.log();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Waits until health_check answers 200 with "Server available".
    pub async fn wait_healthy(&self) {
        let url = self.ports.health_url();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(r) = self.client.get(&url).send().await
                && r.status() == 200
            {
                self.art.note("collector healthy");
                return;
            }
            if tokio::time::Instant::now() >= deadline {
                panic!(
                    "otelcol-parker ({}) not healthy at {url} within 20 s; log tail:\n{}",
                    self.config.display(),
                    self.log_tail()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits (≤ `timeout`) for the process to exit by itself; its status.
    pub async fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let child = self.child.as_mut().expect("collector not running");
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(status) = child.try_wait().expect("try_wait on collector") {
                self.child = None;
                self.art.note(&format!("collector exited: {status}"));
                return status;
            }
            if tokio::time::Instant::now() >= deadline {
                panic!(
                    "otelcol-parker still running {timeout:?} after it should have exited; log tail:\n{}",
                    self.log_tail()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGTERM and wait (≤ 15 s) for a clean shutdown.
    pub async fn stop(&mut self) -> ExitStatus {
        let pid = self.pid().expect("collector not running");
        // std has no SIGTERM; the `kill` utility avoids unsafe libc calls.
        let st = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .expect("run kill -TERM");
        assert!(st.success(), "kill -TERM {pid} failed: {st}");
        self.wait_exit(Duration::from_secs(15)).await
    }

    /// SIGKILL: no shutdown, nothing flushed.
    pub fn kill9(&mut self) {
        let mut child = self.child.take().expect("collector not running");
        child.kill().expect("SIGKILL the collector");
        child.wait().expect("reap the collector");
        self.art.note("collector killed (SIGKILL)");
    }

    /// Starts again with the same config and ports; waits for health.
    pub async fn restart(&mut self) {
        self.start_process();
        self.wait_healthy().await;
    }

    /// Scrapes `/metrics` once and saves the page as an artifact.
    pub async fn scrape(&self, label: &str) -> Page {
        let url = self.ports.metrics_url();
        let text = async {
            let r = self
                .client
                .get(&url)
                .send()
                .await
                .map_err(|e| e.to_string())?;
            if r.status() != 200 {
                return Err(format!("HTTP {}", r.status()));
            }
            r.text().await.map_err(|e| e.to_string())
        }
        .await
        .unwrap_or_else(|e| panic!("scrape {url}: {e}; log tail:\n{}", self.log_tail()));
        self.art.save_page(label, &text);
        Page { text }
    }

    /// Scrapes until `pred` holds on the page (≤ `timeout`); every page is saved.
    pub async fn scrape_until(
        &self,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&Page) -> bool,
    ) -> Page {
        let pred = &pred;
        let label = what.replace(|c: char| !c.is_ascii_alphanumeric(), "-");
        wait_until(what, timeout, || {
            let label = label.clone();
            async move {
                let p = self.scrape(&label).await;
                if pred(&p) { Ok(p) } else { Err(counters(&p)) }
            }
        })
        .await
    }
}

/// The flow counters of a page in one line, for timeout messages.
pub fn counters(p: &Page) -> String {
    let names = [
        "otelcol_receiver_accepted_spans",
        "otelcol_receiver_refused_spans",
        "otelcol_exporter_sent_spans",
        "otelcol_exporter_send_failed_spans",
        "otelcol_exporter_enqueue_failed_spans",
        "otelcol_exporter_queue_size",
        "otelcol_exporter_in_flight_requests",
    ];
    names
        .iter()
        .map(|n| format!("{}={}", n.trim_start_matches("otelcol_"), p.sum(n, &[])))
        .collect::<Vec<_>>()
        .join(" ")
}

impl Drop for Collector {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
