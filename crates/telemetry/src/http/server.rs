//! [`HttpServerLayer`]: a SERVER span and the `http.server.request.duration`
//! histogram for every request an axum (or any tower) HTTP service handles.

use std::borrow::Cow;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Instant;

use axum::extract::{ConnectInfo, MatchedPath};
use http::{Request, Response};
use opentelemetry::metrics::{Histogram, Meter};
use opentelemetry::trace::Status;
use opentelemetry::{KeyValue, Value};
use opentelemetry_semantic_conventions::attribute as semconv;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use super::{DURATION_BUCKETS, Method, protocol_version, redact_query};
use crate::propagation;

/// tower `Layer` that traces and measures inbound HTTP requests per the stable
/// HTTP server semantic conventions.
///
/// Span name `{method} {route}` with the route template from axum's
/// [`MatchedPath`] (`{method}` alone when no route matched; `HTTP` stands in for
/// unknown methods). The parent comes from the request's `traceparent`
/// ([`propagation::extract`]); without a valid one the span starts a new trace.
/// Status is Error for 5xx only (a 4xx is the client's fault), with
/// `error.type` set to the status code.
///
/// Add it with `Router::layer` *after* the routes so `MatchedPath` is known.
/// `client.address` is recorded when the app is served with
/// `into_make_service_with_connect_info::<SocketAddr>()`.
#[derive(Clone)]
pub struct HttpServerLayer {
    duration: Histogram<f64>,
}

impl HttpServerLayer {
    /// Records the histogram with the global meter provider.
    pub fn new() -> Self {
        Self::with_meter(&opentelemetry::global::meter_with_scope(super::scope()))
    }

    /// Records the histogram with `meter` (tests pass `Capture::meter()`).
    pub fn with_meter(meter: &Meter) -> Self {
        let duration = meter
            .f64_histogram(opentelemetry_semantic_conventions::metric::HTTP_SERVER_REQUEST_DURATION)
            .with_unit("s")
            .with_description("Duration of HTTP server requests.")
            .with_boundaries(DURATION_BUCKETS.to_vec())
            .build();
        HttpServerLayer { duration }
    }
}

impl Default for HttpServerLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl<S> tower::Layer<S> for HttpServerLayer {
    type Service = HttpServerService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        HttpServerService {
            inner,
            duration: self.duration.clone(),
        }
    }
}

/// The service [`HttpServerLayer`] wraps around an inner service.
#[derive(Clone)]
pub struct HttpServerService<S> {
    inner: S,
    duration: Histogram<f64>,
}

impl<S, B, RB> tower::Service<Request<B>> for HttpServerService<S>
where
    S: tower::Service<Request<B>, Response = Response<RB>>,
{
    type Response = Response<RB>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let start = Instant::now();
        let (span, metric_attributes) = request_span(&request);
        // Not entered here: an axum handler and its extractors run when the
        // response future is polled (inside the span, below), and every
        // enter/exit costs the OTel layer a context switch.
        let inner = self.inner.call(request);
        ResponseFuture {
            inner,
            state: Some(Finish {
                span,
                start,
                metric_attributes,
                duration: self.duration.clone(),
            }),
        }
    }
}

struct Finish {
    span: tracing::Span,
    start: Instant,
    metric_attributes: Vec<KeyValue>,
    duration: Histogram<f64>,
}

pin_project_lite::pin_project! {
    /// Future of [`HttpServerService`]: polls the inner future inside the
    /// server span, then records status and duration.
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        state: Option<Finish>,
    }
}

impl<F, RB, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<RB>, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = {
            let _entered = this.state.as_ref().map(|s| s.span.enter());
            ready!(this.inner.poll(cx))
        };
        if let Some(finish) = this.state.take() {
            finish.record(result.as_ref().map(|r| r.status().as_u16()).ok());
        }
        Poll::Ready(result)
    }
}

impl Finish {
    /// `status` is `None` when the inner service failed without a response.
    fn record(mut self, status: Option<u16>) {
        let elapsed = self.start.elapsed().as_secs_f64();
        match status {
            Some(code) => {
                self.span
                    .record(semconv::HTTP_RESPONSE_STATUS_CODE, i64::from(code));
                self.metric_attributes.push(KeyValue::new(
                    semconv::HTTP_RESPONSE_STATUS_CODE,
                    i64::from(code),
                ));
                if code >= 500 {
                    let code = code.to_string();
                    self.span.record(semconv::ERROR_TYPE, code.as_str());
                    self.span.set_status(Status::error(format!("HTTP {code}")));
                    self.metric_attributes
                        .push(KeyValue::new(semconv::ERROR_TYPE, code));
                }
            }
            None => {
                // No response and no low-cardinality error name to give: semconv's fallback.
                self.span.record(semconv::ERROR_TYPE, "_OTHER");
                self.span
                    .set_status(Status::error("the service failed without a response"));
                self.metric_attributes
                    .push(KeyValue::new(semconv::ERROR_TYPE, "_OTHER"));
            }
        }
        self.duration.record(elapsed, &self.metric_attributes);
    }
}

