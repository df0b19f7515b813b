//! `otelops config` (to be written).

use std::process::ExitCode;

use crate::output::OutputFormat;

#[derive(Debug, clap::Subcommand)]
pub enum ConfigCommand {}

pub fn exec(cmd: ConfigCommand, _output: OutputFormat) -> anyhow::Result<ExitCode> {
    match cmd {}
}
