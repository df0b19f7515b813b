//! W3C Trace Context (`traceparent`, `tracestate`) and W3C Baggage over `http::HeaderMap`.
//!
//! Injecting and extracting is done by the global `TextMapPropagator` that
//! [`crate::init`] installs from `OTEL_PROPAGATORS`: our
//! [`TraceContextPropagator`] (W3C Trace Context Level 2, see its module for
//! why not the SDK's) and the SDK's `BaggagePropagator`; `none` installs a no-op.
//!
//! Why a validator in front of the propagators: headers arrive as an
//! `http::HeaderMap`, where a name may repeat, and the W3C Trace Context spec
//! (and its test suite) is strict about that: several `traceparent` headers
//! are invalid, several `tracestate` headers form one list, and a `tracestate`
//! with an invalid member, or more than 32, is discarded whole. [`extract`]
//! therefore parses both headers strictly first ([`TraceParent::parse`],
//! [`parse_tracestate`]) and hands the propagator only a canonical
//! `traceparent` (or none) and a validated, combined `tracestate` (or none).
//! An invalid `traceparent` means a new trace, and its `tracestate` is then
//! ignored, as the spec requires.

use std::fmt;

use http::HeaderMap;
use http::header::HeaderValue;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::{SpanId, TraceContextExt, TraceFlags, TraceId};
use opentelemetry::{Context, global};
use tracing_opentelemetry::OpenTelemetrySpanExt;

mod trace_context;

pub use trace_context::{RANDOM_TRACE_ID, TraceContextPropagator};

const TRACEPARENT: &str = "traceparent";
const TRACESTATE: &str = "tracestate";
const BAGGAGE: &str = "baggage";

/// Length of a version-00 `traceparent`: `vv-<32>-<16>-ff`.
const TRACEPARENT_V00_LEN: usize = 55;
/// The spec's limit on `tracestate` list-members.
pub const MAX_TRACESTATE_MEMBERS: usize = 32;

/// Extracts the remote span context and baggage from `headers` with the global
/// propagator. An invalid or ambiguous `traceparent` yields a context without a
/// remote span (a new trace starts); an invalid `tracestate` is dropped while a
/// valid `traceparent` is still honoured.
pub fn extract(headers: &HeaderMap) -> Context {
    global::get_text_map_propagator(|propagator| extract_with(propagator, headers))
}

/// [`extract`] with an explicit propagator (tests and benches use this to avoid
/// the process-wide global).
///
/// Extraction starts from an empty context, not `Context::current()`: what a
/// request carries must not mix with whatever span is current in this process.
pub fn extract_with(propagator: &dyn TextMapPropagator, headers: &HeaderMap) -> Context {
    propagator.extract_with_context(&Context::new(), &StrictCarrier::new(headers))
}

/// Injects the span context of `cx` (and its baggage) into `headers` with the
/// global propagator. Nothing is written for a context without a valid span;
/// an empty `tracestate` is not sent (the spec says vendors SHOULD avoid it).
pub fn inject(cx: &Context, headers: &mut HeaderMap) {
    global::get_text_map_propagator(|propagator| inject_with(propagator, cx, headers));
}

/// [`inject`] with an explicit propagator.
pub fn inject_with(propagator: &dyn TextMapPropagator, cx: &Context, headers: &mut HeaderMap) {
    propagator.inject_context(cx, &mut HeaderInjector(headers));
    if headers.get(TRACESTATE).is_some_and(|v| v.is_empty()) {
        headers.remove(TRACESTATE);
    }
}

/// Injects the context of the current `tracing` span (falling back to the
/// current OpenTelemetry context when that span is not bridged to OTel).
pub fn inject_current(headers: &mut HeaderMap) {
    inject(&current_context(), headers);
}

/// The OpenTelemetry context of `tracing::Span::current()`, or
/// `Context::current()` when the current span carries none.
pub(crate) fn current_context() -> Context {
    let cx = tracing::Span::current().context();
    if cx.span().span_context().is_valid() {
        cx
    } else {
        Context::current()
    }
}

/// A `traceparent` that passed strict W3C validation, downgraded to version 00.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceParent {
    pub trace_id: TraceId,
    pub parent_id: SpanId,
    pub flags: TraceFlags,
}

/// Why a `traceparent` value was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TraceParentError {
    #[error("traceparent: {count} headers received, exactly one is allowed")]
    Multiple { count: usize },
    #[error("traceparent is not visible ASCII")]
    NotAscii,
    #[error("traceparent {0:?}: version must be 2 lowercase hex digits followed by '-'")]
    Version(String),
    #[error("traceparent {0:?}: version ff is forbidden")]
    ForbiddenVersion(String),
    #[error("traceparent {value:?}: version {version} requires {expected}, got {len} characters")]
    Length {
        value: String,
        version: String,
        expected: &'static str,
        len: usize,
    },
    #[error("traceparent {0:?}: trace-id must be 32 lowercase hex digits, not all zero")]
    TraceId(String),
    #[error("traceparent {0:?}: parent-id must be 16 lowercase hex digits, not all zero")]
    ParentId(String),
    #[error("traceparent {0:?}: trace-flags must be 2 lowercase hex digits")]
    Flags(String),
    #[error("traceparent {0:?}: fields must be separated by '-'")]
    Separator(String),
}

