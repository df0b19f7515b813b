//! `check export-format` rules, each with a passing and a failing case, on a
//! known-good OTLP/JSON request mutated one way at a time.

#[path = "common/check.rs"]
mod check_support;
mod common;

use check_support::*;
use otelops::check::Level::{Improvement, Information, Violation};
use otelops::check::export_format::{check, rule};
use otelops::check::{Finding, Level};
use serde_json::{Value, json};

fn run(doc: &Value) -> Vec<Finding> {
    check(&parse(doc))
}

fn only(doc: &Value, rule: &str) -> Vec<(Level, String)> {
    by_rule(&run(doc), rule)
}

fn at(level: Level, path: &str) -> Vec<(Level, String)> {
    vec![(level, path.to_owned())]
}

#[test]
fn the_good_fixture_has_no_findings() {
    assert_eq!(run(&good()), vec![]);
}

#[test]
fn trace_id_must_be_32_hex_digits() {
    let mut doc = good();
    span(&mut doc, 0)["traceId"] = json!("4bf92f35");
    assert_eq!(
        only(&doc, rule::TRACE_ID),
        at(Violation, &format!("{SPAN0}.traceId"))
    );
    assert!(message(&run(&doc), rule::TRACE_ID).contains("has 8 hex digits, expected 32"));
}

#[test]
fn trace_id_must_not_be_all_zero() {
    let mut doc = good();
    span(&mut doc, 1)["traceId"] = json!("0".repeat(32));
    assert_eq!(
        only(&doc, rule::TRACE_ID),
        at(Violation, &format!("{SPAN1}.traceId"))
    );
    assert!(message(&run(&doc), rule::TRACE_ID).contains("all zeros"));
}

#[test]
fn base64_ids_are_named_as_such() {
    let mut doc = good();
    // The proto3 JSON default for bytes; OTLP/JSON makes ids hex.
    span(&mut doc, 0)["traceId"] = json!("S/kvNXezTaajzpKdDg5HNg==");
    assert!(message(&run(&doc), rule::TRACE_ID).contains("looks like base64"));
}

#[test]
fn missing_trace_id_is_a_violation() {
    let mut doc = good();
    span(&mut doc, 0)
        .as_object_mut()
        .expect("span")
        .remove("traceId");
    assert_eq!(
        only(&doc, rule::TRACE_ID),
        at(Violation, &format!("{SPAN0}.traceId"))
    );
}

#[test]
fn span_id_must_be_16_hex_digits_and_not_zero() {
    let mut doc = good();
    span(&mut doc, 0)["spanId"] = json!("0000000000000000");
    span(&mut doc, 1)["spanId"] = json!("b7ad6b71692033");
    assert_eq!(
        only(&doc, rule::SPAN_ID),
        vec![
            (Violation, format!("{SPAN0}.spanId")),
            (Violation, format!("{SPAN1}.spanId"))
        ]
    );
}

#[test]
fn parent_span_id_is_checked_when_present() {
    let mut doc = good();
    span(&mut doc, 1)["parentSpanId"] = json!("00f067aa0ba902");
    assert_eq!(
        only(&doc, rule::SPAN_ID),
        at(Violation, &format!("{SPAN1}.parentSpanId"))
    );
    // An empty parent id is a root span: fine.
    span(&mut doc, 1)["parentSpanId"] = json!("");
    assert_eq!(only(&doc, rule::SPAN_ID), vec![]);
}

#[test]
fn enums_must_be_integers_in_json() {
    let mut doc = good();
    span(&mut doc, 0)["kind"] = json!("SPAN_KIND_SERVER");
    span(&mut doc, 1)["status"]["code"] = json!("STATUS_CODE_ERROR");
    let findings = run(&doc);
    assert_eq!(
        by_rule(&findings, rule::ENUM_AS_INTEGER),
        vec![
            (Violation, format!("{SPAN0}.kind")),
            (Violation, format!("{SPAN1}.status.code"))
        ]
    );
    assert!(message(&findings, rule::ENUM_AS_INTEGER).contains("requires the integer 2"));
}

#[test]
fn kinds_and_status_codes_must_be_in_range() {
    let mut doc = good();
    span(&mut doc, 0)["kind"] = json!(6);
    span(&mut doc, 1)["status"]["code"] = json!(3);
    assert_eq!(
        only(&doc, rule::ENUM_VALUE),
        vec![
            (Violation, format!("{SPAN0}.kind")),
            (Violation, format!("{SPAN1}.status.code"))
        ]
    );
    span(&mut doc, 0)["kind"] = json!(5);
    span(&mut doc, 1)["status"]["code"] = json!(0);
    assert_eq!(only(&doc, rule::ENUM_VALUE), vec![]);
}

