//! The cases a trace-context run sends, each pinned to a spec rule: valid,
//! invalid and edge-case `traceparent`/`tracestate` headers.

use super::{Case, StateExpect, TraceExpect};

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

/// A case whose traceparent is invalid: new trace, and the tracestate sent
/// alongside must not be used.
fn invalid(name: &'static str, rule: &'static str, traceparent: String) -> Case {
    Case {
        name,
        rule,
        headers: vec![
            header("traceparent", traceparent),
            header("tracestate", "foo=1"),
        ],
        trace: restart(),
        state: StateExpect::Drops(vec!["foo".into()]),
    }
}

fn with_state(name: &'static str, rule: &'static str, states: &[&str], state: StateExpect) -> Case {
    let mut headers = vec![header("traceparent", valid("00"))];
    headers.extend(states.iter().map(|s| header("tracestate", *s)));
    Case {
        name,
        rule,
        headers,
        trace: keep(),
        state,
    }
}

/// Every case, in the order a run sends them.
pub fn cases() -> Vec<Case> {
    let many = |n: usize| -> String {
        (1..=n)
            .map(|i| format!("k{i:02}={i}"))
            .collect::<Vec<_>>()
            .join(",")
    };
    let long_key = format!("k{}", "a".repeat(256));
    let mut cases = vec![
        Case {
            name: "no_context_starts_trace",
            rule: "no traceparent: start a new trace",
            headers: vec![],
            trace: restart(),
            state: StateExpect::Any,
        },
        Case {
            name: "valid_traceparent_keeps_trace_id",
            rule: "valid traceparent: keep the trace id",
            headers: vec![header("traceparent", valid("00"))],
            trace: keep(),
            state: StateExpect::Any,
        },
        Case {
            name: "unsampled_flags_keep_trace_id",
            rule: "trace-flags 00 (not sampled): the trace id is still kept",
            headers: vec![header(
                "traceparent",
                format!("00-{TRACE_ID}-{PARENT_ID}-00"),
            )],
            trace: keep(),
            state: StateExpect::Any,
        },
        Case {
            name: "header_name_is_case_insensitive",
            rule: "header names are case-insensitive",
            headers: vec![header("TraceParent", valid("00"))],
            trace: keep(),
            state: StateExpect::Any,
        },
        Case {
            name: "optional_whitespace_is_accepted",
            rule: "OWS around traceparent is allowed",
            headers: vec![header("traceparent", format!(" \t{} \t", valid("00")))],
            trace: keep(),
            state: StateExpect::Any,
        },
        Case {
            name: "future_version_is_parsed_as_00",
            rule: "higher version: parse the 00 fields",
            headers: vec![header("traceparent", valid("cc"))],
            trace: keep(),
            state: StateExpect::Any,
        },
        Case {
            name: "future_version_with_extra_fields",
            rule: "higher version: ignore `-`-prefixed extra data",
            headers: vec![header(
                "traceparent",
                format!("{}-what-comes-next", valid("cc")),
            )],
            trace: keep(),
            state: StateExpect::Any,
        },
        Case {
            name: "duplicated_traceparent_restarts",
            rule: "two traceparent headers: invalid",
            headers: vec![
                header("traceparent", valid("00")),
                header("traceparent", format!("00-{OTHER_TRACE_ID}-{PARENT_ID}-01")),
            ],
            trace: restart(),
            state: StateExpect::Any,
        },
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
            "tracestate_bad_vendor_key_dropped",
            "at most one `@`, system id starts with a letter",
            &["foo@@bar=1,baz=2"],
            StateExpect::Drops(vec!["foo@@bar".into()]),
        ),
        with_state(
            "tracestate_key_too_long_dropped",
            "a simple key is at most 256 characters",
            &[&format!("{long_key}=1,bar=2")],
            StateExpect::Drops(vec![long_key.clone()]),
        ),
        with_state(
            "tracestate_duplicate_keys_not_propagated",
            "keys are unique",
            &["foo=1,foo=2"],
            StateExpect::Any,
        ),
    ]);
    cases
}
