//! What is known about the booking's spans from their source, not from a
//! downstream: the ids the test sent and the booking record kept, the
//! booking → fares parent links, the span names, kinds and attributes the
//! services are written to record, and each process's resource.

use std::collections::BTreeMap;

use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;

use crate::support::otlp_copy::{Received, SpanCopy, attr, hex};
use crate::support::services::Booked;

/// The route templates the booking's worker calls at the fare provider, in
/// the order it calls them: span names carry no booking or order id.
const FARES_CALLS: [&str; 3] = [
    "GET /v1/offers",
    "POST /v1/orders",
    "POST /v1/orders/{id}/confirm",
];

/// W3C span flags: sampled, and "is the parent remote" known and true.
const FLAG_SAMPLED: u32 = 0x01;
const FLAG_HAS_IS_REMOTE: u32 = 0x100;
const FLAG_IS_REMOTE: u32 = 0x200;

/// Every resource attribute parker-telemetry's detectors may set on this
/// machine (service, process, host, OS, SDK), besides what depends on where
/// the test runs ([`ENVIRONMENT_PREFIXES`]): a key outside both was added
/// on the way.
const RESOURCE_KEYS: [&str; 17] = [
    "service.name",
    "service.version",
    "service.instance.id",
    "process.pid",
    "process.executable.name",
    "process.executable.path",
    "process.runtime.name",
    "process.runtime.version",
    "process.runtime.description",
    "host.name",
    "host.id",
    "host.arch",
    "os.type",
    "os.description",
    "telemetry.sdk.name",
    "telemetry.sdk.language",
    "telemetry.sdk.version",
];

/// container.id (from cgroup files), k8s.* and cloud.* (from the platform's
/// environment variables): present or not depending on the CI machine.
const ENVIRONMENT_PREFIXES: [&str; 3] = ["container.", "k8s.", "cloud."];

/// What is known about the spans from the source, not from a downstream.
pub struct Source {
    pub booking_pid: u32,
    pub fares_pid: u32,
    pub booking_version: String,
    pub fares_version: String,
    pub fares_port: u16,
    /// (trace id, parent span id) of the `traceparent` the test sent.
    pub client: (String, String),
}

fn string(v: Option<&Value>) -> Option<&str> {
    match v {
        Some(Value::StringValue(s)) => Some(s),
        _ => None,
    }
}

fn int(v: Option<&Value>) -> Option<i64> {
    match v {
        Some(Value::IntValue(i)) => Some(*i),
        _ => None,
    }
}

