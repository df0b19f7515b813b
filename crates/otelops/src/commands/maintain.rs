//! `otelops maintain daily|weekly|monthly`: the guide's maintenance lists as
//! checks; table, JSON or a self-contained HTML page; `--history` says what
//! changed since the last run.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use anyhow::Context;

use super::audit::AuditFiles;
use super::health::TargetArgs;
use super::version::VersionArgs;
use crate::backup::PassphraseSource;
use crate::exit;
use crate::health::CheckKind;
use crate::http_client::{HttpArgs, HttpClient, TlsFiles};
use crate::maintain::{self, AuditPaths, Inputs, LogSource, Schedule, Status};
use crate::output::OutputFormat;

const AFTER_HELP: &str = "Examples:
  otelops maintain daily --config /etc/otelcol-parker/config.yaml --log /var/log/otelcol-parker.log --history maint.jsonl
  journalctl -u otelcol-parker --since yesterday | otelops maintain daily --log -
  otelops maintain weekly --config deploy/collector/production.yaml --monitor-history monitor.redb \\
      --backup-dir /var/backups/otelcol-parker --passphrase-file ~/.otel-backup.pass --html weekly.html
  otelops maintain monthly --config deploy/collector/production.yaml --cert tls/tls.crt \\
      --ingest-token-file /etc/otelcol-parker/ingest.tokens --runbook docs/runbook.md --target v0.162.0

daily: collector health, error logs (--log FILE|-, or --logs-from FILE: the copy `otelops receive
--jsonl FILE` keeps of the logs the collector exports), queue utilisation, export connectivity
(send failures per exporter; a TCP/TLS probe of each exporter endpoint in --config).
weekly: performance trends (--monitor-history), tuning (otelops tune), security configuration
(otelops audit security), backup test (the newest *.tar.gz in --backup-dir verifies by a trial restore).
monthly: certificates (--cert) and tokens (--ingest-token-file) due for rotation, version update
(--target/--releases), documentation review (every otelops command line in --runbook parses),
security audit. A check with nothing given to check is SKIPPED.
Exit codes: 0 OK, 1 the worst check is WARN, 2 CRIT (or usage/input error), 3 UNKNOWN (a check could not run).";

#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    #[arg(value_enum)]
    pub schedule: Schedule,
    /// The collector config (exporter endpoints, tune, audit).
    #[arg(long)]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Skip a health check (repeatable).
    #[arg(long, value_enum)]
    pub skip: Vec<CheckKind>,
    /// Time between the two metric scrapes (rates); 0s takes one.
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    pub window: Duration,
    /// Timeout of each request and probe.
    #[arg(long, default_value = "3s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
    /// The collector's log file (repeatable); `-` reads stdin.
    #[arg(long, value_name = "FILE")]
    pub log: Vec<PathBuf>,
    /// Logs the collector exported over OTLP: the file `otelops receive --jsonl FILE` writes.
    #[arg(long, value_name = "FILE")]
    pub logs_from: Vec<PathBuf>,
    /// The history `otelops monitor watch --history FILE` writes.
    #[arg(long, value_name = "FILE")]
    pub monitor_history: Option<PathBuf>,
    /// Where the backups are (otelops backup create --out DIR/NAME.tar.gz).
    #[arg(long, value_name = "DIR")]
    pub backup_dir: Option<PathBuf>,
    /// The backups' passphrase, first line of this file.
    #[arg(long, value_name = "FILE", conflicts_with = "passphrase_env")]
    pub passphrase_file: Option<PathBuf>,
    /// The backups' passphrase, from this environment variable.
    #[arg(long, value_name = "VAR")]
    pub passphrase_env: Option<String>,
    /// A certificate to check for rotation (repeatable).
    #[arg(long, value_name = "FILE")]
    pub cert: Vec<PathBuf>,
    /// An ingest token file to check for rotation (repeatable).
    #[arg(long, value_name = "FILE")]
    pub ingest_token_file: Vec<PathBuf>,
    /// Tokens older than this are due for rotation.
    #[arg(long, default_value = "90days", value_parser = humantime::parse_duration)]
    pub token_max_age: Duration,
    #[arg(long, default_value = "docs/runbook.md")]
    pub runbook: PathBuf,
    #[command(flatten)]
    pub audit: AuditFiles,
    #[command(flatten)]
    pub version: VersionArgs,
    /// Keep each run here (JSON lines) and say what changed since the last.
    #[arg(long, value_name = "FILE")]
    pub history: Option<PathBuf>,
    /// Also write the report as one self-contained HTML page.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    #[command(flatten)]
    pub http: HttpArgs,
}

pub fn exec(args: Args, output: OutputFormat) -> anyhow::Result<ExitCode> {
    if let Some(url) = args
        .logs_from
        .iter()
        .find(|p| p.to_string_lossy().contains("://"))
    {
        anyhow::bail!(
            "--logs-from {}: otelops receive keeps only counts of log records in memory; give the file its --jsonl FILE copy writes",
            url.display()
        );
    }
    let targets = args.target.targets(&args.http)?;
    let client = HttpClient::new(&args.http.options(args.timeout))?;
    let passphrase = match (&args.passphrase_file, &args.passphrase_env) {
        (Some(f), _) => Some(PassphraseSource::File(f.clone()).read()?),
        (None, Some(v)) => Some(PassphraseSource::Env(v.clone()).read()?),
        (None, None) => None,
    };
    let mut logs: Vec<LogSource> = args
        .log
        .iter()
        .map(|p| {
            if p.as_os_str() == "-" {
                LogSource::Stdin
            } else {
                LogSource::File(p.clone())
            }
        })
        .collect();
    logs.extend(args.logs_from.iter().cloned().map(LogSource::Received));
    let version = args.version.inputs(Some(targets.metrics.clone()))?;
    let inputs = Inputs {
        config: args.config,
        targets,
        skip: args.skip,
        client,
        window: args.window,
        timeout: args.timeout,
        allow_remote: args.http.allow_remote,
        tls: TlsFiles {
            ca: args.http.cacert.clone(),
            client_cert: args.http.client_cert.clone(),
            client_key: args.http.client_key.clone(),
        },
        logs,
        monitor_history: args.monitor_history,
        backup_dir: args.backup_dir,
        passphrase,
        certs: args.cert,
        ingest_token_files: args.ingest_token_file,
        token_max_age: args.token_max_age,
        runbook: args.runbook,
        version,
        audit: AuditPaths {
            env_files: args.audit.env_file,
            k8s_dir: args.audit.k8s,
            dockerfile: args.audit.dockerfile,
            rules: args.audit.rules,
        },
        now: SystemTime::now(),
    };
    let mut report = super::runtime()?.block_on(maintain::run(args.schedule, &inputs));
    if let Some(path) = &args.history {
        maintain::history::record(path, &mut report)?;
    }
    if let Some(path) = &args.html {
        std::fs::write(path, maintain::html::page(&report))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    match output {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        OutputFormat::Table => print!("{}", maintain::render::table(&report)),
    }
    Ok(exit::code(match report.status {
        Status::Skipped | Status::Ok => exit::OK,
        Status::Warn => exit::WARN,
        Status::Crit => exit::CRIT,
        Status::Unknown => exit::UNKNOWN,
    }))
}
