//! `otelops backup`: the collector's configuration as a deterministic
//! `NAME.tar.gz` with a SHA-256 manifest, and its certificates and keys next
//! to it as `NAME.certs.tar.gpg` — a tar encrypted with a passphrase the way
//! the operations guide's `gpg --symmetric --cipher-algo AES256
//! --compress-algo 1 --s2k-mode 3 --s2k-digest-algo SHA512 --s2k-count 65536`
//! does, so `gpg --decrypt` opens it and we open gpg's.
//!
//! Start at [`create`], [`verify`] and [`restore`]. `archive` reads and writes
//! the tar entries and the manifest, `openpgp` the encrypted file (rPGP, no
//! hand-written crypto), `restore` plans a restore against the target and
//! applies it, `record` appends the log `otelops audit` reads.
//!
//! Not for: scheduling, rotation of old backups, or remote storage.

mod archive;
mod openpgp;
mod passphrase;
mod record;
mod restore;

use std::path::{Path, PathBuf};

pub use archive::{MANIFEST, sha256_hex};
pub use passphrase::{Passphrase, PassphraseError, PassphraseSource};
pub use record::{Event, RECORD_FILE, Record};
pub use restore::{Change, ChangeKind};

use archive::Entry;

/// What the archive's name must end with; the certificates file replaces it
/// with [`CERTS_SUFFIX`].
pub const ARCHIVE_SUFFIX: &str = ".tar.gz";
pub const CERTS_SUFFIX: &str = ".certs.tar.gpg";

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{}: a backup's name must end in .tar.gz (the certificates go next to it as NAME.certs.tar.gpg)",
        .0.display()
    )]
    OutName(PathBuf),
    #[error("{}: exists already; a backup is never overwritten, choose another --out", .0.display())]
    Exists(PathBuf),
    #[error("{}: not a regular file or directory (symlinks, sockets and devices are not backed up)", .0.display())]
    NotRegular(PathBuf),
    #[error("{} and {}: both are named {name:?}; their files would collide in the backup", a.display(), b.display())]
    NameClash {
        a: PathBuf,
        b: PathBuf,
        name: String,
    },
    #[error("{}: damaged or truncated ({detail}); nothing restored", path.display())]
    Damaged { path: PathBuf, detail: String },
    #[error("{}: cannot decrypt: wrong passphrase; nothing restored", .0.display())]
    WrongPassphrase(PathBuf),
    #[error(
        "{}: cannot decrypt: wrong passphrase, or the file was changed or truncated ({detail}); nothing restored",
        path.display()
    )]
    Decrypt { path: PathBuf, detail: String },
    #[error("{}: entry {entry:?}: {why}; nothing restored", path.display())]
    BadEntry {
        path: PathBuf,
        entry: String,
        why: &'static str,
    },
    #[error(
        "{}: {entry}: SHA-256 {actual} does not match the manifest's {expected}: the backup was changed after it was made; nothing restored",
        path.display()
    )]
    Checksum {
        path: PathBuf,
        entry: String,
        expected: String,
        actual: String,
    },
    #[error("{}: {entry} is in the manifest but not in the backup; nothing restored", path.display())]
    Missing { path: PathBuf, entry: String },
    #[error("{}: {entry} is in the backup but not in its manifest; nothing restored", path.display())]
    Unlisted { path: PathBuf, entry: String },
    #[error("{}: no {MANIFEST}: not an archive made by `otelops backup create`", .0.display())]
    NoManifest(PathBuf),
    #[error("{}: {MANIFEST} line {line}: {why}", path.display())]
    BadManifest {
        path: PathBuf,
        line: usize,
        why: &'static str,
    },
    #[error(
        "{} file(s) under {} are newer than the backup's: {}; nothing restored (--force replaces them)",
        files.len(), to.display(), files.join(", ")
    )]
    NewerFiles { to: PathBuf, files: Vec<String> },
    #[error("cannot encrypt the certificates: {0}")]
    Encrypt(String),
    #[error(transparent)]
    Passphrase(#[from] PassphraseError),
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> BackupError + '_ {
    move |source| BackupError::Io {
        path: path.to_owned(),
        source,
    }
}

/// The certificates file that belongs to the archive at `archive`.
pub fn certs_path(archive: &Path) -> Result<PathBuf, BackupError> {
    let name = archive
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_suffix(ARCHIVE_SUFFIX))
        .filter(|stem| !stem.is_empty())
        .ok_or_else(|| BackupError::OutName(archive.to_owned()))?;
    Ok(archive.with_file_name(format!("{name}{CERTS_SUFFIX}")))
}

pub struct CreateOptions<'a> {
    /// Each directory goes into the archive under its own name.
    pub config_dirs: &'a [PathBuf],
    pub certs_dir: &'a Path,
    pub out: &'a Path,
    pub passphrase: &'a Passphrase,
}

#[derive(Debug, serde::Serialize)]
pub struct CreateReport {
    pub archive: PathBuf,
    pub config_files: usize,
    pub certs: PathBuf,
    pub certs_files: usize,
}

