//! Issue 11's outage, with the real components and parker-telemetry's
//! defaults: the real parker-booking (only OTEL_EXPORTER_OTLP_ENDPOINT and
//! _PROTOCOL set: traces, metrics and logs exported, default batching and
//! retry) exports to the real otelcol-parker (otlp → batch → otlp_http),
//! whose sink is `otelops receive`.
//!
//! 100 requests; the collector is stopped with SIGTERM; 100 requests while
//! it is down; 8 s after it stopped it starts again on the same ports; 100
//! more requests. Every one of the 300 server spans reaches the sink, over
//! OTLP/gRPC and OTLP/HTTP protobuf alike (before parker-telemetry retried
//! until the export timeout, 200 of them were lost), requests during the
//! outage are as quick as before it, and booking logs the outage once and
//! its recovery once. And booking stopped (SIGTERM) while the collector is
//! down still exits within telemetry's 5 s shutdown deadline.
//!
//! Artifacts (`$PARKER_TEST_ARTIFACTS/outage-*`): the rendered config, the
//! collector's logs (one per run) and booking's log.

mod common;
#[path = "common/receive.rs"]
mod receive_support;
#[path = "common/collector/mod.rs"]
mod support;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use support::artifacts::Artifacts;
use support::collector::{self, Collector, Ports};
use support::services::{Otlp, Service};

