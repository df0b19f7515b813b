//! `otelops test run` on the shipped Tracetest definitions
//! (`tests/tracetest/*.yaml`) against the real booking system: on the memory
//! store with the embedded receiver, on Redis reading a running `otelops
//! receive` (`--receiver`), and once behind otelcol-parker (services →
//! collector → the embedded receiver). Also: a failing assertion exits 1
//! naming the span and the observed value; a test that cannot run exits 2.

mod common;
#[path = "common/receive.rs"]
mod receive_support;
#[path = "common/collector/mod.rs"]
mod support;
#[path = "common/trace_test.rs"]
mod tt;

use support::artifacts::Artifacts;
use support::collector::{self, Collector, Ports};
use tt::{BookingSystem, Redis, assert_exit, otelops_test, shipped};

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

/// The quiet period the scenarios wait for: longer than the default
/// (500ms) because the whole suite shares two cores; the benchmark measures
/// the default.
const RETRY_DELAY: &str = "1s";

fn embedded_args(grpc: u16, http: u16) -> Vec<String> {
    strings(&[
        "--grpc-listen",
        &format!("127.0.0.1:{grpc}"),
        "--http-listen",
        &format!("127.0.0.1:{http}"),
    ])
}

/// `--file` with each shipped definition.
fn files(names: &[&str]) -> Vec<String> {
    names
        .iter()
        .flat_map(|n| ["--file".to_owned(), shipped(n)])
        .collect()
}

/// Every spec of every result passed, by name.
fn assert_all_passed(json: &serde_json::Value, expected_tests: usize) {
    let results = json["results"].as_array().expect("results array");
    assert_eq!(results.len(), expected_tests, "{json:#}");
    assert_eq!(json["errors"].as_array().map(Vec::len), Some(0), "{json:#}");
    for r in results {
        assert_eq!(r["passed"], true, "{} failed: {r:#}", r["name"]);
        assert!(!r["specs"].as_array().unwrap().is_empty());
    }
}

/// Runs the shipped definitions `names` with `args` against `system`;
/// every one must pass. Returns the JSON report.
async fn run_shipped(
    art: &Artifacts,
    system: &BookingSystem,
    mut args: Vec<String>,
    names: &[&str],
) -> serde_json::Value {
    args.extend(strings(&["--output", "json"]));
    args.extend(files(names));
    let run = otelops_test(args, system.definition_env()).await;
    art.save("run.json", &run.stdout);
    assert_exit(&run, 0);
    let json = run.json();
    assert_all_passed(&json, names.len());
    json
}

