//! W3C Trace Context `tracestate` rules (Level 1 §3.3 and the W3C test suite at
//! strict level 2): an invalid tracestate is discarded as a whole while the
//! traceparent is still honoured.

use http::{HeaderMap, HeaderName, HeaderValue};
use opentelemetry::Context;
use opentelemetry::baggage::BaggageExt;
use opentelemetry::propagation::TextMapCompositePropagator;
use opentelemetry::trace::{SpanContext, TraceContextExt};
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};
use parker_telemetry::propagation::{TraceStateError, extract_with, inject_with, parse_tracestate};

const TRACEPARENT: &str = "00-12345678901234567890123456789012-1234567890123456-00";

fn propagator() -> TextMapCompositePropagator {
    TextMapCompositePropagator::new(vec![
        Box::new(TraceContextPropagator::new()),
        Box::new(BaggagePropagator::new()),
    ])
}

fn extract(tracestates: &[&str]) -> SpanContext {
    let mut map = HeaderMap::new();
    map.insert("traceparent", HeaderValue::from_static(TRACEPARENT));
    for value in tracestates {
        map.append("tracestate", HeaderValue::from_str(value).unwrap());
    }
    let sc = extract_with(&propagator(), &map)
        .span()
        .span_context()
        .clone();
    assert!(
        sc.is_valid(),
        "a tracestate problem must not affect the traceparent"
    );
    sc
}

/// The tracestate header the service would pass on.
fn kept(tracestates: &[&str]) -> String {
    extract(tracestates).trace_state().header()
}

fn discarded(tracestates: &[&str]) -> TraceStateError {
    assert_eq!(kept(tracestates), "", "{tracestates:?} must be discarded");
    parse_tracestate(tracestates.iter().copied()).expect_err("parse must reject it too")
}

fn members(range: std::ops::RangeInclusive<u32>) -> String {
    range
        .map(|i| format!("bar{i:02}={i:02}"))
        .collect::<Vec<_>>()
        .join(",")
}

#[test]
fn tracestate_is_inherited_with_a_valid_traceparent() {
    assert_eq!(kept(&["foo=1,bar=2"]), "foo=1,bar=2");
}

#[test]
fn tracestate_multiple_headers_are_combined_in_order() {
    assert_eq!(
        kept(&["foo=1,bar=2", "rojo=1,congo=2", "baz=3"]),
        "foo=1,bar=2,rojo=1,congo=2,baz=3"
    );
}

#[test]
fn tracestate_empty_header_is_accepted() {
    assert_eq!(kept(&[""]), "");
    assert_eq!(kept(&["foo=1", ""]), "foo=1");
    assert_eq!(kept(&["", "foo=1"]), "foo=1");
}

#[test]
fn tracestate_empty_members_are_ignored() {
    assert_eq!(kept(&["foo=1,, \t ,bar=2,"]), "foo=1,bar=2");
}

#[test]
fn tracestate_whitespace_around_members_is_ignored() {
    assert_eq!(
        kept(&["foo=1 \t , \t bar=2, \t baz=3"]),
        "foo=1,bar=2,baz=3"
    );
    assert_eq!(kept(&["\t foo=1 \t"]), "foo=1");
}

#[test]
fn tracestate_32_members_are_kept() {
    let header = [
        members(1..=10),
        members(11..=20),
        members(21..=30),
        members(31..=32),
    ];
    let refs: Vec<&str> = header.iter().map(String::as_str).collect();
    let sc = extract(&refs);
    assert_eq!(sc.trace_state().get("bar01"), Some("01"));
    assert_eq!(sc.trace_state().get("bar32"), Some("32"));
}

#[test]
fn tracestate_more_than_32_members_discards_whole_tracestate() {
    let header = [members(1..=30), members(31..=33)];
    let refs: Vec<&str> = header.iter().map(String::as_str).collect();
    assert_eq!(discarded(&refs), TraceStateError::TooManyMembers);
}

#[test]
fn tracestate_duplicate_keys_discard_whole_tracestate() {
    for headers in [
        &["foo=1,foo=1"][..],
        &["foo=1,foo=2"],
        &["foo=1", "foo=1"],
        &["foo=1", "foo=2"],
    ] {
        assert_eq!(
            discarded(headers),
            TraceStateError::DuplicateKey("foo".into())
        );
    }
}

#[test]
fn tracestate_member_without_equals_discards_whole_tracestate() {
    assert!(matches!(
        discarded(&["foo=1,bar"]),
        TraceStateError::MissingEquals(_)
    ));
}

#[test]
fn tracestate_key_with_uppercase_discards_whole_tracestate() {
    assert_eq!(
        discarded(&["FOO=1,bar=2"]),
        TraceStateError::Key("FOO".into())
    );
}

#[test]
fn tracestate_key_with_illegal_characters_discards_whole_tracestate() {
    assert_eq!(
        discarded(&["foo.bar=1"]),
        TraceStateError::Key("foo.bar".into())
    );
    assert_eq!(discarded(&["foo =1"]), TraceStateError::Key("foo ".into()));
    assert!(matches!(discarded(&["_foo=1"]), TraceStateError::Key(_)));
}

#[test]
fn tracestate_key_may_start_with_a_digit() {
    assert_eq!(kept(&["1foo=1"]), "1foo=1");
}

