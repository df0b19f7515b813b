//! Helpers shared by the `check_*` and `semconv_*` tests: fixtures, JSON
//! mutation of a known-good export request, and running the real binary
//! (through `crate::common::run_bounded`).

#![allow(dead_code)] // each test file uses a subset

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use otelops::check::{Finding, Level, input};
use serde_json::Value;

pub const SPAN0: &str = "resourceSpans[0].scopeSpans[0].spans[0]";
pub const SPAN1: &str = "resourceSpans[0].scopeSpans[0].spans[1]";

/// `tests/fixtures/check/<name>`.
pub fn fixture(name: &str) -> PathBuf {
    crate::common::fixture("check").join(name)
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

/// Runs the real `otelops` binary (stdin closed), killed if it outlives 60 s.
pub fn otelops(args: &[&str]) -> Output {
    crate::common::run_bounded(
        crate::common::otelops_command().args(args),
        Duration::from_secs(60),
    )
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
