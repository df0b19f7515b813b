use super::*;

/// A service that follows the spec: one valid traceparent continues the
/// trace with a new parent id and the caller's sampled and random flags,
/// anything else restarts with a random trace id; tracestate is kept only
/// with a valid traceparent and when the whole list is valid.
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
    let flags = incoming.as_ref().map_or(0x03, |p| p.flags & 0x03);
    let state = incoming
        .as_ref()
        .and_then(|_| TraceState::parse_headers(&values("tracestate"), case.level).ok())
        .map(|s| s.to_string())
        .unwrap_or_default();
    Received {
        traceparent: vec![format!("00-{trace_id}-aaaaaaaaaaaaaaaa-{flags:02x}")],
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
fn a_conformant_service_passes_every_case_at_both_levels() {
    for level in [SpecLevel::One, SpecLevel::Two] {
        for case in cases(level) {
            let verdict = judge(&case, &conformant(&case));
            assert!(verdict.passed, "{level} {}: {}", case.name, verdict.detail);
        }
    }
}

fn echo_failures(level: SpecLevel) -> Vec<&'static str> {
    cases(level)
        .iter()
        .filter(|case| !judge(case, &echo(case)).passed)
        .map(|case| case.name)
        .collect()
}

#[test]
fn an_echoing_service_fails_the_invalid_input_cases() {
    assert_eq!(
        echo_failures(SpecLevel::Two),
        [
            "no_context_starts_trace",
            "reserved_flags_are_not_propagated",
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
            "tracestate_key_starting_with_at_dropped",
            "tracestate_key_too_long_dropped",
            // Echoing is right for every Level 2 tracestate and flag rule,
            // but a new trace must be started, and its id marked random.
            "new_trace_sets_random_flag",
        ]
    );
    // Level 1: the same inputs, and echoing a repeated key is invalid.
    let level_1 = echo_failures(SpecLevel::One);
    assert_eq!(
        level_1.last(),
        Some(&"tracestate_duplicate_keys_not_propagated"),
        "{level_1:?}"
    );
    assert_eq!(level_1.len(), 19, "{level_1:?}");
}

fn case_at(level: SpecLevel, name: &str) -> Case {
    cases(level)
        .into_iter()
        .find(|c| c.name == name)
        .expect("case exists")
}

#[test]
fn level_2_only_inputs_are_not_sent_at_level_1() {
    let names = |level| -> Vec<&str> { cases(level).iter().map(|c| c.name).collect() };
    let (one, two) = (names(SpecLevel::One), names(SpecLevel::Two));
    for only_2 in [
        "tracestate_at_sign_anywhere_kept",
        "tracestate_tenant_system_split_gone",
        "tracestate_duplicate_keys_keep_the_rest",
        "random_flag_is_propagated",
        "new_trace_sets_random_flag",
    ] {
        assert!(two.contains(&only_2) && !one.contains(&only_2), "{only_2}");
    }
    assert!(one.contains(&"tracestate_duplicate_keys_not_propagated"));
    assert!(!two.contains(&"tracestate_duplicate_keys_not_propagated"));
    assert_eq!((one.len(), two.len()), (30, 36));
}

/// What a service propagated: the case's trace id with `flags`, and `tracestate`.
fn propagated(flags: &str, tracestate: &[&str]) -> Received {
    Received {
        traceparent: vec![format!(
            "00-12345678901234567890123456789012-aaaaaaaaaaaaaaaa-{flags}"
        )],
        tracestate: tracestate.iter().map(|s| (*s).to_owned()).collect(),
    }
}

#[test]
fn the_random_flag_must_be_propagated_and_not_invented() {
    let received = |flags: &str| propagated(flags, &[]);
    let kept = case_at(SpecLevel::Two, "random_flag_is_propagated");
    assert!(judge(&kept, &received("03")).passed);
    let lost = judge(&kept, &received("01"));
    assert!(!lost.passed);
    assert!(
        lost.detail.contains("lacks the random trace-flag"),
        "{}",
        lost.detail
    );

    let not_invented = case_at(SpecLevel::Two, "random_flag_is_not_invented");
    assert!(judge(&not_invented, &received("01")).passed);
    let invented = judge(&not_invented, &received("03"));
    assert!(!invented.passed);
    assert!(
        invented.detail.contains("did not mark random"),
        "{}",
        invented.detail
    );

    let new_trace = case_at(SpecLevel::Two, "new_trace_sets_random_flag");
    let fresh = |flags: &str| Received {
        traceparent: vec![format!("00-{}-aaaaaaaaaaaaaaaa-{flags}", "f".repeat(32))],
        tracestate: vec![],
    };
    assert!(judge(&new_trace, &fresh("03")).passed);
    assert!(!judge(&new_trace, &fresh("01")).passed);
}

