//! `/healthz` (the process is alive) and `/readyz` (it can serve: the store
//! answers). Orchestrators restart on the first and route on the second.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::state::AppState;
use crate::store::Store;

pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

pub async fn readyz<S: Store>(State(state): State<AppState<S>>) -> Result<Json<Value>, ApiError> {
    state.store.ping().await?;
    Ok(Json(json!({ "status": "ready" })))
}
