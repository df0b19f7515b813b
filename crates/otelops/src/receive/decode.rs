//! Request bodies to OTLP messages: content type, gzip, size limit, prost or
//! OTLP/JSON decoding, and the per-item validation that decides what goes
//! into `partial_success`.
//!
//! Everything here runs before the store's lock is taken.

use std::io::Read;

use prost::Message;

use axum::body::Bytes;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::resource::v1::Resource;

use super::store::{Origin, SpanIds, Store, StoredSpan, TraceId};
use super::wire::{self, LazyTraceRequest, WireError};

/// How an OTLP/HTTP body is encoded (from its Content-Type).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Protobuf,
    Json,
}

impl Encoding {
    /// Parses a Content-Type header value; `None` for anything OTLP does not define.
    pub fn from_content_type(value: &str) -> Option<Encoding> {
        let mime = value.split(';').next().unwrap_or("").trim();
        if mime.eq_ignore_ascii_case("application/x-protobuf") {
            Some(Encoding::Protobuf)
        } else if mime.eq_ignore_ascii_case("application/json") {
            Some(Encoding::Json)
        } else {
            None
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Encoding::Protobuf => "application/x-protobuf",
            Encoding::Json => "application/json",
        }
    }
}

/// Why a request body could not be turned into an OTLP message.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("request body is larger than the limit of {limit} bytes")]
    TooLarge { limit: usize },
    #[error("Content-Encoding {0:?} is not supported: expected gzip or identity")]
    UnsupportedEncoding(String),
    #[error("gzip body does not decompress: {0}")]
    Gzip(std::io::Error),
    #[error("body is not a valid OTLP protobuf {message}: {source}")]
    Protobuf {
        message: &'static str,
        source: prost::DecodeError,
    },
    #[error("body is not a valid OTLP protobuf ExportTraceServiceRequest: {0}")]
    Wire(#[from] WireError),
    #[error("body is not a valid OTLP/JSON {message}: {source}")]
    Json {
        message: &'static str,
        source: serde_json::Error,
    },
}

/// Undoes `Content-Encoding` (gzip or none), enforcing `limit` on the
/// decompressed size too so a small gzip body cannot expand unbounded.
pub fn decompress(
    body: Bytes,
    content_encoding: Option<&str>,
    limit: usize,
) -> Result<Bytes, DecodeError> {
    if body.len() > limit {
        return Err(DecodeError::TooLarge { limit });
    }
    match content_encoding.map(str::trim) {
        // Stored spans are slices of the returned buffer, so give them one of
        // exactly the body's size rather than the connection's read buffer
        // it may share (a memcpy, far cheaper than decoding).
        None | Some("") | Some("identity") => Ok(Bytes::copy_from_slice(&body)),
        Some(enc) if enc.eq_ignore_ascii_case("gzip") => {
            let mut out = Vec::with_capacity(body.len().saturating_mul(4).min(limit));
            let read = flate2::read::GzDecoder::new(&body[..])
                .take(limit as u64 + 1)
                .read_to_end(&mut out)
                .map_err(DecodeError::Gzip)?;
            if read > limit {
                return Err(DecodeError::TooLarge { limit });
            }
            // Stored spans pin this buffer; do not let them pin spare capacity.
            out.shrink_to_fit();
            Ok(out.into())
        }
        Some(other) => Err(DecodeError::UnsupportedEncoding(other.to_owned())),
    }
}

/// Decodes one OTLP export request in either encoding.
pub fn decode<T>(body: &[u8], encoding: Encoding) -> Result<T, DecodeError>
where
    T: prost::Message + Default + serde::de::DeserializeOwned,
{
    let message = std::any::type_name::<T>()
        .rsplit("::")
        .next()
        .unwrap_or("message");
    match encoding {
        Encoding::Protobuf => {
            T::decode(body).map_err(|source| DecodeError::Protobuf { message, source })
        }
        Encoding::Json => {
            serde_json::from_slice(body).map_err(|source| DecodeError::Json { message, source })
        }
    }
}

