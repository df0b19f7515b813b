use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = otelops::cli::Cli::parse_args();
    match otelops::commands::run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("otelops: error: {err:#}");
            ExitCode::from(2)
        }
    }
}
