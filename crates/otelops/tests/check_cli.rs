//! The `otelops check` command line, driven as a real process: formats
//! (JSON, JSON lines, protobuf), exit codes, table and JSON output, and
//! clear errors on files that are not OTLP.

#[path = "common/check.rs"]
mod check_support;
mod common;

use check_support::*;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;

fn path(name: &str) -> String {
    fixture(name).display().to_string()
}

#[test]
fn good_file_exits_zero_with_a_summary() {
    let out = otelops(&["check", "export-format", &path("good_http_server.json")]);
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("check export-format: 1 file(s), 0 violation(s)"),
        "{stdout}"
    );
}

#[test]
fn violations_exit_one_and_table_groups_by_level() {
    let out = otelops(&["check", "export-format", &path("bad_export.json")]);
    assert_eq!(code(&out), 1);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("VIOLATION (6)\n"), "{stdout}");
    assert!(stdout.contains("otlp-json.field-name-case"), "{stdout}");
    assert!(
        stdout.contains("span \"GET /offers\" (0000000000000000)"),
        "{stdout}"
    );
}

#[test]
fn json_output_lists_rules_and_exact_paths() {
    let out = otelops(&[
        "--output",
        "json",
        "check",
        "export-format",
        &path("bad_export.json"),
    ]);
    assert_eq!(code(&out), 1);
    let report = stdout_json(&out);
    assert_eq!(report["check"], "export-format");
    assert_eq!(report["violations"], 6);
    let found: Vec<(String, String)> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap_or("").to_owned(),
                f["path"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    let span = "resource_spans[0].scopeSpans[0].spans[0]";
    // Sorted as the report sorts: by level, file, then path.
    let expected: Vec<(String, String)> = [
        ("otlp-json.field-name-case", "resource_spans".to_owned()),
        (
            "otlp.resource-service-name",
            "resource_spans[0].resource".to_owned(),
        ),
        ("otlp.span-times", format!("{span}.endTimeUnixNano")),
        ("otlp-json.enum-as-integer", format!("{span}.kind")),
        ("otlp.span-id", format!("{span}.spanId")),
        ("otlp.trace-id", format!("{span}.traceId")),
    ]
    .into_iter()
    .map(|(r, p)| (r.to_owned(), p))
    .collect();
    assert_eq!(found, expected);
    assert_eq!(report["findings"][0]["file"], path("bad_export.json"));
}

#[test]
fn collector_json_lines_resolve_parents_across_lines() {
    let out = otelops(&[
        "--output",
        "json",
        "check",
        "export-format",
        &path("split_trace.jsonl"),
    ]);
    assert_eq!(code(&out), 0);
    let report = stdout_json(&out);
    assert_eq!(report["findings"], serde_json::json!([]));
}

#[test]
fn json_lines_findings_carry_the_line_number() {
    let out = otelops(&[
        "--output",
        "json",
        "check",
        "export-format",
        &path("kind_as_string.jsonl"),
    ]);
    assert_eq!(code(&out), 1);
    let finding = &stdout_json(&out)["findings"][0];
    assert_eq!(finding["rule"], "otlp-json.enum-as-integer");
    assert_eq!(finding["line"], 2);
    assert_eq!(
        finding["path"],
        "resourceSpans[0].scopeSpans[0].spans[0].kind"
    );
}

fn proto_request(trace_id: Vec<u8>) -> Vec<u8> {
    let span = Span {
        trace_id,
        span_id: vec![1, 2, 3, 4, 5, 6, 7, 8],
        name: "GET".into(),
        kind: 2,
        start_time_unix_nano: 1_764_086_400_000_000_000,
        end_time_unix_nano: 1_764_086_400_100_000_000,
        attributes: vec![KeyValue {
            key: "http.method".into(),
            value: Some(AnyValue {
                value: Some(any_value::Value::StringValue("GET".into())),
            }),
            ..Default::default()
        }],
        ..Default::default()
    };
    let service = KeyValue {
        key: "service.name".into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue("parker-fares".into())),
        }),
        ..Default::default()
    };
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![service],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans: vec![span],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
    .encode_to_vec()
}

