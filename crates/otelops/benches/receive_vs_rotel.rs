//! `otelops receive` against rotel-agent (a Rust OTLP collector) and
//! otelcol-parker (our build of the OpenTelemetry Collector: otlp receiver →
//! batch → debug exporter at `verbosity: basic`, sampled, which discards) on
//! the same load, same machine, one run: N spans in batches of 512,
//! pre-encoded OTLP/protobuf, sent over OTLP/HTTP and OTLP/gRPC by the same
//! clients. Prints spans/s for each, spans per CPU-second of each receiver
//! process (utime + stime from /proc/PID/stat: the per-core figure), the
//! ratios (target: ours ≥ 3× each per CPU-second), and our receiver's RSS
//! after storing 100k spans (target ≤ 60 MiB per 100k). Asserts nothing.
//!
//!     cargo bench -p otelops --bench receive_vs_rotel
//!
//! BENCH_SPANS (default 200000) and BENCH_CONNECTIONS (default 4) change
//! the load. rotel-agent comes from ROTEL_AGENT, PATH or the project venv;
//! otelcol-parker from OTELCOL_PARKER or target/otelcol-parker.

mod common;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use prost::Message;

use common::{Proc, env_or, free_port, start_collector};

const BATCH: usize = 512;
const SPANS_PER_TRACE: usize = 8;
const RSS_SPANS: usize = 100_000;

