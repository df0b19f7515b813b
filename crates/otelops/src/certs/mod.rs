//! The collector's TLS certificates: a small CA and the certificates it signs
//! (`make`: init, issue, rotate, on rcgen), and their inspection — files
//! (`inspect`, on x509-parser) and a live endpoint (`probe`, on rustls).
//!
//! Not a general PKI: one CA per directory, no revocation lists. Start at
//! [`Layout`] (which file is which) and [`inspect_file`].
//!
//! The directory layout is the one the production profile and the k8s TLS
//! Secret expect: `ca.crt`, `ca.key`, `tls.crt`, `tls.key` (+ `NAME.crt`,
//! `NAME.key` for `issue`, and `tls.crt.prev`, `tls.key.prev` after a rotation).

use std::path::{Path, PathBuf};

pub mod inspect;
pub mod make;
pub mod probe;

pub use crate::monitor::Status;
pub use inspect::{CertReport, expiry_status, inspect_file};

/// Days left at or below which a certificate is WARN (the guide's renewal
/// window, also `rotate --before`'s default and cert-manager's `renewBefore`).
pub const WARN_DAYS: i64 = 30;
/// Days left at or below which (or once expired) a certificate is CRIT.
pub const CRIT_DAYS: i64 = 7;

/// The file names of a certificate directory.
#[derive(Debug, Clone)]
pub struct Layout {
    pub dir: PathBuf,
}

/// The collector's server certificate's name: `tls.crt`/`tls.key`, the keys
/// of a Kubernetes TLS Secret.
pub const SERVER_NAME: &str = "tls";

impl Layout {
    pub fn new(dir: &Path) -> Layout {
        Layout { dir: dir.into() }
    }
    pub fn ca_cert(&self) -> PathBuf {
        self.cert(Name::ca())
    }
    pub fn ca_key(&self) -> PathBuf {
        self.key(Name::ca())
    }
    pub fn cert(&self, name: &Name) -> PathBuf {
        self.dir.join(format!("{}.crt", name.0))
    }
    pub fn key(&self, name: &Name) -> PathBuf {
        self.dir.join(format!("{}.key", name.0))
    }
}

/// A certificate's file stem in the directory: letters, digits, `-`, `_`, `.`
/// (no path separators), not `ca`, which is the CA's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name(String);

impl Name {
    fn ca() -> &'static Name {
        static CA: std::sync::OnceLock<Name> = std::sync::OnceLock::new();
        CA.get_or_init(|| Name("ca".into()))
    }
    pub fn server() -> Name {
        Name(SERVER_NAME.into())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for Name {
    type Err = String;
    fn from_str(s: &str) -> Result<Name, String> {
        let ok_chars = s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if s.is_empty() || !ok_chars || s.starts_with('.') {
            return Err(format!(
                "{s:?}: a name is letters, digits, '-', '_' and '.' (it becomes NAME.crt and NAME.key)"
            ));
        }
        if s == "ca" {
            return Err("\"ca\" is the CA's own name (ca.crt, ca.key); choose another".into());
        }
        Ok(Name(s.into()))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CertError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} holds no PEM certificate", path.display())]
    NoCertificate { path: PathBuf },
    #[error("{}: {reason}", path.display())]
    Parse { path: PathBuf, reason: String },
    #[error("{} already exists; `certs init` never overwrites a CA or key (use `certs rotate` to renew)", path.display())]
    Exists { path: PathBuf },
    #[error("{} is missing; run `otelops certs init --dir {}` first", path.display(), dir.display())]
    Missing { path: PathBuf, dir: PathBuf },
    #[error("--ip {0:?} is not an IP address")]
    BadIp(String),
    #[error("--dns {0:?} is not a DNS name: {1}")]
    BadDns(String, String),
    #[error("making the certificate: {0}")]
    Generate(#[from] rcgen::Error),
}

pub(crate) fn read(path: &Path) -> Result<Vec<u8>, CertError> {
    std::fs::read(path).map_err(|source| CertError::Read {
        path: path.into(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_file_stems_and_not_the_ca() {
        assert!("client-a".parse::<Name>().is_ok());
        assert!("../x".parse::<Name>().unwrap_err().contains("letters"));
        assert!("ca".parse::<Name>().unwrap_err().contains("CA's own"));
        let l = Layout::new(Path::new("/d"));
        assert_eq!(l.cert(&Name::server()), Path::new("/d/tls.crt"));
        assert_eq!(l.ca_key(), Path::new("/d/ca.key"));
    }
}
