//! Sending one request and classifying the answer the way the OTLP spec
//! does: 2xx / OK is accepted (less any `partial_success.rejected_spans`),
//! the retryable codes (HTTP 429, 502, 503, 504; gRPC UNAVAILABLE,
//! RESOURCE_EXHAUSTED) are refusals, anything else is a failure.
//! HTTP goes through [`HttpClient`] and gRPC through its `grpc_channel`, so
//! the loopback, TLS and token rules are the same as every other command's.

use bytes::{Buf, BufMut, Bytes};
use http::{HeaderMap, HeaderValue, Method, header};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use prost::Message;
use tonic::codec::{Codec, CompressionEncoding, DecodeBuf, Decoder, EncodeBuf, Encoder};

use super::payload::Encoding;
use crate::http_client::{HttpClient, HttpError, Url};

/// What became of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub outcome: Outcome,
    /// `HTTP 200`, `gRPC Unavailable`, `error: connect`, … (the status table's key).
    pub status: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Accepted; `rejected` spans of it were turned down (partial success).
    Accepted { rejected: u64 },
    /// A retryable refusal (the collector's memory limiter, back-pressure).
    Refused,
    /// Any other answer, or none; the reason for the first one is kept.
    Failed(String),
}

/// One target, ready to send many requests.
#[derive(Clone)]
pub enum Sender {
    Http {
        client: HttpClient,
        url: Url,
        headers: HeaderMap,
        encoding: Encoding,
    },
    Grpc {
        grpc: tonic::client::Grpc<tonic::transport::Channel>,
        authorization: Option<tonic::metadata::MetadataValue<tonic::metadata::Ascii>>,
    },
}

impl Sender {
    /// OTLP/HTTP to `url` (…/v1/traces) with `gzip` bodies when asked.
    pub fn http(
        client: HttpClient,
        url: Url,
        encoding: Encoding,
        gzip: bool,
    ) -> Result<Sender, HttpError> {
        // Checked now, so a token over plain http to a remote host fails
        // before the run, not on every request.
        client.bearer(&url)?;
        let mut headers = HeaderMap::new();
        let content_type = match encoding {
            Encoding::Protobuf => "application/x-protobuf",
            Encoding::Json => "application/json",
        };
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        if gzip {
            headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
        Ok(Sender::Http {
            client,
            url,
            headers,
            encoding,
        })
    }

    /// OTLP/gRPC over one HTTP/2 channel (requests multiplexed on it).
    pub async fn grpc(client: &HttpClient, url: &Url, gzip: bool) -> Result<Sender, HttpError> {
        let authorization = client
            .bearer(url)?
            .map(|token| {
                tonic::metadata::MetadataValue::try_from(token.header().as_bytes()).map_err(|_| {
                    HttpError::Other {
                        url: url.to_string(),
                        reason: "the bearer token is not a valid gRPC metadata value".into(),
                    }
                })
            })
            .transpose()?;
        let channel = client.grpc_channel(url).await?;
        let mut grpc = tonic::client::Grpc::new(channel);
        if gzip {
            // Go's gRPC answers a gzipped request with a gzipped response.
            grpc = grpc
                .send_compressed(CompressionEncoding::Gzip)
                .accept_compressed(CompressionEncoding::Gzip);
        }
        Ok(Sender::Grpc {
            grpc,
            authorization,
        })
    }

    /// Sends `body` (already encoded, gzipped for HTTP when asked).
    pub async fn send(&mut self, body: Vec<u8>) -> Answer {
        match self {
            Sender::Http {
                client,
                url,
                headers,
                encoding,
            } => {
                match client
                    .send(Method::POST, url, headers.clone(), Bytes::from(body))
                    .await
                {
                    Ok(r) => http_answer(r.status, &r.body, *encoding),
                    Err(e) => transport_error(&e),
                }
            }
            Sender::Grpc {
                grpc,
                authorization,
            } => {
                let mut request = tonic::Request::new(Bytes::from(body));
                if let Some(value) = authorization {
                    request
                        .metadata_mut()
                        .insert("authorization", value.clone());
                }
                if let Err(e) = grpc.ready().await {
                    return Answer {
                        outcome: Outcome::Failed(format!("gRPC channel not ready: {e}")),
                        status: "error: connect".into(),
                    };
                }
                let path = http::uri::PathAndQuery::from_static(
                    "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
                );
                match grpc.unary(request, path, RawCodec).await {
                    Ok(response) => Answer {
                        outcome: Outcome::Accepted {
                            rejected: rejected(&response.into_inner()),
                        },
                        status: "gRPC Ok".into(),
                    },
                    Err(status) => grpc_answer(&status),
                }
            }
        }
    }
}

fn rejected(response: &ExportTraceServiceResponse) -> u64 {
    response
        .partial_success
        .as_ref()
        .map_or(0, |p| u64::try_from(p.rejected_spans).unwrap_or(0))
}

/// An HTTP answer by its status; a 2xx body is the export response in the
/// request's encoding (an empty or unreadable one means nothing rejected).
pub fn http_answer(status: u16, body: &[u8], encoding: Encoding) -> Answer {
    let outcome = match status {
        200..=299 => {
            let rejected = match encoding {
                Encoding::Protobuf => ExportTraceServiceResponse::decode(body)
                    .as_ref()
                    .map_or(0, rejected),
                Encoding::Json => json_rejected(body),
            };
            Outcome::Accepted { rejected }
        }
        429 | 502..=504 => Outcome::Refused,
        _ => Outcome::Failed(format!(
            "HTTP {status}: {}",
            crate::http_client::truncate(String::from_utf8_lossy(body).trim(), 200)
        )),
    };
    Answer {
        outcome,
        status: format!("HTTP {status}"),
    }
}

/// `partialSuccess.rejectedSpans` of a JSON response: proto3 JSON writes an
/// int64 as a string (the collector does), some receivers as a number.
fn json_rejected(body: &[u8]) -> u64 {
    let Ok(doc) = serde_json::from_slice::<serde_json::Value>(body) else {
        return 0;
    };
    match &doc["partialSuccess"]["rejectedSpans"] {
        serde_json::Value::String(s) => s.parse().unwrap_or(0),
        v => v.as_u64().unwrap_or(0),
    }
}

fn grpc_answer(status: &tonic::Status) -> Answer {
    let outcome = match status.code() {
        tonic::Code::Unavailable | tonic::Code::ResourceExhausted => Outcome::Refused,
        code => Outcome::Failed(format!("gRPC {code:?}: {}", status.message())),
    };
    Answer {
        outcome,
        status: format!("gRPC {:?}", status.code()),
    }
}

fn transport_error(e: &HttpError) -> Answer {
    let kind = match e {
        HttpError::Timeout { .. } => "timeout",
        HttpError::Connect { .. } => "connect",
        HttpError::Tls { .. } => "tls",
        _ => "other",
    };
    Answer {
        outcome: Outcome::Failed(e.to_string()),
        status: format!("error: {kind}"),
    }
}

/// Sends the already-encoded request bytes as they are (no re-encoding per
/// request, which is what keeps the client's CPU per span low) and decodes
/// the collector's response with prost. parker-telemetry's exporter has the
/// same private codec; otelops does not depend on parker-telemetry (only its
/// tests do), and twenty lines do not justify that dependency.
#[derive(Debug, Clone, Copy, Default)]
struct RawCodec;

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = ExportTraceServiceResponse;
    type Encoder = RawCodec;
    type Decoder = RawCodec;

