//! Telemetry's cost on the booking API: drives the real `parker-booking`
//! binary on loopback in interleaved rounds — telemetry off
//! (`OTEL_SDK_DISABLED=true`), SDK on with no span sampled, the stock
//! pipeline (`PARKER_TELEMETRY_PIPELINE=stock`: tracing-opentelemetry and
//! opentelemetry-otlp with SDK defaults, the anchor), ours at 100 %
//! sampling, and ours at `parentbased_traceidratio` 0.1, each exporting
//! OTLP/gRPC to a local `OtlpSink` — and prints requests/s, p50/p99
//! latency, the service's CPU time per request, for the exporting phases
//! the spans received against the requests served and the spans the
//! service counted as dropped, and the ratios: CPU added over off
//! (ours ≤ 1/4 of stock's), CPU added per exported span at 100 % (≤ 1 µs),
//! p99 against off (≤ 1.5×), and the ratio phase's throughput against off
//! (≥ 0.97 on Redis). Printed, never asserted.
//!
//! Run: `cargo bench -p parker-booking --bench api_throughput`
//! (`PARKER_BENCH_SECS`: measured seconds per phase, default 3;
//! `PARKER_BENCH_ROUNDS`: rounds of all phases, default 3;
//! `PARKER_BENCH_STORES`: `embedded`, `redis` or both (default);
//! `PARKER_BENCH_PIN=0`: do not pin (see below);
//! `OTEL_BSP_*` set for the bench are passed on to the service).
//!
//! Pinning: with two or more CPUs the service runs on CPU 0 and this process
//! (load generator, sink, Redis) on the others, so the service has a core of
//! its own and its export thread competes with its request handling, as in
//! production; the report says how busy that core was (near 100 %: the
//! service set the pace). Unpinned, the service, the load and the sink share
//! the cores as the scheduler likes, as with `oha` on one machine.
//!
//! `PARKER_BENCH_CALLGRIND=N` instead counts instructions per request under
//! valgrind's callgrind for N requests per phase (see `callgrind`; with
//! `PARKER_BENCH_STORES=redis`, against Redis): on a shared machine
//! throughput moves with the neighbours' load, instruction counts do not.
//!
//! Drops: with the spec's batch defaults (queue 2048, batch 512, 5 s) a
//! 2048-span queue holds ~30 ms of spans at 60k spans/s; when the export
//! thread falls behind, the service sheds spans rather than slow requests,
//! which would make that phase look cheaper than it is. So the exporting
//! phase runs with `OTEL_BSP_MAX_QUEUE_SIZE=65536` and
//! `OTEL_BSP_MAX_EXPORT_BATCH_SIZE=2048` unless set otherwise, and the
//! report says how many spans were shed, if any.
//!
//! Workload: half `POST /v1/bookings`, half `GET /v1/bookings/{id}`, 32
//! concurrent keep-alive connections, worker off (the fare provider is not
//! part of what is measured).

#[path = "api_throughput/callgrind.rs"]
mod callgrind;
#[path = "api_throughput/load.rs"]
mod load;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use parker_telemetry::testing::OtlpSink;
use serde_json::Value;

const CONCURRENCY: usize = 32;

struct Service(Child);

