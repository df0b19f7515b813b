//! Bearer tokens for the collector's OTLP receivers: made from the OS CSPRNG
//! (`gen`), replaced in a token file the collector watches (`rotate`, with an
//! overlap in which the old and new token are both accepted until `retire`),
//! and replaced inside an env file (`.env.otel`'s `OTEL_EXPORTER_OTLP_HEADERS`
//! or the collector's env file) without touching its other lines, and turned
//! into a Redis ACL file that holds only its hash (`redis-acl`).
//!
//! Not for: reading tokens to send them (`http_client::TokenSource`) or
//! checking their strength (`audit`).
//!
//! Start at [`file`] (the token file the collector reads: one token per line,
//! the first is current) and [`env_file`]. Every write goes through
//! `secret_file::write_atomic` with mode 0600; no function here returns a
//! message holding a token.

pub mod env_file;
pub mod file;
pub mod redis_acl;

use std::fmt;
use std::path::PathBuf;

/// Bytes of randomness in a token: what `openssl rand -hex 32` gives (256 bits).
pub const TOKEN_BYTES: usize = 32;

/// File mode of every file holding a token.
pub const SECRET_MODE: u32 = 0o600;

/// A bearer token: printable ASCII without whitespace (it goes into an HTTP
/// header and into a whitespace-separated token file). `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// 32 bytes from the operating system's CSPRNG as 64 lowercase hex characters.
    pub fn generate() -> Result<Token, TokenError> {
        use ring::rand::SecureRandom;
        let mut bytes = [0u8; TOKEN_BYTES];
        ring::rand::SystemRandom::new()
            .fill(&mut bytes)
            .map_err(|_| TokenError::Random)?;
        Ok(Token(bytes.iter().map(|b| format!("{b:02x}")).collect()))
    }

    /// A token read from somewhere else (a token file the operator made).
    pub fn parse(text: &str) -> Option<Token> {
        let ok = !text.is_empty() && text.bytes().all(|b| b.is_ascii_graphic());
        ok.then(|| Token(text.to_owned()))
    }

    /// The secret itself: only for writing it where it belongs.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// What can go wrong; each message names the file (and line), never a token.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("the operating system's random number generator failed")]
    Random,
    #[error("{action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: already exists; replace its token with `otelops token rotate --file {}`", path.display(), path.display())]
    Exists { path: PathBuf },
    #[error("{}: no such token file; make one with `otelops token gen --out {}`", path.display(), path.display())]
    Missing { path: PathBuf },
    #[error("{}: holds no token (one token per line, the current one first); make one with `otelops token gen --out {}`", path.display(), path.display())]
    NoToken { path: PathBuf },
    #[error("{}:{line}: not a token (expected printable ASCII without spaces)", path.display())]
    NotAToken { path: PathBuf, line: usize },
    #[error("{}:{line}: {problem}", path.display())]
    EnvSyntax {
        path: PathBuf,
        line: usize,
        problem: String,
    },
    #[error("{}: {var} is assigned on lines {lines:?}; keep one assignment so the token has one place", path.display())]
    EnvDuplicate {
        path: PathBuf,
        var: String,
        lines: Vec<usize>,
    },
    #[error("{}: rewriting {var} would change how the file reads ({problem}); nothing written", path.display())]
    EnvVerify {
        path: PathBuf,
        var: String,
        problem: String,
    },
}

impl TokenError {
    fn io(action: &'static str, path: &std::path::Path, source: std::io::Error) -> TokenError {
        TokenError::Io {
            action,
            path: path.to_owned(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_are_64_hex_characters_and_differ() {
        let a = Token::generate().unwrap();
        let b = Token::generate().unwrap();
        assert_eq!(a.expose().len(), 64);
        assert!(
            a.expose()
                .bytes()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        assert_ne!(a, b);
        assert_eq!(format!("{a:?}"), "Token(<redacted>)");
    }

    #[test]
    fn tokens_with_whitespace_or_control_bytes_are_refused() {
        for bad in ["", "a b", "a\tb", "ab\u{7f}", "é"] {
            assert!(Token::parse(bad).is_none(), "{bad:?}");
        }
        assert!(Token::parse("abc-DEF_123.~+/=").is_some());
    }
}
