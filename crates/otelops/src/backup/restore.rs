//! A restore: planned against the target directory first (what would be
//! added, changed, left alone, or would replace a newer file), refused
//! whole when a newer file is in the way, then applied file by file with
//! `secret_file::write_atomic` and the backup's modes and mtimes.

use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use super::archive::{Entry, sha256_hex, target};
use super::{BackupError, io_err};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChangeKind {
    /// Not there before.
    Added,
    /// There, older than the backup's, with other content or mode.
    Changed,
    /// There with the same content and mode; not rewritten.
    Unchanged,
    /// There and newer than the backup's; replaced because of --force.
    ReplacedNewer,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Added => "added",
            ChangeKind::Changed => "changed",
            ChangeKind::Unchanged => "unchanged",
            ChangeKind::ReplacedNewer => "replaced-newer",
        }
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Change {
    pub path: PathBuf,
    pub kind: ChangeKind,
    /// Octal, as `ls -l` users read it: "0600".
    pub mode: String,
}

fn mtime_secs(meta: &std::fs::Metadata) -> u64 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs())
}

fn plan_one(entry: &Entry, path: &Path) -> Result<ChangeKind, BackupError> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(ChangeKind::Added),
        Err(e) => return Err(io_err(path)(e)),
    };
    if !meta.is_file() {
        return Err(io_err(path)(std::io::Error::other(
            "not a regular file; the backup's file cannot replace it",
        )));
    }
    let same_mode = meta.permissions().mode() & 0o777 == entry.mode;
    if same_mode && std::fs::read(path).map_err(io_err(path))? == entry.bytes {
        return Ok(ChangeKind::Unchanged);
    }
    Ok(if mtime_secs(&meta) > entry.mtime {
        ChangeKind::ReplacedNewer
    } else {
        ChangeKind::Changed
    })
}

pub fn apply_to(entries: &[&Entry], to: &Path, force: bool) -> Result<Vec<Change>, BackupError> {
    let mut planned = Vec::with_capacity(entries.len());
    for entry in entries {
        let path = target(to, entry);
        let kind = plan_one(entry, &path)?;
        planned.push((*entry, path, kind));
    }
    let newer: Vec<String> = planned
        .iter()
        .filter(|(_, _, k)| *k == ChangeKind::ReplacedNewer)
        .map(|(e, _, _)| e.path.clone())
        .collect();
    if !force && !newer.is_empty() {
        return Err(BackupError::NewerFiles {
            to: to.to_owned(),
            files: newer,
        });
    }
    let mut changes = Vec::with_capacity(planned.len());
    for (entry, path, kind) in planned {
        if kind != ChangeKind::Unchanged {
            write_one(entry, &path)?;
        }
        changes.push(Change {
            path,
            kind,
            mode: format!("{:04o}", entry.mode),
        });
    }
    Ok(changes)
}

fn write_one(entry: &Entry, path: &Path) -> Result<(), BackupError> {
    if let Some(parent) = path.parent() {
        // A directory that will hold a private file is private too.
        let dir_mode = if entry.mode & 0o077 == 0 {
            0o700
        } else {
            0o755
        };
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(dir_mode)
            .create(parent)
            .map_err(io_err(parent))?;
    }
    crate::secret_file::write_atomic(path, &entry.bytes, entry.mode).map_err(io_err(path))?;
    // The backup's mtime, so a later restore can tell an edited file (newer)
    // from one this restore wrote. Owners may set times on a read-only fd.
    std::fs::File::open(path)
        .and_then(|f| f.set_modified(UNIX_EPOCH + Duration::from_secs(entry.mtime)))
        .map_err(io_err(path))
}

/// Reads every restored file back: content and mode as in the backup.
pub fn read_back(entries: &[&Entry], to: &Path) -> Result<(), BackupError> {
    for entry in entries {
        let path = target(to, entry);
        let bytes = std::fs::read(&path).map_err(io_err(&path))?;
        let mode = std::fs::metadata(&path)
            .map_err(io_err(&path))?
            .permissions()
            .mode()
            & 0o777;
        if bytes != entry.bytes || mode != entry.mode {
            return Err(BackupError::Checksum {
                path: to.to_owned(),
                entry: format!("{} (mode {mode:04o})", entry.path),
                expected: sha256_hex(&entry.bytes),
                actual: sha256_hex(&bytes),
            });
        }
    }
    Ok(())
}
