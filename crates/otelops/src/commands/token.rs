//! `otelops token`: make, rotate and retire the collector's ingest bearer
//! tokens. Parse, call `crate::token`, print what happened — never a token,
//! except `gen --stdout`, where printing it is the request.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use crate::exit;
use crate::output::OutputFormat;
use crate::token::env_file::{self, Change};
use crate::token::file::{self, Rotation};
use crate::token::redis_acl;
use crate::token::{TOKEN_BYTES, Token};

#[derive(Debug, clap::Subcommand)]
pub enum TokenCommand {
    /// Make a token: 32 bytes from the OS CSPRNG as 64 hex characters (what
    /// `openssl rand -hex 32` gives), into a new file (mode 0600).
    #[command(
        group(clap::ArgGroup::new("dest").required(true).args(["out", "stdout"])),
        after_help = "Examples:\n  \
            otelops token gen --out /etc/otelcol-parker/tokens/ingest-token\n  \
            otelops token gen --stdout | kubectl create secret generic t --from-file=token=/dev/stdin\n\n\
            Exit codes: 0 written, 2 usage error or the file exists (use `token rotate`)."
    )]
    Gen {
        /// Write it to this new file (atomically, mode 0600).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Print it on stdout instead (e.g. into a secret manager's stdin).
        #[arg(long)]
        stdout: bool,
    },
    /// Replace the token in a token file (the collector's `filename:`) or in
    /// one variable of an env file (.env.otel's OTEL_EXPORTER_OTLP_HEADERS, or
    /// a collector env file); other lines and comments stay as they are.
    #[command(
        group(clap::ArgGroup::new("target").required(true).args(["file", "env_file"])),
        after_help = "Examples:\n  \
            otelops token rotate --file ingest-token --overlap\n  \
            otelops token rotate --env-file config/.env.otel --var OTEL_EXPORTER_OTLP_HEADERS --token-from ingest-token\n  \
            otelops token rotate --env-file secrets.env --var OTELCOL_EXPORT_TOKEN\n\n\
            Exit codes: 0 rotated, 2 usage or input error (nothing written)."
    )]
    Rotate {
        /// The token file (one token per line, the current one first).
        #[arg(long, value_name = "FILE")]
        file: Option<PathBuf>,
        /// Keep the current token valid next to the new one until `token retire`
        /// (the collector accepts every token in the file; clients send the first).
        #[arg(long, requires = "file")]
        overlap: bool,
        /// The env file to edit.
        #[arg(long, value_name = "FILE", requires = "var")]
        env_file: Option<PathBuf>,
        /// The variable holding the token; a *_HEADERS variable gets only its
        /// `authorization=Bearer%20…` pair replaced.
        #[arg(long, value_name = "NAME", requires = "env_file")]
        var: Option<String>,
        /// Take the new token from this token file's first line (the collector's,
        /// just rotated) instead of making one.
        #[arg(long, value_name = "FILE", requires = "env_file")]
        token_from: Option<PathBuf>,
    },
    /// End an overlap: keep only the newest (first) token in the token file.
    #[command(
        after_help = "Examples:\n  otelops token retire --file ingest-token\n\n\
        Exit codes: 0 retired (or nothing to retire), 2 usage or input error."
    )]
    Retire {
        /// The token file.
        #[arg(long, value_name = "FILE")]
        file: PathBuf,
    },
    /// Write a Redis ACL file (redis.conf `aclfile`) whose `default` user's
    /// password is the token file's current token, stored as its SHA-256:
    /// the Redis server gets no password, its clients send the token.
    #[command(
        name = "redis-acl",
        after_help = "Examples:\n  \
            otelops token gen --out redis-password\n  \
            otelops token redis-acl --file redis-password --out users.acl\n\n\
            parker-booking reads the token from --redis-password-file redis-password.\n\
            Exit codes: 0 written, 2 usage or input error (nothing written)."
    )]
    RedisAcl {
        /// The token file (its first token is the password).
        #[arg(long, value_name = "FILE")]
        file: PathBuf,
        /// The ACL file to write (replaced atomically, mode 0600).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
}

