//! `otelops certs`: make the collector's CA and certificates, check files or
//! a live endpoint, rotate the server certificate. Logic in `crate::certs`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use anyhow::Context;

use crate::certs::make::{self, InitOptions, IssueOptions, KeyType, Role, RotateOptions, Sans};
use crate::certs::probe::{EndpointReport, probe_endpoint};
use crate::certs::{self, CertReport, Name, Status};
use crate::exit;
use crate::http_client::TlsFiles;
use crate::output::OutputFormat;

#[derive(Debug, clap::Subcommand)]
pub enum CertsCommand {
    /// Make a CA and the collector's server certificate in DIR.
    #[command(after_help = "Examples:
  otelops certs init --dir tls
  otelops certs init --dir tls --dns otelcol.parker.internal --ip 10.0.0.7

Layout of DIR (what the production profile's OTELCOL_TLS_CERT_FILE/OTELCOL_TLS_KEY_FILE and the
k8s TLS Secret otelcol-parker-tls expect):
  ca.crt ca.key                the CA (ECDSA P-256, 5 years)
  tls.crt tls.key              the collector's server certificate (90 days)
  NAME.crt NAME.key            made by `certs issue --name NAME`
  tls.crt.prev tls.key.prev    the pair before the last `certs rotate`
Keys are written 0600 and certificates 0644, each file atomically. SANs default to localhost,
127.0.0.1 and ::1. Existing files are never overwritten.

Exit codes: 0 written, 2 usage or input error.")]
    Init(InitArgs),
    /// Issue another server or client (mTLS) certificate from DIR's CA.
    #[command(after_help = "Examples:
  otelops certs issue --dir tls --name gateway --dns gateway.parker.internal
  otelops certs issue --dir tls --name booking --client

Exit codes: 0 written, 2 usage or input error.")]
    Issue(IssueArgs),
    /// Check certificate files or a live TLS endpoint.
    #[command(after_help = "Examples:
  otelops certs check tls/tls.crt --ca tls/ca.crt
  otelops certs check tls/*.crt --ca tls/ca.crt --output json
  otelops certs check --endpoint 127.0.0.1:4317 --ca tls/ca.crt

For each file: subject, SANs, issuer, serial, days left, the chain against --ca, and the key
next to it (X.crt -> X.key): does it fit the certificate, its mode (group/other access is
WARN) and owner. On --endpoint: the chain the server presents and the TLS version negotiated
(only TLS 1.2 and 1.3 are offered). Days left: WARN at 30 or fewer, CRIT at 7 or fewer or
expired; a chain that does not verify or a key that does not fit is CRIT.

Exit codes: 0 OK, 1 WARN, 2 CRIT or usage/unreadable input (like monitor).")]
    Check(CheckArgs),
    /// Renew the server certificate when it is due, keeping the old pair as *.prev.
    #[command(after_help = "Examples:
  otelops certs rotate --dir tls
  otelops certs rotate --dir tls --before 45d --new-key

The collector picks the new certificate up without a restart: the production profile's
receivers reload their TLS files (reload_interval). Same key (the default): one atomic
rename swaps the certificate. --new-key: the key is swapped first, then the certificate.

Exit codes: 0 rotated or not due, 2 usage or input error.")]
    Rotate(RotateArgs),
}

#[derive(Debug, clap::Args)]
pub struct SanArgs {
    /// A DNS name for the certificate's SANs (repeat). Default with no --ip:
    /// localhost, 127.0.0.1, ::1.
    #[arg(long, value_name = "NAME")]
    pub dns: Vec<String>,
    /// An IP address for the SANs (repeat).
    #[arg(long, value_name = "ADDR")]
    pub ip: Vec<String>,
}

#[derive(Debug, clap::Args)]
pub struct InitArgs {
    /// The directory to write (created if missing).
    #[arg(long)]
    pub dir: PathBuf,
    #[command(flatten)]
    pub sans: SanArgs,
    /// Key algorithm.
    #[arg(long, value_enum, default_value_t)]
    pub key_type: KeyType,
    /// The CA's common name.
    #[arg(long, default_value = "Parker Flight OTel CA")]
    pub ca_name: String,
}

#[derive(Debug, clap::Args)]
pub struct IssueArgs {
    /// The directory holding ca.crt and ca.key.
    #[arg(long)]
    pub dir: PathBuf,
    /// File stem of the new certificate: NAME.crt, NAME.key.
    #[arg(long)]
    pub name: Name,
    /// A client certificate (clientAuth) for mTLS instead of a server one.
    #[arg(long)]
    pub client: bool,
    #[command(flatten)]
    pub sans: SanArgs,
    #[arg(long, value_enum, default_value_t)]
    pub key_type: KeyType,
}

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Certificate files (PEM; leaf first, then any intermediates).
    #[arg(required_unless_present = "endpoint", conflicts_with = "endpoint")]
    pub files: Vec<PathBuf>,
    /// Check a live TLS endpoint instead of files.
    #[arg(long, value_name = "HOST:PORT")]
    pub endpoint: Option<String>,
    /// The CA bundle to verify against (files: optional; endpoint: else the Mozilla roots).
    #[arg(long, value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// Connect and handshake timeout for --endpoint.
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
}

#[derive(Debug, clap::Args)]
pub struct RotateArgs {
    #[arg(long)]
    pub dir: PathBuf,
    /// Which certificate (NAME.crt) to renew.
    #[arg(long, default_value = certs::SERVER_NAME)]
    pub name: Name,
    /// Renew when it expires within this long.
    #[arg(long, default_value = "30d", value_parser = humantime::parse_duration)]
    pub before: Duration,
    /// Make a new key (of this type) instead of keeping the current one.
    #[arg(long, value_enum, num_args = 0..=1, default_missing_value = "ecdsa-p256")]
    pub new_key: Option<KeyType>,
}

pub fn exec(cmd: CertsCommand, output: OutputFormat) -> anyhow::Result<ExitCode> {
    let now = SystemTime::now();
    match cmd {
        CertsCommand::Init(a) => {
            let opts = InitOptions {
                sans: Sans::parse(&a.sans.dns, &a.sans.ip)?,
                key_type: a.key_type,
                ca_name: a.ca_name,
            };
            let written = make::init(&a.dir, &opts, now)?;
            print_written(&written, output)
        }
        CertsCommand::Issue(a) => {
            let sans = match (a.client, a.sans.dns.is_empty() && a.sans.ip.is_empty()) {
                (true, true) => Sans {
                    dns: Vec::new(),
                    ips: Vec::new(),
                },
                _ => Sans::parse(&a.sans.dns, &a.sans.ip)?,
            };
            let opts = IssueOptions {
                name: a.name,
                role: if a.client { Role::Client } else { Role::Server },
                sans,
                key_type: a.key_type,
            };
            let written = make::issue(&a.dir, &opts, now)?;
            print_written(&written, output)
        }
        CertsCommand::Rotate(a) => {
            let opts = RotateOptions {
                name: a.name,
                before: a.before,
                new_key: a.new_key,
            };
            let r = make::rotate(&a.dir, &opts, now)?;
            match output {
                OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&r)?),
                OutputFormat::Table => match &r {
                    make::Rotation::NotDue {
                        days_left,
                        not_after,
                    } => println!("not due: {days_left} days left (until {not_after})"),
                    make::Rotation::Rotated {
                        old_serial,
                        new_serial,
                        not_after,
                        written,
                        ..
                    } => {
                        println!(
                            "rotated: serial {old_serial} -> {new_serial}, valid until {not_after}"
                        );
                        print_written(written, output)?;
                    }
                },
            }
            Ok(exit::code(exit::OK))
        }
        CertsCommand::Check(a) => match &a.endpoint {
            Some(endpoint) => {
                let tls = TlsFiles {
                    ca: a.ca.clone(),
                    ..TlsFiles::default()
                };
                let report = probe_endpoint(endpoint, &tls, a.timeout, now)?;
                print_endpoint(&report, output)?;
                Ok(status_code(report.status))
            }
            None => {
                let reports = a
                    .files
                    .iter()
                    .map(|f| {
                        certs::inspect_file(f, a.ca.as_deref(), now)
                            .with_context(|| format!("certs check {}", f.display()))
                    })
                    .collect::<anyhow::Result<Vec<_>>>()?;
                print_reports(&reports, output)?;
                let worst = reports.iter().map(|r| r.status).max().unwrap_or(Status::Ok);
                Ok(status_code(worst))
            }
        },
    }
}

fn status_code(s: Status) -> ExitCode {
    exit::code(match s {
        Status::Ok => exit::OK,
        Status::Warn => exit::WARN,
        Status::Crit => exit::CRIT,
    })
}

fn print_written(written: &[make::Written], output: OutputFormat) -> anyhow::Result<ExitCode> {
    match output {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(written)?),
        OutputFormat::Table => {
            for w in written {
                println!("wrote {} {}", w.mode, w.path.display());
            }
        }
    }
    Ok(exit::code(exit::OK))
}

fn print_reports(reports: &[CertReport], output: OutputFormat) -> anyhow::Result<()> {
    if output == OutputFormat::Json {
        println!("{}", serde_json::to_string_pretty(reports)?);
        return Ok(());
    }
    for r in reports {
        println!("{:<4} {}", r.status, r.path.display());
        print_cert(&r.cert);
        match &r.chain {
            None => println!("     chain:     not checked (no --ca)"),
            Some(Ok(())) => println!("     chain:     verifies"),
            Some(Err(e)) => println!("     chain:     does NOT verify: {e}"),
        }
        match &r.key {
            None => println!("     key:       none next to it"),
            Some(k) => println!(
                "     key:       {} mode {} uid {} — {}",
                k.path.display(),
                k.mode,
                k.owner_uid,
                match &k.matches {
                    Some(Ok(())) => "fits the certificate",
                    _ => "does NOT fit the certificate",
                }
            ),
        }
        for p in &r.problems {
            println!("     problem:   {p}");
        }
    }
    Ok(())
}

fn print_cert(c: &certs::inspect::CertInfo) {
    println!("     subject:   {}", c.subject);
    println!("     SANs:      {}", c.sans.join(", "));
    println!("     issuer:    {}", c.issuer);
    println!("     serial:    {}", c.serial);
    println!(
        "     valid:     {} .. {} ({} days left)",
        c.not_before, c.not_after, c.days_left
    );
}

fn print_endpoint(r: &EndpointReport, output: OutputFormat) -> anyhow::Result<()> {
    if output == OutputFormat::Json {
        println!("{}", serde_json::to_string_pretty(r)?);
        return Ok(());
    }
    println!(
        "{:<4} {} {}",
        r.status,
        r.endpoint,
        r.tls_version.as_deref().unwrap_or("(no TLS session)")
    );
    for (i, c) in r.chain.iter().enumerate() {
        println!("   [{i}]");
        print_cert(c);
    }
    for p in &r.problems {
        println!("     problem:   {p}");
    }
    Ok(())
}
