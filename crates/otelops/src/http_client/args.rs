//! The flags every command that makes HTTP calls shares (`#[command(flatten)]`).

use std::path::PathBuf;
use std::time::Duration;

use super::{HttpOptions, TlsFiles, TokenSource};

#[derive(Debug, Clone, Default, clap::Args)]
pub struct HttpArgs {
    /// Allow targets that are not loopback addresses.
    #[arg(long)]
    pub allow_remote: bool,
    /// Trust only this CA certificate (PEM) for https targets [default: the Mozilla roots].
    #[arg(long, value_name = "FILE")]
    pub cacert: Option<PathBuf>,
    /// Client certificate (PEM) for servers that require mTLS; needs --client-key.
    #[arg(long, value_name = "FILE", requires = "client_key")]
    pub client_cert: Option<PathBuf>,
    /// Private key (PEM) of --client-cert.
    #[arg(long, value_name = "FILE", requires = "client_cert")]
    pub client_key: Option<PathBuf>,
    /// Read the bearer token from this file (sent only over https or to loopback; never printed).
    #[arg(long, value_name = "FILE", conflicts_with = "token_env")]
    pub token_file: Option<PathBuf>,
    /// Read the bearer token from this environment variable.
    #[arg(long, value_name = "VAR")]
    pub token_env: Option<String>,
    /// Go through the proxy named by HTTP_PROXY/HTTPS_PROXY/ALL_PROXY (and NO_PROXY);
    /// without it those variables are ignored.
    #[arg(long)]
    pub proxy_from_env: bool,
}

impl HttpArgs {
    /// Whether any TLS file was given (then scheme-less OTLP targets mean https).
    pub fn wants_tls(&self) -> bool {
        self.cacert.is_some() || self.client_cert.is_some()
    }

    pub fn token_source(&self) -> Option<TokenSource> {
        match (&self.token_file, &self.token_env) {
            (Some(path), _) => Some(TokenSource::File(path.clone())),
            (None, Some(var)) => Some(TokenSource::Env(var.clone())),
            (None, None) => None,
        }
    }

    /// The client options, with `timeout` for connecting and for each request.
    pub fn options(&self, timeout: Duration) -> HttpOptions {
        HttpOptions {
            allow_remote: self.allow_remote,
            proxy_from_env: self.proxy_from_env,
            tls: TlsFiles {
                ca: self.cacert.clone(),
                client_cert: self.client_cert.clone(),
                client_key: self.client_key.clone(),
            },
            token: self.token_source(),
            ..HttpOptions::loopback(timeout)
        }
    }
}
