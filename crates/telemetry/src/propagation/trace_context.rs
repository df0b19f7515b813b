//! Our W3C Trace Context Level 2 `TextMapPropagator`, in place of the SDK's.
//!
//! Why not `opentelemetry_sdk`'s `TraceContextPropagator`: 0.33 masks
//! trace-flags to the sampled bit both ways, so Level 2's `random` flag
//! (0x02) can neither be received nor sent; and `TraceState` only holds keys
//! of Level 1's `tenant@system` form (one `@`, a system id of at most 13
//! characters), so a Level 2 key such as `foo@bar@baz` would make the SDK
//! drop the whole list.
//!
//! What the SDK cannot carry travels in a [`RemoteParent`] value beside the
//! remote span context in the extracted `Context`: every context the server
//! layer, `tracing` spans and the SDK derive from it keeps that value, so
//! [`inject_context`](TextMapPropagator::inject_context) finds it again.

use std::sync::OnceLock;

use opentelemetry::Context;
use opentelemetry::propagation::text_map_propagator::FieldIter;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::{SpanContext, TraceContextExt, TraceFlags, TraceId, TraceState};

use super::{TRACEPARENT, TRACESTATE, TraceParent, join_members, parse_tracestate};

/// Level 2's random trace-id flag: the right-most 7 bytes of the trace id
/// were generated randomly.
pub const RANDOM_TRACE_ID: TraceFlags = TraceFlags::new(0x02);

/// The flags version 00 defines (sampled, random); the rest MUST be zero.
pub(super) const KNOWN_FLAGS: u8 = 0x03;

/// `traceparent`/`tracestate` per W3C Trace Context Level 2, strict on
/// extraction (the rules of [`TraceParent::parse`] and [`parse_tracestate`]).
///
/// The random flag goes out set when the incoming parent of this trace had
/// it, or when the trace id is ours: a local span whose trace did not come
/// from a context this propagator extracted was started as a root, and the
/// SDK's default `RandomIdGenerator` (the only one `init` installs) draws all
/// 16 bytes at random. A remote parent put into a `Context` by other means
/// than [`extract`](TextMapPropagator::extract_with_context) keeps its own
/// flags when passed on as is; a local child of such a context would be
/// taken for ours, so remote contexts enter through [`crate::propagation::extract`].
#[derive(Debug, Default)]
pub struct TraceContextPropagator {
    _private: (),
}

impl TraceContextPropagator {
    pub fn new() -> Self {
        Self::default()
    }
}

/// What extraction learned about the remote parent that the SDK's
/// `SpanContext` does not keep for its children.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RemoteParent {
    trace_id: TraceId,
    random: bool,
    /// The validated `tracestate` when `TraceState` cannot represent it.
    tracestate: Option<String>,
}

fn fields() -> &'static [String; 2] {
    static FIELDS: OnceLock<[String; 2]> = OnceLock::new();
    FIELDS.get_or_init(|| [TRACEPARENT.to_owned(), TRACESTATE.to_owned()])
}

impl TextMapPropagator for TraceContextPropagator {
    fn inject_context(&self, cx: &Context, injector: &mut dyn Injector) {
        let span = cx.span();
        let sc = span.span_context();
        if !sc.is_valid() {
            return;
        }
        let remote = cx
            .get::<RemoteParent>()
            .filter(|r| r.trace_id == sc.trace_id());
        let mut flags = sc.trace_flags().to_u8() & KNOWN_FLAGS;
        if is_random(sc, remote) {
            flags |= RANDOM_TRACE_ID.to_u8();
        }
        injector.set(
            TRACEPARENT,
            format!("00-{}-{}-{flags:02x}", sc.trace_id(), sc.span_id()),
        );
        // Always set, as the SDK's propagator does; `inject_with` drops an
        // empty one from the headers (vendors SHOULD avoid sending it).
        let state = sc.trace_state().header();
        let state = match remote.and_then(|r| r.tracestate.as_deref()) {
            Some(raw) if state.is_empty() => raw.to_owned(),
            _ => state,
        };
        injector.set(TRACESTATE, state);
    }

    fn extract_with_context(&self, cx: &Context, extractor: &dyn Extractor) -> Context {
        let Some(parent) = extractor
            .get(TRACEPARENT)
            .and_then(|v| TraceParent::parse(v).ok())
        else {
            return cx.clone();
        };
        let members = extractor
            .get(TRACESTATE)
            .and_then(|v| parse_tracestate([v]).ok())
            .unwrap_or_default();
        let (trace_state, raw) = match TraceState::from_key_value(members.iter().copied()) {
            Ok(state) => (state, None),
            Err(_) => (TraceState::default(), Some(join_members(&members))),
        };
        let flags = TraceFlags::new(parent.flags.to_u8() & KNOWN_FLAGS);
        let sc = SpanContext::new(parent.trace_id, parent.parent_id, flags, true, trace_state);
        cx.with_remote_span_context(sc).with_value(RemoteParent {
            trace_id: parent.trace_id,
            random: flags.to_u8() & RANDOM_TRACE_ID.to_u8() != 0,
            tracestate: raw,
        })
    }

    fn fields(&self) -> FieldIter<'_> {
        FieldIter::new(fields())
    }
}

/// Whether the trace id of `sc` is random in the Level 2 sense (see
/// [`TraceContextPropagator`]). The SDK keeps a parent's flags on sampled
/// children but resets them on unsampled ones, so the extracted parent's
/// flag is the one that counts for its trace.
fn is_random(sc: &SpanContext, remote: Option<&RemoteParent>) -> bool {
    match remote {
        Some(remote) => remote.random,
        None if sc.is_remote() => sc.trace_flags().to_u8() & RANDOM_TRACE_ID.to_u8() != 0,
        None => true,
    }
}
