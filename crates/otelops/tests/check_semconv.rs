//! `check semantic-conventions` rules against the embedded v1.44.0
//! registry, each with a passing and a failing case on the known-good
//! request (HTTP server span + Redis client span) mutated one way at a time.

#[path = "common/check.rs"]
mod check_support;
mod common;

use check_support::*;
use otelops::check::Level::{Improvement, Violation};
use otelops::check::semconv::{check, rule};
use otelops::check::{Finding, Level};
use otelops::semconv_registry;
use serde_json::{Value, json};

fn run(doc: &Value) -> Vec<Finding> {
    check(semconv_registry::embedded(), &parse(doc))
}

fn only(doc: &Value, rule: &str) -> Vec<(Level, String)> {
    by_rule(&run(doc), rule)
}

fn attr(span_path: &str, key: &str) -> String {
    format!("{span_path}.attributes[\"{key}\"]")
}

#[test]
fn the_good_fixture_has_no_findings() {
    assert_eq!(run(&good()), vec![]);
}

#[test]
fn deprecated_http_method_names_its_replacement() {
    let mut doc = good();
    set_attr(span(&mut doc, 0), "http.method", string("POST"));
    let findings = run(&doc);
    assert_eq!(
        by_rule(&findings, rule::DEPRECATED),
        vec![(Violation, attr(SPAN0, "http.method"))]
    );
    assert_eq!(
        message(&findings, rule::DEPRECATED),
        "`http.method` is deprecated: renamed to `http.request.method`"
    );
}

#[test]
fn deprecated_db_system_names_its_replacement() {
    let mut doc = good();
    set_attr(span(&mut doc, 1), "db.system", string("redis"));
    assert_eq!(
        only(&doc, rule::DEPRECATED),
        vec![(Violation, attr(SPAN1, "db.system"))]
    );
    assert!(message(&run(&doc), rule::DEPRECATED).contains("`db.system.name`"));
}

#[test]
fn unknown_names_in_semconv_namespaces_are_improvements() {
    let mut doc = good();
    set_attr(span(&mut doc, 0), "http.request.methd", string("POST"));
    set_attr(span(&mut doc, 1), "db.redis.key", string("booking:42"));
    assert_eq!(
        only(&doc, rule::UNKNOWN_ATTRIBUTE),
        vec![
            (Improvement, attr(SPAN0, "http.request.methd")),
            (Improvement, attr(SPAN1, "db.redis.key"))
        ]
    );
}

#[test]
fn own_namespaces_are_left_alone() {
    // The fixture carries `parker.booking.id`; add a dotless one as well.
    let mut doc = good();
    set_attr(span(&mut doc, 0), "retries", json!({"intValue": "1"}));
    assert_eq!(only(&doc, rule::UNKNOWN_ATTRIBUTE), vec![]);
}

#[test]
fn attribute_types_follow_the_registry() {
    let mut doc = good();
    set_attr(
        span(&mut doc, 0),
        "http.response.status_code",
        string("200"),
    );
    set_attr(
        span(&mut doc, 1),
        "server.port",
        json!({"intValue": "6379"}),
    );
    let findings = run(&doc);
    assert_eq!(
        by_rule(&findings, rule::ATTRIBUTE_TYPE),
        vec![(Violation, attr(SPAN0, "http.response.status_code"))]
    );
    assert_eq!(
        message(&findings, rule::ATTRIBUTE_TYPE),
        "`http.response.status_code` is int in the registry, found string"
    );
}

#[test]
fn template_attributes_match_by_prefix_and_type() {
    let mut doc = good();
    let header = "http.request.header.content-type";
    set_attr(
        span(&mut doc, 0),
        header,
        json!({"arrayValue": {"values": [{"stringValue": "application/json"}]}}),
    );
    assert_eq!(run(&doc), vec![]);
    set_attr(span(&mut doc, 0), header, string("application/json"));
    assert_eq!(
        only(&doc, rule::ATTRIBUTE_TYPE),
        vec![(Violation, attr(SPAN0, header))]
    );
}

#[test]
fn http_method_case_and_unknown_methods_are_violations() {
    let mut doc = good();
    set_attr(span(&mut doc, 0), "http.request.method", string("post"));
    assert_eq!(
        only(&doc, rule::ENUM_VALUE),
        vec![(Violation, attr(SPAN0, "http.request.method"))]
    );
    assert!(message(&run(&doc), rule::ENUM_VALUE).contains("case-sensitive, expected \"POST\""));
    set_attr(span(&mut doc, 0), "http.request.method", string("BREW"));
    assert!(message(&run(&doc), rule::ENUM_VALUE).contains("MUST be recorded as `_OTHER`"));
}

