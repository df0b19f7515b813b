//! The provider's one error type; every variant renders as an RFC 9457
//! `application/problem+json` response naming what was wrong.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::response::{IntoResponse, Response};
use http::StatusCode;

use crate::api::{PROBLEM_ORDER_KEY_REUSED, PROBLEM_SOLD_OUT, Problem};
use crate::faults::DirectiveError;
use crate::orders::OrderError;

#[derive(Debug, thiserror::Error)]
pub enum FaresError {
    #[error("{0}")]
    BadQuery(String),
    #[error(transparent)]
    Query(#[from] QueryRejection),
    #[error(transparent)]
    Body(#[from] JsonRejection),
    #[error("{0}")]
    BadBody(String),
    #[error(transparent)]
    Fault(#[from] DirectiveError),
    #[error(transparent)]
    Order(#[from] OrderError),
    #[error("fault injected: answering {0}")]
    Injected(StatusCode),
    #[error("no route for {0}: see GET /v1/offers, POST /v1/orders")]
    NoRoute(String),
    #[error("{0}: method not allowed")]
    MethodNotAllowed(String),
}

impl IntoResponse for FaresError {
    fn into_response(self) -> Response {
        let detail = self.to_string();
        let (status, kind) = match &self {
            FaresError::BadQuery(_) | FaresError::Fault(_) | FaresError::BadBody(_) => {
                (StatusCode::BAD_REQUEST, "about:blank")
            }
            FaresError::Query(r) => (r.status(), "about:blank"),
            FaresError::Body(r) => (r.status(), "about:blank"),
            FaresError::Order(OrderError::SoldOut { .. }) => {
                (StatusCode::CONFLICT, PROBLEM_SOLD_OUT)
            }
            FaresError::Order(OrderError::KeyReused { .. }) => {
                (StatusCode::CONFLICT, PROBLEM_ORDER_KEY_REUSED)
            }
            FaresError::Order(OrderError::UnknownOffer(_) | OrderError::UnknownOrder(_)) => {
                (StatusCode::NOT_FOUND, "about:blank")
            }
            FaresError::Injected(s) => (*s, "about:blank"),
            FaresError::NoRoute(_) => (StatusCode::NOT_FOUND, "about:blank"),
            FaresError::MethodNotAllowed(_) => (StatusCode::METHOD_NOT_ALLOWED, "about:blank"),
        };
        let detail = match &self {
            FaresError::Query(r) => r.body_text(),
            FaresError::Body(r) => r.body_text(),
            _ => detail,
        };
        if status.is_server_error() {
            tracing::warn!(status = status.as_u16(), %detail, "answering with a server error");
        }
        Problem::new(status, kind, detail).into_response()
    }
}
