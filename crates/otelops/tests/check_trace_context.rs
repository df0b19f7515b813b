//! `otelops check trace-context` against real services on loopback: the real
//! `parker-booking` binary's W3C test endpoint passes every case at both
//! levels (Level 2's random trace-flag and tracestate keys included); small
//! in-test services that forward headers verbatim, never call back, or have
//! no test endpoint fail the way the spec says they should.

#[path = "common/check.rs"]
mod check_support;
mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use check_support::{code, otelops, stdout_json};
use otelops::check::trace_context::{SpecLevel, cases};

/// `PARKER_BOOKING`, or `parker-booking` as cargo built it beside `otelops`.
fn booking_binary() -> PathBuf {
    std::env::var_os("PARKER_BOOKING")
        .map(PathBuf::from)
        .unwrap_or_else(|| common::parker_service("parker-booking"))
}

/// A running `parker-booking`, killed on drop.
struct Booking {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Booking {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts booking on a free loopback port with its embedded store, no
/// worker, and telemetry on (the propagator is what is under test) but
/// exporting nowhere.
fn start_booking(test_endpoint: bool) -> Booking {
    let mut child = Command::new(booking_binary())
        .env("PARKER_LISTEN", "127.0.0.1:0")
        .env("PARKER_ENABLE_TEST_ENDPOINT", test_endpoint.to_string())
        .env("PARKER_DISABLE_WORKER", "true")
        .env("OTEL_TRACES_EXPORTER", "none")
        .env("OTEL_METRICS_EXPORTER", "none")
        .env("OTEL_LOGS_EXPORTER", "none")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn parker-booking");
    let stdout = child.stdout.take().expect("piped stdout");
    // The first line names the bound address; the reader thread ends when
    // the child does, so a silent child cannot hang the test past 30 s.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let line = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("parker-booking prints its address within 30 s");
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("no address in {line:?}"));
    Booking { child, addr }
}

async fn check(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        otelops(&args)
    })
    .await
    .expect("otelops runner")
}

fn args(target: &str, extra: &[&str]) -> Vec<String> {
    ["check", "trace-context", "--target", target]
        .iter()
        .chain(extra)
        .map(|s| (*s).to_owned())
        .collect()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parker_booking_passes_every_case_at_both_levels() {
    let booking = start_booking(true);
    let target = format!("http://{}/test", booking.addr);
    // No --level: Level 2, the current recommendation.
    for (level, extra) in [(SpecLevel::Two, None), (SpecLevel::One, Some("1"))] {
        let mut flags = vec!["--output", "json"];
        flags.extend(extra.iter().flat_map(|l| ["--level", *l]));
        let out = check(args(&target, &flags)).await;
        let report = stdout_json(&out);
        assert_eq!(report["violations"], 0, "{level}: {report:#}");
        assert_eq!(code(&out), 0, "{level}: {}", stderr(&out));
        let findings = report["findings"].as_array().expect("findings");
        // The report orders findings by rule name.
        let mut names: Vec<&str> = findings
            .iter()
            .map(|f| f["rule"].as_str().expect("rule"))
            .collect();
        let mut expected: Vec<&str> = cases(level).iter().map(|c| c.name).collect();
        names.sort_unstable();
        expected.sort_unstable();
        assert_eq!(names, expected, "{level}: one finding per case");
        for finding in findings {
            assert_eq!(finding["level"], "information", "{finding:#}");
            assert_eq!(finding["file"], target.as_str());
        }
    }
}

/// The random flag as booking sends it on, per what the caller sent; the
/// message of a passed case quotes the propagated traceparent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parker_booking_sets_keeps_and_never_invents_the_random_flag() {
    let booking = start_booking(true);
    let out = check(args(
        &format!("http://{}/test", booking.addr),
        &["--output", "json"],
    ))
    .await;
    let report = stdout_json(&out);
    let message = |case: &str| -> String {
        let findings = report["findings"].as_array().expect("findings");
        let finding = findings
            .iter()
            .find(|f| f["rule"] == case)
            .unwrap_or_else(|| panic!("{case} in {report:#}"));
        finding["message"].as_str().expect("message").to_owned()
    };
    let sent_flags = |case: &str| -> String {
        let text = message(case);
        let parent = text
            .strip_prefix("traceparent ")
            .and_then(|rest| rest.split(',').next())
            .unwrap_or_else(|| panic!("{case}: {text}"));
        parent[53..55].to_owned()
    };
    // A trace booking starts (its id drawn at random) is sampled and random.
    assert_eq!(sent_flags("new_trace_sets_random_flag"), "03");
    assert_eq!(sent_flags("no_context_starts_trace"), "03");
    // The caller's flag goes on, also when the caller did not sample.
    assert_eq!(sent_flags("random_flag_is_propagated"), "03");
    assert_eq!(sent_flags("random_flag_is_propagated_unsampled"), "02");
    // A caller's trace id that was not marked random is not marked by us.
    assert_eq!(sent_flags("random_flag_is_not_invented"), "01");
    assert_eq!(sent_flags("unsampled_flags_keep_trace_id"), "00");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn booking_without_the_test_endpoint_is_bad_input() {
    let booking = start_booking(false);
    let out = check(args(&format!("http://{}/test", booking.addr), &[])).await;
    assert_eq!(code(&out), 2, "{}", stdout(&out));
    assert!(
        stderr(&out).contains("answered HTTP 404")
            && stderr(&out).contains("--enable-test-endpoint"),
        "{}",
        stderr(&out)
    );
}

/// Serves `POST /test` with `handler` on a free loopback port.
async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(async move {
        axum::serve(listener, app).await.expect("serve");
    });
    addr
}

