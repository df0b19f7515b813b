//! Tail sampling as the production profile renders it, live: otelcol-parker
//! on `otelops config render --profile production` (TLS, ingest token) takes
//! a generated mix of 2000 three-span traces from two services over OTLP/gRPC
//! and exports what it keeps to a TLS OTLP sink. Every error trace and every
//! slow trace arrives; the other traces arrive at the configured rates
//! (parker-booking's higher) within 4 standard deviations of the binomial;
//! and every trace that arrives is complete.

mod common;
#[path = "common/production.rs"]
mod production;
#[path = "common/collector/mod.rs"]
mod support;
#[path = "common/tls.rs"]
mod tls_support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status, status};
use otelops::collector_config::profile::Profile;
use otelops::collector_config::sampling::plan;
use parker_telemetry::testing::OtlpSink;
use production::{ProductionTls, Tokens, production_env, rendered_production};
use support::artifacts::Artifacts;
use support::collector::{Collector, Ports};
use support::metrics::Page;
use support::wait_until;
use tls_support::Pki;

const TRACES: usize = 2000;
const SPANS_PER_TRACE: usize = 3;
const INGEST_TOKEN: &str = "ingest-5f3a9c";
const TOKENS: Tokens = Tokens {
    ingest: INGEST_TOKEN,
    export: "export-token",
};
/// Traces sampled or not, by the processor's own count (series per `sampled`).
const DECIDED: &str = "otelcol_processor_tail_sampling_global_count_traces_sampled";

/// What a generated trace is, so the test knows what must be kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Error,
    Slow,
    /// Rooted in parker-booking (a critical service), neither error nor slow.
    Critical,
    /// parker-fares only, neither error nor slow.
    Ordinary,
}

struct Trace {
    id: [u8; 16],
    kind: Kind,
    span_ids: [[u8; 8]; SPANS_PER_TRACE],
}

/// xorshift64*: trace ids must be spread like real random ids (the
/// probabilistic policy hashes them); the seed is printed on failure.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn bytes<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        for chunk in out.chunks_mut(8) {
            let v = self.next().to_be_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
        out
    }
}

/// 5 % errors and 5 % slow, the rest split between traces rooted in
/// parker-booking and in parker-fares (see [`booking_rooted`]).
fn mix(rng: &mut Rng) -> Vec<Trace> {
    (0..TRACES)
        .map(|i| {
            let kind = match i % 40 {
                0 | 1 => Kind::Error,
                2 | 3 => Kind::Slow,
                n if n.is_multiple_of(2) => Kind::Critical,
                _ => Kind::Ordinary,
            };
            Trace {
                id: rng.bytes(),
                kind,
                span_ids: [rng.bytes(), rng.bytes(), rng.bytes()],
            }
        })
        .collect()
}

fn booking_rooted(index: usize, trace: &Trace) -> bool {
    match trace.kind {
        Kind::Critical => true,
        Kind::Ordinary => false,
        Kind::Error | Kind::Slow => index.is_multiple_of(2),
    }
}

fn resource(service: &str) -> Resource {
    Resource {
        attributes: vec![KeyValue {
            key: "service.name".into(),
            value: Some(AnyValue {
                value: Some(any_value::Value::StringValue(service.into())),
            }),
            ..KeyValue::default()
        }],
        ..Resource::default()
    }
}

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_nanos() as u64
}

/// The three spans of `trace`: a root, a child in the same service, and a
/// child in parker-fares (the error, if any); the root lasts 1.5 s when
/// slow, 30 ms otherwise.
fn spans(trace: &Trace, start: u64) -> [Span; SPANS_PER_TRACE] {
    let ms = 1_000_000;
    let root_len = if trace.kind == Kind::Slow {
        1500 * ms
    } else {
        30 * ms
    };
    let span = |i: usize, parent: Option<usize>, name: &str, len: u64| Span {
        trace_id: trace.id.to_vec(),
        span_id: trace.span_ids[i].to_vec(),
        parent_span_id: parent
            .map(|p| trace.span_ids[p].to_vec())
            .unwrap_or_default(),
        name: name.into(),
        kind: if parent.is_none() { 2 } else { 3 },
        start_time_unix_nano: start + ms,
        end_time_unix_nano: start + ms + len,
        ..Span::default()
    };
    let mut fares = span(2, Some(0), "GET /v1/offers", 10 * ms);
    if trace.kind == Kind::Error {
        fares.status = Some(Status {
            code: status::StatusCode::Error as i32,
            message: "fare provider answered 503".into(),
        });
    }
    let mut root = span(0, None, "POST /v1/bookings", root_len);
    root.start_time_unix_nano = start;
    root.end_time_unix_nano = start + root_len + 2 * ms;
    [root, span(1, Some(0), "redis EVALSHA", ms), fares]
}

/// Two requests per batch of traces, as two services' SDKs would send
/// them: the roots and first children, then (separately) every fares child.
fn requests(traces: &[Trace], offset: usize) -> [ExportTraceServiceRequest; 2] {
    let start = now_ns();
    let mut by_service: BTreeMap<&str, Vec<Span>> = BTreeMap::new();
    let mut fares_children = Vec::new();
    for (i, trace) in traces.iter().enumerate() {
        let [root, child, fares] = spans(trace, start);
        let service = if booking_rooted(offset + i, trace) {
            "parker-booking"
        } else {
            "parker-fares"
        };
        by_service.entry(service).or_default().extend([root, child]);
        fares_children.push(fares);
    }
    let resource_spans = |service: &str, spans: Vec<Span>| ResourceSpans {
        resource: Some(resource(service)),
        scope_spans: vec![ScopeSpans {
            spans,
            ..ScopeSpans::default()
        }],
        ..ResourceSpans::default()
    };
    [
        ExportTraceServiceRequest {
            resource_spans: by_service
                .into_iter()
                .map(|(service, spans)| resource_spans(service, spans))
                .collect(),
        },
        ExportTraceServiceRequest {
            resource_spans: vec![resource_spans("parker-fares", fares_children)],
        },
    ]
}

