//! One thin file per command: parse, call the library, print.

use std::process::ExitCode;

use crate::cli::{Cli, Command};

pub mod audit;
pub mod backup;
pub mod certs;
pub mod check;
pub mod completions;
pub mod config;
pub mod dashboards;
pub mod demo;
pub mod diagnose;
pub mod health;
pub mod load;
pub mod maintain;
pub mod monitor;
pub mod receive;
pub mod receiver_token;
mod signals;
pub mod test;
pub mod token;
pub mod traces;
pub mod tune;
pub mod version;

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let output = cli.output;
    match cli.command {
        Command::Health(args) => health::exec(args, output),
        Command::Monitor(cmd) => monitor::exec(cmd, output),
        Command::Tune(args) => tune::exec(args, output),
        Command::Diagnose(args) => diagnose::exec(args, output),
        Command::Config(cmd) => config::exec(cmd, output),
        Command::Dashboards(args) => dashboards::exec(args, output),
        Command::Completions(args) => completions::exec(args),
        Command::Check(cmd) => check::exec(cmd, output),
        Command::Receive(args) => receive::exec(args, output),
        Command::Traces(cmd) => traces::exec(cmd, output),
        Command::Demo(args) => demo::exec(args, output),
        Command::Backup(cmd) => backup::exec(cmd, output),
        Command::Test(cmd) => test::exec(cmd, output),
        Command::Token(cmd) => token::exec(cmd, output),
        Command::Audit(cmd) => audit::exec(cmd, output),
        Command::Certs(cmd) => certs::exec(cmd, output),
        Command::Load(args) => load::exec(args, output),
        Command::Maintain(args) => maintain::exec(*args, output),
        Command::Version(args) => version::exec(args, output),
    }
}

/// A single-threaded runtime for one command's I/O (a CLI needs no more).
pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}
