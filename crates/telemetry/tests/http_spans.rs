//! HTTP server and client spans against a real axum server on 127.0.0.1 and a
//! real reqwest client. Each test runs on a current-thread runtime so the
//! thread-local `Capture` subscriber sees the server tasks too.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::{any, get};
use opentelemetry::trace::{SpanId, SpanKind, Status, TraceContextExt, TraceId};
use opentelemetry_sdk::trace::SpanData;
use parker_telemetry::http::{DURATION_BUCKETS, HttpServerLayer, TracedClient};
use parker_telemetry::propagation;
use parker_telemetry::testing::{Capture, SpanDataExt};
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;

const WAIT: Duration = Duration::from_secs(5);

async fn fare(axum::extract::Path(id): axum::extract::Path<String>) -> String {
    tracing::info!(fare = %id, "fare looked up");
    format!("fare {id}")
}

/// Starts the app with the layer on 127.0.0.1:0; the server task dies with the runtime.
async fn serve(capture: &Capture) -> SocketAddr {
    let app = Router::new()
        .route("/fares/{id}", get(fare))
        .route("/boom", get(|| async { StatusCode::INTERNAL_SERVER_ERROR }))
        .route("/teapot", get(|| async { StatusCode::IM_A_TEAPOT }))
        .route("/any", any(|| async { "ok" }))
        .layer(HttpServerLayer::with_meter(&capture.meter()));
    common::serve_app(app).await
}

fn client(capture: &Capture) -> TracedClient {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    TracedClient::with_meter(client, &capture.meter())
}

async fn get_url(client: &TracedClient, url: &str) -> reqwest::Response {
    let request = client.inner().get(url).build().unwrap();
    client.execute(request).await.unwrap()
}

/// Waits for the one finished span of `kind` named `name`.
async fn wait_for(capture: &Capture, kind: SpanKind, name: &str) -> SpanData {
    let spans = capture
        .wait_for_spans(
            |spans| spans.iter().any(|s| s.span_kind == kind && s.name == name),
            WAIT,
        )
        .await;
    spans
        .into_iter()
        .find(|s| s.span_kind == kind && s.name == name)
        .expect("present once wait_for_spans returns")
}

#[tokio::test]
async fn server_span_is_named_method_route_with_semconv_attributes() {
    let capture = Capture::install();
    let addr = serve(&capture).await;
    let http = reqwest::Client::new();
    let response = http
        .get(format!("http://{addr}/fares/42?currency=EUR"))
        .header("user-agent", "parker-test/1.0")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    let span = capture.wait_for_span("GET /fares/{id}", WAIT).await;
    assert_eq!(span.span_kind, SpanKind::Server);
    assert_eq!(span.status, Status::Unset);
    assert_eq!(span.attr("http.request.method").as_deref(), Some("GET"));
    assert_eq!(span.attr("http.route").as_deref(), Some("/fares/{id}"));
    assert_eq!(span.attr("url.path").as_deref(), Some("/fares/42"));
    assert_eq!(span.attr("url.query").as_deref(), Some("currency=EUR"));
    assert_eq!(span.attr("url.scheme").as_deref(), Some("http"));
    assert_eq!(span.attr("server.address").as_deref(), Some("127.0.0.1"));
    assert_eq!(span.attr_i64("server.port"), Some(i64::from(addr.port())));
    assert_eq!(span.attr("client.address").as_deref(), Some("127.0.0.1"));
    assert_eq!(
        span.attr("network.protocol.version").as_deref(),
        Some("1.1")
    );
    assert_eq!(
        span.attr("user_agent.original").as_deref(),
        Some("parker-test/1.0")
    );
    assert_eq!(span.attr_i64("http.response.status_code"), Some(200));
    assert_eq!(span.attr("error.type"), None);
    assert_eq!(span.attr("http.request.method_original"), None);
}

#[tokio::test]
async fn server_url_query_redacts_signature_values() {
    let capture = Capture::install();
    let addr = serve(&capture).await;
    reqwest::get(format!("http://{addr}/fares/1?currency=EUR&sig=s3cr3t"))
        .await
        .unwrap();

    let span = capture.wait_for_span("GET /fares/{id}", WAIT).await;
    assert_eq!(
        span.attr("url.query").as_deref(),
        Some("currency=EUR&sig=REDACTED")
    );
}

