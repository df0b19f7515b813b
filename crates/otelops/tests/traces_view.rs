//! `otelops traces list|show` against a running receiver and a JSONL file:
//! the list, the waterfall (tree, services, bars, status, key attributes),
//! `--output json`, `--follow`, and the errors for unknown or bad ids.

mod common;
#[path = "common/receive.rs"]
mod receive_support;

use std::process::Output;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use receive_support::*;

const TRACE: &str = "abababababababababababababababab";

fn attrs(mut span: Span, kvs: Vec<opentelemetry_proto::tonic::common::v1::KeyValue>) -> Span {
    span.attributes = kvs;
    span
}

/// A booking across two services: one failing provider call, one DB insert.
fn booking() -> Vec<ExportTraceServiceRequest> {
    let t = 0xab;
    vec![
        request(
            "booking",
            vec![
                attrs(
                    span(t, 1, None, "POST /bookings", 0, 100),
                    vec![
                        string_kv("http.route", "/bookings"),
                        int_kv("http.response.status_code", 201),
                    ],
                ),
                span(t, 2, Some(1), "search fares", 10, 50),
                attrs(
                    span(t, 4, Some(1), "INSERT bookings", 60, 90),
                    vec![string_kv("db.operation.name", "INSERT")],
                ),
            ],
        ),
        request(
            "fares",
            vec![attrs(
                with_error(span(t, 3, Some(2), "GET /offers", 15, 45), "provider down"),
                vec![
                    string_kv("error.type", "500"),
                    string_kv("http.route", "/offers"),
                ],
            )],
        ),
    ]
}

fn send_all(running: &Running, requests: Vec<ExportTraceServiceRequest>) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for request in requests {
        let answer = runtime.block_on(post(
            &running.http_url("/v1/traces"),
            "application/x-protobuf",
            &[],
            request.encode_to_vec(),
        ));
        assert_eq!(answer.status, 200);
    }
}

fn traces(args: &[&str]) -> Output {
    otelops()
        .arg("traces")
        .args(args)
        .env_remove("OTELOPS_RECEIVER_TOKEN")
        .output()
        .expect("run otelops traces")
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "exit {:?}: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).unwrap()
}

#[test]
fn show_prints_the_waterfall_with_tree_services_bars_status_and_key_attributes() {
    let running = Running::start(&[]);
    send_all(&running, booking());
    let receiver = running.http_url("");

    let out = stdout(&traces(&["show", TRACE, "--receiver", &receiver]));

    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        format!("trace {TRACE}  4 spans  2 services (booking, fares)  100.00ms  1 error")
    );
    let header: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(
        header,
        [
            "SPAN",
            "SERVICE",
            "DURATION",
            "TIMELINE",
            "STATUS",
            "ATTRIBUTES"
        ]
    );
    let row = |n: usize| lines[n].split_whitespace().collect::<Vec<_>>().join(" ");
    let full = "█".repeat(32);
    assert_eq!(
        row(2),
        format!(
            "POST /bookings booking 100.00ms |{full}| http.route=/bookings http.response.status_code=201"
        )
    );
    assert!(lines[3].starts_with("├─ search fares "), "{out}");
    assert_eq!(row(3), "├─ search fares booking 40.00ms | ████████████ |");
    assert!(lines[4].starts_with("│  └─ GET /offers "), "{out}");
    assert_eq!(
        row(4),
        "│ └─ GET /offers fares 30.00ms | █████████ | ERROR http.route=/offers error.type=500 message=\"provider down\""
    );
    assert!(lines[5].starts_with("└─ INSERT bookings "), "{out}");
    assert_eq!(
        row(5),
        "└─ INSERT bookings booking 30.00ms | █████████ | db.operation.name=INSERT"
    );
    // The bar sits at the span's offset: 60..90 of 100 ms in 32 cells.
    let bar = lines[5].split('|').nth(1).expect("bar");
    assert_eq!(bar.chars().position(|c| c == '█'), Some(19));
    assert_eq!(bar.chars().filter(|&c| c == '█').count(), 9);
    assert!(
        !out.contains('\x1b'),
        "no color when stdout is not a terminal"
    );
}

