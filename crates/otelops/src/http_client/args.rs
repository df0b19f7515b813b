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

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        http: HttpArgs,
    }

    fn parse(args: &[&str]) -> Result<HttpArgs, clap::Error> {
        Cli::try_parse_from(std::iter::once("otelops").chain(args.iter().copied())).map(|c| c.http)
    }

    #[test]
    fn flags_become_client_options() {
        let a = parse(&[
            "--cacert",
            "ca.pem",
            "--token-env",
            "INGEST_TOKEN",
            "--allow-remote",
        ])
        .unwrap();
        assert!(a.wants_tls());
        let o = a.options(Duration::from_secs(3));
        assert_eq!(o.tls.ca, Some(PathBuf::from("ca.pem")));
        assert_eq!(o.token, Some(TokenSource::Env("INGEST_TOKEN".into())));
        assert!(o.allow_remote && !o.proxy_from_env);
        assert_eq!(
            (o.timeout, o.connect_timeout),
            (Duration::from_secs(3), Duration::from_secs(3))
        );
        assert!(!parse(&[]).unwrap().wants_tls());
    }

    #[test]
    fn half_an_identity_or_two_token_sources_are_usage_errors() {
        let err = parse(&["--client-cert", "c.pem"]).unwrap_err();
        assert!(err.to_string().contains("--client-key"), "{err}");
        let err = parse(&["--token-file", "t", "--token-env", "T"]).unwrap_err();
        assert!(err.to_string().contains("cannot be used with"), "{err}");
    }
}
