//! Where a scenario leaves what it saw: every metrics page it scraped
//! (`NNN-<label>.prom`, a time series), the collector logs and rendered
//! configs, so a failure can be read afterwards.
//! Directory: `$PARKER_TEST_ARTIFACTS/<scenario>/` (default `target/test-artifacts`).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

#[derive(Clone, Debug)]
pub struct Artifacts {
    dir: PathBuf,
    next: Arc<AtomicUsize>,
    started: std::time::Instant,
}

impl Artifacts {
    /// A fresh (emptied) directory for `scenario`.
    pub fn new(scenario: &str) -> Artifacts {
        let root = std::env::var_os("PARKER_TEST_ARTIFACTS")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/test-artifacts")
            });
        let dir = root.join(scenario);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)
            .unwrap_or_else(|e| panic!("cannot create artifacts dir {}: {e}", dir.display()));
        // Canonical, so messages and saved commands show a clean path.
        let dir = dir.canonicalize().unwrap_or(dir);
        Artifacts {
            dir,
            next: Arc::new(AtomicUsize::new(1)),
            started: std::time::Instant::now(),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Saves one scraped page as the next `NNN-<label>.prom`.
    pub fn save_page(&self, label: &str, text: &str) -> PathBuf {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let path = self.dir.join(format!("{n:03}-{label}.prom"));
        self.note(&format!(
            "scraped {}",
            path.file_name().unwrap_or_default().display()
        ));
        std::fs::write(&path, text)
            .unwrap_or_else(|e| panic!("cannot write artifact {}: {e}", path.display()));
        path
    }

    /// Appends `+<seconds>s <msg>` to `timeline.txt`: what the scenario did
    /// when, to line up with the numbered metric pages and collector logs.
    pub fn note(&self, msg: &str) {
        use std::io::Write;
        let path = self.dir.join("timeline.txt");
        let line = format!("+{:.3}s {msg}\n", self.started.elapsed().as_secs_f64());
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut f| f.write_all(line.as_bytes()));
        if let Err(e) = written {
            panic!("cannot write {}: {e}", path.display());
        }
    }

    /// Saves any text (command output, notes).
    pub fn save(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.join(name);
        std::fs::write(&path, text)
            .unwrap_or_else(|e| panic!("cannot write artifact {}: {e}", path.display()));
        path
    }
}