#[test]
fn keys_must_be_lower_camel_case() {
    let mut doc = good();
    let span0 = span(&mut doc, 0).as_object_mut().expect("span");
    let trace_id = span0.remove("traceId").expect("traceId");
    span0.insert("trace_id".into(), trace_id);
    let findings = run(&doc);
    assert_eq!(
        by_rule(&findings, rule::FIELD_NAME_CASE),
        at(Violation, &format!("{SPAN0}.trace_id"))
    );
    assert!(message(&findings, rule::FIELD_NAME_CASE).contains("`traceId`"));
    // The value under the wrong key is still judged, and not reported missing.
    assert_eq!(by_rule(&findings, rule::TRACE_ID), vec![]);
}

#[test]
fn snake_case_top_level_key_is_reported() {
    let mut doc = good();
    let spans = doc
        .as_object_mut()
        .expect("request")
        .remove("resourceSpans")
        .expect("key");
    doc["resource_spans"] = spans;
    assert_eq!(
        only(&doc, rule::FIELD_NAME_CASE),
        at(Violation, "resource_spans")
    );
}

#[test]
fn int64_accepts_strings_and_numbers_only() {
    let doc = good();
    // The fixture already mixes "1764086400000000000" and 1764086400250000000.
    assert_eq!(only(&doc, rule::INTEGER_ENCODING), vec![]);
    let mut doc = good();
    span(&mut doc, 1)["startTimeUnixNano"] = json!(true);
    set_attr(span(&mut doc, 0), "server.port", json!({"intValue": 80.5}));
    assert_eq!(
        only(&doc, rule::INTEGER_ENCODING),
        vec![
            (
                Violation,
                format!("{SPAN0}.attributes[\"server.port\"].value.intValue")
            ),
            (Violation, format!("{SPAN1}.startTimeUnixNano")),
        ]
    );
}

#[test]
fn unsigned_fields_reject_negative_numbers() {
    let mut doc = good();
    span(&mut doc, 1)["startTimeUnixNano"] = json!("-1");
    span(&mut doc, 1)["droppedAttributesCount"] = json!(-3);
    assert_eq!(
        only(&doc, rule::INTEGER_ENCODING),
        vec![
            (Violation, format!("{SPAN1}.droppedAttributesCount")),
            (Violation, format!("{SPAN1}.startTimeUnixNano")),
        ]
    );
    // Signed 64-bit attribute values may be negative.
    set_attr(span(&mut doc, 0), "parker.delta", json!({"intValue": "-5"}));
    assert_eq!(only(&doc, rule::INTEGER_ENCODING).len(), 2);
}

#[test]
fn start_must_not_be_after_end() {
    let mut doc = good();
    span(&mut doc, 1)["endTimeUnixNano"] = json!("1764086400000000000");
    assert_eq!(
        only(&doc, rule::SPAN_TIMES),
        at(Violation, &format!("{SPAN1}.endTimeUnixNano"))
    );
    assert!(message(&run(&doc), rule::SPAN_TIMES).contains("ends before it starts"));
    // Equal times are a zero-length span: fine.
    span(&mut doc, 1)["endTimeUnixNano"] = json!("1764086400010000000");
    assert_eq!(only(&doc, rule::SPAN_TIMES), vec![]);
}

#[test]
fn missing_start_time_is_a_violation() {
    let mut doc = good();
    span(&mut doc, 0)
        .as_object_mut()
        .expect("span")
        .remove("startTimeUnixNano");
    assert_eq!(
        only(&doc, rule::SPAN_TIMES),
        at(Violation, &format!("{SPAN0}.startTimeUnixNano"))
    );
}

#[test]
fn orphan_spans_are_reported_as_improvements() {
    let mut doc = good();
    span(&mut doc, 1)["parentSpanId"] = json!("1111111111111111");
    assert_eq!(
        only(&doc, rule::PARENT_RESOLVES),
        at(Improvement, &format!("{SPAN1}.parentSpanId"))
    );
}

#[test]
fn orphans_with_a_remote_parent_are_information() {
    let mut doc = good();
    // HAS_IS_REMOTE | IS_REMOTE: the parent lives in the caller's process.
    span(&mut doc, 0)["parentSpanId"] = json!("1111111111111111");
    span(&mut doc, 0)["flags"] = json!(0x301);
    assert_eq!(
        only(&doc, rule::PARENT_RESOLVES),
        at(Information, &format!("{SPAN0}.parentSpanId"))
    );
}

