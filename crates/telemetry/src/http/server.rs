//! [`HttpServerLayer`]: a SERVER span and the `http.server.request.duration`
//! histogram for every request an axum (or any tower) HTTP service handles.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Instant;

use axum::extract::{ConnectInfo, MatchedPath};
use http::{Request, Response};
use opentelemetry::metrics::Meter;
use opentelemetry::trace::{Span as _, SpanKind, Status, TraceContextExt, Tracer};
use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::trace::SdkTracer;
use opentelemetry_semantic_conventions::attribute as semconv;

use super::server_duration::{ServerDuration, Shape, status_attributes};
use super::{DURATION_BUCKETS, Method, protocol_version, redact_query};
use crate::{current_tracer, propagation};

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
/// The span is made with the OpenTelemetry API by the tracer of the current
/// subscriber's [`span_layer`](crate::guard::span_layer) (none installed:
/// no span), and its context is attached while the handler runs: `tracing`
/// spans inside become its children, log records carry its ids, and
/// `opentelemetry::Context::current()` (or [`crate::exception`] with the
/// current `tracing` span) reaches it. `tracing` events directly under it
/// are log records only, not span events.
///
/// Add it with `Router::layer` *after* the routes so `MatchedPath` is known.
/// `client.address` is recorded when the app is served with
/// `into_make_service_with_connect_info::<SocketAddr>()`.
#[derive(Clone)]
pub struct HttpServerLayer {
    duration: ServerDuration,
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
        HttpServerLayer {
            duration: ServerDuration::new(duration),
        }
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
    duration: ServerDuration,
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
        let method = Method::new(request.method());
        // An `Arc<str>` clone: kept for the histogram after the request moves on.
        let matched = request.extensions().get::<MatchedPath>().cloned();
        let route = matched.as_ref().map(MatchedPath::as_str);
        let scheme = scheme(&request);
        let version = protocol_version(request.version());
        let cx = current_tracer::with_current_tracer(|tracer| {
            start_span(tracer, &request, method, route, scheme, version)
        });
        // This server speaks HTTP (TLS terminates in front of it): an
        // absolute-form target naming another scheme still came over HTTP.
        let shape = Shape {
            method: method.normalized,
            scheme: if scheme == "https" { "https" } else { "http" },
            version,
            status: None,
        };
        // Not attached here: an axum handler and its extractors run when the
        // response future is polled (inside the span's context, below).
        let inner = self.inner.call(request);
        ResponseFuture {
            inner,
            state: Some(Finish {
                cx,
                start,
                route: matched,
                shape,
                duration: self.duration.clone(),
            }),
        }
    }
}

struct Finish {
    /// The context holding the server span; `None` when no tracer is
    /// installed (telemetry off), and then nothing is traced.
    cx: Option<opentelemetry::Context>,
    start: Instant,
    route: Option<MatchedPath>,
    shape: Shape,
    duration: ServerDuration,
}

pin_project_lite::pin_project! {
    /// Future of [`HttpServerService`]: polls the inner future with the server
    /// span's context attached, then records status and duration.
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
            let _attached = this
                .state
                .as_ref()
                .and_then(|s| s.cx.clone())
                .map(opentelemetry::Context::attach);
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
    /// A request dropped before it finished (the client went away) records
    /// no duration; its span ends when the context is dropped.
    fn record(mut self, status: Option<u16>) {
        let elapsed = self.start.elapsed().as_secs_f64();
        self.shape.status = status;
        if let Some(cx) = &self.cx {
            let span = cx.span();
            for attribute in status_attributes(status) {
                span.set_attribute(attribute);
            }
            match status {
                Some(code) if code >= 500 => span.set_status(Status::error(format!("HTTP {code}"))),
                Some(_) => {}
                None => span.set_status(Status::error("the service failed without a response")),
            }
            span.end();
        }
        let route = self.route.as_ref().map(MatchedPath::as_str);
        self.duration.record(elapsed, route, self.shape);
    }
}

/// The URL scheme of the request. Origin-form requests carry none; this
/// server speaks plain HTTP (TLS terminates in front of it), so that is the
/// scheme of the peer request.
fn scheme<B>(request: &Request<B>) -> &str {
    request.uri().scheme_str().unwrap_or("http")
}

/// The most attributes a server span gets (status code and error type
/// included).
const SERVER_SPAN_ATTRIBUTES: usize = 17;

