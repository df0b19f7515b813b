//! Writing files that hold secrets (keys, tokens, passphrases): a reader sees
//! either the whole old file or the whole new one, never a torn or
//! world-readable one.

use std::io::Write;
use std::path::Path;

/// Writes `bytes` to `path` atomically with permission bits `mode`: a temporary
/// file in the same directory (created with `mode`, so the secret is never
/// readable by others even for a moment), written, fsynced, renamed over
/// `path`, then the directory fsynced so the rename survives a crash.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".otelops-")
        .permissions(permissions(mode))
        .tempfile_in(dir)?;
    // The umask may have narrowed the creation mode; set exactly `mode`.
    tmp.as_file().set_permissions(permissions(mode))?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(unix)]
fn permissions(mode: u32) -> std::fs::Permissions {
    use std::os::unix::fs::PermissionsExt;
    std::fs::Permissions::from_mode(mode)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn replaces_the_file_whole_with_the_mode_asked_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        std::fs::write(&path, "old").unwrap();
        write_atomic(&path, b"new", 0o600).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["secret"]);
    }
}
