//! Personal data never leaves the collector (docs/pipeline.md, "Personal
//! data"): spans, logs and a metric carrying traveller names, e-mail
//! addresses and card numbers go over OTLP/HTTPS with the ingest token into
//! the real otelcol-parker running the rendered production profile, which
//! exports over TLS with its backend token to a sink. At the sink the listed
//! keys are gone (or hashed), matching values are masked, and every other
//! attribute, name and body arrived unchanged — compared attribute by
//! attribute.

mod common;
#[path = "common/production.rs"]
mod production;
#[path = "common/collector/mod.rs"]
mod support;
#[path = "common/tls.rs"]
mod tls_support;

use std::collections::BTreeMap;
use std::time::Duration;

use otelops::http_client::{HttpClient, HttpOptions, TlsFiles, TokenSource};
use parker_telemetry::testing::{OtlpSink, any_value_string};
use production::{ProductionTls, Tokens, production_env, rendered_production};
use serde_json::{Value, json};
use support::artifacts::Artifacts;
use support::collector::{Collector, Ports};
use tls_support::Pki;

const TOKENS: Tokens = Tokens {
    ingest: "ingest-pii-5e0c1a",
    export: "export-pii-77d2b9",
};
/// The production profile samples traces at a fixed rate by trace id, so
/// many traces go in and the test checks every one that comes out.
const TRACES: u8 = 64;
const TRAVELLER_ID: &str = "trav-4711";

fn kv(key: &str, value: Value) -> Value {
    json!({"key": key, "value": value})
}
fn s(v: &str) -> Value {
    json!({"stringValue": v})
}

/// The attributes every item carries: personal data among ordinary fields.
fn attributes() -> Vec<Value> {
    vec![
        kv("traveller.name", s("Ann Lee")),
        kv("user.email", s("ann.lee@example.com")),
        kv("payment.card.number", s("4111111111111111")),
        kv("enduser.id", s(TRAVELLER_ID)),
        kv(
            "note",
            s("contact bob@example.org, card 4111 1111 1111 1111"),
        ),
        kv("booking.id", s("bk_01HZX3Q7")),
        kv("flight.origin", s("LHR")),
        kv("flight.destination", s("JFK")),
        kv("http.response.status_code", json!({"intValue": "201"})),
        kv("parker.offer.price", json!({"doubleValue": 412.5})),
    ]
}