    fn encoder(&mut self) -> Self::Encoder {
        RawCodec
    }

    fn decoder(&mut self) -> Self::Decoder {
        RawCodec
    }
}

impl Encoder for RawCodec {
    type Item = Bytes;
    type Error = tonic::Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
        dst.put(item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = ExportTraceServiceResponse;
    type Error = tonic::Status;

    fn decode(
        &mut self,
        src: &mut DecodeBuf<'_>,
    ) -> Result<Option<ExportTraceServiceResponse>, tonic::Status> {
        let bytes = src.copy_to_bytes(src.remaining());
        ExportTraceServiceResponse::decode(bytes)
            .map(Some)
            .map_err(|e| tonic::Status::internal(format!("undecodable export response: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_sorted_as_the_otlp_spec_says() {
        let json = br#"{"partialSuccess":{"rejectedSpans":"3","errorMessage":"bad ids"}}"#;
        assert_eq!(
            http_answer(200, json, Encoding::Json).outcome,
            Outcome::Accepted { rejected: 3 }
        );
        assert_eq!(
            http_answer(200, b"", Encoding::Protobuf).outcome,
            Outcome::Accepted { rejected: 0 }
        );
        for refused in [429, 502, 503, 504] {
            assert_eq!(
                http_answer(refused, b"", Encoding::Json).outcome,
                Outcome::Refused
            );
        }
        let bad = http_answer(400, b"no such field", Encoding::Json);
        assert_eq!(bad.status, "HTTP 400");
        assert!(matches!(bad.outcome, Outcome::Failed(m) if m.contains("no such field")));
        assert_eq!(
            grpc_answer(&tonic::Status::unavailable("limiter")).outcome,
            Outcome::Refused
        );
    }
}
