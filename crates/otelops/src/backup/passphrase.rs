//! The backup passphrase: from a file or an environment variable, never a
//! command-line value (it would show in `ps` and shell history), never
//! printed.

use std::fmt;
use std::path::PathBuf;

#[derive(Debug, Clone)]
pub enum PassphraseSource {
    File(PathBuf),
    Env(String),
}

impl fmt::Display for PassphraseSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PassphraseSource::File(p) => write!(f, "passphrase file {}", p.display()),
            PassphraseSource::Env(v) => write!(f, "environment variable {v}"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PassphraseError {
    #[error("cannot read the {source_name}: {error}")]
    Read {
        source_name: PassphraseSource,
        error: std::io::Error,
    },
    #[error("the {0} is not set")]
    EnvUnset(PassphraseSource),
    #[error("the passphrase in the {0} is empty")]
    Empty(PassphraseSource),
}

/// Debug never shows the value.
pub struct Passphrase(String);

impl fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Passphrase(***)")
    }
}

impl PassphraseSource {
    /// As `gpg --passphrase-file` reads it: the first line, without its line
    /// end — so one file serves both tools.
    pub fn read(&self) -> Result<Passphrase, PassphraseError> {
        let raw = match self {
            PassphraseSource::File(path) => {
                std::fs::read_to_string(path).map_err(|error| PassphraseError::Read {
                    source_name: self.clone(),
                    error,
                })?
            }
            PassphraseSource::Env(var) => {
                std::env::var(var).map_err(|_| PassphraseError::EnvUnset(self.clone()))?
            }
        };
        let first = raw.lines().next().unwrap_or("");
        if first.is_empty() {
            return Err(PassphraseError::Empty(self.clone()));
        }
        Ok(Passphrase(first.to_owned()))
    }
}

impl Passphrase {
    pub(super) fn to_pgp(&self) -> pgp::types::Password {
        self.0.as_str().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_gives_its_first_line_like_gpg() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pw");
        std::fs::write(&path, "correct horse\r\nsecond line\n").unwrap();
        let p = PassphraseSource::File(path).read().unwrap();
        assert_eq!(p.0, "correct horse");
        assert_eq!(format!("{p:?}"), "Passphrase(***)");
    }
}
