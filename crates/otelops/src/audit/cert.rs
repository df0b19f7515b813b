//! Certificates: the receivers' `cert_file`s and any `--cert` are valid
//! now and not near expiry, by the `otelops certs check` rules
//! (`certs::inspect_file`: WARN at ≤ 30 days left, CRIT at ≤ 7 days or
//! expired).

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::config_rules::listeners;
use super::sources::Sources;
use super::{Item, Status};
use crate::certs;
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

/// The certificate as `otelops certs check` judges it (expiry thresholds,
/// and the key beside it when there is one), as one line of evidence.
fn check_certificate(path: &Path, now: SystemTime) -> Result<(Status, String), String> {
    let report = certs::inspect_file(path, None, now).map_err(|e| e.to_string())?;
    let c = &report.cert;
    let mut evidence = if c.days_left <= 0 {
        format!("{}: expired {}", c.subject, c.not_after)
    } else {
        format!(
            "{}: {} days left (until {})",
            c.subject, c.days_left, c.not_after
        )
    };
    for problem in &report.problems {
        evidence.push_str("; ");
        evidence.push_str(problem);
    }
    Ok((report.status, evidence))
}