async fn send_all(endpoint: String, ca_pem: &str, traces: &[Trace]) {
    let tls = tonic::transport::ClientTlsConfig::new()
        .ca_certificate(tonic::transport::Certificate::from_pem(ca_pem))
        .domain_name("localhost");
    let channel = tonic::transport::Endpoint::from_shared(endpoint)
        .expect("endpoint")
        .tls_config(tls)
        .expect("TLS config")
        .timeout(Duration::from_secs(10))
        .connect()
        .await
        .expect("connect to the collector over TLS");
    let mut client = TraceServiceClient::new(channel);
    for (n, batch) in traces.chunks(100).enumerate() {
        for request in requests(batch, n * 100) {
            let mut request = tonic::Request::new(request);
            request.metadata_mut().insert(
                "authorization",
                format!("Bearer {INGEST_TOKEN}")
                    .parse()
                    .expect("header value"),
            );
            client
                .export(request)
                .await
                .unwrap_or_else(|s| panic!("the collector refused a batch: {s:?}"));
        }
    }
}

/// How far `kept` of `n` is from `p·n`, in binomial standard deviations.
fn sigmas(kept: usize, n: usize, p: f64) -> f64 {
    let mean = p * n as f64;
    (kept as f64 - mean) / (n as f64 * p * (1.0 - p)).sqrt()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn production_tail_sampling_keeps_errors_slow_traces_and_the_configured_rates_complete() {
    let art = Artifacts::new("collector_tail_sampling");
    let pki = Pki::new("parker");
    let server = pki.server("server", false);
    let sink = OtlpSink::start_tls(server.sink_tls(None)).await;
    let mut ports = Ports::free();
    ports.downstream = sink
        .grpc_endpoint()
        .rsplit_once(':')
        .and_then(|(_, p)| p.parse().ok())
        .expect("the sink's port");
    let config = art.save("production.yaml", &rendered_production(&ports));
    let env = production_env(&ProductionTls::from_pki(&pki, &server), &ports, &TOKENS);
    let collector = Collector::spawn_with_env(config, ports, &art, &env);
    collector.wait_healthy().await;

    let seed = now_ns() | 1;
    art.note(&format!("trace ids from xorshift seed {seed}"));
    let traces = mix(&mut Rng(seed));
    send_all(
        format!("https://127.0.0.1:{}", ports.otlp_grpc),
        &pki.ca_pem,
        &traces,
    )
    .await;

    // Every trace decided (after decision_wait), then the kept ones
    // exported. No decision comes before decision_wait, so wait that out
    // first rather than save a scraped page every 50 ms meanwhile.
    tokio::time::sleep(Duration::from_secs(10)).await;
    let decided = collector
        .scrape_until("decided", Duration::from_secs(90), |p: &Page| {
            p.sum(DECIDED, &[]) >= TRACES as f64
        })
        .await;
    let kept_by_collector = decided.sum(DECIDED, &[("sampled", "true")]) as usize;
    let spans = wait_until(
        "the sink to hold every kept span",
        Duration::from_secs(60),
        || {
            let spans = sink.spans();
            async move {
                if spans.len() >= kept_by_collector * SPANS_PER_TRACE {
                    Ok(spans)
                } else {
                    Err(format!(
                        "{} spans, {kept_by_collector} traces kept",
                        spans.len()
                    ))
                }
            }
        },
    )
    .await;

    let mut received: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for s in &spans {
        received
            .entry(s.trace_id.clone())
            .or_default()
            .insert(s.span_id.clone());
    }
    let sent: BTreeMap<String, &Trace> = traces.iter().map(|t| (hex(&t.id), t)).collect();
    let mut kept: BTreeMap<Kind, usize> = BTreeMap::new();
    let mut total: BTreeMap<Kind, usize> = BTreeMap::new();
    for trace in &traces {
        *total.entry(trace.kind).or_default() += 1;
    }
    for (id, span_ids) in &received {
        let trace = sent
            .get(id)
            .unwrap_or_else(|| panic!("the sink got trace {id}, which was never sent"));
        let expected: BTreeSet<String> = trace.span_ids.iter().map(|s| hex(s)).collect();
        assert_eq!(
            span_ids, &expected,
            "trace {id} ({:?}) arrived incomplete",
            trace.kind
        );
        *kept.entry(trace.kind).or_default() += 1;
    }
    assert_eq!(
        received.len(),
        kept_by_collector,
        "the sink and the processor's count differ"
    );

    let plan = plan(Profile::Production).expect("production tail-samples");
    let share = |kind: Kind| (kept.get(&kind).copied().unwrap_or(0), total[&kind]);
    let report = format!("seed {seed}; kept/sent: {:?} of {total:?}", kept);
    art.note(&report);
    assert_eq!(
        share(Kind::Error).0,
        share(Kind::Error).1,
        "every error trace: {report}"
    );
    assert_eq!(
        share(Kind::Slow).0,
        share(Kind::Slow).1,
        "every slow trace: {report}"
    );
    for (kind, pct) in [
        (Kind::Critical, plan.critical_rate_percent),
        (Kind::Ordinary, plan.rate_percent),
    ] {
        let (k, n) = share(kind);
        let z = sigmas(k, n, pct / 100.0);
        assert!(
            z.abs() <= 4.0,
            "{kind:?}: {k} of {n} kept, {z:.1}σ from {pct}%: {report}"
        );
    }
}
