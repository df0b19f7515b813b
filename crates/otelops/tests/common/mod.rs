//! The one place for otelops's integration-test helpers.
//!
//! This file holds what every group of tests shares: where fixtures, the
//! repository and the external binaries (rotel-agent, otelcol-parker,
//! promtool, parker-booking/parker-fares) are; loopback ports; and running
//! the `otelops` binary (or any child) bounded in time. The helpers of one
//! group live next to it:
//!
//! - `server.rs`: a fake collector (metric pages, health, OTLP, zPages) for
//!   the health, monitor and tune tests;
//! - `check.rs`: a known-good OTLP-JSON request to mutate, for `check_*`;
//! - `config.rs`: deploy paths, `otelcol-parker validate`, the config corpus;
//! - `receive.rs`: the real `otelops receive` as a child, OTLP builders;
//! - `podman.rs`: podman with a storage root of the test's own, the
//!   collector image built as deploy/docker/README.md says;
//! - `telemetry.rs`: parker-telemetry's SDK pipeline configured for a test;
//! - `browser.rs`: headless Chromium over the DevTools protocol (pages as
//!   a person sees them: console errors, plots, screenshots);
//! - `collector/`: the harness around the real `otelcol-parker` (and the
//!   real services and rotel-agent) for the `collector_*` scenarios.
//!
//! Why this shape: every `tests/*.rs` is its own crate, so a `mod common;`
//! that declared all groups would compile the fake collector, the receive
//! client and the collector harness into thirty test binaries. Instead a
//! test says `mod common;` (this small core) and includes only the groups it
//! uses, e.g. `#[path = "common/check.rs"] mod check_support;`; those files
//! reach the core as `crate::common`. Each file still allows dead code: no
//! test binary uses every helper of a file it includes, and splitting files
//! per helper would scatter what belongs together.
#![allow(dead_code)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Whether the collector's health_check extension at `url` answers 200
/// with "Server available" (one try, 2 s); any other 200 body fails the test.
pub async fn health_check_available(client: &reqwest::Client, url: &str) -> bool {
    let reply = client.get(url).timeout(Duration::from_secs(2)).send().await;
    let Ok(reply) = reply else {
        return false;
    };
    if reply.status() != 200 {
        return false;
    }
    let body = reply.text().await.unwrap_or_default();
    assert!(body.contains("Server available"), "{url}: {body}");
    true
}

/// `tests/fixtures/<name>`.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

pub fn fixture_text(name: &str) -> String {
    std::fs::read_to_string(fixture(name)).unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the crate lives two levels below the repository root")
}

/// A `Command` for the `otelops` binary under test.
pub fn otelops_command() -> Command {
    Command::new(env!("CARGO_BIN_EXE_otelops"))
}

/// What a finished `otelops` printed and how it exited.
#[derive(Debug)]
pub struct Run {
    pub status: ExitStatus,
    /// The exit code; -1 if a signal ended the process.
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// stdout parsed as JSON; panics with the output if it is not.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}); exit {}\nstdout:\n{}\nstderr:\n{}",
                self.code, self.stdout, self.stderr
            )
        })
    }
}

