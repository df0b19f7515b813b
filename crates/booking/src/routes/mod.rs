//! The HTTP surface: one module per resource, assembled by [`router`].

pub mod bookings;
pub mod health;
pub mod openapi;
pub mod test_service;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};

use crate::error::ApiError;
use crate::state::AppState;
use crate::store::Store;

/// A booking request is well under 1 KiB; 16 KiB leaves room for long
/// names without letting a client make the server buffer megabytes.
pub const BODY_LIMIT: usize = 16 * 1024;

pub fn router<S: Store>(state: AppState<S>) -> Router {
    let mut router = Router::new()
        .route(
            "/v1/bookings",
            post(bookings::create::<S>).get(bookings::list::<S>),
        )
        .route(
            "/v1/bookings/{id}",
            get(bookings::get::<S>).delete(bookings::cancel::<S>),
        )
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz::<S>))
        .route("/openapi.json", get(openapi::document));
    if state.test_client.is_some() {
        router = router.route("/test", post(test_service::run::<S>));
    }
    router
        .fallback(|uri: http::Uri| async move {
            ApiError::NotFound(format!(
                "no route for {}: see /openapi.json for the API",
                uri.path()
            ))
        })
        .method_not_allowed_fallback(|method: http::Method, uri: http::Uri| async move {
            ApiError::MethodNotAllowed(format!(
                "{method} is not allowed on {}: see /openapi.json for the API",
                uri.path()
            ))
        })
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(parker_telemetry::http::HttpServerLayer::new())
        .with_state(state)
}
