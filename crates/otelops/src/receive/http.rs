//! OTLP/HTTP: `POST /v1/{traces,metrics,logs}` in protobuf or JSON (gzip
//! allowed), answered by the OTLP spec's rules, plus the loopback query API
//! `GET /otelops/v1/{traces,traces/{id},summary}` that `otelops traces` reads.

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message;

use super::decode::{self, DecodeError, Encoding};
use super::{RETRY_AFTER_SECONDS, Shared, model};

pub(crate) async fn serve(
    listener: tokio::net::TcpListener,
    shared: Arc<Shared>,
    stop: impl Future<Output = ()> + Send + 'static,
) {
    let mut app = Router::new()
        .route("/v1/traces", post(traces))
        .route("/v1/metrics", post(metrics))
        .route("/v1/logs", post(logs))
        .route("/otelops/v1/traces", get(list_traces))
        .route("/otelops/v1/traces/{id}", get(show_trace))
        .route("/otelops/v1/summary", get(summary))
        // The OTLP handlers enforce --max-body-bytes themselves (and answer
        // 413 with a Status body), so axum's 2 MB default must not cut in.
        .layer(DefaultBodyLimit::disable());
    if shared.ui {
        app = app.merge(crate::ui::router(shared.clone()));
    }
    let app = app.with_state(shared);
    if let Err(err) = axum::serve(listener, app)
        .with_graceful_shutdown(stop)
        .await
    {
        eprintln!("otelops receive: OTLP/HTTP server stopped: {err}");
    }
}

/// google.rpc.Status, the body OTLP/HTTP error responses carry. Declared
/// here because opentelemetry-proto does not ship the googleapis types and
/// three fields do not justify another crate.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RpcStatus {
    #[prost(int32, tag = "1")]
    pub code: i32,
    #[prost(string, tag = "2")]
    pub message: String,
    #[prost(message, repeated, tag = "3")]
    pub details: Vec<prost_types::Any>,
}

/// gRPC codes used in Status bodies.
const INVALID_ARGUMENT: i32 = 3;
const UNAVAILABLE: i32 = 14;
const UNAUTHENTICATED: i32 = 16;

fn error_response(status: StatusCode, encoding: Encoding, code: i32, message: String) -> Response {
    let body = match encoding {
        Encoding::Protobuf => RpcStatus {
            code,
            message,
            details: Vec::new(),
        }
        .encode_to_vec(),
        Encoding::Json => {
            serde_json::to_vec(&serde_json::json!({ "code": code, "message": message }))
                .unwrap_or_default()
        }
    };
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(encoding.content_type()),
    );
    response
}

/// A success body. In JSON an unset `partial_success` is left out (`{}`)
/// rather than written as `null`, as the OTLP/JSON mapping expects.
fn ok_response<T: Message + serde::Serialize>(
    encoding: Encoding,
    response: &T,
    partial: bool,
) -> Response {
    let body = match encoding {
        Encoding::Protobuf => response.encode_to_vec(),
        Encoding::Json if partial => serde_json::to_vec(response).unwrap_or_default(),
        Encoding::Json => b"{}".to_vec(),
    };
    ([(header::CONTENT_TYPE, encoding.content_type())], body).into_response()
}

/// Auth, content type, size and decompression: everything before decoding.
/// Returns the encoding and the plain body, or the response to send.
async fn prepare(
    shared: &Shared,
    headers: &HeaderMap,
    body: Body,
) -> Result<(Encoding, Bytes), Response> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let encoding = Encoding::from_content_type(content_type);
    if let Some(response) = unauthorized(shared, headers, encoding.unwrap_or(Encoding::Json)) {
        return Err(response);
    }
    let Some(encoding) = encoding else {
        return Err(error_response(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Encoding::Json,
            INVALID_ARGUMENT,
            format!(
                "Content-Type {content_type:?} is not supported: expected application/x-protobuf or application/json"
            ),
        ));
    };
    let limit = shared.max_body_bytes;
    let too_large = |limit| {
        error_response(
            StatusCode::PAYLOAD_TOO_LARGE,
            encoding,
            INVALID_ARGUMENT,
            DecodeError::TooLarge { limit }.to_string(),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large(limit));
    }
    // The only error `to_bytes` reports for a body we read to completion is
    // the length limit (a client that vanished mid-body gets no answer anyway).
    let raw = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| too_large(limit))?;
    let content_encoding = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok());
    match decode::decompress(raw, content_encoding, limit) {
        Ok(plain) => Ok((encoding, plain)),
        Err(err @ DecodeError::TooLarge { .. }) => Err(too_large_from(encoding, err)),
        Err(err) => Err(bad_request(encoding, err)),
    }
}