fn kv(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

fn s(v: &str) -> any_value::Value {
    any_value::Value::StringValue(v.to_owned())
}

/// A typical server/client span pair mix: six attributes, realistic names.
fn make_span(n: u64) -> Span {
    let trace = n / SPANS_PER_TRACE as u64;
    let mut trace_id = [0u8; 16];
    trace_id[..8].copy_from_slice(&(trace.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1).to_le_bytes());
    trace_id[8..].copy_from_slice(&trace.to_be_bytes());
    let index = n % SPANS_PER_TRACE as u64;
    let span_id = (n.wrapping_mul(0xD6E8_FEB8_6659_FD93) | 1).to_le_bytes();
    let parent =
        (index > 0).then(|| ((n - index).wrapping_mul(0xD6E8_FEB8_6659_FD93) | 1).to_le_bytes());
    let start = 1_700_000_000_000_000_000 + n * 1_000;
    Span {
        trace_id: trace_id.to_vec(),
        span_id: span_id.to_vec(),
        parent_span_id: parent.map(|p| p.to_vec()).unwrap_or_default(),
        name: if index == 0 {
            "POST /bookings".into()
        } else {
            "GET /fares/{route}".into()
        },
        kind: if index == 0 { 2 } else { 3 },
        start_time_unix_nano: start,
        end_time_unix_nano: start + 250_000 + index * 1_000,
        attributes: vec![
            kv(
                "http.request.method",
                s(if index == 0 { "POST" } else { "GET" }),
            ),
            kv(
                "http.route",
                s(if index == 0 {
                    "/bookings"
                } else {
                    "/fares/{route}"
                }),
            ),
            kv("http.response.status_code", any_value::Value::IntValue(200)),
            kv("url.path", s("/fares/LHR-JFK")),
            kv("server.address", s("fares.parker.internal")),
            kv("network.protocol.version", s("1.1")),
        ],
        status: Some(Status {
            code: if n.is_multiple_of(97) { 2 } else { 0 },
            message: String::new(),
        }),
        ..Default::default()
    }
}

fn make_batches(total: usize, first_span: u64) -> Vec<Vec<u8>> {
    (0..total.div_ceil(BATCH))
        .map(|b| {
            let from = first_span + (b * BATCH) as u64;
            let count = BATCH.min(total - b * BATCH) as u64;
            ExportTraceServiceRequest {
                resource_spans: vec![ResourceSpans {
                    resource: Some(Resource {
                        attributes: vec![
                            kv("service.name", s("parker-booking")),
                            kv("service.version", s("1.0.0")),
                            kv("deployment.environment.name", s("bench")),
                        ],
                        ..Default::default()
                    }),
                    scope_spans: vec![ScopeSpans {
                        scope: Some(InstrumentationScope {
                            name: "bench".into(),
                            ..Default::default()
                        }),
                        spans: (from..from + count).map(make_span).collect(),
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
            }
            .encode_to_vec()
        })
        .collect()
}

/// POSTs every batch over `connections` concurrent keep-alive clients;
/// returns the wall time. Panics on any non-2xx answer.
fn push(
    runtime: &tokio::runtime::Runtime,
    url: &str,
    batches: &[Vec<u8>],
    connections: usize,
) -> Duration {
    let bodies: Vec<axum::body::Bytes> = batches
        .iter()
        .map(|b| axum::body::Bytes::from(b.clone()))
        .collect();
    runtime.block_on(async {
        let started = Instant::now();
        let mut tasks = Vec::new();
        for c in 0..connections {
            let client = reqwest::Client::new();
            let url = url.to_owned();
            let mine: Vec<axum::body::Bytes> = bodies
                .iter()
                .skip(c)
                .step_by(connections)
                .cloned()
                .collect();
            tasks.push(tokio::spawn(async move {
                for body in mine {
                    let response = client
                        .post(&url)
                        .header("content-type", "application/x-protobuf")
                        .body(body)
                        .send()
                        .await
                        .expect("POST");
                    assert!(
                        response.status().is_success(),
                        "{url}: {}",
                        response.status()
                    );
                    let _ = response.bytes().await;
                }
            }));
        }
        for task in tasks {
            task.await.expect("client task");
        }
        started.elapsed()
    })
}

impl Proc {
    fn pid(&self) -> u32 {
        self.0.id()
    }

    /// utime + stime in seconds, from /proc/PID/stat (clock ticks of 1/100 s,
    /// the Linux USER_HZ).
    fn cpu_seconds(&self) -> f64 {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.pid())).expect("read /proc stat");
        let after_name = &stat[stat.rfind(')').expect("stat format") + 2..];
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
        ticks as f64 / 100.0
    }

    fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .expect("read /proc status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS")
    }
}

/// Where a receiver listens: the OTLP/HTTP traces URL and the gRPC endpoint.
struct Target {
    http: String,
    grpc: String,
}

fn start_otelops(max_spans: usize) -> (Proc, Target) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_otelops"))
        .args([
            "receive",
            "--grpc-listen",
            "127.0.0.1:0",
            "--http-listen",
            "127.0.0.1:0",
        ])
        .args(["--max-spans", &max_spans.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn otelops receive");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let (mut http, mut grpc) = (None, None);
    for line in lines.by_ref().take(3) {
        let line = line.expect("stdout");
        if let Some(addr) = line.strip_prefix("OTLP/HTTP listening on ") {
            http = Some(format!("http://{addr}/v1/traces"));
        }
        if let Some(addr) = line.strip_prefix("OTLP/gRPC listening on ") {
            grpc = Some(format!("http://{addr}"));
        }
    }
    // Keep draining stdout so the summary at exit never blocks.
    std::thread::spawn(move || for _ in lines {});
    let target = Target {
        http: http.expect("otelops printed its HTTP address"),
        grpc: grpc.expect("otelops printed its gRPC address"),
    };
    (Proc(child), target)
}

fn rotel_agent() -> PathBuf {
    if let Some(path) = std::env::var_os("ROTEL_AGENT") {
        return path.into();
    }
    if let Some(found) = std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join("rotel-agent"))
            .find(|c| c.is_file())
    }) {
        return found;
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../.venv/lib/python3.11/site-packages/rotel/rotel-agent");
    assert!(
        venv.is_file(),
        "rotel-agent not found: run ./scripts/test, which installs rotel-agent"
    );
    venv
}

fn start_rotel(dir: &std::path::Path) -> (Proc, Target) {
    let (grpc, http) = (free_port(), free_port());
    let child = Command::new(rotel_agent())
        .arg("start")
        .args(["--otlp-grpc-endpoint", &format!("127.0.0.1:{grpc}")])
        .args(["--otlp-http-endpoint", &format!("127.0.0.1:{http}")])
        .args(["--exporter", "blackhole"])
        .arg("--pid-file")
        .arg(dir.join("rotel.pid"))
        .arg("--log-file")
        .arg(dir.join("rotel.log"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn rotel-agent");
    let deadline = Instant::now() + Duration::from_secs(15);
    while std::net::TcpStream::connect(("127.0.0.1", http)).is_err() {
        assert!(
            Instant::now() < deadline,
            "rotel-agent did not listen on {http}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let target = Target {
        http: format!("http://127.0.0.1:{http}/v1/traces"),
        grpc: format!("http://127.0.0.1:{grpc}"),
    };
    (Proc(child), target)
}

struct Run {
    spans_per_sec: f64,
    cpu_seconds: f64,
}

#[derive(Clone, Copy, PartialEq)]
enum Protocol {
    Http,
    Grpc,
}

/// The load as typed requests for the gRPC client (which encodes them
/// itself; the cost is the same for both receivers).
fn decoded(batches: &[Vec<u8>]) -> Vec<ExportTraceServiceRequest> {
    batches
        .iter()
        .map(|b| ExportTraceServiceRequest::decode(&b[..]).expect("own encoding"))
        .collect()
}

fn push_grpc(
    runtime: &tokio::runtime::Runtime,
    endpoint: &str,
    requests: &[ExportTraceServiceRequest],
    connections: usize,
) -> Duration {
    use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
    runtime.block_on(async {
        let mut clients = Vec::new();
        for _ in 0..connections {
            clients.push(
                TraceServiceClient::connect(endpoint.to_owned())
                    .await
                    .expect("gRPC connect"),
            );
        }
        let started = Instant::now();
        let mut tasks = Vec::new();
        for (c, mut client) in clients.into_iter().enumerate() {
            let mine: Vec<ExportTraceServiceRequest> = requests
                .iter()
                .skip(c)
                .step_by(connections)
                .cloned()
                .collect();
            tasks.push(tokio::spawn(async move {
                for request in mine {
                    client.export(request).await.expect("gRPC export");
                }
            }));
        }
        for task in tasks {
            task.await.expect("client task");
        }
        started.elapsed()
    })
}

struct Load {
    warmup: Vec<Vec<u8>>,
    batches: Vec<Vec<u8>>,
    warmup_decoded: Vec<ExportTraceServiceRequest>,
    decoded: Vec<ExportTraceServiceRequest>,
    spans: usize,
    connections: usize,
}

fn measure(
    runtime: &tokio::runtime::Runtime,
    proc: &Proc,
    target: &Target,
    load: &Load,
    protocol: Protocol,
) -> Run {
    let send = |warmup: bool| match protocol {
        Protocol::Http => {
            let batches = if warmup { &load.warmup } else { &load.batches };
            push(runtime, &target.http, batches, load.connections)
        }
        Protocol::Grpc => {
            let requests = if warmup {
                &load.warmup_decoded
            } else {
                &load.decoded
            };
            push_grpc(runtime, &target.grpc, requests, load.connections)
        }
    };
    send(true);
    let cpu_before = proc.cpu_seconds();
    let elapsed = send(false);
    // Let the last requests' work (rotel batches on a timer) finish.
    std::thread::sleep(Duration::from_millis(300));
    Run {
        spans_per_sec: load.spans as f64 / elapsed.as_secs_f64(),
        cpu_seconds: proc.cpu_seconds() - cpu_before,
    }
}

fn main() {
    // `cargo test --benches` runs bench binaries with `--bench` absent; skip
    // the long load then (it is a measurement, not a test).
    if !std::env::args().any(|a| a == "--bench") {
        println!("receive_vs_rotel: run with `cargo bench` to measure");
        return;
    }
    let spans = env_or("BENCH_SPANS", 200_000usize);
    let connections = env_or("BENCH_CONNECTIONS", 4usize);
    let warmup = make_batches(BATCH * 8, 10_000_000_000);
    let load = make_batches(spans, 0);
    let bytes: usize = load.iter().map(Vec::len).sum();
    println!(
        "load: {spans} spans in {} OTLP/HTTP protobuf requests of {BATCH} ({:.0} bytes/span), {connections} connections, {} CPUs",
        load.len(),
        bytes as f64 / spans as f64,
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();

    let load = Load {
        warmup_decoded: decoded(&warmup),
        decoded: decoded(&load),
        warmup,
        batches: load,
        spans,
        connections,
    };
    let dir = tempfile::tempdir().unwrap();
    let per_cpu = |r: &Run| spans as f64 / r.cpu_seconds.max(0.01);
    for (protocol, label) in [
        (Protocol::Http, "OTLP/HTTP protobuf"),
        (Protocol::Grpc, "OTLP/gRPC"),
    ] {
        // A fresh process per protocol and receiver, sized to keep everything.
        let (otelops, target) = start_otelops(spans * 2);
        let ours = measure(&runtime, &otelops, &target, &load, protocol);
        drop(otelops);
        let (rotel, target) = start_rotel(dir.path());
        let rotel_run = measure(&runtime, &rotel, &target, &load, protocol);
        drop(rotel);
        let (collector, grpc, http) = start_collector(dir.path());
        let target = Target {
            http: format!("http://127.0.0.1:{http}/v1/traces"),
            grpc: format!("http://127.0.0.1:{grpc}"),
        };
        let collector_run = measure(&runtime, &collector, &target, &load, protocol);
        drop(collector);
        println!("{label}:");
        for (name, run) in [
            ("otelops receive", &ours),
            ("rotel-agent", &rotel_run),
            ("otelcol-parker", &collector_run),
        ] {
            println!(
                "  {name:<16}: {:>10.0} spans/s  ({:.2} CPU-s, {:>10.0} spans per CPU-second)",
                run.spans_per_sec,
                run.cpu_seconds,
                per_cpu(run)
            );
        }
        for (name, run) in [("rotel", &rotel_run), ("otelcol-parker", &collector_run)] {
            println!(
                "  ratio otelops/{name}: {:.2}x (throughput), {:.2}x (per CPU-second; target >= 3)",
                ours.spans_per_sec / run.spans_per_sec,
                per_cpu(&ours) / per_cpu(run)
            );
        }
    }

    let (fresh, fresh_target) = start_otelops(1_000_000);
    std::thread::sleep(Duration::from_millis(200));
    let idle_rss = fresh.rss_kib();
    push(
        &runtime,
        &fresh_target.http,
        &make_batches(RSS_SPANS, 0),
        connections,
    );
    std::thread::sleep(Duration::from_millis(200));
    let stored_rss = fresh.rss_kib();

    println!(
        "otelops receive RSS: {:.1} MiB idle, {:.1} MiB with {RSS_SPANS} spans stored ({:.1} MiB per 100k spans above idle; target <= 60)",
        idle_rss as f64 / 1024.0,
        stored_rss as f64 / 1024.0,
        (stored_rss.saturating_sub(idle_rss)) as f64 / 1024.0 * 100_000.0 / RSS_SPANS as f64
    );
}
