//! W3C Trace Context `traceparent` rules (Level 1 §3.2 and the W3C test suite):
//! every invalid header starts a new trace, i.e. `extract` yields no remote span.

use http::{HeaderMap, HeaderName, HeaderValue};
use opentelemetry::propagation::TextMapCompositePropagator;
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use opentelemetry::{Context, KeyValue, baggage::BaggageExt};
use opentelemetry_sdk::propagation::BaggagePropagator;
use parker_telemetry::propagation::{
    TraceContextPropagator, TraceParent, TraceParentError, extract_with, inject_with,
};

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT: &str = "00f067aa0ba902b7";

fn propagator() -> TextMapCompositePropagator {
    TextMapCompositePropagator::new(vec![
        Box::new(TraceContextPropagator::new()),
        Box::new(BaggagePropagator::new()),
    ])
}

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.append(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    map
}

fn remote(pairs: &[(&str, &str)]) -> SpanContext {
    extract_with(&propagator(), &headers(pairs))
        .span()
        .span_context()
        .clone()
}

/// Asserts `value` starts a new trace and returns why it was rejected.
fn rejected(value: &str) -> TraceParentError {
    let sc = remote(&[("traceparent", value), ("tracestate", "foo=1")]);
    assert!(
        !sc.is_valid(),
        "{value:?} must start a new trace, got {sc:?}"
    );
    TraceParent::parse(value).expect_err("parse must reject what extract rejected")
}

fn accepted(value: &str) -> SpanContext {
    let sc = remote(&[("traceparent", value)]);
    assert!(sc.is_valid(), "{value:?} must be accepted");
    assert!(sc.is_remote());
    sc
}

#[test]
fn valid_traceparent_is_extracted_as_remote_parent() {
    let sc = accepted(&format!("00-{TRACE}-{PARENT}-01"));
    assert_eq!(sc.trace_id(), TraceId::from_hex(TRACE).unwrap());
    assert_eq!(sc.span_id(), SpanId::from_hex(PARENT).unwrap());
    assert!(sc.is_sampled());
}

#[test]
fn round_trip_keeps_ids_flags_tracestate_and_baggage() {
    let sc = SpanContext::new(
        TraceId::from_hex(TRACE).unwrap(),
        SpanId::from_hex(PARENT).unwrap(),
        TraceFlags::SAMPLED,
        true,
        TraceState::from_key_value([("rojo", "00f067aa0ba902b7"), ("congo", "t61rcWkgMzE")])
            .unwrap(),
    );
    let cx = Context::new()
        .with_remote_span_context(sc.clone())
        .with_baggage([KeyValue::new("tenant", "acme")]);
    let mut map = HeaderMap::new();
    inject_with(&propagator(), &cx, &mut map);
    assert_eq!(
        map["traceparent"],
        format!("00-{TRACE}-{PARENT}-01").as_str()
    );
    assert_eq!(map["tracestate"], "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");

    let back = extract_with(&propagator(), &map);
    assert_eq!(back.span().span_context(), &sc);
    assert_eq!(
        back.baggage().get("tenant").map(|v| v.to_string()),
        Some("acme".into())
    );
}

#[test]
fn traceparent_unsampled_flag_round_trips() {
    let sc = accepted(&format!("00-{TRACE}-{PARENT}-00"));
    assert!(!sc.is_sampled());
}

#[test]
fn traceparent_sampled_and_random_flags_are_passed_on_reserved_ones_are_not() {
    // Version 00 defines sampled (01) and random (02, Level 2); the rest
    // are accepted on the way in and sent as zero.
    for (incoming, kept) in [
        ("01", 0x01),
        ("02", 0x02),
        ("03", 0x03),
        ("09", 0x01),
        ("ff", 0x03),
    ] {
        let sc = accepted(&format!("00-{TRACE}-{PARENT}-{incoming}"));
        assert_eq!(sc.trace_flags().to_u8(), kept, "{incoming}");
        let mut map = HeaderMap::new();
        inject_with(
            &propagator(),
            &Context::new().with_remote_span_context(sc),
            &mut map,
        );
        assert_eq!(
            map["traceparent"],
            format!("00-{TRACE}-{PARENT}-{kept:02x}").as_str(),
            "{incoming}"
        );
    }
}

