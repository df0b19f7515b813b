//! Making certificates (rcgen on ring): `init` (CA + server certificate),
//! `issue` (more server or client certificates from that CA) and `rotate`
//! (renew the server certificate when due, keeping the previous pair).
//!
//! Keys are written 0600 and certificates 0644, each file atomically
//! (`secret_file::write_atomic`), so a collector reloading its certificate
//! reads either the old file or the new one, never half of one.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType, SerialNumber,
};
use serde::Serialize;

use super::inspect::{info, parse, pem_certificates};
use super::{CertError, Layout, Name, read};
use crate::secret_file::write_atomic;

/// The guide's rotation period: server and client certificates live 90 days.
pub const LEAF_DAYS: u64 = 90;
/// The CA lives 5 years.
pub const CA_DAYS: u64 = 5 * 365;
/// Backdating absorbs small clock differences between this host and peers.
const BACKDATE: Duration = Duration::from_secs(5 * 60);

pub const KEY_MODE: u32 = 0o600;
pub const CERT_MODE: u32 = 0o644;

/// The subject alternative names of a server certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sans {
    pub dns: Vec<String>,
    pub ips: Vec<IpAddr>,
}

impl Sans {
    /// What a collector on this machine answers to: `localhost`,
    /// `127.0.0.1`, `::1`.
    pub fn loopback() -> Sans {
        Sans {
            dns: vec!["localhost".into()],
            ips: vec![[127, 0, 0, 1].into(), std::net::Ipv6Addr::LOCALHOST.into()],
        }
    }

    /// From `--dns`/`--ip` values; none of either gives [`Sans::loopback`].
    pub fn parse(dns: &[String], ips: &[String]) -> Result<Sans, CertError> {
        if dns.is_empty() && ips.is_empty() {
            return Ok(Sans::loopback());
        }
        let ips = ips
            .iter()
            .map(|s| s.parse().map_err(|_| CertError::BadIp(s.clone())))
            .collect::<Result<_, _>>()?;
        for d in dns {
            rcgen::string::Ia5String::try_from(d.as_str())
                .map_err(|e| CertError::BadDns(d.clone(), e.to_string()))?;
        }
        Ok(Sans {
            dns: dns.to_vec(),
            ips,
        })
    }

    fn to_san_types(&self) -> Result<Vec<SanType>, CertError> {
        let mut out = Vec::new();
        for d in &self.dns {
            let name = rcgen::string::Ia5String::try_from(d.as_str())
                .map_err(|e| CertError::BadDns(d.clone(), e.to_string()))?;
            out.push(SanType::DnsName(name));
        }
        out.extend(self.ips.iter().map(|ip| SanType::IpAddress(*ip)));
        Ok(out)
    }
}

/// The key algorithm of a new key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, Serialize)]
pub enum KeyType {
    /// ECDSA on P-256 with SHA-256 (small, fast, what TLS 1.3 prefers).
    #[default]
    #[value(name = "ecdsa-p256")]
    EcdsaP256,
    /// RSA 3072 with SHA-256, for peers that take no ECDSA.
    #[value(name = "rsa3072")]
    Rsa3072,
}

impl KeyType {
    fn generate(self) -> Result<KeyPair, CertError> {
        match self {
            KeyType::EcdsaP256 => Ok(KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?),
            KeyType::Rsa3072 => {
                use rsa::Generate;
                use rsa::pkcs8::EncodePrivateKey;
                // PrivateKey::DEFAULT_BITS is 3072.
                let key =
                    rsa::PrivateKey::try_generate().map_err(|_| rcgen::Error::RingUnspecified)?;
                let der = key
                    .to_pkcs8_der()
                    .map_err(|_| rcgen::Error::KeyGenerationUnavailable)?;
                Ok(KeyPair::from_pkcs8_der_and_sign_algo(
                    &rustls::pki_types::PrivatePkcs8KeyDer::from(der.as_bytes()),
                    &rcgen::PKCS_RSA_SHA256,
                )?)
            }
        }
    }
}

/// What a certificate is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Server,
    Client,
}

/// One file written, for the command to list.
#[derive(Debug, Clone, Serialize)]
pub struct Written {
    pub path: PathBuf,
    pub mode: String,
}

fn write(path: PathBuf, bytes: &[u8], mode: u32, out: &mut Vec<Written>) -> Result<(), CertError> {
    write_atomic(&path, bytes, mode).map_err(|source| CertError::Write {
        path: path.clone(),
        source,
    })?;
    out.push(Written {
        path,
        mode: format!("{mode:04o}"),
    });
    Ok(())
}

fn refuse_existing(paths: &[PathBuf]) -> Result<(), CertError> {
    match paths.iter().find(|p| p.exists()) {
        Some(p) => Err(CertError::Exists { path: p.clone() }),
        None => Ok(()),
    }
}

