//! Monthly: tokens and certificates due for rotation, version update
//! check, documentation review (the runbook), security audit.

use std::time::Duration;

use super::{Check, Inputs, Status, runbook};
use crate::certs::inspect::inspect_file;
use crate::monitor;

pub async fn checks(inputs: &Inputs) -> Vec<Check> {
    vec![
        rotation_check(inputs),
        version_check(inputs).await,
        runbook::check(&inputs.runbook),
        audit_check(inputs),
    ]
}

fn rotation_check(inputs: &Inputs) -> Check {
    const ID: &str = "monthly.rotation";
    const TASK: &str = "Rotate tokens and certificates";
    if inputs.certs.is_empty() && inputs.ingest_token_files.is_empty() {
        return Check::skipped(ID, TASK, "no --cert FILE or --ingest-token-file FILE given");
    }
    let mut check = Check::new(ID, TASK);
    for path in &inputs.certs {
        match inspect_file(path, None, inputs.now) {
            Ok(r) => {
                let text = format!(
                    "{}: {} expires {} ({} days left)",
                    path.display(),
                    r.cert.subject,
                    r.cert.not_after,
                    r.cert.days_left
                );
                let expiry = crate::certs::inspect::expiry_status(r.cert.days_left);
                if expiry == monitor::Status::Ok {
                    check.ok(text);
                } else {
                    check.finding(
                        expiry.into(),
                        text,
                        format!(
                            "renew {}: otelops certs rotate --dir {}",
                            path.display(),
                            path.parent()
                                .map(|p| p.display().to_string())
                                .unwrap_or_else(|| ".".into())
                        ),
                    );
                    check.kinds.push(format!("{} due", path.display()));
                }
            }
            Err(e) => check.finding(
                Status::Unknown,
                format!("{}: {e}", path.display()),
                format!(
                    "give a readable PEM certificate instead of {}",
                    path.display()
                ),
            ),
        }
    }
    for path in &inputs.ingest_token_files {
        token_age(&mut check, path, inputs);
    }
    check
}

/// A token file's age is its modification time: `otelops token rotate`
/// rewrites it.
fn token_age(check: &mut Check, path: &std::path::Path, inputs: &Inputs) {
    let tokens = match crate::token::file::read_tokens(path) {
        Ok(t) => t,
        Err(e) => {
            check.finding(
                Status::Unknown,
                format!("{}: {e}", path.display()),
                "give a token file written by otelops token",
            );
            return;
        }
    };
    let age = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|m| inputs.now.duration_since(m).ok())
        .unwrap_or(Duration::ZERO);
    let days = age.as_secs() / 86_400;
    let text = format!(
        "{}: {} token(s), last rotated {days} days ago",
        path.display(),
        tokens.len()
    );
    if age > inputs.token_max_age {
        check.finding(
            Status::Warn,
            format!(
                "{text} (policy: every {} days)",
                inputs.token_max_age.as_secs() / 86_400
            ),
            format!("otelops token rotate --file {}", path.display()),
        );
        check.kinds.push(format!("{} due", path.display()));
    } else {
        check.ok(text);
    }
}

async fn version_check(inputs: &Inputs) -> Check {
    let mut check = Check::new("monthly.version", "Check for collector updates");
    let v = match crate::version::check(&inputs.version, &inputs.client.without_token()).await {
        Ok(v) => v,
        Err(e) => {
            check.finding(Status::Unknown, e.to_string(), "fix the input it names");
            return check;
        }
    };
    match &v.running {
        Some(r) => check.ok(format!(
            "running: {} {}",
            r.service_name.as_deref().unwrap_or("collector"),
            r.version
        )),
        None => check.ok(format!(
            "running version unknown: {}",
            v.running_error.as_deref().unwrap_or("-")
        )),
    }
    if let Some(p) = &v.pinned {
        check.ok(format!("pinned: {p}"));
    }
    for s in &v.sdks {
        check.ok(format!(
            "{}: {} {} {}",
            s.service, s.name, s.language, s.version
        ));
    }
    match (v.target, v.update_available) {
        (None, _) => check.finding(
            Status::Unknown,
            "no release to compare with",
            "give --target vX.Y.Z or --releases FILE (nothing is fetched)",
        ),
        (Some(t), Some(true)) => {
            check.finding(
                Status::Warn,
                format!("{t} is newer than what runs"),
                format!(
                    "upgrade to {t}: otelops version --target {t} prints the steps (staging first)"
                ),
            );
            check.kinds.push(format!("update {t}"));
        }
        (Some(t), _) => check.ok(format!("{t} is not newer: up to date")),
    }
    check
}

fn audit_check(inputs: &Inputs) -> Check {
    const ID: &str = "monthly.audit";
    const TASK: &str = "Security audit";
    let Some(config) = &inputs.config else {
        return Check::skipped(ID, TASK, "no --config FILE to audit");
    };
    let audit_inputs = super::audit_inputs(inputs, config.clone());
    let mut check = super::audit_check(ID, TASK, crate::audit::security(&audit_inputs));
    let production = super::audit_check(ID, TASK, crate::audit::production(&audit_inputs));
    check.status = check.status.max(production.status);
    check.evidence.extend(production.evidence);
    check
        .action
        .extend(production.action.into_iter().filter(|a| !a.is_empty()));
    check.kinds.extend(production.kinds);
    check
}