#[test]
fn traceparent_surrounding_spaces_and_tabs_are_ignored() {
    accepted(&format!(" \t00-{TRACE}-{PARENT}-01\t "));
}

#[test]
fn traceparent_version_ff_starts_new_trace() {
    let err = rejected(&format!("ff-{TRACE}-{PARENT}-01"));
    assert!(
        matches!(err, TraceParentError::ForbiddenVersion(_)),
        "{err}"
    );
}

#[test]
fn traceparent_version_with_illegal_characters_starts_new_trace() {
    for version in [".0", "0.", "0g"] {
        let err = rejected(&format!("{version}-{TRACE}-{PARENT}-01"));
        assert!(matches!(err, TraceParentError::Version(_)), "{err}");
    }
}

#[test]
fn traceparent_version_uppercase_hex_starts_new_trace() {
    let err = rejected(&format!("0A-{TRACE}-{PARENT}-01"));
    assert!(matches!(err, TraceParentError::Version(_)), "{err}");
}

#[test]
fn traceparent_version_too_short_starts_new_trace() {
    let err = rejected(&format!("0-{TRACE}-{PARENT}-01"));
    assert!(matches!(err, TraceParentError::Version(_)), "{err}");
}

#[test]
fn traceparent_version_too_long_starts_new_trace() {
    for version in ["000", "0000"] {
        let err = rejected(&format!("{version}-{TRACE}-{PARENT}-01"));
        assert!(matches!(err, TraceParentError::Version(_)), "{err}");
    }
}

#[test]
fn traceparent_version_00_must_be_exactly_55_characters() {
    for value in [
        format!("00-{TRACE}-{PARENT}-01."),
        format!("00-{TRACE}-{PARENT}-01-"),
        format!("00-{TRACE}-{PARENT}-01-what-the-future-will-be-like"),
    ] {
        let err = rejected(&value);
        assert!(
            matches!(err, TraceParentError::Length { len, .. } if len > 55),
            "{err}"
        );
    }
}

#[test]
fn traceparent_higher_version_with_extra_fields_is_accepted() {
    let sc = accepted(&format!(
        "cc-{TRACE}-{PARENT}-01-what-the-future-will-be-like"
    ));
    assert_eq!(sc.trace_id(), TraceId::from_hex(TRACE).unwrap());
    accepted(&format!("cc-{TRACE}-{PARENT}-01"));
}

#[test]
fn traceparent_higher_version_requires_dash_after_flags() {
    let err = rejected(&format!(
        "cc-{TRACE}-{PARENT}-01.what-the-future-will-be-like"
    ));
    assert!(matches!(err, TraceParentError::Flags(_)), "{err}");
}

#[test]
fn traceparent_higher_version_shorter_than_55_starts_new_trace() {
    let err = rejected(&format!("cc-{TRACE}-{PARENT}-1"));
    assert!(
        matches!(err, TraceParentError::Length { len: 54, .. }),
        "{err}"
    );
}

#[test]
fn traceparent_trace_id_all_zero_starts_new_trace() {
    let err = rejected(&format!("00-{}-{PARENT}-01", "0".repeat(32)));
    assert!(matches!(err, TraceParentError::TraceId(_)), "{err}");
}

#[test]
fn traceparent_trace_id_uppercase_hex_starts_new_trace() {
    let err = rejected(&format!("00-{}-{PARENT}-01", TRACE.to_uppercase()));
    assert!(matches!(err, TraceParentError::TraceId(_)), "{err}");
}

#[test]
fn traceparent_trace_id_illegal_characters_starts_new_trace() {
    let err = rejected(&format!("00-.{}-{PARENT}-01", &TRACE[1..]));
    assert!(matches!(err, TraceParentError::TraceId(_)), "{err}");
}

