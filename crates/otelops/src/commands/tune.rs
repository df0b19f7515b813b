//! `otelops tune`: the guide's tuning rules on a config and (optionally) live
//! or saved metrics; recommendations with evidence and a unified diff.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use crate::collector_config::file::ConfigFile;
use crate::collector_config::memory::MemorySources;
use crate::exit;
use crate::http_client::{HttpClient, HttpOptions};
use crate::monitor::{self, ReportOptions, Source, Thresholds};
use crate::output::OutputFormat;
use crate::tune::{self, DEFAULT_MAX_SPANS_PER_SEC, Environment, RuleOptions};

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  otelops tune --config otel-collector.yaml
  otelops tune --config otel-collector.yaml --metrics-url http://127.0.0.1:8888/metrics --window 30s
  otelops tune --config prod.yaml --from-file before.prom --from-file after.prom \\
               --container-memory-mib 2048 --environment production --output json
  otelops tune --config prod.yaml --environment production > tune.txt
  otelops tune --config prod.yaml --environment production --critical-service parker-booking

Rules: queue utilisation > --queue-high-pct (or data dropped) → raise num_consumers when every
consumer is busy, else queue_size (x2) — never while sends or export calls fail (> --send-failed-high-pct):
then check downstream; export p99 (successful calls) > 5 s while calls succeed → num_consumers x2;
short of memory (RSS > 80% of the limit, or memory_limiter refusing) → queue_size /2, batch timeout /2;
batch sends cut at send_batch_max_size (high cardinality) → send_batch_max_size x2;
accepted spans/s > --max-spans-per-sec → sample down to it; --critical-service → tail_sampling keeps them;
batches mostly (>80%) sent on timeout → halve timeout (not below 200ms), mostly on size → double
send_batch_size; memory_limiter limit 80% / spike 20% of --container-memory-mib (or those
percentages); sampling 100/50/10% for development/staging/production.
Exit codes: 0 nothing to change, 1 recommendations made, 2 usage or input error.")]
pub struct Args {
    /// The collector config to tune.
    #[arg(long)]
    pub config: PathBuf,
    /// Scrape live metrics here (two scrapes --window apart).
    #[arg(long, conflicts_with = "from_file")]
    pub metrics_url: Option<String>,
    /// Saved metrics page(s) instead of scraping; twice for rates.
    #[arg(long)]
    pub from_file: Vec<PathBuf>,
    /// Time between the two live scrapes; 0s takes one.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub window: Duration,
    /// Scrape timeout.
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
    /// The container's memory limit, to size memory_limiter.
    #[arg(long)]
    pub container_memory_mib: Option<f64>,
    /// Deployment environment, to check the sampling percentage.
    #[arg(long, value_enum)]
    pub environment: Option<Environment>,
    /// Queue utilisation above which the queue is tuned.
    #[arg(long, default_value_t = Thresholds::GUIDE.queue_warn_pct)]
    pub queue_high_pct: f64,
    /// Send-failure share above which downstream is suspected.
    #[arg(long, default_value_t = Thresholds::GUIDE.send_failed_warn_pct)]
    pub send_failed_high_pct: f64,
    /// Accepted spans per second above which sampling is advised.
    #[arg(long, default_value_t = DEFAULT_MAX_SPANS_PER_SEC)]
    pub max_spans_per_sec: f64,
    /// A service (`service.name`) whose traces are always kept while the rest is sampled; repeatable.
    #[arg(long = "critical-service", value_name = "NAME")]
    pub critical_services: Vec<String>,
    /// Allow a metrics URL that is not on loopback.
    #[arg(long)]
    pub allow_remote: bool,
}

pub fn exec(args: Args, output: OutputFormat) -> anyhow::Result<ExitCode> {
    if let Some(c) = args.container_memory_mib {
        anyhow::ensure!(
            c > 0.0 && c.is_finite(),
            "--container-memory-mib must be positive, got {c}"
        );
    }
    anyhow::ensure!(
        args.max_spans_per_sec > 0.0 && args.max_spans_per_sec.is_finite(),
        "--max-spans-per-sec must be positive, got {}",
        args.max_spans_per_sec
    );
    if let Some(bad) = args
        .critical_services
        .iter()
        .find(|n| n.is_empty() || n.contains(|c: char| c.is_whitespace() || ",[]{}:#".contains(c)))
    {
        anyhow::bail!(
            "--critical-service {bad:?}: a service.name without spaces or YAML punctuation (,[]{{}}:#)"
        );
    }
    let cfg = ConfigFile::load(&args.config)?;
    let source = match (&args.metrics_url, args.from_file.is_empty()) {
        (Some(u), _) => {
            let client = HttpClient::new(&HttpOptions {
                allow_remote: args.allow_remote,
                ..HttpOptions::loopback(args.timeout)
            })?;
            Some(Source::Url {
                url: client.url(u)?,
                client,
            })
        }
        (None, false) => Some(Source::Files(args.from_file.clone())),
        (None, true) => None,
    };
    let report = match source {
        Some(s) => {
            let opts = ReportOptions {
                window: args.window,
                thresholds: Thresholds::GUIDE,
                memory_limit_mib: monitor::memory_limit::memory_limit(
                    args.container_memory_mib,
                    Some(&cfg),
                    &MemorySources::system(),
                )?
                .map(|m| m.mib),
            };
            Some(super::runtime()?.block_on(monitor::report(&s, &opts))?)
        }
        None => None,
    };
    let opts = RuleOptions {
        container_memory_mib: args.container_memory_mib,
        environment: args.environment,
        queue_high_pct: args.queue_high_pct,
        send_failed_high_pct: args.send_failed_high_pct,
        max_spans_per_sec: args.max_spans_per_sec,
        critical_services: args.critical_services,
    };
    let t = tune::tune(&cfg, report.as_ref(), &opts);
    match output {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&t)?),
        OutputFormat::Table => {
            if t.recommendations.is_empty() {
                println!("{}: nothing to change", t.config);
            }
            for r in &t.recommendations {
                let change = match (&r.setting, &r.current, &r.recommended) {
                    (Some(s), cur, Some(new)) => {
                        format!(
                            "{}.{s}: {} → {new}",
                            r.component,
                            cur.as_deref().unwrap_or("(unset)")
                        )
                    }
                    _ => format!("{}: advice", r.component),
                };
                println!("[{}] {change}\n    why: {}", r.rule, r.reason);
                if let Some(why) = &r.not_in_diff {
                    println!("    not in the diff (set it by hand): {why}");
                }
                for e in &r.evidence {
                    println!("    evidence: {e}");
                }
            }
            for n in &t.notes {
                println!("note: {n}");
            }
            if !t.diff.is_empty() {
                println!("\n{}", t.diff);
            }
        }
    }
    Ok(exit::code(if t.recommendations.is_empty() {
        exit::OK
    } else {
        exit::FAILED
    }))
}
