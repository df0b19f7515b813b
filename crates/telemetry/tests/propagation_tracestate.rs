//! W3C Trace Context `tracestate` rules (Level 2 §3.3 and the W3C test suite at
//! strict level 2): an invalid tracestate is discarded as a whole while the
//! traceparent is still honoured; a repeated key is not invalid.

use http::{HeaderMap, HeaderName, HeaderValue};
use opentelemetry::Context;
use opentelemetry::baggage::BaggageExt;
use opentelemetry::propagation::TextMapCompositePropagator;
use opentelemetry::trace::{SpanContext, TraceContextExt};
use opentelemetry_sdk::propagation::BaggagePropagator;
use parker_telemetry::propagation::{
    TraceContextPropagator, TraceStateError, extract_with, inject_with, parse_tracestate,
};

const TRACEPARENT: &str = "00-12345678901234567890123456789012-1234567890123456-00";

fn propagator() -> TextMapCompositePropagator {
    TextMapCompositePropagator::new(vec![
        Box::new(TraceContextPropagator::new()),
        Box::new(BaggagePropagator::new()),
    ])
}

fn extract_cx(tracestates: &[&str]) -> Context {
    let mut map = HeaderMap::new();
    map.insert("traceparent", HeaderValue::from_static(TRACEPARENT));
    for value in tracestates {
        map.append("tracestate", HeaderValue::from_str(value).unwrap());
    }
    let cx = extract_with(&propagator(), &map);
    assert!(
        cx.span().span_context().is_valid(),
        "a tracestate problem must not affect the traceparent"
    );
    cx
}

fn extract(tracestates: &[&str]) -> SpanContext {
    extract_cx(tracestates).span().span_context().clone()
}

/// The tracestate header the service would pass on.
fn kept(tracestates: &[&str]) -> String {
    let mut out = HeaderMap::new();
    inject_with(&propagator(), &extract_cx(tracestates), &mut out);
    out.get("tracestate")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
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
fn tracestate_duplicate_keys_keep_the_first_entry_and_the_rest_of_the_list() {
    for (headers, expected) in [
        (&["foo=1,foo=1"][..], "foo=1"),
        (&["foo=1,bar=2,foo=3"], "foo=1,bar=2"),
        (&["foo=1", "foo=2", "baz=3"], "foo=1,baz=3"),
    ] {
        assert_eq!(kept(headers), expected, "{headers:?}");
    }
}

#[test]
fn tracestate_duplicate_keys_count_toward_the_32_member_limit() {
    let header = format!("{},bar01=again", members(1..=32));
    assert_eq!(discarded(&[&header]), TraceStateError::TooManyMembers);
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
fn tracestate_at_sign_may_stand_anywhere_after_the_first_character() {
    // Level 2's key grammar; opentelemetry 0.33's TraceState still holds
    // only Level 1 tenant@system keys, so these travel beside it and must
    // still be passed on as received.
    for header in [
        "foo@@bar=1,bar=2",
        "foo@bar@baz=1,bar=2",
        "foo@=1,bar=2",
        "foo@1bar=1",
        "foo@_x=1",
    ] {
        assert_eq!(kept(&[header]), header);
    }
}

#[test]
fn tracestate_level_1_tenant_and_system_limits_are_gone() {
    for member in [
        format!("{}@{}=1", "t".repeat(241), "v".repeat(14)),
        format!("{}@v=1", "t".repeat(242)),
        format!("t@{}=1", "v".repeat(15)),
        format!("a{}=1", "@".repeat(255)),
    ] {
        assert!(parse_tracestate([member.as_str()]).is_ok(), "{member}");
        assert_eq!(kept(&["foo=1", &member]), format!("foo=1,{member}"));
    }
}

#[test]
fn tracestate_key_starting_with_at_discards_whole_tracestate() {
    assert_eq!(
        discarded(&["@foo=1,bar=2"]),
        TraceStateError::Key("@foo".into())
    );
    assert!(matches!(
        discarded(&[&format!("a{}=1", "@".repeat(256))]),
        TraceStateError::Key(_)
    ));
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
fn tracestate_error_names_the_key_and_the_rule() {
    let message = parse_tracestate(["@foo=1"]).unwrap_err().to_string();
    assert!(
        message.contains("\"@foo\" is invalid")
            && message.contains("starting with a letter or digit"),
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
