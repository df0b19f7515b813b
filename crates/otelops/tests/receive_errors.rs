//! The OTLP response rules of `otelops receive`, from real HTTP and gRPC
//! clients on loopback: partial_success, 400 with a google.rpc.Status body
//! in the request's encoding, 413, 503 + Retry-After when full, 401.

mod common;
#[path = "common/receive.rs"]
mod receive_support;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use otelops::receive::http::RpcStatus;
use prost::Message;
use receive_support::*;

const PROTOBUF: &str = "application/x-protobuf";
const JSON: &str = "application/json";

#[tokio::test]
async fn spans_with_invalid_ids_are_rejected_in_partial_success_and_the_rest_stored() {
    let running = Running::start(&[]);
    let mut zero_trace = span(0, 9, None, "zero trace id", 0, 1);
    zero_trace.trace_id = vec![0; 16];
    let mut short_span = span(7, 1, None, "short span id", 0, 1);
    short_span.span_id = vec![1; 4];
    let good = span(7, 2, None, "good", 0, 1);
    let body = request("shop", vec![zero_trace, short_span, good]).encode_to_vec();

    let answer = post(&running.http_url("/v1/traces"), PROTOBUF, &[], body).await;

    assert_eq!(answer.status, 200);
    assert_eq!(answer.content_type, PROTOBUF);
    let response = ExportTraceServiceResponse::decode(&answer.body[..]).expect("response decodes");
    let partial = response.partial_success.expect("partial_success set");
    assert_eq!(partial.rejected_spans, 2);
    assert!(
        partial.error_message.contains("traceId"),
        "{}",
        partial.error_message
    );
    let summary = get_json(&running.http_url("/otelops/v1/summary")).await;
    assert_eq!(summary["spans"], 1);
    assert_eq!(summary["rejected"], 2);
}

#[tokio::test]
async fn partial_success_answers_in_json_for_a_json_request() {
    let running = Running::start(&[]);
    let body = serde_json::json!({"resourceSpans": [{"scopeSpans": [{"spans": [
        {"traceId": "", "spanId": "0102030405060708", "name": "no trace id"},
        {"traceId": "0af7651916cd43dd8448eb211c80319c", "spanId": "b7ad6b7169203331", "name": "ok",
         "startTimeUnixNano": "1", "endTimeUnixNano": "2", "kind": 2}
    ]}]}]});

    let answer = post(
        &running.http_url("/v1/traces"),
        JSON,
        &[],
        serde_json::to_vec(&body).unwrap(),
    )
    .await;

    assert_eq!(answer.status, 200);
    assert_eq!(answer.content_type, JSON);
    let response: serde_json::Value = serde_json::from_slice(&answer.body).expect("JSON response");
    let rejected = &response["partialSuccess"]["rejectedSpans"];
    assert!(rejected == 1 || rejected == "1", "{response}");
}

#[tokio::test]
async fn a_fully_accepted_request_has_no_partial_success() {
    let running = Running::start(&[]);
    let answer = post(
        &running.http_url("/v1/traces"),
        PROTOBUF,
        &[],
        traces_of_one_span(1, 3, "a").encode_to_vec(),
    )
    .await;
    assert_eq!(answer.status, 200);
    let response = ExportTraceServiceResponse::decode(&answer.body[..]).expect("response decodes");
    assert_eq!(response.partial_success, None);
}

#[tokio::test]
async fn a_fully_accepted_json_request_gets_an_empty_json_object() {
    let running = Running::start(&[]);
    let body = serde_json::json!({"resourceSpans": [{"scopeSpans": [{"spans": [
        {"traceId": "0af7651916cd43dd8448eb211c80319c", "spanId": "b7ad6b7169203331", "name": "ok"}
    ]}]}]});
    let answer = post(
        &running.http_url("/v1/traces"),
        JSON,
        &[],
        serde_json::to_vec(&body).unwrap(),
    )
    .await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.content_type, JSON);
    assert_eq!(answer.body, b"{}");
}

#[tokio::test]
async fn garbage_protobuf_gets_400_with_a_protobuf_status() {
    let running = Running::start(&[]);
    let answer = post(
        &running.http_url("/v1/traces"),
        PROTOBUF,
        &[],
        vec![0xff, 0xff, 0xff, 0x01, 0x02],
    )
    .await;
    assert_eq!(answer.status, 400);
    assert_eq!(answer.content_type, PROTOBUF);
    let status = RpcStatus::decode(&answer.body[..]).expect("google.rpc.Status body");
    assert_eq!(status.code, 3, "INVALID_ARGUMENT");
    assert!(
        status.message.contains("not a valid OTLP protobuf"),
        "{}",
        status.message
    );
}

