//! `otelops test validate`: the shipped definitions and definitions shaped
//! like Tracetest's own examples load; what we do not run is reported as
//! unsupported by name with `file:line:column`; broken definitions say
//! where and what. No services needed.

mod common;

use std::path::PathBuf;

fn upstream_style(name: &str) -> String {
    common::fixture(&format!("tracetest/upstream-style/{name}"))
        .display()
        .to_string()
}

fn shipped() -> Vec<String> {
    let dir = common::repo_root().join("tests/tracetest");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    files.iter().map(|p| p.display().to_string()).collect()
}

fn validate(files: &[String]) -> common::Run {
    let mut args = vec!["test".to_owned(), "validate".to_owned()];
    args.extend(files.iter().cloned());
    common::otelops(&args)
}

#[test]
fn shipped_definitions_validate() {
    let files = shipped();
    assert!(files.len() >= 4, "{files:?}");
    let run = validate(&files);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    for f in &files {
        assert!(
            run.stdout.contains(&format!("{f}: ok (")),
            "{f} not ok:\n{}",
            run.stdout
        );
    }
}

#[test]
fn definitions_shaped_like_tracetest_examples_load() {
    let files: Vec<String> = [
        "queue-worker.yaml",
        "error-propagation.yaml",
        "env-and-database.yaml",
        "descendants.yaml",
        "trigger-only.yaml",
        "outputs-and-timing.yaml",
    ]
    .iter()
    .map(|n| upstream_style(n))
    .collect();
    let run = common::otelops(
        &["--output", "json", "test", "validate"]
            .iter()
            .map(|s| s.to_string())
            .chain(files.iter().cloned())
            .collect::<Vec<_>>(),
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let json = run.json();
    assert_eq!(
        json["valid"].as_array().unwrap().len(),
        files.len(),
        "{json:#}"
    );
    assert_eq!(json["problems"], serde_json::json!([]));
}

#[test]
fn features_we_do_not_run_are_unsupported_by_name_with_their_position() {
    let (rpc, stream, suite) = (
        upstream_style("rpc-trigger.yaml"),
        upstream_style("stream-trigger.yaml"),
        upstream_style("suite.yaml"),
    );
    let run = validate(&[rpc.clone(), stream.clone(), suite.clone()]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    for expected in [
        format!("{rpc}:7:11: unsupported: trigger type `grpc` (only `http` runs here)"),
        format!("{stream}:6:11: unsupported: trigger type `kafka` (only `http` runs here)"),
        format!(
            "{suite}:1:7: unsupported: test suites (`type: TestSuite`); run each test's file instead"
        ),
    ] {
        assert!(
            run.stderr.contains(&expected),
            "missing {expected:?} in:\n{}",
            run.stderr
        );
    }
}

#[test]
fn broken_definitions_name_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.yaml");
    std::fs::write(
        &path,
        r#"type: Test
spec:
  name: broken
  trigger:
    type: http
    httpRequest:
      url: http://127.0.0.1:1/
      retries: 3
  specs:
  - selector: span[name="a"]:odd
    assertions:
    - attr:http.status_code == 200
    - attr:body | regex 'x' = "y"
    - "attr:x = ${oops}"
"#,
    )
    .unwrap();
    let f = path.display().to_string();
    let run = validate(std::slice::from_ref(&f));
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    for expected in [
        format!("{f}:8:7: unknown key `retries` in httpRequest"),
        format!(
            "{f}:10:15: selector \"span[name=\\\"a\\\"]:odd\", at character 15: unsupported pseudo-class `:odd`"
        ),
        format!("{f}:12:7: assertion \"attr:http.status_code == 200\": no comparison operator"),
        format!("{f}:13:7: unsupported: the `regex` filter (supported: json_path)"),
        format!(
            "{f}:14:7: assertion \"attr:x = ${{oops}}\": `${{oops}}`: expected ${{env:NAME}} or ${{var:NAME}}"
        ),
    ] {
        assert!(
            run.stderr.contains(&expected),
            "missing {expected:?} in:\n{}",
            run.stderr
        );
    }
}