/// Writes `out` and its certificates file (both 0600, atomically), then
/// appends a `create` record next to them.
pub fn create(opts: &CreateOptions<'_>) -> Result<CreateReport, BackupError> {
    let certs_out = certs_path(opts.out)?;
    for path in [opts.out, certs_out.as_path()] {
        if path.exists() {
            return Err(BackupError::Exists(path.to_owned()));
        }
    }
    let mut roots: Vec<&Path> = opts.config_dirs.iter().map(PathBuf::as_path).collect();
    roots.push(opts.certs_dir);
    archive::check_distinct_names(&roots)?;

    let mut config = Vec::new();
    for dir in opts.config_dirs {
        config.extend(archive::collect(dir)?);
    }
    let certs = archive::collect(opts.certs_dir)?;

    let certs_tar = archive::write_tar(&certs);
    let encrypted = openpgp::encrypt(&certs_tar, opts.passphrase)?;
    let config_gz = archive::gzip(&archive::write_tar(&config));

    // The secrets first: an archive without its certificates file would be a
    // backup that cannot be restored whole.
    crate::secret_file::write_atomic(&certs_out, &encrypted, 0o600).map_err(io_err(&certs_out))?;
    crate::secret_file::write_atomic(opts.out, &config_gz, 0o600).map_err(io_err(opts.out))?;
    record::append(opts.out, Event::Create, true).map_err(io_err(opts.out))?;
    Ok(CreateReport {
        archive: opts.out.to_owned(),
        config_files: config.len(),
        certs: certs_out,
        certs_files: certs.len(),
    })
}

#[derive(Debug, serde::Serialize)]
pub struct VerifyReport {
    pub path: PathBuf,
    pub config_files: usize,
    pub certs_files: usize,
    /// Files written by the trial restore and read back equal.
    pub restored_files: usize,
}

/// Checksums, archive readable, certificates decryptable, nothing missing,
/// then a trial restore into a temporary directory read back against the
/// backup. Appends a `verify` record (ok or not) next to the backup.
pub fn verify(path: &Path, passphrase: &Passphrase) -> Result<VerifyReport, BackupError> {
    let result = verify_inner(path, passphrase);
    // A failed verify must still be on record for the audit; when the record
    // cannot be written either, the verify error is the one to report.
    let recorded = record::append(path, Event::Verify, result.is_ok()).map_err(io_err(path));
    let report = result?;
    recorded?;
    Ok(report)
}

fn verify_inner(path: &Path, passphrase: &Passphrase) -> Result<VerifyReport, BackupError> {
    let backup = load(path, passphrase)?;
    let scratch = tempfile::tempdir().map_err(io_err(Path::new("temporary directory")))?;
    let changes = restore::apply_to(&backup.all(), scratch.path(), true)?;
    restore::read_back(&backup.all(), scratch.path())?;
    Ok(VerifyReport {
        path: path.to_owned(),
        config_files: backup.config.len(),
        certs_files: backup.certs.len(),
        restored_files: changes.len(),
    })
}

/// Restores the backup at `path` (an archive made by `create`, or an
/// encrypted tar alone, such as one made by the guide's `gpg` line) under
/// `to`. Nothing is written until the whole backup has been read, decrypted
/// and checked, and no newer file would be replaced (unless `force`); each
/// file is then replaced atomically with its mode from the backup.
pub fn restore(
    path: &Path,
    passphrase: &Passphrase,
    to: &Path,
    force: bool,
) -> Result<Vec<Change>, BackupError> {
    let backup = load(path, passphrase)?;
    restore::apply_to(&backup.all(), to, force)
}

struct Loaded {
    config: Vec<Entry>,
    certs: Vec<Entry>,
}

impl Loaded {
    fn all(&self) -> Vec<&Entry> {
        self.config.iter().chain(&self.certs).collect()
    }
}

/// Reads and checks the whole backup in memory.
fn load(path: &Path, passphrase: &Passphrase) -> Result<Loaded, BackupError> {
    let bytes = std::fs::read(path).map_err(io_err(path))?;
    if !archive::is_gzip(&bytes) {
        // An encrypted tar on its own: ours has a manifest, gpg's has none.
        let tar = openpgp::decrypt(&bytes, passphrase, path)?;
        let certs = archive::read_tar(&tar, path, archive::Manifest::IfPresent)?;
        return Ok(Loaded {
            config: Vec::new(),
            certs,
        });
    }
    let tar = archive::gunzip(&bytes, path)?;
    let config = archive::read_tar(&tar, path, archive::Manifest::Required)?;
    let certs_file = certs_path(path)?;
    let encrypted = std::fs::read(&certs_file).map_err(io_err(&certs_file))?;
    let certs_tar = openpgp::decrypt(&encrypted, passphrase, &certs_file)?;
    let certs = archive::read_tar(&certs_tar, &certs_file, archive::Manifest::Required)?;
    Ok(Loaded { config, certs })
}
