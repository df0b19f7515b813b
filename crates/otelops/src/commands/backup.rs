//! `otelops backup create | verify | restore`: the configuration and the
//! encrypted certificates; see `crate::backup`.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::backup::{self, CreateOptions, Passphrase, PassphraseSource};
use crate::exit;
use crate::output::OutputFormat;

#[derive(Debug, clap::Subcommand)]
pub enum BackupCommand {
    /// Write the config directories as NAME.tar.gz (sorted, with a SHA-256
    /// manifest) and the certificates directory as NAME.certs.tar.gpg
    /// (AES-256, gpg-compatible), both 0600.
    #[command(after_help = "Examples:
  otelops backup create --config deploy/collector --certs /etc/otelcol/certs \\
      --out backups/otel-2026-12-06.tar.gz --passphrase-file ~/.otel-backup.pass

Exit codes: 0 written, 2 usage or input error (nothing written).")]
    Create(CreateArgs),
    /// Check a backup: checksums, archive readable, certificates decryptable,
    /// nothing missing, and a trial restore into a temporary directory.
    #[command(after_help = "Examples:
  OTEL_BACKUP_PASSPHRASE=… otelops backup verify backups/otel-2026-12-06.tar.gz \\
      --passphrase-env OTEL_BACKUP_PASSPHRASE

Exit codes: 0 passed, 1 the backup failed a check, 2 usage error.")]
    Verify(VerifyArgs),
    /// Restore a backup (or a `tar | gpg --symmetric` file) under --to.
    #[command(after_help = "Examples:
  otelops backup restore backups/otel-2026-12-06.tar.gz --to /srv/restore --passphrase-file F
  otelops backup restore certs.tar.gpg --to /srv/restore --passphrase-file F

Exit codes: 0 restored (changes listed), 2 nothing restored (damaged, wrong passphrase,
a newer file in the way without --force, or usage).")]
    Restore(RestoreArgs),
}

/// The passphrase never comes as a flag value (it would show in `ps`).
#[derive(Debug, clap::Args)]
#[group(required = true, multiple = false)]
pub struct PassphraseArgs {
    /// Read the passphrase from the first line of this file (like
    /// `gpg --passphrase-file`).
    #[arg(long, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,
    /// Read the passphrase from this environment variable.
    #[arg(long, value_name = "VAR")]
    pub passphrase_env: Option<String>,
}

impl PassphraseArgs {
    fn read(&self) -> anyhow::Result<Passphrase> {
        let source = match (&self.passphrase_file, &self.passphrase_env) {
            (Some(f), _) => PassphraseSource::File(f.clone()),
            (None, Some(v)) => PassphraseSource::Env(v.clone()),
            (None, None) => anyhow::bail!("give --passphrase-file FILE or --passphrase-env VAR"),
        };
        Ok(source.read()?)
    }
}

#[derive(Debug, clap::Args)]
pub struct CreateArgs {
    /// A configuration directory (repeatable); kept under its own name.
    #[arg(long = "config", value_name = "DIR", required = true)]
    pub config_dirs: Vec<PathBuf>,
    /// The certificates and keys directory; encrypted, kept under its name.
    #[arg(long, value_name = "DIR")]
    pub certs: PathBuf,
    /// The archive to write, NAME.tar.gz; the certificates go to NAME.certs.tar.gpg.
    #[arg(long, value_name = "PATH")]
    pub out: PathBuf,
    #[command(flatten)]
    pub passphrase: PassphraseArgs,
}

#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// The archive (NAME.tar.gz, with NAME.certs.tar.gpg next to it).
    pub path: PathBuf,
    #[command(flatten)]
    pub passphrase: PassphraseArgs,
}

#[derive(Debug, clap::Args)]
pub struct RestoreArgs {
    /// NAME.tar.gz (with NAME.certs.tar.gpg next to it), or an encrypted tar alone.
    pub path: PathBuf,
    /// The directory to restore under; each backed-up directory lands in it by name.
    #[arg(long, value_name = "DIR")]
    pub to: PathBuf,
    /// Replace files that are newer than the backup's.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub passphrase: PassphraseArgs,
}

pub fn exec(cmd: BackupCommand, output: OutputFormat) -> anyhow::Result<ExitCode> {
    match cmd {
        BackupCommand::Create(a) => {
            let passphrase = a.passphrase.read()?;
            let report = backup::create(&CreateOptions {
                config_dirs: &a.config_dirs,
                certs_dir: &a.certs,
                out: &a.out,
                passphrase: &passphrase,
            })?;
            match output {
                OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&report)?),
                OutputFormat::Table => {
                    println!(
                        "config  {} ({} files)",
                        report.archive.display(),
                        report.config_files
                    );
                    println!(
                        "certs   {} ({} files, encrypted)",
                        report.certs.display(),
                        report.certs_files
                    );
                }
            }
            Ok(exit::code(exit::OK))
        }
        BackupCommand::Verify(a) => {
            let passphrase = a.passphrase.read()?;
            match backup::verify(&a.path, &passphrase) {
                Ok(report) => {
                    match output {
                        OutputFormat::Json => {
                            println!("{}", serde_json::to_string_pretty(&report)?)
                        }
                        OutputFormat::Table => println!(
                            "ok  {}: {} config and {} certificate files, checksums match, trial restore of {} files read back equal",
                            report.path.display(),
                            report.config_files,
                            report.certs_files,
                            report.restored_files
                        ),
                    }
                    Ok(exit::code(exit::OK))
                }
                Err(e) => {
                    eprintln!("otelops: backup verify failed: {e}");
                    Ok(exit::code(exit::FAILED))
                }
            }
        }
        BackupCommand::Restore(a) => {
            let passphrase = a.passphrase.read()?;
            let changes = backup::restore(&a.path, &passphrase, &a.to, a.force)?;
            match output {
                OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&changes)?),
                OutputFormat::Table => {
                    for c in &changes {
                        println!("{:<15} {}  {}", c.kind.as_str(), c.mode, c.path.display());
                    }
                }
            }
            Ok(exit::code(exit::OK))
        }
    }
}
