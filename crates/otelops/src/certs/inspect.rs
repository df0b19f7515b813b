//! `certs check` on files: what a certificate says (subject, SANs, issuer,
//! validity), whether it chains to the CA, whether the key next to it fits it
//! and is kept private, and the OK/WARN/CRIT verdict.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::Serialize;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;
use x509_parser::pem::Pem;

use super::{CRIT_DAYS, CertError, Status, WARN_DAYS, read};

/// Everything `certs check` found about one certificate file.
#[derive(Debug, Clone, Serialize)]
pub struct CertReport {
    pub path: PathBuf,
    #[serde(flatten)]
    pub cert: CertInfo,
    /// Against `--ca`: `Ok(())` or why the chain does not verify.
    #[serde(serialize_with = "ser_result")]
    pub chain: Option<Result<(), String>>,
    /// The private key next to the certificate (`X.crt` → `X.key`), if any.
    pub key: Option<KeyReport>,
    pub status: Status,
    /// Why the status is not OK, one line each, with the fix.
    pub problems: Vec<String>,
}

/// What a certificate itself says (also what `probe` shows for each
/// certificate a server presents).
#[derive(Debug, Clone, Serialize)]
pub struct CertInfo {
    pub subject: String,
    pub issuer: String,
    /// Hex, colon-separated, as `openssl x509 -serial` groups it.
    pub serial: String,
    pub sans: Vec<String>,
    pub not_before: String,
    pub not_after: String,
    /// Whole days until notAfter, rounded up (so "30 days left" agrees with
    /// `openssl x509 -checkend $((30*86400))`); 0 or less once expired.
    pub days_left: i64,
    pub is_ca: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct KeyReport {
    pub path: PathBuf,
    /// `Ok(())` when the key's public half is the certificate's, else why not.
    #[serde(serialize_with = "ser_result")]
    pub matches: Option<Result<(), String>>,
    /// Permission bits, e.g. "0600".
    pub mode: String,
    pub owner_uid: u32,
}

fn ser_result<S: serde::Serializer>(
    r: &Option<Result<(), String>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match r {
        None => s.serialize_none(),
        Some(Ok(())) => s.serialize_str("ok"),
        Some(Err(e)) => s.serialize_str(e),
    }
}

/// WARN at 30 days left or fewer, CRIT at 7 or fewer or once expired.
pub fn expiry_status(days_left: i64) -> Status {
    if days_left <= CRIT_DAYS {
        Status::Crit
    } else if days_left <= WARN_DAYS {
        Status::Warn
    } else {
        Status::Ok
    }
}

/// The DER certificates of a PEM file, in file order (leaf first).
pub(crate) fn pem_certificates(path: &Path) -> Result<Vec<Vec<u8>>, CertError> {
    let bytes = read(path)?;
    let mut ders = Vec::new();
    for pem in Pem::iter_from_buffer(&bytes) {
        let pem = pem.map_err(|e| CertError::Parse {
            path: path.into(),
            reason: format!("not PEM: {e}"),
        })?;
        if pem.label == "CERTIFICATE" {
            ders.push(pem.contents);
        }
    }
    if ders.is_empty() {
        return Err(CertError::NoCertificate { path: path.into() });
    }
    Ok(ders)
}

pub(crate) fn parse<'a>(path: &Path, der: &'a [u8]) -> Result<X509Certificate<'a>, CertError> {
    x509_parser::parse_x509_certificate(der)
        .map(|(_, c)| c)
        .map_err(|e| CertError::Parse {
            path: path.into(),
            reason: format!("not an X.509 certificate: {e}"),
        })
}

fn unix(t: SystemTime) -> i64 {
    match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    }
}

/// The SANs as `DNS:name` / `IP:addr` (openssl's spelling).
pub(crate) fn sans(cert: &X509Certificate<'_>) -> Vec<String> {
    let Ok(Some(ext)) = cert.subject_alternative_name() else {
        return Vec::new();
    };
    ext.value
        .general_names
        .iter()
        .map(|n| match n {
            GeneralName::DNSName(d) => format!("DNS:{d}"),
            GeneralName::IPAddress(b) => match <[u8; 4]>::try_from(*b) {
                Ok(v4) => format!("IP:{}", std::net::Ipv4Addr::from(v4)),
                Err(_) => match <[u8; 16]>::try_from(*b) {
                    Ok(v6) => format!("IP:{}", std::net::Ipv6Addr::from(v6)),
                    Err(_) => format!("IP:{b:02x?}"),
                },
            },
            other => other.to_string(),
        })
        .collect()
}

/// The serial as `openssl x509 -serial` prints it (colon-separated here):
/// the integer's bytes without DER's sign padding, the `00` that precedes
/// a first byte with its high bit set (x509-parser's `raw_serial_as_string`
/// keeps it, so half of all 20-byte random serials read differently).
fn serial_hex(raw: &[u8]) -> String {
    let bytes = match raw {
        [0, rest @ ..] if !rest.is_empty() => rest,
        all => all,
    };
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

pub(crate) fn info(cert: &X509Certificate<'_>, now: SystemTime) -> CertInfo {
    let validity = cert.validity();
    let secs_left = validity.not_after.timestamp() - unix(now);
    CertInfo {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        serial: serial_hex(cert.raw_serial()),
        sans: sans(cert),
        not_before: rfc3339(validity.not_before.timestamp()),
        not_after: rfc3339(validity.not_after.timestamp()),
        days_left: (secs_left + 86_399).div_euclid(86_400),
        is_ca: cert.is_ca(),
    }
}

fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| unix.to_string())
}

