//! `parker-booking`: parse config, start telemetry, pick the store, serve
//! until SIGINT/SIGTERM.

use anyhow::Context;
use clap::Parser;
use parker_booking::config::Config;
use parker_booking::service;
use parker_booking::store::{memory::MemoryStore, redis::RedisStore};
use parker_telemetry::ServiceInfo;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    let telemetry = parker_telemetry::init(ServiceInfo::new(
        "parker-booking",
        env!("CARGO_PKG_VERSION"),
    ))
    .context("starting telemetry")?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("binding --listen {}", config.listen))?;
    let local = listener.local_addr().context("reading the bound address")?;
    let result = match &config.redis_url {
        Some(url) => {
            let store = RedisStore::connect(url, &config.redis_prefix)
                .await
                .context("connecting to Redis (--redis-url)")?;
            announce(local, "redis");
            service::run(store, &config, listener, shutdown_signal()).await
        }
        None => {
            announce(local, "embedded in-memory");
            service::run(MemoryStore::new(), &config, listener, shutdown_signal()).await
        }
    };
    tracing::info!("parker-booking stopped");
    drop(telemetry);
    result
}

fn announce(local: std::net::SocketAddr, store: &str) {
    // Tests and scripts read this line to learn the port when asked for :0.
    println!("parker-booking listening on http://{local} (store: {store})");
    tracing::info!(%local, store, "parker-booking listening");
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("installing a SIGTERM handler is possible at startup");
        tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
