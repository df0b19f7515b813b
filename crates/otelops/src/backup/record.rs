//! The backups record: one JSON line per `create` or `verify` run, in
//! `otelops-backups.jsonl` next to the backup. `otelops audit` reads it for
//! "backup made and restore-tested within N days".

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

pub const RECORD_FILE: &str = "otelops-backups.jsonl";

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Event {
    Create,
    Verify,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Record {
    pub event: Event,
    pub path: String,
    /// RFC 3339, UTC.
    pub at: String,
    pub ok: bool,
}

/// Appends one line; the backup's path is made absolute so the record names
/// it wherever the audit runs from.
pub fn append(backup: &Path, event: Event, ok: bool) -> std::io::Result<()> {
    let absolute = std::path::absolute(backup)?;
    let dir = absolute
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_owned);
    let record = Record {
        event,
        path: absolute.display().to_string(),
        at: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
        ok,
    };
    let mut line = serde_json::to_string(&record).map_err(std::io::Error::other)?;
    line.push('\n');
    // O_APPEND and one write: concurrent runs do not interleave lines.
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(RECORD_FILE))?
        .write_all(line.as_bytes())
}