#[tokio::test]
async fn server_5xx_sets_error_status_and_error_type() {
    let capture = Capture::install();
    let addr = serve(&capture).await;
    let response = reqwest::get(format!("http://{addr}/boom")).await.unwrap();
    assert_eq!(response.status(), 500);

    let span = capture.wait_for_span("GET /boom", WAIT).await;
    assert!(
        matches!(span.status, Status::Error { .. }),
        "{:?}",
        span.status
    );
    assert_eq!(span.attr("error.type").as_deref(), Some("500"));
    assert_eq!(span.attr_i64("http.response.status_code"), Some(500));
}

#[tokio::test]
async fn server_4xx_leaves_status_unset() {
    let capture = Capture::install();
    let addr = serve(&capture).await;
    let response = reqwest::get(format!("http://{addr}/teapot")).await.unwrap();
    assert_eq!(response.status(), 418);

    let span = capture.wait_for_span("GET /teapot", WAIT).await;
    assert_eq!(span.status, Status::Unset);
    assert_eq!(span.attr("error.type"), None);
    assert_eq!(span.attr_i64("http.response.status_code"), Some(418));
}

#[tokio::test]
async fn server_unmatched_route_is_named_by_method_only_and_404_is_unset() {
    let capture = Capture::install();
    let addr = serve(&capture).await;
    let response = reqwest::get(format!("http://{addr}/nowhere"))
        .await
        .unwrap();
    assert_eq!(response.status(), 404);

    let span = capture.wait_for_span("GET", WAIT).await;
    assert_eq!(span.status, Status::Unset);
    assert_eq!(span.attr("http.route"), None);
    assert_eq!(span.attr("url.path").as_deref(), Some("/nowhere"));
    assert_eq!(span.attr_i64("http.response.status_code"), Some(404));
}

