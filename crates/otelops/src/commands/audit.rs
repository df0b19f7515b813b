//! `otelops audit security|production`: the guide's two checklists as reports.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use crate::audit::{self, Inputs, LiveTarget, Status, render};
use crate::exit;
use crate::http_client::{HttpArgs, checked_host};
use crate::output::OutputFormat;

#[derive(Debug, clap::Subcommand)]
pub enum AuditCommand {
    /// The Security Audit Checklist: TLS (config and live), plain-text
    /// endpoints, tokens, certificates, literal secrets, non-root, network.
    #[command(after_help = concat!("Examples:
  otelops audit security
  otelops audit security --config /etc/otelcol-parker/config.yaml --env-file /etc/otelcol-parker/secrets.env \\
      --collector 127.0.0.1 --cacert tls/ca.crt --pid \"$(pidof otelcol-parker)\"
  otelops --output json audit security --k8s deploy/k8s

", "Exit codes: 0 every item OK, 1 the worst item is WARN, 2 the worst is CRIT, or usage or unreadable input."))]
    Security(Args),
    /// The Production Checklist: resource limits, monitoring endpoints,
    /// alert rules, log shipping, a recent restore-tested backup, a runbook.
    #[command(after_help = concat!("Examples:
  otelops audit production
  otelops audit production --backup-dir /var/backups/otelcol-parker --max-backup-age 7d --runbook docs/runbook.md

", "Exit codes: 0 every item OK, 1 the worst item is WARN, 2 the worst is CRIT, or usage or unreadable input."))]
    Production(Args),
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Collector config(s); tokens are compared across all of them.
    #[arg(long, default_value = "deploy/collector/production.yaml")]
    pub config: Vec<PathBuf>,
    #[command(flatten)]
    pub files: AuditFiles,
    /// More certificates to check (PEM), besides the receivers' cert_file.
    #[arg(long)]
    pub cert: Vec<PathBuf>,
    /// Probe the running collector's data listeners (ports from --config) over TLS.
    #[arg(long, value_name = "HOST")]
    pub collector: Option<String>,
    /// The running collector's process id: its uid is checked and its
    /// environment resolves ${env:…} references (tokens, certificate paths).
    #[arg(long)]
    pub pid: Option<u32>,
    /// Where `otelops backup` keeps its record (otelops-backups.jsonl).
    #[arg(long, default_value = "/var/backups/otelcol-parker")]
    pub backup_dir: PathBuf,
    /// The newest backup and its restore test must be younger than this.
    #[arg(long, default_value = "7d", value_parser = humantime::parse_duration)]
    pub max_backup_age: Duration,
    #[arg(long, default_value = "docs/runbook.md")]
    pub runbook: PathBuf,
    /// Timeout of each live probe.
    #[arg(long, default_value = "3s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
    #[command(flatten)]
    pub http: HttpArgs,
}

/// The deployment files the audits read besides the config (shared with
/// `otelops maintain`).
#[derive(Debug, clap::Args)]
pub struct AuditFiles {
    /// Env files: the collector's (resolves ${env:…} references, judges its
    /// tokens and mode) and templates (must hold no secret values).
    #[arg(long, default_value = "config/.env.otel.template")]
    pub env_file: Vec<PathBuf>,
    /// The k8s manifests directory.
    #[arg(long, default_value = "deploy/k8s")]
    pub k8s: PathBuf,
    #[arg(long, default_value = "deploy/docker/Dockerfile")]
    pub dockerfile: PathBuf,
    /// Prometheus alert rules.
    #[arg(long, default_value = "deploy/prometheus/otelcol-parker-rules.yaml")]
    pub rules: PathBuf,
}

impl Args {
    fn inputs(self) -> anyhow::Result<Inputs> {
        let collector = match self.collector {
            Some(host) => Some(LiveTarget {
                host: checked_host(&host, self.http.allow_remote)?,
                tls: self.http.options(self.timeout).tls,
                timeout: self.timeout,
            }),
            None => None,
        };
        Ok(Inputs {
            configs: self.config,
            env_files: self.files.env_file,
            k8s_dir: self.files.k8s,
            dockerfile: self.files.dockerfile,
            rules: self.files.rules,
            certs: self.cert,
            collector,
            pid: self.pid,
            backup_dir: self.backup_dir,
            max_backup_age: self.max_backup_age,
            runbook: self.runbook,
            now: SystemTime::now(),
        })
    }
}

pub fn exec(cmd: AuditCommand, output: OutputFormat) -> anyhow::Result<ExitCode> {
    let report = match cmd {
        AuditCommand::Security(a) => audit::security(&a.inputs()?)?,
        AuditCommand::Production(a) => audit::production(&a.inputs()?)?,
    };
    match output {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        OutputFormat::Table => print!("{}", render::table(&report)),
    }
    Ok(exit::code(match report.status {
        Status::Ok => exit::OK,
        Status::Warn => exit::WARN,
        Status::Crit => exit::CRIT,
    }))
}
