//! Helpers for the config, dashboards and deploy tests: where the repository
//! and the external binaries (otelcol-parker, promtool) are, and running a
//! child process with a deadline.
#![allow(dead_code)] // each test crate uses a different subset

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the crate lives two levels below the repository root")
}

pub fn deploy(relative: &str) -> PathBuf {
    repo_root().join("deploy").join(relative)
}

pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

pub fn otelops() -> Command {
    Command::new(env!("CARGO_BIN_EXE_otelops"))
}

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    })
}

/// The collector: $OTELCOL_PARKER, then target/otelcol-parker, then PATH.
pub fn otelcol_parker() -> PathBuf {
    if let Some(p) = std::env::var_os("OTELCOL_PARKER") {
        return PathBuf::from(p);
    }
    let built = repo_root().join("target/otelcol-parker");
    if built.is_file() {
        return built;
    }
    on_path("otelcol-parker")
        .expect("otelcol-parker not found (OTELCOL_PARKER unset, no target/otelcol-parker): run ./scripts/test, which builds otelcol-parker")
}

/// promtool: $PROMTOOL, then PATH.
pub fn promtool() -> PathBuf {
    if let Some(p) = std::env::var_os("PROMTOOL") {
        return PathBuf::from(p);
    }
    on_path("promtool").expect(
        "promtool not found (PROMTOOL unset, not on PATH): run ./scripts/test, which installs promtool (Debian package prometheus)",
    )
}

/// Runs `cmd` to completion, killing it and failing the test after `limit`.
pub fn run(cmd: &mut Command, limit: Duration) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawning {cmd:?}: {e}"));
    let start = Instant::now();
    loop {
        if child.try_wait().expect("waiting for child").is_some() {
            return child.wait_with_output().expect("collecting child output");
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().expect("collecting killed child");
            panic!(
                "{cmd:?} did not finish within {limit:?}; stderr:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The environment every rendered profile needs to validate and start.
pub fn profile_env(queue_dir: &Path) -> Vec<(&'static str, String)> {
    vec![
        ("OTELCOL_BIND", "127.0.0.1".into()),
        ("OTELCOL_EXPORT_ENDPOINT", "127.0.0.1:14317".into()),
        ("OTELCOL_EXPORT_CA_FILE", String::new()),
        ("OTELCOL_EXPORT_TOKEN", "test-export-token".into()),
        ("OTELCOL_INGEST_TOKEN", "test-ingest-token".into()),
        ("OTELCOL_TLS_CERT_FILE", "/nonexistent/tls.crt".into()),
        ("OTELCOL_TLS_KEY_FILE", "/nonexistent/tls.key".into()),
        ("OTELCOL_QUEUE_DIR", queue_dir.display().to_string()),
    ]
}

/// `otelcol-parker validate --config FILE` with `env`.
pub fn validate(config: &Path, env: &[(&str, String)]) -> Output {
    let mut cmd = Command::new(otelcol_parker());
    cmd.arg("validate").arg("--config").arg(config);
    for (k, v) in env {
        cmd.env(k, v);
    }
    run(&mut cmd, Duration::from_secs(60))
}

/// A corpus file and the component its `# expect:` header names.
pub struct CorpusCase {
    pub path: PathBuf,
    pub expect: String,
}

/// Every `*.yaml` in deploy/collector/test-configs/<dir>, with its header.
pub fn corpus(dir: &str) -> Vec<CorpusCase> {
    let dir = deploy("collector/test-configs").join(dir);
    let mut cases: Vec<CorpusCase> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .map(|path| {
            let first = read(&path).lines().next().unwrap_or_default().to_owned();
            let expect = first
                .strip_prefix("# expect:")
                .unwrap_or_else(|| {
                    panic!("{}: first line must be `# expect: <id>`", path.display())
                })
                .trim()
                .to_owned();
            CorpusCase { path, expect }
        })
        .collect();
    cases.sort_by(|a, b| a.path.cmp(&b.path));
    assert!(!cases.is_empty(), "{} holds no configs", dir.display());
    cases
}