/// Checks the copy against the source; returns the worker trace's id.
pub fn assert_source_invariants(copy: &SpanCopy, booked: &Booked, src: &Source) -> String {
    let spans = copy.unique();
    let all: Vec<&Received> = spans.values().copied().collect();
    let mut randomness: BTreeMap<String, &str> = BTreeMap::new();

    // Resource: one per service, naming the process that sent it.
    for r in &all {
        // The one field the pipeline changes: the test sent no tracestate
        // and the SDK adds none, but probabilistic_sampler records its
        // decision in every span's tracestate (documented: threshold `th`,
        // 0 = kept at 100 %, and the randomness `rv` it derived from the
        // trace id). Nothing else may be there.
        let rv = sampler_randomness(&r.span.trace_state).unwrap_or_else(|| {
            panic!(
                "{}: tracestate {:?} is not exactly the sampler's `ot=rv:<14 hex>;th:0`",
                r.span.name, r.span.trace_state
            )
        });
        let first = randomness.entry(r.trace_id()).or_insert(rv);
        assert_eq!(
            *first, rv,
            "{}: one trace, one sampler randomness",
            r.span.name
        );
        let (pid, version) = match r.service() {
            "parker-booking" => (src.booking_pid, &src.booking_version),
            "parker-fares" => (src.fares_pid, &src.fares_version),
            other => panic!("span {} from unexpected service {other:?}", r.span.name),
        };
        assert_eq!(
            int(r.resource_attr("process.pid")),
            Some(i64::from(pid)),
            "{}: process.pid",
            r.service()
        );
        assert_eq!(
            string(r.resource_attr("service.version")),
            Some(version.as_str()),
            "{}: service.version",
            r.service()
        );
        assert_eq!(
            string(r.resource_attr("host.arch")),
            Some(semconv_arch()),
            "{}: host.arch",
            r.service()
        );
        assert_eq!(
            string(r.resource_attr("process.executable.name")),
            Some(r.service()),
            "{}: process.executable.name",
            r.service()
        );
        let unknown: Vec<&str> = r
            .resource
            .attributes
            .iter()
            .map(|kv| kv.key.as_str())
            .filter(|k| {
                !RESOURCE_KEYS.contains(k) && !ENVIRONMENT_PREFIXES.iter().any(|p| k.starts_with(p))
            })
            .collect();
        assert!(
            unknown.is_empty(),
            "{}: resource attributes the service does not set: {unknown:?}",
            r.service()
        );
        assert_eq!(r.scope.name, "parker-telemetry", "instrumentation scope");
    }
    for service in ["parker-booking", "parker-fares"] {
        let mut resources = all
            .iter()
            .filter(|r| r.service() == service)
            .map(|r| &r.resource);
        let first = resources
            .next()
            .unwrap_or_else(|| panic!("no span from {service}"));
        assert!(
            resources.all(|r| r == first),
            "{service} spans arrived under different resources"
        );
        assert!(
            string(attr(&first.attributes, "service.instance.id")).is_some_and(|s| !s.is_empty()),
            "{service}: no service.instance.id"
        );
    }

    // The request that created the booking: the trace id the test sent,
    // parented on the test's span, and the traceparent the record kept.
    let (client_trace, client_span) = &src.client;
    let posts: Vec<&&Received> = all
        .iter()
        .filter(|r| r.span.name == "POST /v1/bookings")
        .collect();
    assert_eq!(posts.len(), 1, "exactly one POST /v1/bookings span");
    let post = posts[0];
    assert_eq!(post.service(), "parker-booking");
    assert_eq!(post.span.kind, SpanKind::Server as i32);
    assert_eq!(
        &post.trace_id(),
        client_trace,
        "POST /v1/bookings continues the test's trace"
    );
    assert_eq!(
        &post.parent_id(),
        client_span,
        "POST /v1/bookings is a child of the test's span"
    );
    assert_eq!(
        post.span.flags & (FLAG_SAMPLED | FLAG_HAS_IS_REMOTE | FLAG_IS_REMOTE),
        FLAG_SAMPLED | FLAG_HAS_IS_REMOTE | FLAG_IS_REMOTE,
        "POST /v1/bookings: sampled, remote parent (flags {:#x})",
        post.span.flags
    );
    assert_eq!(string(post.span_attr("http.route")), Some("/v1/bookings"));
    assert_eq!(int(post.span_attr("http.response.status_code")), Some(202));
    assert_eq!(
        booked.record["traceparent"].as_str(),
        Some(format!("00-{client_trace}-{}-01", post.span_id()).as_str()),
        "the booking record keeps the traceparent of its POST span"
    );

    // The worker's trace: one root linked to the POST span; the fare
    // provider calls as its client children; fares' server spans as their
    // children, across the process boundary.
    let roots: Vec<&&Received> = all
        .iter()
        .filter(|r| {
            r.span.name == "process booking"
                && string(r.span_attr("booking.id")) == Some(booked.id.as_str())
        })
        .collect();
    assert_eq!(
        roots.len(),
        1,
        "exactly one `process booking` span for {}",
        booked.id
    );
    let root = roots[0];
    let trace = root.trace_id();
    assert_ne!(&trace, client_trace, "the worker's trace is its own");
    assert!(
        root.span.parent_span_id.is_empty(),
        "`process booking` is a root"
    );
    assert_eq!(root.span.kind, SpanKind::Internal as i32);
    assert_eq!(
        string(root.span_attr("parker.booking.outcome")),
        Some("booked")
    );
    assert_eq!(
        root.span.links.len(),
        1,
        "`process booking` links to the request"
    );
    let link = &root.span.links[0];
    assert_eq!(
        (hex(&link.trace_id), hex(&link.span_id)),
        (client_trace.clone(), post.span_id())
    );

    let in_trace: Vec<&&Received> = all.iter().filter(|r| r.trace_id() == trace).collect();
    let by_id: BTreeMap<String, &Received> = in_trace.iter().map(|r| (r.span_id(), **r)).collect();
    let mut client_names = Vec::new();
    for r in &in_trace {
        if r.span_id() == root.span_id() {
            continue;
        }
        let parent = by_id.get(&r.parent_id()).unwrap_or_else(|| {
            panic!(
                "{} ({}) has parent {} not in trace {trace}",
                r.span.name,
                r.service(),
                r.parent_id()
            )
        });
        match r.service() {
            "parker-booking" => {
                assert_eq!(
                    r.span.kind,
                    SpanKind::Client as i32,
                    "{}: client span",
                    r.span.name
                );
                assert_eq!(
                    parent.span_id(),
                    root.span_id(),
                    "{}: child of the worker span",
                    r.span.name
                );
                assert_eq!(
                    int(r.span_attr("server.port")),
                    Some(i64::from(src.fares_port)),
                    "{}: server.port",
                    r.span.name
                );
                client_names.push((r.span.start_time_unix_nano, r.span.name.clone()));
            }
            "parker-fares" => {
                assert_eq!(
                    r.span.kind,
                    SpanKind::Server as i32,
                    "{}: server span",
                    r.span.name
                );
                assert_eq!(
                    parent.service(),
                    "parker-booking",
                    "{}: parent is booking's client span",
                    r.span.name
                );
                assert_eq!(parent.span.kind, SpanKind::Client as i32);
                assert_eq!(
                    parent.span.name, r.span.name,
                    "server span named like its client span"
                );
                assert_eq!(
                    r.span.flags & (FLAG_HAS_IS_REMOTE | FLAG_IS_REMOTE),
                    FLAG_HAS_IS_REMOTE | FLAG_IS_REMOTE,
                    "{}: fares knows its parent is remote",
                    r.span.name
                );
                // Same host clock: the server's work lies within the call.
                assert!(
                    parent.span.start_time_unix_nano <= r.span.start_time_unix_nano
                        && r.span.end_time_unix_nano <= parent.span.end_time_unix_nano,
                    "{}: server span outside its client span",
                    r.span.name
                );
            }
            other => panic!("unexpected service {other}"),
        }
    }
    client_names.sort();
    let called: Vec<&str> = client_names.iter().map(|(_, n)| n.as_str()).collect();
    assert!(
        called.ends_with(&FARES_CALLS[1..])
            && called.iter().all(|n| FARES_CALLS.contains(n))
            && called.first() == Some(&FARES_CALLS[0]),
        "booking → fares calls {called:?}: searches, then order, then confirm"
    );
    let servers = in_trace
        .iter()
        .filter(|r| r.service() == "parker-fares")
        .count();
    assert_eq!(
        servers,
        called.len(),
        "every fares call has its server span: {called:?}"
    );

    // No span name carries an id (cardinality): not the booking's, not the order's.
    let order = booked.record["order_id"]
        .as_str()
        .unwrap_or("<no order id>");
    for r in &all {
        assert!(
            !r.span.name.contains(&booked.id) && !r.span.name.contains(order),
            "span name with an id: {}",
            r.span.name
        );
    }
    trace
}

/// The `rv` of a tracestate that holds exactly what probabilistic_sampler
/// writes when it keeps a span at 100 %: `ot=rv:<14 hex digits>;th:0`.
fn sampler_randomness(tracestate: &str) -> Option<&str> {
    let rv = tracestate.strip_prefix("ot=rv:")?.strip_suffix(";th:0")?;
    (rv.len() == 14 && rv.bytes().all(|b| b.is_ascii_hexdigit())).then_some(rv)
}

/// `host.arch` as the semantic conventions spell this machine's architecture.
fn semconv_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}
