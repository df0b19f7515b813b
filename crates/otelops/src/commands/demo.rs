//! `otelops demo`: Parker Flight end to end on this machine — receiver,
//! parker-fares, parker-booking, a booking flow with one retried provider
//! failure, the three checks — then keep running until Ctrl-C (or exit after
//! the report with `--once`).

use std::io::IsTerminal;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;

use super::signals::StopSignals;
use crate::demo::{Demo, DemoConfig, Protocol, render};
use crate::output::OutputFormat;
use crate::receive::view::Style;

#[derive(Debug, clap::Args)]
#[command(after_help = concat!(
    "Examples:\n",
    "  otelops demo\n",
    "  otelops demo --once --output json\n",
    "  otelops demo --port-base 9000 --protocol grpc\n\n",
    "Ports: booking 8080, fares 8081, OTLP/gRPC 4317, OTLP/HTTP 4318 by default;\n",
    "--port-base P moves them to P, P+1, P+2, P+3; --once alone picks free ones.\n\n",
    "Exit codes with --once: 0 every booking final, the injected failure retried and\n",
    "no check found a violation; 1 otherwise; 2 the demo could not run."
))]
pub struct Args {
    /// Exit after the report instead of running until Ctrl-C.
    #[arg(long)]
    pub once: bool,
    /// Directory holding the parker-fares and parker-booking binaries
    /// (default: next to otelops).
    #[arg(long, value_name = "DIR")]
    pub bin_dir: Option<PathBuf>,
    /// Put booking, fares, OTLP/gRPC and OTLP/HTTP on ports P..P+3.
    #[arg(long, value_name = "P")]
    pub port_base: Option<u16>,
    /// parker-booking's listen address (overrides --port-base).
    #[arg(long)]
    pub booking_listen: Option<SocketAddr>,
    /// parker-fares' listen address (overrides --port-base).
    #[arg(long)]
    pub fares_listen: Option<SocketAddr>,
    /// The receiver's OTLP/gRPC address (overrides --port-base).
    #[arg(long)]
    pub grpc_listen: Option<SocketAddr>,
    /// The receiver's OTLP/HTTP address (overrides --port-base).
    #[arg(long)]
    pub http_listen: Option<SocketAddr>,
    /// How the services export to the receiver.
    #[arg(long, value_enum, default_value_t = Protocol::HttpProtobuf)]
    pub protocol: Protocol,
    /// Service logs and the received telemetry go here
    /// (default: otelops-demo-<pid> in the temporary directory).
    #[arg(long, value_name = "DIR")]
    pub work_dir: Option<PathBuf>,
    /// Bound on each wait (services ready, bookings final, traces in).
    #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
}

const DEFAULT_PORTS: [u16; 4] = [8080, 8081, 4317, 4318];

pub fn exec(args: Args, output: OutputFormat) -> anyhow::Result<ExitCode> {
    let config = config(&args)?;
    let otelops = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "otelops".to_owned());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    // The future below is polled on this (main) thread, so the services are
    // forked from a thread that lives as long as the demo.
    runtime.block_on(async move {
        let mut signals = StopSignals::install()?;
        eprintln!(
            "otelops demo: starting parker-fares, parker-booking and the OTLP receiver (logs in {})",
            config.work_dir.display()
        );
        let started = tokio::select! {
            started = start_and_drive(config) => started?,
            _ = signals.recv() => anyhow::bail!("interrupted; services stopped"),
        };
        let (demo, report) = started;
        match output {
            OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&report)?),
            OutputFormat::Table => {
                let style = Style {
                    color: std::io::stdout().is_terminal(),
                };
                print!("{}", render::report(&report, style, &otelops, !args.once));
                if !args.once {
                    println!("\nCtrl-C stops everything.");
                }
            }
        }
        if !args.once {
            signals.recv().await;
            eprintln!("\notelops demo: stopping");
        }
        let summary = demo.stop().await;
        if !args.once && output == OutputFormat::Table {
            println!(
                "received {} spans in {} traces from {} ({} errors)",
                summary.spans,
                summary.traces,
                summary.services.join(", "),
                summary.errors
            );
        }
        Ok(if report.passed() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        })
    })
}

async fn start_and_drive(config: DemoConfig) -> anyhow::Result<(Demo, crate::demo::DemoReport)> {
    let demo = Demo::start(config).await?;
    eprintln!(
        "otelops demo: services ready; booking flights for 4 travellers (one provider failure will be injected)"
    );
    // On error the demo is dropped here, which kills the services.
    let report = demo.drive().await?;
    Ok((demo, report))
}

fn config(args: &Args) -> anyhow::Result<DemoConfig> {
    let bin_dir = match &args.bin_dir {
        Some(dir) => dir.clone(),
        None => std::env::current_exe()
            .context("finding the otelops binary (pass --bin-dir DIR)")?
            .parent()
            .context("the otelops binary has no directory (pass --bin-dir DIR)")?
            .to_path_buf(),
    };
    let ports: [u16; 4] = match args.port_base {
        Some(p) => {
            let last = p.checked_add(3).filter(|_| p != 0).with_context(|| {
                format!("--port-base {p}: expected 1 to 65532 (four ports from it)")
            })?;
            [p, p + 1, p + 2, last]
        }
        // Free ports in --once mode, so tests and CI can run side by side.
        None if args.once => [0; 4],
        None => DEFAULT_PORTS,
    };
    let [booking, fares, grpc, http] =
        ports.map(|port| SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port));
    Ok(DemoConfig {
        bin_dir,
        work_dir: args.work_dir.clone().unwrap_or_else(|| {
            std::env::temp_dir().join(format!("otelops-demo-{}", std::process::id()))
        }),
        booking_listen: args.booking_listen.unwrap_or(booking),
        fares_listen: args.fares_listen.unwrap_or(fares),
        grpc_listen: args.grpc_listen.unwrap_or(grpc),
        http_listen: args.http_listen.unwrap_or(http),
        protocol: args.protocol,
        timeout: args.timeout,
    })
}