/// A random positive 127-bit serial: a renewed certificate with the same key
/// must not repeat its predecessor's serial (rcgen's default is a hash of
/// the public key).
fn random_serial() -> Result<SerialNumber, CertError> {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 16];
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| rcgen::Error::RingUnspecified)?;
    bytes[0] &= 0x7f;
    bytes[0] |= 0x01; // never shorter than 16 bytes
    Ok(SerialNumber::from_slice(&bytes))
}

fn validity(params: &mut CertificateParams, now: SystemTime, days: u64) {
    params.not_before = (now - BACKDATE).into();
    params.not_after = (now + Duration::from_secs(days * 86_400)).into();
}

fn leaf_params(
    common_name: &str,
    sans: &Sans,
    role: Role,
    now: SystemTime,
) -> Result<CertificateParams, CertError> {
    let mut params = CertificateParams::default();
    params.subject_alt_names = sans.to_san_types()?;
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![match role {
        Role::Server => ExtendedKeyUsagePurpose::ServerAuth,
        Role::Client => ExtendedKeyUsagePurpose::ClientAuth,
    }];
    params.use_authority_key_identifier_extension = true;
    params.serial_number = Some(random_serial()?);
    validity(&mut params, now, LEAF_DAYS);
    Ok(params)
}

/// `certs init`'s choices.
#[derive(Debug, Clone)]
pub struct InitOptions {
    pub sans: Sans,
    pub key_type: KeyType,
    /// The CA's common name.
    pub ca_name: String,
}

/// Makes the CA (`ca.key`, `ca.crt`, 5 years) and the collector's server
/// certificate (`tls.key`, `tls.crt`, 90 days) in `dir`, creating it; never
/// overwrites an existing file.
pub fn init(dir: &Path, opts: &InitOptions, now: SystemTime) -> Result<Vec<Written>, CertError> {
    let layout = Layout::new(dir);
    let server = Name::server();
    refuse_existing(&[
        layout.ca_key(),
        layout.ca_cert(),
        layout.key(&server),
        layout.cert(&server),
    ])?;
    std::fs::create_dir_all(dir).map_err(|source| CertError::Write {
        path: dir.into(),
        source,
    })?;

    let ca_key = opts.key_type.generate()?;
    let mut ca = CertificateParams::default();
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.distinguished_name
        .push(DnType::CommonName, opts.ca_name.as_str());
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    ca.serial_number = Some(random_serial()?);
    validity(&mut ca, now, CA_DAYS);
    let ca_cert = ca.self_signed(&ca_key)?;

    let key = opts.key_type.generate()?;
    let cn = opts.sans.dns.first().map_or("otelcol-parker", |d| d);
    let cert = leaf_params(cn, &opts.sans, Role::Server, now)?
        .signed_by(&key, &Issuer::from_params(&ca, &ca_key))?;

    let mut out = Vec::new();
    for (path, pem, mode) in [
        (layout.ca_key(), ca_key.serialize_pem(), KEY_MODE),
        (layout.ca_cert(), ca_cert.pem(), CERT_MODE),
        (layout.key(&server), key.serialize_pem(), KEY_MODE),
        (layout.cert(&server), cert.pem(), CERT_MODE),
    ] {
        write(path, pem.as_bytes(), mode, &mut out)?;
    }
    Ok(out)
}

fn load_key(path: &Path) -> Result<KeyPair, CertError> {
    let pem = String::from_utf8_lossy(&read(path)?).into_owned();
    KeyPair::from_pem(&pem).map_err(|e| CertError::Parse {
        path: path.into(),
        reason: format!("not a PKCS#8 private key: {e}"),
    })
}

fn load_ca(layout: &Layout) -> Result<Issuer<'static, KeyPair>, CertError> {
    for path in [layout.ca_cert(), layout.ca_key()] {
        if !path.exists() {
            return Err(CertError::Missing {
                path,
                dir: layout.dir.clone(),
            });
        }
    }
    let key = load_key(&layout.ca_key())?;
    let pem = String::from_utf8_lossy(&read(&layout.ca_cert())?).into_owned();
    Issuer::from_ca_cert_pem(&pem, key).map_err(|e| CertError::Parse {
        path: layout.ca_cert(),
        reason: format!("not a CA certificate: {e}"),
    })
}

/// `certs issue`'s choices.
#[derive(Debug, Clone)]
pub struct IssueOptions {
    pub name: Name,
    pub role: Role,
    pub sans: Sans,
    pub key_type: KeyType,
}

/// Issues `NAME.crt`/`NAME.key` (90 days) from the CA in `dir`; a client
/// certificate's common name is NAME and it carries only the DNS SANs given.
pub fn issue(dir: &Path, opts: &IssueOptions, now: SystemTime) -> Result<Vec<Written>, CertError> {
    let layout = Layout::new(dir);
    let (cert_path, key_path) = (layout.cert(&opts.name), layout.key(&opts.name));
    refuse_existing(&[key_path.clone(), cert_path.clone()])?;
    let issuer = load_ca(&layout)?;
    let key = opts.key_type.generate()?;
    let cert =
        leaf_params(opts.name.as_str(), &opts.sans, opts.role, now)?.signed_by(&key, &issuer)?;
    let mut out = Vec::new();
    write(key_path, key.serialize_pem().as_bytes(), KEY_MODE, &mut out)?;
    write(cert_path, cert.pem().as_bytes(), CERT_MODE, &mut out)?;
    Ok(out)
}

