//! Certificates: the receivers' `cert_file`s and any `--cert` are valid
//! now and not near expiry (WARN at ≤ 30 days left, CRIT at ≤ 7 days,
//! expired or not yet valid).

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::config_rules::listeners;
use super::sources::Sources;
use super::{Item, Status};
use crate::collector_config::document::Node;

const FIX: &str = "otelops certs rotate --dir DIR (or renew the certificate), then check again";

pub fn certificates(src: &Sources, extra: &[PathBuf], now: SystemTime) -> Item {
    let mut item = Item::new("certificates", "Certificates valid and not near expiry");
    let mut files: Vec<(PathBuf, String)> = Vec::new();
    for l in listeners(src) {
        let Some(raw) = l
            .settings
            .and_then(|s| s.path(&["tls", "cert_file"]))
            .and_then(Node::as_str)
        else {
            continue;
        };
        match src.resolve(raw) {
            Some(r) => {
                let how = r.origin.map(|o| format!(" ({o})")).unwrap_or_default();
                files.push((r.value.into(), format!("{}{how}", l.at())));
            }
            None => item.warn(
                format!(
                    "{}: cert_file {raw}: the variable is not set where the audit can see",
                    l.at()
                ),
                "pass the collector's --env-file or --pid, or the certificate with --cert",
            ),
        }
    }
    files.extend(extra.iter().map(|p| (p.clone(), "--cert".to_owned())));
    files.sort();
    files.dedup_by(|a, b| a.0 == b.0);
    for (path, why) in files {
        match check_certificate(&path, now) {
            Ok((Status::Ok, evidence)) => {
                item.ok(format!("{}: {evidence} [{why}]", path.display()))
            }
            Ok((status, evidence)) => item.finding(
                status,
                format!("{}: {evidence} [{why}]", path.display()),
                FIX,
            ),
            Err(e) => item.crit(format!("{}: {e} [{why}]", path.display()), FIX),
        }
    }
    if item.evidence.is_empty() {
        item.warn(
            "no certificate to check: no receiver has tls.cert_file and no --cert was given",
            "give the receivers TLS, or pass --cert FILE",
        );
    }
    item
}

/// The expiry status of `days_left` (the `certs check` thresholds).
pub fn expiry_status(days_left: i64) -> Status {
    match days_left {
        d if d <= 7 => Status::Crit,
        d if d <= 30 => Status::Warn,
        _ => Status::Ok,
    }
}

// LEAD: replace with certs::inspect_file after merge
/// The first certificate of a PEM file: its subject and the days it has
/// left, judged by [`expiry_status`]; not yet valid is CRIT.
pub fn check_certificate(path: &Path, now: SystemTime) -> Result<(Status, String), String> {
    let data = std::fs::read(path).map_err(|e| format!("cannot read: {e}"))?;
    let pem = x509_parser::pem::Pem::iter_from_buffer(&data)
        .next()
        .ok_or("no PEM certificate in the file")?
        .map_err(|e| format!("not PEM: {e}"))?;
    let cert = pem
        .parse_x509()
        .map_err(|e| format!("not an X.509 certificate: {e}"))?;
    let now = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let validity = cert.validity();
    let subject = cert.subject().to_string();
    if validity.not_before.timestamp() > now {
        return Ok((
            Status::Crit,
            format!("{subject}: not valid before {}", validity.not_before),
        ));
    }
    let days_left = (validity.not_after.timestamp() - now).div_euclid(86_400);
    let evidence = if days_left < 0 {
        format!("{subject}: expired {}", validity.not_after)
    } else {
        format!(
            "{subject}: {days_left} days left (until {})",
            validity.not_after
        )
    };
    Ok((expiry_status(days_left), evidence))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_are_the_certs_check_ones() {
        assert_eq!(expiry_status(31), Status::Ok);
        assert_eq!(expiry_status(30), Status::Warn);
        assert_eq!(expiry_status(8), Status::Warn);
        assert_eq!(expiry_status(7), Status::Crit);
        assert_eq!(expiry_status(-1), Status::Crit);
    }
}
