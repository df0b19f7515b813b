//! `otelops demo` as a user runs it: the real binary starts the real
//! `parker-fares` and `parker-booking` on loopback, books four trips with one
//! injected provider failure, and reports the trace and the three checks.
//! Also: what a missing binary or a service that cannot start looks like,
//! and that no service outlives the demo (also when it is stopped by a signal).

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::Run;
use serde_json::Value;

/// Bound on one demo run; the demo itself bounds each of its waits at
/// [`DEMO_TIMEOUT`] and then fails with what it was waiting for.
const RUN_TIMEOUT: Duration = Duration::from_secs(60);
const DEMO_TIMEOUT: &str = "20s";

/// The directory holding the built services (beside `otelops`).
fn services_built() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        for name in ["parker-fares", "parker-booking"] {
            common::parker_service(name);
        }
        common::bin_dir()
    })
}

/// Runs `otelops demo ARGS` to completion, killing it past [`RUN_TIMEOUT`].
fn demo(args: &[&str]) -> Run {
    let child = Command::new(env!("CARGO_BIN_EXE_otelops"))
        .args(["demo", "--timeout", DEMO_TIMEOUT])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn otelops demo");
    finish(child, RUN_TIMEOUT)
}

fn finish(child: Child, timeout: Duration) -> Run {
    common::finish(child, timeout, "otelops demo").into()
}

/// Processes whose working directory is `dir`: the demo starts its services
/// there, so after it exits there must be none.
#[cfg(target_os = "linux")]
fn processes_in(dir: &Path) -> Vec<String> {
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("read /proc").flatten() {
        let path = entry.path();
        if std::fs::read_link(path.join("cwd")).is_ok_and(|cwd| cwd == dir) {
            let cmdline = std::fs::read(path.join("cmdline")).unwrap_or_default();
            found.push(format!(
                "{} {}",
                entry.file_name().to_string_lossy(),
                String::from_utf8_lossy(&cmdline).replace('\0', " ")
            ));
        }
    }
    found
}

#[cfg(not(target_os = "linux"))]
fn processes_in(_dir: &Path) -> Vec<String> {
    Vec::new()
}

/// Waits a moment for killed children to be reaped by init.
fn assert_no_process_in(dir: &Path) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let left = processes_in(dir);
        if left.is_empty() {
            return;
        }
        assert!(Instant::now() < deadline, "left running: {left:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn demo_once_books_every_trip_retries_the_one_failure_and_reports_trace_and_checks() {
    let bins = services_built();
    let work = tempfile::tempdir().expect("tempdir");
    let work_dir = work.path().to_str().expect("utf-8 temp path");
    let run = demo(&[
        "--once",
        "--bin-dir",
        bins.to_str().expect("utf-8 path"),
        "--work-dir",
        work_dir,
    ]);
    assert!(
        run.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        run.status.code(),
        run.stdout,
        run.stderr
    );
    let out = &run.stdout;
    // Every traveller's booking, final; exactly one with a retried failure.
    for traveller in [
        "Ada Lovelace",
        "Grace Hopper",
        "Alan Turing",
        "Katherine Johnson",
    ] {
        let line = out
            .lines()
            .find(|l| l.trim_start().starts_with(traveller))
            .unwrap_or_else(|| panic!("no booking line for {traveller}:\n{out}"));
        assert!(
            ["booked", "expired"].iter().any(|s| line.contains(s)),
            "{traveller} is not final: {line}"
        );
    }
    assert!(
        out.contains("with 503; the worker retried it and the booking is booked."),
        "{out}"
    );
    // The waterfall crosses both services and shows the failed order.
    let waterfall = out
        .split("== Trace ")
        .nth(1)
        .and_then(|rest| rest.split("== Checks").next())
        .unwrap_or_else(|| panic!("no trace section:\n{out}"));
    assert!(
        waterfall.contains("services: parker-booking, parker-fares"),
        "{waterfall}"
    );
    assert!(waterfall.contains("\nprocess booking "), "{waterfall}");
    let failed_order = waterfall
        .lines()
        .find(|l| l.contains("POST /v1/orders") && l.contains("parker-fares"))
        .unwrap_or_else(|| panic!("no fares order span:\n{waterfall}"));
    assert!(
        failed_order.contains("ERROR") && failed_order.contains("503"),
        "{failed_order}"
    );
    // The three checks, each summarised, none with violations.
    for check in ["export-format", "semantic-conventions", "trace-context"] {
        let summary = out
            .lines()
            .find(|l| l.trim_start().starts_with(check) && l.contains("violation(s)"))
            .unwrap_or_else(|| panic!("no {check} summary:\n{out}"));
        assert!(summary.contains(" 0 violation(s)"), "{summary}");
    }
    assert!(out.contains("PASS: "), "{out}");
    // The received telemetry was kept for the user, and no service survived.
    assert!(work.path().join("telemetry.jsonl").is_file());
    assert!(work.path().join("parker-booking.log").is_file());
    assert_no_process_in(work.path());
}