#[test]
fn traceparent_trace_id_too_short_starts_new_trace() {
    rejected(&format!("00-{}-{PARENT}-01", &TRACE[1..]));
}

#[test]
fn traceparent_trace_id_too_long_starts_new_trace() {
    rejected(&format!("00-{TRACE}1-{PARENT}-01"));
}

#[test]
fn traceparent_parent_id_all_zero_starts_new_trace() {
    let err = rejected(&format!("00-{TRACE}-{}-01", "0".repeat(16)));
    assert!(matches!(err, TraceParentError::ParentId(_)), "{err}");
}

#[test]
fn traceparent_parent_id_uppercase_hex_starts_new_trace() {
    let err = rejected(&format!("00-{TRACE}-{}-01", "00F067AA0BA902B7"));
    assert!(matches!(err, TraceParentError::ParentId(_)), "{err}");
}

#[test]
fn traceparent_parent_id_too_short_starts_new_trace() {
    rejected(&format!("00-{TRACE}-{}-01", &PARENT[1..]));
}

#[test]
fn traceparent_parent_id_too_long_starts_new_trace() {
    rejected(&format!("00-{TRACE}-{PARENT}7-01"));
}

#[test]
fn traceparent_flags_uppercase_hex_starts_new_trace() {
    let err = rejected(&format!("00-{TRACE}-{PARENT}-0A"));
    assert!(matches!(err, TraceParentError::Flags(_)), "{err}");
}

#[test]
fn traceparent_flags_illegal_characters_starts_new_trace() {
    for flags in [".0", "0."] {
        let err = rejected(&format!("00-{TRACE}-{PARENT}-{flags}"));
        assert!(matches!(err, TraceParentError::Flags(_)), "{err}");
    }
}

#[test]
fn traceparent_flags_too_short_starts_new_trace() {
    rejected(&format!("00-{TRACE}-{PARENT}-1"));
}

#[test]
fn traceparent_flags_too_long_starts_new_trace() {
    rejected(&format!("00-{TRACE}-{PARENT}-001"));
}

#[test]
fn traceparent_missing_flags_starts_new_trace() {
    rejected(&format!("00-{TRACE}-{PARENT}"));
}

#[test]
fn traceparent_multiple_headers_start_new_trace() {
    let one = format!("00-{TRACE}-{PARENT}-01");
    let two = format!("00-{}-{PARENT}-01", "1".repeat(32));
    let map = headers(&[("traceparent", &one), ("traceparent", &two)]);
    assert!(
        !extract_with(&propagator(), &map)
            .span()
            .span_context()
            .is_valid()
    );
    assert_eq!(
        TraceParent::from_headers(&map),
        Err(TraceParentError::Multiple { count: 2 })
    );
}

#[test]
fn invalid_traceparent_ignores_tracestate() {
    let cx = extract_with(
        &propagator(),
        &headers(&[
            ("traceparent", &format!("ff-{TRACE}-{PARENT}-01")),
            ("tracestate", "foo=1"),
        ]),
    );
    assert!(!cx.span().span_context().is_valid());
    assert_eq!(cx.span().span_context().trace_state().header(), "");
}

#[test]
fn traceparent_error_names_the_problem_and_value() {
    let value = format!("ff-{TRACE}-{PARENT}-01");
    let message = TraceParent::parse(&value).unwrap_err().to_string();
    assert!(message.contains("version ff is forbidden"), "{message}");
    assert!(message.contains(&value), "{message}");
}

#[test]
fn traceparent_display_is_canonical_version_00() {
    // Version 00 defines sampled (01) and random (02); 08 is reserved.
    let tp = TraceParent::parse(&format!("cc-{TRACE}-{PARENT}-0b-extra")).unwrap();
    assert_eq!(tp.to_string(), format!("00-{TRACE}-{PARENT}-03"));
}
