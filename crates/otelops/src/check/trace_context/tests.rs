use super::*;

/// A service that follows the spec: one valid traceparent continues the
/// trace with a new parent id, anything else restarts; tracestate is kept
/// only with a valid traceparent and when the whole list is valid.
fn conformant(case: &Case) -> Received {
    let values = |name: &str| -> Vec<String> {
        case.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
            .collect()
    };
    let parents = values("traceparent");
    let incoming = match parents.as_slice() {
        [one] => TraceParent::parse(one).ok(),
        _ => None,
    };
    let trace_id = incoming
        .as_ref()
        .map(TraceParent::trace_id_hex)
        .unwrap_or_else(|| "f".repeat(32));
    let state = incoming
        .as_ref()
        .and_then(|_| TraceState::parse_headers(&values("tracestate")).ok())
        .map(|s| s.to_string())
        .unwrap_or_default();
    Received {
        traceparent: vec![format!("00-{trace_id}-aaaaaaaaaaaaaaaa-01")],
        tracestate: if state.is_empty() {
            vec![]
        } else {
            vec![state]
        },
    }
}

/// A service that blindly forwards what it got.
fn echo(case: &Case) -> Received {
    Received::from_headers(case.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())))
}

#[test]
fn a_conformant_service_passes_every_case() {
    for case in cases() {
        let verdict = judge(&case, &conformant(&case));
        assert!(verdict.passed, "{}: {}", case.name, verdict.detail);
    }
}

#[test]
fn an_echoing_service_fails_the_invalid_input_cases() {
    let failed: Vec<&str> = cases()
        .iter()
        .filter(|case| !judge(case, &echo(case)).passed)
        .map(|case| case.name)
        .collect();
    assert_eq!(
        failed,
        [
            "no_context_starts_trace",
            // Echoing is right for `TraceParent:` (names are case-insensitive)
            // and for whitespace (OWS is allowed on the way out too); a
            // future version must come back as 00.
            "future_version_is_parsed_as_00",
            "future_version_with_extra_fields",
            "duplicated_traceparent_restarts",
            "version_ff_restarts",
            "version_00_with_extra_data_restarts",
            "future_version_without_dash_restarts",
            "uppercase_trace_id_restarts",
            "zero_trace_id_restarts",
            "zero_parent_id_restarts",
            "short_trace_id_restarts",
            "illegal_characters_restart",
            "bad_flags_restart",
            "tracestate_33_members_not_exceeded",
            "tracestate_uppercase_key_dropped",
            "tracestate_bad_vendor_key_dropped",
            "tracestate_key_too_long_dropped",
            "tracestate_duplicate_keys_not_propagated",
        ]
    );
}

fn case(name: &str) -> Case {
    cases()
        .into_iter()
        .find(|c| c.name == name)
        .expect("case exists")
}

#[test]
fn reusing_an_invalid_trace_id_fails_with_the_reason() {
    let received = Received {
        traceparent: vec![format!(
            "00-{}-aaaaaaaaaaaaaaaa-01",
            "12345678901234567890123456789012"
        )],
        tracestate: vec![],
    };
    let verdict = judge(&case("version_ff_restarts"), &received);
    assert!(!verdict.passed);
    assert!(
        verdict.detail.contains("reused from invalid input"),
        "{}",
        verdict.detail
    );
}

#[test]
fn losing_a_valid_trace_id_fails() {
    let received = Received {
        traceparent: vec![format!("00-{}-aaaaaaaaaaaaaaaa-01", "b".repeat(32))],
        tracestate: vec![],
    };
    let verdict = judge(&case("valid_traceparent_keeps_trace_id"), &received);
    assert!(!verdict.passed);
    assert!(
        verdict.detail.contains("must be kept"),
        "{}",
        verdict.detail
    );
}

#[test]
fn missing_or_duplicated_propagated_traceparent_fails() {
    let valid = case("valid_traceparent_keeps_trace_id");
    assert!(!judge(&valid, &Received::default()).passed);
    let twice = Received {
        traceparent: vec![valid.headers[0].1.clone(), valid.headers[0].1.clone()],
        tracestate: vec![],
    };
    assert!(
        judge(&valid, &twice)
            .detail
            .contains("2 traceparent headers")
    );
}

#[test]
fn dropping_tracestate_members_fails_and_vendor_prefix_passes() {
    let propagated = case("tracestate_is_propagated");
    let parent = propagated.headers[0].1.clone();
    let dropped = Received {
        traceparent: vec![parent.clone()],
        tracestate: vec!["foo=1".into()],
    };
    assert!(!judge(&propagated, &dropped).passed);
    let prefixed = Received {
        traceparent: vec![parent],
        tracestate: vec!["parker=x,foo=1".into(), "bar=2".into()],
    };
    assert!(judge(&propagated, &prefixed).passed);
}

#[test]
fn traceparent_grammar() {
    let ok = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let parsed = TraceParent::parse(ok).expect("valid");
    assert_eq!(parsed.to_string(), ok);
    assert_eq!(parsed.flags, 1);
    let bad = [
        (
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            TraceParentError::VersionFf,
        ),
        (
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x",
            TraceParentError::Version00Length(57),
        ),
        (
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            TraceParentError::TooShort(52),
        ),
        (
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            TraceParentError::AllZero("trace-id"),
        ),
        (
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            TraceParentError::AllZero("parent-id"),
        ),
        (
            "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01.x",
            TraceParentError::FutureVersionSuffix,
        ),
        (
            "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            TraceParentError::MissingDash("version"),
        ),
        (
            "00-4bf92f3577b34da6a3ce929d0e0e473é-00f067aa0ba902b7-01",
            TraceParentError::NotAscii,
        ),
    ];
    for (text, error) in bad {
        assert_eq!(TraceParent::parse(text), Err(error), "{text}");
    }
    assert!(matches!(
        TraceParent::parse("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"),
        Err(TraceParentError::NotLowerHex {
            field: "trace-id",
            ..
        })
    ));
}

#[test]
fn tracestate_grammar() {
    let parse = |s: &str| TraceState::parse_headers(&[s.to_owned()]);
    let state = parse(" foo=1 ,, t@v=a b,bar=2\t").expect("valid");
    assert_eq!(state.to_string(), "foo=1,t@v=a b,bar=2");
    assert_eq!(state.len(), 3);
    assert_eq!(parse("FOO=1"), Err(TraceStateError::BadKey("FOO".into())));
    assert_eq!(parse("1foo=1"), Err(TraceStateError::BadKey("1foo".into())));
    assert_eq!(
        parse("foo@1bar=1"),
        Err(TraceStateError::BadKey("foo@1bar".into()))
    );
    assert_eq!(
        parse("foo=a,b"),
        Err(TraceStateError::NotKeyValue("b".into()))
    );
    assert_eq!(parse("foo="), Err(TraceStateError::BadValue("foo".into())));
    assert_eq!(
        parse("foo=a=b"),
        Err(TraceStateError::BadValue("foo".into()))
    );
    assert_eq!(
        parse("foo=1,foo=2"),
        Err(TraceStateError::DuplicateKey("foo".into()))
    );
    let too_many: Vec<String> = (0..33).map(|i| format!("k{i}=v")).collect();
    assert_eq!(
        TraceState::parse_headers(&[too_many.join(",")]),
        Err(TraceStateError::TooManyMembers(33))
    );
    assert!(
        TraceState::parse_headers(&[])
            .expect("no header")
            .is_empty()
    );
}
