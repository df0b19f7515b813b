//! `otelops config render|lint|debug`: write a profile's collector
//! configuration, check a configuration file, or turn its debug mode on/off.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;

use crate::collector_config::debug;
use crate::collector_config::lint::{self, LintOptions, Report};
use crate::collector_config::profile::{self, Profile};
use crate::output::OutputFormat;
use crate::secret_file;

#[derive(Debug, clap::Subcommand)]
pub enum ConfigCommand {
    /// Write the collector configuration for a deployment profile.
    #[command(after_help = "Examples:\n  \
        otelops config render --profile development\n  \
        otelops config render --profile production --out deploy/collector/production.yaml\n\n\
        Exit codes: 0 written, 2 usage error or the output file cannot be written.")]
    Render {
        #[arg(long, value_enum)]
        profile: Profile,
        /// Write here instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Check a collector configuration: structure as `otelcol validate` sees
    /// it, plus the operations guide's practices.
    #[command(after_help = "Examples:\n  \
        otelops config lint deploy/collector/production.yaml\n  \
        otelops config lint my-collector.yaml --profile production --output json\n\n\
        Exit codes: 0 no errors (warnings may be listed), 1 errors found, \
        2 the file is missing or not YAML.")]
    Lint {
        file: PathBuf,
        /// Apply this profile's rules (production adds TLS/auth checks and
        /// makes literal secrets errors). Default: production when the file
        /// name contains "prod", otherwise development.
        #[arg(long, value_enum)]
        profile: Option<Profile>,
    },
    /// Turn the guide's debug mode on or off in a collector config: logs at
    /// `level: debug` with `development: true`, and a `debug` exporter at
    /// `verbosity: detailed` in every pipeline. Only the lines that change
    /// are touched (comments and layout stay); each carries a
    /// `# otelops config debug:` marker, and `off` removes exactly those.
    #[command(after_help = "Examples:\n  \
        otelops config debug on collector.yaml --dry-run\n  \
        otelops config debug on collector.yaml\n  \
        otelops config debug off collector.yaml\n  \
        otelops config debug on deploy/collector/staging.yaml --out /tmp/staging-debug.yaml\n\n\
        Exit codes: 0 written (or the diff printed), 2 the file is unreadable, \
        not YAML, has no pipelines, or cannot be written.")]
    Debug {
        #[arg(value_enum)]
        mode: DebugMode,
        file: PathBuf,
        /// Write the result here instead of replacing FILE.
        #[arg(long, conflicts_with = "dry_run")]
        out: Option<PathBuf>,
        /// Print the change as a unified diff; write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// List the rules `config lint` applies, with their default severity.
    #[command(after_help = "Examples:\n  \
        otelops config rules\n  \
        otelops config rules --output json\n\n\
        Exit codes: 0 listed, 2 usage error.")]
    Rules,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum DebugMode {
    On,
    Off,
}

pub fn exec(cmd: ConfigCommand, output: OutputFormat) -> anyhow::Result<ExitCode> {
    match cmd {
        ConfigCommand::Render { profile, out } => {
            let yaml = profile::render_yaml(profile).context("serialising the configuration")?;
            match out {
                Some(path) => std::fs::write(&path, yaml)
                    .with_context(|| format!("writing {}", path.display()))?,
                None => print!("{yaml}"),
            }
            Ok(ExitCode::SUCCESS)
        }
        ConfigCommand::Lint { file, profile } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let profile = profile.unwrap_or_else(|| Profile::for_file(&file));
            let report = lint::lint_str(&text, LintOptions::for_profile(profile))
                .with_context(|| format!("{}", file.display()))?;
            print_report(&file, &report, output)?;
            Ok(if report.errors() > 0 {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
        ConfigCommand::Debug {
            mode,
            file,
            out,
            dry_run,
        } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let edited = match mode {
                DebugMode::On => debug::on(&text),
                DebugMode::Off => debug::off(&text),
            }
            .with_context(|| format!("{}", file.display()))?;
            if dry_run {
                let name = file.display().to_string();
                print!(
                    "{}",
                    similar::TextDiff::from_lines(&text, &edited)
                        .unified_diff()
                        .header(&name, &name)
                );
                return Ok(ExitCode::SUCCESS);
            }
            let target = out.as_deref().unwrap_or(&file);
            // Atomic, so a collector reloading the file never reads half of
            // it; the config keeps its mode (it may be readable only by the
            // collector's user).
            let mode_bits = std::fs::metadata(&file)
                .with_context(|| format!("cannot stat {}", file.display()))?
                .permissions()
                .mode()
                & 0o7777;
            secret_file::write_atomic(target, edited.as_bytes(), mode_bits)
                .with_context(|| format!("writing {}", target.display()))?;
            let word = match mode {
                DebugMode::On => "on",
                DebugMode::Off => "off",
            };
            let changed = edited != text;
            match output {
                OutputFormat::Json => println!(
                    "{}",
                    serde_json::json!({"file": target, "debug": word, "changed": changed})
                ),
                OutputFormat::Table if changed => {
                    println!("{}: debug mode {word}", target.display())
                }
                OutputFormat::Table => {
                    println!(
                        "{}: debug mode already {word}, nothing changed",
                        target.display()
                    )
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        ConfigCommand::Rules => {
            match output {
                OutputFormat::Json => {
                    let rules: Vec<_> = lint::RULES
                        .iter()
                        .map(|(id, severity, what)| {
                            serde_json::json!({ "rule": id, "severity": severity, "checks": what })
                        })
                        .collect();
                    println!("{}", serde_json::to_string_pretty(&rules)?);
                }
                OutputFormat::Table => {
                    for (id, severity, what) in lint::RULES {
                        println!("{id:<24} {severity:<8} {what}");
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn print_report(file: &Path, report: &Report, output: OutputFormat) -> anyhow::Result<()> {
    let file = file.display().to_string();
    match output {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&report.to_json(&file))?),
        OutputFormat::Table => print!("{}", report.table(&file)),
    }
    Ok(())
}
