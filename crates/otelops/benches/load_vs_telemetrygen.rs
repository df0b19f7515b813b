//! `otelops load` against telemetrygen (the OpenTelemetry Collector's load
//! generator) sending the same synthetic traces to the same otelcol-parker,
//! one run: spans/s offered and spans per client CPU-second (user + system
//! time of the client process, from getrusage) for each, over OTLP/gRPC and
//! OTLP/HTTP protobuf. Prints figures; asserts nothing.
//!
//!     cargo bench -p otelops --bench load_vs_telemetrygen
//!
//! BENCH_TRACES (default 100000, two spans each) and BENCH_WORKERS (default
//! 4) change the load. The collector comes from OTELCOL_PARKER or
//! target/otelcol-parker; telemetrygen from TELEMETRYGEN, else it is
//! `go install`ed (v0.161.0, the version the Go module proxy here serves)
//! into ~/.cache/parker/telemetrygen-v0.161.0 on the first run.
//!
//! One run on 2 shared cores (BENCH_TRACES=1000000, 2 million spans each):
//! gRPC 1.79 M spans/s and 7.8 M spans per CPU-second for otelops, 0.33 M
//! and 0.37 M for telemetrygen (21× per CPU-second); OTLP/HTTP 1.39 M and
//! 7.7 M against 0.27 M and 0.30 M (26×). otelops encodes the request once
//! and only rewrites the ids per request; telemetrygen builds every span
//! through the Go SDK.

mod common;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{env_or, start_collector};

const TELEMETRYGEN: &str =
    "github.com/open-telemetry/opentelemetry-collector-contrib/cmd/telemetrygen";
const TELEMETRYGEN_VERSION: &str = "v0.161.0";
/// Traces per request for otelops: 256 traces × 2 spans = 512 spans, and
/// telemetrygen's `--batch-size` is set to the same 512 spans.
const BATCH: u64 = 256;

fn telemetrygen() -> PathBuf {
    if let Some(p) = std::env::var_os("TELEMETRYGEN").filter(|p| !p.is_empty()) {
        return p.into();
    }
    let home = std::env::var_os("HOME").expect("HOME is set");
    let dir = PathBuf::from(home)
        .join(".cache/parker")
        .join(format!("telemetrygen-{TELEMETRYGEN_VERSION}"));
    let bin = dir.join("telemetrygen");
    if !bin.is_file() {
        eprintln!(
            "installing telemetrygen {TELEMETRYGEN_VERSION} into {}",
            dir.display()
        );
        let status = Command::new("go")
            .args(["install", &format!("{TELEMETRYGEN}@{TELEMETRYGEN_VERSION}")])
            .env("GOBIN", &dir)
            .status()
            .expect("run go install (is Go installed?)");
        assert!(
            status.success() && bin.is_file(),
            "go install telemetrygen failed: {status}"
        );
    }
    bin
}

/// user + system CPU of every child waited for so far, in seconds.
fn children_cpu() -> f64 {
    // SAFETY: getrusage only writes the struct we pass.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    assert_eq!(rc, 0, "getrusage failed");
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(usage.ru_utime) + secs(usage.ru_stime)
}

struct Figures {
    wall: Duration,
    cpu: f64,
}

/// Runs `cmd` to the end, timing it and its CPU.
fn measure(what: &str, cmd: &mut Command) -> Figures {
    let cpu_before = children_cpu();
    let started = Instant::now();
    let out = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap_or_else(|e| panic!("run {what}: {e}"));
    let wall = started.elapsed();
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Figures {
        wall,
        cpu: children_cpu() - cpu_before,
    }
}

fn main() {
    // `cargo test --benches` runs bench binaries without `--bench`: skip the
    // measurement then (it is not a test).
    if !std::env::args().any(|a| a == "--bench") {
        println!("load_vs_telemetrygen: run with `cargo bench` to measure");
        return;
    }
    let traces = env_or("BENCH_TRACES", 100_000u64) / BATCH * BATCH;
    let workers = env_or("BENCH_WORKERS", 4u64);
    let spans = traces * 2;
    let tgen = telemetrygen();
    let dir = tempfile::tempdir().expect("tempdir");
    let (_collector, grpc, http) = start_collector(dir.path());
    println!(
        "{traces} traces × 2 spans = {spans} spans per client; {workers} workers; otelops {BATCH} traces per request"
    );
    println!(
        "{:<10} {:<12} {:>12} {:>10} {:>16}",
        "protocol", "client", "spans/s", "CPU s", "spans/CPU-s"
    );
    for (protocol, port) in [("grpc", grpc), ("http", http)] {
        let endpoint = format!("127.0.0.1:{port}");
        let mut ours = Command::new(env!("CARGO_BIN_EXE_otelops"));
        ours.args(["load", "--protocol"])
            .arg(if protocol == "grpc" {
                "grpc"
            } else {
                "http/protobuf"
            })
            .args(["--endpoint", &endpoint, "--child-spans", "1"])
            .args([
                "--traces",
                &traces.to_string(),
                "--batch",
                &BATCH.to_string(),
            ])
            .args(["--workers", &workers.to_string(), "--duration", "10m"]);
        let mut theirs = Command::new(&tgen);
        theirs
            .arg("traces")
            .args(["--otlp-endpoint", &endpoint, "--otlp-insecure"])
            .args(["--traces", &(traces / workers).to_string()])
            .args(["--workers", &workers.to_string(), "--child-spans", "1"])
            .args(["--rate", "0", "--batch-size", &(BATCH * 2).to_string()]);
        if protocol == "http" {
            theirs.arg("--otlp-http");
        }
        let o = measure("otelops load", &mut ours);
        let t = measure("telemetrygen", &mut theirs);
        let their_spans = traces / workers * workers * 2;
        for (name, f, n) in [("otelops", &o, spans), ("telemetrygen", &t, their_spans)] {
            println!(
                "{protocol:<10} {name:<12} {:>12.0} {:>10.2} {:>16.0}",
                n as f64 / f.wall.as_secs_f64(),
                f.cpu,
                n as f64 / f.cpu.max(0.001)
            );
        }
        println!(
            "{protocol:<10} ratio        {:>12.2} {:>10} {:>16.2}",
            (spans as f64 / o.wall.as_secs_f64()) / (their_spans as f64 / t.wall.as_secs_f64()),
            "",
            (spans as f64 / o.cpu.max(0.001)) / (their_spans as f64 / t.cpu.max(0.001))
        );
    }
}
