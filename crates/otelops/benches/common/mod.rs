//! What the process-driving benches share: a setting from the environment,
//! a free loopback port, a child process killed on drop, otelcol-parker
//! receiving OTLP and discarding it. Included by each
//! bench as `mod common;`.
#![allow(dead_code)] // each bench uses a different part

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// `$name` parsed, or `default` when unset or unparsable.
pub fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

pub use parker_testkit::free_port;

/// A child process that is killed and reaped when dropped.
pub struct Proc(pub Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// otelcol-parker from OTELCOL_PARKER or target/otelcol-parker.
pub fn collector_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("OTELCOL_PARKER").filter(|p| !p.is_empty()) {
        return p.into();
    }
    let built = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/otelcol-parker");
    assert!(
        built.is_file(),
        "otelcol-parker not found (OTELCOL_PARKER, target/otelcol-parker): run scripts/build-collector"
    );
    built
}

/// otelcol-parker receiving OTLP on both ports, batching, and dropping
/// (debug exporter, sampled) so the receiver is what the clients meet.
pub fn start_collector(dir: &std::path::Path) -> (Proc, u16, u16) {
    let (grpc, http, metrics) = (free_port(), free_port(), free_port());
    let config = dir.join("collector.yaml");
    std::fs::write(
        &config,
        format!(
            "receivers:\n  otlp:\n    protocols:\n      grpc:\n        endpoint: 127.0.0.1:{grpc}\n      \
             http:\n        endpoint: 127.0.0.1:{http}\n\
             processors:\n  batch: {{}}\n\
             exporters:\n  debug:\n    verbosity: basic\n    sampling_initial: 1\n    sampling_thereafter: 100000\n\
             service:\n  pipelines:\n    traces:\n      receivers: [otlp]\n      processors: [batch]\n      exporters: [debug]\n  \
             telemetry:\n    metrics:\n      readers:\n        - pull:\n            exporter:\n              prometheus:\n                host: 127.0.0.1\n                port: {metrics}\n"
        ),
    )
    .expect("write collector config");
    let child = Command::new(collector_binary())
        .arg("--config")
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("collector.log")).expect("log file"))
        .spawn()
        .expect("start otelcol-parker");
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", http)).is_err()
        || std::net::TcpStream::connect(("127.0.0.1", grpc)).is_err()
    {
        assert!(Instant::now() < deadline, "otelcol-parker did not listen");
        std::thread::sleep(Duration::from_millis(50));
    }
    (Proc(child), grpc, http)
}