/// In the order they must run: the relay fails the first order, and the
/// replay reads booking-flow's BOOKING_ID output.
const BOOKING_DEFINITIONS: [&str; 3] = [
    "provider-failure.yaml",
    "booking-flow.yaml",
    "idempotent-replay.yaml",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shipped_definitions_pass_on_the_memory_store_with_the_embedded_receiver() {
    let art = Artifacts::new("trace-test-memory");
    let (grpc, http) = (common::free_port(), common::free_port());
    let system = BookingSystem::start(&format!("http://127.0.0.1:{http}"), None, &art).await;
    let junit = art.path("junit.xml");
    let mut args = strings(&["run", "--retry-delay", RETRY_DELAY, "--junit"]);
    args.push(junit.display().to_string());
    args.extend(embedded_args(grpc, http));
    let json = run_shipped(&art, &system, args, &BOOKING_DEFINITIONS).await;
    // booking-flow's output became the replay's ${var:BOOKING_ID}.
    let id = json["results"][1]["outputs"]["BOOKING_ID"]
        .as_str()
        .unwrap();
    assert!(id.len() > 8, "{json:#}");
    // The trigger trace was followed into the worker's linked traces and fares.
    let flow = &json["results"][1];
    assert!(flow["spans"].as_u64().unwrap() >= 8, "{flow:#}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains("<testsuites name=\"otelops test\" tests=\""),
        "{xml}"
    );
    assert!(xml.contains("failures=\"0\""), "{xml}");
    assert!(
        xml.contains("<testcase name=\"One order was placed at parker-fares\""),
        "{xml}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shipped_definitions_pass_on_redis_reading_a_running_receiver() {
    let art = Artifacts::new("trace-test-redis");
    let redis = Redis::start(&art);
    let receiver = receive_support::Running::start(&[]);
    let endpoint = format!("http://{}", receiver.http);
    let system = BookingSystem::start(&endpoint, Some(&redis), &art).await;
    let args = strings(&["run", "--retry-delay", RETRY_DELAY, "--receiver", &endpoint]);
    let mut names = BOOKING_DEFINITIONS.to_vec();
    names.push("redis-spans.yaml");
    run_shipped(&art, &system, args, &names).await;
    drop(receiver);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn booking_flow_passes_behind_otelcol_parker() {
    let art = Artifacts::new("trace-test-collector");
    let mut ports = Ports::free();
    let (grpc, http) = (common::free_port(), common::free_port());
    // The collector exports to the embedded receiver `otelops test` starts
    // (its retries hold the spans until it listens).
    ports.downstream = grpc;
    let config = collector::render("healthy.yaml", &ports, &[], &art);
    let col = Collector::start(config, ports, &art).await;
    let system = BookingSystem::start(&ports.otlp_http_url(), None, &art).await;
    // The collector batches (100ms) and, until the receiver listens, backs
    // off its retries (up to 500ms): a longer quiet period, as a Tracetest
    // polling profile for a pipeline would have.
    let mut args = strings(&["run", "--retry-delay", "2s"]);
    args.extend(embedded_args(grpc, http));
    run_shipped(&art, &system, args, &BOOKING_DEFINITIONS).await;
    drop(col);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_assertion_exits_1_with_the_span_and_the_observed_value() {
    let art = Artifacts::new("trace-test-failing");
    let (grpc, http) = (common::free_port(), common::free_port());
    let system = BookingSystem::start(&format!("http://127.0.0.1:{http}"), None, &art).await;
    let junit = art.path("junit.xml");
    let mut args = strings(&["run", "--junit", junit.to_str().unwrap()]);
    args.extend(embedded_args(grpc, http));
    args.extend(strings(&[
        "--file",
        common::fixture("tracetest/wrong-status.yaml")
            .to_str()
            .unwrap(),
    ]));
    let run = otelops_test(args, system.definition_env()).await;
    art.save("run.txt", &run.stdout);
    assert_exit(&run, 1);
    assert!(
        run.stdout.starts_with("✘ Booking answers 201"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("\t✔ The trigger got an answer"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("\t✘ parker-booking answered 201"),
        "{}",
        run.stdout
    );
    // The span it failed on, then the assertion with what was observed.
    let span_line = run
        .stdout
        .lines()
        .find(|l| l.trim_start().starts_with("✘ #"))
        .unwrap_or_else(|| panic!("no failing span named:\n{}", run.stdout));
    assert!(span_line.ends_with(" \"POST /v1/bookings\""), "{span_line}");
    assert!(
        run.stdout
            .contains("✘ attr:http.response.status_code = 201 (observed 202, expected 201)"),
        "{}",
        run.stdout
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains("failures=\"1\""), "{xml}");
    assert!(xml.contains("observed 202, expected 201"), "{xml}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_test_that_cannot_run_exits_2() {
    let (grpc, http) = (common::free_port(), common::free_port());
    // Nothing listens at the booking URL: the trigger cannot be sent.
    let closed = format!("http://127.0.0.1:{}", common::closed_port());
    let env = vec![
        ("PARKER_BOOKING_URL".to_owned(), closed.clone()),
        ("DEPARTURE_FROM".to_owned(), "2030-01-01".to_owned()),
        ("DEPARTURE_TO".to_owned(), "2030-01-07".to_owned()),
        ("BOOKING_KEY".to_owned(), "k".to_owned()),
    ];
    let mut args = strings(&["run"]);
    args.extend(embedded_args(grpc, http));
    args.extend(files(&["booking-flow.yaml"]));
    let run = otelops_test(args.clone(), env).await;
    assert_exit(&run, 2);
    assert!(
        run.stderr.contains("the trigger request to"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains(&closed), "{}", run.stderr);

    // An unset ${env:…} names the variable and where it is used.
    let run = otelops_test(args, Vec::new()).await;
    assert_exit(&run, 2);
    let flow = shipped("booking-flow.yaml");
    assert!(
        run.stderr.contains(&format!(
            "{flow}:15:12: ${{env:PARKER_BOOKING_URL}}: the environment variable is not set"
        )),
        "{}",
        run.stderr
    );
}
