//! `check trace-context`: a black-box W3C Trace Context check. The driver
//! ([`run_trace_context`]) sends each [`Case`]'s headers to a service
//! speaking the W3C test-service protocol and collects the
//! `traceparent`/`tracestate` headers the service propagates back; [`judge`]
//! decides pass or fail from the spec (W3C Trace Context Level 1/2).
//!
//! The header parsing here is written from the spec on purpose rather than
//! borrowed from `opentelemetry`'s propagator: the services under test use
//! that propagator, and a check that shares their code agrees with their bugs.

mod cases;
mod driver;
mod header;

pub use cases::cases;
pub use driver::{
    DEFAULT_CASE_TIMEOUT, TraceContextError, TraceContextOptions, TraceContextReport,
    run_trace_context,
};
pub use header::{TraceParent, TraceParentError, TraceState, TraceStateError};

/// What the service must do with the trace id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TraceExpect {
    /// Valid input: the propagated traceparent keeps this trace id.
    Continue { trace_id: String },
    /// Invalid (or absent) input: a new trace id, none of these.
    Restart { not: Vec<String> },
}

/// What the service must do with `tracestate`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateExpect {
    /// No constraint beyond validity of what is propagated.
    Any,
    /// These `key=value` members are propagated, in this relative order
    /// (a vendor may add its own in front).
    Keeps(Vec<(String, String)>),
    /// None of these keys may be propagated (invalid header, or invalid
    /// traceparent, after which tracestate must not be used).
    Drops(Vec<String>),
}

/// One request of the test protocol: headers to send, and what must come back.
#[derive(Debug, Clone)]
pub struct Case {
    pub name: &'static str,
    /// The spec rule the case pins, for the report.
    pub rule: &'static str,
    /// Header (name as sent, value), in order; repeated names are sent twice.
    pub headers: Vec<(String, String)>,
    pub trace: TraceExpect,
    pub state: StateExpect,
}

/// The context headers the service propagated (every occurrence, in order).
#[derive(Debug, Clone, Default)]
pub struct Received {
    pub traceparent: Vec<String>,
    pub tracestate: Vec<String>,
}

impl Received {
    /// Collects `traceparent`/`tracestate` from header pairs, names
    /// case-insensitively (HTTP header names are).
    pub fn from_headers<'a>(headers: impl IntoIterator<Item = (&'a str, &'a str)>) -> Received {
        let mut received = Received::default();
        for (name, value) in headers {
            if name.eq_ignore_ascii_case("traceparent") {
                received.traceparent.push(value.to_owned());
            } else if name.eq_ignore_ascii_case("tracestate") {
                received.tracestate.push(value.to_owned());
            }
        }
        received
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Verdict {
    pub case: &'static str,
    pub rule: &'static str,
    pub passed: bool,
    /// Why it failed, or what was observed when it passed.
    pub detail: String,
}

/// Judges what the service propagated for `case`.
pub fn judge(case: &Case, received: &Received) -> Verdict {
    let verdict = |passed, detail: String| Verdict {
        case: case.name,
        rule: case.rule,
        passed,
        detail,
    };
    let parent = match received.traceparent.as_slice() {
        [one] => match TraceParent::parse(one) {
            // What a service sends is judged strictly: it writes version 00.
            Ok(parent) if parent.version == 0 => parent,
            Ok(parent) => {
                return verdict(
                    false,
                    format!(
                        "propagated traceparent has version {:02x}, expected 00",
                        parent.version
                    ),
                );
            }
            Err(err) => {
                return verdict(
                    false,
                    format!("propagated traceparent \"{one}\" is invalid: {err}"),
                );
            }
        },
        [] => return verdict(false, "no traceparent was propagated".into()),
        many => {
            return verdict(
                false,
                format!(
                    "{} traceparent headers were propagated; expected one",
                    many.len()
                ),
            );
        }
    };
    let trace_id = parent.trace_id_hex();
    match &case.trace {
        TraceExpect::Continue { trace_id: expected } if *expected != trace_id => {
            return verdict(
                false,
                format!("trace id {trace_id} propagated; the valid input {expected} must be kept"),
            );
        }
        TraceExpect::Restart { not } if not.contains(&trace_id) => {
            return verdict(
                false,
                format!(
                    "trace id {trace_id} was reused from invalid input; a new trace must start"
                ),
            );
        }
        _ => {}
    }
    let state = match TraceState::parse_headers(&received.tracestate) {
        Ok(state) => state,
        Err(err) => return verdict(false, format!("propagated tracestate is invalid: {err}")),
    };
    match &case.state {
        StateExpect::Any => {}
        StateExpect::Keeps(members) => {
            if !state.contains_in_order(members) {
                return verdict(
                    false,
                    format!(
                        "tracestate \"{}\" does not carry {} in order",
                        state,
                        members
                            .iter()
                            .map(|(k, v)| format!("{k}={v}"))
                            .collect::<Vec<_>>()
                            .join(",")
                    ),
                );
            }
        }
        StateExpect::Drops(keys) => {
            if let Some(key) = keys.iter().find(|k| state.get(k).is_some()) {
                return verdict(
                    false,
                    format!(
                        "tracestate \"{state}\" still carries `{key}`, which had to be dropped"
                    ),
                );
            }
        }
    }
    verdict(
        true,
        format!("traceparent {parent}, tracestate \"{state}\""),
    )
}

#[cfg(test)]
mod tests;