/// A trace request split into what the store keeps and what was rejected.
#[derive(Debug, Default)]
pub struct IndexedTraces {
    pub spans: Vec<(TraceId, StoredSpan)>,
    pub rejected: u64,
    /// Why the first rejected span was rejected (for `partial_success`).
    pub first_problem: Option<String>,
}

/// Validates every span's ids, drops the invalid ones from `request` (so the
/// JSONL copy holds only what was accepted) and builds the stored forms.
pub fn index_traces(request: &mut ExportTraceServiceRequest, store: &Store) -> IndexedTraces {
    let mut out = IndexedTraces::default();
    let total: usize = request
        .resource_spans
        .iter()
        .flat_map(|rs| &rs.scope_spans)
        .map(|ss| ss.spans.len())
        .sum();
    out.spans.reserve(total);
    for resource_spans in &mut request.resource_spans {
        for scope_spans in &mut resource_spans.scope_spans {
            let source = store.source(Origin {
                resource: resource_spans.resource.clone().unwrap_or_default(),
                resource_schema_url: resource_spans.schema_url.clone(),
                scope: scope_spans.scope.clone().unwrap_or_default(),
                scope_schema_url: scope_spans.schema_url.clone(),
            });
            scope_spans.spans.retain(|span| {
                match span_ids(&span.trace_id, &span.span_id, &span.parent_span_id) {
                    Ok(ids) => {
                        out.spans
                            .push((ids.trace_id, StoredSpan::from_decoded(span, ids, &source)));
                        true
                    }
                    Err(problem) => {
                        out.rejected += 1;
                        out.first_problem
                            .get_or_insert_with(|| format!("span {:?}: {problem}", span.name));
                        false
                    }
                }
            });
        }
    }
    out
}

/// The OTLP/HTTP protobuf fast path: the same result as decoding `body`
/// and calling [`index_traces`], but spans stay as slices of `body` and
/// their attributes are checked, not decoded (see [`wire`]).
pub fn index_protobuf(body: Bytes, store: &Store) -> Result<IndexedTraces, DecodeError> {
    let request = LazyTraceRequest::decode(body).map_err(|source| DecodeError::Protobuf {
        message: "ExportTraceServiceRequest",
        source,
    })?;
    Ok(index_lazy(request, store)?)
}

/// Indexes a request whose spans are still encoded (HTTP body or gRPC
/// message), checking each span's bytes with [`wire::scan_span`].
pub fn index_lazy(request: LazyTraceRequest, store: &Store) -> Result<IndexedTraces, WireError> {
    let mut out = IndexedTraces::default();
    for resource_spans in request.resource_spans {
        let resource = resource_spans.resource.unwrap_or_default();
        for scope_spans in resource_spans.scope_spans {
            let source = store.source(Origin {
                resource: resource.clone(),
                resource_schema_url: resource_spans.schema_url.clone(),
                scope: scope_spans.scope.unwrap_or_default(),
                scope_schema_url: scope_spans.schema_url,
            });
            out.spans.reserve(scope_spans.spans.len());
            for encoded in scope_spans.spans {
                let fields = wire::scan_span(&encoded)?;
                match span_ids(fields.trace_id, fields.span_id, fields.parent_span_id) {
                    Ok(ids) => out.spans.push((
                        ids.trace_id,
                        StoredSpan::from_encoded(encoded.clone(), &fields, ids, &source),
                    )),
                    Err(problem) => {
                        out.rejected += 1;
                        out.first_problem
                            .get_or_insert_with(|| format!("span {:?}: {problem}", fields.name));
                    }
                }
            }
        }
    }
    Ok(out)
}

/// The `partial_success.error_message` for `rejected` items.
pub fn rejection_message(rejected: u64, kind: &str, first_problem: &str) -> String {
    format!("{rejected} {kind} rejected; first: {first_problem}")
}

