//! `otelops test run|validate`: Tracetest test definitions without a
//! Tracetest server (see `trace_test`).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use super::traces::SourceArgs;
use crate::exit;
use crate::http_client::{HttpArgs, HttpClient, HttpOptions};
use crate::output::OutputFormat;
use crate::receive::{self, Receiver, ReceiverConfig};
use crate::trace_test::capture::{Collector, Polling};
use crate::trace_test::definition::{self, Definition, Problems};
use crate::trace_test::report;
use crate::trace_test::run::{Runner, TestResult};

#[derive(Debug, clap::Subcommand)]
#[command(after_help = concat!(
    "Examples:\n",
    "  otelops test run --file tests/tracetest/booking-flow.yaml\n",
    "  otelops test run --file a.yaml --file b.yaml --receiver http://127.0.0.1:4318 --junit results.xml\n",
    "  otelops test validate tests/tracetest/*.yaml\n\n",
    "Exit codes: run 0 every spec passed, 1 an assertion failed, 2 a test could not run;\n",
    "validate 0 valid, 2 a problem or an unsupported feature."
))]
pub enum TestCommand {
    /// Run definitions in order (outputs of one are ${var:NAME} in the next).
    Run(Box<RunArgs>),
    /// Parse and check definitions without running them.
    Validate(ValidateArgs),
}

#[derive(Debug, clap::Args)]
#[command(after_help = concat!(
    "Examples:\n",
    "  otelops test run --file tests/tracetest/booking-flow.yaml\n",
    "  otelops test run -f tests/tracetest/booking-flow.yaml -f tests/tracetest/idempotent-replay.yaml --junit results.xml\n",
    "  otelops test run --receiver http://127.0.0.1:4318 --retry-delay 2s --file tests/tracetest/booking-flow.yaml\n\n",
    "Definitions run in order; an output of one is ${var:NAME} in the next, ${env:NAME} reads the environment.\n\n",
    "Exit codes: 0 every spec passed, 1 an assertion failed, 2 a test could not run (bad definition,\n",
    "unset variable, trigger unreachable, no trace within --timeout)."
))]
pub struct RunArgs {
    /// A Tracetest test definition (`type: Test`); repeat for more.
    #[arg(long = "file", short = 'f', value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
    /// Read spans from a running `otelops receive` (its OTLP/HTTP address)
    /// instead of an embedded receiver.
    #[arg(long, value_name = "URL")]
    pub receiver: Option<String>,
    /// Embedded receiver: OTLP/gRPC listen address.
    #[arg(long, default_value_t = receive::DEFAULT_GRPC_LISTEN, conflicts_with = "receiver")]
    pub grpc_listen: SocketAddr,
    /// Embedded receiver: OTLP/HTTP listen address.
    #[arg(long, default_value_t = receive::DEFAULT_HTTP_LISTEN, conflicts_with = "receiver")]
    pub http_listen: SocketAddr,
    /// Polling profile: the trace is complete once it has spans and has not
    /// grown for this long.
    #[arg(long, default_value = "500ms", value_parser = humantime::parse_duration)]
    pub retry_delay: Duration,
    /// Polling profile: give up waiting for the trace after this long.
    #[arg(long, default_value = "1m", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
    /// Also write the results as JUnit XML to FILE.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Client options for --receiver.
    #[command(flatten)]
    pub http: HttpArgs,
}

