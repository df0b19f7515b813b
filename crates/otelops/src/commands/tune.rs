//! `otelops tune` (to be written).

use std::process::ExitCode;

use crate::output::OutputFormat;

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn exec(_args: Args, _output: OutputFormat) -> anyhow::Result<ExitCode> {
    anyhow::bail!("otelops tune is not implemented yet")
}
