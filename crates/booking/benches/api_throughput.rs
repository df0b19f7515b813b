//! Telemetry's cost on the booking API: drives the real `parker-booking`
//! binary on loopback twice in one run — telemetry off
//! (`OTEL_SDK_DISABLED=true`), then on (100 % sampling, OTLP/gRPC export to
//! a local `OtlpSink`) — and prints requests/s, p50/p99 latency and the
//! throughput ratio. Target: telemetry costs at most 3 % of throughput.
//!
//! Run: `cargo bench -p parker-booking --bench api_throughput`
//! (`PARKER_BENCH_SECS`: measured seconds per phase, default 3;
//! `PARKER_BENCH_ROUNDS`: rounds of all phases, default 3).
//!
//! Workload: half `POST /v1/bookings`, half `GET /v1/bookings/{id}`, 32
//! concurrent keep-alive clients, embedded store, worker off (the fare
//! provider is not part of what is measured).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parker_telemetry::testing::OtlpSink;
use serde_json::{Value, json};

const CONCURRENCY: usize = 32;

struct Service(Child);

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(redis_url: Option<&str>, envs: &[(&str, String)]) -> (Service, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_parker-booking"));
    if let Some(url) = redis_url {
        cmd.args(["--redis-url", url]);
    }
    let mut child = cmd
        .args(["--listen", "127.0.0.1:0", "--disable-worker"])
        .envs(envs.iter().map(|(k, v)| (*k, v.as_str())))
        // `info`, not `warn`: parker-telemetry's RUST_LOG filter also gates
        // which spans exist, and the service's spans are at info.
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

fn body(i: usize) -> Value {
    let from = jiff::tz::TimeZone::UTC
        .to_datetime(jiff::Timestamp::now())
        .date()
        .checked_add(jiff::Span::new().days(30))
        .expect("date in range")
        .to_string();
    json!({
        "traveller": { "name": "Bench Traveller", "email": "bench@example.com" },
        "origin": "JFK", "destination": "LHR",
        "departure": { "from": from, "to": from },
        "max_price": { "amount": format!("{}.00", 100 + i % 900), "currency": "EUR" },
        "cabin": "economy", "passengers": 1
    })
}

struct Figures {
    rps: f64,
    p50: Duration,
    p99: Duration,
    errors: usize,
}

async fn drive(url: &str, secs: u64) -> Figures {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(CONCURRENCY)
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client builds");
    let url = Arc::new(url.to_owned());
    // Warm up connections and allocator for a second, then measure.
    for (phase, seconds) in [("warmup", 1), ("measure", secs)] {
        let deadline = Instant::now() + Duration::from_secs(seconds);
        let mut tasks = tokio::task::JoinSet::new();
        for worker in 0..CONCURRENCY {
            let (client, url) = (client.clone(), url.clone());
            tasks.spawn(async move {
                let mut latencies = Vec::new();
                let mut errors = 0;
                let mut last_id: Option<String> = None;
                let mut i = worker;
                while Instant::now() < deadline {
                    let started = Instant::now();
                    let ok = match (&last_id, i % 2) {
                        (Some(id), 1) => client
                            .get(format!("{url}/v1/bookings/{id}"))
                            .send()
                            .await
                            .map(|r| r.status().is_success())
                            .unwrap_or(false),
                        _ => match client
                            .post(format!("{url}/v1/bookings"))
                            .json(&body(i))
                            .send()
                            .await
                        {
                            Ok(r) if r.status().as_u16() == 202 => {
                                let v: Value = r.json().await.unwrap_or(Value::Null);
                                last_id = v["id"].as_str().map(str::to_owned);
                                true
                            }
                            _ => false,
                        },
                    };
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
        if phase == "measure" {
            latencies.sort();
            let at = |q: f64| {
                latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)]
            };
            return Figures {
                rps: latencies.len() as f64 / seconds as f64,
                p50: at(0.50),
                p99: at(0.99),
                errors,
            };
        }
    }
    unreachable!("the measure phase returns")
}

fn print(label: &str, f: &Figures) {
    println!(
        "{label:<34} {:>9.0} req/s   p50 {:>7.2} ms   p99 {:>7.2} ms   errors {}",
        f.rps,
        f.p50.as_secs_f64() * 1e3,
        f.p99.as_secs_f64() * 1e3,
        f.errors
    );
}

#[tokio::main]
async fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing
    // and only checks that the bench builds and starts.
    if !std::env::args().any(|a| a == "--bench") {
        println!("api_throughput: run with `cargo bench` to measure");
        return;
    }
    let secs: u64 = std::env::var("PARKER_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let rounds: usize = std::env::var("PARKER_BENCH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    println!(
        "{rounds} rounds x {secs} s per phase, {CONCURRENCY} clients; medians by throughput; load average {}",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );

    println!("embedded store:");
    compare(None, secs, rounds).await;
    match redis_server() {
        Some(path) => {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("a free loopback port")
                .port();
            let redis = Service(
                Command::new(path)
                    .args([
                        "--port",
                        &port.to_string(),
                        "--bind",
                        "127.0.0.1",
                        "--save",
                        "",
                        "--appendonly",
                        "no",
                    ])
                    .stdout(Stdio::null())
                    .spawn()
                    .expect("spawning redis-server"),
            );
            while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
                std::thread::sleep(Duration::from_millis(20));
            }
            println!("Redis store:");
            compare(Some(&format!("redis://127.0.0.1:{port}/0")), secs, rounds).await;
            drop(redis);
        }
        None => println!("Redis store: skipped (no redis-server; ./scripts/test installs it)"),
    }
}

fn redis_server() -> Option<std::path::PathBuf> {
    if let Some(p) = std::env::var_os("PARKER_REDIS_SERVER") {
        return Some(p.into());
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join("redis-server"))
        .find(|p| p.is_file())
}

/// Runs the phases in rounds (off, unsampled, on, off, unsampled, on, …)
/// and reports each phase's median round, so background load on a shared
/// machine hits every phase alike instead of skewing one.
async fn compare(redis_url: Option<&str>, secs: u64, rounds: usize) {
    let sink = OtlpSink::start().await;
    let otlp = |sampler: &str| {
        vec![
            ("OTEL_SDK_DISABLED", "false".to_owned()),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", sink.grpc_endpoint()),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc".to_owned()),
            ("OTEL_TRACES_SAMPLER", sampler.to_owned()),
        ]
    };
    let phases: [(&str, Vec<(&str, String)>); 3] = [
        (
            "  telemetry off",
            vec![("OTEL_SDK_DISABLED", "true".to_owned())],
        ),
        // A breakdown row: SDK, metrics and logs on, no span sampled, to
        // tell the cost of recording and exporting spans from the rest.
        ("  SDK on, spans unsampled", otlp("always_off")),
        ("  telemetry on (100 %, OTLP/gRPC)", otlp("always_on")),
    ];
    let mut results: Vec<Vec<Figures>> = phases.iter().map(|_| Vec::new()).collect();
    for _ in 0..rounds {
        for (i, (_, envs)) in phases.iter().enumerate() {
            let (_svc, url) = start(redis_url, envs);
            results[i].push(drive(&url, secs).await);
        }
    }
    let medians: Vec<Figures> = results
        .into_iter()
        .map(|mut r| {
            r.sort_by(|a, b| a.rps.total_cmp(&b.rps));
            r.swap_remove(r.len() / 2)
        })
        .collect();
    for ((label, _), f) in phases.iter().zip(&medians) {
        print(label, f);
    }
    let ratio = medians[2].rps / medians[0].rps;
    println!(
        "  throughput ratio on/off: {ratio:.3} (telemetry cost {:.1} %; target <= 3 %); spans received: {}",
        (1.0 - ratio) * 100.0,
        sink.spans().len()
    );
}
