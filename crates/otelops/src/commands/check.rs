//! `otelops check …`: compliance checks on telemetry files.
//!
//! Exit codes: 0 no violations, 1 violations found, 2 bad input or usage
//! (returned as an error, which `main` maps to 2).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use crate::check::{Level, Report, export_format, input, semconv};
use crate::output::OutputFormat;
use crate::semconv_registry;

const EXIT_STATUS: &str =
    "Exit status: 0 no violations, 1 violations found, 2 unreadable or non-OTLP input.";

#[derive(Debug, clap::Subcommand)]
#[command(after_help = EXIT_STATUS)]
pub enum CheckCommand {
    /// Check the OTLP encoding: ids, enums as integers, lowerCamelCase keys,
    /// 64-bit integers, times, kinds, status codes, parents, service.name.
    #[command(after_help = EXIT_STATUS)]
    ExportFormat(FilesArgs),
    /// Check attributes and span names against the semantic conventions.
    #[command(after_help = EXIT_STATUS)]
    SemanticConventions(SemconvArgs),
    /// Regenerate the embedded registry data file from a semantic-conventions
    /// model directory (maintainers; the result is committed).
    #[command(hide = true)]
    GenerateRegistry(GenerateArgs),
}

#[derive(Debug, clap::Args)]
pub struct FilesArgs {
    /// OTLP JSON, OTLP JSON lines (collector file exporter) or OTLP protobuf files.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
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
        CheckCommand::ExportFormat(args) => {
            let documents = load_all(&args.files)?;
            Report::new(
                "export-format",
                args.files.len(),
                export_format::check(&documents),
            )
        }
        CheckCommand::SemanticConventions(args) => {
            let documents = load_all(&args.files.files)?;
            let loaded;
            let registry = match &args.registry {
                Some(dir) => {
                    loaded = semconv_registry::from_model_dir(dir).context("loading --registry")?;
                    &loaded
                }
                None => semconv_registry::embedded(),
            };
            let findings = semconv::check(registry, &documents);
            Report::new("semantic-conventions", args.files.files.len(), findings)
        }
        CheckCommand::GenerateRegistry(args) => return generate(&args),
    };
    print(&report, output)?;
    Ok(if report.has_violations() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn load_all(files: &[PathBuf]) -> anyhow::Result<Vec<input::Document>> {
    let mut documents = Vec::new();
    for file in files {
        documents.extend(input::load(file)?);
    }
    Ok(documents)
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
        OutputFormat::Table => print!("{}", table(report)),
    }
    Ok(())
}

/// Findings grouped by level, one block per finding: where, which span, what.
pub fn table(report: &Report) -> String {
    let mut out = String::new();
    for level in [Level::Violation, Level::Improvement, Level::Information] {
        let findings: Vec<_> = report
            .findings
            .iter()
            .filter(|f| f.level == level)
            .collect();
        if findings.is_empty() {
            continue;
        }
        out.push_str(&format!(
            "{} ({})\n",
            level.as_str().to_uppercase(),
            findings.len()
        ));
        for finding in findings {
            out.push_str(&format!("  {:<32} {}\n", finding.rule, finding.message));
            out.push_str(&format!(
                "  {:<32} at {}: {}\n",
                "", finding.source, finding.path
            ));
            if let Some(span) = &finding.span {
                out.push_str(&format!(
                    "  {:<32} span \"{}\" ({})\n",
                    "", span.name, span.span_id
                ));
            }
        }
    }
    out.push_str(&format!(
        "check {}: {} file(s), {} violation(s), {} improvement(s), {} information\n",
        report.check, report.files, report.violations, report.improvements, report.information
    ));
    out
}
