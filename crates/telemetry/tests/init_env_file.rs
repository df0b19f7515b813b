//! The real process: the `hello` example reads config/.env.otel (under its
//! working directory) overlaid by its environment, starts telemetry and
//! exports one trace; bad config makes it exit with the error.

mod common;

use parker_telemetry::testing::OtlpSink;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// target/<profile>/examples/hello, built on demand when only this test
/// target was built.
fn hello_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>");
    let bin = profile_dir.join("examples").join("hello");
    if !bin.is_file() {
        let status = Command::new(env!("CARGO"))
            .args(["build", "-p", "parker-telemetry", "--example", "hello"])
            .status()
            .expect("run cargo build --example hello");
        assert!(status.success(), "cargo build --example hello failed");
    }
    bin
}

/// Runs hello in `dir` with exactly `env`, killing it after 30 s.
fn run_hello(dir: &Path, env: &[(&str, &str)]) -> Output {
    let mut child = Command::new(hello_binary())
        .current_dir(dir)
        .env_clear()
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn hello");
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().expect("poll hello").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("hello did not exit within 30 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("hello output")
}

fn env_file(dir: &Path, text: &str) {
    std::fs::create_dir_all(dir.join("config")).expect("mkdir config");
    std::fs::write(dir.join("config/.env.otel"), text).expect("write env file");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn env_file_configures_export_and_real_env_wins() {
    let sink = OtlpSink::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    env_file(
        dir.path(),
        &format!(
            "# exporter settings come from the file\n\
             OTEL_TRACES_EXPORTER=otlp\n\
             OTEL_EXPORTER_OTLP_PROTOCOL=grpc\n\
             OTEL_EXPORTER_OTLP_ENDPOINT=\"{}\"\n\
             OTEL_SERVICE_NAME=from-file\n",
            sink.grpc_endpoint()
        ),
    );
    let path = dir.path().to_owned();
    let out = tokio::task::spawn_blocking(move || {
        run_hello(
            &path,
            &[
                ("OTEL_SERVICE_NAME", "from-env"),
                ("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment.name=ci"),
            ],
        )
    })
    .await
    .expect("join");
    assert!(
        out.status.success(),
        "hello failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The guard's shutdown flushed before exit: everything is there already.
    let spans = sink.spans();
    let root = spans
        .iter()
        .find(|s| s.name == "search fares")
        .expect("root span");
    let child = spans
        .iter()
        .find(|s| s.name == "pick cheapest")
        .expect("child span");
    assert_eq!(root.kind, "server");
    assert_eq!(child.parent_span_id, root.span_id);
    assert_eq!(root.resource["service.name"], "from-env");
    assert_eq!(root.resource["deployment.environment.name"], "ci");
    assert_eq!(root.resource["process.executable.name"], "hello");
}

#[test]
fn without_config_hello_prints_its_trace_to_stdout() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run_hello(dir.path(), &[]);
    assert!(
        out.status.success(),
        "hello failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("Name         : search fares"), "{stdout}");
    assert!(stdout.contains("Name         : pick cheapest"), "{stdout}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("found offers"),
        "fmt subscriber writes events to stderr: {stderr}"
    );
}

#[test]
fn malformed_env_file_stops_the_process_with_file_and_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    env_file(dir.path(), "OTEL_SERVICE_NAME=ok\nTHIS IS NOT A SETTING\n");
    let out = run_hello(dir.path(), &[]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("config/.env.otel:2: cannot parse"),
        "{stderr}"
    );
}

#[test]
fn malformed_value_stops_the_process_naming_the_variable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run_hello(dir.path(), &[("OTEL_EXPORTER_OTLP_PROTOCOL", "grpcc")]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            r#"OTEL_EXPORTER_OTLP_PROTOCOL="grpcc": expected grpc, http/protobuf or http/json"#
        ),
        "{stderr}"
    );
}
