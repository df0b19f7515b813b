//! Certificates made in the test (rcgen) for the TLS tests of otelops'
//! HTTP client and `otelops health`: a CA, server certificates it signs
//! (valid or expired) for every loopback spelling, a client certificate for
//! mTLS, and a token file; all written as files in a temporary directory.
//! Include with `#[path = "common/tls.rs"] mod tls_support;`.
#![allow(dead_code)] // each test file uses a different part

use std::path::{Path, PathBuf};

use parker_telemetry::testing::SinkTls;
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};

/// The names a loopback server answers to, including the IPv4-mapped IPv6
/// form, which otelops' loopback rule treats as remote (so tests can reach
/// a "remote" target that is really 127.0.0.1).
pub const LOOPBACK_NAMES: [&str; 4] = ["127.0.0.1", "localhost", "::1", "::ffff:127.0.0.1"];

/// A certificate and its key, as PEM and as files.
pub struct ServerCert {
    pub cert_pem: String,
    pub key_pem: String,
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
}

impl ServerCert {
    /// The parker-telemetry OTLP sink's TLS settings for this certificate;
    /// with `client_ca` it requires client certificates from that CA.
    pub fn sink_tls(&self, client_ca: Option<&Pki>) -> SinkTls {
        SinkTls {
            cert_pem: self.cert_pem.clone(),
            key_pem: self.key_pem.clone(),
            client_ca_pem: client_ca.map(|ca| ca.ca_pem.clone()),
        }
    }
}

/// A CA in its own temporary directory.
pub struct Pki {
    dir: tempfile::TempDir,
    name: String,
    params: CertificateParams,
    key: KeyPair,
    pub ca_pem: String,
}

impl Pki {
    pub fn new(name: &str) -> Pki {
        let key = KeyPair::generate().expect("CA key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, format!("{name} test CA"));
        let ca_pem = params.self_signed(&key).expect("CA certificate").pem();
        let pki = Pki {
            dir: tempfile::tempdir().expect("tempdir"),
            name: name.to_owned(),
            params,
            key,
            ca_pem,
        };
        std::fs::write(pki.ca_file(), &pki.ca_pem).expect("write CA");
        pki
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join(format!("{}-ca.pem", self.name))
    }

    /// A server certificate for [`LOOPBACK_NAMES`]; `expired` makes one
    /// that ran out in 2021.
    pub fn server(&self, file_stem: &str, expired: bool) -> ServerCert {
        let mut params =
            CertificateParams::new(LOOPBACK_NAMES.map(str::to_owned).to_vec()).expect("params");
        if expired {
            params.not_before = rcgen::date_time_ymd(2020, 1, 1);
            params.not_after = rcgen::date_time_ymd(2021, 1, 1);
        }
        self.issue(params, file_stem)
    }

    /// A server certificate for [`LOOPBACK_NAMES`] that expires `days`
    /// from now (negative: expired that long ago).
    pub fn server_expiring_in(&self, file_stem: &str, days: i64) -> ServerCert {
        let mut params =
            CertificateParams::new(LOOPBACK_NAMES.map(str::to_owned).to_vec()).expect("params");
        let now = std::time::SystemTime::now();
        let shift = std::time::Duration::from_secs(days.unsigned_abs() * 86_400 + 3_600);
        params.not_before = (now - std::time::Duration::from_secs(400 * 86_400)).into();
        params.not_after = if days >= 0 { now + shift } else { now - shift }.into();
        self.issue(params, file_stem)
    }

    /// A client certificate (for mTLS) and its key, as files.
    pub fn client(&self, file_stem: &str) -> (PathBuf, PathBuf) {
        let params = CertificateParams::new(vec!["otelops".to_owned()]).expect("params");
        let issued = self.issue(params, file_stem);
        (issued.cert_file, issued.key_file)
    }

    /// Signs `params` with a fresh key and writes `<stem>.crt`/`<stem>.key`.
    fn issue(&self, params: CertificateParams, file_stem: &str) -> ServerCert {
        let key = KeyPair::generate().expect("key");
        let cert = params
            .signed_by(&key, &Issuer::from_params(&self.params, &self.key))
            .expect("certificate");
        let cert_file = self.dir.path().join(format!("{file_stem}.crt"));
        let key_file = self.dir.path().join(format!("{file_stem}.key"));
        std::fs::write(&cert_file, cert.pem()).expect("write cert");
        write_private(&key_file, &key.serialize_pem());
        ServerCert {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            cert_file,
            key_file,
        }
    }

    /// `ca.crt` and `ca.key` (0600) in the directory: the layout `otelops
    /// certs` keeps, so with a `tls` server certificate `otelops certs rotate
    /// --dir` renews it.
    pub fn write_otelops_ca(&self) {
        std::fs::write(self.dir.path().join("ca.crt"), &self.ca_pem).expect("write ca.crt");
        write_private(&self.dir.path().join("ca.key"), &self.key.serialize_pem());
    }

    /// A token file (mode 0600, as an operator would keep it).
    pub fn token_file(&self, file_stem: &str, token: &str) -> PathBuf {
        let path = self.dir.path().join(file_stem);
        write_private(&path, &format!("{token}\n"));
        path
    }
}

fn write_private(path: &Path, contents: &str) {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options
        .open(path)
        .unwrap_or_else(|e| panic!("creating {}: {e}", path.display()));
    file.write_all(contents.as_bytes()).expect("write");
}