#[derive(Debug, clap::Args)]
#[command(after_help = concat!(
    "Examples:\n",
    "  otelops test validate tests/tracetest/*.yaml\n",
    "  otelops --output json test validate my-test.yaml\n\n",
    "Exit codes: 0 every definition is valid, 2 a problem or an unsupported feature (each as file:line:column)."
))]
pub struct ValidateArgs {
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

pub fn exec(cmd: TestCommand, output: OutputFormat) -> anyhow::Result<ExitCode> {
    match cmd {
        TestCommand::Validate(args) => validate(args, output),
        TestCommand::Run(args) => super::runtime()?.block_on(run(*args, output)),
    }
}

fn load_all(files: &[PathBuf]) -> (Vec<Definition>, Vec<Problems>) {
    let mut ok = Vec::new();
    let mut bad = Vec::new();
    for file in files {
        match definition::load(file) {
            Ok(d) => ok.push(d),
            Err(p) => bad.push(p),
        }
    }
    (ok, bad)
}

fn problems_json(bad: &[Problems]) -> Vec<serde_json::Value> {
    bad.iter()
        .flat_map(|p| &p.0)
        .map(|p| {
            serde_json::json!({
                "file": p.file.display().to_string(),
                "line": p.pos.line,
                "column": p.pos.column,
                "unsupported": p.unsupported,
                "message": p.message,
            })
        })
        .collect()
}

fn validate(args: ValidateArgs, output: OutputFormat) -> anyhow::Result<ExitCode> {
    let (ok, bad) = load_all(&args.files);
    match output {
        OutputFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "valid": ok.iter().map(|d| d.file.display().to_string()).collect::<Vec<_>>(),
                "problems": problems_json(&bad),
            }))?
        ),
        OutputFormat::Table => {
            for d in &ok {
                println!(
                    "{}: ok ({:?}: {} specs, {} outputs)",
                    d.file.display(),
                    d.name,
                    d.specs.len(),
                    d.outputs.len()
                );
            }
            for p in &bad {
                eprintln!("{p}");
            }
        }
    }
    Ok(exit::code(if bad.is_empty() {
        exit::OK
    } else {
        exit::USAGE
    }))
}

async fn run(args: RunArgs, output: OutputFormat) -> anyhow::Result<ExitCode> {
    let (definitions, bad) = load_all(&args.files);
    if !bad.is_empty() {
        for p in &bad {
            eprintln!("{p}");
        }
        return Ok(exit::code(exit::USAGE));
    }
    let allow_remote = args.http.allow_remote;
    let (collector, embedded) = match args.receiver {
        Some(receiver) => {
            let source = super::traces::source(SourceArgs {
                receiver,
                jsonl: None,
                http: args.http,
            })?;
            (Collector::Receiver(source), None)
        }
        None => {
            let handle = Receiver::start(ReceiverConfig::new(args.grpc_listen, args.http_listen))
                .await
                .map_err(|e| anyhow::anyhow!("{e} (move it with --grpc-listen/--http-listen, or read a running receiver with --receiver)"))?;
            eprintln!(
                "otelops test: receiving OTLP on grpc {} and http {}",
                handle.grpc_addr(),
                handle.http_addr()
            );
            (Collector::Embedded(handle.store().clone()), Some(handle))
        }
    };
    let env = |name: &str| std::env::var(name).ok();
    // The trigger gets no receiver token or TLS files: it talks to the
    // service under test. --allow-remote applies to it too.
    let trigger = HttpClient::new(&HttpOptions {
        allow_remote,
        ..HttpOptions::loopback(args.timeout)
    })?;
    let runner = Runner {
        http: trigger,
        collector,
        polling: Polling {
            retry_delay: args.retry_delay,
            timeout: args.timeout,
        },
        env: &env,
    };
    let mut vars = BTreeMap::new();
    let mut results: Vec<TestResult> = Vec::new();
    let mut errors = Vec::new();
    for d in &definitions {
        match runner.run(d, &mut vars).await {
            Ok(result) => {
                if output == OutputFormat::Table {
                    print!("{}", report::render_text(&result));
                }
                results.push(result);
            }
            Err(e) => {
                eprintln!("otelops test: {}: {e}", d.file.display());
                errors.push(serde_json::json!({"file": d.file.display().to_string(), "error": e.to_string()}));
            }
        }
    }
    if let Some(handle) = embedded {
        handle.shutdown().await;
    }
    if output == OutputFormat::Json {
        println!(
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({"results": results, "errors": errors})
            )?
        );
    }
    if let Some(path) = &args.junit {
        write_file(path, &report::render_junit(&results))?;
    }
    Ok(exit::code(if !errors.is_empty() {
        exit::USAGE
    } else if results.iter().all(|r| r.passed) {
        exit::OK
    } else {
        exit::FAILED
    }))
}

fn write_file(path: &std::path::Path, text: &str) -> anyhow::Result<()> {
    use anyhow::Context;
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}