/// Starts the SERVER span, parented on the extracted remote context, and
/// returns that context with the span in it.
fn start_span<B>(
    tracer: &SdkTracer,
    request: &Request<B>,
    method: Method<'_>,
    route: Option<&str>,
    scheme: &str,
    version: Option<&'static str>,
) -> opentelemetry::Context {
    let uri = request.uri();
    let (host, port) = server_host_port(request);
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| *addr);

    let mut name = String::with_capacity(8 + route.map_or(0, str::len));
    name.push_str(method.for_span_name());
    if let Some(route) = route {
        name.push(' ');
        name.push_str(route);
    }

    // A server span's parent is only ever the remote caller, never whatever
    // context happens to be current in this process.
    let parent = remote_context(request.headers()).unwrap_or_default();
    // Room for every attribute up front: the SDK keeps this vector, and
    // growing it attribute by attribute costs more than the pushes.
    let mut span = tracer
        .span_builder(name)
        .with_kind(SpanKind::Server)
        .with_attributes(Vec::with_capacity(SERVER_SPAN_ATTRIBUTES))
        .start_with_context(tracer, &parent);
    // Attributes only for a span that records: an unsampled request should
    // not pay for a dozen strings. The samplers `init` configures decide on
    // the trace id and parent alone, so they miss nothing by not seeing them.
    if span.is_recording() {
        let mut attributes = Vec::with_capacity(SERVER_SPAN_ATTRIBUTES);
        let mut add = |key: &'static str, value: Value| attributes.push(KeyValue::new(key, value));
        add(semconv::HTTP_REQUEST_METHOD, method.normalized.into());
        if let Some(original) = method.original {
            add(
                semconv::HTTP_REQUEST_METHOD_ORIGINAL,
                original.to_owned().into(),
            );
        }
        if let Some(route) = route {
            add(semconv::HTTP_ROUTE, route.to_owned().into());
        }
        add(semconv::URL_PATH, uri.path().to_owned().into());
        if let Some(query) = uri.query() {
            let query = redact_query(query).unwrap_or_else(|| query.to_owned());
            add(semconv::URL_QUERY, query.into());
        }
        add(
            semconv::URL_SCHEME,
            match scheme {
                "http" => "http".into(),
                "https" => "https".into(),
                other => other.to_owned().into(),
            },
        );
        if let Some(host) = host {
            add(semconv::SERVER_ADDRESS, host.to_owned().into());
        }
        if let Some(port) = port {
            add(semconv::SERVER_PORT, i64::from(port).into());
        }
        if let Some(peer) = peer {
            // One string shared by both attributes that carry the address.
            let ip: Arc<str> = ip_string(peer.ip()).into();
            add(semconv::CLIENT_ADDRESS, Value::String(ip.clone().into()));
            add(semconv::NETWORK_PEER_ADDRESS, Value::String(ip.into()));
            add(semconv::NETWORK_PEER_PORT, i64::from(peer.port()).into());
        }
        if let Some(version) = version {
            add(semconv::NETWORK_PROTOCOL_VERSION, version.into());
        }
        if let Some(user_agent) = request
            .headers()
            .get(http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
        {
            add(semconv::USER_AGENT_ORIGINAL, user_agent.to_owned().into());
        }
        span.set_attributes(attributes);
    }
    parent.with_span(span)
}

/// `ip` as text, IPv4 without the formatting machinery: `Display` costs a
/// tenth of the whole server span, for an address every request carries.
fn ip_string(ip: IpAddr) -> String {
    let IpAddr::V4(v4) = ip else {
        return ip.to_string();
    };
    let mut out = String::with_capacity(15);
    for (i, octet) in v4.octets().into_iter().enumerate() {
        if i > 0 {
            out.push('.');
        }
        if octet >= 100 {
            out.push(char::from(b'0' + octet / 100));
        }
        if octet >= 10 {
            out.push(char::from(b'0' + octet / 10 % 10));
        }
        out.push(char::from(b'0' + octet % 10));
    }
    out
}

/// The caller's context, when the request carries any header the
/// propagator reads (`traceparent`, `baggage`, ...). Most requests carry
/// none; for them this skips extraction and the span stays a root.
fn remote_context(headers: &http::HeaderMap) -> Option<opentelemetry::Context> {
    opentelemetry::global::get_text_map_propagator(|propagator| {
        // The request's few header names against the propagator's fields:
        // a `contains_key` per field would parse and hash each field name
        // on every request.
        headers
            .keys()
            .any(|name| propagator.fields().any(|field| name.as_str() == field))
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    #[test]
    fn ip_string_writes_what_display_writes() {
        for octet in 0..=255u8 {
            for ip in [
                Ipv4Addr::new(octet, 0, 10, 255),
                Ipv4Addr::new(127, octet, 1, 9),
                Ipv4Addr::new(1, 99, octet, 100),
                Ipv4Addr::new(10, 200, 250, octet),
            ] {
                assert_eq!(ip_string(IpAddr::V4(ip)), ip.to_string());
            }
        }
        let v6 = IpAddr::V6(Ipv6Addr::LOCALHOST);
        assert_eq!(ip_string(v6), "::1");
        let mapped = IpAddr::V6(Ipv4Addr::new(127, 0, 0, 1).to_ipv6_mapped());
        assert_eq!(ip_string(mapped), "::ffff:127.0.0.1");
    }
}