impl Service {
    /// SIGTERM and a bounded wait: the service flushes its telemetry on the
    /// way out, so every span it did not drop reaches the sink.
    fn terminate(&mut self, timeout: Duration) -> bool {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts parker-booking (under `wrapper`, e.g. valgrind, when given) and
/// returns it with its base URL.
fn start(
    redis_url: Option<&str>,
    envs: &[(&str, String)],
    wrapper: Option<&[String]>,
) -> (Service, String) {
    let binary = env!("CARGO_BIN_EXE_parker-booking");
    let mut cmd = match wrapper {
        Some([program, args @ ..]) => {
            let mut cmd = Command::new(program);
            cmd.args(args).arg(binary);
            cmd
        }
        _ => Command::new(binary),
    };
    if let Some(url) = redis_url {
        cmd.args(["--redis-url", url]);
    }
    let mut child = cmd
        .args(["--listen", "127.0.0.1:0", "--disable-worker"])
        .envs(envs.iter().map(|(k, v)| (*k, v.as_str())))
        // Production's default filter. Spans do not depend on it (only the
        // stderr log and the log records do), so `warn` would measure the same.
        .env("RUST_LOG", "info")
        .current_dir(env!("CARGO_TARGET_TMPDIR"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawning parker-booking");
    let stdout = child.stdout.take().expect("stdout is piped");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("reading the listening line");
    let url = line
        .split("listening on ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .expect("parker-booking prints its address")
        .to_owned();
    (Service(child), url)
}

struct Figures {
    rps: f64,
    /// CPU time (user + system, all threads) the service spent per request
    /// in the measured window: its cost, whatever the neighbours do.
    cpu_per_request: Duration,
    /// The kernel's part of `cpu_per_request` (system time).
    sys_per_request: Duration,
    /// The service's CPU time over the window's wall time (1.0 = one core
    /// busy throughout: with the service pinned, it is the bottleneck).
    cpu_share: f64,
    p50: Duration,
    p99: Duration,
    errors: usize,
    /// Requests sent to the process, warm-up included.
    requests: usize,
    /// For exporting phases: spans the sink received, spans the service
    /// counted as dropped (`parker.telemetry.spans.dropped`).
    spans: Option<(usize, u64)>,
}

async fn drive(url: &str, pid: u32, secs: u64) -> Figures {
    let target = load::Target::new(url);
    let mut requests = 0;
    // Warm up connections and allocator for a second, then measure.
    for (phase, seconds) in [("warmup", 1), ("measure", secs)] {
        let deadline = Instant::now() + Duration::from_secs(seconds);
        let cpu_before = cpu_time(pid);
        let mut tasks = tokio::task::JoinSet::new();
        for worker in 0..CONCURRENCY {
            let target = target.clone();
            tasks.spawn(async move {
                let mut latencies = Vec::new();
                let mut errors = 0;
                let mut client = target.connect().await;
                let mut i = worker;
                while Instant::now() < deadline {
                    let started = Instant::now();
                    let ok = client.one_request(i).await;
                    latencies.push(started.elapsed());
                    errors += usize::from(!ok);
                    i += 1;
                }
                (latencies, errors)
            });
        }
        let mut latencies = Vec::new();
        let mut errors = 0;
        while let Some(r) = tasks.join_next().await {
            let (l, e) = r.expect("load task");
            latencies.extend(l);
            errors += e;
        }
        requests += latencies.len();
        let (user, sys) = cpu_time(pid);
        let cpu = (user + sys).saturating_sub(cpu_before.0 + cpu_before.1);
        let sys = sys.saturating_sub(cpu_before.1);
        if phase == "measure" {
            latencies.sort();
            let at = |q: f64| {
                latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)]
            };
            return Figures {
                rps: latencies.len() as f64 / seconds as f64,
                cpu_per_request: cpu / latencies.len().max(1) as u32,
                sys_per_request: sys / latencies.len().max(1) as u32,
                cpu_share: cpu.as_secs_f64() / seconds as f64,
                p50: at(0.50),
                p99: at(0.99),
                errors,
                requests,
                spans: None,
            };
        }
    }
    unreachable!("the measure phase returns")
}

fn print(label: &str, f: &Figures) {
    print!(
        "{label:<34} {:>7.0} req/s  p50 {:>5.2} ms  p99 {:>6.2} ms  CPU {:>5.1} µs/req (sys {:>4.1}; {:.0} % of a core)  errors {}",
        f.rps,
        f.p50.as_secs_f64() * 1e3,
        f.p99.as_secs_f64() * 1e3,
        f.cpu_per_request.as_secs_f64() * 1e6,
        f.sys_per_request.as_secs_f64() * 1e6,
        f.cpu_share * 100.0,
        f.errors
    );
    match f.spans {
        Some((received, dropped)) => {
            print!(
                "  spans {received} for {} requests, dropped {dropped}",
                f.requests
            );
            let offered = received as f64 + dropped as f64;
            if dropped > 0 && offered > 0.0 {
                // Dropping is the library keeping its promise (never block
                // a request), but a phase that shed export work is cheaper
                // than one that did all of it: read its throughput so.
                print!(
                    " ({:.1} % shed: the export path fell behind)",
                    dropped as f64 / offered * 100.0
                );
            }
            println!();
        }
        None => println!(),
    }
}

#[tokio::main]
async fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing
    // and only checks that the bench builds and starts.
    if !std::env::args().any(|a| a == "--bench") {
        println!("api_throughput: run with `cargo bench` to measure");
        return;
    }
    let var = |name: &str| std::env::var(name).ok();
    if let Some(n) = var("PARKER_BENCH_CALLGRIND").and_then(|s| s.parse().ok()) {
        let redis = var("PARKER_BENCH_STORES").is_some_and(|s| s.trim() == "redis");
        callgrind::run(n, redis).await;
        return;
    }
    let secs: u64 = var("PARKER_BENCH_SECS")
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let rounds: usize = var("PARKER_BENCH_ROUNDS")
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let stores = var("PARKER_BENCH_STORES").unwrap_or_else(|| "embedded,redis".into());
    let pin = pin_cpus();
    println!(
        "{rounds} rounds x {secs} s per phase, {CONCURRENCY} clients; medians by throughput; {}; load average {}",
        match &pin {
            Some(_) => "service pinned to CPU 0, load generator, sink and Redis on the others",
            None => "nothing pinned",
        },
        load_average()
    );
    let pin = pin.as_deref();

    if stores.contains("embedded") {
        println!("embedded store:");
        compare(None, secs, rounds, pin).await;
    }
    if !stores.contains("redis") {
        return;
    }
    match start_redis() {
        Some((redis, url)) => {
            println!("Redis store:");
            compare(Some(&url), secs, rounds, pin).await;
            drop(redis);
        }
        None => println!("Redis store: skipped (no redis-server; ./scripts/test installs it)"),
    }
}

/// A redis-server of its own on a free loopback port, and its URL; `None`
/// when there is no redis-server.
fn start_redis() -> Option<(Service, String)> {
    let path = redis_server()?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port();
    let redis = Service(
        Command::new(path)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()
            .expect("spawning redis-server"),
    );
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        std::thread::sleep(Duration::from_millis(20));
    }
    Some((redis, format!("redis://127.0.0.1:{port}/0")))
}

/// Pins this process (load generator, sink, and the Redis it starts) to
/// CPUs 1.. and returns the wrapper that starts the service on CPU 0, so
/// the service has a core of its own: throughput then measures the
/// service, not how the scheduler shared two cores between it and its
/// load. `PARKER_BENCH_PIN=0`, or a single CPU, turns it off.
fn pin_cpus() -> Option<Vec<String>> {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    if cpus < 2 || std::env::var("PARKER_BENCH_PIN").as_deref() == Ok("0") {
        return None;
    }
    let pinned = Command::new("taskset")
        .args(["-a", "-p", "-c", &format!("1-{}", cpus - 1)])
        .arg(std::process::id().to_string())
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    pinned.then(|| ["taskset", "-c", "0"].map(str::to_owned).to_vec())
}

/// CPU time (user, system) process `pid` has used, from /proc (zero where
/// there is no /proc).
fn cpu_time(pid: u32) -> (Duration, Duration) {
    // Linux reports utime and stime in clock ticks of 1/100 s (USER_HZ).
    const TICK: Duration = Duration::from_millis(10);
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name, which is in parentheses and may hold
    // spaces: state is field 3, utime 14, stime 15.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u32>().ok())
            .unwrap_or(0)
    };
    (TICK * ticks(11), TICK * ticks(12))
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .trim()
        .to_owned()
}

