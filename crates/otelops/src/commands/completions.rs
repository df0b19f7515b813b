//! `otelops completions SHELL`: print a completion script.

use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn exec(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("otelops completions is not implemented yet")
}
