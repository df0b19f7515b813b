//! Helpers for the config, dashboards and deploy tests: deploy paths, the
//! environment a rendered profile needs, `otelcol-parker validate`, and the
//! config corpus. Binary finders and bounded runs come from `crate::common`.
#![allow(dead_code)] // each test crate uses a different subset

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

#[allow(unused_imports)] // re-exported for the tests; each uses a subset
pub use crate::common::{otelcol_parker, promtool, repo_root, run_bounded as run};

pub fn deploy(relative: &str) -> PathBuf {
    repo_root().join("deploy").join(relative)
}

pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

pub fn otelops() -> Command {
    crate::common::otelops_command()
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The environment every rendered profile needs to validate and start; the
/// production ingest token file is written into `queue_dir` (mode 0600).
pub fn profile_env(queue_dir: &Path) -> Vec<(&'static str, String)> {
    let token_file = queue_dir.join("ingest.token");
    std::fs::write(&token_file, "test-ingest-token\n").expect("writing the test token file");
    std::fs::set_permissions(
        &token_file,
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .expect("chmod 0600 the test token file");
    vec![
        ("OTELCOL_BIND", "127.0.0.1".into()),
        ("OTELCOL_EXPORT_ENDPOINT", "127.0.0.1:14317".into()),
        ("OTELCOL_EXPORT_CA_FILE", String::new()),
        ("OTELCOL_EXPORT_TOKEN", "test-export-token".into()),
        (
            "OTELCOL_INGEST_TOKEN_FILE",
            token_file.display().to_string(),
        ),
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
