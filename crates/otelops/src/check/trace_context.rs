//! `check trace-context`: a black-box W3C Trace Context check. The driver
//! ([`run_trace_context`]) sends each [`Case`]'s headers to a service
//! speaking the W3C test-service protocol and collects the
//! `traceparent`/`tracestate` headers the service propagates back; [`judge`]
//! decides pass or fail from the spec, at the [`SpecLevel`] asked for.
//!
//! Level 2 (the default) is the current specification: `@` anywhere in a
//! `tracestate` key after its first character, repeated keys allowed, and
//! the `random` trace-flag. Level 1 runs the cases both levels agree on and
//! Level 1's own rule on repeated keys, and judges what comes back by Level
//! 1's grammar; inputs that only Level 1 calls invalid (`foo@@bar`, a
//! 242-character tenant id) are not sent, because Level 2 requires them to
//! be propagated and a Level 2 service is a valid peer of a Level 1 one.
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

/// Which W3C Trace Context recommendation a run checks against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub enum SpecLevel {
    #[serde(rename = "1")]
    One,
    #[default]
    #[serde(rename = "2")]
    Two,
}

impl SpecLevel {
    fn key_grammar(self) -> &'static str {
        match self {
            SpecLevel::One => "lowercase, digits, `_-*/`, optional tenant@system of 241/14",
            SpecLevel::Two => "lowercase, digits, `_-*/@`, first a letter or digit, at most 256",
        }
    }
}

impl std::fmt::Display for SpecLevel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SpecLevel::One => "Level 1",
            SpecLevel::Two => "Level 2",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("trace context level {0:?}: expected 1 or 2")]
pub struct SpecLevelError(String);

impl std::str::FromStr for SpecLevel {
    type Err = SpecLevelError;

    fn from_str(s: &str) -> Result<SpecLevel, SpecLevelError> {
        match s {
            "1" => Ok(SpecLevel::One),
            "2" => Ok(SpecLevel::Two),
            other => Err(SpecLevelError(other.to_owned())),
        }
    }
}

/// Trace-flag bits version 00 reserves: they MUST go out as zero. (Level 1
/// reserves 0x02 as well; it is not checked there, because a Level 2
/// service sets it as the random flag and a Level 1 receiver ignores it.)
const RESERVED_FLAGS: u8 = 0xfc;
/// Level 2's random trace-id flag.
const RANDOM_FLAG: u8 = 0x02;

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
    /// Level 2's repeated key: `keeps` are propagated in order, and `key`
    /// with one of `values` (a receiver keeps the entries or all but one).
    KeepsWithRepeated {
        keeps: Vec<(String, String)>,
        key: String,
        values: Vec<String>,
    },
}

/// What the service must do with the `random` trace-flag (Level 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RandomExpect {
    Any,
    /// Propagated from the caller, or set on a new random trace id.
    Set,
    /// The caller's trace id was not marked random; it must not become so.
    Clear,
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
    pub random: RandomExpect,
    /// The level whose grammar judges what the service propagates.
    pub level: SpecLevel,
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
    if parent.flags & RESERVED_FLAGS != 0 {
        return verdict(
            false,
            format!("propagated traceparent {parent} sets reserved trace-flags; they must be zero"),
        );
    }
    let random = parent.flags & RANDOM_FLAG != 0;
    match case.random {
        RandomExpect::Set if !random => {
            return verdict(
                false,
                format!("propagated traceparent {parent} lacks the random trace-flag (02)"),
            );
        }
        RandomExpect::Clear if random => {
            return verdict(
                false,
                format!(
                    "propagated traceparent {parent} sets the random trace-flag (02) on a trace id the caller did not mark random"
                ),
            );
        }
        _ => {}
    }
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
    let state = match TraceState::parse_headers(&received.tracestate, case.level) {
        Ok(state) => state,
        Err(err) => return verdict(false, format!("propagated tracestate is invalid: {err}")),
    };
    match &case.state {
        StateExpect::Any => {}
        StateExpect::Keeps(members) => {
            if !state.contains_in_order(members) {
                return verdict(false, not_in_order(&state, members));
            }
        }
        StateExpect::KeepsWithRepeated { keeps, key, values } => {
            if !state.contains_in_order(keeps) {
                return verdict(false, not_in_order(&state, keeps));
            }
            if !state
                .get(key)
                .is_some_and(|v| values.iter().any(|w| w == v))
            {
                return verdict(
                    false,
                    format!(
                        "tracestate \"{state}\" lost `{key}`: a repeated key is valid at Level 2, keep its entries or one of them"
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

fn not_in_order(state: &TraceState, members: &[(String, String)]) -> String {
    format!(
        "tracestate \"{}\" does not carry {} in order",
        state,
        members
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(",")
    )
}

#[cfg(test)]
mod tests;
