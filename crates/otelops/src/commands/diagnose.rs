//! `otelops diagnose`: the guide's troubleshooting symptoms from live
//! metrics, the collector's log, its config and certificates; each with
//! evidence, cause and the fix.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use anyhow::Context;

use crate::collector_config::file::ConfigFile;
use crate::collector_config::memory::MemorySources;
use crate::diagnose::{self, Inputs, certs, log, render};
use crate::exit;
use crate::http_client::{HttpArgs, HttpClient};
use crate::monitor::{self, ReportOptions, Source, Status, Thresholds};
use crate::output::OutputFormat;
use crate::tune::RuleOptions;

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  otelops diagnose --config otel-collector.yaml --metrics-url http://127.0.0.1:8888/metrics
  otelops diagnose --config prod.yaml --log collector.log --cert certs/tls.crt --window 30s
  journalctl -u otelcol --since -1h | otelops diagnose --config prod.yaml --log - --output json

Symptoms (the guide's troubleshooting table): high queue utilisation, export failures,
memory issues, certificate expiration. A full queue whose sends fail is an export failure;
its cause is named from the error codes, the log and a TLS probe of each TLS exporter's
endpoint: certificate (x509, TLS mismatch), token (Unauthenticated/401), or unreachable.
Certificates: every --cert plus the config's cert_file/ca_file/client_ca_file
(WARN ≤ 30 days left, CRIT ≤ 7 or expired).
Exit codes: 0 nothing found, 1 worst finding WARN, 2 worst CRIT, 3 could not read an input.")]
pub struct Args {
    /// The collector config: exporters, certificate files, and the diffs.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// The collector's internal metrics page.
    #[arg(long)]
    pub metrics_url: Option<String>,
    /// Time between the two scrapes (rates); 0s takes one.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub window: Duration,
    /// Scrape and probe timeout.
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
    /// The collector's log file, or - for stdin.
    #[arg(long, value_name = "FILE|-")]
    pub log: Option<String>,
    /// A certificate to check (repeatable), besides those the config names.
    #[arg(long = "cert", value_name = "FILE")]
    pub certs: Vec<PathBuf>,
    /// The collector container's memory [default: from --config's memory_limiter].
    #[arg(long)]
    pub container_memory_mib: Option<f64>,
    #[command(flatten)]
    pub http: HttpArgs,
}

pub fn exec(args: Args, output: OutputFormat) -> anyhow::Result<ExitCode> {
    match run(args, output) {
        Ok(code) => Ok(code),
        Err(e) => {
            eprintln!("otelops: error: {e:#}");
            Ok(exit::code(exit::UNKNOWN))
        }
    }
}

fn run(args: Args, output: OutputFormat) -> anyhow::Result<ExitCode> {
    let cfg = args.config.as_deref().map(ConfigFile::load).transpose()?;
    let log_text = match args.log.as_deref() {
        None => None,
        Some("-") => {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .context("--log -: cannot read stdin")?;
            Some(s)
        }
        Some(p) => {
            Some(std::fs::read_to_string(p).with_context(|| format!("--log {p}: cannot read"))?)
        }
    };
    let rt = super::runtime()?;
    let report = match &args.metrics_url {
        None => None,
        Some(u) => {
            let client = HttpClient::new(&args.http.options(args.timeout))?;
            let source = Source::Url {
                url: client.url(u)?,
                client,
            };
            let memory = monitor::memory_limit::memory_limit(
                args.container_memory_mib,
                cfg.as_ref(),
                &MemorySources::system(),
            )?;
            let opts = ReportOptions {
                window: args.window,
                thresholds: Thresholds::GUIDE,
                memory_limit_mib: memory.map(|m| m.mib),
            };
            Some(rt.block_on(monitor::report(&source, &opts))?)
        }
    };
    let now = SystemTime::now();
    let mut sources: Vec<certs::CertSource> = args
        .certs
        .iter()
        .map(|p| certs::CertSource {
            path: p.clone(),
            named_by: "--cert".into(),
        })
        .collect();
    let tls_exporters = match &cfg {
        Some(c) => {
            for s in certs::config_files(c) {
                if !sources.iter().any(|x| x.path == s.path) {
                    sources.push(s);
                }
            }
            certs::tls_exporters(c)
        }
        None => Vec::new(),
    };
    let cert_reports = certs::inspect(&sources, now);
    let probes = certs::probe(&tls_exporters, args.http.allow_remote, args.timeout, now);
    let summary = log_text.as_deref().map(log::summarise);
    let rules = RuleOptions {
        container_memory_mib: args.container_memory_mib,
        ..RuleOptions::guide()
    };
    let d = diagnose::diagnose(&Inputs {
        report: report.as_ref(),
        config: cfg.as_ref(),
        log: summary.as_ref(),
        certs: &cert_reports,
        probes: &probes,
        rules: &rules,
    });
    match output {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&d)?),
        OutputFormat::Table => print!("{}", render::table(&d)),
    }
    Ok(exit::code(match d.status {
        Status::Ok => exit::OK,
        Status::Warn => exit::WARN,
        Status::Crit => exit::CRIT,
    }))
}