fn owned(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// What arrives in place of [`attributes`]; `enduser.id` is checked apart.
fn expected_attributes() -> BTreeMap<String, String> {
    owned(&[
        ("note", "contact ****, card ****"),
        ("booking.id", "bk_01HZX3Q7"),
        ("flight.origin", "LHR"),
        ("flight.destination", "JFK"),
        ("http.response.status_code", "201"),
        ("parker.offer.price", "412.5"),
    ])
}

fn resource() -> Value {
    json!({"attributes": [
        kv("service.name", s("parker-booking")),
        kv("deployment.environment.name", s("production")),
        kv("support.contact", s("ops-oncall@parker.example")),
    ]})
}

fn expected_resource() -> BTreeMap<String, String> {
    owned(&[
        ("service.name", "parker-booking"),
        ("deployment.environment.name", "production"),
        ("support.contact", "****"),
    ])
}

/// Each trace lasts 1.5 s: the production profile tail-samples, and its
/// `slow` policy (1 s) keeps every such trace, so all of them must arrive.
fn traces() -> Value {
    let spans: Vec<Value> = (0..TRACES)
        .flat_map(|i| {
            let trace_id = format!("4bf92f3577b34da6a3ce929d0e0e{i:04x}");
            let root = format!("00f067aa0ba9{i:04x}");
            [
                json!({"traceId": trace_id, "spanId": root, "name": "POST /v1/bookings", "kind": 2,
                    "startTimeUnixNano": "1764086400000000000", "endTimeUnixNano": "1764086401500000000",
                    "attributes": attributes(),
                    "events": [{"name": "traveller.notified", "timeUnixNano": "1764086400040000000",
                        "attributes": [kv("email", s("ann.lee@example.com")), kv("channel", s("sms"))]}]}),
                json!({"traceId": trace_id, "spanId": format!("11f067aa0ba9{i:04x}"), "parentSpanId": root,
                    "name": "lookup ann.lee@example.com", "kind": 1,
                    "startTimeUnixNano": "1764086400001000000", "endTimeUnixNano": "1764086400002000000",
                    "attributes": attributes()}),
            ]
        })
        .collect();
    json!({"resourceSpans": [{"resource": resource(), "scopeSpans": [{"scope": {"name": "collector-pii"}, "spans": spans}]}]})
}

fn logs() -> Value {
    json!({"resourceLogs": [{"resource": resource(), "scopeLogs": [{"scope": {"name": "collector-pii"}, "logRecords": [
        {"timeUnixNano": "1764086400000000000", "severityNumber": 9, "severityText": "INFO",
         "body": s("booking bk_01HZX3Q7 confirmed for ann.lee@example.com, card 4111-1111-1111-1111"),
         "attributes": attributes()}]}]}]})
}

fn metrics() -> Value {
    json!({"resourceMetrics": [{"resource": resource(), "scopeMetrics": [{"scope": {"name": "collector-pii"}, "metrics": [
        {"name": "parker.bookings.confirmed", "sum": {"aggregationTemporality": 2, "isMonotonic": true,
         "dataPoints": [{"asInt": "1", "timeUnixNano": "1764086400000000000", "attributes": attributes()}]}}]}]}]})
}

/// SHA-256 of `value`, lower-case hex: what the attributes processor's
/// `hash` action writes (v0.161.0).
fn sha256_hex(value: &str) -> String {
    ring::digest::digest(&ring::digest::SHA256, value.as_bytes())
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Checks one item's attributes: `enduser.id` hashed, the rest as expected.
fn assert_attributes(what: &str, mut got: BTreeMap<String, String>) {
    assert_eq!(
        got.remove("enduser.id").as_deref(),
        Some(sha256_hex(TRAVELLER_ID).as_str()),
        "{what}: enduser.id should arrive as the SHA-256 of its value"
    );
    assert_eq!(got, expected_attributes(), "{what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn personal_data_is_deleted_hashed_or_masked_and_the_rest_arrives_unchanged() {
    let art = Artifacts::new("collector_pii");
    let pki = Pki::new("parker");
    let server = pki.server("server", false);
    let backend_cert = pki.server("backend", false);
    let backend = OtlpSink::start_tls(backend_cert.sink_tls(None)).await;

    // The production profile as rendered, exporting to the TLS sink.
    let ports = Ports::free();
    let config = art.save("production.yaml", &rendered_production(&ports));
    let mut env = production_env(&ProductionTls::from_pki(&pki, &server), &ports, &TOKENS);
    let sink_addr = backend.grpc_endpoint().replace("https://", "");
    for (name, value) in &mut env {
        if *name == "OTELCOL_EXPORT_ENDPOINT" {
            *value = sink_addr.clone();
        }
    }
    let col = Collector::spawn_with_env(config, ports, &art, &env);
    col.wait_healthy().await;

    let client = HttpClient::new(&HttpOptions {
        tls: TlsFiles {
            ca: Some(pki.ca_file()),
            ..TlsFiles::default()
        },
        token: Some(TokenSource::File(
            pki.token_file("ingest.token", TOKENS.ingest),
        )),
        ..HttpOptions::loopback(Duration::from_secs(10))
    })
    .expect("client with the CA and the ingest token");
    for (path, body) in [
        ("/v1/traces", traces()),
        ("/v1/logs", logs()),
        ("/v1/metrics", metrics()),
    ] {
        let url = client
            .url(&format!("https://127.0.0.1:{}{path}", ports.otlp_http))
            .unwrap();
        let answer = client.post_json(&url, &body).await.expect(path);
        assert!(
            answer.is_success(),
            "{path}: {}\n{}",
            answer.text(),
            col.log()
        );
    }

    let limit = Duration::from_secs(60);
    let logs = backend.wait_for_logs(|l| !l.is_empty(), limit).await;
    let metrics = backend
        .wait_for_metric("parker.bookings.confirmed", limit)
        .await;
    backend.wait_for_spans(|s| !s.is_empty(), limit).await;
    // All spans went in one request; let any later batch land too.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let spans = backend.spans();

    // The backend got the export token, never the ingest one.
    for attempt in backend.attempts() {
        let auth = attempt
            .headers
            .get("authorization")
            .map(|v| v.to_str().unwrap().to_owned());
        assert_eq!(
            auth,
            Some(format!("Bearer {}", TOKENS.export)),
            "{}",
            attempt.signal
        );
    }

    assert!(
        !spans.is_empty(),
        "no span reached the sink:\n{}",
        col.log()
    );
    let mut names = BTreeMap::<String, usize>::new();
    for span in &spans {
        *names.entry(span.name.clone()).or_default() += 1;
        assert_attributes(&format!("span {:?}", span.name), span.attributes.clone());
        assert_eq!(span.resource, expected_resource(), "span resource");
        assert_eq!(span.scope_name, "collector-pii");
        let events: Vec<_> = span
            .events
            .iter()
            .map(|e| (e.name.as_str(), e.attributes.clone()))
            .collect();
        if span.name == "POST /v1/bookings" {
            let expected = BTreeMap::from([
                ("email".to_owned(), "****".to_owned()),
                ("channel".to_owned(), "sms".to_owned()),
            ]);
            assert_eq!(events, [("traveller.notified", expected)], "span events");
            assert_eq!(span.kind, "server");
        } else {
            assert_eq!(
                span.name, "lookup ****",
                "the e-mail in the span name is masked"
            );
            assert!(events.is_empty());
        }
    }
    // Both spans of each kept trace, nothing else.
    assert_eq!(
        names.keys().collect::<Vec<_>>(),
        ["POST /v1/bookings", "lookup ****"]
    );
    assert_eq!(
        names["POST /v1/bookings"], names["lookup ****"],
        "{names:?}"
    );

    assert_eq!(logs.len(), 1, "{logs:#?}");
    let log = &logs[0];
    assert_eq!(
        log.body, "booking bk_01HZX3Q7 confirmed for ****, card ****",
        "the log body's e-mail and card are masked, the booking id kept"
    );
    assert_eq!(
        (log.severity_number, log.severity_text.as_str()),
        (9, "INFO")
    );
    assert_eq!(log.resource, expected_resource(), "log resource");
    assert_attributes("log record", log.attributes.clone());

    let points: Vec<_> = metrics
        .iter()
        .flat_map(|rm| {
            let resource: BTreeMap<String, String> = rm
                .resource
                .iter()
                .flat_map(|r| &r.attributes)
                .map(|kv| (kv.key.clone(), any_value_string(&kv.value)))
                .collect();
            assert_eq!(resource, expected_resource(), "metric resource");
            rm.scope_metrics.iter().flat_map(|sm| &sm.metrics)
        })
        .filter(|m| m.name == "parker.bookings.confirmed")
        .flat_map(|m| match &m.data {
            Some(opentelemetry_proto::tonic::metrics::v1::metric::Data::Sum(sum)) => {
                sum.data_points.clone()
            }
            other => panic!("parker.bookings.confirmed arrived as {other:?}"),
        })
        .collect();
    assert_eq!(points.len(), 1, "{points:#?}");
    let labels = points[0]
        .attributes
        .iter()
        .map(|kv| (kv.key.clone(), any_value_string(&kv.value)))
        .collect();
    assert_attributes("metric data point", labels);
}
