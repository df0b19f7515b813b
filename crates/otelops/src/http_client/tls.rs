//! The TLS side of [`super::HttpClient`]: a rustls client config on the
//! `ring` provider (the one parker-telemetry and tonic already use, so no
//! second crypto library is built), trusting `--cacert` or else the Mozilla
//! roots, with an optional client certificate for mTLS. The same PEM bytes
//! feed tonic for the OTLP/gRPC check.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// The TLS files a command was given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsFiles {
    /// Trust only this CA bundle (PEM) instead of the Mozilla roots.
    pub ca: Option<PathBuf>,
    /// Client certificate chain and key (PEM), for servers that want mTLS.
    pub client_cert: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {what} {}: {error}", path.display())]
    Read {
        what: &'static str,
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{what} {} holds no PEM certificate", path.display())]
    NoCertificate { what: &'static str, path: PathBuf },
    #[error("{what} {}: {reason}", path.display())]
    Bad {
        what: &'static str,
        path: PathBuf,
        reason: String,
    },
    #[error("--client-cert and --client-key go together; only {0} was given")]
    HalfIdentity(&'static str),
}

/// The files' contents, kept for tonic (which takes PEM, not rustls types).
#[derive(Debug, Clone, Default)]
pub struct LoadedTls {
    pub ca_pem: Option<Vec<u8>>,
    pub identity_pem: Option<(Vec<u8>, Vec<u8>)>,
}

fn read(what: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|error| TlsError::Read {
        what,
        path: path.into(),
        error,
    })
}

fn certificates(
    what: &'static str,
    path: &Path,
    pem: &[u8],
) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Bad {
            what,
            path: path.into(),
            reason: format!("not PEM certificates: {e}"),
        })?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate {
            what,
            path: path.into(),
        });
    }
    Ok(certs)
}

impl TlsFiles {
    /// The trusted roots: `--cacert`'s certificates (with its PEM) or else
    /// the Mozilla roots. `certs check --endpoint` trusts the same way.
    pub(crate) fn roots(&self) -> Result<(rustls::RootCertStore, Option<Vec<u8>>), TlsError> {
        let mut roots = rustls::RootCertStore::empty();
        match &self.ca {
            Some(path) => {
                let pem = read("CA file", path)?;
                for cert in certificates("CA file", path, &pem)? {
                    roots.add(cert).map_err(|e| TlsError::Bad {
                        what: "CA file",
                        path: path.clone(),
                        reason: e.to_string(),
                    })?;
                }
                Ok((roots, Some(pem)))
            }
            None => {
                roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
                Ok((roots, None))
            }
        }
    }

    /// Reads and checks every file, and builds the rustls config.
    pub fn load(&self) -> Result<(rustls::ClientConfig, LoadedTls), TlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut loaded = LoadedTls::default();
        let (roots, ca_pem) = self.roots()?;
        loaded.ca_pem = ca_pem;
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("ring supports the default TLS versions")
            .with_root_certificates(roots);
        let config = match (&self.client_cert, &self.client_key) {
            (None, None) => builder.with_no_client_auth(),
            (Some(_), None) => return Err(TlsError::HalfIdentity("--client-cert")),
            (None, Some(_)) => return Err(TlsError::HalfIdentity("--client-key")),
            (Some(cert_path), Some(key_path)) => {
                let cert_pem = read("client certificate", cert_path)?;
                let chain = certificates("client certificate", cert_path, &cert_pem)?;
                let key_pem = read("client key", key_path)?;
                let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| TlsError::Bad {
                    what: "client key",
                    path: key_path.clone(),
                    reason: format!("no PEM private key: {e}"),
                })?;
                let config =
                    builder
                        .with_client_auth_cert(chain, key)
                        .map_err(|e| TlsError::Bad {
                            what: "client key",
                            path: key_path.clone(),
                            reason: format!("does not fit the client certificate: {e}"),
                        })?;
                loaded.identity_pem = Some((cert_pem, key_pem));
                config
            }
        };
        Ok((config, loaded))
    }
}

/// The rustls error somewhere in `e`'s chain, if the failure was TLS.
/// rustls errors arrive wrapped in `io::Error`s (hyper-rustls wraps tokio-
/// rustls' one again), whose `source()` skips the wrapped error, so each
/// link is also opened with `get_ref`.
pub(crate) fn tls_failure(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(tls) = err.downcast_ref::<rustls::Error>() {
            return Some(match hint(tls) {
                Some(hint) => format!("{tls} ({hint})"),
                None => tls.to_string(),
            });
        }
        cur = match err
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => err.source(),
        };
    }
    None
}

/// What the operator can do about the usual handshake failures.
fn hint(e: &rustls::Error) -> Option<&'static str> {
    use rustls::CertificateError as C;
    match e {
        rustls::Error::InvalidCertificate(c) => match c {
            C::UnknownIssuer | C::BadSignature => {
                Some("is --cacert the CA that signed the server's certificate?")
            }
            C::Expired | C::ExpiredContext { .. } => Some("the server's certificate has expired"),
            C::NotValidYet | C::NotValidYetContext { .. } => {
                Some("the server's certificate is not valid yet; check the clocks")
            }
            C::NotValidForName | C::NotValidForNameContext { .. } => {
                Some("the server's certificate does not name this host")
            }
            _ => None,
        },
        rustls::Error::AlertReceived(_) => {
            Some("the server refused the handshake; does it want --client-cert and --client-key?")
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_errors_name_the_flag_and_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let not_pem = dir.path().join("ca.pem");
        std::fs::write(&not_pem, "hello").unwrap();
        let files = TlsFiles {
            ca: Some(not_pem.clone()),
            ..TlsFiles::default()
        };
        let err = files.load().unwrap_err();
        assert!(matches!(err, TlsError::NoCertificate { .. }), "{err}");
        assert!(err.to_string().contains(&not_pem.display().to_string()));

        let half = TlsFiles {
            client_cert: Some(not_pem),
            ..TlsFiles::default()
        };
        assert!(matches!(
            half.load().unwrap_err(),
            TlsError::HalfIdentity("--client-cert")
        ));
        assert!(TlsFiles::default().load().is_ok(), "Mozilla roots alone");
    }
}
