//! Format and signal detection of `check` inputs, from the bytes alone.

#[path = "common/check.rs"]
mod check_support;
mod common;

use std::path::Path;

use check_support::*;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{
    Gauge, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, metric,
};
use otelops::check::input::{Format, InputError, Signal, parse};
use prost::Message;

fn detect(bytes: &[u8]) -> Result<Vec<(Format, Signal, Option<usize>)>, InputError> {
    Ok(parse(Path::new("in"), bytes)?
        .into_iter()
        .map(|d| (d.format, d.signal, d.source.line))
        .collect())
}

#[test]
fn otlp_json_is_one_document() {
    let text = std::fs::read(fixture("good_http_server.json")).expect("fixture");
    assert_eq!(
        detect(&text).expect("json"),
        [(Format::Json, Signal::Traces, None)]
    );
}

#[test]
fn json_lines_are_one_document_per_line() {
    let text = std::fs::read(fixture("split_trace.jsonl")).expect("fixture");
    assert_eq!(
        detect(&text).expect("jsonl"),
        [
            (Format::JsonLines, Signal::Traces, Some(1)),
            (Format::JsonLines, Signal::Traces, Some(2))
        ]
    );
}

#[test]
fn protobuf_metrics_and_logs_are_told_apart() {
    let metrics = ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            scope_metrics: vec![ScopeMetrics {
                metrics: vec![Metric {
                    name: "fares.quotes".into(),
                    data: Some(metric::Data::Gauge(Gauge {
                        data_points: vec![NumberDataPoint {
                            time_unix_nano: 1_764_086_400_000_000_000,
                            ..Default::default()
                        }],
                    })),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    assert_eq!(
        detect(&metrics.encode_to_vec()).expect("metrics"),
        [(Format::Protobuf, Signal::Metrics, None)]
    );
    let logs = ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            scope_logs: vec![ScopeLogs {
                log_records: vec![LogRecord {
                    time_unix_nano: 1_764_086_400_000_000_000,
                    severity_number: 9,
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    assert_eq!(
        detect(&logs.encode_to_vec()).expect("logs"),
        [(Format::Protobuf, Signal::Logs, None)]
    );
}

#[test]
fn bytes_that_are_not_an_export_request_are_rejected() {
    for bytes in [
        &b"\x00\x01\x02garbage\xff"[..],
        b"hello world",
        b"\x0a\x05hello",
    ] {
        let err = detect(bytes).expect_err("not OTLP");
        assert!(matches!(err, InputError::NotOtlp { .. }), "{err}");
    }
}

#[test]
fn json_that_is_not_an_export_request_is_rejected() {
    for (text, reason) in [
        (&b"[1, 2]"[..], "found an array"),
        (b"{}", "keys: []"),
        (b"{\"spans\": []}", "keys: [spans]"),
    ] {
        let err = detect(text).expect_err("not OTLP").to_string();
        assert!(err.contains(reason), "{err}");
    }
}

/// A trace request whose first `ResourceSpans` is exactly `len` bytes long.
fn trace_request_of_len(len: usize) -> Vec<u8> {
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use opentelemetry_proto::tonic::trace::v1::ResourceSpans;
    let with_name = |n: usize| ResourceSpans {
        resource: Some(Resource {
            attributes: vec![KeyValue {
                key: "service.name".into(),
                value: Some(AnyValue {
                    value: Some(any_value::Value::StringValue("s".repeat(n))),
                }),
                ..Default::default()
            }],
            ..Default::default()
        }),
        ..Default::default()
    };
    let n = (1..len)
        .find(|n| with_name(*n).encoded_len() == len)
        .expect("a name length that gives the wanted size");
    ExportTraceServiceRequest {
        resource_spans: vec![with_name(n)],
    }
    .encode_to_vec()
}

#[test]
fn protobuf_that_looks_like_json_is_still_protobuf() {
    for len in [usize::from(b'{'), usize::from(b'[')] {
        let bytes = trace_request_of_len(len);
        // 0x0a is a newline: skipped as whitespace, the next byte opens JSON.
        assert_eq!(&bytes[..2], &[b'\n', len as u8]);
        assert_eq!(
            detect(&bytes).expect("protobuf"),
            [(Format::Protobuf, Signal::Traces, None)]
        );
    }
}