#[test]
fn show_output_json_has_spans_in_tree_order_with_depth() {
    let running = Running::start(&[]);
    send_all(&running, booking());
    let out = stdout(&traces(&[
        "show",
        TRACE,
        "--receiver",
        &running.http_url(""),
        "--output",
        "json",
    ]));
    let detail: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    let order: Vec<(String, u64, String)> = detail["spans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_owned(),
                s["depth"].as_u64().unwrap(),
                s["service"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected = [
        ("POST /bookings", 0, "booking"),
        ("search fares", 1, "booking"),
        ("GET /offers", 2, "fares"),
        ("INSERT bookings", 1, "booking"),
    ];
    assert_eq!(
        order,
        expected.map(|(n, d, s)| (n.to_owned(), d, s.to_owned()))
    );
    assert_eq!(detail["spans"][2]["status"], "error");
}

#[test]
fn list_shows_one_row_per_trace_with_root_span_and_counts() {
    let running = Running::start(&[]);
    send_all(&running, booking());
    send_all(&running, vec![traces_of_one_span(0x11, 1, "search")]);

    let out = stdout(&traces(&["list", "--receiver", &running.http_url("")]));

    let rows: Vec<Vec<&str>> = out
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert!(out.starts_with("TRACE ID"), "{out}");
    assert_eq!(rows.len(), 2, "{out}");
    assert_eq!(
        rows[0],
        [
            TRACE,
            "booking",
            "POST",
            "/bookings",
            "4",
            "1",
            "100.00ms",
            "booking,fares"
        ]
    );
    assert_eq!(rows[1][0], "11".repeat(16));
    assert_eq!(
        rows[1][1..],
        ["search", "op", "0", "1", "0", "10.00ms", "search"]
    );
}

#[test]
fn list_output_json() {
    let running = Running::start(&[]);
    send_all(&running, booking());
    let out = stdout(&traces(&[
        "list",
        "--receiver",
        &running.http_url(""),
        "--output",
        "json",
    ]));
    let list: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(list[0]["trace_id"], TRACE);
    assert_eq!(list[0]["errors"], 1);
    assert_eq!(list[0]["duration_ns"], 100_000_000);
}

#[test]
fn show_reads_a_jsonl_file_written_by_the_receiver() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.jsonl");
    let running = Running::start(&["--jsonl", path.to_str().unwrap()]);
    send_all(&running, booking());
    running.stop();

    let out = stdout(&traces(&["show", TRACE, "--jsonl", path.to_str().unwrap()]));

    assert!(
        out.contains("4 spans  2 services (booking, fares)  100.00ms  1 error\n"),
        "{out}"
    );
    assert!(out.contains("│  └─ GET /offers"), "{out}");
}

#[test]
fn show_follow_prints_each_new_trace_once_it_settles() {
    let running = Running::start(&[]);
    send_all(&running, booking());
    let out = stdout(&traces(&[
        "show",
        "--follow",
        "--count",
        "1",
        "--interval",
        "50ms",
        "--timeout",
        "10s",
        "--receiver",
        &running.http_url(""),
    ]));
    assert!(out.starts_with(&format!("trace {TRACE}  4 spans")), "{out}");
}

#[test]
fn list_follow_stops_at_timeout_with_what_arrived() {
    let running = Running::start(&[]);
    send_all(&running, vec![traces_of_one_span(0x21, 2, "a")]);
    let out = stdout(&traces(&[
        "list",
        "--follow",
        "--timeout",
        "1500ms",
        "--interval",
        "50ms",
        "--output",
        "json",
        "--receiver",
        &running.http_url(""),
    ]));
    let ids: Vec<String> = out
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).expect("JSON line")["trace_id"]
                .as_str()
                .unwrap()[..2]
                .to_owned()
        })
        .collect();
    assert_eq!(ids, ["21", "22"]);
}

#[test]
fn show_of_an_unknown_trace_exits_1_and_says_so() {
    let running = Running::start(&[]);
    let output = traces(&[
        "show",
        &"cd".repeat(16),
        "--receiver",
        &running.http_url(""),
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("is not in the receiver"));
}

#[test]
fn show_of_a_malformed_id_is_a_usage_error() {
    let output = traces(&["show", "xyz", "--receiver", "http://127.0.0.1:9"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("\"xyz\" is not 32 hex digits"));
}

#[test]
fn list_without_a_receiver_says_how_to_start_one() {
    let port = free_port();
    let output = traces(&["list", "--receiver", &format!("http://127.0.0.1:{port}")]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("is `otelops receive` running?"));
}

#[test]
fn receive_and_traces_help_have_examples() {
    for args in [
        &["receive", "--help"][..],
        &["traces", "--help"],
        &["traces", "list", "--help"],
        &["traces", "show", "--help"],
    ] {
        let output = otelops().args(args).output().expect("run");
        let text = stdout(&output);
        assert!(text.contains("Examples:"), "{args:?}:\n{text}");
    }
}

#[test]
fn traces_pass_the_receiver_token_from_the_environment() {
    let running = Running::start_with_env(
        &["--token-env", "PARKER_TEST_VIEW_TOKEN"],
        &[("PARKER_TEST_VIEW_TOKEN", "view-token")],
    );
    let receiver = running.http_url("");
    let without = traces(&["list", "--receiver", &receiver]);
    assert_eq!(without.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&without.stderr);
    assert!(stderr.contains("answered 401"), "{stderr}");

    let with = otelops()
        .args(["traces", "list", "--receiver", &receiver])
        .env("OTELOPS_RECEIVER_TOKEN", "view-token")
        .output()
        .expect("run");
    assert_eq!(stdout(&with), "no traces received yet\n");
    assert!(!String::from_utf8_lossy(&with.stderr).contains("view-token"));
}

#[test]
fn list_follow_in_a_table_prints_the_header_once() {
    let running = Running::start(&[]);
    send_all(&running, vec![traces_of_one_span(0x31, 2, "a")]);
    let out = stdout(&traces(&[
        "list",
        "--follow",
        "--count",
        "2",
        "--interval",
        "50ms",
        "--timeout",
        "10s",
        "--receiver",
        &running.http_url(""),
    ]));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(lines[0].starts_with("TRACE ID"));
    assert!(
        lines[1].starts_with(&"31".repeat(16)) && lines[2].starts_with(&"32".repeat(16)),
        "{out}"
    );
}
