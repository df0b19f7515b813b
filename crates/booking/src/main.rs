//! `parker-booking`: parse config, start telemetry, pick the store, serve
//! until SIGINT/SIGTERM.

use anyhow::Context;
use clap::Parser;
use parker_booking::config::Config;
use parker_booking::service;
use parker_booking::store::StoreError;
use parker_booking::store::memory::MemoryStore;
use parker_booking::store::redis::{Endpoint, RedisStore};
use parker_telemetry::ServiceInfo;

/// mimalloc rather than glibc's malloc: telemetry allocates span data on
/// the request threads and frees it on the export thread, and glibc's
/// arenas pay for every such cross-thread free (lock, consolidation);
/// under load that doubled the allocator's share of the request path.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    let endpoint = match (&config.redis_url, &config.redis_cluster) {
        (Some(url), _) => Some(Endpoint::Single(url.clone())),
        (None, Some(nodes)) => Some(Endpoint::cluster(nodes)),
        (None, None) => None,
    };
    let result = match &endpoint {
        Some(endpoint) => {
            let store = connect_redis(endpoint, &config).await?;
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

/// Redis may start after us (compose, a pod restart): retry for
/// `--redis-connect-timeout-ms` before giving up with the last error.
async fn connect_redis(endpoint: &Endpoint, config: &Config) -> anyhow::Result<RedisStore> {
    let deadline = tokio::time::Instant::now()
        + std::time::Duration::from_millis(config.redis_connect_timeout_ms);
    let password = config
        .redis_password_file
        .as_deref()
        .map(read_password)
        .transpose()?;
    let mut delay = std::time::Duration::from_millis(100);
    let flag = match endpoint {
        Endpoint::Single(_) => "--redis-url",
        Endpoint::Cluster(_) => "--redis-cluster",
    };
    loop {
        match RedisStore::connect_to(endpoint, &config.redis_prefix, password.as_deref()).await {
            Ok(store) => return Ok(store),
            Err(e @ StoreError::Config(_)) => return Err(e.into()),
            Err(e) if tokio::time::Instant::now() + delay < deadline => {
                tracing::warn!(error = %e, retry_in_ms = delay.as_millis() as u64, "Redis not reachable yet");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(std::time::Duration::from_secs(2));
            }
            Err(e) => {
                return Err(e).with_context(|| {
                    format!(
                        "connecting to Redis ({flag}) for {} ms",
                        config.redis_connect_timeout_ms
                    )
                });
            }
        }
    }
}

/// `--redis-password-file`'s first line (a trailing newline is not part of it).
fn read_password(path: &std::path::Path) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading --redis-password-file {}", path.display()))?;
    let password = text.lines().next().unwrap_or_default();
    anyhow::ensure!(
        !password.is_empty(),
        "--redis-password-file {}: the first line is empty; it must hold the Redis password",
        path.display()
    );
    Ok(password.to_owned())
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
