//! HTTP semantic conventions (semconv 1.4x, stable HTTP spans and metrics):
//! [`HttpServerLayer`] for axum/tower servers and [`TracedClient`] for reqwest.
//!
//! The client span is a `tracing` span (bridged to OpenTelemetry by
//! tracing-opentelemetry). The server span, which every request pays for, is
//! made with the OpenTelemetry API (a fifth of the cost, see
//! [`crate::current_tracer`]) and its context attached while the handler
//! runs, so handler spans, log records and [`crate::propagation`] see it.
//!
//! Why our own and not the contrib crates: `opentelemetry-instrumentation-tower`
//! 0.19 (the one that targets opentelemetry 0.33) creates its spans from the global
//! tracer (so per-thread test pipelines cannot capture them) and omits
//! `error.type`, `server.address`/`server.port`, `client.address`, uses the raw
//! method in span names for unknown methods and an empty `url.scheme` for
//! origin-form requests. `reqwest-tracing` 0.7 supports opentelemetry only up to
//! 0.32. Both layers here are small; the spec rules live in this module.

mod client;
mod server;
mod server_duration;

pub use client::TracedClient;
pub use server::{HttpServerLayer, HttpServerService, ResponseFuture};

use opentelemetry::InstrumentationScope;

/// Explicit bucket boundaries advised by semconv for
/// `http.{server,client}.request.duration` (seconds).
pub const DURATION_BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

/// The instrumentation scope our HTTP spans' metrics are reported under.
pub(crate) fn scope() -> InstrumentationScope {
    InstrumentationScope::builder("parker-telemetry")
        .with_version(env!("CARGO_PKG_VERSION"))
        .with_schema_url(opentelemetry_semantic_conventions::SCHEMA_URL)
        .build()
}

/// A request method as semconv wants it: one of the known methods, or `_OTHER`
/// with the original kept for `http.request.method_original`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Method<'a> {
    /// Value for `http.request.method` (a known method or `_OTHER`).
    pub(crate) normalized: &'static str,
    /// The method as received, when it differs from `normalized`.
    pub(crate) original: Option<&'a str>,
}

impl<'a> Method<'a> {
    pub(crate) fn new(method: &'a http::Method) -> Self {
        let normalized = match *method {
            http::Method::GET => "GET",
            http::Method::POST => "POST",
            http::Method::PUT => "PUT",
            http::Method::DELETE => "DELETE",
            http::Method::HEAD => "HEAD",
            http::Method::OPTIONS => "OPTIONS",
            http::Method::PATCH => "PATCH",
            http::Method::TRACE => "TRACE",
            http::Method::CONNECT => "CONNECT",
            _ if method.as_str() == "QUERY" => "QUERY",
            _ => "_OTHER",
        };
        let original = (normalized != method.as_str()).then_some(method.as_str());
        Method {
            normalized,
            original,
        }
    }

    /// The method part of a span name: semconv uses `HTTP` for unknown methods.
    pub(crate) fn for_span_name(&self) -> &'static str {
        if self.normalized == "_OTHER" {
            "HTTP"
        } else {
            self.normalized
        }
    }
}

/// `network.protocol.version` for an HTTP version.
pub(crate) fn protocol_version(version: http::Version) -> Option<&'static str> {
    match version {
        http::Version::HTTP_09 => Some("0.9"),
        http::Version::HTTP_10 => Some("1.0"),
        http::Version::HTTP_11 => Some("1.1"),
        http::Version::HTTP_2 => Some("2"),
        http::Version::HTTP_3 => Some("3"),
        _ => None,
    }
}

/// Query parameters whose values semconv says to redact in `url.full` and
/// `url.query` (signatures and credentials of pre-signed URLs).
const SENSITIVE_QUERY_KEYS: [&str; 5] = [
    "X-Amz-Signature",
    "X-Amz-Credential",
    "X-Amz-Security-Token",
    "sig",
    "X-Goog-Signature",
];

/// `query` with the values of [`SENSITIVE_QUERY_KEYS`] replaced by `REDACTED`
/// (keys kept), or `None` when nothing needs redacting.
pub(crate) fn redact_query(query: &str) -> Option<String> {
    let sensitive =
        |pair: &str| SENSITIVE_QUERY_KEYS.contains(&pair.split('=').next().unwrap_or(""));
    if !query.split('&').any(sensitive) {
        return None;
    }
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key, _)) if SENSITIVE_QUERY_KEYS.contains(&key) => format!("{key}=REDACTED"),
            _ => pair.to_owned(),
        })
        .collect();
    Some(pairs.join("&"))
}
