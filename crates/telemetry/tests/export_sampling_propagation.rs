//! OTEL_TRACES_SAMPLER and OTEL_PROPAGATORS take effect in the built
//! pipeline.

mod common;

use opentelemetry::Context;
use opentelemetry::baggage::BaggageExt;
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{Span, TraceContextExt, Tracer, TracerProvider};
use parker_telemetry::ServiceInfo;
use std::collections::HashMap;

fn sampled(pairs: &[(&str, &str)]) -> (bool, bool) {
    let mut all = vec![
        ("OTEL_TRACES_EXPORTER", "none"),
        ("OTEL_METRICS_EXPORTER", "none"),
        ("OTEL_LOGS_EXPORTER", "none"),
    ];
    all.extend_from_slice(pairs);
    let guard =
        parker_telemetry::build(ServiceInfo::new("s", "1"), &common::config(&all)).expect("build");
    let tracer = guard.tracer_provider().tracer("t");
    let root = tracer.start("root");
    let root_sampled = root.span_context().is_sampled();
    let cx = Context::current_with_span(root);
    let child_sampled = tracer
        .start_with_context("child", &cx)
        .span_context()
        .is_sampled();
    (root_sampled, child_sampled)
}

#[test]
fn always_on_and_always_off() {
    assert_eq!(
        sampled(&[("OTEL_TRACES_SAMPLER", "always_on")]),
        (true, true)
    );
    assert_eq!(
        sampled(&[("OTEL_TRACES_SAMPLER", "always_off")]),
        (false, false)
    );
}

#[test]
fn trace_id_ratio_zero_and_one() {
    assert_eq!(
        sampled(&[
            ("OTEL_TRACES_SAMPLER", "traceidratio"),
            ("OTEL_TRACES_SAMPLER_ARG", "0")
        ]),
        (false, false)
    );
    assert_eq!(
        sampled(&[
            ("OTEL_TRACES_SAMPLER", "traceidratio"),
            ("OTEL_TRACES_SAMPLER_ARG", "1")
        ]),
        (true, true)
    );
}

#[test]
fn parent_based_follows_the_root_decision() {
    assert_eq!(
        sampled(&[]),
        (true, true),
        "default is parentbased_always_on"
    );
    assert_eq!(
        sampled(&[("OTEL_TRACES_SAMPLER", "parentbased_always_off")]),
        (false, false)
    );
    assert_eq!(
        sampled(&[
            ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
            ("OTEL_TRACES_SAMPLER_ARG", "0")
        ]),
        (false, false)
    );
}

fn injected(propagators: &str) -> Vec<String> {
    let config = common::config(&[("OTEL_PROPAGATORS", propagators)]);
    let propagator = parker_telemetry::export::propagator(&config.propagators);
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
    let span = provider.tracer("t").start("s");
    let cx = Context::current_with_span(span)
        .with_baggage(vec![opentelemetry::KeyValue::new("tenant", "parker")]);
    let mut carrier: HashMap<String, String> = HashMap::new();
    propagator.inject_context(&cx, &mut carrier);
    let mut keys: Vec<String> = carrier.into_keys().collect();
    keys.sort();
    keys
}

#[test]
fn propagators_decide_which_headers_are_injected() {
    assert_eq!(
        injected("tracecontext,baggage"),
        ["baggage", "traceparent", "tracestate"]
    );
    assert_eq!(injected("tracecontext"), ["traceparent", "tracestate"]);
    assert_eq!(injected("baggage"), ["baggage"]);
    assert!(injected("none").is_empty());
}