#[test]
fn tracestate_key_of_256_characters_is_kept() {
    let key = "z".repeat(256);
    let sc = extract(&["foo=1", &format!("{key}=1")]);
    assert_eq!(sc.trace_state().get(&key), Some("1"));
}

#[test]
fn tracestate_key_longer_than_256_characters_discards_whole_tracestate() {
    assert!(matches!(
        discarded(&["foo=1", &format!("{}=1", "z".repeat(257))]),
        TraceStateError::Key(_)
    ));
}

#[test]
fn tracestate_multi_tenant_key_is_kept() {
    let key = format!("{}@{}", "t".repeat(241), "v".repeat(13));
    assert_eq!(
        extract(&["foo=1", &format!("{key}=1")])
            .trace_state()
            .get(&key),
        Some("1")
    );
    assert_eq!(kept(&["fw529a3039@dt=1"]), "fw529a3039@dt=1");
}

#[test]
fn tracestate_system_id_of_14_characters_is_valid_but_dropped_by_the_sdk() {
    // W3C allows a 14-character system-id and our validator accepts it, but
    // opentelemetry 0.33's TraceState::valid_key caps it at 13, so the SDK
    // propagator cannot represent this tracestate and drops it whole. The
    // traceparent is still honoured (checked in `extract`).
    let member = format!("{}@{}=1", "t".repeat(241), "v".repeat(14));
    assert!(parse_tracestate([member.as_str()]).is_ok());
    assert_eq!(kept(&["foo=1", &member]), "");
}

#[test]
fn tracestate_tenant_id_longer_than_241_characters_discards_whole_tracestate() {
    assert!(matches!(
        discarded(&["foo=1", &format!("{}@v=1", "t".repeat(242))]),
        TraceStateError::Key(_)
    ));
}

#[test]
fn tracestate_system_id_longer_than_14_characters_discards_whole_tracestate() {
    assert!(matches!(
        discarded(&["foo=1", &format!("t@{}=1", "v".repeat(15))]),
        TraceStateError::Key(_)
    ));
}

#[test]
fn tracestate_malformed_multi_tenant_key_discards_whole_tracestate() {
    for member in [
        "foo@=1,bar=2",
        "@foo=1,bar=2",
        "foo@@bar=1,bar=2",
        "foo@bar@baz=1,bar=2",
        "foo@1bar=1",
    ] {
        assert!(
            matches!(discarded(&[member]), TraceStateError::Key(_)),
            "{member}"
        );
    }
}

#[test]
fn tracestate_value_with_equals_discards_whole_tracestate() {
    assert_eq!(
        discarded(&["foo=bar=baz"]),
        TraceStateError::Value("foo".into())
    );
}

#[test]
fn tracestate_empty_value_discards_whole_tracestate() {
    assert_eq!(
        discarded(&["foo=,bar=3"]),
        TraceStateError::Value("foo".into())
    );
}

#[test]
fn tracestate_value_longer_than_256_characters_discards_whole_tracestate() {
    assert_eq!(
        discarded(&[&format!("foo={}", "v".repeat(257))]),
        TraceStateError::Value("foo".into())
    );
    assert_eq!(kept(&[&format!("foo={}", "v".repeat(256))]).len(), 4 + 256);
}

#[test]
fn tracestate_value_with_control_character_discards_whole_tracestate() {
    assert_eq!(
        discarded(&["foo=a\tb"]),
        TraceStateError::Value("foo".into())
    );
}

#[test]
fn tracestate_trailing_spaces_are_optional_whitespace_not_value() {
    assert_eq!(kept(&["foo=1   "]), "foo=1");
}

#[test]
fn tracestate_all_allowed_characters_are_kept() {
    let key: String = ('a'..='z').chain('0'..='9').chain("_-*/".chars()).collect();
    let value: String = (0x20u8..=0x7e)
        .filter(|c| *c != b',' && *c != b'=')
        .map(char::from)
        .collect();
    let sc = extract(&[&format!("{key}={value}")]);
    assert_eq!(sc.trace_state().get(&key), Some(value.as_str()));
}

#[test]
fn tracestate_error_names_the_rule() {
    let message = parse_tracestate(["foo=1,foo=2"]).unwrap_err().to_string();
    assert!(
        message.contains("\"foo\" appears more than once"),
        "{message}"
    );
}

#[test]
fn inject_does_not_send_an_empty_tracestate() {
    let mut map = HeaderMap::new();
    map.insert("traceparent", HeaderValue::from_static(TRACEPARENT));
    let cx = extract_with(&propagator(), &map);
    let mut out = HeaderMap::new();
    inject_with(&propagator(), &cx, &mut out);
    assert!(out.contains_key("traceparent"));
    assert!(!out.contains_key("tracestate"), "{out:?}");
}

#[test]
fn baggage_multiple_headers_are_combined() {
    let mut map = HeaderMap::new();
    map.append(
        HeaderName::from_static("baggage"),
        HeaderValue::from_static("a=1"),
    );
    map.append(
        HeaderName::from_static("baggage"),
        HeaderValue::from_static("b=2"),
    );
    let cx: Context = extract_with(&propagator(), &map);
    assert_eq!(
        cx.baggage().get("a").map(|v| v.to_string()),
        Some("1".into())
    );
    assert_eq!(
        cx.baggage().get("b").map(|v| v.to_string()),
        Some("2".into())
    );
}