fn redis_server() -> Option<std::path::PathBuf> {
    if let Some(p) = std::env::var_os("PARKER_REDIS_SERVER") {
        return Some(p.into());
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join("redis-server"))
        .find(|p| p.is_file())
}

/// One phase of the comparison: how the service's telemetry is set up.
#[derive(Clone, Copy)]
struct Phase {
    label: &'static str,
    /// `OTEL_TRACES_SAMPLER` (and its argument); `None`: telemetry off.
    sampler: Option<(&'static str, Option<&'static str>)>,
    /// `PARKER_TELEMETRY_PIPELINE=stock`: the SDK-default pipeline.
    stock: bool,
}

impl Phase {
    /// Whether spans reach the sink (every phase with telemetry on gets a
    /// sink of its own: metrics and logs go there too).
    fn samples(&self) -> bool {
        matches!(self.sampler, Some((s, _)) if s != "always_off")
    }

    /// Whether every request's spans are exported (so a run can wait for
    /// a SERVER span per request).
    fn samples_all(&self) -> bool {
        matches!(self.sampler, Some(("always_on", _)))
    }
}

const OFF: usize = 0;
const STOCK: usize = 2;
const OURS: usize = 3;
const RATIO: usize = 4;

/// The phases compared, in the order of the indices above.
const PHASES: [Phase; 5] = [
    Phase {
        label: "  telemetry off",
        sampler: None,
        stock: false,
    },
    // A breakdown row: SDK, metrics and logs on, no span sampled, to
    // tell the cost of recording and exporting spans from the rest.
    Phase {
        label: "  SDK on, spans unsampled",
        sampler: Some(("always_off", None)),
        stock: false,
    },
    // The anchor: the same service with the pipeline opentelemetry-rust
    // users get by default (parker_telemetry::stock).
    Phase {
        label: "  stock SDK (100 %, OTLP/gRPC)",
        sampler: Some(("always_on", None)),
        stock: true,
    },
    Phase {
        label: "  ours (100 %, OTLP/gRPC)",
        sampler: Some(("always_on", None)),
        stock: false,
    },
    // The guide's production range is 10-25 %.
    Phase {
        label: "  ours (parentbased ratio 0.1)",
        sampler: Some(("parentbased_traceidratio", Some("0.1"))),
        stock: false,
    },
];