#[test]
fn reserved_flags_going_out_fail_at_both_levels() {
    for level in [SpecLevel::One, SpecLevel::Two] {
        let case = case_at(level, "reserved_flags_are_not_propagated");
        let verdict = judge(&case, &propagated("09", &[]));
        assert!(!verdict.passed, "{level}");
        assert!(
            verdict.detail.contains("reserved trace-flags"),
            "{}",
            verdict.detail
        );
    }
}

#[test]
fn a_repeated_key_must_keep_the_rest_and_one_of_its_entries() {
    let case = case_at(SpecLevel::Two, "tracestate_duplicate_keys_keep_the_rest");
    let with = |state: &str| propagated("01", &[state]);
    for kept in [
        "foo=1,bar=2,baz=4",
        "foo=1,bar=2,foo=3,baz=4",
        "bar=2,foo=3,baz=4",
    ] {
        let verdict = judge(&case, &with(kept));
        assert!(verdict.passed, "{kept}: {}", verdict.detail);
    }
    // Level 1's reading: the whole list discarded.
    let dropped = judge(&case, &propagated("01", &[]));
    assert!(!dropped.passed);
    let lost = judge(&case, &with("bar=2,baz=4"));
    assert!(lost.detail.contains("lost `foo`"), "{}", lost.detail);
}

fn case(name: &str) -> Case {
    case_at(SpecLevel::Two, name)
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
    let parse = |s: &str| TraceState::parse_headers(&[s.to_owned()], SpecLevel::One);
    let state = parse(" foo=1 ,, t@v=a b,bar=2\t").expect("valid");
    assert_eq!(state.to_string(), "foo=1,t@v=a b,bar=2");
    assert_eq!(state.len(), 3);
    let bad_key = |key: &str| TraceStateError::BadKey {
        key: key.into(),
        level: SpecLevel::One,
    };
    assert_eq!(parse("FOO=1"), Err(bad_key("FOO")));
    assert_eq!(parse("1foo=1"), Err(bad_key("1foo")));
    assert_eq!(parse("foo@1bar=1"), Err(bad_key("foo@1bar")));
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
        TraceState::parse_headers(&[too_many.join(",")], SpecLevel::Two),
        Err(TraceStateError::TooManyMembers(33))
    );
    assert!(
        TraceState::parse_headers(&[], SpecLevel::Two)
            .expect("no header")
            .is_empty()
    );
}

#[test]
fn level_2_tracestate_grammar() {
    let parse = |s: &str| TraceState::parse_headers(&[s.to_owned()], SpecLevel::Two);
    let long_tenant = format!("{}@v=1", "t".repeat(242));
    for valid in [
        "1foo=1",
        "foo@1bar=1",
        "foo@@bar=1",
        "foo@bar@baz=1",
        "foo@=1",
        "t@vvvvvvvvvvvvvvv=1",
        long_tenant.as_str(),
    ] {
        assert!(parse(valid).is_ok(), "{valid}");
    }
    let repeated = parse("foo=1,bar=2,foo=3").expect("a repeated key is valid at Level 2");
    assert_eq!((repeated.len(), repeated.get("foo")), (3, Some("1")));
    let bad_key = |key: &str| TraceStateError::BadKey {
        key: key.into(),
        level: SpecLevel::Two,
    };
    assert_eq!(parse("@foo=1"), Err(bad_key("@foo")));
    assert_eq!(parse("FOO=1"), Err(bad_key("FOO")));
    let too_long = format!("a{}", "@".repeat(256));
    assert_eq!(parse(&format!("{too_long}=1")), Err(bad_key(&too_long)));
    assert!(
        bad_key("x").to_string().contains("`_-*/@`"),
        "the error names the Level 2 grammar"
    );
}