#[test]
fn demo_once_json_summary_names_the_failed_booking_and_its_retry_trace() {
    let bins = services_built();
    let work = tempfile::tempdir().expect("tempdir");
    let run = demo(&[
        "--once",
        "--output",
        "json",
        "--protocol",
        "grpc",
        "--bin-dir",
        bins.to_str().expect("utf-8 path"),
        "--work-dir",
        work.path().to_str().expect("utf-8 path"),
    ]);
    assert!(
        run.status.success(),
        "stderr:\n{}\nstdout:\n{}",
        run.stderr,
        run.stdout
    );
    let report: Value = serde_json::from_str(&run.stdout).expect("stdout is one JSON document");
    let bookings = report["bookings"].as_array().expect("bookings");
    assert_eq!(bookings.len(), 4);
    let failure = &report["injected_failure"];
    assert_eq!(failure["status"], 503);
    assert_eq!(failure["booking_status"], "booked");
    let retried: Vec<&Value> = bookings.iter().filter(|b| b["retries"] != 0).collect();
    assert_eq!(retried.len(), 1, "{bookings:?}");
    assert_eq!(retried[0]["id"], failure["order_key"]);
    let trace = &report["trace"];
    assert_eq!(
        trace["services"],
        serde_json::json!(["parker-booking", "parker-fares"])
    );
    assert_ne!(trace["retry_trace_id"], trace["trace_id"]);
    assert!(
        trace["retry_trace_id"]
            .as_str()
            .is_some_and(|t| t.len() == 32)
    );
    let spans = trace["detail"]["spans"].as_array().expect("spans");
    assert!(
        spans
            .iter()
            .any(|s| s["service"] == "parker-fares" && s["status"] == "error"),
        "{spans:?}"
    );
    let checks: Vec<&str> = report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .map(|c| c["check"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        checks,
        ["export-format", "semantic-conventions", "trace-context"]
    );
    assert_eq!(report["endpoints"]["protocol"], "grpc");
    assert!(report["received"]["spans"].as_u64().unwrap_or(0) > 10);
    assert_no_process_in(work.path());
}

#[test]
fn demo_with_an_empty_bin_dir_names_the_missing_binary_and_how_to_build_it() {
    let empty = tempfile::tempdir().expect("tempdir");
    let work = tempfile::tempdir().expect("tempdir");
    let run = demo(&[
        "--once",
        "--bin-dir",
        empty.path().to_str().expect("utf-8 path"),
        "--work-dir",
        work.path().to_str().expect("utf-8 path"),
    ]);
    assert_eq!(run.status.code(), Some(2), "stderr:\n{}", run.stderr);
    let expected = format!(
        "parker-fares not found at {}",
        empty.path().join("parker-fares").display()
    );
    assert!(run.stderr.contains(&expected), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("cargo build -p parker-fares -p parker-booking"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.is_empty(), "{}", run.stdout);
}

#[test]
fn demo_stops_fares_when_booking_cannot_start() {
    let bins = services_built();
    let work = tempfile::tempdir().expect("tempdir");
    // Booking's port is taken, so booking exits at once; fares had started.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let taken_addr = taken.local_addr().expect("addr").to_string();
    let run = demo(&[
        "--once",
        "--bin-dir",
        bins.to_str().expect("utf-8 path"),
        "--work-dir",
        work.path().to_str().expect("utf-8 path"),
        "--booking-listen",
        &taken_addr,
    ]);
    assert_eq!(run.status.code(), Some(2), "stderr:\n{}", run.stderr);
    assert!(
        run.stderr
            .contains("parker-booking exited before it was ready"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(&taken_addr),
        "the log tail names the address: {}",
        run.stderr
    );
    assert_no_process_in(work.path());
    drop(taken);
}

#[cfg(unix)]
#[test]
fn demo_stopped_by_sigterm_stops_its_services() {
    let bins = services_built();
    let work = tempfile::tempdir().expect("tempdir");
    let mut child = Command::new(env!("CARGO_BIN_EXE_otelops"))
        .args(["demo", "--timeout", DEMO_TIMEOUT, "--bin-dir"])
        .arg(bins)
        .arg("--work-dir")
        .arg(work.path())
        .args([
            "--booking-listen",
            "127.0.0.1:0",
            "--fares-listen",
            "127.0.0.1:0",
            "--grpc-listen",
            "127.0.0.1:0",
            "--http-listen",
            "127.0.0.1:0",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn otelops demo");
    // Read stdout until the demo says it keeps running, then stop it.
    let mut stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut seen = String::new();
        let mut buf = [0u8; 4096];
        let mut told = false;
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 {
                break;
            }
            seen.push_str(&String::from_utf8_lossy(&buf[..n]));
            if !told && seen.contains("Ctrl-C stops everything.") {
                told = true;
                let _ = tx.send(seen.clone());
            }
        }
    });
    let ready = rx.recv_timeout(RUN_TIMEOUT);
    let pid = i32::try_from(child.id()).expect("pid fits");
    if ready.is_ok() {
        // The services run in the work directory while the demo waits.
        assert_eq!(
            processes_in(work.path()).len(),
            2,
            "{:?}",
            processes_in(work.path())
        );
    }
    // SAFETY: a plain kill(2) of the child this test spawned and still owns.
    unsafe {
        libc::kill(pid, libc::SIGTERM);
    }
    let run = finish(child, Duration::from_secs(30));
    assert!(
        ready.is_ok(),
        "the demo never reached its report; stderr:\n{}",
        run.stderr
    );
    assert!(run.stderr.contains("stopping"), "{}", run.stderr);
    // It tells where the web view of the received traces is.
    let shown = ready.unwrap();
    let web_view = regex::Regex::new(r"web view +http://127\.0\.0\.1:\d+/ui/ ").unwrap();
    assert!(web_view.is_match(&shown), "{shown}");
    assert_no_process_in(work.path());
}