#[tokio::test]
async fn a_span_whose_attribute_bytes_are_corrupt_gets_400_not_a_partial_store() {
    let running = Running::start(&[]);
    let mut bad = span(3, 1, None, "caf\u{e9}", 0, 1);
    bad.attributes = vec![string_kv("k\u{e9}y", "v")];
    let mut body = request("a", vec![span(3, 2, None, "fine", 0, 1), bad]).encode_to_vec();
    // Break the UTF-8 of the attribute key deep inside the second span.
    let at = body
        .windows(4)
        .position(|w| w == [b'k', 0xc3, 0xa9, b'y'])
        .expect("key bytes");
    body[at + 2] = 0x28;

    let answer = post(&running.http_url("/v1/traces"), PROTOBUF, &[], body).await;

    assert_eq!(answer.status, 400);
    let status = RpcStatus::decode(&answer.body[..]).expect("Status");
    assert!(status.message.contains("not UTF-8"), "{}", status.message);
    let summary = get_json(&running.http_url("/otelops/v1/summary")).await;
    assert_eq!(summary["spans"], 0, "nothing from a bad request is stored");
}

#[tokio::test]
async fn grpc_reports_invalid_ids_in_partial_success() {
    let running = Running::start(&[]);
    let mut client = TraceServiceClient::connect(running.grpc_url())
        .await
        .expect("connect");
    let mut bad_parent = span(4, 2, Some(1), "bad parent", 0, 1);
    bad_parent.parent_span_id = vec![1, 2, 3];
    let response = client
        .export(request(
            "a",
            vec![span(4, 1, None, "root", 0, 2), bad_parent],
        ))
        .await
        .expect("export")
        .into_inner();
    let partial = response.partial_success.expect("partial_success");
    assert_eq!(partial.rejected_spans, 1);
    assert!(
        partial.error_message.contains("parentSpanId"),
        "{}",
        partial.error_message
    );
}

#[tokio::test]
async fn garbage_json_gets_400_with_a_json_status() {
    let running = Running::start(&[]);
    let answer = post(
        &running.http_url("/v1/logs"),
        JSON,
        &[],
        b"{\"resourceLogs\": 12".to_vec(),
    )
    .await;
    assert_eq!(answer.status, 400);
    assert_eq!(answer.content_type, JSON);
    let status: serde_json::Value = serde_json::from_slice(&answer.body).expect("JSON Status");
    assert_eq!(status["code"], 3);
    assert!(
        status["message"].as_str().unwrap().contains("OTLP/JSON"),
        "{status}"
    );
}

#[tokio::test]
async fn a_body_that_is_not_gzip_but_says_so_gets_400() {
    let running = Running::start(&[]);
    let answer = post(
        &running.http_url("/v1/traces"),
        PROTOBUF,
        &[("content-encoding", "gzip")],
        b"plain".to_vec(),
    )
    .await;
    assert_eq!(answer.status, 400);
    let status = RpcStatus::decode(&answer.body[..]).expect("Status");
    assert!(status.message.contains("gzip"), "{}", status.message);
}

#[tokio::test]
async fn a_body_past_max_body_bytes_gets_413() {
    let running = Running::start(&["--max-body-bytes", "1000"]);
    let answer = post(
        &running.http_url("/v1/traces"),
        PROTOBUF,
        &[],
        vec![0u8; 5000],
    )
    .await;
    assert_eq!(answer.status, 413);
    let status = RpcStatus::decode(&answer.body[..]).expect("Status");
    assert!(status.message.contains("1000 bytes"), "{}", status.message);
}

#[tokio::test]
async fn a_small_gzip_body_that_inflates_past_the_limit_gets_413() {
    let running = Running::start(&["--max-body-bytes", "10000"]);
    let bomb = gzip(&vec![0u8; 200_000]);
    assert!(bomb.len() < 10_000);
    let answer = post(
        &running.http_url("/v1/traces"),
        PROTOBUF,
        &[("content-encoding", "gzip")],
        bomb,
    )
    .await;
    assert_eq!(answer.status, 413);
}

#[tokio::test]
async fn an_unknown_content_type_gets_415() {
    let running = Running::start(&[]);
    let answer = post(
        &running.http_url("/v1/traces"),
        "text/plain",
        &[],
        b"hi".to_vec(),
    )
    .await;
    assert_eq!(answer.status, 415);
}

#[tokio::test]
async fn a_full_store_with_on_full_reject_answers_503_with_retry_after() {
    let running = Running::start(&["--max-spans", "4", "--on-full", "reject"]);
    let first = post(
        &running.http_url("/v1/traces"),
        PROTOBUF,
        &[],
        traces_of_one_span(1, 3, "a").encode_to_vec(),
    )
    .await;
    assert_eq!(first.status, 200);

    let second = post(
        &running.http_url("/v1/traces"),
        PROTOBUF,
        &[],
        traces_of_one_span(10, 2, "a").encode_to_vec(),
    )
    .await;

    assert_eq!(second.status, 503);
    assert_eq!(second.retry_after.as_deref(), Some("1"));
    assert_eq!(second.content_type, PROTOBUF);
    let summary = get_json(&running.http_url("/otelops/v1/summary")).await;
    assert_eq!(
        (
            summary["stored_spans"].as_u64(),
            summary["refused"].as_u64()
        ),
        (Some(3), Some(2))
    );
}