#[test]
fn other_unknown_enum_values_are_improvements() {
    let mut doc = good();
    set_attr(span(&mut doc, 1), "db.system.name", string("parkerdb"));
    assert_eq!(
        only(&doc, rule::ENUM_VALUE),
        vec![(Improvement, attr(SPAN1, "db.system.name"))]
    );
}

#[test]
fn http_server_spans_need_their_required_attributes() {
    let mut doc = good();
    remove_attr(span(&mut doc, 0), "url.path");
    remove_attr(span(&mut doc, 0), "url.scheme");
    let findings = run(&doc);
    assert_eq!(
        by_rule(&findings, rule::REQUIRED),
        vec![
            (Violation, attr(SPAN0, "url.path")),
            (Violation, attr(SPAN0, "url.scheme"))
        ]
    );
    assert_eq!(
        message(&findings, rule::REQUIRED),
        "server span (span.http.server) requires `url.path`"
    );
}

#[test]
fn http_client_spans_use_the_client_group() {
    let mut doc = good();
    let client = span(&mut doc, 0);
    client["kind"] = json!(3);
    client["name"] = json!("POST");
    // Server-side attributes are not the client's; url.full, server.port are required.
    for key in [
        "http.route",
        "url.path",
        "url.scheme",
        "client.address",
        "user_agent.original",
    ] {
        remove_attr(client, key);
    }
    assert_eq!(
        only(&doc, rule::REQUIRED),
        vec![(Violation, attr(SPAN0, "url.full"))]
    );
    set_attr(
        span(&mut doc, 0),
        "url.full",
        string("http://127.0.0.1:8080/offers"),
    );
    assert_eq!(only(&doc, rule::REQUIRED), vec![]);
}

#[test]
fn redis_spans_need_the_command_name() {
    let mut doc = good();
    remove_attr(span(&mut doc, 1), "db.operation.name");
    let findings = run(&doc);
    assert_eq!(
        by_rule(&findings, rule::REQUIRED),
        vec![(Violation, attr(SPAN1, "db.operation.name"))]
    );
    assert!(message(&findings, rule::REQUIRED).contains("span.db.redis.client"));
}

#[test]
fn database_spans_without_a_system_name_use_the_generic_group() {
    let mut doc = good();
    remove_attr(span(&mut doc, 1), "db.system.name");
    let findings = run(&doc);
    assert_eq!(
        by_rule(&findings, rule::REQUIRED),
        vec![(Violation, attr(SPAN1, "db.system.name"))]
    );
    assert!(message(&findings, rule::REQUIRED).contains("span.db.client"));
}

#[test]
fn missing_recommended_attributes_are_improvements() {
    let mut doc = good();
    remove_attr(span(&mut doc, 0), "user_agent.original");
    assert_eq!(
        only(&doc, rule::RECOMMENDED),
        vec![(Improvement, attr(SPAN0, "user_agent.original"))]
    );
}

#[test]
fn ids_in_span_names_are_violations() {
    let mut doc = good();
    span(&mut doc, 1)["name"] = json!("SET booking:0b6b5f0e-3c1a-4b8e-9a53-2d4f1c7e8a90");
    assert_eq!(
        only(&doc, rule::SPAN_NAME),
        vec![(Violation, format!("{SPAN1}.name"))]
    );
    assert!(message(&run(&doc), rule::SPAN_NAME).contains("contains the id"));
}

#[test]
fn raw_urls_in_span_names_are_violations() {
    let mut doc = good();
    span(&mut doc, 1)["name"] = json!("GET https://fares.example/offers");
    assert_eq!(
        only(&doc, rule::SPAN_NAME),
        vec![(Violation, format!("{SPAN1}.name"))]
    );
}

#[test]
fn http_span_named_after_the_uri_path_is_a_violation() {
    let mut doc = good();
    span(&mut doc, 0)["name"] = json!("POST /bookings/42/confirm");
    assert_eq!(
        only(&doc, rule::SPAN_NAME),
        vec![(Violation, format!("{SPAN0}.name"))]
    );
    assert!(message(&run(&doc), rule::SPAN_NAME).contains("MUST NOT"));
}

