//! `otelops monitor report|watch|trends`: judge a collector's internal metrics.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use crate::collector_config::file::ConfigFile;
use crate::collector_config::memory::MemorySources;
use crate::exit;
use crate::http_client::{HttpArgs, HttpClient};
use crate::monitor::memory_limit::{self, MemoryLimit};
use crate::monitor::watch::{self, WatchOptions};
use crate::monitor::{self, ReportOptions, Source, Status, Thresholds, render, trends};
use crate::output::OutputFormat;

#[derive(Debug, clap::Subcommand)]
pub enum MonitorCommand {
    /// Scrape twice, a window apart (or read saved pages), and print the judgement.
    #[command(after_help = "Examples:
  otelops monitor report
  otelops monitor report --window 30s --memory-limit-mib 512 --output json
  otelops monitor report --config deploy/collector/production.yaml --queue-warn-pct 70
  otelops monitor report --from-file before.prom --from-file after.prom
  otelops monitor report --from-file incident.prom      # one page: no rates

Exit codes: 0 OK, 1 WARN, 2 CRIT, 3 UNKNOWN (scrape, file or parse failed).")]
    Report(ReportArgs),
    /// Scrape every interval, keep a history, alert on changes, show a live view.
    #[command(after_help = "Examples:
  otelops monitor watch --interval 5m
  otelops monitor watch --interval 10s --count 6 --no-tui --history /tmp/h.redb
  otelops monitor watch --once --output json
  otelops monitor watch --webhook http://127.0.0.1:9000/alerts

The live view (gauges and sparklines: Queue Health, Performance, Resource Usage)
is shown when stdout is a terminal and --no-tui is not given; press q to quit.
Exit codes (of the last round): 0 OK, 1 WARN, 2 CRIT, 3 UNKNOWN.")]
    Watch(WatchArgs),
    /// Summarise the history: min/avg/max per metric and its direction.
    #[command(after_help = "Examples:
  otelops monitor trends --since 7d
  otelops monitor trends --since 24h --history /tmp/h.redb --output json

Exit codes: 0 summarised, 3 no history or it cannot be read.")]
    Trends(TrendsArgs),
}

#[derive(Debug, clap::Args)]
pub struct ScrapeArgs {
    /// The collector's internal metrics endpoint.
    #[arg(long, default_value = "http://127.0.0.1:8888/metrics")]
    pub metrics_url: String,
    /// Scrape timeout.
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
    /// Client options for the metrics URL and the webhook.
    #[command(flatten)]
    pub http: HttpArgs,
}

/// The memory a collector's RSS is judged against (`monitor`, and the web
/// view's health page).
#[derive(Debug, clap::Args)]
pub struct MemoryArgs {
    /// The collector container's memory, which RSS is judged against (as the
    /// OtelcolMemoryHigh alert is) [default: from --config's memory_limiter].
    #[arg(long, visible_alias = "memory-limit-mib")]
    pub container_memory_mib: Option<f64>,
    /// Collector config: memory_limiter's limit_percentage of the cgroup's
    /// memory limit (else the host's memory), or its absolute limit_mib.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Where the cgroup (v2 memory.max, v1 memory/memory.limit_in_bytes) is read.
    #[arg(long, default_value = "/sys/fs/cgroup")]
    pub cgroup_dir: PathBuf,
}

impl MemoryArgs {
    /// Whether a flag names the memory (the cgroup directory alone does not).
    pub fn given(&self) -> bool {
        self.container_memory_mib.is_some() || self.config.is_some()
    }

    pub fn memory_limit(&self) -> anyhow::Result<Option<MemoryLimit>> {
        if let Some(m) = self.container_memory_mib {
            anyhow::ensure!(
                m > 0.0 && m.is_finite(),
                "--container-memory-mib must be positive, got {m}"
            );
        }
        let config = self.config.as_deref().map(ConfigFile::load).transpose()?;
        let sources = MemorySources {
            cgroup_dir: self.cgroup_dir.clone(),
            ..MemorySources::system()
        };
        Ok(memory_limit::memory_limit(
            self.container_memory_mib,
            config.as_ref(),
            &sources,
        )?)
    }
}

