//! `otelops monitor` (to be written).

use std::process::ExitCode;

use crate::output::OutputFormat;

#[derive(Debug, clap::Subcommand)]
pub enum MonitorCommand {}

pub fn exec(cmd: MonitorCommand, _output: OutputFormat) -> anyhow::Result<ExitCode> {
    match cmd {}
}