const PER_PHASE: usize = 100;
const DOWN: Duration = Duration::from_secs(8);
const SPAN_NAME: &str = "GET /v1/bookings";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn booking_over_grpc_loses_no_span_to_an_8_s_collector_restart() {
    run("outage-grpc", Otlp::Grpc, 0xa1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn booking_over_http_loses_no_span_to_an_8_s_collector_restart() {
    run("outage-http", Otlp::HttpProtobuf, 0xa2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn booking_stopped_while_the_collector_is_down_exits_within_the_telemetry_deadline() {
    let art = Artifacts::new("outage-shutdown");
    let (_sink, mut col, mut booking) = pipeline(&art, Otlp::HttpProtobuf).await;
    col.stop().await;
    let client = support::sender::client();
    requests(&client, &booking, 0xa3, 1, &mut Vec::new()).await;
    // The span batch (default 5 s schedule delay) is being retried.
    support::wait_until(
        "booking retrying its span export",
        Duration::from_secs(20),
        || {
            let log = without_ansi(&booking.log());
            let retrying = log
                .lines()
                .any(|l| l.contains("telemetry export failing") && l.contains("signal=traces"));
            async move { if retrying { Ok(()) } else { Err(log) } }
        },
    )
    .await;

    let started = Instant::now();
    let status = booking.stop().await;
    let took = started.elapsed();
    let log = without_ansi(&booking.log());
    assert!(status.success(), "booking exited with {status}:\n{log}");
    assert!(
        took < parker_telemetry::guard::SHUTDOWN_DEADLINE,
        "booking took {took:?} to exit:\n{log}"
    );
    assert!(
        log.contains("telemetry shut down while export was failing")
            && !log.contains("did not finish within"),
        "telemetry gave up the failing export rather than its deadline:\n{log}"
    );
}

/// The pipeline: `otelops receive` as the sink, the collector
/// (`outage.yaml`) in front of it, and booking with telemetry's defaults
/// exporting to the collector over `otlp` (the worker off: the scenarios
/// count server spans).
async fn pipeline(art: &Artifacts, otlp: Otlp) -> (receive_support::Running, Collector, Service) {
    let sink = receive_support::Running::start(&["--max-spans", "100000"]);
    let mut ports = Ports::free();
    ports.downstream = sink.http.port();
    let config = collector::render("outage.yaml", &ports, &[], art);
    let col = Collector::start(config, ports, art).await;
    let endpoint = match otlp {
        Otlp::Grpc => ports.otlp_grpc_url(),
        Otlp::HttpProtobuf => ports.otlp_http_url(),
    };
    let booking = Service::start_untuned(
        "parker-booking",
        otlp,
        &endpoint,
        &[("PARKER_DISABLE_WORKER", "true")],
        art,
    )
    .await;
    (sink, col, booking)
}

async fn run(scenario: &str, otlp: Otlp, tag: u8) {
    let art = Artifacts::new(scenario);
    let (sink, mut col, booking) = pipeline(&art, otlp).await;

    let client = support::sender::client();
    let mut sent = Vec::new();
    let before = requests(&client, &booking, tag, 1, &mut sent).await;
    col.stop().await;
    let stopped = Instant::now();
    art.note("collector stopped (SIGTERM)");
    let during = requests(&client, &booking, tag, 2, &mut sent).await;
    tokio::time::sleep(DOWN.saturating_sub(stopped.elapsed())).await;
    col.restart().await;
    art.note("collector restarted on the same ports");
    requests(&client, &booking, tag, 3, &mut sent).await;

    // Requests during the outage took what they took before it (a generous
    // factor: this guards against telemetry blocking the request path).
    let (p50_before, p50_during) = (median(before), median(during));
    assert!(
        p50_during <= p50_before * 10 + Duration::from_millis(50),
        "median request {p50_during:?} during the outage, {p50_before:?} before"
    );

    // Default batching: spans leave every 5 s; retries back off up to 2 s.
    let expected: HashSet<String> = sent.into_iter().collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    let arrived = loop {
        let arrived = server_spans_at_the_sink(&sink, &expected).await;
        if arrived.len() == expected.len() || Instant::now() >= deadline {
            break arrived;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let missing: Vec<&String> = expected.difference(&arrived).collect();
    assert!(
        missing.is_empty(),
        "{} of {} server spans missing at the sink, e.g. trace {:?}; booking log:\n{}",
        missing.len(),
        expected.len(),
        missing.first(),
        booking.log()
    );

    let log = without_ansi(&booking.log());
    let lines = |what: &str| {
        log.lines()
            .filter(|l| l.contains(what) && l.contains("signal=traces"))
            .count()
    };
    assert_eq!(
        lines("telemetry export failing"),
        1,
        "one warning for the outage:\n{log}"
    );
    assert_eq!(
        lines("telemetry export recovered"),
        1,
        "one line for the recovery:\n{log}"
    );
}

/// `PER_PHASE` requests of phase `phase`, each with its own trace id (sent
/// in `traceparent`, recorded in `sent`); every one must succeed. Their
/// durations.
async fn requests(
    client: &reqwest::Client,
    booking: &Service,
    tag: u8,
    phase: u8,
    sent: &mut Vec<String>,
) -> Vec<Duration> {
    let url = booking.url("/v1/bookings");
    let mut took = Vec::with_capacity(PER_PHASE);
    for i in 0..PER_PHASE {
        let trace = format!("{tag:02x}{phase:02x}{i:028x}");
        let started = Instant::now();
        let response = client
            .get(&url)
            .header("traceparent", format!("00-{trace}-00f067aa0ba902b7-01"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {url} (phase {phase}, #{i}): {e}"));
        assert_eq!(response.status(), 200, "GET {url} (phase {phase}, #{i})");
        took.push(started.elapsed());
        sent.push(trace);
    }
    took
}

/// The log as text: the fmt layer colours its fields (`ESC[…m`) even in a file.
fn without_ansi(log: &str) -> String {
    let mut out = String::with_capacity(log.len());
    let mut chars = log.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // Skip to the end of the escape sequence.
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn median(mut d: Vec<Duration>) -> Duration {
    d.sort();
    d[d.len() / 2]
}

/// The trace ids among `expected` whose booking server span the sink holds.
async fn server_spans_at_the_sink(
    sink: &receive_support::Running,
    expected: &HashSet<String>,
) -> HashSet<String> {
    let list = receive_support::get_json(&sink.http_url("/otelops/v1/traces")).await;
    list.as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter(|t| t["root_name"] == SPAN_NAME && t["root_service"] == "parker-booking")
        .filter_map(|t| t["trace_id"].as_str())
        .filter(|id| expected.contains(*id))
        .map(str::to_owned)
        .collect()
}
