//! The OTLP span exporter for gRPC and HTTP/protobuf: encodes each batch
//! with [`wire`](super::wire) (no per-span conversion into prost structs,
//! see there for the numbers) into a reused buffer and sends those bytes,
//! retrying what the OTLP spec calls retryable within the batch's budget.
//!
//! opentelemetry-otlp stays in charge of OTLP/HTTP JSON and of metrics and
//! logs; this file replaces only its span exporters, with the same
//! transport (`otlp::grpc_channel`, `otlp::http_client`), headers,
//! compression and retry policy.

mod retry;

use super::outage::Outage;
use super::wire::TraceEncoder;
use bytes::{BufMut, Bytes};
use opentelemetry_http::HttpClient;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceResponse,
};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use prost::Message;
use retry::{Backoff, Verdict};
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::metadata::MetadataMap;
use tonic::transport::Channel;

const USER_AGENT: &str = concat!("parker-telemetry/", env!("CARGO_PKG_VERSION"));
const GRPC_SERVICE: &str = "opentelemetry.proto.collector.trace.v1.TraceService";
const GRPC_PATH: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

/// Where and how batches go.
pub(crate) enum Transport {
    Grpc {
        client: tonic::client::Grpc<Channel>,
        /// The configured headers, as gRPC metadata.
        metadata: MetadataMap,
    },
    HttpProtobuf {
        client: Arc<dyn HttpClient>,
        /// The traces URL (`…/v1/traces`).
        uri: http::Uri,
        headers: http::HeaderMap,
        gzip: bool,
    },
}

impl Transport {
    /// OTLP/gRPC over `channel`; tonic compresses the messages when `gzip`.
    pub(crate) fn grpc(channel: Channel, metadata: MetadataMap, gzip: bool) -> Self {
        let mut client = tonic::client::Grpc::new(channel);
        if gzip {
            client = client
                .send_compressed(tonic::codec::CompressionEncoding::Gzip)
                .accept_compressed(tonic::codec::CompressionEncoding::Gzip);
        }
        Transport::Grpc { client, metadata }
    }
}

/// The span exporter; build with [`TraceExporter::new`].
pub(crate) struct TraceExporter {
    transport: Transport,
    /// The configured endpoint, for messages.
    endpoint: String,
    backoff: Backoff,
    /// How long one batch may keep retrying (`otlp::retry_budget`).
    budget: Duration,
    /// Told about every attempt and every failed one.
    outage: Arc<Outage>,
    /// Exports are sequential (the batch processor awaits each), so the
    /// lock is never contended; it only makes the buffers reusable.
    buffers: Mutex<Buffers>,
    shut_down: AtomicBool,
}

#[derive(Default)]
struct Buffers {
    encoder: TraceEncoder,
    body: Vec<u8>,
    gzip: Vec<u8>,
}

impl std::fmt::Debug for TraceExporter {
    // Headers may hold credentials: name the endpoint only.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TraceExporter")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

impl TraceExporter {
    pub(crate) fn new(
        transport: Transport,
        endpoint: String,
        backoff: Backoff,
        budget: Duration,
        outage: Arc<Outage>,
    ) -> Self {
        TraceExporter {
            transport,
            endpoint,
            backoff,
            budget,
            outage,
            buffers: Mutex::new(Buffers::default()),
            shut_down: AtomicBool::new(false),
        }
    }

    /// The request body: encoded, gzipped for OTLP/HTTP when configured
    /// (tonic compresses gRPC messages itself). One copy per batch leaves
    /// the buffers here for the next one.
    fn body(&self, batch: &[SpanData]) -> Result<Bytes, OTelSdkError> {
        let mut buffers = self
            .buffers
            .lock()
            .map_err(|_| OTelSdkError::InternalFailure("trace encoder lock poisoned".into()))?;
        let Buffers {
            encoder,
            body,
            gzip,
        } = &mut *buffers;
        encoder
            .encode(batch, body)
            .map_err(|e| OTelSdkError::InternalFailure(e.to_string()))?;
        if let Transport::HttpProtobuf { gzip: true, .. } = self.transport {
            gzip.clear();
            let mut enc = flate2::write::GzEncoder::new(&mut *gzip, flate2::Compression::default());
            enc.write_all(body)
                .and_then(|()| enc.finish().map(drop))
                .map_err(|e| OTelSdkError::InternalFailure(format!("gzip failed: {e}")))?;
            return Ok(Bytes::copy_from_slice(gzip));
        }
        Ok(Bytes::copy_from_slice(body))
    }