pub const AFTER_HELP: &str = "Examples:\n  \
    otelops token gen --out /etc/otelcol-parker/tokens/ingest-token\n  \
    otelops token rotate --file /etc/otelcol-parker/tokens/ingest-token --overlap\n  \
    otelops token rotate --env-file config/.env.otel --var OTEL_EXPORTER_OTLP_HEADERS \\\n      \
    --token-from /etc/otelcol-parker/tokens/ingest-token\n  \
    otelops token retire --file /etc/otelcol-parker/tokens/ingest-token\n  \
    otelops token redis-acl --file redis-password --out users.acl\n\n\
    The collector (bearertokenauth `filename:`) watches the token file and reloads it\n\
    without a restart. Every file is written atomically with mode 0600; no token is\n\
    printed or taken as a flag value.\n\n\
    Exit codes: 0 done, 2 usage or input error (nothing written).";

pub fn exec(cmd: TokenCommand, output: OutputFormat) -> anyhow::Result<ExitCode> {
    let report = match cmd {
        // clap's "dest" group makes --out and --stdout exclusive and one required.
        TokenCommand::Gen { out, .. } => {
            let token = Token::generate()?;
            match out {
                Some(path) => {
                    file::create(&path, &token)?;
                    Report::new(
                        "gen",
                        &path,
                        format!("wrote a new {TOKEN_BYTES}-byte token (mode 0600)"),
                    )
                }
                None => {
                    println!("{}", token.expose());
                    return Ok(exit::code(exit::OK));
                }
            }
        }
        TokenCommand::Rotate {
            file: Some(path),
            overlap,
            ..
        } => {
            let rotation = if overlap {
                Rotation::Overlap
            } else {
                Rotation::Replace
            };
            let done = file::rotate(&path, &Token::generate()?, rotation)?;
            let mut what = if done.kept_previous {
                "new token first; the previous one stays valid until `otelops token retire`"
                    .to_owned()
            } else {
                "new token written; the previous one is refused once the collector reloads"
                    .to_owned()
            };
            if done.kept_previous && done.dropped > 0 {
                what.push_str(&format!(" ({} older token(s) dropped)", done.dropped));
            }
            Report::new("rotate", &path, what)
        }
        TokenCommand::Rotate {
            env_file: Some(path),
            var: Some(var),
            token_from,
            ..
        } => {
            let token = match &token_from {
                Some(from) => file::read_tokens(from)
                    .with_context(|| "reading --token-from")?
                    .swap_remove(0),
                None => Token::generate()?,
            };
            let what = match env_file::set_token(&path, &var, &token)? {
                Change::Replaced { line } => format!("{var} on line {line}: token replaced"),
                Change::HeaderAdded { line } => {
                    format!("{var} on line {line}: authorization header added")
                }
                Change::VariableAdded { line } => format!("{var} added on line {line}"),
            };
            Report::new("rotate", &path, what)
        }
        TokenCommand::Rotate { .. } => {
            unreachable!("clap requires --file or --env-file with --var")
        }
        TokenCommand::RedisAcl { file: from, out } => {
            let token = file::read_tokens(&from)?.swap_remove(0);
            redis_acl::write(&out, &token)?;
            Report::new(
                "redis-acl",
                &out,
                format!(
                    "the default user's password is the SHA-256 of {}'s token (mode 0600)",
                    from.display()
                ),
            )
        }
        TokenCommand::Retire { file: path } => {
            let what = match file::retire(&path)? {
                0 => "only one token in the file: nothing to retire".to_owned(),
                n => format!("{n} previous token(s) retired; only the newest is valid"),
            };
            Report::new("retire", &path, what)
        }
    };
    report.print(output)?;
    Ok(exit::code(exit::OK))
}

#[derive(serde::Serialize)]
struct Report {
    action: &'static str,
    file: String,
    result: String,
}

impl Report {
    fn new(action: &'static str, path: &std::path::Path, result: String) -> Report {
        Report {
            action,
            file: path.display().to_string(),
            result,
        }
    }

    fn print(&self, output: OutputFormat) -> anyhow::Result<()> {
        match output {
            OutputFormat::Table => println!("{} {}: {}", self.action, self.file, self.result),
            OutputFormat::Json => println!("{}", serde_json::to_string(self)?),
        }
        Ok(())
    }
}
