//! The store's bound (oldest trace evicted first, counted), the JSONL copy
//! in OTLP/JSON, and the summary printed on exit.

mod common;
#[path = "common/receive.rs"]
mod receive_support;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use prost::Message;
use receive_support::*;

const PROTOBUF: &str = "application/x-protobuf";

async fn send(running: &Running, request: ExportTraceServiceRequest) {
    let answer = post(
        &running.http_url("/v1/traces"),
        PROTOBUF,
        &[],
        request.encode_to_vec(),
    )
    .await;
    assert_eq!(answer.status, 200);
}

fn listed_ids(list: &serde_json::Value) -> Vec<String> {
    list.as_array()
        .expect("list")
        .iter()
        .map(|t| t["trace_id"].as_str().unwrap()[..2].to_owned())
        .collect()
}

#[tokio::test]
async fn past_max_spans_the_oldest_traces_are_evicted_and_counted() {
    let running = Running::start(&["--max-spans", "5"]);
    // Trace 01 with three spans, then 02 and 03 with two each: 7 > 5.
    send(
        &running,
        request(
            "a",
            vec![
                span(1, 1, None, "r", 0, 9),
                span(1, 2, Some(1), "c", 1, 2),
                span(1, 3, Some(1), "d", 2, 3),
            ],
        ),
    )
    .await;
    send(
        &running,
        request(
            "a",
            vec![span(2, 1, None, "r", 0, 9), span(2, 2, Some(1), "c", 1, 2)],
        ),
    )
    .await;
    send(
        &running,
        request(
            "b",
            vec![span(3, 1, None, "r", 0, 9), span(3, 2, Some(1), "c", 1, 2)],
        ),
    )
    .await;

    let list = get_json(&running.http_url("/otelops/v1/traces")).await;
    assert_eq!(listed_ids(&list), ["02", "03"]);
    let summary = get_json(&running.http_url("/otelops/v1/summary")).await;
    assert_eq!(summary["evicted"], 3);
    assert_eq!(summary["stored_spans"], 4);
    assert_eq!(summary["spans"], 7);
    let gone = reqwest::get(running.http_url(&format!("/otelops/v1/traces/{}", "01".repeat(16))))
        .await
        .expect("GET");
    assert_eq!(gone.status().as_u16(), 404);

    let printed = running.stop();
    assert_eq!(summary_value(&printed, "evicted"), "3");
    assert_eq!(summary_value(&printed, "traces"), "2");
    assert_eq!(summary_value(&printed, "services"), "a, b");
}

#[tokio::test]
async fn spans_of_a_trace_sent_in_separate_requests_join_one_trace() {
    let running = Running::start(&[]);
    send(
        &running,
        request("front", vec![span(4, 1, None, "GET /", 0, 10)]),
    )
    .await;
    send(
        &running,
        request("back", vec![span(4, 2, Some(1), "SELECT", 2, 5)]),
    )
    .await;
    let list = get_json(&running.http_url("/otelops/v1/traces")).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["services"], serde_json::json!(["front", "back"]));
    assert_eq!(list[0]["duration_ns"], 10_000_000);
}

#[test]
fn exit_after_spans_prints_the_summary_with_errors_and_rejections() {
    let running = Running::start(&["--exit-after-spans", "3"]);
    let url = running.http_url("/v1/traces");
    let mut bad = span(6, 9, None, "bad", 0, 1);
    bad.span_id = vec![0; 8];
    let body = request(
        "checkout",
        vec![
            span(5, 1, None, "pay", 0, 3),
            with_error(span(5, 2, Some(1), "charge", 1, 2), "declined"),
            span(5, 3, Some(1), "mail", 2, 3),
            bad,
        ],
    )
    .encode_to_vec();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let answer = runtime.block_on(post(&url, PROTOBUF, &[], body));
    assert_eq!(answer.status, 200);

    let printed = running.wait_output();

    assert_eq!(summary_value(&printed, "services"), "checkout");
    assert_eq!(summary_value(&printed, "traces"), "1");
    assert_eq!(summary_value(&printed, "spans"), "3");
    assert_eq!(summary_value(&printed, "errors"), "1");
    assert_eq!(summary_value(&printed, "rejected"), "1");
    assert_eq!(summary_value(&printed, "evicted"), "0");
}

#[test]
fn exit_after_prints_an_empty_summary_in_json() {
    let output = otelops()
        .args([
            "receive",
            "--grpc-listen",
            "127.0.0.1:0",
            "--http-listen",
            "127.0.0.1:0",
            "--exit-after",
            "200ms",
            "--output",
            "json",
        ])
        .output()
        .expect("run");
    assert!(output.status.success());
    let stdout = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert!(
        lines[0]["http_listen"]
            .as_str()
            .unwrap()
            .starts_with("127.0.0.1:")
    );
    assert_eq!(lines[1]["summary"]["spans"], 0);
    assert_eq!(lines[1]["summary"]["traces"], 0);
}

#[tokio::test]
async fn jsonl_gets_one_otlp_json_line_per_accepted_request() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("received.jsonl");
    let running = Running::start(&["--jsonl", path.to_str().unwrap()]);
    let mut invalid = span(8, 3, None, "invalid", 0, 1);
    invalid.trace_id = vec![1, 2];
    send(
        &running,
        request("svc", vec![span(8, 1, None, "root", 0, 4), invalid]),
    )
    .await;
    send(
        &running,
        request("svc", vec![span(8, 2, Some(1), "child", 1, 2)]),
    )
    .await;
    let logs = serde_json::json!({"resourceLogs": [{"scopeLogs": [{"logRecords": [{"body": {"stringValue": "hi"}}]}]}]});
    let answer = post(
        &running.http_url("/v1/logs"),
        "application/json",
        &[],
        serde_json::to_vec(&logs).unwrap(),
    )
    .await;
    assert_eq!(answer.status, 200);
    let mut grpc = TraceServiceClient::connect(running.grpc_url())
        .await
        .expect("connect");
    grpc.export(request("svc", vec![span(8, 4, Some(1), "over grpc", 2, 3)]))
        .await
        .expect("gRPC export");
    running.stop();

    let text = std::fs::read_to_string(&path).expect("jsonl written");
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    assert_eq!(lines.len(), 4, "{text}");
    let first = &lines[0]["resourceSpans"][0];
    assert_eq!(first["resource"]["attributes"][0]["key"], "service.name");
    let spans = first["scopeSpans"][0]["spans"].as_array().unwrap();
    assert_eq!(spans.len(), 1, "the invalid span is not copied");
    assert_eq!(spans[0]["traceId"], "08".repeat(16));
    assert_eq!(spans[0]["spanId"], "01".repeat(8));
    assert_eq!(spans[0]["kind"], 2, "enums are integers in OTLP/JSON");
    assert_eq!(
        lines[1]["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["parentSpanId"],
        "01".repeat(8)
    );
    assert_eq!(
        lines[2]["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0]["body"]["stringValue"],
        "hi"
    );
    assert_eq!(
        lines[3]["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["name"],
        "over grpc"
    );
}