#[tokio::test]
async fn server_unknown_method_is_other_with_original_and_http_span_name() {
    let capture = Capture::install();
    let addr = serve(&capture).await;
    let method = reqwest::Method::from_bytes(b"PURGE").unwrap();
    let response = reqwest::Client::new()
        .request(method, format!("http://{addr}/any"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    let span = capture.wait_for_span("HTTP /any", WAIT).await;
    assert_eq!(span.attr("http.request.method").as_deref(), Some("_OTHER"));
    assert_eq!(
        span.attr("http.request.method_original").as_deref(),
        Some("PURGE")
    );
}

#[tokio::test]
async fn server_continues_the_remote_trace_from_traceparent() {
    let capture = Capture::install();
    let addr = serve(&capture).await;
    reqwest::Client::new()
        .get(format!("http://{addr}/fares/7"))
        .header(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        )
        .header("tracestate", "rojo=00f067aa0ba902b7")
        .send()
        .await
        .unwrap();

    let span = capture.wait_for_span("GET /fares/{id}", WAIT).await;
    let trace_id = TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap();
    assert_eq!(span.span_context.trace_id(), trace_id);
    assert_eq!(
        span.parent_span_id,
        SpanId::from_hex("00f067aa0ba902b7").unwrap()
    );
    assert!(span.parent_span_is_remote);
    assert_eq!(
        span.span_context.trace_state().get("rojo"),
        Some("00f067aa0ba902b7")
    );
}

#[tokio::test]
async fn server_invalid_traceparent_starts_a_new_trace() {
    let capture = Capture::install();
    let addr = serve(&capture).await;
    reqwest::Client::new()
        .get(format!("http://{addr}/fares/7"))
        // Version 00 with a trailing '-': the SDK alone would accept it.
        .header(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",
        )
        .send()
        .await
        .unwrap();

    let span = capture.wait_for_span("GET /fares/{id}", WAIT).await;
    assert!(span.span_context.is_valid());
    assert_ne!(
        span.span_context.trace_id(),
        TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap()
    );
    assert_eq!(span.parent_span_id, SpanId::INVALID);
}

#[tokio::test]
async fn handler_logs_are_correlated_with_the_server_span() {
    let capture = Capture::install();
    let addr = serve(&capture).await;
    reqwest::get(format!("http://{addr}/fares/9"))
        .await
        .unwrap();

    let span = capture.wait_for_span("GET /fares/{id}", WAIT).await;
    let logs = capture.logs();
    let log = logs
        .iter()
        .find(|l| l.record.trace_context().is_some())
        .expect("the handler's tracing event becomes a log record with trace context");
    let trace = log.record.trace_context().unwrap();
    assert_eq!(trace.trace_id, span.span_context.trace_id());
    assert_eq!(trace.span_id, span.span_context.span_id());
}

#[tokio::test]
async fn server_duration_histogram_has_low_cardinality_attributes_and_semconv_buckets() {
    let capture = Capture::install();
    let addr = serve(&capture).await;
    reqwest::get(format!("http://{addr}/fares/1"))
        .await
        .unwrap();
    reqwest::get(format!("http://{addr}/fares/2"))
        .await
        .unwrap();
    reqwest::get(format!("http://{addr}/boom")).await.unwrap();
    capture.wait_for_span("GET /boom", WAIT).await;

    let points = capture.histogram("http.server.request.duration");
    let fares = points
        .iter()
        .find(|p| p.attr("http.route").as_deref() == Some("/fares/{id}"))
        .expect("a point for the fares route");
    assert_eq!(fares.count, 2);
    assert_eq!(fares.bounds, DURATION_BUCKETS.to_vec());
    assert_eq!(fares.attr("http.request.method").as_deref(), Some("GET"));
    assert_eq!(
        fares.attr("http.response.status_code").as_deref(),
        Some("200")
    );
    assert_eq!(fares.attr("url.scheme").as_deref(), Some("http"));
    assert_eq!(fares.attr("url.path"), None, "url.path is high-cardinality");
    assert_eq!(fares.attr("error.type"), None);

    let boom = points
        .iter()
        .find(|p| p.attr("http.route").as_deref() == Some("/boom"))
        .expect("a point for /boom");
    assert_eq!(boom.attr("error.type").as_deref(), Some("500"));
}

#[tokio::test]
async fn client_span_has_semconv_attributes() {
    let capture = Capture::install();
    let addr = serve(&capture).await;
    let client = client(&capture);
    get_url(&client, &format!("http://{addr}/fares/3?currency=EUR")).await;

    let span = capture.span_named("GET");
    assert_eq!(span.span_kind, SpanKind::Client);
    assert_eq!(span.status, Status::Unset);
    assert_eq!(span.attr("http.request.method").as_deref(), Some("GET"));
    assert_eq!(span.attr("server.address").as_deref(), Some("127.0.0.1"));
    assert_eq!(span.attr_i64("server.port"), Some(i64::from(addr.port())));
    assert_eq!(
        span.attr("url.full"),
        Some(format!("http://{addr}/fares/3?currency=EUR"))
    );
    assert_eq!(span.attr_i64("http.response.status_code"), Some(200));
    assert_eq!(
        span.attr("network.protocol.version").as_deref(),
        Some("1.1")
    );
    assert_eq!(
        span.attr("network.peer.address").as_deref(),
        Some("127.0.0.1")
    );
    assert_eq!(
        span.attr_i64("network.peer.port"),
        Some(i64::from(addr.port()))
    );
    assert_eq!(span.attr("error.type"), None);
}

#[tokio::test]
async fn client_4xx_sets_error_status_and_error_type() {
    let capture = Capture::install();
    let addr = serve(&capture).await;
    let client = client(&capture);
    let response = get_url(&client, &format!("http://{addr}/nowhere")).await;
    assert_eq!(response.status(), 404);

    let span = wait_for(&capture, SpanKind::Client, "GET").await;
    assert!(
        matches!(span.status, Status::Error { .. }),
        "{:?}",
        span.status
    );
    assert_eq!(span.attr("error.type").as_deref(), Some("404"));
    // The same 404 is not an error on the server side.
    let server = wait_for(&capture, SpanKind::Server, "GET").await;
    assert_eq!(server.status, Status::Unset);
}

#[tokio::test]
async fn client_connection_refused_is_error_type_connect_with_exception_event() {
    let capture = Capture::install();
    // A port that was just free: bind, read it, close it.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let client = client(&capture);
    let request = client
        .inner()
        .get(format!("http://{closed}/"))
        .build()
        .unwrap();
    assert!(client.execute(request).await.is_err());

    let span = capture.span_named("GET");
    assert!(
        matches!(span.status, Status::Error { .. }),
        "{:?}",
        span.status
    );
    assert_eq!(span.attr("error.type").as_deref(), Some("connect"));
    assert_eq!(span.attr("http.response.status_code"), None);
    assert!(span.event_attrs("exception").is_some());
}

#[tokio::test]
async fn client_transport_error_message_does_not_leak_credentials() {
    let capture = Capture::install();
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let client = client(&capture);
    let url = reqwest::Url::parse(&format!("http://ada:secret@{closed}/")).unwrap();
    assert!(
        client
            .execute(reqwest::Request::new(reqwest::Method::GET, url))
            .await
            .is_err()
    );

    let span = capture.span_named("GET");
    let exception = span.event_attrs("exception").expect("exception event");
    let message = parker_telemetry::testing::find(&exception, "exception.message")
        .map(|v| v.to_string())
        .unwrap_or_default();
    assert!(message.contains("REDACTED:REDACTED@"), "{message}");
    assert!(!message.contains("secret"), "{message}");
    assert!(!format!("{:?}", span.status).contains("secret"));
}

#[tokio::test]
async fn client_templated_request_is_named_method_template() {
    let capture = Capture::install();
    let addr = serve(&capture).await;
    let client = client(&capture);
    let request = client
        .inner()
        .get(format!("http://{addr}/fares/5"))
        .build()
        .unwrap();
    client
        .execute_templated(request, "/fares/{id}")
        .await
        .unwrap();

    let span = wait_for(&capture, SpanKind::Client, "GET /fares/{id}").await;
    assert_eq!(span.attr("url.template").as_deref(), Some("/fares/{id}"));
}

#[tokio::test]
async fn client_url_full_redacts_credentials_and_signatures() {
    let capture = Capture::install();
    let addr = serve(&capture).await;
    let client = client(&capture);
    // reqwest's builder moves credentials into an Authorization header; a
    // Request made from a URL keeps them, and url.full must not show them.
    let url =
        reqwest::Url::parse(&format!("http://ada:secret@{addr}/any?sig=abc&color=blue")).unwrap();
    let request = reqwest::Request::new(reqwest::Method::GET, url);
    client.execute(request).await.unwrap();

    let span = capture.span_named("GET");
    assert_eq!(
        span.attr("url.full"),
        Some(format!(
            "http://REDACTED:REDACTED@{addr}/any?sig=REDACTED&color=blue"
        ))
    );
}

#[tokio::test]
async fn client_to_server_is_one_trace_with_the_client_span_as_parent() {
    let capture = Capture::install();
    let addr = serve(&capture).await;
    let client = client(&capture);
    let checkout = tracing::info_span!("checkout");
    async {
        get_url(&client, &format!("http://{addr}/fares/11")).await;
    }
    .instrument(checkout.clone())
    .await;
    drop(checkout);

    let server = capture.wait_for_span("GET /fares/{id}", WAIT).await;
    let client_span = capture.span_named("GET");
    let root = capture.span_named("checkout");
    let trace_id = root.span_context.trace_id();
    assert_eq!(client_span.span_context.trace_id(), trace_id);
    assert_eq!(server.span_context.trace_id(), trace_id);
    assert_eq!(client_span.parent_span_id, root.span_context.span_id());
    assert_eq!(server.parent_span_id, client_span.span_context.span_id());
    assert!(server.parent_span_is_remote);
}

#[tokio::test]
async fn client_duration_histogram_records_status_and_server() {
    let capture = Capture::install();
    let addr = serve(&capture).await;
    let client = client(&capture);
    get_url(&client, &format!("http://{addr}/teapot")).await;

    let points = capture.histogram("http.client.request.duration");
    assert_eq!(points.len(), 1, "{points:?}");
    let point = &points[0];
    assert_eq!(point.count, 1);
    assert_eq!(point.bounds, DURATION_BUCKETS.to_vec());
    assert_eq!(point.attr("http.request.method").as_deref(), Some("GET"));
    assert_eq!(point.attr("server.address").as_deref(), Some("127.0.0.1"));
    assert_eq!(point.attr("server.port"), Some(addr.port().to_string()));
    assert_eq!(
        point.attr("http.response.status_code").as_deref(),
        Some("418")
    );
    assert_eq!(point.attr("error.type").as_deref(), Some("418"));
}

#[test]
fn inject_current_writes_the_current_span_context() {
    let capture = Capture::install();
    let span = tracing::info_span!("outbound");
    let expected = span.context().span().span_context().clone();
    let mut headers = http::HeaderMap::new();
    span.in_scope(|| propagation::inject_current(&mut headers));
    assert_eq!(
        headers["traceparent"],
        // Sampled, and random (Level 2): a root trace id our SDK drew.
        format!("00-{}-{}-03", expected.trace_id(), expected.span_id()).as_str()
    );
    drop(span);
    assert_eq!(capture.spans().len(), 1);
}

#[test]
fn extract_without_traceparent_is_empty_even_inside_a_span() {
    let _capture = Capture::install();
    let span = tracing::info_span!("local");
    let cx = span.in_scope(|| propagation::extract(&http::HeaderMap::new()));
    assert!(!cx.span().span_context().is_valid());
}
