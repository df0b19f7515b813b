//! `otelops dashboards --out DIR`: write the Grafana dashboard and the
//! Prometheus alert rules.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::dashboards::{self, Thresholds};
use crate::output::OutputFormat;

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    otelops dashboards --out deploy   # writes deploy/grafana/otelcol-parker.json and deploy/prometheus/otelcol-parker-rules.yaml\n\n\
    Exit codes: 0 written, 2 usage error or a file cannot be written.")]
pub struct Args {
    /// Directory to write grafana/ and prometheus/ into.
    #[arg(long)]
    pub out: PathBuf,
    /// The collector container's memory limit, for the memory alert (80 % of it).
    #[arg(long, default_value_t = dashboards::DEFAULT_MEMORY_LIMIT_MIB)]
    pub memory_limit_mib: u64,
}

pub fn exec(args: Args, output: OutputFormat) -> anyhow::Result<ExitCode> {
    let thresholds = Thresholds::guide(args.memory_limit_mib);
    let written = dashboards::write_all(&args.out, &thresholds)?;
    match output {
        OutputFormat::Json => println!("{}", serde_json::json!({ "written": written })),
        OutputFormat::Table => {
            for path in written {
                println!("wrote {}", path.display());
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
