//! The backup item: `otelops backup create` and `backup verify` append one
//! JSON line per run to `<backup dir>/otelops-backups.jsonl`; the newest
//! successful backup must be younger than the limit and restore-tested
//! (a successful verify of the same file, after it was made).

use std::path::Path;
use std::time::{Duration, SystemTime};

use serde::Deserialize;

use super::Item;

pub const RECORD: &str = "otelops-backups.jsonl";

#[derive(Debug, Deserialize)]
struct Record {
    event: String,
    path: String,
    at: String,
    ok: bool,
}

pub fn recent_backup(dir: &Path, max_age: Duration, now: SystemTime) -> Item {
    let days = max_age.as_secs_f64() / 86_400.0;
    let mut item = Item::new("backups", "A backup was made and restore-tested recently");
    let fix = format!(
        "otelops backup create --out {}/… then otelops backup verify PATH (at least every {days:.0} days)",
        dir.display()
    );
    let file = dir.join(RECORD);
    let text = match std::fs::read_to_string(&file) {
        Ok(t) => t,
        Err(e) => {
            item.crit(format!("{}: {e}: no backup on record", file.display()), fix);
            return item;
        }
    };
    let mut records = Vec::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let parsed = serde_json::from_str::<Record>(line)
            .map_err(|e| e.to_string())
            .and_then(|r| {
                humantime::parse_rfc3339_weak(&r.at)
                    .map(|t| (r, t))
                    .map_err(|e| format!("at: {e}"))
            });
        match parsed {
            Ok(r) => records.push(r),
            Err(e) => item.warn(
                format!("{}:{}: not a backup record: {e}", file.display(), i + 1),
                "leave the record to otelops backup",
            ),
        }
    }
    let age = |t: SystemTime| now.duration_since(t).unwrap_or_default();
    let newest = |event: &str, path: Option<&str>| {
        records
            .iter()
            .filter(|(r, _)| r.event == event && r.ok && path.is_none_or(|p| p == r.path))
            .max_by_key(|(_, t)| *t)
    };
    let Some((created, made)) = newest("create", None) else {
        item.crit(
            format!("{}: no successful backup create", file.display()),
            fix,
        );
        return item;
    };
    let show = |t: SystemTime| humantime::format_rfc3339_seconds(t).to_string();
    if age(*made) > max_age {
        item.crit(
            format!(
                "newest backup {} made {} ({:.1} days ago, limit {days:.0})",
                created.path,
                show(*made),
                age(*made).as_secs_f64() / 86_400.0
            ),
            &fix,
        );
    } else {
        item.ok(format!("backup {} made {}", created.path, show(*made)));
    }
    match newest("verify", Some(&created.path)) {
        Some((_, verified)) if verified >= made && age(*verified) <= max_age => {
            item.ok(format!("restore-tested {}", show(*verified)))
        }
        _ => {
            let failed = records
                .iter()
                .any(|(r, t)| r.event == "verify" && !r.ok && r.path == created.path && t >= made);
            let why = if failed {
                "its verify failed"
            } else {
                "never verified since it was made"
            };
            item.crit(format!("backup {}: {why}", created.path), fix);
        }
    }
    item
}