#[derive(Debug, clap::Args)]
pub struct JudgeArgs {
    #[command(flatten)]
    pub memory: MemoryArgs,
    /// Queue utilisation (size/capacity) above which an exporter is WARN.
    #[arg(long, default_value_t = Thresholds::GUIDE.queue_warn_pct)]
    pub queue_warn_pct: f64,
    /// Queue utilisation above which an exporter is CRIT.
    #[arg(long, default_value_t = Thresholds::GUIDE.queue_crit_pct)]
    pub queue_crit_pct: f64,
    /// Refused share of received items (refused / (accepted + refused)) for WARN.
    #[arg(long, default_value_t = Thresholds::GUIDE.refused_warn_pct)]
    pub refused_warn_pct: f64,
    /// Refused share for CRIT.
    #[arg(long, default_value_t = Thresholds::GUIDE.refused_crit_pct)]
    pub refused_crit_pct: f64,
    /// Failed share of export attempts (send_failed / (sent + send_failed)) for WARN.
    #[arg(long, default_value_t = Thresholds::GUIDE.send_failed_warn_pct)]
    pub send_failed_warn_pct: f64,
    /// Failed share of export attempts for CRIT.
    #[arg(long, default_value_t = Thresholds::GUIDE.send_failed_crit_pct)]
    pub send_failed_crit_pct: f64,
    /// RSS as a share of the memory limit for WARN.
    #[arg(long, default_value_t = Thresholds::GUIDE.memory_warn_pct)]
    pub memory_warn_pct: f64,
    /// RSS as a share of the memory limit for CRIT.
    #[arg(long, default_value_t = Thresholds::GUIDE.memory_crit_pct)]
    pub memory_crit_pct: f64,
    /// Export latency (p99) warning level.
    #[arg(long, default_value_t = Thresholds::GUIDE.latency_warn_ms)]
    pub latency_warn_ms: f64,
    /// Export latency (p99) critical level.
    #[arg(long, default_value_t = Thresholds::GUIDE.latency_crit_ms)]
    pub latency_crit_ms: f64,
}

impl JudgeArgs {
    pub fn thresholds(&self) -> anyhow::Result<Thresholds> {
        let t = Thresholds {
            queue_warn_pct: self.queue_warn_pct,
            queue_crit_pct: self.queue_crit_pct,
            refused_warn_pct: self.refused_warn_pct,
            refused_crit_pct: self.refused_crit_pct,
            send_failed_warn_pct: self.send_failed_warn_pct,
            send_failed_crit_pct: self.send_failed_crit_pct,
            memory_warn_pct: self.memory_warn_pct,
            memory_crit_pct: self.memory_crit_pct,
            latency_warn_ms: self.latency_warn_ms,
            latency_crit_ms: self.latency_crit_ms,
        };
        let pairs = [
            ("queue", t.queue_warn_pct, t.queue_crit_pct),
            ("refused", t.refused_warn_pct, t.refused_crit_pct),
            (
                "send-failed",
                t.send_failed_warn_pct,
                t.send_failed_crit_pct,
            ),
            ("memory", t.memory_warn_pct, t.memory_crit_pct),
            ("latency", t.latency_warn_ms, t.latency_crit_ms),
        ];
        for (name, warn, crit) in pairs {
            anyhow::ensure!(
                warn.is_finite() && crit.is_finite() && warn >= 0.0 && warn <= crit,
                "--{name}-warn-* ({warn}) must be a number ≥ 0 and ≤ --{name}-crit-* ({crit})"
            );
        }
        Ok(t)
    }

    pub fn memory_limit(&self) -> anyhow::Result<Option<MemoryLimit>> {
        self.memory.memory_limit()
    }
}

#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    #[command(flatten)]
    pub scrape: ScrapeArgs,
    #[command(flatten)]
    pub judge: JudgeArgs,
    /// Time between the two scrapes; 0s takes one scrape (no rates).
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub window: Duration,
    /// Read a saved metrics page instead of scraping; give it twice for rates.
    #[arg(long)]
    pub from_file: Vec<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct WatchArgs {
    #[command(flatten)]
    pub scrape: ScrapeArgs,
    #[command(flatten)]
    pub judge: JudgeArgs,
    /// Time between scrapes.
    #[arg(long, default_value = "5m", value_parser = humantime::parse_duration)]
    pub interval: Duration,
    /// Run one round and stop.
    #[arg(long, conflicts_with = "count")]
    pub once: bool,
    /// Run N rounds and stop.
    #[arg(long)]
    pub count: Option<u64>,
    /// History file [default: ~/.local/share/otelops/history.redb].
    #[arg(long)]
    pub history: Option<PathBuf>,
    /// POST a JSON alert here whenever a check changes status.
    #[arg(long)]
    pub webhook: Option<String>,
    /// Print lines instead of the live terminal view.
    #[arg(long)]
    pub no_tui: bool,
}

