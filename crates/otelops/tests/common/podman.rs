//! podman for the container-image tests: finds the binary, runs it with the
//! repository's `deploy/docker/podman/containers.conf` against a storage
//! root of the test's own under `target/` and a runroot in the temp dir (so
//! nothing collides with other podman users and nothing is written to /etc
//! or /var/lib/containers),
//! builds the collector and service images the way `deploy/docker/README.md`
//! says, and removes every container and image it made, also when a test
//! fails.
#![allow(dead_code)] // each test crate uses a different subset

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use crate::common::{otelcol_parker, repo_root, run_bounded};

/// podman: `PODMAN`, then PATH; `None` when it is not installed.
pub fn find() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("PODMAN").filter(|v| !v.is_empty()) {
        let path = PathBuf::from(path);
        assert!(
            path.is_file(),
            "podman not found at {} (PODMAN is wrong): run ./scripts/test, which installs podman",
            path.display()
        );
        return Some(path);
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("podman"))
            .find(|p| p.is_file())
    })
}

/// A podman with a storage root of its own; dropping it removes every
/// container and image it holds, then the root.
pub struct Podman {
    bin: PathBuf,
    // Under target/tmp: images are ~40 MB and /tmp may be small.
    storage: tempfile::TempDir,
    // In the system temp dir: podman refuses a runroot path longer than 50
    // characters, which target/tmp is in a deep checkout. It holds only
    // locks and sockets.
    runroot: tempfile::TempDir,
}

impl Podman {
    pub fn new(bin: PathBuf) -> Podman {
        let storage = tempfile::Builder::new()
            .prefix("podman-")
            .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
            .expect("a podman storage root under target/tmp");
        let runroot = tempfile::Builder::new()
            .prefix("podman-run-")
            .tempdir()
            .expect("a podman runroot in the temp dir");
        Podman {
            bin,
            storage,
            runroot,
        }
    }

    /// `podman --root … --runroot …` with the repository's containers.conf.
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.env(
            "CONTAINERS_CONF",
            repo_root().join("deploy/docker/podman/containers.conf"),
        )
        .arg("--root")
        .arg(self.storage.path().join("root"))
        .arg("--runroot")
        .arg(self.runroot.path());
        cmd
    }

    /// `podman ARGS…` (≤ 2 min) whatever its exit status.
    pub fn output<S: AsRef<OsStr>>(&self, args: &[S]) -> Output {
        run_bounded(self.command().args(args), Duration::from_secs(120))
    }

    /// `podman ARGS…`; fails the test with podman's stderr unless it
    /// succeeds. Returns stdout.
    pub fn run<S: AsRef<OsStr>>(&self, args: &[S]) -> String {
        let out = self.output(args);
        let shown: Vec<_> = args.iter().map(|a| a.as_ref().to_string_lossy()).collect();
        assert!(
            out.status.success(),
            "podman {} failed ({}):\n{}",
            shown.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The README's build: `scripts/collector-image-context DIR` (with the
    /// collector under test as `OTELCOL_PARKER`), then `podman build -t TAG DIR`.
    pub fn build_collector_image(&self, tag: &str) {
        let context = self.storage.path().join("collector-image");
        let mut script = Command::new(repo_root().join("scripts/collector-image-context"));
        script.arg(&context).env("OTELCOL_PARKER", otelcol_parker());
        self.build_from_script(script, &context, tag);
    }

    /// deploy/docker/README.md's build of a service image:
    /// `scripts/service-image-context SERVICE DIR BINARY`, then `podman
    /// build -t TAG DIR`.
    pub fn build_service_image(&self, service: &str, binary: &Path, tag: &str) {
        let context = self.storage.path().join(format!("{service}-image"));
        let mut script = Command::new(repo_root().join("scripts/service-image-context"));
        script.arg(service).arg(&context).arg(binary);
        self.build_from_script(script, &context, tag);
    }

    /// Runs a context script that fills `context` and prints it last, then
    /// `podman build -t TAG CONTEXT`.
    fn build_from_script(&self, mut script: Command, context: &Path, tag: &str) {
        let out = run_bounded(&mut script, Duration::from_secs(120));
        assert!(
            out.status.success(),
            "{script:?} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let printed = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            printed.lines().last().map(Path::new),
            Some(context),
            "the script prints the context directory last"
        );
        self.run(&[
            OsStr::new("build"),
            "-t".as_ref(),
            tag.as_ref(),
            context.as_ref(),
        ]);
    }

    /// `podman run -d --name NAME ARGS…`; the container is removed when the
    /// returned guard drops.
    pub fn start<S: AsRef<OsStr>>(&self, name: &str, args: &[S]) -> Container<'_> {
        let mut all: Vec<&OsStr> = vec!["run".as_ref(), "-d".as_ref(), "--name".as_ref()];
        all.push(name.as_ref());
        all.extend(args.iter().map(AsRef::as_ref));
        self.run(&all);
        Container {
            podman: self,
            name: name.to_owned(),
        }
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        // Best effort: the storage root is removed next whatever happens.
        let _ = self.output(&["rm", "--all", "--force", "--time", "0"]);
        let _ = self.output(&["rmi", "--all", "--force"]);
    }
}

/// A running container; dropping it stops (SIGTERM, then SIGKILL after 5 s)
/// and removes it, so the next test finds its ports free.
pub struct Container<'a> {
    podman: &'a Podman,
    name: String,
}

impl Container<'_> {
    /// What the container printed so far (the collector logs to stderr).
    pub fn logs(&self) -> String {
        let out = self.podman.output(&["logs", &self.name]);
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    }

    /// `running`, `exited`, … as `podman inspect` reports it.
    pub fn state(&self) -> String {
        self.podman
            .run(&["inspect", "--format", "{{.State.Status}}", &self.name])
            .trim()
            .to_owned()
    }

    /// `podman stop --time SECS NAME` (SIGTERM, SIGKILL after SECS, as the
    /// kubelet does after terminationGracePeriodSeconds); returns the
    /// container's exit code.
    pub fn stop(&self, secs: u64) -> i64 {
        self.podman
            .run(&["stop", "--time", &secs.to_string(), &self.name]);
        let code = self
            .podman
            .run(&["inspect", "--format", "{{.State.ExitCode}}", &self.name]);
        code.trim()
            .parse()
            .unwrap_or_else(|e| panic!("exit code {code:?}: {e}"))
    }

    /// `podman top NAME ARGS…` (ps descriptors such as `user`, `args`).
    pub fn top(&self, descriptors: &[&str]) -> String {
        let mut args = vec!["top", self.name.as_str()];
        args.extend(descriptors);
        self.podman.run(&args)
    }
}

impl Drop for Container<'_> {
    fn drop(&mut self) {
        let _ = self
            .podman
            .output(&["rm", "--force", "--time", "5", &self.name]);
    }
}
