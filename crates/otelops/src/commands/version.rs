//! `otelops version`: the running collector's version, the pinned one, the
//! services' SDKs, and whether a target release is newer (with the upgrade
//! steps as commands).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use crate::exit;
use crate::http_client::{HttpClient, HttpOptions, Url};
use crate::output::OutputFormat;
use crate::receive::client::TraceSource;
use crate::version::{self, Inputs};

/// The flags `version` shares with `maintain monthly`.
#[derive(Debug, Clone, clap::Args)]
pub struct VersionArgs {
    /// The distribution's builder manifest (the pinned version).
    #[arg(long, default_value = "deploy/collector/builder-config.yaml")]
    pub manifest: PathBuf,
    /// The services' spans (their telemetry.sdk.* resource attributes): a
    /// running `otelops receive` (http://127.0.0.1:4318), or the file
    /// `otelops receive --jsonl FILE` keeps.
    #[arg(long, value_name = "URL|FILE")]
    pub receiver: Option<String>,
    /// The release to compare with, e.g. v0.162.0 (nothing is fetched).
    #[arg(long, value_name = "vX.Y.Z")]
    pub target: Option<String>,
    /// A file of available releases, one a line; the newest is the target.
    #[arg(long, value_name = "FILE")]
    pub releases: Option<PathBuf>,
}

/// Bounds each query to the receiver (it answers from memory).
const RECEIVER_TIMEOUT: Duration = Duration::from_secs(10);

impl VersionArgs {
    pub fn inputs(&self, metrics_url: Option<Url>) -> anyhow::Result<Inputs> {
        let receiver = match &self.receiver {
            Some(url) if url.contains("://") => Some(super::traces::receiver(
                url.clone(),
                HttpOptions::loopback(RECEIVER_TIMEOUT),
            )?),
            Some(file) => Some(TraceSource::File(PathBuf::from(file))),
            None => None,
        };
        Ok(Inputs {
            metrics_url,
            manifest: self.manifest.clone(),
            receiver,
            target: self.target.clone(),
            releases: self.releases.clone(),
        })
    }
}

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  otelops version
  otelops version --metrics-url http://127.0.0.1:8888/metrics --target v0.162.0
  otelops version --releases releases.txt --receiver received.jsonl --output json
  otelops version --target v0.162.0 --receiver http://127.0.0.1:4318

The running version is target_info{service_version} on the metrics page; the pinned one is
dist.version of --manifest. With a newer --target (or the newest of --releases) the upgrade
steps are printed: build, validate, staging, health and trace tests there, then the rolling update.
Exit codes: 0 up to date (or no target given), 1 a newer release is available, 2 usage or input error.")]
pub struct Args {
    /// The collector's internal metrics page.
    #[arg(long, default_value = "http://127.0.0.1:8888/metrics")]
    pub metrics_url: String,
    #[command(flatten)]
    pub version: VersionArgs,
    #[arg(long, default_value = "3s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
    /// Allow a metrics URL that is not on loopback.
    #[arg(long)]
    pub allow_remote: bool,
}

pub fn exec(args: Args, output: OutputFormat) -> anyhow::Result<ExitCode> {
    let client = HttpClient::new(&HttpOptions {
        allow_remote: args.allow_remote,
        ..HttpOptions::loopback(args.timeout)
    })?;
    let url = client.url(&args.metrics_url)?;
    let inputs = args.version.inputs(Some(url))?;
    let r = super::runtime()?.block_on(version::check(&inputs, &client))?;
    match output {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&r)?),
        OutputFormat::Table => {
            match &r.running {
                Some(run) => println!(
                    "running:  {} {} (instance {})",
                    run.service_name.as_deref().unwrap_or("collector"),
                    run.version,
                    run.instance.as_deref().unwrap_or("-")
                ),
                None => println!(
                    "running:  unknown ({})",
                    r.running_error.as_deref().unwrap_or("-")
                ),
            }
            println!(
                "pinned:   {} (modules {})",
                r.pinned.as_deref().unwrap_or("-"),
                r.pinned_release
                    .map(|p| p.to_string())
                    .unwrap_or_else(|| "-".into())
            );
            for s in &r.sdks {
                println!(
                    "sdk:      {} {} {} {}",
                    s.service, s.name, s.language, s.version
                );
            }
            if let Some(e) = &r.sdk_error {
                println!("sdk:      unknown ({e})");
            }
            match (r.target, r.update_available) {
                (Some(t), Some(true)) => {
                    println!("target:   {t} is newer: update\n\nnext steps (staging first):");
                    for (i, s) in r.next_steps.iter().enumerate() {
                        println!("  {}. {s}", i + 1);
                    }
                }
                (Some(t), _) => println!("target:   {t} is not newer: up to date"),
                (None, _) => println!("target:   none given (--target vX.Y.Z or --releases FILE)"),
            }
        }
    }
    Ok(exit::code(if r.update_available == Some(true) {
        exit::FAILED
    } else {
        exit::OK
    }))
}