#[test]
fn http_span_names_should_be_method_and_route() {
    let mut doc = good();
    span(&mut doc, 0)["name"] = json!("confirm booking");
    assert_eq!(
        only(&doc, rule::SPAN_NAME),
        vec![(Improvement, format!("{SPAN0}.name"))]
    );
    assert!(
        message(&run(&doc), rule::SPAN_NAME)
            .contains("\"POST\" or \"POST /bookings/{id}/confirm\"")
    );
    span(&mut doc, 0)["name"] = json!("POST");
    assert_eq!(only(&doc, rule::SPAN_NAME), vec![]);
}

#[test]
fn exception_events_need_a_type_or_message() {
    let mut doc = good();
    let event = &mut span(&mut doc, 1)["events"][0];
    remove_attr(event, "exception.type");
    assert_eq!(only(&doc, rule::EXCEPTION_EVENT), vec![]);
    remove_attr(&mut span(&mut doc, 1)["events"][0], "exception.message");
    assert_eq!(
        only(&doc, rule::EXCEPTION_EVENT),
        vec![(Violation, format!("{SPAN1}.events[0]"))]
    );
}

#[test]
fn event_attributes_are_checked_too() {
    let mut doc = good();
    set_attr(
        &mut span(&mut doc, 1)["events"][0],
        "exception.escaped",
        string("yes"),
    );
    let findings = run(&doc);
    let path = format!("{SPAN1}.events[0].attributes[\"exception.escaped\"]");
    assert_eq!(
        by_rule(&findings, rule::ATTRIBUTE_TYPE),
        vec![(Violation, path.clone())]
    );
    assert_eq!(
        by_rule(&findings, rule::DEPRECATED),
        vec![(Violation, path)]
    );
}

#[test]
fn resources_follow_the_service_entity() {
    let mut doc = good();
    remove_attr(resource(&mut doc), "service.version");
    assert_eq!(
        only(&doc, rule::RECOMMENDED),
        vec![(
            Improvement,
            "resourceSpans[0].resource.attributes[\"service.version\"]".into()
        )]
    );
    remove_attr(resource(&mut doc), "service.name");
    assert_eq!(
        only(&doc, rule::REQUIRED),
        vec![(
            Violation,
            "resourceSpans[0].resource.attributes[\"service.name\"]".into()
        )]
    );
}

#[test]
fn resource_attribute_names_are_checked() {
    let mut doc = good();
    set_attr(resource(&mut doc), "service.nmae", string("x"));
    assert_eq!(
        only(&doc, rule::UNKNOWN_ATTRIBUTE),
        vec![(
            Improvement,
            "resourceSpans[0].resource.attributes[\"service.nmae\"]".into()
        )]
    );
}

#[test]
fn logs_and_metrics_are_said_to_be_unchecked() {
    let doc = json!({"resourceLogs": []});
    assert_eq!(
        only(&doc, rule::NOT_CHECKED),
        vec![(otelops::check::Level::Information, "resourceLogs".into())]
    );
    assert_eq!(
        message(&run(&doc), rule::NOT_CHECKED),
        "logs are not checked against the semantic conventions yet (traces only)"
    );
}

#[test]
fn server_5xx_must_be_an_error() {
    let mut doc = good();
    set_attr(
        span(&mut doc, 0),
        "http.response.status_code",
        json!({"intValue": "503"}),
    );
    assert_eq!(
        only(&doc, rule::HTTP_STATUS),
        vec![(Violation, format!("{SPAN0}.status.code"))]
    );
    span(&mut doc, 0)["status"] = json!({"code": 2});
    assert_eq!(only(&doc, rule::HTTP_STATUS), vec![]);
}

#[test]
fn server_4xx_leaves_the_status_unset() {
    let mut doc = good();
    set_attr(
        span(&mut doc, 0),
        "http.response.status_code",
        json!({"intValue": "404"}),
    );
    span(&mut doc, 0)["status"] = json!({"code": 2});
    assert_eq!(
        only(&doc, rule::HTTP_STATUS),
        vec![(Violation, format!("{SPAN0}.status.code"))]
    );
    assert!(message(&run(&doc), rule::HTTP_STATUS).contains("the client erred"));
    span(&mut doc, 0)["status"] = json!({});
    assert_eq!(only(&doc, rule::HTTP_STATUS), vec![]);
}

#[test]
fn client_4xx_must_be_an_error() {
    let mut doc = good();
    let client = span(&mut doc, 0);
    client["kind"] = json!(3);
    set_attr(
        client,
        "http.response.status_code",
        json!({"intValue": 404}),
    );
    client["status"] = json!({"code": 0});
    assert_eq!(
        only(&doc, rule::HTTP_STATUS),
        vec![(Violation, format!("{SPAN0}.status.code"))]
    );
    span(&mut doc, 0)["status"] = json!({"code": 2, "message": "Not Found"});
    assert_eq!(only(&doc, rule::HTTP_STATUS), vec![]);
}

