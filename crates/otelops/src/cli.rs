//! The command line: global flags and one subcommand per operator task.

use std::ffi::OsString;

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
        "  otelops load --file test-data/sample-trace.json --requests 1000 --concurrency 100\n",
        "  otelops completions bash\n\n",
        "Exit codes (each command's --help has its own):\n",
        "  health    0 every check passed, 1 a check failed, 2 usage or input error\n",
        "  monitor   0 OK, 1 WARN, 2 CRIT, 3 UNKNOWN (scrape, file or parse failed)\n",
        "  tune      0 nothing to change, 1 recommendations made, 2 usage or input error\n",
        "  config    lint: 0 no errors, 1 errors, 2 unreadable; render, rules: 0, or 2\n",
        "  check     0 no violations (every case passed), 1 violations, 2 bad input or target\n",
        "  traces    0 shown, 1 no such trace, 2 usage or input error\n",
        "  demo      --once: 0 flow and checks passed, 1 a booking or check failed, 2 could not run\n",
        "  load      0 every span accepted, 1 some rejected, refused or failed, 2 usage or input error\n",
        "  others    0 done, 2 usage or input error\n\n",
        "`otelops monitor N` is `otelops monitor watch --interval Nm`."
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
    /// Scrape collector metrics and judge them against thresholds
    /// (`monitor N`: watch every N minutes).
    #[command(
        subcommand,
        after_help = "Examples:\n  \
            otelops monitor report --config deploy/collector/production.yaml\n  \
            otelops monitor 5          # = otelops monitor watch --interval 5m\n\n\
            Exit codes: 0 OK, 1 WARN, 2 CRIT, 3 UNKNOWN (scrape, file or parse failed)."
    )]
    Monitor(commands::monitor::MonitorCommand),
    /// Recommend collector tuning from metrics and config.
    Tune(commands::tune::Args),
    /// Render or lint collector configuration.
    #[command(
        subcommand,
        after_help = "Examples:\n  \
            otelops config render --profile production\n  \
            otelops config lint deploy/collector/production.yaml\n\n\
            Exit codes: lint 0 no errors, 1 errors, 2 unreadable; render and rules 0, or 2 on usage errors."
    )]
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
    /// Send OTLP trace load (a file or synthetic traces) to a collector; report what it accepted.
    Load(commands::load::Args),
}

impl Cli {
    /// Parses the process's arguments after expanding [`expand_monitor_shorthand`].
    pub fn parse_args() -> Cli {
        Cli::parse_from(expand_monitor_shorthand(std::env::args_os().collect()))
    }
}

/// `otelops monitor N …` is `otelops monitor watch --interval Nm …`: the
/// guide's `otel-resource-monitor.ts monitor 5` form, N whole minutes.
/// Anything else is left for clap (so a typo still gets its suggestion).
pub fn expand_monitor_shorthand(mut args: Vec<OsString>) -> Vec<OsString> {
    // The subcommand is the first argument that is neither a flag nor the
    // value of the only global flag that takes one (`--output`).
    let mut i = 1;
    while let Some(a) = args.get(i).and_then(|a| a.to_str()) {
        match a {
            "--output" => i += 2,
            _ if a.starts_with('-') => i += 1,
            _ => break,
        }
    }
    let minutes = args
        .get(i + 1)
        .and_then(|a| a.to_str())
        .filter(|a| !a.is_empty() && a.bytes().all(|b| b.is_ascii_digit()))
        .map(str::to_owned);
    if let (Some("monitor"), Some(n)) = (args.get(i).and_then(|a| a.to_str()), minutes) {
        args.splice(
            i + 1..i + 2,
            ["watch".into(), "--interval".into(), format!("{n}m").into()],
        );
    }
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand(args: &[&str]) -> Vec<String> {
        expand_monitor_shorthand(args.iter().map(OsString::from).collect())
            .into_iter()
            .map(|a| a.into_string().unwrap())
            .collect()
    }

    #[test]
    fn monitor_minutes_is_watch_with_that_interval() {
        assert_eq!(
            expand(&["otelops", "monitor", "5", "--once"]),
            ["otelops", "monitor", "watch", "--interval", "5m", "--once"]
        );
        assert_eq!(
            expand(&["otelops", "--output", "json", "monitor", "15"]),
            [
                "otelops",
                "--output",
                "json",
                "monitor",
                "watch",
                "--interval",
                "15m"
            ]
        );
    }

    #[test]
    fn other_arguments_are_left_alone() {
        for args in [
            &["otelops", "monitor", "report"][..],
            &["otelops", "monitor", "5m"],
            &["otelops", "tune", "5"],
            &["otelops", "monitor", "watch", "--count", "5"],
        ] {
            assert_eq!(expand(args), args);
        }
    }
}