impl TraceParent {
    /// Parses one `traceparent` value per W3C Trace Context Level 2 §3.2
    /// (surrounding spaces/tabs are optional whitespace and ignored). The
    /// flags are kept as received; [`Display`](fmt::Display) and the
    /// propagator pass on only those version 00 defines.
    pub fn parse(value: &str) -> Result<Self, TraceParentError> {
        let v = value.trim_matches([' ', '\t']);
        let b = v.as_bytes();
        let version_ok = b.len() >= 3 && is_lower_hex(&b[..2]) && b[2] == b'-';
        if !version_ok {
            return Err(TraceParentError::Version(v.to_owned()));
        }
        let version = &v[..2];
        if version == "ff" {
            return Err(TraceParentError::ForbiddenVersion(v.to_owned()));
        }
        if version == "00" && b.len() != TRACEPARENT_V00_LEN {
            return Err(TraceParentError::Length {
                value: v.to_owned(),
                version: version.to_owned(),
                expected: "exactly 55",
                len: b.len(),
            });
        }
        // Higher versions are additive: at least 55 characters, and anything
        // after the flags must start with '-'.
        if b.len() < TRACEPARENT_V00_LEN {
            return Err(TraceParentError::Length {
                value: v.to_owned(),
                version: version.to_owned(),
                expected: "at least 55",
                len: b.len(),
            });
        }
        if b[35] != b'-' || b[52] != b'-' {
            return Err(TraceParentError::Separator(v.to_owned()));
        }
        if b.len() > TRACEPARENT_V00_LEN && b[TRACEPARENT_V00_LEN] != b'-' {
            return Err(TraceParentError::Flags(v.to_owned()));
        }
        let (trace_hex, parent_hex, flags_hex) = (&b[3..35], &b[36..52], &b[53..55]);
        if !is_lower_hex(trace_hex) || trace_hex.iter().all(|&c| c == b'0') {
            return Err(TraceParentError::TraceId(v.to_owned()));
        }
        if !is_lower_hex(parent_hex) || parent_hex.iter().all(|&c| c == b'0') {
            return Err(TraceParentError::ParentId(v.to_owned()));
        }
        if !is_lower_hex(flags_hex) {
            return Err(TraceParentError::Flags(v.to_owned()));
        }
        // The slices are validated lowercase hex of the exact width, so these
        // conversions cannot fail; map defensively instead of unwrapping.
        let trace_id =
            TraceId::from_hex(&v[3..35]).map_err(|_| TraceParentError::TraceId(v.to_owned()))?;
        let parent_id =
            SpanId::from_hex(&v[36..52]).map_err(|_| TraceParentError::ParentId(v.to_owned()))?;
        let flags = u8::from_str_radix(&v[53..55], 16)
            .map_err(|_| TraceParentError::Flags(v.to_owned()))?;
        Ok(TraceParent {
            trace_id,
            parent_id,
            flags: TraceFlags::new(flags),
        })
    }

    /// Parses the `traceparent` header(s) of a request: more than one is invalid.
    pub fn from_headers(headers: &HeaderMap) -> Result<Option<Self>, TraceParentError> {
        let mut values = headers.get_all(TRACEPARENT).iter();
        let Some(first) = values.next() else {
            return Ok(None);
        };
        let rest = values.count();
        if rest > 0 {
            return Err(TraceParentError::Multiple { count: rest + 1 });
        }
        let text = first.to_str().map_err(|_| TraceParentError::NotAscii)?;
        Self::parse(text).map(Some)
    }
}

impl fmt::Display for TraceParent {
    /// The canonical version-00 form; only flag bits defined by version 00
    /// (sampled, random) are kept.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "00-{}-{}-{:02x}",
            self.trace_id,
            self.parent_id,
            self.flags.to_u8() & trace_context::KNOWN_FLAGS
        )
    }
}

fn is_lower_hex(bytes: &[u8]) -> bool {
    bytes.iter().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
}

/// Why a (combined) `tracestate` was discarded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TraceStateError {
    #[error("tracestate has more than 32 list-members")]
    TooManyMembers,
    #[error("tracestate list-member {0:?} has no '='")]
    MissingEquals(String),
    #[error(
        "tracestate key {0:?} is invalid: expected 1 to 256 lowercase letters, digits, '_', '-', '*', '/' \
         or '@', starting with a letter or digit"
    )]
    Key(String),
    #[error(
        "tracestate value for key {0:?} is invalid: expected 1..=256 printable ASCII characters without ',' or '=', not ending in a space"
    )]
    Value(String),
}

