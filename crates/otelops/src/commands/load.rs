//! `otelops load`: send OTLP traces to a collector and print what it accepted.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;

use crate::exit;
use crate::http_client::{HttpArgs, HttpClient};
use crate::load::payload::{Encoding, Synthetic};
use crate::load::{self, Bounds, LoadConfig, MAX_CONCURRENCY, MAX_REQUESTS, Protocol, Source};
use crate::output::OutputFormat;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ProtocolArg {
    #[value(name = "http/protobuf")]
    HttpProtobuf,
    #[value(name = "http/json")]
    HttpJson,
    #[value(name = "grpc")]
    Grpc,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CompressionArg {
    None,
    Gzip,
}

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  otelops load --file test-data/sample-trace.json --requests 1000 --concurrency 100
  otelops load --file test-data/sample-trace.json --protocol http/json --compression gzip
  otelops load --grpc --duration 30s --rate 500 --child-spans 5 --attributes 10 --workers 4
  otelops load --traces 10000 --batch 100 --output json
  otelops load --endpoint 127.0.0.1:4318 --cacert ca.pem --token-file ingest.token   (production profile)

Each request gets fresh trace and span ids (--keep-ids sends the file's own).
The run ends after --requests (default 100 when neither bound is given) or at
--duration, whichever comes first; at most 10000000 requests and 1h.
Progress goes to stderr: a bar on a terminal, a line a second otherwise.

Exit codes: 0 every span accepted, 1 some span rejected, refused or failed,
2 usage or input error. Only loopback targets unless --allow-remote.")]
pub struct Args {
    /// OTLP/JSON trace request to send [default: synthetic traces].
    #[arg(long, value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Collector OTLP endpoint [default: 127.0.0.1:4318 (/v1/traces), 127.0.0.1:4317 for gRPC;
    /// https when --cacert or --client-cert is given].
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    /// Wire protocol.
    #[arg(long, value_enum, default_value_t = ProtocolArg::HttpProtobuf)]
    pub protocol: ProtocolArg,
    /// Same as --protocol grpc.
    #[arg(long, conflicts_with = "protocol")]
    pub grpc: bool,
    /// Requests to send.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=MAX_REQUESTS))]
    pub requests: Option<u64>,
    /// Stop sending after this long, e.g. 30s (at most 1h).
    #[arg(long, value_parser = duration_at_most_an_hour)]
    pub duration: Option<Duration>,
    /// Requests in flight at once.
    #[arg(long, visible_alias = "workers", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=MAX_CONCURRENCY))]
    pub concurrency: u64,
    /// Requests per second over all workers [default: as fast as answered].
    #[arg(long, value_parser = positive_rate)]
    pub rate: Option<f64>,
    /// Synthetic: traces to send in all (a multiple of --batch); sets --requests.
    #[arg(long, conflicts_with_all = ["file", "requests"],
          value_parser = clap::value_parser!(u64).range(1..))]
    pub traces: Option<u64>,
    /// Synthetic: traces per request.
    #[arg(long, default_value_t = 1, conflicts_with = "file",
          value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub batch: u32,
    /// Synthetic: child spans under each trace's root span.
    #[arg(long, default_value_t = 1, conflicts_with = "file",
          value_parser = clap::value_parser!(u32).range(0..=10_000))]
    pub child_spans: u32,
    /// Synthetic: extra string attributes on every span.
    #[arg(long, default_value_t = 0, conflicts_with = "file",
          value_parser = clap::value_parser!(u32).range(0..=128))]
    pub attributes: u32,
    /// Request body compression.
    #[arg(long, value_enum, default_value_t = CompressionArg::None)]
    pub compression: CompressionArg,
    /// Send the file's trace and span ids unchanged in every request.
    #[arg(long, requires = "file")]
    pub keep_ids: bool,
    /// Per-request timeout, e.g. 10s.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
    #[command(flatten)]
    pub http: HttpArgs,
}

fn duration_at_most_an_hour(s: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(s).map_err(|e| e.to_string())?;
    if d.is_zero() || d > load::MAX_DURATION {
        return Err("expected more than 0 and at most 1h".into());
    }
    Ok(d)
}

fn positive_rate(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(r) if r.is_finite() && r > 0.0 && r <= 1e6 => Ok(r),
        _ => Err("expected requests per second, more than 0 and at most 1000000".into()),
    }
}

pub fn exec(args: Args, output: OutputFormat) -> anyhow::Result<ExitCode> {
    let protocol = match (args.grpc, args.protocol) {
        (true, _) | (_, ProtocolArg::Grpc) => Protocol::Grpc,
        (_, ProtocolArg::HttpJson) => Protocol::Http(Encoding::Json),
        (_, ProtocolArg::HttpProtobuf) => Protocol::Http(Encoding::Protobuf),
    };
    let requests = match args.traces {
        Some(t) if t % u64::from(args.batch) != 0 => anyhow::bail!(
            "--traces {t} is not a multiple of --batch {}: every request carries --batch traces",
            args.batch
        ),
        Some(t) => Some(t / u64::from(args.batch)),
        None if args.duration.is_none() => Some(args.requests.unwrap_or(100)),
        None => args.requests,
    };
    let client = HttpClient::new(&args.http.options(args.timeout))?;
    let url = load::endpoint_url(
        args.endpoint.as_deref(),
        &protocol,
        args.http.wants_tls(),
        &client,
    )?;
    let config = LoadConfig {
        url,
        protocol,
        source: match args.file {
            Some(path) => Source::File(path),
            None => Source::Synthetic(Synthetic {
                traces_per_request: args.batch,
                child_spans: args.child_spans,
                attributes: args.attributes,
            }),
        },
        fresh_ids: !args.keep_ids,
        gzip: args.compression == CompressionArg::Gzip,
        bounds: Bounds::new(requests, args.duration)?,
        concurrency: args.concurrency,
        rate: args.rate,
        progress: load::progress::Style::for_stderr(),
    };
    let summary = super::runtime()?
        .block_on(load::run(&config, &client))
        .context("load")?;
    match output {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&summary)?),
        OutputFormat::Table => print!("{}", summary.render()),
    }
    Ok(exit::code(if summary.all_accepted() {
        exit::OK
    } else {
        exit::FAILED
    }))
}