#[test]
fn protobuf_files_are_decoded_and_checked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good = write_temp(&dir, "good.pb", &proto_request((1..=16).collect()));
    assert_eq!(
        code(&otelops(&[
            "check",
            "export-format",
            &good.display().to_string()
        ])),
        0
    );

    let short = write_temp(&dir, "short.pb", &proto_request((1..=15).collect()));
    let out = otelops(&[
        "--output",
        "json",
        "check",
        "export-format",
        &short.display().to_string(),
    ]);
    assert_eq!(code(&out), 1);
    let finding = &stdout_json(&out)["findings"][0];
    assert_eq!(finding["rule"], "otlp.trace-id");
    assert_eq!(
        finding["path"],
        "resourceSpans[0].scopeSpans[0].spans[0].traceId"
    );
}

#[test]
fn protobuf_files_get_semantic_checks_too() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write_temp(&dir, "old.binpb", &proto_request((1..=16).collect()));
    let out = otelops(&[
        "--output",
        "json",
        "check",
        "semantic-conventions",
        &file.display().to_string(),
    ]);
    assert_eq!(code(&out), 1);
    let findings = stdout_json(&out)["findings"].clone();
    let deprecated = findings
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["rule"] == "semconv.deprecated")
        .expect("deprecated finding");
    assert_eq!(
        deprecated["path"],
        "resourceSpans[0].scopeSpans[0].spans[0].attributes[\"http.method\"]"
    );
}

fn assert_bad_input(file: &str, expected: &str) {
    for check in ["export-format", "semantic-conventions"] {
        let out = otelops(&["check", check, file]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(code(&out), 2, "{check} {file}: {stderr}");
        assert!(stderr.contains(expected), "{check} {file}: {stderr}");
        assert!(out.stdout.is_empty(), "no report on bad input");
    }
}

#[test]
fn a_png_is_not_otlp() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut png =
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89".to_vec();
    png.extend_from_slice(&[0x78, 0x9c, 0x63, 0x00, 0x01, 0x00, 0x00, 0x05, 0x00, 0x01]);
    let file = write_temp(&dir, "chart.png", &png);
    assert_bad_input(
        &file.display().to_string(),
        "not OTLP: neither JSON nor an OTLP protobuf export request",
    );
}

#[test]
fn random_json_is_not_otlp() {
    assert_bad_input(
        &path("not_otlp.json"),
        "JSON object without resourceSpans, resourceMetrics or resourceLogs (keys: [bookings])",
    );
}

#[test]
fn truncated_json_is_not_otlp() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = std::fs::read_to_string(fixture("good_http_server.json")).expect("fixture");
    let file = write_temp(&dir, "cut.json", &text.as_bytes()[..text.len() / 2]);
    assert_bad_input(
        &file.display().to_string(),
        "cut.json: not OTLP: invalid JSON: EOF while parsing",
    );
}

#[test]
fn a_bad_json_line_is_named_by_number() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut text = std::fs::read_to_string(fixture("split_trace.jsonl")).expect("fixture");
    text.push_str("{\"resourceSpans\": [\n");
    let file = write_temp(&dir, "export.jsonl", text.as_bytes());
    assert_bad_input(
        &file.display().to_string(),
        "export.jsonl:3: not OTLP JSON lines: invalid JSON",
    );
}

#[test]
fn empty_and_missing_files_are_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let empty = write_temp(&dir, "empty.json", b"  \n");
    assert_bad_input(&empty.display().to_string(), "empty file");
    let missing = dir.path().join("nope.json");
    assert_bad_input(&missing.display().to_string(), "cannot read");
}

#[test]
fn no_files_is_a_usage_error() {
    let out = otelops(&["check", "export-format"]);
    assert_eq!(code(&out), 2);
}
