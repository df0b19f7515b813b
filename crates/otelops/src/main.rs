use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = otelops::cli::Cli::parse();
    match otelops::commands::run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("otelops: error: {err:#}");
            ExitCode::from(2)
        }
    }
}
