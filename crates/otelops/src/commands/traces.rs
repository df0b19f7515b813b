//! `otelops traces list|show`: read what a running `otelops receive` (or a
//! JSONL file) holds and print the trace list or a trace's waterfall.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use super::receiver_token::RECEIVER_TOKEN_ENV;
use crate::http_client::{HttpArgs, HttpClient, HttpOptions, TokenSource};
use crate::output::OutputFormat;
use crate::receive::client::{Follow, TraceSource};
use crate::receive::view::{self, Style};

#[derive(Debug, clap::Subcommand)]
#[command(after_help = concat!(
    "Examples:\n",
    "  otelops traces list\n",
    "  otelops traces show 4bf92f3577b34da6a3ce929d0e0e4736\n",
    "  otelops traces show --follow --jsonl received.jsonl\n\n",
    "Exit codes: 0 shown, 1 no such trace (show), 2 usage error or the receiver or file cannot be read."
))]
pub enum TracesCommand {
    /// List received traces, oldest first.
    List(ListArgs),
    /// Show one trace as a waterfall; with --follow, every trace as it arrives.
    Show(ShowArgs),
}

#[derive(Debug, clap::Args)]
pub struct SourceArgs {
    /// The receiver's OTLP/HTTP address (its query API).
    #[arg(
        long,
        default_value = "http://127.0.0.1:4318",
        conflicts_with = "jsonl"
    )]
    pub receiver: String,
    /// Read an OTLP-JSON lines file instead of a running receiver.
    #[arg(long, value_name = "FILE")]
    pub jsonl: Option<PathBuf>,
    /// Client options; without --token-file/--token-env the token is read
    /// from OTELOPS_RECEIVER_TOKEN when that is set.
    #[command(flatten)]
    pub http: HttpArgs,
}

#[derive(Debug, clap::Args)]
pub struct FollowArgs {
    /// Keep polling and print traces as they arrive (and again when they grow).
    #[arg(long)]
    pub follow: bool,
    /// With --follow: stop after printing this many traces.
    #[arg(long, requires = "follow")]
    pub count: Option<usize>,
    /// With --follow: stop after this long (e.g. 30s).
    #[arg(long, requires = "follow", value_parser = humantime::parse_duration)]
    pub timeout: Option<Duration>,
    /// With --follow: time between polls.
    #[arg(long, default_value = "500ms", value_parser = humantime::parse_duration)]
    pub interval: Duration,
}

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  otelops traces list\n  otelops traces list --follow --count 5\n\n\
    Exit codes: 0 listed, 2 usage error or the receiver or file cannot be read."
)]
pub struct ListArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    #[command(flatten)]
    pub follow: FollowArgs,
}

#[derive(Debug, clap::Args)]
#[command(after_help = concat!(
    "Examples:\n",
    "  otelops traces show 4bf92f3577b34da6a3ce929d0e0e4736\n",
    "  otelops traces show --follow --timeout 1m\n",
    "  otelops traces show ID --jsonl received.jsonl --output json\n\n",
    "Exit codes: 0 shown, 1 no such trace, 2 usage error or the receiver or file cannot be read."
))]
pub struct ShowArgs {
    /// The trace id (32 hex digits). Optional with --follow.
    #[arg(required_unless_present = "follow")]
    pub id: Option<String>,
    #[command(flatten)]
    pub source: SourceArgs,
    #[command(flatten)]
    pub follow: FollowArgs,
}

pub fn exec(cmd: TracesCommand, output: OutputFormat) -> anyhow::Result<ExitCode> {
    let runtime = super::runtime()?;
    runtime.block_on(async {
        match cmd {
            TracesCommand::List(args) => list(args, output).await,
            TracesCommand::Show(args) => show(args, output).await,
        }
    })
}

/// Bounds connecting to the receiver and each query (they answer from memory).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

pub(crate) fn source(args: SourceArgs) -> anyhow::Result<TraceSource> {
    match args.jsonl {
        Some(path) => Ok(TraceSource::File(path)),
        None => receiver(args.receiver, args.http.options(REQUEST_TIMEOUT)),
    }
}

