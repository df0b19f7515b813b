//! The tar entries of a backup and its manifest: collected from directories,
//! written in a deterministic form, read back with every entry checked.
//!
//! Deterministic: entries sorted by path, the manifest first, owner 0:0 and
//! no user names, the files' own modes and mtimes (restore needs them), a
//! gzip header without name or time — the same files give the same bytes.

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};
use std::time::UNIX_EPOCH;

use super::{BackupError, io_err};

/// `sha256sum -c`-compatible: `<hex>  <path>` for every other entry.
pub const MANIFEST: &str = "MANIFEST.sha256";

/// One file of a backup; `path` is relative, `/`-separated, starting with
/// the name of the directory it was collected from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub path: String,
    pub mode: u32,
    pub mtime: u64,
    pub bytes: Vec<u8>,
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, bytes)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn dir_name(dir: &Path) -> Result<String, BackupError> {
    // canonicalize so `--certs .` is named after the directory itself.
    let canonical = dir.canonicalize().map_err(io_err(dir))?;
    canonical
        .file_name()
        .and_then(|n| n.to_str())
        .map(str::to_owned)
        .ok_or_else(|| BackupError::NotRegular(dir.to_owned()))
}

/// Every directory goes into the archive under its own name, so the names
/// must differ.
pub fn check_distinct_names(dirs: &[&Path]) -> Result<(), BackupError> {
    let mut seen: Vec<(String, &Path)> = Vec::new();
    for dir in dirs {
        let name = dir_name(dir)?;
        if let Some((_, first)) = seen.iter().find(|(n, _)| *n == name) {
            return Err(BackupError::NameClash {
                a: first.to_path_buf(),
                b: dir.to_path_buf(),
                name,
            });
        }
        seen.push((name, dir));
    }
    Ok(())
}

/// The regular files under `dir`, as entries under `dir`'s name.
pub fn collect(dir: &Path) -> Result<Vec<Entry>, BackupError> {
    let mut out = Vec::new();
    walk(dir, &dir_name(dir)?, &mut out)?;
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

fn walk(dir: &Path, prefix: &str, out: &mut Vec<Entry>) -> Result<(), BackupError> {
    for item in std::fs::read_dir(dir).map_err(io_err(dir))? {
        let item = item.map_err(io_err(dir))?;
        let path = item.path();
        let name = item
            .file_name()
            .into_string()
            .map_err(|_| BackupError::NotRegular(path.clone()))?;
        let rel = format!("{prefix}/{name}");
        // symlink_metadata: a link is refused, never followed out of the tree.
        let meta = std::fs::symlink_metadata(&path).map_err(io_err(&path))?;
        if meta.is_dir() {
            walk(&path, &rel, out)?;
        } else if meta.is_file() {
            let bytes = std::fs::read(&path).map_err(io_err(&path))?;
            let mtime = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_secs());
            out.push(Entry {
                path: rel,
                mode: meta.permissions().mode() & 0o777,
                mtime,
                bytes,
            });
        } else {
            return Err(BackupError::NotRegular(path));
        }
    }
    Ok(())
}

fn manifest_text(entries: &[Entry]) -> String {
    entries
        .iter()
        .map(|e| format!("{}  {}\n", sha256_hex(&e.bytes), e.path))
        .collect()
}

/// A tar of the manifest and `entries` (sorted by path).
pub fn write_tar(entries: &[Entry]) -> Vec<u8> {
    let mut sorted: Vec<&Entry> = entries.iter().collect();
    sorted.sort_by(|a, b| a.path.cmp(&b.path));
    let manifest = Entry {
        path: MANIFEST.to_owned(),
        mode: 0o644,
        mtime: entries.iter().map(|e| e.mtime).max().unwrap_or(0),
        bytes: manifest_text(entries).into_bytes(),
    };
    let mut builder = tar::Builder::new(Vec::new());
    for e in std::iter::once(&manifest).chain(sorted) {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_mode(e.mode);
        header.set_mtime(e.mtime);
        header.set_uid(0);
        header.set_gid(0);
        header.set_size(e.bytes.len() as u64);
        // Writing into a Vec cannot fail; append_data also writes GNU long
        // names for paths over 100 bytes.
        builder
            .append_data(&mut header, &e.path, e.bytes.as_slice())
            .expect("a tar written into memory");
    }
    builder.into_inner().expect("a tar written into memory")
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    // GzBuilder's defaults: no file name, mtime 0 — reproducible.
    let mut enc = flate2::GzBuilder::new().write(Vec::new(), flate2::Compression::best());
    enc.write_all(bytes).expect("gzip into memory");
    enc.finish().expect("gzip into memory")
}

pub fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b])
}

pub fn gunzip(bytes: &[u8], path: &Path) -> Result<Vec<u8>, BackupError> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .map_err(|e| BackupError::Damaged {
            path: path.to_owned(),
            detail: format!("gzip: {e}"),
        })?;
    Ok(out)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Manifest {
    Required,
    /// A tar made by hand (the guide's `tar | gpg` line) has none.
    IfPresent,
}

