//! `otelops check …`: compliance checks on telemetry files, a live OTLP
//! stream (`--listen`) or a service's trace-context behaviour.
//!
//! Exit codes: 0 no violations, 1 violations found, 2 bad input or usage
//! (returned as an error, which `main` maps to 2).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;

use super::receiver_token::ReceiverTokenArgs;
use crate::check::live::{self, ListenOptions, Listening};
use crate::check::run::{self, CheckInput};
use crate::check::trace_context::{self, SpecLevel, TraceContextOptions};
use crate::check::{Report, render};
use crate::output::OutputFormat;
use crate::semconv_registry;

const EXIT_STATUS: &str = "Examples:\n  otelops check export-format received.jsonl\n  \
     otelops check trace-context --target http://127.0.0.1:8080/test\n\n\
     Exit codes: 0 no violations, 1 violations found, \
     2 unreadable or non-OTLP input, nothing received, or an unreachable target.";

const STREAM_HELP: &str = concat!(
    "Examples:\n",
    "  otelops check export-format received.jsonl export.pb\n",
    "  otelops check semantic-conventions --listen --duration 30s\n",
    "  otelops check export-format --listen 127.0.0.1:0 --spans 100\n\n",
    "With --listen the embedded receiver collects first (the bound addresses\n",
    "are printed to stderr), then the check runs on every accepted request.\n",
    "OTLP/JSON senders are decoded and re-encoded on the way in, so their\n",
    "JSON encoding mistakes only show when their files are checked; spans the\n",
    "receiver rejects (bad ids) are reported as otlp.rejected.\n\n",
    "Exit codes: 0 no violations, 1 violations found, 2 unreadable or\n",
    "non-OTLP input, or nothing received."
);

#[derive(Debug, clap::Subcommand)]
#[command(after_help = EXIT_STATUS)]
pub enum CheckCommand {
    /// Check the OTLP encoding: ids, enums as integers, lowerCamelCase keys,
    /// 64-bit integers, times, kinds, status codes, parents, service.name.
    #[command(after_help = STREAM_HELP)]
    ExportFormat(FilesArgs),
    /// Check attributes and span names against the semantic conventions.
    #[command(after_help = STREAM_HELP)]
    SemanticConventions(SemconvArgs),
    /// Check a service's W3C Trace Context propagation through its
    /// test-service endpoint (valid, invalid and edge-case headers).
    #[command(after_help = TRACE_CONTEXT_HELP)]
    TraceContext(TraceContextArgs),
    /// Regenerate the embedded registry data file from a semantic-conventions
    /// model directory (maintainers; the result is committed).
    #[command(hide = true)]
    GenerateRegistry(GenerateArgs),
}

#[derive(Debug, clap::Args)]
pub struct FilesArgs {
    /// OTLP JSON, OTLP JSON lines (collector file exporter) or OTLP protobuf files.
    #[arg(required_unless_present = "listen", value_name = "FILE")]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub listen: ListenArgs,
}

/// A live stream instead of files: the embedded OTLP receiver collects,
/// then the check runs on what arrived.
#[derive(Debug, clap::Args)]
pub struct ListenArgs {
    /// Receive OTLP/gRPC on ADDR (default 127.0.0.1:4317) and OTLP/HTTP on
    /// the next port (see --listen-http) instead of reading files.
    #[arg(
        long,
        value_name = "ADDR",
        num_args = 0..=1,
        default_missing_value = "127.0.0.1:4317",
        conflicts_with = "files"
    )]
    pub listen: Option<SocketAddr>,
    /// OTLP/HTTP address (default: --listen's port + 1; port 0 picks one).
    #[arg(long, value_name = "ADDR", requires = "listen")]
    pub listen_http: Option<SocketAddr>,
    /// Stop collecting after this long (e.g. 30s); also stops at --spans or Ctrl-C.
    #[arg(long, value_parser = humantime::parse_duration, requires = "listen")]
    pub duration: Option<Duration>,
    /// Stop collecting once this many spans were accepted.
    #[arg(long, value_name = "N", requires = "listen")]
    pub spans: Option<u64>,
    /// The bearer token senders must present (with --listen).
    #[command(flatten)]
    pub token: ReceiverTokenArgs,
}

const TRACE_CONTEXT_HELP: &str = concat!(
    "Examples:\n",
    "  parker-booking --enable-test-endpoint &\n",
    "  otelops check trace-context --target http://127.0.0.1:8080/test\n",
    "  otelops check trace-context --target http://127.0.0.1:8080/test --level 1\n\n",
    "otelops listens on 127.0.0.1 for the service's callbacks; every case must\n",
    "call back within --timeout.\n\n",
    "Exit codes: 0 every case passed, 1 a case failed, 2 bad --target or the\n",
    "target unreachable or not a test-service endpoint."
);