fn too_large_from(encoding: Encoding, err: DecodeError) -> Response {
    error_response(
        StatusCode::PAYLOAD_TOO_LARGE,
        encoding,
        INVALID_ARGUMENT,
        err.to_string(),
    )
}

fn bad_request(encoding: Encoding, err: DecodeError) -> Response {
    error_response(
        StatusCode::BAD_REQUEST,
        encoding,
        INVALID_ARGUMENT,
        err.to_string(),
    )
}

async fn traces(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Body) -> Response {
    let (encoding, body) = match prepare(&shared, &headers, body).await {
        Ok(ready) => ready,
        Err(response) => return response,
    };
    let outcome = match encoding {
        Encoding::Protobuf => shared.ingest_traces_protobuf(body),
        Encoding::Json => decode::decode::<ExportTraceServiceRequest>(&body, encoding)
            .map(|r| shared.ingest_traces(r)),
    };
    let outcome = match outcome {
        Ok(outcome) => outcome,
        Err(err) => return bad_request(encoding, err),
    };
    match outcome {
        Ok(rejected) => {
            let response = ExportTraceServiceResponse {
                partial_success: rejected.into_trace_partial(),
            };
            ok_response(encoding, &response, response.partial_success.is_some())
        }
        Err(full) => {
            let mut response = error_response(
                StatusCode::SERVICE_UNAVAILABLE,
                encoding,
                UNAVAILABLE,
                full.to_string(),
            );
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
            response
        }
    }
}

async fn metrics(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Body) -> Response {
    let (encoding, body) = match prepare(&shared, &headers, body).await {
        Ok(ready) => ready,
        Err(response) => return response,
    };
    match decode::decode::<ExportMetricsServiceRequest>(&body, encoding) {
        Ok(request) => {
            shared.ingest_metrics(request);
            let response = ExportMetricsServiceResponse {
                partial_success: None,
            };
            ok_response(encoding, &response, response.partial_success.is_some())
        }
        Err(err) => bad_request(encoding, err),
    }
}

async fn logs(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Body) -> Response {
    let (encoding, body) = match prepare(&shared, &headers, body).await {
        Ok(ready) => ready,
        Err(response) => return response,
    };
    match decode::decode::<ExportLogsServiceRequest>(&body, encoding) {
        Ok(request) => {
            let rejected = shared.ingest_logs(request);
            let response = ExportLogsServiceResponse {
                partial_success: rejected.into_logs_partial(),
            };
            ok_response(encoding, &response, response.partial_success.is_some())
        }
        Err(err) => bad_request(encoding, err),
    }
}

/// The query API answers JSON only; it needs the token like everything else.
/// The 401 for a request without the right token (OTLP or query API).
fn unauthorized(shared: &Shared, headers: &HeaderMap, encoding: Encoding) -> Option<Response> {
    let header = headers
        .get(header::AUTHORIZATION)
        .map(HeaderValue::as_bytes);
    if shared.authorized(header) {
        return None;
    }
    let mut response = error_response(
        StatusCode::UNAUTHORIZED,
        encoding,
        UNAUTHENTICATED,
        "missing or wrong bearer token in Authorization".to_owned(),
    );
    response
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    Some(response)
}

async fn list_traces(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    if let Some(response) = unauthorized(&shared, &headers, Encoding::Json) {
        return response;
    }
    let list: Vec<model::TraceListItem> = shared
        .store
        .traces()
        .iter()
        .map(model::TraceListItem::from_overview)
        .collect();
    axum::Json(list).into_response()
}

async fn show_trace(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Some(response) = unauthorized(&shared, &headers, Encoding::Json) {
        return response;
    }
    let Some(trace_id) = decode::parse_trace_id(&id) else {
        return error_response(
            StatusCode::BAD_REQUEST,
            Encoding::Json,
            INVALID_ARGUMENT,
            format!("trace id {id:?} is not 32 hex digits"),
        );
    };
    match shared.store.trace(&trace_id) {
        Some(spans) => axum::Json(model::TraceDetail::from_spans(trace_id, &spans)).into_response(),
        None => error_response(
            StatusCode::NOT_FOUND,
            Encoding::Json,
            5, // NOT_FOUND
            format!("trace {id} is not in the store (never received, or evicted)"),
        ),
    }
}

async fn summary(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    if let Some(response) = unauthorized(&shared, &headers, Encoding::Json) {
        return response;
    }
    axum::Json(shared.store.summary()).into_response()
}