/// The file entries of a tar, checked against its manifest; the manifest
/// itself is not returned. Directories are implied by the files' paths.
pub fn read_tar(bytes: &[u8], path: &Path, manifest: Manifest) -> Result<Vec<Entry>, BackupError> {
    let damaged = |e: std::io::Error| BackupError::Damaged {
        path: path.to_owned(),
        detail: format!("tar: {e}"),
    };
    let bad = |entry: &str, why| BackupError::BadEntry {
        path: path.to_owned(),
        entry: entry.to_owned(),
        why,
    };
    let mut archive = tar::Archive::new(bytes);
    let mut files = Vec::new();
    let mut listed = None;
    for entry in archive.entries().map_err(damaged)? {
        let mut entry = entry.map_err(damaged)?;
        let raw = entry.path().map_err(damaged)?.into_owned();
        let shown = raw.display().to_string();
        let rel =
            safe_relative(&raw).ok_or_else(|| bad(&shown, "absolute, or leads out with .."))?;
        match entry.header().entry_type() {
            tar::EntryType::Directory => continue,
            tar::EntryType::Regular | tar::EntryType::Continuous => {}
            _ => {
                return Err(bad(
                    &shown,
                    "not a regular file (links and devices are not restored)",
                ));
            }
        }
        let mode = entry.header().mode().map_err(damaged)? & 0o777;
        let mtime = entry.header().mtime().map_err(damaged)?;
        let mut data = Vec::new();
        entry.read_to_end(&mut data).map_err(damaged)?;
        if rel == MANIFEST {
            listed = Some(parse_manifest(&data, path)?);
            continue;
        }
        files.push(Entry {
            path: rel,
            mode,
            mtime,
            bytes: data,
        });
    }
    if files.is_empty() && listed.is_none() {
        return Err(BackupError::Damaged {
            path: path.to_owned(),
            detail: "tar: no files".to_owned(),
        });
    }
    match (listed, manifest) {
        (Some(listed), _) => check_manifest(&files, &listed, path)?,
        (None, Manifest::Required) => return Err(BackupError::NoManifest(path.to_owned())),
        (None, Manifest::IfPresent) => {}
    }
    Ok(files)
}

/// `a/./b` → `a/b`; `None` for an absolute path or one with `..`.
fn safe_relative(raw: &Path) -> Option<String> {
    let mut parts = Vec::new();
    for c in raw.components() {
        match c {
            Component::Normal(p) => parts.push(p.to_str()?),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

fn parse_manifest(data: &[u8], path: &Path) -> Result<Vec<(String, String)>, BackupError> {
    let bad = |line, why| BackupError::BadManifest {
        path: path.to_owned(),
        line,
        why,
    };
    let text = std::str::from_utf8(data).map_err(|_| bad(1, "not UTF-8"))?;
    text.lines()
        .enumerate()
        .map(|(i, line)| {
            let (hash, name) = line
                .split_once("  ")
                .ok_or_else(|| bad(i + 1, "expected `<sha256>  <path>`"))?;
            if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(bad(i + 1, "the SHA-256 is not 64 hex digits"));
            }
            Ok((name.to_owned(), hash.to_ascii_lowercase()))
        })
        .collect()
}

fn check_manifest(
    files: &[Entry],
    listed: &[(String, String)],
    path: &Path,
) -> Result<(), BackupError> {
    for (name, expected) in listed {
        let file = files
            .iter()
            .find(|f| &f.path == name)
            .ok_or_else(|| BackupError::Missing {
                path: path.to_owned(),
                entry: name.clone(),
            })?;
        let actual = sha256_hex(&file.bytes);
        if &actual != expected {
            return Err(BackupError::Checksum {
                path: path.to_owned(),
                entry: name.clone(),
                expected: expected.clone(),
                actual,
            });
        }
    }
    if let Some(extra) = files
        .iter()
        .find(|f| !listed.iter().any(|(n, _)| *n == f.path))
    {
        return Err(BackupError::Unlisted {
            path: path.to_owned(),
            entry: extra.path.clone(),
        });
    }
    Ok(())
}

/// Where `entry` lands under `to`.
pub fn target(to: &Path, entry: &Entry) -> PathBuf {
    to.join(&entry.path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str, bytes: &[u8]) -> Entry {
        Entry {
            path: path.to_owned(),
            mode: 0o600,
            mtime: 1_700_000_000,
            bytes: bytes.to_vec(),
        }
    }

    #[test]
    fn a_tar_reads_back_sorted_without_its_manifest() {
        let entries = [entry("certs/z.key", b"z"), entry("certs/a.pem", b"a")];
        let tar = write_tar(&entries);
        let back = read_tar(&tar, Path::new("t"), Manifest::Required).unwrap();
        assert_eq!(back, [entries[1].clone(), entries[0].clone()]);
    }

    #[test]
    fn parent_and_absolute_paths_are_refused() {
        assert_eq!(safe_relative(Path::new("./a/./b")).as_deref(), Some("a/b"));
        assert_eq!(safe_relative(Path::new("a/../../etc/passwd")), None);
        assert_eq!(safe_relative(Path::new("/etc/passwd")), None);
    }
}