fn span_ids(trace_id: &[u8], span_id: &[u8], parent: &[u8]) -> Result<SpanIds, String> {
    let trace_id: TraceId = trace_id
        .try_into()
        .ok()
        .filter(|id: &TraceId| id.iter().any(|b| *b != 0))
        .ok_or_else(|| {
            format!(
                "invalid traceId {:?}: expected 16 bytes, not all zero",
                hex(trace_id)
            )
        })?;
    let span: [u8; 8] = span_id
        .try_into()
        .ok()
        .filter(|id: &[u8; 8]| id.iter().any(|b| *b != 0))
        .ok_or_else(|| {
            format!(
                "invalid spanId {:?}: expected 8 bytes, not all zero",
                hex(span_id)
            )
        })?;
    let parent = match parent.len() {
        0 => None,
        _ => Some(
            parent
                .try_into()
                .ok()
                .filter(|id: &[u8; 8]| id.iter().any(|b| *b != 0))
                .ok_or_else(|| {
                    format!(
                        "invalid parentSpanId {:?}: expected empty or 8 bytes, not all zero",
                        hex(parent)
                    )
                })?,
        ),
    };
    Ok(SpanIds {
        trace_id,
        span_id: span,
        parent_span_id: parent,
    })
}

/// Counts log records and rejects those whose ids are present but malformed
/// (OTLP lets logs carry no trace context at all). Removes the rejected ones.
pub fn filter_logs(request: &mut ExportLogsServiceRequest) -> (u64, u64, Option<String>) {
    let (mut accepted, mut rejected, mut first) = (0u64, 0u64, None);
    for scope_logs in request
        .resource_logs
        .iter_mut()
        .flat_map(|rl| &mut rl.scope_logs)
    {
        scope_logs.log_records.retain(|record| {
            let ok = matches!(record.trace_id.len(), 0 | 16) && matches!(record.span_id.len(), 0 | 8);
            if ok {
                accepted += 1;
            } else {
                rejected += 1;
                first.get_or_insert_with(|| {
                    format!(
                        "log record with traceId {:?} / spanId {:?}: expected 16 / 8 bytes or empty",
                        hex(&record.trace_id),
                        hex(&record.span_id)
                    )
                });
            }
            ok
        });
    }
    (accepted, rejected, first)
}

/// Data points in a metrics request (every point type).
pub fn metric_points(request: &ExportMetricsServiceRequest) -> u64 {
    let points = |data: &Data| match data {
        Data::Gauge(g) => g.data_points.len(),
        Data::Sum(s) => s.data_points.len(),
        Data::Histogram(h) => h.data_points.len(),
        Data::ExponentialHistogram(h) => h.data_points.len(),
        Data::Summary(s) => s.data_points.len(),
    };
    request
        .resource_metrics
        .iter()
        .flat_map(|rm| &rm.scope_metrics)
        .flat_map(|sm| &sm.metrics)
        .filter_map(|m| m.data.as_ref())
        .map(points)
        .sum::<usize>() as u64
}

/// The resource's `service.name`, or the spec's fallback `unknown_service`.
pub fn service_name(resource: Option<&Resource>) -> &str {
    resource
        .and_then(|r| string_attribute(&r.attributes, "service.name"))
        .unwrap_or("unknown_service")
}

/// A string-valued attribute by key.
pub fn string_attribute<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a str> {
    attributes.iter().find(|kv| kv.key == key).and_then(|kv| {
        match kv.value.as_ref()?.value.as_ref()? {
            any_value::Value::StringValue(s) => Some(s.as_str()),
            _ => None,
        }
    })
}

/// Lower-case hex of an id (for messages and JSON).
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// Parses a 32-hex-digit trace id.
pub fn parse_trace_id(text: &str) -> Option<TraceId> {
    let text = text.trim();
    if text.len() != 32 || !text.is_ascii() {
        return None;
    }
    let mut id = [0u8; 16];
    for (i, byte) in id.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[i * 2..i * 2 + 2], 16).ok()?;
    }
    Some(id)
}
