//! The booking flow end to end over HTTP against the real binaries, on the
//! embedded store and on Redis, with the telemetry each one exports.

mod common;

use std::time::Duration;

use common::*;
use parker_telemetry::testing::{OtlpSink, SinkSpan};
use serde_json::Value;

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

fn service(span: &SinkSpan) -> &str {
    span.resource.get("service.name").map_or("", String::as_str)
}

fn attr<'a>(span: &'a SinkSpan, key: &str) -> &'a str {
    span.attributes.get(key).map_or("", String::as_str)
}

async fn booked_flow_is_one_trace_from_worker_to_fares(kind: StoreKind) {
    let sink = OtlpSink::start().await;
    let telemetry = Telemetry::Otlp(sink.grpc_endpoint());
    // Every order fails once (503) before it succeeds: the retry path and
    // its exception events are part of the trace under test.
    let fares = FaresOptions {
        args: vec!["--fail-first-orders".into(), "1".into()],
        telemetry: telemetry.clone(),
    };
    let stack = Stack::start(kind, fares, &[], telemetry);
    let c = client();
    let r = c
        .post(format!("{}/v1/bookings", stack.url))
        .header("traceparent", TRACEPARENT)
        .json(&booking_body("JFK", "LHR", "5000"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 202);
    assert!(
        r.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/v1/bookings/")
    );
    let accepted: Value = r.json().await.unwrap();
    assert_eq!(accepted["status"], "pending");
    let id = accepted["id"].as_str().unwrap().to_owned();
    let booking = wait_final(&c, &stack.url, &id, FLOW_TIMEOUT).await;
    assert_eq!(booking["status"], "booked", "{booking:#}");
    assert!(booking["order_id"].is_string());

    let spans = sink
        .wait_for_spans(
            |spans| {
                spans.iter().any(|s| {
                    service(s) == "parker-fares" && s.name == "POST /v1/orders/{id}/confirm"
                }) && spans.iter().any(|s| {
                    s.name == "process booking" && attr(s, "parker.booking.outcome") == "booked"
                })
            },
            FLOW_TIMEOUT,
        )
        .await;

    // The API request continues the caller's trace.
    let server = spans
        .iter()
        .find(|s| s.name == "POST /v1/bookings" && s.trace_id == TRACE_ID)
        .expect("a server span for the create in the caller's trace");
    assert_eq!(server.kind, "server");
    assert_eq!(server.parent_span_id, "00f067aa0ba902b7");
    // The caller's trace-flags were 01: sampled, the trace id not marked
    // random (W3C Level 2), and booking does not mark it either.
    assert_eq!(server.flags & 0xff, 0x01, "{server:?}");
    assert_eq!(service(server), "parker-booking");
    assert_eq!(attr(server, "http.request.method"), "POST");
    assert_eq!(attr(server, "http.route"), "/v1/bookings");
    assert_eq!(attr(server, "http.response.status_code"), "202");
    assert_eq!(attr(server, "url.path"), "/v1/bookings");

    // The worker's trace is its own, linked to the create.
    let done = spans
        .iter()
        .find(|s| s.name == "process booking" && attr(s, "parker.booking.outcome") == "booked")
        .unwrap();
    assert!(
        done.links
            .iter()
            .any(|l| l.trace_id == TRACE_ID && l.span_id == server.span_id),
        "worker span links to the create: {:?}",
        done.links
    );
    assert_eq!(done.parent_span_id, "", "the worker span is a root");

    // booking → fares in one trace, with client/server parentage. Each
    // worker pass is its own trace (the first order got a 503 and was
    // retried in a later pass), so check every pass.
    let order_clients: Vec<&SinkSpan> = spans
        .iter()
        .filter(|s| s.kind == "client" && s.name == "POST /v1/orders")
        .collect();
    assert!(
        order_clients.len() >= 2,
        "a failed and a successful order call"
    );
    for client_span in &order_clients {
        assert_eq!(service(client_span), "parker-booking");
        let pass = spans
            .iter()
            .find(|s| s.span_id == client_span.parent_span_id && s.trace_id == client_span.trace_id)
            .expect("the order call's parent span was exported");
        assert_eq!(pass.name, "process booking");
        assert_eq!(attr(client_span, "http.request.method"), "POST");
        assert_eq!(attr(client_span, "server.address"), "127.0.0.1");
        assert!(attr(client_span, "url.full").ends_with("/v1/orders"));
        let fares_server = spans
            .iter()
            .find(|s| s.parent_span_id == client_span.span_id && s.trace_id == client_span.trace_id)
            .expect("the fares server span is the client span's child");
        assert_eq!(service(fares_server), "parker-fares");
        assert_eq!(fares_server.kind, "server");
        // The worker's trace id was drawn at random by booking's SDK, so the
        // traceparent booking sent fares carried the random flag (02), which
        // fares keeps. (Booking's own root span is exported with 01: the
        // SDK sets a root's flags; the flag lives on the wire.)
        assert_eq!(fares_server.flags & 0xff, 0x03, "{fares_server:?}");
        assert_eq!(attr(fares_server, "http.route"), "/v1/orders");
    }
    assert!(spans.iter().any(|s| s.trace_id == done.trace_id
        && s.parent_span_id == done.span_id
        && s.name == "POST /v1/orders/{id}/confirm"));
    // Every fares server span (searches included, which ran in an earlier
    // worker pass) continues a booking client span's trace.
    let fares_servers: Vec<_> = spans
        .iter()
        .filter(|s| service(s) == "parker-fares")
        .collect();
    assert!(fares_servers.iter().any(|s| s.name == "GET /v1/offers"));
    for fs in fares_servers {
        assert!(
            spans.iter().any(|c| c.span_id == fs.parent_span_id
                && c.trace_id == fs.trace_id
                && c.kind == "client"
                && service(c) == "parker-booking"),
            "{} has a booking client parent",
            fs.name
        );
    }

    // The injected 503 is an error on the client span and an exception event.
    assert!(
        order_clients
            .iter()
            .any(|s| s.status_code == "error" && attr(s, "http.response.status_code") == "503")
    );
    let exceptions: Vec<_> = spans
        .iter()
        .filter(|s| service(s) == "parker-booking")
        .flat_map(|s| &s.events)
        .filter(|e| e.name == "exception")
        .collect();
    assert!(
        exceptions.iter().any(|e| e
            .attributes
            .get("exception.message")
            .is_some_and(|m| m.contains("503"))),
        "an exception event for the injected 503: {exceptions:?}"
    );

    // Redis spans follow the database conventions; the embedded store has none.
    let redis_spans: Vec<_> = spans
        .iter()
        .filter(|s| attr(s, "db.system.name") == "redis")
        .collect();
    match kind {
        StoreKind::Memory => assert!(redis_spans.is_empty()),
        StoreKind::Redis | StoreKind::Cluster => {
            let port = stack.redis.as_ref().unwrap().span_port().to_string();
            let create = redis_spans
                .iter()
                .find(|s| s.trace_id == TRACE_ID && s.parent_span_id == server.span_id)
                .expect("a Redis span under the create request");
            assert_eq!(create.kind, "client");
            assert_eq!(create.name, "EVALSHA");
            assert_eq!(attr(create, "db.operation.name"), "EVALSHA");
            assert_eq!(attr(create, "db.namespace"), "0");
            assert_eq!(attr(create, "server.address"), "127.0.0.1");
            assert_eq!(attr(create, "server.port"), port);
            assert!(attr(create, "db.query.text").starts_with("EVALSHA ?"));
            assert!(
                redis_spans.iter().any(|s| s.trace_id == done.trace_id),
                "worker Redis spans"
            );
        }
    }
    // Logs are correlated: the worker's "booking finished" record carries its trace.
    sink.wait_for_logs(
        |logs| {
            logs.iter()
                .any(|l| l.trace_id == done.trace_id && l.span_id == done.span_id)
        },
        FLOW_TIMEOUT,
    )
    .await;
    // The service's own metrics arrive, with bounded attributes only.
    for name in [
        "parker.bookings.accepted",
        "parker.bookings.completed",
        "parker.booking.worker.lag",
        "parker.fares.request.duration",
        "http.server.request.duration",
        "http.client.request.duration",
    ] {
        sink.wait_for_metric(name, FLOW_TIMEOUT).await;
    }
    let metrics = format!("{:?}", sink.metrics());
    assert!(!metrics.contains(&id), "no booking id in metric attributes");

    // Span names stay low-cardinality: no booking id in any name.
    assert!(spans.iter().all(|s| !s.name.contains(&id)));
}

async fn idempotency_key_replays_the_same_booking(kind: StoreKind) {
    let stack = Stack::start(
        kind,
        FaresOptions::default(),
        &["--disable-worker"],
        Telemetry::Off,
    );
    let c = client();
    let body = booking_body("CDG", "JFK", "900");
    let post = |body: Value| {
        c.post(format!("{}/v1/bookings", stack.url))
            .header("idempotency-key", "trip-2030-1")
            .json(&body)
            .send()
    };
    let first = post(body.clone()).await.unwrap();
    assert_eq!(first.status().as_u16(), 202);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first: Value = first.json().await.unwrap();
    let again = post(body.clone()).await.unwrap();
    assert_eq!(again.status().as_u16(), 202);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again: Value = again.json().await.unwrap();
    assert_eq!(first["id"], again["id"]);

    let mut other = body;
    other["passengers"] = 2.into();
    let detail = expect_problem(post(other).await.unwrap(), 422).await;
    assert!(
        detail["detail"].as_str().unwrap().contains("trip-2030-1"),
        "{detail}"
    );
    let page: Value = c
        .get(format!("{}/v1/bookings", stack.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
}

async fn listing_pages_through_every_booking_in_order(kind: StoreKind) {
    let stack = Stack::start(
        kind,
        FaresOptions::default(),
        &["--disable-worker"],
        Telemetry::Off,
    );
    let c = client();
    let mut ids = Vec::new();
    for _ in 0..7 {
        let (status, body) = create(&c, &stack.url, &booking_body("AMS", "BCN", "300")).await;
        assert_eq!(status, 202);
        ids.push(body["id"].as_str().unwrap().to_owned());
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..10 {
        let mut url = format!("{}/v1/bookings?limit=3", stack.url);
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let page: Value = c.get(url).send().await.unwrap().json().await.unwrap();
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|b| b["id"].as_str().unwrap().to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, ids);
}

async fn cancel_works_while_pending_only(kind: StoreKind) {
    // Without a worker the booking stays pending until cancelled.
    let stack = Stack::start(
        kind,
        FaresOptions::default(),
        &["--disable-worker"],
        Telemetry::Off,
    );
    let c = client();
    let (_, accepted) = create(&c, &stack.url, &booking_body("LHR", "SFO", "2000")).await;
    let id = accepted["id"].as_str().unwrap();
    let r = c
        .delete(format!("{}/v1/bookings/{id}", stack.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "cancelled");
    let r = c
        .delete(format!("{}/v1/bookings/{id}", stack.url))
        .send()
        .await
        .unwrap();
    let problem = expect_problem(r, 409).await;
    assert!(problem["detail"].as_str().unwrap().contains("cancelled"));
    let r = c
        .delete(format!(
            "{}/v1/bookings/01936f0e-7a1b-7c3d-8e4f-0123456789ab",
            stack.url
        ))
        .send()
        .await
        .unwrap();
    expect_problem(r, 404).await;
}

async fn no_offer_within_terms_expires_with_a_reason(kind: StoreKind) {
    let stack = Stack::start(kind, FaresOptions::default(), &[], Telemetry::Off);
    let c = client();
    let (_, accepted) = create(&c, &stack.url, &booking_body("JFK", "LHR", "1.00")).await;
    let b = wait_final(
        &c,
        &stack.url,
        accepted["id"].as_str().unwrap(),
        FLOW_TIMEOUT,
    )
    .await;
    assert_eq!(b["status"], "expired");
    let reason = b["reason"].as_str().unwrap();
    assert!(
        reason.contains("1.00 EUR") && reason.contains("3 searches"),
        "{reason}"
    );
    assert!(fares_orders(&c, &stack.fares_url).await.is_empty());
}

async fn provider_down_fails_the_booking_after_retries(kind: StoreKind) {
    let fares = FaresOptions {
        args: vec!["--error-rate".into(), "1".into()],
        ..FaresOptions::default()
    };
    let stack = Stack::start(kind, fares, &["--max-attempts", "3"], Telemetry::Off);
    let c = client();
    let (_, accepted) = create(&c, &stack.url, &booking_body("JFK", "LHR", "5000")).await;
    let b = wait_final(
        &c,
        &stack.url,
        accepted["id"].as_str().unwrap(),
        FLOW_TIMEOUT,
    )
    .await;
    assert_eq!(b["status"], "failed");
    let reason = b["reason"].as_str().unwrap();
    assert!(
        reason.contains("after 3 attempts") && reason.contains("503"),
        "{reason}"
    );
}

async fn lost_order_responses_never_order_twice(kind: StoreKind) {
    // Every order is committed at the provider but its first response is lost.
    let fares = FaresOptions {
        args: vec!["--lost-response-rate".into(), "1".into()],
        ..FaresOptions::default()
    };
    let stack = Stack::start(kind, fares, &[], Telemetry::Off);
    let c = client();
    let mut ids = Vec::new();
    for route in [("JFK", "LHR"), ("CDG", "NRT"), ("SYD", "LAX")] {
        let (_, accepted) = create(&c, &stack.url, &booking_body(route.0, route.1, "5000")).await;
        ids.push(accepted["id"].as_str().unwrap().to_owned());
    }
    for id in &ids {
        let b = wait_final(&c, &stack.url, id, FLOW_TIMEOUT).await;
        assert_eq!(b["status"], "booked", "{b:#}");
    }
    let orders = fares_orders(&c, &stack.fares_url).await;
    assert_eq!(orders.len(), ids.len(), "{orders:#?}");
    assert!(
        orders
            .iter()
            .all(|o| o["requests"].as_u64() >= Some(2) && o["status"] == "confirmed")
    );
}

async fn openapi_and_health_are_served(kind: StoreKind) {
    let stack = Stack::start(
        kind,
        FaresOptions::default(),
        &["--disable-worker"],
        Telemetry::Off,
    );
    let c = client();
    let doc: Value = c
        .get(format!("{}/openapi.json", stack.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    for path in ["/v1/bookings", "/v1/bookings/{id}", "/healthz", "/readyz"] {
        assert!(doc["paths"][path].is_object(), "{path} documented");
    }
    for path in ["/healthz", "/readyz"] {
        let r = c.get(format!("{}{path}", stack.url)).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 200, "{path}");
    }
}

on_both_stores!(
    booked_flow_is_one_trace_from_worker_to_fares,
    idempotency_key_replays_the_same_booking,
    listing_pages_through_every_booking_in_order,
    cancel_works_while_pending_only,
    no_offer_within_terms_expires_with_a_reason,
    provider_down_fails_the_booking_after_retries,
    lost_order_responses_never_order_twice,
    openapi_and_health_are_served,
);

#[tokio::test]
async fn test_endpoint_propagates_trace_context_to_loopback_only() {
    use axum::routing::post;
    // A loopback receiver records the traceparent it is called with.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(String, Value)>();
    let app = axum::Router::new().route(
        "/callee",
        post(
            move |headers: http::HeaderMap, axum::Json(body): axum::Json<Value>| {
                let tx = tx.clone();
                async move {
                    let tp = headers
                        .get("traceparent")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_owned();
                    let _ = tx.send((tp, body));
                    "ok"
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let callee = format!("http://{}/callee", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let sink = OtlpSink::start().await;
    let stack = Stack::start(
        StoreKind::Memory,
        FaresOptions::default(),
        &["--enable-test-endpoint", "--disable-worker"],
        Telemetry::Otlp(sink.grpc_endpoint()),
    );
    let c = client();
    let r = c
        .post(format!("{}/test", stack.url))
        .header("traceparent", TRACEPARENT)
        .json(&serde_json::json!([{ "url": callee, "arguments": [{"x": 1}] }]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let (traceparent, body) = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(body, serde_json::json!([{"x": 1}]));
    let parts: Vec<&str> = traceparent.split('-').collect();
    assert_eq!(parts.len(), 4, "{traceparent}");
    assert_eq!(
        parts[1], TRACE_ID,
        "the caller's trace continues to the callee"
    );
    assert_ne!(parts[2], "00f067aa0ba902b7", "with a new parent span id");

    let r = c
        .post(format!("{}/test", stack.url))
        .json(&serde_json::json!([{ "url": "http://192.0.2.1/x", "arguments": {} }]))
        .send()
        .await
        .unwrap();
    let problem = expect_problem(r, 422).await;
    assert!(problem["detail"].as_str().unwrap().contains("loopback"));
}

#[tokio::test]
async fn flags_come_from_the_environment_and_the_command_line_wins() {
    let (_fares, fares_url) = start_fares(&FaresOptions::default());
    let (_booking, url) = start_booking(&BookingOptions {
        fares_url,
        env: vec![
            ("PARKER_ENABLE_TEST_ENDPOINT".into(), "true".into()),
            ("PARKER_DISABLE_WORKER".into(), "true".into()),
            ("PARKER_MAX_SEARCHES".into(), "not-a-number".into()),
        ],
        args: vec!["--max-searches".into(), "2".into()],
        ..BookingOptions::default()
    });
    let r = client()
        .post(format!("{url}/test"))
        .json(&serde_json::json!([]))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status().as_u16(),
        200,
        "PARKER_ENABLE_TEST_ENDPOINT=true enabled /test"
    );
}

#[tokio::test]
async fn test_endpoint_is_off_by_default() {
    let stack = Stack::start(
        StoreKind::Memory,
        FaresOptions::default(),
        &["--disable-worker"],
        Telemetry::Off,
    );
    let r = client()
        .post(format!("{}/test", stack.url))
        .json(&serde_json::json!([]))
        .send()
        .await
        .unwrap();
    expect_problem(r, 404).await;
}