#[derive(Debug, clap::Args)]
pub struct TrendsArgs {
    /// History file [default: ~/.local/share/otelops/history.redb].
    #[arg(long)]
    pub history: Option<PathBuf>,
    /// How far back to look.
    #[arg(long, default_value = "7d", value_parser = humantime::parse_duration)]
    pub since: Duration,
}

pub fn exec(cmd: MonitorCommand, output: OutputFormat) -> anyhow::Result<ExitCode> {
    let result = match cmd {
        MonitorCommand::Report(a) => report(a, output),
        MonitorCommand::Watch(a) => watch(a, output),
        MonitorCommand::Trends(a) => trends(a, output),
    };
    // UNKNOWN (3), not the generic 2, so a probe can tell "could not look"
    // from CRIT.
    result.or_else(|e| {
        eprintln!("otelops: error: {e:#}");
        Ok(exit::code(exit::UNKNOWN))
    })
}

fn status_code(s: Status) -> ExitCode {
    exit::code(match s {
        Status::Ok => exit::OK,
        Status::Warn => exit::WARN,
        Status::Crit => exit::CRIT,
    })
}

fn default_history() -> anyhow::Result<PathBuf> {
    let base = match (std::env::var_os("XDG_DATA_HOME"), std::env::var_os("HOME")) {
        (Some(x), _) if !x.is_empty() => PathBuf::from(x),
        (_, Some(h)) if !h.is_empty() => PathBuf::from(h).join(".local/share"),
        _ => anyhow::bail!("no HOME or XDG_DATA_HOME: pass --history FILE"),
    };
    Ok(base.join("otelops/history.redb"))
}

fn report(a: ReportArgs, output: OutputFormat) -> anyhow::Result<ExitCode> {
    let memory = a.judge.memory_limit()?;
    let opts = ReportOptions {
        window: a.window,
        thresholds: a.judge.thresholds()?,
        memory_limit_mib: memory.as_ref().map(|m| m.mib),
    };
    let source = if a.from_file.is_empty() {
        let client = HttpClient::new(&a.scrape.http.options(a.scrape.timeout))?;
        Source::Url {
            url: client.url(&a.scrape.metrics_url)?,
            client,
        }
    } else {
        Source::Files(a.from_file)
    };
    let mut r = super::runtime()?.block_on(monitor::report(&source, &opts))?;
    if let Some(m) = memory {
        r.notes.push(format!("memory limit: {}", m.basis));
    }
    match output {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&r)?),
        OutputFormat::Table => print!("{}", render::table(&r)),
    }
    Ok(status_code(r.status))
}

fn watch(a: WatchArgs, output: OutputFormat) -> anyhow::Result<ExitCode> {
    let client = HttpClient::new(&a.scrape.http.options(a.scrape.timeout))?;
    let webhook = a.webhook.as_deref().map(|w| client.url(w)).transpose()?;
    anyhow::ensure!(
        !a.interval.is_zero(),
        "--interval must be greater than zero"
    );
    let opts = WatchOptions {
        url: client.url(&a.scrape.metrics_url)?,
        client,
        interval: a.interval,
        count: if a.once { Some(1) } else { a.count },
        thresholds: a.judge.thresholds()?,
        memory_limit_mib: a.judge.memory_limit()?.map(|m| m.mib),
        history: match a.history {
            Some(h) => h,
            None => default_history()?,
        },
        webhook,
    };
    let rt = super::runtime()?;
    use std::io::IsTerminal;
    let last = if std::io::stdout().is_terminal() && !a.no_tui && output == OutputFormat::Table {
        let mut view = monitor::tui::TuiView::start()
            .map_err(|e| anyhow::anyhow!("cannot start the terminal view ({e}); use --no-tui"))?;
        rt.block_on(watch::run(&opts, &mut view))?
    } else {
        rt.block_on(watch::run(&opts, &mut render::LineView { output }))?
    };
    Ok(last.map_or(exit::code(exit::UNKNOWN), status_code))
}

fn trends(a: TrendsArgs, output: OutputFormat) -> anyhow::Result<ExitCode> {
    let path = match a.history {
        Some(h) => h,
        None => default_history()?,
    };
    anyhow::ensure!(
        path.exists(),
        "no history at {}: run `otelops monitor watch` first",
        path.display()
    );
    let history = monitor::history::History::open(&path)?;
    let since = watch::now_ms().saturating_sub(a.since.as_millis() as u64);
    let t = trends::trends(&history.since(since)?);
    match output {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&t)?),
        OutputFormat::Table => print!("{}", render::trends_table(&t, a.since)),
    }
    Ok(ExitCode::SUCCESS)
}