/// Builds the server span (parented on the extracted remote context) and the
/// request-side metric attributes.
fn request_span<B>(request: &Request<B>) -> (tracing::Span, Vec<KeyValue>) {
    let method = Method::new(request.method());
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(MatchedPath::as_str);
    let uri = request.uri();
    // Origin-form requests carry no scheme; this server speaks plain HTTP
    // (TLS terminates in front of it), so that is the scheme of the peer request.
    let scheme = uri.scheme_str().unwrap_or("http");
    let (host, port) = server_host_port(request);
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| *addr);
    // Formatted once for both attributes that carry it.
    let peer_ip = peer.map(|p| p.ip().to_string());
    let version = protocol_version(request.version());
    let query = uri
        .query()
        .map(|q| redact_query(q).map_or(Cow::Borrowed(q), Cow::Owned));
    let user_agent = request
        .headers()
        .get(http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok());

    let name = match route {
        Some(route) => format!("{} {route}", method.for_span_name()),
        None => method.for_span_name().to_owned(),
    };
    let span = tracing::info_span!(
        target: "parker_telemetry::http::server",
        // A server span's parent is only ever the remote caller, never
        // whatever span happens to be current in this process.
        parent: None,
        "HTTP request",
        otel.name = name,
        otel.kind = "server",
        http.request.method = method.normalized,
        http.request.method_original = method.original,
        http.route = route,
        url.path = uri.path(),
        url.query = query.as_deref(),
        url.scheme = scheme,
        server.address = host,
        server.port = port.map(i64::from),
        client.address = peer_ip.as_deref(),
        network.peer.address = peer_ip.as_deref(),
        network.peer.port = peer.map(|p| i64::from(p.port())),
        network.protocol.version = version,
        user_agent.original = user_agent,
        http.response.status_code = tracing::field::Empty,
        error.type = tracing::field::Empty,
    );
    if let Some(remote) = remote_context(request.headers()) {
        let _ = span.set_parent(remote);
    }

    let mut attributes = Vec::with_capacity(7);
    attributes.push(KeyValue::new(
        semconv::HTTP_REQUEST_METHOD,
        method.normalized,
    ));
    let scheme = match scheme {
        "http" => Value::from("http"),
        "https" => Value::from("https"),
        other => Value::from(other.to_owned()),
    };
    attributes.push(KeyValue::new(semconv::URL_SCHEME, scheme));
    if let Some(route) = route {
        attributes.push(KeyValue::new(semconv::HTTP_ROUTE, route.to_owned()));
    }
    if let Some(version) = version {
        attributes.push(KeyValue::new(semconv::NETWORK_PROTOCOL_VERSION, version));
    }
    (span, attributes)
}

/// The caller's context, when the request carries any header the
/// propagator reads (`traceparent`, `baggage`, ...). Most requests carry
/// none; for them this skips extraction and the span stays a root.
fn remote_context(headers: &http::HeaderMap) -> Option<opentelemetry::Context> {
    opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator
            .fields()
            .any(|field| headers.contains_key(field))
            .then(|| propagation::extract_with(propagator, headers))
    })
}

/// `server.address`/`server.port` from the absolute-form target, the HTTP/2
/// `:authority` (both land in the URI) or the `Host` header.
fn server_host_port<B>(request: &Request<B>) -> (Option<&str>, Option<u16>) {
    if let Some(authority) = request.uri().authority() {
        return (Some(authority.host()), authority.port_u16());
    }
    let Some(host) = request
        .headers()
        .get(http::header::HOST)
        .and_then(|v| v.to_str().ok())
    else {
        return (None, None);
    };
    split_host_port(host)
}

/// Splits `host[:port]`, including bracketed IPv6 literals (`[::1]:8080`).
fn split_host_port(value: &str) -> (Option<&str>, Option<u16>) {
    if let Some(rest) = value.strip_prefix('[') {
        let Some((ip, after)) = rest.split_once(']') else {
            return (Some(value), None);
        };
        let port = after.strip_prefix(':').and_then(|p| p.parse().ok());
        return (Some(ip), port);
    }
    match value.rsplit_once(':') {
        Some((host, port)) => match port.parse() {
            Ok(port) => (Some(host), Some(port)),
            Err(_) => (Some(value), None),
        },
        None => (Some(value), None),
    }
}