#[tokio::test]
async fn a_full_store_with_on_full_reject_answers_grpc_unavailable() {
    let running = Running::start(&["--max-spans", "2", "--on-full", "reject"]);
    let mut client = TraceServiceClient::connect(running.grpc_url())
        .await
        .expect("connect");
    client
        .export(traces_of_one_span(1, 2, "a"))
        .await
        .expect("first fits");
    let err = client
        .export(traces_of_one_span(5, 1, "a"))
        .await
        .expect_err("store full");
    assert_eq!(err.code(), tonic::Code::Unavailable);
}

#[tokio::test]
async fn with_a_token_requests_without_it_get_401_and_with_it_200() {
    let running = Running::start_with_env(&[], &[("OTELOPS_RECEIVER_TOKEN", "s3cret-token")]);
    let body = traces_of_one_span(1, 1, "a").encode_to_vec();

    let missing = post(&running.http_url("/v1/traces"), PROTOBUF, &[], body.clone()).await;
    let wrong = post(
        &running.http_url("/v1/traces"),
        PROTOBUF,
        &[("authorization", "Bearer nope")],
        body.clone(),
    )
    .await;
    let right = post(
        &running.http_url("/v1/traces"),
        PROTOBUF,
        &[("authorization", "Bearer s3cret-token")],
        body,
    )
    .await;

    assert_eq!(
        (missing.status, wrong.status, right.status),
        (401, 401, 200)
    );
    assert_eq!(
        RpcStatus::decode(&missing.body[..]).expect("Status").code,
        16
    );
    let query = reqwest::get(running.http_url("/otelops/v1/traces"))
        .await
        .expect("GET");
    assert_eq!(
        query.status().as_u16(),
        401,
        "the query API needs the token too"
    );
    let output = running.stop();
    assert!(!output.contains("s3cret-token"), "token printed: {output}");
}

#[tokio::test]
async fn with_a_token_grpc_without_it_is_unauthenticated() {
    let dir = tempfile::tempdir().expect("tempdir");
    let token_file = dir.path().join("receiver.token");
    std::fs::write(&token_file, "grpc-token\n").expect("write token");
    let running = Running::start(&["--token-file", token_file.to_str().unwrap()]);
    let mut client = TraceServiceClient::connect(running.grpc_url())
        .await
        .expect("connect");
    let err = client
        .export(traces_of_one_span(1, 1, "a"))
        .await
        .expect_err("no token");
    assert_eq!(err.code(), tonic::Code::Unauthenticated);

    let mut request = tonic::Request::new(traces_of_one_span(1, 1, "a"));
    request
        .metadata_mut()
        .insert("authorization", "Bearer grpc-token".parse().unwrap());
    client.export(request).await.expect("with token");
}

#[test]
fn the_token_is_never_a_flag_value_and_a_bad_source_is_named() {
    // `otelops receive` on free loopback ports with `args`; it must refuse
    // (exit 2) and its stderr must say `why`.
    let refused = |args: &[&str], env: &[(&str, &str)], why: &str| {
        let output = otelops()
            .arg("receive")
            .args(args)
            .args([
                "--grpc-listen",
                "127.0.0.1:0",
                "--http-listen",
                "127.0.0.1:0",
            ])
            .args(["--exit-after", "1s"])
            .envs(env.iter().copied())
            .output()
            .expect("run otelops receive");
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(why), "{args:?}: {stderr}");
    };
    // A value on the command line would show in `ps`.
    refused(&["--token", "s3cret"], &[], "--token");
    refused(
        &["--token-file", "/nonexistent/receiver.token"],
        &[],
        "token file /nonexistent/receiver.token",
    );
    refused(
        &["--token-env", "PARKER_TEST_EMPTY_TOKEN"],
        &[("PARKER_TEST_EMPTY_TOKEN", " ")],
        "environment variable PARKER_TEST_EMPTY_TOKEN is empty",
    );
}

#[test]
fn a_non_loopback_listen_address_without_a_token_is_refused_before_binding() {
    let output = otelops()
        .args([
            "receive",
            "--grpc-listen",
            "127.0.0.1:0",
            "--http-listen",
            "0.0.0.0:0",
            "--exit-after",
            "1s",
        ])
        .env_remove("OTELOPS_RECEIVER_TOKEN")
        .output()
        .expect("run otelops receive");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("refusing to listen on 0.0.0.0:0"),
        "{stderr}"
    );
    assert!(stderr.contains("--token"), "{stderr}");
    assert!(!String::from_utf8_lossy(&output.stdout).contains("listening"));
}
