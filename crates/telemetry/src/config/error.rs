//! The one error type of configuration parsing. Every variant names the
//! variable (or file and line) and says what would be right.

use std::path::PathBuf;

/// A malformed `OTEL_*` value or env file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A value that does not parse; the value is shown because it is not secret.
    #[error("{var}={value:?}: expected {expected}")]
    Invalid {
        var: String,
        value: String,
        expected: String,
    },
    /// A value that may hold a secret (headers): the value is never shown.
    #[error("{var}: {problem} (value not shown: it may hold a secret)")]
    InvalidSecret { var: String, problem: String },
    /// Two values that each parse but contradict each other.
    #[error("{var}={value}: {problem}")]
    Inconsistent {
        var: String,
        value: String,
        problem: String,
    },
    /// A line of the env file that is not `KEY=VALUE`.
    #[error("{}:{line}: {problem}", path.display())]
    EnvFileSyntax {
        path: PathBuf,
        line: usize,
        problem: String,
    },
    /// The env file named by `OTEL_ENV_FILE` (or found at the default path)
    /// cannot be read.
    #[error("cannot read env file {} ({origin}): {source}", path.display())]
    EnvFileUnreadable {
        path: PathBuf,
        origin: &'static str,
        #[source]
        source: std::io::Error,
    },
    /// A variable that is not valid UTF-8 in the process environment.
    #[error("{var}: value is not valid UTF-8")]
    NotUnicode { var: String },
}

impl ConfigError {
    pub(crate) fn invalid(var: &str, value: &str, expected: impl Into<String>) -> Self {
        ConfigError::Invalid {
            var: var.to_owned(),
            value: value.to_owned(),
            expected: expected.into(),
        }
    }

    /// The variable this error is about, when there is one.
    pub fn variable(&self) -> Option<&str> {
        match self {
            ConfigError::Invalid { var, .. }
            | ConfigError::InvalidSecret { var, .. }
            | ConfigError::Inconsistent { var, .. }
            | ConfigError::NotUnicode { var } => Some(var),
            ConfigError::EnvFileSyntax { .. } | ConfigError::EnvFileUnreadable { .. } => None,
        }
    }
}