const BSP_VARS: [&str; 4] = [
    "OTEL_BSP_MAX_QUEUE_SIZE",
    "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
    "OTEL_BSP_SCHEDULE_DELAY",
    "OTEL_BSP_EXPORT_TIMEOUT",
];

/// The service environment of a phase.
fn phase_env(phase: &Phase, sink: Option<&OtlpSink>) -> Vec<(&'static str, String)> {
    match (phase.sampler, sink) {
        (Some((sampler, arg)), Some(sink)) => {
            let mut env = vec![
                ("OTEL_SDK_DISABLED", "false".to_owned()),
                ("OTEL_EXPORTER_OTLP_ENDPOINT", sink.grpc_endpoint()),
                ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc".to_owned()),
                ("OTEL_TRACES_SAMPLER", sampler.to_owned()),
            ];
            env.extend(arg.map(|a| ("OTEL_TRACES_SAMPLER_ARG", a.to_owned())));
            if phase.stock {
                env.push(("PARKER_TELEMETRY_PIPELINE", "stock".to_owned()));
            }
            // Batch knobs pass through, to try queue and batch sizes; by
            // default a queue that holds a second of spans, so the phase
            // exports every span (see "Drops" above). The stock pipeline's
            // SDK reads the same variables, so both queue alike.
            for name in BSP_VARS {
                let default = match name {
                    "OTEL_BSP_MAX_QUEUE_SIZE" => Some("65536"),
                    "OTEL_BSP_MAX_EXPORT_BATCH_SIZE" => Some("2048"),
                    _ => None,
                };
                if let Some(value) = std::env::var(name).ok().or(default.map(str::to_owned)) {
                    env.push((name, value));
                }
            }
            env
        }
        _ => vec![("OTEL_SDK_DISABLED", "true".to_owned())],
    }
}

/// SERVER spans in the sink: one per request served.
fn server_spans(sink: &OtlpSink) -> usize {
    const SPAN_KIND_SERVER: i32 = 2;
    sink.trace_requests()
        .iter()
        .flat_map(|r| &r.resource_spans)
        .flat_map(|rs| &rs.scope_spans)
        .flat_map(|ss| &ss.spans)
        .filter(|s| s.kind == SPAN_KIND_SERVER)
        .count()
}

/// Spans in the sink, and the service's last reported drop count.
fn sink_counts(sink: &OtlpSink) -> (usize, u64) {
    let spans = sink
        .trace_requests()
        .iter()
        .flat_map(|r| &r.resource_spans)
        .flat_map(|rs| &rs.scope_spans)
        .map(|ss| ss.spans.len())
        .sum();
    (spans, dropped_from_metrics(sink))
}

