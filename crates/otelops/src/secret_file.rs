//! Writing files that hold secrets (keys, tokens, passphrases): atomically and
//! with a fixed mode, so a reader — the collector watching its token file, a
//! pod's mounted Secret, an operator — sees the old content or the new, never
//! a half-written file, and the secret is never readable by others, not even
//! for the moment between create and chmod.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Writes `bytes` to `path` atomically with permission bits `mode`: a temporary
/// file in the same directory (created with `mode`, so never wider), write,
/// fsync, rename over `path`, fsync the directory. On error `path` is unchanged
/// and the temporary file is removed. A file being replaced keeps its owner and
/// group (the collector runs as its own user and must still read it).
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path.file_name().ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("{}: not a file path", path.display()),
        )
    })?;
    // A dot-name in the same directory: rename(2) is atomic only within one
    // filesystem, and the leading dot keeps globbing readers off it.
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".tmp-{}", std::process::id()));
    let tmp = dir.join(tmp_name);
    let owner = match std::fs::metadata(path) {
        Ok(m) => Some((m.uid(), m.gid())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)?;
        // The umask may have narrowed `mode`; set it exactly.
        file.set_permissions(std::fs::Permissions::from_mode(mode))?;
        // Before the rename: a watcher never sees the file with the wrong owner.
        if let Some((uid, gid)) = owner {
            let m = file.metadata()?;
            if (m.uid(), m.gid()) != (uid, gid) {
                std::os::unix::fs::fchown(&file, Some(uid), Some(gid))?;
            }
        }
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp, path)?;
        File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_file_with_the_given_mode_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ingest.token");
        std::fs::write(&path, "old\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        write_atomic(&path, b"new\n", 0o600).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new\n");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["ingest.token"]);
    }

    /// Needs root to hand the file to another user first (the tests run as
    /// root here, as the container tests do).
    #[test]
    fn a_replaced_file_keeps_its_owner_and_group() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ingest.token");
        std::fs::write(&path, "old\n").unwrap();
        std::os::unix::fs::chown(&path, Some(65532), Some(65533))
            .expect("chown (the unit tests run as root)");
        write_atomic(&path, b"new\n", 0o600).unwrap();
        let m = std::fs::metadata(&path).unwrap();
        assert_eq!((m.uid(), m.gid()), (65532, 65533));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new\n");
    }

    #[test]
    fn a_missing_directory_is_an_error_and_creates_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("absent").join("t");
        assert!(write_atomic(&path, b"x", 0o600).is_err());
        assert!(!path.exists());
    }
}
