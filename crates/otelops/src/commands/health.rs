//! `otelops health`: one line per check with its latency; exit 1 when any fails.

use std::process::ExitCode;
use std::time::Duration;

use crate::exit;
use crate::health::{self, CheckKind, Outcome, TargetFlags, Targets};
use crate::http_client::{HttpArgs, HttpClient};
use crate::output::OutputFormat;

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  otelops health
  otelops health --collector 127.0.0.1 --timeout 500ms --output json
  otelops health --skip otlp-grpc --skip zpages
  otelops health --health-v2-url http://127.0.0.1:13133/status
  otelops health --metrics-url http://127.0.0.1:9888/metrics --otlp-http http://127.0.0.1:4318
  otelops health --cacert ca.pem --token-file ingest.token     (production profile: TLS + bearer auth)

Exit codes: 0 every check passed, 1 a check failed, 2 usage or input error.
Only loopback targets are contacted unless --allow-remote is given.
With --cacert or --client-cert the OTLP receivers are checked over https (default
and scheme-less --otlp-grpc/--otlp-http targets); the token goes only to them.")]
pub struct Args {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Skip a check (repeatable).
    #[arg(long, value_enum)]
    pub skip: Vec<CheckKind>,
    /// Per-check timeout, e.g. 2s or 500ms.
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
    #[command(flatten)]
    pub http: HttpArgs,
}

/// Where the collector's endpoints are (shared with `otelops maintain`).
#[derive(Debug, Clone, clap::Args)]
pub struct TargetArgs {
    /// Collector host; the default ports (13133, 8888, 4317, 4318, 55679) are used on it.
    #[arg(long, default_value = "127.0.0.1")]
    pub collector: String,
    /// health_check v1 URL [default: http://HOST:13133/].
    #[arg(long)]
    pub health_url: Option<String>,
    /// health_check v2 status URL [default: probe http://HOST:13133/status, skip if absent].
    #[arg(long)]
    pub health_v2_url: Option<String>,
    /// Internal metrics URL [default: http://HOST:8888/metrics].
    #[arg(long)]
    pub metrics_url: Option<String>,
    /// OTLP gRPC endpoint [default: http://HOST:4317].
    #[arg(long)]
    pub otlp_grpc: Option<String>,
    /// OTLP HTTP base or traces URL [default: http://HOST:4318/v1/traces].
    #[arg(long)]
    pub otlp_http: Option<String>,
    /// zPages base URL [default: http://HOST:55679].
    #[arg(long)]
    pub zpages_url: Option<String>,
}

impl TargetArgs {
    pub fn targets(&self, http: &HttpArgs) -> Result<Targets, crate::http_client::HttpError> {
        Targets::from_flags(&TargetFlags {
            collector: self.collector.clone(),
            health_url: self.health_url.clone(),
            health_v2_url: self.health_v2_url.clone(),
            metrics_url: self.metrics_url.clone(),
            otlp_grpc: self.otlp_grpc.clone(),
            otlp_http: self.otlp_http.clone(),
            zpages_url: self.zpages_url.clone(),
            allow_remote: http.allow_remote,
            otlp_tls: http.wants_tls(),
        })
    }
}

pub fn exec(args: Args, output: OutputFormat) -> anyhow::Result<ExitCode> {
    let targets = args.target.targets(&args.http)?;
    let client = HttpClient::new(&args.http.options(args.timeout))?;
    let rt = super::runtime()?;
    let results = rt.block_on(health::run(&targets, &args.skip, &client));
    match output {
        OutputFormat::Json => {
            let doc = serde_json::json!({ "ok": !health::any_failed(&results), "checks": results });
            println!("{}", serde_json::to_string_pretty(&doc)?);
        }
        OutputFormat::Table => {
            for r in &results {
                let mark = match r.outcome {
                    Outcome::Pass => "PASS",
                    Outcome::Fail => "FAIL",
                    Outcome::Skipped => "SKIP",
                };
                let latency = r
                    .latency_ms
                    .map_or("-".to_string(), |l| format!("{l:.1}ms"));
                println!(
                    "{mark:<4}  {:<10} {latency:>9}  {}  {}",
                    r.check.name(),
                    r.target,
                    r.detail
                );
            }
        }
    }
    Ok(exit::code(if health::any_failed(&results) {
        exit::FAILED
    } else {
        exit::OK
    }))
}