/// Verifies `chain[0]` up through `chain[1..]` to one of the `roots` by
/// signature, each issuer a CA valid at `now`.
pub(crate) fn verify_chain(
    chain: &[X509Certificate<'_>],
    roots: &[X509Certificate<'_>],
    now: SystemTime,
) -> Result<(), String> {
    let now = unix(now);
    let valid = |c: &X509Certificate<'_>| {
        let v = c.validity();
        v.not_before.timestamp() <= now && now <= v.not_after.timestamp()
    };
    let mut cur = &chain[0];
    for _ in 0..8 {
        if !valid(cur) {
            return Err(format!("{} is not valid now", cur.subject()));
        }
        let signed_by = |c: &&X509Certificate<'_>| {
            c.subject() == cur.issuer() && cur.verify_signature(Some(c.public_key())).is_ok()
        };
        if let Some(root) = roots.iter().find(signed_by) {
            if !root.is_ca() {
                return Err(format!("the CA file's {} is not a CA", root.subject()));
            }
            if !valid(root) {
                return Err(format!("the CA {} is not valid now", root.subject()));
            }
            return Ok(());
        }
        match chain[1..].iter().find(signed_by) {
            Some(next) if next.is_ca() => cur = next,
            _ => {
                return Err(format!(
                    "no certificate in the CA file signed it (issuer {})",
                    cur.issuer()
                ));
            }
        }
    }
    Err("the chain is longer than 8 certificates".into())
}

/// Reads the certificate at `path` (the first PEM certificate is the leaf,
/// any after it intermediates), verifies it against the CA bundle `ca`
/// when given, checks the key file next to it (`X.crt` → `X.key`) when there
/// is one, and judges it at `now`.
pub fn inspect_file(
    path: &Path,
    ca: Option<&Path>,
    now: SystemTime,
) -> Result<CertReport, CertError> {
    let ders = pem_certificates(path)?;
    let chain = ders
        .iter()
        .map(|d| parse(path, d))
        .collect::<Result<Vec<_>, _>>()?;
    let leaf = &chain[0];
    let cert = info(leaf, now);
    let mut problems = Vec::new();
    let mut status = expiry_status(cert.days_left);
    if cert.days_left <= 0 {
        problems.push(format!("expired on {}; renew it", cert.not_after));
    } else if status > Status::Ok {
        problems.push(format!(
            "expires in {} days ({}); renew it (`otelops certs rotate`)",
            cert.days_left, cert.not_after
        ));
    }

    let chain_result = match ca {
        None => None,
        Some(ca) => {
            let root_ders = pem_certificates(ca)?;
            let roots = root_ders
                .iter()
                .map(|d| parse(ca, d))
                .collect::<Result<Vec<_>, _>>()?;
            let r = verify_chain(&chain, &roots, now);
            if let Err(e) = &r {
                status = Status::Crit;
                problems.push(format!("does not verify against {}: {e}", ca.display()));
            }
            Some(r)
        }
    };

    let key_path = path.with_extension("key");
    let key = if key_path.is_file() && key_path != path {
        let report = inspect_key(&key_path, leaf)?;
        if let Some(Err(e)) = &report.key.matches {
            status = Status::Crit;
            problems.push(format!("{}: {e}", key_path.display()));
        }
        if report.mode_bits & 0o077 != 0 {
            status = status.max(Status::Warn);
            problems.push(format!(
                "{} has mode {}: others may read the key; chmod 600 it (0400 in a k8s Secret)",
                key_path.display(),
                report.key.mode
            ));
        }
        Some(report.key)
    } else {
        None
    };

    Ok(CertReport {
        path: path.into(),
        cert,
        chain: chain_result,
        key,
        status,
        problems,
    })
}

struct InspectedKey {
    key: KeyReport,
    mode_bits: u32,
}

fn inspect_key(path: &Path, leaf: &X509Certificate<'_>) -> Result<InspectedKey, CertError> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path).map_err(|source| CertError::Read {
        path: path.into(),
        source,
    })?;
    let pem = String::from_utf8_lossy(&read(path)?).into_owned();
    let matches = match rcgen::KeyPair::from_pem(&pem) {
        Ok(key) => {
            use rcgen::PublicKeyData;
            if key.der_bytes() == leaf.public_key().subject_public_key.data.as_ref() {
                Ok(())
            } else {
                Err("this key does not belong to the certificate".to_owned())
            }
        }
        Err(e) => Err(format!(
            "not a PKCS#8 private key ({e}); convert with `openssl pkcs8 -topk8 -nocrypt`"
        )),
    };
    let mode_bits = meta.mode() & 0o7777;
    Ok(InspectedKey {
        key: KeyReport {
            path: path.into(),
            matches: Some(matches),
            mode: format!("{mode_bits:04o}"),
            owner_uid: meta.uid(),
        },
        mode_bits,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thirty_days_is_warn_seven_is_crit_expired_is_crit() {
        assert_eq!(expiry_status(31), Status::Ok);
        assert_eq!(expiry_status(30), Status::Warn);
        assert_eq!(expiry_status(8), Status::Warn);
        assert_eq!(expiry_status(7), Status::Crit);
        assert_eq!(expiry_status(0), Status::Crit);
        assert_eq!(expiry_status(-3), Status::Crit);
    }

    #[test]
    fn serials_read_as_openssl_prints_them_without_the_der_sign_byte() {
        // A 19-byte serial whose first byte has the high bit set is 20
        // bytes in DER (seen from `openssl x509 -CAcreateserial`:
        // openssl printed serial=AD89…, we had printed 00:ad:89:…).
        assert_eq!(serial_hex(&[0x00, 0xad, 0x89, 0x56]), "ad:89:56");
        assert_eq!(serial_hex(&[0x0a, 0x01]), "0a:01");
        assert_eq!(serial_hex(&[0x00]), "00");
    }
}
