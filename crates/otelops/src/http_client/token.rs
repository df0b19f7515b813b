//! Bearer tokens: read from a file or an environment variable (a flag value
//! would show in `ps`), never printed. Errors name where the token came from,
//! never what it is.

use std::fmt;
use std::path::PathBuf;

use http::HeaderValue;

/// Where a token is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSource {
    File(PathBuf),
    Env(String),
}

impl fmt::Display for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenSource::File(p) => write!(f, "token file {}", p.display()),
            TokenSource::Env(v) => write!(f, "environment variable {v}"),
        }
    }
}

impl TokenSource {
    /// The token itself: non-empty visible ASCII (so it fits an HTTP header),
    /// without surrounding whitespace (a file's trailing newline).
    pub fn read(&self) -> Result<String, TokenError> {
        let raw = match self {
            TokenSource::File(path) => {
                std::fs::read_to_string(path).map_err(|error| TokenError::Read {
                    source_name: self.clone(),
                    error,
                })?
            }
            TokenSource::Env(var) => match std::env::var(var) {
                Ok(v) => v,
                Err(std::env::VarError::NotPresent) => {
                    return Err(TokenError::EnvUnset(self.clone()));
                }
                Err(std::env::VarError::NotUnicode(_)) => {
                    return Err(TokenError::NotAHeader(self.clone()));
                }
            },
        };
        let token = raw.trim();
        if token.is_empty() {
            return Err(TokenError::Empty(self.clone()));
        }
        if !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(TokenError::NotAHeader(self.clone()));
        }
        Ok(token.to_owned())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("cannot read the {source_name}: {error}")]
    Read {
        source_name: TokenSource,
        error: std::io::Error,
    },
    #[error("the {0} is not set (--token-env names the variable that holds the token)")]
    EnvUnset(TokenSource),
    #[error("the token in the {0} is empty")]
    Empty(TokenSource),
    #[error("the token in the {0} has characters not allowed in an HTTP header")]
    NotAHeader(TokenSource),
}

/// A loaded token as a ready `Authorization` value, marked sensitive.
/// `Debug` shows only its source.
#[derive(Clone)]
pub struct BearerToken {
    header: HeaderValue,
    source: TokenSource,
}

impl fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BearerToken(from the {}, ***)", self.source)
    }
}

impl BearerToken {
    /// Reads the token; surrounding whitespace (a file's trailing newline) is
    /// not part of it.
    pub fn load(source: &TokenSource) -> Result<BearerToken, TokenError> {
        let token = source.read()?;
        let mut header = HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| TokenError::NotAHeader(source.clone()))?;
        header.set_sensitive(true);
        Ok(BearerToken {
            header,
            source: source.clone(),
        })
    }

    /// The `Authorization` header value (`Bearer …`).
    pub fn header(&self) -> &HeaderValue {
        &self.header
    }

    pub fn source(&self) -> &TokenSource {
        &self.source
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_token_is_trimmed_and_never_shown() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "s3cret-value\n").unwrap();
        let t = BearerToken::load(&TokenSource::File(path.clone())).unwrap();
        assert_eq!(t.header().to_str().unwrap(), "Bearer s3cret-value");
        assert!(t.header().is_sensitive());
        let shown = format!("{t:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains(&path.display().to_string()), "{shown}");
    }

    #[test]
    fn bad_tokens_name_their_source_not_their_value() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty");
        std::fs::write(&empty, "\n").unwrap();
        let err = BearerToken::load(&TokenSource::File(empty.clone())).unwrap_err();
        assert!(matches!(err, TokenError::Empty(_)));
        assert!(err.to_string().contains(&empty.display().to_string()));

        let spaced = dir.path().join("spaced");
        std::fs::write(&spaced, "two words").unwrap();
        let err = BearerToken::load(&TokenSource::File(spaced)).unwrap_err();
        assert!(matches!(err, TokenError::NotAHeader(_)), "{err}");
        assert!(!err.to_string().contains("two words"), "{err}");

        let missing = dir.path().join("missing");
        let err = BearerToken::load(&TokenSource::File(missing.clone())).unwrap_err();
        assert!(err.to_string().contains(&missing.display().to_string()));

        let var = "OTELOPS_TEST_TOKEN_THAT_IS_NEVER_SET";
        let err = BearerToken::load(&TokenSource::Env(var.into())).unwrap_err();
        assert!(matches!(err, TokenError::EnvUnset(_)));
        assert!(err.to_string().contains(var), "{err}");
    }
}
