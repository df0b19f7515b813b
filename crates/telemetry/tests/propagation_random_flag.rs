//! W3C Trace Context Level 2's `random` trace-flag (0x02) on what we inject:
//! set on traces whose id our SDK generated, propagated from a caller that
//! set it (sampled or not), never added to a caller's trace id that lacked it.

use http::{HeaderMap, HeaderValue};
use opentelemetry::Context;
use opentelemetry::trace::{TraceContextExt, Tracer, TracerProvider as _};
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
use parker_telemetry::propagation::{
    self, RANDOM_TRACE_ID, TraceContextPropagator, extract_with, inject_with,
};
use parker_telemetry::testing::Capture;

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT: &str = "00f067aa0ba902b7";

fn provider(sampler: Sampler) -> SdkTracerProvider {
    SdkTracerProvider::builder().with_sampler(sampler).build()
}

fn incoming(flags: &str, tracestate: Option<&str>) -> Context {
    let mut map = HeaderMap::new();
    let traceparent = format!("00-{TRACE}-{PARENT}-{flags}");
    map.insert("traceparent", HeaderValue::from_str(&traceparent).unwrap());
    if let Some(state) = tracestate {
        map.insert("tracestate", HeaderValue::from_str(state).unwrap());
    }
    extract_with(&TraceContextPropagator::new(), &map)
}

/// The `traceparent`/`tracestate` a span started under `parent` sends on.
fn outgoing(provider: &SdkTracerProvider, parent: &Context) -> (String, Option<String>) {
    let span = provider.tracer("test").start_with_context("call", parent);
    let cx = parent.with_span(span);
    let mut out = HeaderMap::new();
    inject_with(&TraceContextPropagator::new(), &cx, &mut out);
    let header = |name| {
        out.get(name)
            .map(|v: &HeaderValue| v.to_str().unwrap().to_owned())
    };
    (
        header("traceparent").expect("a traceparent"),
        header("tracestate"),
    )
}

fn flags(traceparent: &str) -> u8 {
    u8::from_str_radix(&traceparent[53..55], 16).unwrap()
}

#[test]
fn a_root_span_we_start_sends_the_random_flag() {
    for (sampler, expected) in [(Sampler::AlwaysOn, 0x03), (Sampler::AlwaysOff, 0x02)] {
        let (traceparent, _) = outgoing(&provider(sampler), &Context::new());
        assert_eq!(flags(&traceparent), expected, "{traceparent}");
    }
}

#[test]
fn an_incoming_random_flag_is_kept_sampled_or_not() {
    let parent_based = provider(Sampler::ParentBased(Box::new(Sampler::AlwaysOn)));
    for incoming_flags in ["03", "02"] {
        let (traceparent, _) = outgoing(&parent_based, &incoming(incoming_flags, None));
        assert!(
            traceparent.starts_with(&format!("00-{TRACE}-")),
            "{traceparent}"
        );
        assert!(
            !traceparent.contains(PARENT),
            "a new parent id: {traceparent}"
        );
        // The SDK resets the flags of an unsampled child to 00; the random
        // flag still belongs to the trace id and goes on.
        assert_eq!(
            traceparent[53..],
            *incoming_flags,
            "incoming {incoming_flags}: {traceparent}"
        );
    }
}

#[test]
fn a_caller_trace_id_without_the_random_flag_does_not_gain_it() {
    for sampler in [
        Sampler::AlwaysOn,
        Sampler::ParentBased(Box::new(Sampler::AlwaysOn)),
    ] {
        let provider = provider(sampler);
        for incoming_flags in ["01", "00"] {
            let (traceparent, _) = outgoing(&provider, &incoming(incoming_flags, None));
            assert_eq!(
                flags(&traceparent) & RANDOM_TRACE_ID.to_u8(),
                0,
                "incoming {incoming_flags}: {traceparent}"
            );
        }
    }
}

#[test]
fn level_2_tracestate_keys_reach_the_outgoing_call() {
    let state = "foo@@bar=1,t@vvvvvvvvvvvvvvv=2,baz=3";
    let (_, tracestate) = outgoing(&provider(Sampler::AlwaysOn), &incoming("01", Some(state)));
    assert_eq!(tracestate.as_deref(), Some(state));
}

/// As in a service: the server context is attached, `tracing` spans are
/// made inside it, and the client injects from the current span.
#[test]
fn tracing_spans_carry_the_flag_and_tracestate_of_their_trace() {
    let _capture = Capture::install();
    let inject_in_span = || {
        tracing::info_span!("client call").in_scope(|| {
            let mut out = HeaderMap::new();
            propagation::inject_current(&mut out);
            (
                out["traceparent"].to_str().unwrap().to_owned(),
                out.get("tracestate")
                    .map(|v| v.to_str().unwrap().to_owned()),
            )
        })
    };

    let (root, _) = inject_in_span();
    assert_eq!(flags(&root), 0x03, "a root started here: {root}");

    let _attached = incoming("01", Some("foo@bar@baz=1")).attach();
    let (child, state) = inject_in_span();
    assert!(child.starts_with(&format!("00-{TRACE}-")), "{child}");
    assert_eq!(
        flags(&child),
        0x01,
        "the caller's trace id was not random: {child}"
    );
    assert_eq!(state.as_deref(), Some("foo@bar@baz=1"));
}