#[derive(serde::Deserialize)]
struct Call {
    url: String,
}

/// The classic bug: copying the incoming context headers onto the outgoing
/// call instead of propagating a parsed context.
async fn forward_verbatim(headers: HeaderMap, body: String) -> StatusCode {
    let calls: Vec<Call> = serde_json::from_str(&body).expect("test-service body");
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client");
    for call in calls {
        let mut request = client.post(&call.url).body("[]");
        for (name, value) in &headers {
            if name == "traceparent" || name == "tracestate" {
                request = request.header(name, value);
            }
        }
        request.send().await.expect("callback");
    }
    StatusCode::OK
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_forwarding_headers_verbatim_fails_the_invalid_input_cases() {
    let addr = serve(Router::new().route("/test", post(forward_verbatim))).await;
    let out = check(args(&format!("http://{addr}/test"), &[])).await;
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let text = stdout(&out);
    for failed in [
        "version_ff_restarts",
        "zero_trace_id_restarts",
        "duplicated_traceparent_restarts",
        "reserved_flags_are_not_propagated",
        "new_trace_sets_random_flag",
    ] {
        assert!(
            text.contains(&format!("FAIL  {failed} ")),
            "{failed}:\n{text}"
        );
    }
    assert!(
        text.contains("PASS  valid_traceparent_keeps_trace_id "),
        "{text}"
    );
    assert!(
        text.contains(
            "propagated traceparent \"ff-12345678901234567890123456789012-1234567890123456-01\" \
             is invalid: version `ff` is forbidden"
        ),
        "{text}"
    );
    assert!(text.contains("17 passed, 19 failed ("), "{text}");

    // Level 1 reads a repeated key as an invalid list: passing it on fails.
    let out = check(args(&format!("http://{addr}/test"), &["--level", "1"])).await;
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("FAIL  tracestate_duplicate_keys_not_propagated "),
        "{text}"
    );
    assert!(text.contains("11 passed, 19 failed ("), "{text}");
}

#[tokio::test]
async fn an_unknown_level_is_a_usage_error() {
    let out = check(args("http://127.0.0.1:9/test", &["--level", "3"])).await;
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("--level") && stderr(&out).contains("expected 1 or 2"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_that_never_calls_back_fails_every_case_by_timeout() {
    let addr = serve(Router::new().route("/test", post(|| async { StatusCode::OK }))).await;
    let out = check(args(
        &format!("http://{addr}/test"),
        &["--timeout", "100ms", "--output", "json"],
    ))
    .await;
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let report = stdout_json(&out);
    assert_eq!(report["violations"], cases(SpecLevel::Two).len());
    let first = &report["findings"][0];
    assert_eq!(first["level"], "violation");
    let message = first["message"].as_str().expect("message");
    assert!(
        message.starts_with("no callback arrived at http://127.0.0.1:")
            && message.ends_with("within 100ms"),
        "{message}"
    );
}

#[tokio::test]
async fn unreachable_and_non_loopback_targets_are_bad_input() {
    // A port that was just free: nothing listens there.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let out = check(args(&format!("http://127.0.0.1:{port}/test"), &[])).await;
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("target unreachable") && stderr(&out).contains("cannot connect"),
        "{}",
        stderr(&out)
    );
    // Refused before any connection is attempted.
    let out = check(args("http://192.0.2.1:8080/test", &[])).await;
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("refusing non-loopback target")
            && stderr(&out).contains("--allow-remote"),
        "{}",
        stderr(&out)
    );
}