#[test]
fn exception_events_follow_the_event_group() {
    let mut doc = good();
    remove_attr(&mut span(&mut doc, 1)["events"][0], "exception.stacktrace");
    let findings = run(&doc);
    assert_eq!(
        by_rule(&findings, rule::RECOMMENDED),
        vec![(
            Improvement,
            format!("{SPAN1}.events[0].attributes[\"exception.stacktrace\"]")
        )]
    );
    assert_eq!(
        message(&findings, rule::RECOMMENDED),
        "event `exception` recommends `exception.stacktrace`"
    );
}

#[test]
fn personal_data_in_attributes_span_names_and_events_is_a_violation_shown_masked() {
    let mut doc = good();
    set_attr(
        span(&mut doc, 0),
        "parker.contact",
        string("ann.lee@example.com"),
    );
    set_attr(
        span(&mut doc, 1),
        "parker.note",
        string("paid with 4111 1111 1111 1111"),
    );
    set_attr(
        resource(&mut doc),
        "parker.owner.phone",
        string("+44 20 7946 0958"),
    );
    span(&mut doc, 1)["name"] = json!("lookup ann.lee@example.com");
    let findings = run(&doc);
    let mut found = by_rule(&findings, rule::PERSONAL_DATA);
    found.sort();
    let mut expected = vec![
        (Violation, attr(SPAN0, "parker.contact")),
        (Violation, attr(SPAN1, "parker.note")),
        (Violation, format!("{SPAN1}.name")),
        (
            Violation,
            "resourceSpans[0].resource.attributes[\"parker.owner.phone\"]".to_owned(),
        ),
    ];
    expected.sort();
    assert_eq!(found, expected, "{findings:#?}");
    let texts: Vec<String> = findings
        .iter()
        .filter(|f| f.rule == rule::PERSONAL_DATA)
        .map(|f| format!("{} {:?}", f.message, f.span))
        .collect();
    let all = texts.join("\n");
    // Named, masked, never echoed.
    assert!(
        all.contains("`parker.contact` holds what looks like an e-mail address (a***@e***.com)"),
        "{all}"
    );
    assert!(
        all.contains("a payment card number (************1111)"),
        "{all}"
    );
    assert!(all.contains("a phone number (+**********58)"), "{all}");
    assert!(all.contains("the span name holds"), "{all}");
    for secret in ["ann.lee", "4111 1111", "7946"] {
        assert!(!all.contains(secret), "{secret} echoed:\n{all}");
    }
    // Each span finding names its span.
    for f in findings
        .iter()
        .filter(|f| f.rule == rule::PERSONAL_DATA && f.path.contains("spans["))
    {
        assert!(f.span.is_some(), "{f:?}");
    }
}

#[test]
fn personal_data_in_log_bodies_and_metric_labels_is_found_too() {
    let logs = json!({"resourceLogs": [{"resource": {"attributes": []}, "scopeLogs": [{"logRecords": [
        {"body": {"stringValue": "booking bk_01HZ confirmed for dan@example.com"},
         "attributes": [{"key": "flight.origin", "value": {"stringValue": "LHR"}}]}]}]}]});
    let findings = run(&logs);
    assert_eq!(
        by_rule(&findings, rule::PERSONAL_DATA),
        vec![(
            Violation,
            "resourceLogs[0].scopeLogs[0].logRecords[0].body".to_owned()
        )]
    );
    assert!(
        message(&findings, rule::PERSONAL_DATA)
            .starts_with("`body` holds what looks like an e-mail address (d***@e***.com)")
    );

    let metrics = json!({"resourceMetrics": [{"resource": {"attributes": []}, "scopeMetrics": [{"metrics": [
        {"name": "parker.bookings", "sum": {"aggregationTemporality": 2, "isMonotonic": true, "dataPoints": [
            {"asInt": "1", "timeUnixNano": "1764086400000000000", "attributes": [
                {"key": "traveller.card", "value": {"stringValue": "5555-5555-5555-4444"}},
                {"key": "booking.id", "value": {"stringValue": "bk_01HZ"}}]}]}}]}]}]});
    let findings = run(&metrics);
    let found = by_rule(&findings, rule::PERSONAL_DATA);
    assert_eq!(found.len(), 1, "{findings:#?}");
    assert!(message(&findings, rule::PERSONAL_DATA).starts_with(
        "`traveller.card` holds what looks like a payment card number (************4444)"
    ));
}