    async fn send_grpc(
        &self,
        client: &tonic::client::Grpc<Channel>,
        metadata: &MetadataMap,
        body: Bytes,
    ) -> OTelSdkResult {
        let outage = &*self.outage;
        let outcome = retry::with_backoff(&self.backoff, self.budget, classify_grpc, || {
            let mut grpc = client.clone();
            let body = body.clone();
            outage.attempt();
            let attempt = async move {
                // Only fails once the channel's worker is gone.
                grpc.ready()
                    .await
                    .map_err(|e| tonic::Status::unavailable(format!("channel not ready: {e}")))?;
                let mut request =
                    tonic::Request::from_parts(metadata.clone(), tonic::Extensions::new(), body);
                request
                    .extensions_mut()
                    .insert(tonic::GrpcMethod::new(GRPC_SERVICE, "Export"));
                grpc.unary(
                    request,
                    http::uri::PathAndQuery::from_static(GRPC_PATH),
                    PreEncoded,
                )
                .await
            };
            async move { report(outage, attempt.await) }
        })
        .await;
        match outcome {
            Ok(response) => {
                warn_partial_success(&self.endpoint, response.into_inner().partial_success);
                Ok(())
            }
            Err((status, retries)) => Err(OTelSdkError::InternalFailure(format!(
                "OTLP/gRPC trace export to {} failed{}: {}",
                self.endpoint,
                after(retries),
                grpc_failure(&status)
            ))),
        }
    }

    async fn send_http(
        &self,
        client: &dyn HttpClient,
        uri: &http::Uri,
        headers: &http::HeaderMap,
        gzip: bool,
        body: Bytes,
    ) -> OTelSdkResult {
        let outage = &*self.outage;
        let outcome = retry::with_backoff(&self.backoff, self.budget, classify_http, || {
            outage.attempt();
            let mut request = http::Request::new(body.clone());
            *request.method_mut() = http::Method::POST;
            *request.uri_mut() = uri.clone();
            let h = request.headers_mut();
            h.extend(headers.clone());
            // OTLP exporters identify themselves (configured headers win).
            h.entry(http::header::USER_AGENT)
                .or_insert(http::HeaderValue::from_static(USER_AGENT));
            h.insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static("application/x-protobuf"),
            );
            if gzip {
                h.insert(
                    http::header::CONTENT_ENCODING,
                    http::HeaderValue::from_static("gzip"),
                );
            }
            let attempt = async move {
                let response = client
                    .send_bytes(request)
                    .await
                    .map_err(|e| HttpFailure::Transport(error_chain(&*e)))?;
                let status = response.status();
                if status.is_success() {
                    return Ok(response.into_body());
                }
                let retry_after = response
                    .headers()
                    .get(http::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(retry::parse_retry_after);
                Err(HttpFailure::Status {
                    status,
                    retry_after,
                })
            };
            async move { report(outage, attempt.await) }
        })
        .await;
        match outcome {
            Ok(body) => {
                // Undecodable or empty bodies are fine: the batch was accepted.
                if let Ok(response) = ExportTraceServiceResponse::decode(body) {
                    warn_partial_success(&self.endpoint, response.partial_success);
                }
                Ok(())
            }
            Err((failure, retries)) => Err(OTelSdkError::InternalFailure(format!(
                "OTLP/HTTP trace export to {} failed{}: {}",
                self.endpoint,
                after(retries),
                match failure {
                    HttpFailure::Status { status, .. } => format!("HTTP status {status}"),
                    HttpFailure::Transport(e) => e,
                }
            ))),
        }
    }
}

impl SpanExporter for TraceExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        if self.shut_down.load(Ordering::Acquire) {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        let body = self.body(&batch)?;
        drop(batch);
        match &self.transport {
            Transport::Grpc { client, metadata } => self.send_grpc(client, metadata, body).await,
            Transport::HttpProtobuf {
                client,
                uri,
                headers,
                gzip,
            } => self.send_http(&**client, uri, headers, *gzip, body).await,
        }
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        if self.shut_down.swap(true, Ordering::AcqRel) {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        Ok(())
    }

