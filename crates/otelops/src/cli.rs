//! The command line: global flags and one subcommand per operator task.

use clap::{Parser, Subcommand};

use crate::commands;
use crate::output::OutputFormat;

#[derive(Debug, Parser)]
#[command(
    name = "otelops",
    version,
    about = "Operate Parker Flight's OpenTelemetry pipeline",
    after_help = concat!(
        "Examples:\n",
        "  otelops health\n",
        "  otelops monitor report --output json\n",
        "  otelops monitor watch --interval 5m\n",
        "  otelops tune --config otel-collector.yaml --metrics-url http://127.0.0.1:8888/metrics\n",
        "  otelops check semantic-conventions --listen --duration 30s\n",
        "  otelops demo --once\n",
        "  otelops completions bash\n\n",
        "Exit codes:\n",
        "  health   0 every check passed, 1 a check failed, 2 usage or input error\n",
        "  monitor  0 OK, 1 WARN, 2 CRIT, 3 UNKNOWN (scrape, file or parse failed)\n",
        "  tune     0 nothing to change, 1 recommendations made, 2 usage or input error"
    )
)]
pub struct Cli {
    /// How to print results.
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a collector's health endpoints, metrics, OTLP receivers and zPages.
    Health(commands::health::Args),
    /// Scrape collector metrics and judge them against thresholds.
    #[command(subcommand)]
    Monitor(commands::monitor::MonitorCommand),
    /// Recommend collector tuning from metrics and config.
    Tune(commands::tune::Args),
    /// Render or lint collector configuration.
    #[command(subcommand)]
    Config(commands::config::ConfigCommand),
    /// Write Grafana dashboards and Prometheus alert rules.
    Dashboards(commands::dashboards::Args),
    /// Print shell completions.
    Completions(commands::completions::Args),
    /// Check telemetry files or a --listen stream (OTLP encoding, semantic
    /// conventions), or a service's W3C propagation (trace-context).
    #[command(subcommand)]
    Check(commands::check::CheckCommand),
    /// Receive OTLP (gRPC and HTTP) into a bounded in-memory store; summary on exit.
    Receive(commands::receive::Args),
    /// Run Parker Flight end to end: services, a booking flow, the three checks.
    Demo(commands::demo::Args),
    /// List received traces or show one as a waterfall.
    #[command(subcommand)]
    Traces(commands::traces::TracesCommand),
}
