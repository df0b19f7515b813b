//! `otelops receive`: run the embedded OTLP receiver until Ctrl-C (or an
//! `--exit-after*` bound), then print the summary.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use super::monitor::MemoryArgs;
use super::receiver_token::ReceiverTokenArgs;
use super::signals::StopSignals;
use crate::output::OutputFormat;
use crate::receive::until::Until;
use crate::receive::{self, OnFull, Receiver, ReceiverConfig, ReceiverHandle, view};

#[derive(Debug, clap::Args)]
#[command(after_help = concat!(
    "Examples:\n",
    "  otelops receive\n",
    "  otelops receive --jsonl received.jsonl --exit-after 30s\n",
    "  otelops receive --ui            # then open http://127.0.0.1:4318/ui/\n",
    "  otelops receive --grpc-listen 127.0.0.1:0 --http-listen 127.0.0.1:0 --max-spans 100000 --on-full reject\n\n",
    "Read what arrived with `otelops traces list` and `otelops traces show ID`.\n\n",
    "Exit codes: 0 stopped and printed the summary, 2 usage error or cannot listen."
))]
pub struct Args {
    /// OTLP/gRPC listen address (port 0 picks a free port; the bound address is printed).
    #[arg(long, default_value_t = receive::DEFAULT_GRPC_LISTEN)]
    pub grpc_listen: SocketAddr,
    /// OTLP/HTTP listen address; also serves the query API `otelops traces` reads.
    #[arg(long, default_value_t = receive::DEFAULT_HTTP_LISTEN)]
    pub http_listen: SocketAddr,
    /// Spans kept in memory; past it the oldest traces go (or requests are refused).
    #[arg(long, default_value_t = receive::DEFAULT_MAX_SPANS)]
    pub max_spans: usize,
    /// When the store is full: evict the oldest traces, or reject with 503 + Retry-After.
    #[arg(long, value_enum, default_value_t = OnFull::Evict)]
    pub on_full: OnFull,
    /// Largest request body accepted (after gzip decompression too); larger gets 413.
    #[arg(long, default_value_t = receive::DEFAULT_MAX_BODY_BYTES)]
    pub max_body_bytes: usize,
    /// The bearer token every request must carry.
    #[command(flatten)]
    pub token: ReceiverTokenArgs,
    /// Append each accepted request to FILE as one OTLP-JSON line.
    #[arg(long, value_name = "FILE")]
    pub jsonl: Option<PathBuf>,
    /// Stop after this long (e.g. 30s, 5m).
    #[arg(long, value_parser = humantime::parse_duration)]
    pub exit_after: Option<Duration>,
    /// Serve the web view (trace search, trace view, service map) under /ui/ on the OTLP/HTTP port.
    #[arg(long)]
    pub ui: bool,
    /// With --ui: the collector's metrics page to plot on the health page (loopback).
    #[arg(long, value_name = "URL", requires = "ui", value_parser = loopback_url)]
    pub metrics_url: Option<crate::http_client::Url>,
    /// How often --metrics-url is scraped.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "5s", requires = "metrics_url")]
    pub metrics_interval: Duration,
    /// With --metrics-url: the memory the collector's RSS is plotted and judged against.
    #[command(flatten)]
    pub memory: MemoryArgs,
    /// Stop once this many spans were accepted.
    #[arg(long, value_name = "N")]
    pub exit_after_spans: Option<u64>,
}

pub fn exec(args: Args, output: OutputFormat) -> anyhow::Result<ExitCode> {
    let token = args.token.token()?;
    anyhow::ensure!(
        !args.memory.given() || args.metrics_url.is_some(),
        "--container-memory-mib and --config judge the collector's memory on the health page: they need --metrics-url"
    );
    let memory_limit = args.memory.memory_limit()?;
    let config = ReceiverConfig {
        max_spans: args.max_spans,
        on_full: args.on_full,
        max_body_bytes: args.max_body_bytes,
        token,
        jsonl: args.jsonl,
        ui: args.ui,
        metrics_url: args.metrics_url,
        metrics_interval: args.metrics_interval,
        memory_limit_mib: memory_limit.map(|m| m.mib),
        ..ReceiverConfig::new(args.grpc_listen, args.http_listen)
    };
    let until = Until {
        duration: args.exit_after,
        spans: args.exit_after_spans,
    };
    // Decoding runs on the connection tasks, so use every core.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let summary = runtime.block_on(async {
        // Signal handlers go in before the addresses are printed, so a client
        // that reads them and at once sends SIGTERM still gets a summary.
        let mut stop_signals = StopSignals::install()?;
        let handle = Receiver::start(config).await?;
        print_listening(&handle, args.ui, output);
        let (_, summary) = handle.run_until(&until, stop_signals.recv()).await;
        anyhow::Ok(summary)
    })?;
    match output {
        OutputFormat::Json => println!("{}", serde_json::json!({ "summary": summary })),
        OutputFormat::Table => print!("{}", view::summary_table(&summary)),
    }
    Ok(ExitCode::SUCCESS)
}

fn print_listening(handle: &ReceiverHandle, ui: bool, output: OutputFormat) {
    let ui_url = ui.then(|| crate::ui::url(handle.http_addr()));
    match output {
        OutputFormat::Json => {
            let mut listening = serde_json::json!({
                "grpc_listen": handle.grpc_addr().to_string(),
                "http_listen": handle.http_addr().to_string(),
            });
            if let Some(url) = &ui_url {
                listening["ui"] = url.clone().into();
            }
            println!("{listening}")
        }
        OutputFormat::Table => {
            println!("OTLP/gRPC listening on {}", handle.grpc_addr());
            println!("OTLP/HTTP listening on {}", handle.http_addr());
            println!(
                "query API on http://{}/otelops/v1/traces",
                handle.http_addr()
            );
            if let Some(url) = ui_url {
                println!("web view on {url}");
            }
        }
    }
}

/// `--metrics-url`: the health page scrapes this machine only.
fn loopback_url(text: &str) -> Result<crate::http_client::Url, String> {
    crate::http_client::checked_url(text, false).map_err(|err| match err {
        crate::http_client::HttpError::NotLoopback { host, .. } => {
            format!("{host} is not a loopback address: the web view scrapes only this machine")
        }
        other => other.to_string(),
    })
}