    fn set_resource(&mut self, resource: &Resource) {
        match self.buffers.get_mut() {
            Ok(buffers) => buffers.encoder.set_resource(resource),
            Err(poisoned) => poisoned.into_inner().encoder.set_resource(resource),
        }
    }
}

/// Tells the outage tracker how the attempt ended.
fn report<T, E>(outage: &Outage, outcome: Result<T, E>) -> Result<T, E> {
    match &outcome {
        Ok(_) => outage.attempt_succeeded(),
        Err(_) => outage.attempt_failed(),
    }
    outcome
}

fn after(retries: usize) -> String {
    match retries {
        0 => String::new(),
        1 => " after 1 retry".to_owned(),
        n => format!(" after {n} retries"),
    }
}

/// OTLP/gRPC failures: the retryable codes of the OTLP spec; RetryInfo's
/// delay is honoured, and makes RESOURCE_EXHAUSTED retryable.
fn classify_grpc(status: &tonic::Status) -> Verdict {
    use tonic::Code;
    use tonic_types::StatusExt;
    let delay = status
        .get_details_retry_info()
        .and_then(|info| info.retry_delay);
    match status.code() {
        Code::Unavailable
        | Code::Cancelled
        | Code::Aborted
        | Code::OutOfRange
        | Code::DataLoss
        | Code::DeadlineExceeded => delay.map_or(Verdict::Retry, Verdict::After),
        Code::ResourceExhausted => delay.map_or(Verdict::Fatal, Verdict::After),
        _ => Verdict::Fatal,
    }
}

/// The code, and for failures tonic made locally (connect, TLS, timeout)
/// their cause. The server's message is left out: receivers may echo
/// request metadata, credentials included.
fn grpc_failure(status: &tonic::Status) -> String {
    let mut s = format!("gRPC status {:?}", status.code());
    if let Some(source) = std::error::Error::source(status) {
        s.push_str(": ");
        s.push_str(&error_chain(source));
    }
    s
}

#[derive(Debug)]
enum HttpFailure {
    Status {
        status: http::StatusCode,
        retry_after: Option<Duration>,
    },
    /// No response (connect, TLS, timeout): always retryable.
    Transport(String),
}

/// OTLP/HTTP failures: 429, 502, 503, 504 and transport errors are
/// retryable, after Retry-After when the response has one.
fn classify_http(failure: &HttpFailure) -> Verdict {
    match failure {
        HttpFailure::Transport(_) => Verdict::Retry,
        HttpFailure::Status {
            status,
            retry_after,
        } => match status.as_u16() {
            429 | 502 | 503 | 504 => retry_after.map_or(Verdict::Retry, Verdict::After),
            _ => Verdict::Fatal,
        },
    }
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !s.contains(&text) {
            s.push_str(": ");
            s.push_str(&text);
        }
        source = cause.source();
    }
    s
}

/// A partially accepted batch is not retried (the spec says so); the
/// receiver's reason is logged once. The target is one the subscriber's
/// own-export filter drops, so this warning never becomes a span event
/// that is exported in turn.
fn warn_partial_success(endpoint: &str, partial: Option<ExportTracePartialSuccess>) {
    if let Some(p) = partial
        && (p.rejected_spans > 0 || !p.error_message.is_empty())
    {
        tracing::warn!(
            target: "opentelemetry_otlp",
            endpoint,
            rejected_spans = p.rejected_spans,
            error_message = %p.error_message,
            "OTLP receiver accepted the trace batch only in part"
        );
    }
}

/// A codec whose request is already protobuf bytes and whose response is
/// an `ExportTraceServiceResponse`.
#[derive(Clone, Copy, Debug, Default)]
struct PreEncoded;

impl Codec for PreEncoded {
    type Encode = Bytes;
    type Decode = ExportTraceServiceResponse;
    type Encoder = PreEncoded;
    type Decoder = PreEncoded;

    fn encoder(&mut self) -> Self::Encoder {
        PreEncoded
    }

    fn decoder(&mut self) -> Self::Decoder {
        PreEncoded
    }
}

impl Encoder for PreEncoded {
    type Item = Bytes;
    type Error = tonic::Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for PreEncoded {
    type Item = ExportTraceServiceResponse;
    type Error = tonic::Status;

    fn decode(
        &mut self,
        src: &mut DecodeBuf<'_>,
    ) -> Result<Option<ExportTraceServiceResponse>, tonic::Status> {
        ExportTraceServiceResponse::decode(src)
            .map(Some)
            .map_err(|e| tonic::Status::internal(format!("undecodable export response: {e}")))
    }
}