#[test]
fn duplicate_span_ids_in_a_trace_are_a_violation() {
    let mut doc = good();
    span(&mut doc, 1)["spanId"] = json!("00f067aa0ba902b7");
    span(&mut doc, 1)["parentSpanId"] = json!("");
    assert_eq!(
        only(&doc, rule::SPAN_ID_UNIQUE),
        at(Violation, &format!("{SPAN1}.spanId"))
    );
}

#[test]
fn resource_must_carry_service_name() {
    let mut doc = good();
    remove_attr(resource(&mut doc), "service.name");
    assert_eq!(
        only(&doc, rule::SERVICE_NAME),
        at(Violation, "resourceSpans[0].resource")
    );
    let mut doc = good();
    doc["resourceSpans"][0]
        .as_object_mut()
        .expect("rs")
        .remove("resource");
    assert_eq!(
        only(&doc, rule::SERVICE_NAME),
        at(Violation, "resourceSpans[0].resource")
    );
    let mut doc = good();
    set_attr(resource(&mut doc), "service.name", string(""));
    assert!(message(&run(&doc), rule::SERVICE_NAME).contains("empty"));
}

#[test]
fn unknown_fields_are_information() {
    let mut doc = good();
    span(&mut doc, 0)["duration"] = json!(250);
    assert_eq!(
        only(&doc, rule::UNKNOWN_FIELD),
        at(Information, &format!("{SPAN0}.duration"))
    );
}

#[test]
fn wrong_json_types_are_violations() {
    let mut doc = good();
    span(&mut doc, 0)["name"] = json!(42);
    span(&mut doc, 1)["events"] = json!({"name": "exception"});
    assert_eq!(
        only(&doc, rule::VALUE_TYPE),
        vec![
            (Violation, format!("{SPAN0}.name")),
            (Violation, format!("{SPAN1}.events"))
        ]
    );
}

#[test]
fn findings_name_the_span() {
    let mut doc = good();
    span(&mut doc, 1)["kind"] = json!("SPAN_KIND_CLIENT");
    let findings = run(&doc);
    let span = findings[0].span.as_ref().expect("span ref");
    assert_eq!(
        (span.name.as_str(), span.span_id.as_str()),
        ("SET", "b7ad6b7169203331")
    );
}

fn logs(trace_id: &str, service: Option<&str>) -> Value {
    let resource = match service {
        Some(name) => {
            json!({"attributes": [{"key": "service.name", "value": {"stringValue": name}}]})
        }
        None => json!({"attributes": []}),
    };
    json!({"resourceLogs": [{
        "resource": resource,
        "scopeLogs": [{"logRecords": [{
            "timeUnixNano": "1764086400000000000",
            "severityNumber": 9,
            "body": {"stringValue": "booking confirmed"},
            "traceId": trace_id,
            "spanId": ""
        }]}]
    }]})
}

#[test]
fn log_records_may_omit_ids_but_not_malform_them() {
    assert_eq!(run(&logs("", Some("parker-booking"))), vec![]);
    let bad = logs("4bf92f3577b34da6", Some("parker-booking"));
    assert_eq!(
        only(&bad, rule::TRACE_ID),
        at(
            Violation,
            "resourceLogs[0].scopeLogs[0].logRecords[0].traceId"
        )
    );
    assert_eq!(
        only(&logs("", None), rule::SERVICE_NAME),
        at(Violation, "resourceLogs[0].resource")
    );
}

#[test]
fn metric_data_points_follow_the_integer_rules() {
    let metrics = |value: Value| {
        json!({"resourceMetrics": [{
            "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "parker-fares"}}]},
            "scopeMetrics": [{"metrics": [{
                "name": "fares.quotes",
                "sum": {
                    "aggregationTemporality": 2,
                    "isMonotonic": true,
                    "dataPoints": [{"timeUnixNano": "1764086400000000000", "asInt": value}]
                }
            }]}]
        }]})
    };
    assert_eq!(run(&metrics(json!("42"))), vec![]);
    assert_eq!(
        only(&metrics(json!(4.2)), rule::INTEGER_ENCODING),
        at(
            Violation,
            "resourceMetrics[0].scopeMetrics[0].metrics[0].sum.dataPoints[0].asInt"
        )
    );
}
