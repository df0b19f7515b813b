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
        "  otelops test run --file tests/tracetest/booking-flow.yaml\n",
        "  otelops load --file test-data/sample-trace.json --requests 1000 --concurrency 100\n",
        "  otelops completions bash\n\n",
        "Exit codes (each command's --help has its own):\n",
        "  health    0 every check passed, 1 a check failed, 2 usage or input error\n",
        "  monitor   0 OK, 1 WARN, 2 CRIT, 3 UNKNOWN (scrape, file or parse failed)\n",
        "  tune      0 nothing to change, 1 recommendations made, 2 usage or input error\n",
        "  config    lint: 0 no errors, 1 errors, 2 unreadable; render, rules: 0, or 2\n",
        "  check     0 no violations (every case passed), 1 violations, 2 bad input or target\n",
        "  traces    0 shown, 1 no such trace, 2 usage or input error\n",
        "  audit     0 every item OK, 1 worst WARN, 2 worst CRIT or usage/unreadable input\n",
        "  demo      --once: 0 flow and checks passed, 1 a booking or check failed, 2 could not run\n",
        "  backup    verify: 0 passed, 1 failed a check, 2 usage; create, restore: 0 done, 2 error\n",
        "  test      run: 0 every spec passed, 1 an assertion failed, 2 a test could not run\n",
        "  token     0 done, 2 usage or input error (nothing written)\n",
        "  certs     check: 0 OK, 1 WARN, 2 CRIT or unreadable; init, issue, rotate: 0, or 2\n",
        "  load      0 every span accepted, 1 some rejected, refused or failed, 2 usage or input error\n",
        "  maintain  0 OK, 1 worst WARN, 2 worst CRIT or usage/input error, 3 a check could not run\n",
        "  version   0 up to date or no target, 1 a newer release is available, 2 usage or input error\n",
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
    /// Find the guide's troubleshooting symptoms and their causes, with the fix.
    Diagnose(commands::diagnose::Args),
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
    /// Back up the configuration and the encrypted certificates; verify; restore.
    #[command(
        subcommand,
        after_help = "Examples:\n  \
            otelops backup create --config deploy/collector --certs /etc/otelcol/certs \\\n      \
              --out backups/otel-2026-12-06.tar.gz --passphrase-file ~/.otel-backup.pass\n  \
            otelops backup verify backups/otel-2026-12-06.tar.gz --passphrase-env OTEL_BACKUP_PASSPHRASE\n  \
            otelops backup restore backups/otel-2026-12-06.tar.gz --to /srv/restore --passphrase-file F\n  \
            otelops backup restore certs.tar.gpg --to /srv/restore --passphrase-file F   # made by tar | gpg --symmetric\n\n\
            The certificates file opens with: gpg --batch --pinentry-mode loopback --passphrase-file F --decrypt NAME.certs.tar.gpg | tar -x\n\
            create and verify append a line to otelops-backups.jsonl next to the backup (read by otelops audit).\n\
            Exit codes: create, restore 0 done, 2 usage or input error (restore writes nothing then); \
            verify 0 passed, 1 the backup failed a check, 2 usage error."
    )]
    Backup(commands::backup::BackupCommand),
    /// Run Tracetest test definitions (trace-based tests) with no server, or validate them.
    #[command(subcommand)]
    Test(commands::test::TestCommand),
    /// Make, rotate and retire the collector's ingest bearer tokens.
    #[command(subcommand, after_help = commands::token::AFTER_HELP)]
    Token(commands::token::TokenCommand),
    /// The security and production checklists as reports (status, evidence, fix).
    #[command(
        subcommand,
        after_help = "Examples:\n  \
            otelops audit security --env-file /etc/otelcol-parker/secrets.env --collector 127.0.0.1 --cacert ca.pem\n  \
            otelops --output json audit production --backup-dir /var/backups/otelcol-parker\n\n\
            Exit codes: 0 every item OK, 1 the worst item is WARN, 2 the worst is CRIT, or usage or unreadable input."
    )]
    Audit(commands::audit::AuditCommand),
    /// Make, check and rotate the collector's TLS certificates.
    #[command(
        subcommand,
        after_help = "Examples:\n  \
            otelops certs init --dir tls\n  \
            otelops certs check tls/tls.crt --ca tls/ca.crt\n  \
            otelops certs rotate --dir tls\n\n\
            Exit codes: check 0 OK, 1 WARN, 2 CRIT or unreadable; init, issue, rotate 0, or 2 on usage or input errors."
    )]
    Certs(commands::certs::CertsCommand),
    /// Send OTLP trace load (a file or synthetic traces) to a collector; report what it accepted.
    Load(commands::load::Args),
    /// The guide's daily, weekly and monthly maintenance as checks (table, JSON, HTML).
    Maintain(Box<commands::maintain::Args>),
    /// Collector versions (running, pinned), the services' SDKs, and the upgrade steps.
    Version(commands::version::Args),
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