impl From<Output> for Run {
    fn from(out: Output) -> Run {
        Run {
            status: out.status,
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// Run `otelops args…` (stdin closed), killed after 60 s so a test never hangs.
pub fn otelops<S: AsRef<str>>(args: &[S]) -> Run {
    let mut cmd = otelops_command();
    cmd.args(args.iter().map(|a| a.as_ref()));
    run_bounded(&mut cmd, Duration::from_secs(60)).into()
}

/// Runs `cmd` (stdin closed) to completion; kills it and fails the test
/// after `limit`.
pub fn run_bounded(cmd: &mut Command, limit: Duration) -> Output {
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawning {cmd:?}: {e}"));
    finish(child, limit, &format!("{cmd:?}"))
}

/// Waits for `child` (named `what` in the failure), killing it and failing
/// the test after `limit`. Both pipes are drained on threads so a chatty
/// child never blocks on a full pipe; a pipe the caller already took reads
/// as empty.
pub fn finish(mut child: Child, limit: Duration, what: &str) -> Output {
    fn drain(pipe: Option<impl Read + Send + 'static>) -> std::thread::JoinHandle<Vec<u8>> {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    }
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for child") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            let err = stderr.join().unwrap_or_default();
            panic!(
                "{what} did not finish within {limit:?}; stderr:\n{}",
                String::from_utf8_lossy(&err)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: stdout.join().expect("stdout reader"),
        stderr: stderr.join().expect("stderr reader"),
    }
}

/// A loopback port that was free a moment ago, never handed out before in
/// this test process, and below the ephemeral range, so no service a
/// parallel test starts on port 0 takes it before (or while restarting) the
/// server it is meant for (see `parker_testkit`).
pub use parker_testkit::free_port;

/// A loopback port nothing listens on (a free port, released).
pub fn closed_port() -> u16 {
    free_port()
}

pub fn on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    })
}

/// `$var` if set and non-empty.
fn from_env(var: &str) -> Option<PathBuf> {
    std::env::var_os(var)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// rotel-agent: `ROTEL_AGENT`, then PATH, then the project venv; panics
/// with how to get it.
pub fn rotel_agent() -> PathBuf {
    if let Some(path) = from_env("ROTEL_AGENT").or_else(|| on_path("rotel-agent")) {
        return path;
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../.venv/lib/python3.11/site-packages/rotel/rotel-agent");
    assert!(
        venv.is_file(),
        "rotel-agent not found (ROTEL_AGENT, PATH, .venv): run ./scripts/test, which installs rotel-agent"
    );
    venv
}

/// The collector: `OTELCOL_PARKER`, then target/otelcol-parker, then PATH;
/// panics with how to get it.
pub fn otelcol_parker() -> PathBuf {
    if let Some(path) = from_env("OTELCOL_PARKER") {
        assert!(
            path.is_file(),
            "otelcol-parker not found at {} (OTELCOL_PARKER is wrong): run ./scripts/test, which builds otelcol-parker",
            path.display()
        );
        return path;
    }
    let built = repo_root().join("target/otelcol-parker");
    if built.is_file() {
        return built;
    }
    on_path("otelcol-parker").expect(
        "otelcol-parker not found (OTELCOL_PARKER unset, no target/otelcol-parker, not on PATH): run ./scripts/test, which builds otelcol-parker",
    )
}

/// promtool: `PROMTOOL`, then PATH; panics with how to get it.
pub fn promtool() -> PathBuf {
    from_env("PROMTOOL").or_else(|| on_path("promtool")).expect(
        "promtool not found (PROMTOOL unset, not on PATH): run ./scripts/test, which installs promtool (Debian package prometheus)",
    )
}

/// gpg (Debian package gpg): `GPG`, then PATH; panics with how to get it.
pub fn gpg() -> PathBuf {
    from_env("GPG").or_else(|| on_path("gpg")).expect(
        "gpg not found (GPG unset, not on PATH): run ./scripts/test, which installs gpg (Debian package gpg)",
    )
}

/// openssl: `OPENSSL`, then PATH; panics with how to get it.
pub fn openssl() -> PathBuf {
    from_env("OPENSSL").or_else(|| on_path("openssl")).expect(
        "openssl not found (OPENSSL unset, not on PATH): run ./scripts/test, which installs it (Debian package openssl)",
    )
}

/// Where cargo put `otelops`; the services are built beside it.
pub fn bin_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_otelops"))
        .parent()
        .expect("otelops lives in a directory")
        .to_path_buf()
}

/// `parker-booking` or `parker-fares` beside `otelops`. Cargo builds only
/// otelops' own binaries for its tests, so they are built here (once per
/// test binary) when missing.
pub fn parker_service(name: &str) -> PathBuf {
    static BUILD: Mutex<()> = Mutex::new(());
    let dir = bin_dir();
    let path = dir.join(name);
    if path.is_file() {
        return path;
    }
    let _once = BUILD.lock().unwrap_or_else(|e| e.into_inner());
    if !path.is_file() {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let status = Command::new(&cargo)
            .args(["build", "-p", "parker-fares", "-p", "parker-booking"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdin(Stdio::null())
            .status()
            .unwrap_or_else(|e| panic!("cannot run {cargo:?} to build {name}: {e}"));
        assert!(
            status.success() && path.is_file(),
            "{name} is not in {} and `cargo build -p parker-fares -p parker-booking` failed ({status}); build them first",
            dir.display()
        );
    }
    path
}
