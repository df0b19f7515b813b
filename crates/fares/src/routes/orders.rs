//! `POST /v1/orders` (idempotent on `order_key`), `GET /v1/orders[/{id}]`,
//! `POST /v1/orders/{id}/confirm`.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, StatusCode};

use crate::api::{Order, OrderList, OrderRequest};
use crate::app::SharedState;
use crate::error::FaresError;
use crate::orders::Placed;

/// Bounds that keep a sandbox order sane; anything else is a client bug.
const MAX_PASSENGERS: u32 = 9;
const MAX_ORDER_KEY_LEN: usize = 200;

pub async fn place(
    State(state): State<SharedState>,
    headers: HeaderMap,
    body: Result<Json<OrderRequest>, JsonRejection>,
) -> Result<Response, FaresError> {
    let mut decision = super::decide(&state, &headers)?;
    let Json(req) = body?;
    if req.order_key.is_empty() || req.order_key.len() > MAX_ORDER_KEY_LEN {
        return Err(FaresError::BadBody(format!(
            "order_key must be 1 to {MAX_ORDER_KEY_LEN} bytes, got {}",
            req.order_key.len()
        )));
    }
    if !(1..=MAX_PASSENGERS).contains(&req.passengers) {
        return Err(FaresError::BadBody(format!(
            "passengers must be 1 to {MAX_PASSENGERS}, got {}",
            req.passengers
        )));
    }
    state.faults.decide_order(&mut decision, &req.order_key);
    super::apply(&decision).await?;
    let (placed, order) = state.book.place(&req)?;
    tracing::info!(order.id = %order.id, created = (placed == Placed::Created), "order placed");
    if decision.lose_response {
        // The order is committed; the client just never hears about it.
        return Err(FaresError::Injected(StatusCode::SERVICE_UNAVAILABLE));
    }
    let status = match placed {
        Placed::Created => StatusCode::CREATED,
        Placed::Existing => StatusCode::OK,
    };
    Ok((status, Json(order)).into_response())
}

pub async fn confirm(
    State(state): State<SharedState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Order>, FaresError> {
    super::apply(&super::decide(&state, &headers)?).await?;
    Ok(Json(state.book.confirm(&id)?))
}

pub async fn get(
    State(state): State<SharedState>,
    Path(id): Path<String>,
) -> Result<Json<Order>, FaresError> {
    Ok(Json(state.book.get(&id)?))
}

pub async fn list(State(state): State<SharedState>) -> Json<OrderList> {
    Json(state.book.list())
}
