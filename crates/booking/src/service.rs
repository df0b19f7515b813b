//! Wiring: builds the state, the router and the worker for a store, serves
//! until shutdown, then drains (HTTP first, then the worker's in-flight
//! bookings).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use parker_telemetry::http::TracedClient;
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};

use crate::config::Config;
use crate::fares::FaresClient;
use crate::metrics::Metrics;
use crate::state::AppState;
use crate::store::Store;
use crate::worker::{self, Worker};

pub async fn run<S: Store>(
    store: S,
    config: &Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let metrics = Metrics::new();
    let wake = Arc::new(Notify::new());
    let fares = FaresClient::new(
        config.fares_url.clone(),
        Duration::from_millis(config.fares_timeout_ms),
    )
    .context("building the fares HTTP client")?;
    let test_client = config
        .enable_test_endpoint
        .then(|| TracedClient::new(reqwest::Client::new()));
    let state = AppState {
        store: store.clone(),
        metrics: metrics.clone(),
        wake: wake.clone(),
        test_client,
    };

    let (stop_tx, stop_rx) = watch::channel(false);
    let grace = Duration::from_millis(config.shutdown_grace_ms);
    let worker = (!config.disable_worker).then(|| {
        let worker = Arc::new(Worker {
            store,
            fares,
            config: config.worker(),
            metrics,
            id: format!("worker-{}", uuid::Uuid::now_v7().simple()),
            wake,
        });
        tokio::spawn(worker::run(worker, stop_rx, grace))
    });

    let server_shutdown = async move {
        shutdown.await;
        tracing::info!("shutting down: no new requests, finishing in-flight work");
        let _ = stop_tx.send(true);
    };
    // Connect info gives server spans their client.address / network.peer.*.
    let app =
        crate::routes::router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(server_shutdown)
        .await
        .context("serving HTTP")?;
    if let Some(worker) = worker {
        worker.await.context("the worker task panicked")?;
    }
    Ok(())
}
