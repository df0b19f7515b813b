//! Helpers shared by the `check_*` and `semconv_*` tests: fixtures, JSON
//! mutation of a known-good export request, and running the real binary.

#![allow(dead_code)] // each test file uses a subset

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use otelops::check::{Finding, Level, input};
use serde_json::Value;

pub const SPAN0: &str = "resourceSpans[0].scopeSpans[0].spans[0]";
pub const SPAN1: &str = "resourceSpans[0].scopeSpans[0].spans[1]";

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/check")
        .join(name)
}

/// The known-good request: an HTTP server span and a Redis client child.
pub fn good() -> Value {
    let text = std::fs::read_to_string(fixture("good_http_server.json")).expect("fixture");
    serde_json::from_str(&text).expect("fixture is JSON")
}

pub fn span(doc: &mut Value, index: usize) -> &mut Value {
    &mut doc["resourceSpans"][0]["scopeSpans"][0]["spans"][index]
}

pub fn resource(doc: &mut Value) -> &mut Value {
    &mut doc["resourceSpans"][0]["resource"]
}

/// Sets (or replaces) attribute `key` of an object holding `attributes`.
pub fn set_attr(owner: &mut Value, key: &str, value: Value) {
    let attributes = owner["attributes"].as_array_mut().expect("attributes");
    attributes.retain(|kv| kv["key"] != key);
    attributes.push(serde_json::json!({"key": key, "value": value}));
}

pub fn remove_attr(owner: &mut Value, key: &str) {
    let attributes = owner["attributes"].as_array_mut().expect("attributes");
    let before = attributes.len();
    attributes.retain(|kv| kv["key"] != key);
    assert_eq!(before - 1, attributes.len(), "fixture had `{key}`");
}

pub fn string(value: &str) -> Value {
    serde_json::json!({"stringValue": value})
}

pub fn parse(doc: &Value) -> Vec<input::Document> {
    input::parse(Path::new("mem.json"), doc.to_string().as_bytes()).expect("OTLP JSON")
}

/// (level, path) of the findings of `rule`.
pub fn by_rule(findings: &[Finding], rule: &str) -> Vec<(Level, String)> {
    findings
        .iter()
        .filter(|f| f.rule == rule)
        .map(|f| (f.level, f.path.clone()))
        .collect()
}

pub fn message<'a>(findings: &'a [Finding], rule: &str) -> &'a str {
    &findings
        .iter()
        .find(|f| f.rule == rule)
        .unwrap_or_else(|| panic!("no {rule} finding in {findings:#?}"))
        .message
}

pub fn write_temp(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).expect("write temp file");
    path
}

/// Runs the real `otelops` binary, killed if it outlives 60 s. Output is
/// drained by threads so a large report cannot block the child.
pub fn otelops(args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_otelops"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn otelops");
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            pipe.read_to_end(&mut bytes).expect("read otelops output");
            bytes
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("piped stdout")));
    let stderr = drain(Box::new(child.stderr.take().expect("piped stderr")));
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait otelops") {
            break status;
        }
        if Instant::now() > deadline {
            child.kill().expect("kill otelops");
            panic!("otelops {args:?} did not finish within 60 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: stdout.join().expect("stdout reader"),
        stderr: stderr.join().expect("stderr reader"),
    }
}

pub fn code(output: &Output) -> i32 {
    output.status.code().expect("exited normally")
}

pub fn stdout_json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|err| {
        panic!(
            "stdout is not JSON ({err}): {}\nstderr: {}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}
