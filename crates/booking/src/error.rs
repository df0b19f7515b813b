//! The API's one error type. Every variant renders as an RFC 9457
//! `application/problem+json` body whose `detail` names what was wrong and
//! what would be right; input problems are 4xx, never 5xx.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use parker_fares::api::Problem;

use crate::store::StoreError;

/// Problem `type` URIs clients can match on.
pub mod kinds {
    pub const INVALID_REQUEST: &str = "https://parker.example/problems/invalid-request";
    pub const IDEMPOTENCY_KEY_REUSED: &str =
        "https://parker.example/problems/idempotency-key-reused";
    pub const NOT_CANCELLABLE: &str = "https://parker.example/problems/not-cancellable";
    pub const STORE_UNAVAILABLE: &str = "https://parker.example/problems/store-unavailable";
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The body could not be read or parsed (syntax, types, unknown
    /// fields, size, content type); the rejection knows the status.
    #[error(transparent)]
    Body(#[from] JsonRejection),
    #[error(transparent)]
    Query(#[from] QueryRejection),
    /// Parsed, but the values do not make a valid request.
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    NotCancellable(String),
    #[error("{0}")]
    MethodNotAllowed(String),
    #[error("{0}")]
    Store(#[from] StoreError),
}

impl ApiError {
    fn status_and_kind(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::Body(r) => (r.status(), kinds::INVALID_REQUEST),
            ApiError::Query(r) => (r.status(), kinds::INVALID_REQUEST),
            ApiError::Invalid(_) => (StatusCode::UNPROCESSABLE_ENTITY, kinds::INVALID_REQUEST),
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, kinds::INVALID_REQUEST),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "about:blank"),
            ApiError::NotCancellable(_) => (StatusCode::CONFLICT, kinds::NOT_CANCELLABLE),
            ApiError::MethodNotAllowed(_) => (StatusCode::METHOD_NOT_ALLOWED, "about:blank"),
            ApiError::Store(StoreError::KeyReused { .. }) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                kinds::IDEMPOTENCY_KEY_REUSED,
            ),
            ApiError::Store(StoreError::Unavailable(_)) => {
                (StatusCode::SERVICE_UNAVAILABLE, kinds::STORE_UNAVAILABLE)
            }
            ApiError::Store(StoreError::Corrupt(_) | StoreError::Config(_)) => {
                (StatusCode::INTERNAL_SERVER_ERROR, "about:blank")
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, kind) = self.status_and_kind();
        let detail = match &self {
            ApiError::Body(r) => r.body_text(),
            ApiError::Query(r) => r.body_text(),
            other => other.to_string(),
        };
        if status.is_server_error() {
            // The span is the request's server span: the failure shows in
            // the trace, not only in the logs.
            parker_telemetry::exception::record_error(&tracing::Span::current(), &self);
            tracing::error!(status = status.as_u16(), %detail, "request failed");
        }
        let mut response = Problem::new(status, kind, detail).into_response();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}
