//! The bearer token that `otelops receive` and `check --listen` require of
//! senders: read from a file or an environment variable, never taken as a
//! flag value (it would show in `ps`).

use std::path::PathBuf;

use anyhow::Context;

use crate::http_client::TokenSource;
use crate::receive::Token;

/// Read when neither --token-file nor --token-env is given; `traces` sends
/// the token it finds there too.
pub const RECEIVER_TOKEN_ENV: &str = "OTELOPS_RECEIVER_TOKEN";

#[derive(Debug, Clone, Default, clap::Args)]
pub struct ReceiverTokenArgs {
    /// Read the bearer token senders must present from this file; required to
    /// listen on a non-loopback address. Never printed.
    #[arg(long, value_name = "FILE", conflicts_with = "token_env")]
    pub token_file: Option<PathBuf>,
    /// Read it from this environment variable [default: OTELOPS_RECEIVER_TOKEN, when set].
    #[arg(long, value_name = "VAR")]
    pub token_env: Option<String>,
}

impl ReceiverTokenArgs {
    /// The configured source, or the default variable when it is set.
    fn source(&self) -> Option<TokenSource> {
        match (&self.token_file, &self.token_env) {
            (Some(path), _) => Some(TokenSource::File(path.clone())),
            (None, Some(var)) => Some(TokenSource::Env(var.clone())),
            (None, None) => std::env::var_os(RECEIVER_TOKEN_ENV)
                .map(|_| TokenSource::Env(RECEIVER_TOKEN_ENV.into())),
        }
    }

    /// The token, if one is configured; errors name its source, never its value.
    pub fn token(&self) -> anyhow::Result<Option<Token>> {
        let Some(source) = self.source() else {
            return Ok(None);
        };
        let value = source.read()?;
        Ok(Some(Token::new(value).with_context(|| {
            format!("the receiver token in the {source}")
        })?))
    }
}
