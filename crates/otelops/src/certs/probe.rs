//! `certs check --endpoint HOST:PORT`: a TLS handshake over rustls (ring,
//! TLS 1.2 and 1.3 only, so an older server fails here as it should), the
//! chain the server presented and the version negotiated. The chain is
//! recorded by the verifier itself, so it is shown even when it does not
//! verify.

use std::io::Write;
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use serde::Serialize;

use super::Status;
use super::inspect::{CertInfo, expiry_status, info};
use crate::http_client::TlsFiles;

#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("--endpoint {0:?}: expected HOST:PORT")]
    BadEndpoint(String),
    #[error("--endpoint {endpoint}: cannot connect: {source}")]
    Connect {
        endpoint: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Tls(#[from] crate::http_client::TlsError),
}

#[derive(Debug, Clone, Serialize)]
pub struct EndpointReport {
    pub endpoint: String,
    /// "TLSv1_3" or "TLSv1_2"; none when the handshake failed.
    pub tls_version: Option<String>,
    /// The certificates the server presented, leaf first.
    pub chain: Vec<CertInfo>,
    /// Why the handshake failed (untrusted chain, wrong name, old TLS…).
    pub error: Option<String>,
    pub status: Status,
    pub problems: Vec<String>,
}

/// Records the presented chain, then lets webpki judge it.
#[derive(Debug)]
struct Recording {
    inner: Arc<WebPkiServerVerifier>,
    chain: Mutex<Vec<Vec<u8>>>,
}

impl ServerCertVerifier for Recording {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Ok(mut chain) = self.chain.lock() {
            *chain = std::iter::once(end_entity)
                .chain(intermediates)
                .map(|c| c.to_vec())
                .collect();
        }
        self.inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// Handshakes with `endpoint` trusting `tls.ca` (else the Mozilla roots),
/// and judges what the server presented at `now`.
pub fn probe_endpoint(
    endpoint: &str,
    tls: &TlsFiles,
    timeout: Duration,
    now: SystemTime,
) -> Result<EndpointReport, ProbeError> {
    let bad = || ProbeError::BadEndpoint(endpoint.into());
    let (host, _) = endpoint.rsplit_once(':').ok_or_else(bad)?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let name = ServerName::try_from(host.to_owned()).map_err(|_| bad())?;
    let addr = endpoint
        .to_socket_addrs()
        .map_err(|_| bad())?
        .next()
        .ok_or_else(bad)?;

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let (roots, _) = tls.roots()?;
    let inner = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| ProbeError::BadEndpoint(format!("{endpoint}: {e}")))?;
    let verifier = Arc::new(Recording {
        inner,
        chain: Mutex::new(Vec::new()),
    });
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring supports the default TLS versions")
        .dangerous()
        .with_custom_certificate_verifier(verifier.clone())
        .with_no_client_auth();

    let connect = |source| ProbeError::Connect {
        endpoint: endpoint.into(),
        source,
    };
    let mut sock = TcpStream::connect_timeout(&addr, timeout).map_err(connect)?;
    sock.set_read_timeout(Some(timeout)).map_err(connect)?;
    sock.set_write_timeout(Some(timeout)).map_err(connect)?;
    let mut conn = rustls::ClientConnection::new(Arc::new(config), name)
        .map_err(|e| ProbeError::BadEndpoint(format!("{endpoint}: {e}")))?;
    let mut error = None;
    while conn.is_handshaking() {
        if let Err(e) = conn.complete_io(&mut sock) {
            error = Some(
                crate::http_client::tls_failure(&e).unwrap_or_else(|| format!("handshake: {e}")),
            );
            break;
        }
    }
    let tls_version = match (&error, conn.protocol_version()) {
        (None, Some(v)) => Some(format!("{v:?}")),
        _ => None,
    };
    if error.is_none() {
        conn.send_close_notify();
        let _ = conn.complete_io(&mut sock);
        let _ = sock.flush();
    }

    let ders = verifier.chain.lock().map(|c| c.clone()).unwrap_or_default();
    let chain: Vec<CertInfo> = ders
        .iter()
        .filter_map(|d| x509_parser::parse_x509_certificate(d).ok())
        .map(|(_, c)| info(&c, now))
        .collect();
    let mut problems = Vec::new();
    let mut status = Status::Ok;
    if let Some(e) = &error {
        status = Status::Crit;
        problems.push(format!("TLS handshake failed: {e}"));
    }
    if let Some(leaf) = chain.first() {
        let s = expiry_status(leaf.days_left);
        if s > Status::Ok {
            problems.push(format!(
                "the server's certificate has {} days left ({})",
                leaf.days_left, leaf.not_after
            ));
        }
        status = status.max(s);
    }
    Ok(EndpointReport {
        endpoint: endpoint.into(),
        tls_version,
        chain,
        error,
        status,
        problems,
    })
}
