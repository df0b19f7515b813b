//! `parker-fares`: parse config, start telemetry, serve until SIGINT/SIGTERM.

use anyhow::Context;
use clap::Parser;
use parker_fares::{app, config::Config};
use parker_telemetry::ServiceInfo;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    let telemetry =
        parker_telemetry::init(ServiceInfo::new("parker-fares", env!("CARGO_PKG_VERSION")))
            .context("starting telemetry")?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("binding --listen {}", config.listen))?;
    let local = listener.local_addr().context("reading the bound address")?;
    // Tests and scripts read this line to learn the port when asked for :0.
    println!("parker-fares listening on http://{local}");
    tracing::info!(%local, "parker-fares listening");
    let state = app::AppState::new(config.faults());
    app::serve(listener, state, shutdown_signal())
        .await
        .context("serving HTTP")?;
    tracing::info!("parker-fares stopped");
    drop(telemetry);
    Ok(())
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