/// `certs rotate`'s choices.
#[derive(Debug, Clone)]
pub struct RotateOptions {
    pub name: Name,
    /// Renew when fewer than this many days are left.
    pub before: Duration,
    /// A new key instead of re-certifying the current one.
    pub new_key: Option<KeyType>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Rotation {
    NotDue {
        days_left: i64,
        not_after: String,
    },
    Rotated {
        old_serial: String,
        new_serial: String,
        not_after: String,
        new_key: bool,
        written: Vec<Written>,
    },
}

/// The common name, SANs and role of the certificate being renewed.
fn renewal_subject(
    path: &Path,
    old: &x509_parser::certificate::X509Certificate<'_>,
) -> Result<(String, Sans, Role), CertError> {
    use x509_parser::extensions::GeneralName;
    let cn = old
        .subject()
        .iter_common_name()
        .next()
        .and_then(|a| a.as_str().ok())
        .unwrap_or("otelcol-parker")
        .to_owned();
    let mut sans = Sans {
        dns: Vec::new(),
        ips: Vec::new(),
    };
    if let Ok(Some(ext)) = old.subject_alternative_name() {
        for name in &ext.value.general_names {
            match name {
                GeneralName::DNSName(d) => sans.dns.push((*d).to_owned()),
                GeneralName::IPAddress(b) => {
                    let ip = match b.len() {
                        4 => <[u8; 4]>::try_from(*b).map(IpAddr::from).ok(),
                        16 => <[u8; 16]>::try_from(*b).map(IpAddr::from).ok(),
                        _ => None,
                    };
                    sans.ips.push(ip.ok_or_else(|| CertError::Parse {
                        path: path.into(),
                        reason: format!("an IP SAN of {} bytes", b.len()),
                    })?);
                }
                _ => {}
            }
        }
    }
    let role = match old.extended_key_usage() {
        Ok(Some(eku)) if eku.value.client_auth && !eku.value.server_auth => Role::Client,
        _ => Role::Server,
    };
    Ok((cn, sans, role))
}

fn prev(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".prev");
    s.into()
}

/// Renews `NAME.crt` when it expires within `before`: same subject and SANs,
/// 90 days from now, same key unless `new_key`. The previous pair is kept as
/// `NAME.crt.prev`/`NAME.key.prev` before the new files replace the old ones,
/// each by an atomic rename. With the same key the swap is a single rename
/// (the certificate); a new key is written first, so a reader between the
/// two renames sees the new key with the old certificate for that instant.
pub fn rotate(dir: &Path, opts: &RotateOptions, now: SystemTime) -> Result<Rotation, CertError> {
    let layout = Layout::new(dir);
    let (cert_path, key_path) = (layout.cert(&opts.name), layout.key(&opts.name));
    for path in [&cert_path, &key_path] {
        if !path.exists() {
            return Err(CertError::Missing {
                path: path.clone(),
                dir: dir.into(),
            });
        }
    }
    let ders = pem_certificates(&cert_path)?;
    let old = parse(&cert_path, &ders[0])?;
    let old_info = info(&old, now);
    let left = old.validity().not_after.timestamp()
        - now
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
    if left > opts.before.as_secs() as i64 {
        return Ok(Rotation::NotDue {
            days_left: old_info.days_left,
            not_after: old_info.not_after,
        });
    }

    let issuer = load_ca(&layout)?;
    let old_key_pem = read(&key_path)?;
    let key = match opts.new_key {
        Some(kt) => kt.generate()?,
        None => load_key(&key_path)?,
    };
    let (cn, sans, role) = renewal_subject(&cert_path, &old)?;
    let params = leaf_params(&cn, &sans, role, now)?;
    let cert = params.signed_by(&key, &issuer)?;

    let mut written = Vec::new();
    write(prev(&key_path), &old_key_pem, KEY_MODE, &mut written)?;
    write(
        prev(&cert_path),
        &read(&cert_path)?,
        CERT_MODE,
        &mut written,
    )?;
    if opts.new_key.is_some() {
        write(
            key_path,
            key.serialize_pem().as_bytes(),
            KEY_MODE,
            &mut written,
        )?;
    }
    write(
        cert_path.clone(),
        cert.pem().as_bytes(),
        CERT_MODE,
        &mut written,
    )?;
    let new_info = info(&parse(&cert_path, cert.der())?, now);
    Ok(Rotation::Rotated {
        old_serial: old_info.serial,
        new_serial: new_info.serial,
        not_after: new_info.not_after,
        new_key: opts.new_key.is_some(),
        written,
    })
}
