//! The certificates a collector depends on: the files its receivers and
//! exporters name (`cert_file`, `ca_file`, `client_ca_file`) plus any given
//! with `--cert`, and the certificate each TLS exporter's backend presents
//! (a rustls handshake, loopback unless remote targets are allowed).

use std::net::ToSocketAddrs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::certs::probe::{EndpointReport, probe_endpoint};
use crate::certs::{CertReport, inspect_file};
use crate::collector_config::document::{Node, Value};
use crate::collector_config::file::ConfigFile;
use crate::http_client::TlsFiles;

const FILE_KEYS: [&str; 3] = ["cert_file", "ca_file", "client_ca_file"];

/// A certificate file and where it was named (`--cert`, or a config path).
#[derive(Debug, Clone)]
pub struct CertSource {
    pub path: PathBuf,
    pub named_by: String,
}

/// Every certificate file the config names, with its dotted path.
pub fn config_files(cfg: &ConfigFile) -> Vec<CertSource> {
    let mut out = Vec::new();
    for section in ["receivers", "exporters", "extensions"] {
        if let Some(node) = cfg.root.get(section) {
            walk(node, section, &mut out);
        }
    }
    out
}

fn walk(node: &Node, at: &str, out: &mut Vec<CertSource>) {
    let Value::Map(entries) = &node.value else {
        return;
    };
    for (k, v) in entries {
        let here = format!("{at}.{}", k.name);
        match (&v.value, FILE_KEYS.contains(&k.name.as_str())) {
            // `${env:…}` values are the deployment's, not readable here.
            (Value::Str(p), true) if !v.is_env_reference() && !p.is_empty() => {
                if !out.iter().any(|c: &CertSource| c.path == Path::new(p)) {
                    out.push(CertSource {
                        path: p.into(),
                        named_by: here,
                    });
                }
            }
            _ => walk(v, &here, out),
        }
    }
}

pub fn inspect(
    sources: &[CertSource],
    now: SystemTime,
) -> Vec<(CertSource, Result<CertReport, String>)> {
    sources
        .iter()
        .map(|s| {
            (
                s.clone(),
                inspect_file(&s.path, None, now).map_err(|e| e.to_string()),
            )
        })
        .collect()
}

/// A network exporter that speaks TLS: its id, `HOST:PORT` and CA file.
#[derive(Debug, Clone)]
pub struct TlsExporter {
    pub id: String,
    pub endpoint: String,
    pub ca_file: Option<PathBuf>,
}

pub fn tls_exporters(cfg: &ConfigFile) -> Vec<TlsExporter> {
    cfg.section("exporters")
        .into_iter()
        .filter_map(|(id, ex)| {
            let endpoint = ex.path(&["endpoint"])?.as_str()?;
            if endpoint.starts_with("http://")
                || ex.path(&["tls", "insecure"]).and_then(Node::as_bool) == Some(true)
            {
                return None;
            }
            let hostport = endpoint
                .trim_start_matches("https://")
                .split('/')
                .next()?
                .to_string();
            Some(TlsExporter {
                id: id.to_string(),
                endpoint: hostport,
                ca_file: ex
                    .path(&["tls", "ca_file"])
                    .and_then(Node::as_str)
                    .map(PathBuf::from),
            })
        })
        .collect()
}

fn is_loopback(endpoint: &str) -> bool {
    endpoint
        .to_socket_addrs()
        .map(|mut a| a.all(|a| a.ip().is_loopback()))
        .unwrap_or(false)
}

/// Handshakes with each TLS exporter's backend (loopback only unless
/// `allow_remote`); what it presented and why the handshake failed.
pub fn probe(
    exporters: &[TlsExporter],
    allow_remote: bool,
    timeout: Duration,
    now: SystemTime,
) -> Vec<(TlsExporter, Result<EndpointReport, String>)> {
    exporters
        .iter()
        .filter(|e| allow_remote || is_loopback(&e.endpoint))
        .map(|e| {
            let tls = TlsFiles {
                ca: e.ca_file.clone(),
                client_cert: None,
                client_key: None,
            };
            let r = probe_endpoint(&e.endpoint, &tls, timeout, now).map_err(|x| x.to_string());
            (e.clone(), r)
        })
        .collect()
}
