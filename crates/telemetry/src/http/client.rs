//! [`TracedClient`]: a CLIENT span, context injection and the
//! `http.client.request.duration` histogram around each reqwest request.

use std::backtrace::Backtrace;
use std::time::Instant;

use opentelemetry::KeyValue;
use opentelemetry::metrics::{Histogram, Meter};
use opentelemetry::trace::{Status, TraceContextExt};
use opentelemetry_semantic_conventions::attribute as semconv;
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use super::{DURATION_BUCKETS, Method, protocol_version, redact_query};
use crate::{exception, propagation};

/// A `reqwest::Client` whose requests are traced per the stable HTTP client
/// semantic conventions: span `{method}` (or `{method} {url.template}`), the
/// current span's context injected as `traceparent`/`tracestate`/`baggage`,
/// status Error for responses ≥ 400 and transport errors (with `error.type`).
/// One span covers the whole `execute` call, redirects included, so `url.full`
/// is the URL originally requested.
#[derive(Clone)]
pub struct TracedClient {
    client: reqwest::Client,
    duration: Histogram<f64>,
}

impl TracedClient {
    /// Records the histogram with the global meter provider.
    pub fn new(client: reqwest::Client) -> Self {
        Self::with_meter(
            client,
            &opentelemetry::global::meter_with_scope(super::scope()),
        )
    }

    /// Records the histogram with `meter` (tests pass `Capture::meter()`).
    pub fn with_meter(client: reqwest::Client, meter: &Meter) -> Self {
        let duration = meter
            .f64_histogram(opentelemetry_semantic_conventions::metric::HTTP_CLIENT_REQUEST_DURATION)
            .with_unit("s")
            .with_description("Duration of HTTP client requests.")
            .with_boundaries(DURATION_BUCKETS.to_vec())
            .build();
        TracedClient { client, duration }
    }

    /// The wrapped client, e.g. to build requests with `get(url).build()`.
    pub fn inner(&self) -> &reqwest::Client {
        &self.client
    }

    /// Sends `request` inside a CLIENT span named `{method}`.
    pub async fn execute(&self, request: reqwest::Request) -> reqwest::Result<reqwest::Response> {
        self.send(request, None).await
    }

    /// Sends `request` inside a CLIENT span named `{method} {url_template}`
    /// (`url.template` must be low-cardinality, e.g. `/fares/{id}`).
    pub async fn execute_templated(
        &self,
        request: reqwest::Request,
        url_template: &str,
    ) -> reqwest::Result<reqwest::Response> {
        self.send(request, Some(url_template)).await
    }

    async fn send(
        &self,
        mut request: reqwest::Request,
        template: Option<&str>,
    ) -> reqwest::Result<reqwest::Response> {
        let start = Instant::now();
        let request_method = request.method().clone();
        let method = Method::new(&request_method);
        let url = request.url();
        let host = url.host_str().map(str::to_owned);
        let port = url.port_or_known_default();
        let scheme = url.scheme().to_owned();
        let name = match template {
            Some(template) => format!("{} {template}", method.for_span_name()),
            None => method.for_span_name().to_owned(),
        };
        let span = tracing::info_span!(
            target: "parker_telemetry::http::client",
            "HTTP client request",
            otel.name = name,
            otel.kind = "client",
            http.request.method = method.normalized,
            http.request.method_original = method.original,
            server.address = host.as_deref(),
            server.port = port.map(i64::from),
            url.full = redacted_url(url).as_str(),
            url.scheme = scheme.as_str(),
            url.template = template,
            network.protocol.version = tracing::field::Empty,
            network.peer.address = tracing::field::Empty,
            network.peer.port = tracing::field::Empty,
            http.response.status_code = tracing::field::Empty,
            error.type = tracing::field::Empty,
        );
        // A span filtered out by the subscriber has no context of its own;
        // then pass on the caller's so the trace still continues downstream.
        let cx = span.context();
        let cx = if cx.span().span_context().is_valid() {
            cx
        } else {
            propagation::current_context()
        };
        propagation::inject(&cx, request.headers_mut());

        let mut attributes = Vec::with_capacity(7);
        attributes.push(KeyValue::new(
            semconv::HTTP_REQUEST_METHOD,
            method.normalized,
        ));
        if let Some(host) = host {
            attributes.push(KeyValue::new(semconv::SERVER_ADDRESS, host));
        }
        if let Some(port) = port {
            attributes.push(KeyValue::new(semconv::SERVER_PORT, i64::from(port)));
        }
        if let Some(template) = template {
            attributes.push(KeyValue::new(semconv::URL_TEMPLATE, template.to_owned()));
        }

        let result = self.client.execute(request).instrument(span.clone()).await;
        match &result {
            Ok(response) => {
                let code = response.status().as_u16();
                span.record(semconv::HTTP_RESPONSE_STATUS_CODE, i64::from(code));
                attributes.push(KeyValue::new(
                    semconv::HTTP_RESPONSE_STATUS_CODE,
                    i64::from(code),
                ));
                if let Some(peer) = response.remote_addr() {
                    span.record(semconv::NETWORK_PEER_ADDRESS, peer.ip().to_string());
                    span.record(semconv::NETWORK_PEER_PORT, i64::from(peer.port()));
                }
                if let Some(version) = protocol_version(response.version()) {
                    span.record(semconv::NETWORK_PROTOCOL_VERSION, version);
                    attributes.push(KeyValue::new(semconv::NETWORK_PROTOCOL_VERSION, version));
                }
                if code >= 400 {
                    let code = code.to_string();
                    span.record(semconv::ERROR_TYPE, code.as_str());
                    span.set_status(Status::error(format!("HTTP {code}")));
                    attributes.push(KeyValue::new(semconv::ERROR_TYPE, code));
                }
            }
            Err(error) => {
                let kind = transport_error_type(error);
                span.record(semconv::ERROR_TYPE, kind);
                // reqwest's message embeds the URL as given, credentials included.
                let mut message = exception::error_chain(error);
                if let Some(url) = error.url() {
                    message = message.replace(url.as_str(), &redacted_url(url));
                }
                exception::record_message(
                    &span,
                    std::any::type_name::<reqwest::Error>(),
                    message,
                    &Backtrace::capture(),
                );
                attributes.push(KeyValue::new(semconv::ERROR_TYPE, kind));
            }
        }
        self.duration
            .record(start.elapsed().as_secs_f64(), &attributes);
        result
    }
}

/// The low-cardinality `error.type` values this client reports for failures
/// without a response: `timeout`, `connect`, `redirect`, `body`, `decode`,
/// `builder`, `request`, else `_OTHER`.
fn transport_error_type(error: &reqwest::Error) -> &'static str {
    if error.is_timeout() {
        "timeout"
    } else if error.is_connect() {
        "connect"
    } else if error.is_redirect() {
        "redirect"
    } else if error.is_body() {
        "body"
    } else if error.is_decode() {
        "decode"
    } else if error.is_builder() {
        "builder"
    } else if error.is_request() {
        "request"
    } else {
        "_OTHER"
    }
}

/// `url.full` per semconv: credentials become `REDACTED:REDACTED`, values of
/// known signature/credential query parameters become `REDACTED`.
pub(crate) fn redacted_url(url: &reqwest::Url) -> String {
    let mut url = url.clone();
    if !url.username().is_empty() {
        let _ = url.set_username("REDACTED");
    }
    if url.password().is_some() {
        let _ = url.set_password(Some("REDACTED"));
    }
    if let Some(query) = url.query().and_then(redact_query) {
        url.set_query(Some(&query));
    }
    url.to_string()
}
