//! `otelops load` without a collector: the shipped sample trace is valid
//! OTLP/JSON that follows the semantic conventions; partial successes from
//! a receiver (the real `otelops receive`, which rejects spans with invalid
//! ids) are counted; bad input gets a clear error and exit 2.

mod common;
#[path = "common/load.rs"]
mod load_support;
#[path = "common/receive.rs"]
mod receive;

use load_support::{SAMPLE_SPANS, count, load, sample_trace};

#[test]
fn the_sample_trace_passes_export_format_and_semantic_conventions() {
    let sample = sample_trace();
    let sample = sample.to_str().expect("UTF-8 path");
    for check in ["export-format", "semantic-conventions"] {
        let run = common::otelops(&["check", check, sample]);
        assert_eq!(
            run.code, 0,
            "check {check}:\n{}\n{}",
            run.stdout, run.stderr
        );
    }
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(sample).unwrap()).unwrap();
    let spans: usize = doc["resourceSpans"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|rs| rs["scopeSpans"].as_array().unwrap())
        .map(|ss| ss["spans"].as_array().unwrap().len())
        .sum();
    assert_eq!(spans as u64, SAMPLE_SPANS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partial_successes_are_counted_with_the_rejected_spans() {
    let receiver = receive::Running::start(&[]);
    // The sample with one span's id zeroed: otelops receive keeps the rest
    // and answers partial success (rejectedSpans 1) to every request.
    let mut doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(sample_trace()).unwrap()).unwrap();
    doc["resourceSpans"][0]["scopeSpans"][0]["spans"][1]["spanId"] = "0000000000000000".into();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("one-bad-span.json");
    std::fs::write(&file, doc.to_string()).unwrap();
    let file = file.to_str().unwrap();
    for protocol in ["http/json", "http/protobuf", "grpc"] {
        let endpoint = match protocol {
            "grpc" => receiver.grpc_url(),
            _ => receiver.http_url("/v1/traces"),
        };
        let (run, summary) = load(&[
            "--file",
            file,
            "--protocol",
            protocol,
            "--requests",
            "7",
            "--endpoint",
            &endpoint,
        ])
        .await;
        assert_eq!(run.code, 1, "{protocol}: {}\n{}", run.stdout, run.stderr);
        assert_eq!(
            count(&summary, "requests", "partial"),
            7,
            "{protocol}: {summary:#}"
        );
        assert_eq!(count(&summary, "spans", "rejected"), 7, "{protocol}");
        assert_eq!(
            count(&summary, "spans", "accepted"),
            7 * (SAMPLE_SPANS - 1),
            "{protocol}"
        );
    }
}

fn assert_usage_error(args: &[&str], says: &[&str]) {
    let mut all = vec!["load"];
    all.extend_from_slice(args);
    let run = common::otelops(&all);
    assert_eq!(run.code, 2, "{args:?}: {}\n{}", run.stdout, run.stderr);
    for s in says {
        assert!(
            run.stderr.contains(s),
            "{args:?}: expected {s:?} in:\n{}",
            run.stderr
        );
    }
}

#[test]
fn bad_input_is_named_with_exit_2() {
    let endpoint = format!("127.0.0.1:{}", common::closed_port());
    let missing = "no/such/trace.json";
    assert_usage_error(
        &["--file", missing, "--endpoint", &endpoint],
        &["cannot read no/such/trace.json"],
    );
    let not_otlp = common::fixture("check/not_otlp.json");
    let not_otlp = not_otlp.to_str().unwrap();
    assert_usage_error(
        &["--file", not_otlp, "--endpoint", &endpoint],
        &["not_otlp.json holds no spans"],
    );
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.json");
    std::fs::write(&garbage, "resourceSpans: [").unwrap();
    assert_usage_error(
        &["--file", garbage.to_str().unwrap(), "--endpoint", &endpoint],
        &[
            "garbage.json is not an OTLP/JSON trace export request",
            "line 1",
        ],
    );
    assert_usage_error(&["--requests", "0"], &["--requests", "0"]);
    assert_usage_error(&["--requests", "10000001"], &["--requests"]);
    assert_usage_error(&["--duration", "2h"], &["--duration", "at most 1h"]);
    assert_usage_error(&["--rate", "0"], &["--rate", "more than 0"]);
    assert_usage_error(&["--concurrency", "5000"], &["--concurrency"]);
    assert_usage_error(&["--protocol", "http/xml"], &["http/xml", "http/protobuf"]);
    assert_usage_error(
        &["--traces", "10", "--batch", "3"],
        &["--traces 10 is not a multiple of --batch 3"],
    );
    assert_usage_error(&["--keep-ids"], &["--file"]);
    assert_usage_error(
        &["--endpoint", "http://192.0.2.7:4318"],
        &["refusing non-loopback target", "--allow-remote"],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_collector_is_a_failed_run_with_the_reason() {
    let endpoint = format!("127.0.0.1:{}", common::closed_port());
    let (run, summary) = load(&["--requests", "3", "--endpoint", &endpoint]).await;
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(count(&summary, "requests", "failed"), 3);
    assert_eq!(summary["statuses"]["error: connect"], 3);
    assert!(
        summary["first_failure"]
            .as_str()
            .unwrap()
            .contains("cannot connect"),
        "{summary:#}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_carries_fresh_ids_unless_keep_ids() {
    let receiver = receive::Running::start(&[]);
    let endpoint = receiver.http_url("/v1/traces");
    let sample = sample_trace();
    let sample = sample.to_str().unwrap();
    let traces = || async {
        let list = receive::get_json(&receiver.http_url("/otelops/v1/traces")).await;
        list.as_array().expect("trace list").len()
    };
    let (run, _) = load(&["--file", sample, "--requests", "5", "--endpoint", &endpoint]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    receive::wait_for_summary(&receiver, |s| s["spans"] == 5 * SAMPLE_SPANS).await;
    // The sample holds two traces (the booking request, the worker's).
    assert_eq!(traces().await, 5 * 2, "five requests, ten distinct traces");
    let (run, _) = load(&[
        "--file",
        sample,
        "--requests",
        "5",
        "--keep-ids",
        "--endpoint",
        &endpoint,
    ])
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    receive::wait_for_summary(&receiver, |s| s["spans"] == 10 * SAMPLE_SPANS).await;
    assert_eq!(
        traces().await,
        5 * 2 + 2,
        "--keep-ids sends the file's two traces"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duration_and_rate_bound_the_run_with_progress_lines_on_stderr() {
    let receiver = receive::Running::start(&[]);
    let endpoint = receiver.http_url("/v1/traces");
    let (run, summary) = load(&[
        "--duration",
        "1500ms",
        "--rate",
        "20",
        "--child-spans",
        "2",
        "--endpoint",
        &endpoint,
    ])
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    // Requests 0..29 are due before 1.5 s at 20/s; the 31st is due at the end.
    assert_eq!(count(&summary, "requests", "offered"), 30, "{summary:#}");
    assert_eq!(count(&summary, "spans", "accepted"), 30 * 3);
    assert!(
        summary["duration_s"].as_f64().unwrap() >= 1.4,
        "{summary:#}"
    );
    // stderr is a pipe here: plain progress lines, no terminal redraws.
    let line = run
        .stderr
        .lines()
        .find(|l| l.contains(" requests ") && l.contains("spans accepted"))
        .unwrap_or_else(|| panic!("no progress line in:\n{}", run.stderr));
    assert!(
        line.starts_with('[') && !run.stderr.contains('\r'),
        "{line:?}"
    );
}