#[derive(Debug, clap::Args)]
pub struct TraceContextArgs {
    /// The service's W3C test-service endpoint, e.g. http://127.0.0.1:8080/test.
    #[arg(long, value_name = "URL")]
    pub target: url::Url,
    /// How long each case may take (request plus callback).
    #[arg(long, value_parser = humantime::parse_duration, default_value = "5s")]
    pub timeout: Duration,
    /// Accept a target that is not on loopback (it must still reach
    /// otelops's callback listener on 127.0.0.1).
    #[arg(long)]
    pub allow_remote: bool,
    /// The W3C Trace Context level to check against: 1 or 2 (the current one).
    #[arg(long, value_name = "1|2", default_value = "2")]
    pub level: SpecLevel,
}

#[derive(Debug, clap::Args)]
pub struct SemconvArgs {
    #[command(flatten)]
    pub files: FilesArgs,
    /// A semantic-conventions `model/` directory to check against instead of
    /// the embedded v1.44.0 registry.
    #[arg(long, value_name = "DIR")]
    pub registry: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct GenerateArgs {
    /// The semantic-conventions `model/` directory.
    #[arg(long, value_name = "DIR")]
    pub model: PathBuf,
    /// Where to write the data file (`-` for stdout).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

pub fn exec(command: CheckCommand, output: OutputFormat) -> anyhow::Result<ExitCode> {
    let report = match command {
        CheckCommand::ExportFormat(args) => run::export_format_report(gather(&args)?),
        CheckCommand::SemanticConventions(args) => {
            let input = gather(&args.files)?;
            let loaded;
            let registry = match &args.registry {
                Some(dir) => {
                    loaded = semconv_registry::from_model_dir(dir).context("loading --registry")?;
                    &loaded
                }
                None => semconv_registry::embedded(),
            };
            run::semconv_report(registry, input)
        }
        CheckCommand::TraceContext(args) => return trace_context(&args, output),
        CheckCommand::GenerateRegistry(args) => return generate(&args),
    };
    print(&report, output)?;
    Ok(exit_code(&report))
}

fn exit_code(report: &Report) -> ExitCode {
    if report.has_violations() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn gather(args: &FilesArgs) -> anyhow::Result<CheckInput> {
    let Some(grpc) = args.listen.listen else {
        return Ok(CheckInput::from_files(&args.files)?);
    };
    let listen = &args.listen;
    let opts = ListenOptions {
        grpc_listen: grpc,
        http_listen: listen
            .listen_http
            .unwrap_or_else(|| live::http_beside(grpc)),
        token: listen.token.token()?,
        duration: listen.duration,
        spans: listen.spans,
    };
    let collected = super::runtime()?.block_on(Listening::run(&opts, |listening| {
        // Tests and scripts read the bound ports from this line.
        eprintln!(
            "otelops check: receiving OTLP/gRPC on {} and OTLP/HTTP on {} until {}",
            listening.grpc_addr(),
            listening.http_addr(),
            opts.until().describe()
        );
    }))?;
    eprintln!(
        "otelops check: received {} request(s), {} span(s) ({}); checking",
        collected.requests, collected.summary.spans, collected.stopped
    );
    Ok(collected.into())
}

fn trace_context(args: &TraceContextArgs, output: OutputFormat) -> anyhow::Result<ExitCode> {
    let opts = TraceContextOptions {
        case_timeout: args.timeout,
        allow_remote: args.allow_remote,
        level: args.level,
    };
    let run = super::runtime()?.block_on(trace_context::run_trace_context(&args.target, &opts))?;
    let report = run.report();
    match output {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        OutputFormat::Table => print!("{}", render::trace_context_table(&run)),
    }
    Ok(exit_code(&report))
}

fn generate(args: &GenerateArgs) -> anyhow::Result<ExitCode> {
    let registry = semconv_registry::from_model_dir(&args.model)?;
    let text = semconv_registry::render(&registry);
    if args.out.as_os_str() == "-" {
        print!("{text}");
    } else {
        std::fs::write(&args.out, text)
            .with_context(|| format!("writing {}", args.out.display()))?;
        eprintln!(
            "wrote {} ({} attributes, {} groups, semantic conventions {})",
            args.out.display(),
            registry.attributes.len(),
            registry.groups.len(),
            registry.version
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn print(report: &Report, output: OutputFormat) -> anyhow::Result<()> {
    match output {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(report)?),
        OutputFormat::Table => print!("{}", render::table(report)),
    }
    Ok(())
}
