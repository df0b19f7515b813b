//! The provider's HTTP surface: state shared by handlers, the router, and
//! `serve` with graceful shutdown.

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use tokio::net::TcpListener;

use crate::error::FaresError;
use crate::faults::{FaultConfig, Faults};
use crate::orders::OrderBook;
use crate::routes;

/// What handlers share.
pub struct AppState {
    pub seed: u64,
    pub book: OrderBook,
    pub faults: Faults,
}

pub type SharedState = Arc<AppState>;

impl AppState {
    pub fn new(faults: FaultConfig) -> SharedState {
        Arc::new(AppState {
            seed: faults.seed,
            book: OrderBook::new(faults.seed),
            faults: Faults::new(faults),
        })
    }
}

/// Order bodies are a few hundred bytes; anything near this is abuse.
const BODY_LIMIT: usize = 16 * 1024;

pub fn router(state: SharedState) -> Router {
    Router::new()
        .route("/v1/offers", get(routes::offers::search))
        .route(
            "/v1/orders",
            post(routes::orders::place).get(routes::orders::list),
        )
        .route("/v1/orders/{id}", get(routes::orders::get))
        .route("/v1/orders/{id}/confirm", post(routes::orders::confirm))
        .route("/healthz", get(|| async { "ok" }))
        // The provider depends on nothing outside its process, so it is
        // ready as soon as it serves; the route exists so an orchestrator
        // can probe both services the same way (deploy/k8s/services/).
        .route("/readyz", get(|| async { "ok" }))
        .fallback(|uri: http::Uri| async move { FaresError::NoRoute(uri.path().to_owned()) })
        .method_not_allowed_fallback(|method: http::Method, uri: http::Uri| async move {
            FaresError::MethodNotAllowed(format!("{method} {}", uri.path()))
        })
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(parker_telemetry::http::HttpServerLayer::new())
        .with_state(state)
}

/// Serves until `shutdown` resolves, then lets in-flight requests finish.
pub async fn serve(
    listener: TcpListener,
    state: SharedState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // Connect info gives server spans their client.address / network.peer.*.
    let app = router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}
