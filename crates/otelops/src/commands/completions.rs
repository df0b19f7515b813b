//! `otelops completions SHELL`: print a completion script.

use std::process::ExitCode;

use clap::CommandFactory;

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  otelops completions bash > /etc/bash_completion.d/otelops
  otelops completions zsh > \"${fpath[1]}/_otelops\"
  otelops completions fish > ~/.config/fish/completions/otelops.fish

Exit codes: 0 printed, 2 unknown shell.")]
pub struct Args {
    /// The shell to generate for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

pub fn exec(args: Args) -> anyhow::Result<ExitCode> {
    let mut cmd = crate::cli::Cli::command();
    clap_complete::generate(args.shell, &mut cmd, "otelops", &mut std::io::stdout());
    Ok(ExitCode::SUCCESS)
}