/// Parses and validates a `tracestate` given as one or more header values
/// (combined with commas, in order). Empty and whitespace-only list-members are
/// allowed and skipped. Any invalid member or more than 32 members makes the
/// whole `tracestate` invalid (W3C test suite, strict level 2). A repeated key
/// is not (Level 2: a receiver may keep the entries or all but one): the
/// first, left-most entry is kept, as the latest position of that vendor, and
/// later ones are dropped while the rest of the list is propagated.
pub fn parse_tracestate<'a>(
    values: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<(&'a str, &'a str)>, TraceStateError> {
    let mut members: Vec<(&str, &str)> = Vec::new();
    let mut count = 0;
    for value in values {
        for member in value.split(',') {
            let member = member.trim_matches([' ', '\t']);
            if member.is_empty() {
                continue;
            }
            let (key, val) = member
                .split_once('=')
                .ok_or_else(|| TraceStateError::MissingEquals(member.to_owned()))?;
            if !valid_key(key) {
                return Err(TraceStateError::Key(key.to_owned()));
            }
            if !valid_value(val) {
                return Err(TraceStateError::Value(key.to_owned()));
            }
            // The limit counts list-members as sent, duplicates included.
            count += 1;
            if count > MAX_TRACESTATE_MEMBERS {
                return Err(TraceStateError::TooManyMembers);
            }
            if !members.iter().any(|(k, _)| *k == key) {
                members.push((key, val));
            }
        }
    }
    Ok(members)
}

/// `key = ( lcalpha / DIGIT ) 0*255 ( keychar )`, `keychar = lcalpha / DIGIT /
/// "_" / "-" / "*" / "/" / "@"` (W3C Trace Context Level 2 §3.3.1.3.1): an `@`
/// may stand anywhere after the first character, any number of times; Level
/// 1's `tenant@system` split (241/14) is gone.
fn valid_key(key: &str) -> bool {
    let b = key.as_bytes();
    (1..=256).contains(&b.len())
        && matches!(b[0], b'a'..=b'z' | b'0'..=b'9')
        && b.iter()
            .all(|&c| matches!(c, b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-' | b'*' | b'/' | b'@'))
}

/// `value = 0*255(chr) nblk-chr`: printable ASCII except ',' and '=', not ending
/// in a space. Spaces right after '=' belong to the value and are kept; those
/// after it were trimmed with the member as optional whitespace.
fn valid_value(value: &str) -> bool {
    let b = value.as_bytes();
    (1..=256).contains(&b.len())
        && b.iter()
            .all(|&c| (0x20..=0x7e).contains(&c) && c != b',' && c != b'=')
        && b[b.len() - 1] != b' '
}

/// The carrier the propagator sees: strict `traceparent`/`tracestate` results,
/// combined `baggage`, every other header as is.
struct StrictCarrier<'a> {
    headers: &'a HeaderMap,
    traceparent: Option<String>,
    tracestate: Option<String>,
    baggage: Option<String>,
}

impl<'a> StrictCarrier<'a> {
    fn new(headers: &'a HeaderMap) -> Self {
        let traceparent = TraceParent::from_headers(headers).ok().flatten();
        // The spec forbids parsing tracestate when traceparent failed.
        let tracestate = traceparent.and_then(|_| {
            let values: Option<Vec<&str>> = headers
                .get_all(TRACESTATE)
                .iter()
                .map(|v| v.to_str().ok())
                .collect();
            let members = parse_tracestate(values?).ok()?;
            (!members.is_empty()).then(|| join_members(&members))
        });
        let baggage = combine(headers, BAGGAGE);
        StrictCarrier {
            headers,
            traceparent: traceparent.map(|tp| tp.to_string()),
            tracestate,
            baggage,
        }
    }
}

fn join_members(members: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (i, (k, v)) in members.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    out
}

/// Joins repeated header fields with commas (RFC 9110 §5.3); `None` when there
/// is at most one (the carrier then reads the single value directly).
fn combine(headers: &HeaderMap, name: &str) -> Option<String> {
    let all = headers.get_all(name);
    let mut iter = all.iter();
    iter.next()?;
    iter.next()?;
    let parts: Vec<&str> = all.iter().filter_map(|v| v.to_str().ok()).collect();
    Some(parts.join(","))
}

impl Extractor for StrictCarrier<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        match key {
            TRACEPARENT => self.traceparent.as_deref(),
            TRACESTATE => self.tracestate.as_deref(),
            BAGGAGE if self.baggage.is_some() => self.baggage.as_deref(),
            _ => self.headers.get(key).and_then(|v| v.to_str().ok()),
        }
    }

    fn keys(&self) -> Vec<&str> {
        self.headers.keys().map(|k| k.as_str()).collect()
    }
}

struct HeaderInjector<'a>(&'a mut HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        let (Ok(name), Ok(value)) = (
            http::header::HeaderName::from_bytes(key.as_bytes()),
            HeaderValue::from_str(&value),
        ) else {
            return;
        };
        self.0.insert(name, value);
    }
}