/// The largest `parker.telemetry.spans.dropped` value the sink received
/// (a cumulative counter). Read through the JSON form so this bench needs
/// no direct dependency on the protobuf types.
fn dropped_from_metrics(sink: &OtlpSink) -> u64 {
    fn values(v: &Value, in_metric: bool, out: &mut Vec<u64>) {
        match v {
            Value::Object(map) => {
                let here = in_metric
                    || map.get("name").and_then(Value::as_str)
                        == Some(parker_telemetry::export::DROPPED_SPANS_METRIC);
                for (k, child) in map {
                    if here && k == "asInt" {
                        let n = child
                            .as_u64()
                            .or_else(|| child.as_str().and_then(|s| s.parse().ok()));
                        out.extend(n);
                    } else {
                        values(child, here, out);
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|i| values(i, in_metric, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for rm in sink.metrics() {
        if let Ok(v) = serde_json::to_value(&rm) {
            values(&v, false, &mut out);
        }
    }
    out.into_iter().max().unwrap_or(0)
}

/// Runs the phases in rounds (each round starting one phase later) and
/// reports each phase's median round, so background load on a shared
/// machine hits every phase alike instead of skewing one.
async fn compare(redis_url: Option<&str>, secs: u64, rounds: usize, pin: Option<&[String]>) {
    let mut results: Vec<Vec<Figures>> = PHASES.iter().map(|_| Vec::new()).collect();
    for round in 0..rounds {
        // Each round starts with a different phase, so no phase always
        // runs right after another's teardown (the exporting phases leave
        // the most behind: a service flushing, a sink freeing its spans).
        for k in 0..PHASES.len() {
            let i = (round + k) % PHASES.len();
            let phase = &PHASES[i];
            let sink = match phase.sampler {
                Some(_) => Some(OtlpSink::start().await),
                None => None,
            };
            let (mut svc, url) = start(redis_url, &phase_env(phase, sink.as_ref()), pin);
            let mut figures = drive(&url, svc.0.id(), secs).await;
            if let Some(sink) = sink.as_ref().filter(|_| phase.samples()) {
                if !svc.terminate(Duration::from_secs(15)) {
                    println!("  (the service did not stop within 15 s; counts are partial)");
                }
                figures.spans = Some(sink_counts(sink));
            }
            results[i].push(figures);
        }
    }
    // The median CPU cost per request of each phase, taken on its own.
    let cpu: Vec<f64> = results
        .iter()
        .map(|r| {
            let mut c: Vec<Duration> = r.iter().map(|f| f.cpu_per_request).collect();
            c.sort();
            c[c.len() / 2].as_secs_f64() * 1e6
        })
        .collect();
    let medians: Vec<Figures> = results
        .into_iter()
        .map(|mut r| {
            r.sort_by(|a, b| a.rps.total_cmp(&b.rps));
            r.swap_remove(r.len() / 2)
        })
        .collect();
    for (phase, f) in PHASES.iter().zip(&medians) {
        print(phase.label, f);
    }
    summarize(&medians, &cpu);
}

/// The figures from the phases' medians (`cpu`: median CPU µs per
/// request of each phase). Printed, never asserted.
fn summarize(medians: &[Figures], cpu: &[f64]) {
    let added = |i: usize| cpu[i] - cpu[OFF];
    println!(
        "  CPU added over off: stock {:+.2} µs/req, ours {:+.2} µs/req; ours/stock {:.2} (target <= 0.25)",
        added(STOCK),
        added(OURS),
        added(OURS) / added(STOCK)
    );
    // Spans per request from what the sink received over every request
    // sent (warm-up included: its spans were exported too).
    let per_request = |i: usize| {
        medians[i].spans.map_or(0.0, |(spans, _)| {
            spans as f64 / medians[i].requests.max(1) as f64
        })
    };
    for (name, i) in [("stock", STOCK), ("ours", OURS)] {
        let spans = per_request(i);
        println!(
            "  {name} at 100 %: {spans:.2} spans exported per request, {:.2} µs CPU added per exported span{}",
            if spans > 0.0 {
                added(i) / spans
            } else {
                f64::NAN
            },
            if i == OURS { " (target <= 1.0)" } else { "" }
        );
    }
    let p99 = |i: usize| medians[i].p99.as_secs_f64() / medians[OFF].p99.as_secs_f64();
    println!(
        "  p99 vs off: ours {:.2}x (target <= 1.5), stock {:.2}x",
        p99(OURS),
        p99(STOCK)
    );
    println!(
        "  ratio 0.1: throughput {:.3}x off (target >= 0.97 on Redis), CPU {:+.2} µs/req, p99 {:.2}x; ours at 100 %: throughput {:.3}x, stock {:.3}x",
        medians[RATIO].rps / medians[OFF].rps,
        added(RATIO),
        p99(RATIO),
        medians[OURS].rps / medians[OFF].rps,
        medians[STOCK].rps / medians[OFF].rps,
    );
    println!("  load average {}", load_average());
}
