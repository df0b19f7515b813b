//! `PARKER_BENCH_CALLGRIND=N`: instructions per request in every phase
//! (off, unsampled, stock, ours, ratio 0.1), counted by valgrind's callgrind. Throughput on a shared 2-core
//! machine moves with whatever else runs; instruction counts do not, so
//! these are the figures to compare changes by.
//!
//! Each phase starts the service under callgrind (embedded store), warms
//! it up, zeroes the counters (`callgrind_control -z`), sends N requests of
//! the usual mix (4 concurrent clients), waits until the sink holds a span
//! for every request (at a ratio: until spans stop arriving) so the export
//! work is inside the window too, and
//! dumps (`callgrind_control -d`). Every thread of the process is counted:
//! request handling, the SDK's batch thread and the export runtime.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use parker_telemetry::testing::OtlpSink;

use super::load::Target;
use super::{PHASES, Service, phase_env, server_spans, start, start_redis};

const WARMUP: usize = 300;
const CLIENTS: usize = 4;

/// `redis`: count against a Redis store of its own rather than the
/// embedded one.
pub async fn run(requests: usize, redis: bool) {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("api-throughput-callgrind");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("creating the callgrind output directory");
    let store: Option<(Service, String)> = match redis {
        true => match start_redis() {
            Some(redis) => Some(redis),
            None => {
                println!("callgrind: no redis-server (./scripts/test installs it)");
                return;
            }
        },
        false => None,
    };
    let redis_url = store.as_ref().map(|(_, url)| url.as_str());
    println!(
        "callgrind: {requests} requests per phase after {WARMUP} warm-up, {CLIENTS} clients, {} store",
        if redis { "Redis" } else { "embedded" }
    );
    let mut off = None;
    for phase in &PHASES {
        let label = phase.label;
        let sink = match phase.sampler {
            Some(_) => Some(OtlpSink::start().await),
            None => None,
        };
        let out = dir.join(format!(
            "{}.out",
            label.trim().replace([' ', '%', '(', ')', ',', '/'], "_")
        ));
        let wrapper = [
            "valgrind".to_owned(),
            "-q".to_owned(),
            "--tool=callgrind".to_owned(),
            format!("--callgrind-out-file={}", out.display()),
        ];
        let (svc, url) = start(redis_url, &phase_env(phase, sink.as_ref()), Some(&wrapper));
        let pid = svc.0.id().to_string();
        let sink = sink.as_ref().filter(|_| phase.samples());
        drive_n(&url, WARMUP).await;
        if let Some(sink) = sink {
            wait_for_spans(sink, phase.samples_all().then_some(WARMUP)).await;
        }
        control(&["-z", &pid]);
        drive_n(&url, requests).await;
        if let Some(sink) = sink {
            wait_for_spans(sink, phase.samples_all().then_some(WARMUP + requests)).await;
        }
        control(&["-d", &pid]);
        drop(svc);
        let total = match newest_total(&dir, &out) {
            Some(t) => t,
            None => {
                println!("{label:<34} no callgrind dump found in {}", dir.display());
                continue;
            }
        };
        let per_request = total as f64 / requests as f64;
        let vs_off = off.map_or(String::new(), |off: f64| {
            format!(
                "  (+{:.0} instructions, x{:.3} of off)",
                per_request - off,
                per_request / off
            )
        });
        off.get_or_insert(per_request);
        println!("{label:<34} {per_request:>9.0} instructions/request{vs_off}");
    }
}

async fn drive_n(url: &str, n: usize) {
    let target = Target::new(url);
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..CLIENTS {
        let target = target.clone();
        let share = n / CLIENTS + usize::from(worker < n % CLIENTS);
        tasks.spawn(async move {
            let mut client = target.connect().await;
            for i in 0..share {
                client.one_request(worker + i).await;
            }
        });
    }
    while tasks.join_next().await.is_some() {}
}

/// Waits (bounded) until the sink holds the SERVER spans of `n` requests
/// (a request's Redis spans end, and queue, before its server span); with
/// `None` (a sampling ratio: the count is not known), until no span has
/// arrived for longer than the batch schedule delay.
async fn wait_for_spans(sink: &OtlpSink, n: Option<usize>) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let quiet = schedule_delay() + Duration::from_secs(1);
    let (mut seen, mut since) = (server_spans(sink), Instant::now());
    while Instant::now() < deadline {
        let now = server_spans(sink);
        match n {
            Some(n) if now >= n => return,
            None if now == seen && since.elapsed() > quiet => return,
            _ => {}
        }
        if now != seen {
            (seen, since) = (now, Instant::now());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// `OTEL_BSP_SCHEDULE_DELAY` as the service gets it (the SDK's 5 s default).
fn schedule_delay() -> Duration {
    std::env::var("OTEL_BSP_SCHEDULE_DELAY")
        .ok()
        .and_then(|ms| ms.parse().ok())
        .map_or(Duration::from_secs(5), Duration::from_millis)
}

fn control(args: &[&str]) {
    match Command::new("callgrind_control").args(args).output() {
        Ok(o) if o.status.success() => {}
        Ok(o) => println!(
            "callgrind_control {args:?} failed: {}",
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(e) => println!("cannot run callgrind_control (apt-get install valgrind): {e}"),
    }
}

/// The `totals:` (or `summary:`) instruction count of the newest dump
/// written for `out` (`out.1`, `out.2`, … for explicit dumps).
fn newest_total(dir: &Path, out: &Path) -> Option<u64> {
    let prefix = out.file_name()?.to_str()?.to_owned();
    let newest = std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| n.starts_with(&prefix) && n != prefix)
        })
        .max_by_key(|e| e.metadata().and_then(|m| m.modified()).ok())?;
    let text = std::fs::read_to_string(newest.path()).ok()?;
    text.lines()
        .find_map(|l| {
            l.strip_prefix("totals:")
                .or_else(|| l.strip_prefix("summary:"))
        })
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}