/// A running receiver's query API at `base_url`, with the receiver's token
/// from `$OTELOPS_RECEIVER_TOKEN` when `options` names none.
pub(crate) fn receiver(base_url: String, mut options: HttpOptions) -> anyhow::Result<TraceSource> {
    if options.token.is_none() && std::env::var_os(RECEIVER_TOKEN_ENV).is_some() {
        options.token = Some(TokenSource::Env(RECEIVER_TOKEN_ENV.into()));
    }
    let client = HttpClient::new(&options)?;
    // Refuse a remote receiver before the first poll, not inside it.
    client.url(&base_url)?;
    Ok(TraceSource::Receiver { base_url, client })
}

fn style() -> Style {
    Style {
        color: std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    }
}

async fn list(args: ListArgs, output: OutputFormat) -> anyhow::Result<ExitCode> {
    let source = source(args.source)?;
    if !args.follow.follow {
        let items = source.list().await?;
        match output {
            OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&items)?),
            OutputFormat::Table => print!("{}", view::render_list(&items, style())),
        }
        return Ok(ExitCode::SUCCESS);
    }
    if output == OutputFormat::Table {
        print!("{}", view::list_header());
    }
    follow(&source, &args.follow, None, |item| async move {
        match output {
            OutputFormat::Json => println!("{}", serde_json::to_string(&item)?),
            OutputFormat::Table => print!("{}", view::list_row(&item, style())),
        }
        Ok(())
    })
    .await
}

async fn show(args: ShowArgs, output: OutputFormat) -> anyhow::Result<ExitCode> {
    let source = source(args.source)?;
    let print = |detail: &crate::receive::model::TraceDetail| -> anyhow::Result<()> {
        match output {
            OutputFormat::Json if args.follow.follow => {
                println!("{}", serde_json::to_string(detail)?)
            }
            OutputFormat::Json => println!("{}", serde_json::to_string_pretty(detail)?),
            OutputFormat::Table => println!("{}", view::render_waterfall(detail, style())),
        }
        Ok(())
    };
    if !args.follow.follow {
        let id = args.id.as_deref().unwrap_or_default();
        return match source.show(id).await? {
            Some(detail) => {
                print(&detail)?;
                Ok(ExitCode::SUCCESS)
            }
            None => {
                eprintln!(
                    "otelops: trace {id} is not in the receiver (never received, or evicted)"
                );
                Ok(ExitCode::from(1))
            }
        };
    }
    let source_ref = &source;
    follow(
        source_ref,
        &args.follow,
        args.id.as_deref(),
        |item| async move {
            if let Some(detail) = source_ref.show(&item.trace_id).await? {
                print(&detail)?;
            }
            Ok(())
        },
    )
    .await
}

/// Polls `source` and hands each ready trace to `emit` until `--count` or
/// `--timeout` (or Ctrl-C, which ends the process).
async fn follow<F, Fut>(
    source: &TraceSource,
    args: &FollowArgs,
    only: Option<&str>,
    mut emit: F,
) -> anyhow::Result<ExitCode>
where
    F: FnMut(crate::receive::model::TraceListItem) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let deadline = args.timeout.map(|t| tokio::time::Instant::now() + t);
    let mut state = Follow::default();
    let mut printed = 0usize;
    loop {
        let items = source.list().await?;
        for item in state.ready(&items) {
            if only.is_some_and(|id| !id.eq_ignore_ascii_case(&item.trace_id)) {
                continue;
            }
            emit(item.clone()).await?;
            printed += 1;
            if args.count.is_some_and(|n| printed >= n) {
                return Ok(ExitCode::SUCCESS);
            }
        }
        let next = tokio::time::Instant::now() + args.interval;
        if deadline.is_some_and(|d| next > d) {
            return Ok(ExitCode::SUCCESS);
        }
        tokio::time::sleep_until(next).await;
    }
}
