//! The cases a trace-context run sends, each pinned to a spec rule: valid,
//! invalid and edge-case `traceparent`/`tracestate` headers, per level.

use super::{Case, RandomExpect, SpecLevel, StateExpect, TraceExpect};

const TRACE_ID: &str = "12345678901234567890123456789012";
const OTHER_TRACE_ID: &str = "abcdefabcdefabcdefabcdefabcdefab";
const PARENT_ID: &str = "1234567890123456";

fn valid(version: &str) -> String {
    format!("{version}-{TRACE_ID}-{PARENT_ID}-01")
}

fn header(name: &str, value: impl Into<String>) -> (String, String) {
    (name.to_owned(), value.into())
}

fn keep() -> TraceExpect {
    TraceExpect::Continue {
        trace_id: TRACE_ID.to_owned(),
    }
}

fn restart() -> TraceExpect {
    TraceExpect::Restart {
        not: vec![TRACE_ID.to_owned(), OTHER_TRACE_ID.to_owned()],
    }
}

fn members(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// A case with no expectation on tracestate or the random flag.
fn case(
    name: &'static str,
    rule: &'static str,
    headers: Vec<(String, String)>,
    trace: TraceExpect,
) -> Case {
    Case {
        name,
        rule,
        headers,
        trace,
        state: StateExpect::Any,
        random: RandomExpect::Any,
        level: SpecLevel::Two,
    }
}

/// A case whose traceparent is invalid: new trace, and the tracestate sent
/// alongside must not be used.
fn invalid(name: &'static str, rule: &'static str, traceparent: String) -> Case {
    Case {
        state: StateExpect::Drops(vec!["foo".into()]),
        ..case(
            name,
            rule,
            vec![
                header("traceparent", traceparent),
                header("tracestate", "foo=1"),
            ],
            restart(),
        )
    }
}

fn with_state(name: &'static str, rule: &'static str, states: &[&str], state: StateExpect) -> Case {
    let mut headers = vec![header("traceparent", valid("00"))];
    headers.extend(states.iter().map(|s| header("tracestate", *s)));
    Case {
        state,
        ..case(name, rule, headers, keep())
    }
}

/// A valid traceparent with `flags` and what must become of the random flag.
fn with_flags(name: &'static str, rule: &'static str, flags: &str, random: RandomExpect) -> Case {
    Case {
        random,
        ..case(
            name,
            rule,
            vec![header(
                "traceparent",
                format!("00-{TRACE_ID}-{PARENT_ID}-{flags}"),
            )],
            keep(),
        )
    }
}

/// Every case of `level`, in the order a run sends them.
pub fn cases(level: SpecLevel) -> Vec<Case> {
    let mut cases = common_cases();
    cases.extend(match level {
        SpecLevel::One => level_1_cases(),
        SpecLevel::Two => level_2_cases(),
    });
    for case in &mut cases {
        case.level = level;
    }
    cases
}

/// The cases whose expectations Level 1 and Level 2 share.
fn common_cases() -> Vec<Case> {
    let many = |n: usize| -> String {
        (1..=n)
            .map(|i| format!("k{i:02}={i}"))
            .collect::<Vec<_>>()
            .join(",")
    };
    let long_key = format!("k{}", "a".repeat(256));
    // As the W3C test suite's `test_tracestate_all_allowed_characters`; the
    // value starts with a space, which belongs to it.
    let key: String = ('a'..='z').chain('0'..='9').chain("_-*/".chars()).collect();
    let value: String = (0x20u8..=0x7e)
        .filter(|c| *c != b',' && *c != b'=')
        .map(char::from)
        .collect();
    let mut cases = vec![
        case(
            "no_context_starts_trace",
            "no traceparent: start a new trace",
            vec![],
            restart(),
        ),
        case(
            "valid_traceparent_keeps_trace_id",
            "valid traceparent: keep the trace id",
            vec![header("traceparent", valid("00"))],
            keep(),
        ),
        with_flags(
            "unsampled_flags_keep_trace_id",
            "trace-flags 00 (not sampled): the trace id is still kept",
            "00",
            RandomExpect::Any,
        ),
        with_flags(
            "reserved_flags_are_not_propagated",
            "trace-flags other than sampled and random are sent as zero",
            "09",
            RandomExpect::Any,
        ),
        case(
            "header_name_is_case_insensitive",
            "header names are case-insensitive",
            vec![header("TraceParent", valid("00"))],
            keep(),
        ),
        case(
            "optional_whitespace_is_accepted",
            "OWS around traceparent is allowed",
            vec![header("traceparent", format!(" \t{} \t", valid("00")))],
            keep(),
        ),
        case(
            "future_version_is_parsed_as_00",
            "higher version: parse the 00 fields",
            vec![header("traceparent", valid("cc"))],
            keep(),
        ),
        case(
            "future_version_with_extra_fields",
            "higher version: ignore `-`-prefixed extra data",
            vec![header(
                "traceparent",
                format!("{}-what-comes-next", valid("cc")),
            )],
            keep(),
        ),
        case(
            "duplicated_traceparent_restarts",
            "two traceparent headers: invalid",
            vec![
                header("traceparent", valid("00")),
                header("traceparent", format!("00-{OTHER_TRACE_ID}-{PARENT_ID}-01")),
            ],
            restart(),
        ),
    ];
    cases.extend([
        invalid("version_ff_restarts", "version ff is invalid", valid("ff")),
        invalid(
            "version_00_with_extra_data_restarts",
            "version 00 is exactly 55 characters",
            format!("{}-extra", valid("00")),
        ),
        invalid(
            "future_version_without_dash_restarts",
            "higher version: extra data starts with `-`",
            format!("{}.extra", valid("cc")),
        ),
        invalid(
            "uppercase_trace_id_restarts",
            "ids are lowercase hex",
            format!("00-{}-{PARENT_ID}-01", TRACE_ID.replace('1', "A")),
        ),
        invalid(
            "zero_trace_id_restarts",
            "all-zero trace id is invalid",
            format!("00-{}-{PARENT_ID}-01", "0".repeat(32)),
        ),
        invalid(
            "zero_parent_id_restarts",
            "all-zero parent id is invalid",
            format!("00-{TRACE_ID}-{}-01", "0".repeat(16)),
        ),
        invalid(
            "short_trace_id_restarts",
            "trace id is 32 hex digits",
            format!("00-{}-{PARENT_ID}-01", &TRACE_ID[..31]),
        ),
        invalid(
            "illegal_characters_restart",
            "ids are hex",
            format!("00-{}-{PARENT_ID}-01", TRACE_ID.replace('9', "x")),
        ),
        invalid(
            "bad_flags_restart",
            "trace-flags are 2 hex digits",
            format!("00-{TRACE_ID}-{PARENT_ID}-0x"),
        ),
    ]);
    cases.extend([
        with_state(
            "tracestate_is_propagated",
            "valid tracestate is propagated",
            &["foo=1,bar=2"],
            StateExpect::Keeps(members(&[("foo", "1"), ("bar", "2")])),
        ),
        with_state(
            "tracestate_headers_are_combined",
            "repeated tracestate headers form one list",
            &["foo=1,bar=2", "rojo=1,congo=2", "baz=3"],
            StateExpect::Keeps(members(&[
                ("foo", "1"),
                ("bar", "2"),
                ("rojo", "1"),
                ("congo", "2"),
                ("baz", "3"),
            ])),
        ),
        with_state(
            "tracestate_optional_whitespace",
            "OWS around list members is allowed",
            &["foo=1 \t , \t bar=2"],
            StateExpect::Keeps(members(&[("foo", "1"), ("bar", "2")])),
        ),
        with_state(
            "tracestate_empty_header_ignored",
            "an empty tracestate does not invalidate traceparent",
            &[""],
            StateExpect::Any,
        ),
        with_state(
            "tracestate_multi_tenant_keys",
            "tenant@system keys are valid",
            &["t1@vendor=x,foo=1"],
            StateExpect::Keeps(members(&[("t1@vendor", "x"), ("foo", "1")])),
        ),
        with_state(
            "tracestate_all_allowed_characters_kept",
            "every key character, and every printable value character but `,` `=`",
            &[&format!("{key}={value},{key}@a-z0-9_-*/={value}")],
            StateExpect::Keeps(vec![
                (key.clone(), value.clone()),
                (format!("{key}@a-z0-9_-*/"), value.clone()),
            ]),
        ),
        with_state(
            "tracestate_32_members_kept",
            "32 members are allowed",
            &[&many(32)],
            StateExpect::Keeps(members(&[("k01", "1"), ("k32", "32")])),
        ),
        with_state(
            "tracestate_33_members_not_exceeded",
            "at most 32 members are propagated",
            &[&many(33)],
            StateExpect::Any,
        ),
        with_state(
            "tracestate_uppercase_key_dropped",
            "keys are lowercase",
            &["FOO=1,bar=2"],
            StateExpect::Drops(vec!["FOO".into()]),
        ),
        with_state(
            "tracestate_key_starting_with_at_dropped",
            "a key starts with a lowercase letter or a digit",
            &["@foo=1,baz=2"],
            StateExpect::Drops(vec!["@foo".into()]),
        ),
        with_state(
            "tracestate_key_too_long_dropped",
            "a simple key is at most 256 characters",
            &[&format!("{long_key}=1,bar=2")],
            StateExpect::Drops(vec![long_key.clone()]),
        ),
    ]);
    cases
}

/// Level 1's rule that Level 2 relaxed without contradicting: a list with a
/// repeated key is invalid, so it must not come back with one.
fn level_1_cases() -> Vec<Case> {
    vec![with_state(
        "tracestate_duplicate_keys_not_propagated",
        "keys are unique (Level 1)",
        &["foo=1,foo=2"],
        StateExpect::Any,
    )]
}

/// What Level 2 changed: the key grammar, repeated keys, the random flag.
fn level_2_cases() -> Vec<Case> {
    let long_tenant = format!("{}@v", "t".repeat(242));
    let long_system = format!("t@{}", "v".repeat(15));
    let at_256 = format!("ab{}", "@b".repeat(127));
    vec![
        with_state(
            "tracestate_at_sign_anywhere_kept",
            "an `@` may stand anywhere after the first character, any number of times",
            &["foo@@bar=1,foo@bar@baz=2,baz@=3,bar=4"],
            StateExpect::Keeps(members(&[
                ("foo@@bar", "1"),
                ("foo@bar@baz", "2"),
                ("baz@", "3"),
                ("bar", "4"),
            ])),
        ),
        with_state(
            "tracestate_tenant_system_split_gone",
            "no 241/14 tenant/system limits, only 256 characters per key",
            &[&format!("{long_tenant}=1,{long_system}=2,{at_256}=3,foo=4")],
            StateExpect::Keeps(members(&[
                (&long_tenant, "1"),
                (&long_system, "2"),
                (&at_256, "3"),
                ("foo", "4"),
            ])),
        ),
        with_state(
            "tracestate_duplicate_keys_keep_the_rest",
            "a repeated key does not invalidate the list; the rest is propagated",
            &["foo=1,bar=2,foo=3", "baz=4"],
            StateExpect::KeepsWithRepeated {
                keeps: members(&[("bar", "2"), ("baz", "4")]),
                key: "foo".into(),
                values: vec!["1".into(), "3".into()],
            },
        ),
        with_flags(
            "random_flag_is_propagated",
            "an incoming random trace-flag is propagated",
            "03",
            RandomExpect::Set,
        ),
        with_flags(
            "random_flag_is_propagated_unsampled",
            "the random trace-flag is propagated when the caller did not sample",
            "02",
            RandomExpect::Set,
        ),
        with_flags(
            "random_flag_is_not_invented",
            "a trace id the caller did not mark random is not marked random",
            "01",
            RandomExpect::Clear,
        ),
        Case {
            random: RandomExpect::Set,
            ..case(
                "new_trace_sets_random_flag",
                "a new trace id generated at random SHOULD carry the random trace-flag",
                vec![],
                restart(),
            )
        },
    ]
}
