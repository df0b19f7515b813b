//! rotel-agent (a real Rust OTLP collector) forwarding to `otelops receive`
//! over OTLP/gRPC and OTLP/HTTP, gzip on: what goes into rotel comes out of
//! the receiver's store intact.

mod common;
#[path = "common/receive.rs"]
mod receive_support;

use std::process::{Child, Command, Stdio};

use prost::Message;
use receive_support::*;

/// A rotel-agent child, killed on drop.
struct Rotel {
    child: Child,
    http: String,
    _dir: tempfile::TempDir,
}

impl Drop for Rotel {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_rotel(protocol: &str, endpoint: &str) -> Rotel {
    let dir = tempfile::tempdir().unwrap();
    let (grpc_port, http_port) = (free_port(), free_port());
    let child = Command::new(rotel_agent())
        .arg("start")
        .args(["--otlp-grpc-endpoint", &format!("127.0.0.1:{grpc_port}")])
        .args(["--otlp-http-endpoint", &format!("127.0.0.1:{http_port}")])
        .args(["--exporter", "otlp", "--otlp-exporter-protocol", protocol])
        .args(["--otlp-exporter-endpoint", endpoint])
        .args([
            "--otlp-exporter-compression",
            "gzip",
            "--batch-timeout",
            "50ms",
        ])
        .arg("--pid-file")
        .arg(dir.path().join("rotel.pid"))
        .arg("--log-file")
        .arg(dir.path().join("rotel.log"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn rotel-agent");
    wait_for_port(format!("127.0.0.1:{http_port}").parse().unwrap());
    Rotel {
        child,
        http: format!("http://127.0.0.1:{http_port}"),
        _dir: dir,
    }
}

async fn forwards(protocol: &str) {
    let running = Running::start(&[]);
    let endpoint = if protocol == "grpc" {
        running.grpc_url()
    } else {
        running.http_url("")
    };
    let rotel = start_rotel(protocol, &endpoint);
    let mut child = span(0x42, 2, Some(1), "SELECT fares", 2, 6);
    child.attributes = vec![
        string_kv("db.operation.name", "SELECT"),
        int_kv("db.response.returned_rows", 3),
    ];
    let body = request(
        "fares",
        vec![
            span(0x42, 1, None, "GET /fares", 0, 10),
            with_error(child, "timeout"),
        ],
    )
    .encode_to_vec();

    let answer = post(
        &format!("{}/v1/traces", rotel.http),
        "application/x-protobuf",
        &[],
        body,
    )
    .await;
    assert_eq!(answer.status, 200, "rotel accepted");

    let summary = wait_for_summary(&running, |s| s["spans"] == 2).await;
    assert_eq!(summary["services"], serde_json::json!(["fares"]));
    assert_eq!(summary["errors"], 1);
    let detail =
        get_json(&running.http_url(&format!("/otelops/v1/traces/{}", "42".repeat(16)))).await;
    let child = &detail["spans"][1];
    assert_eq!(child["name"], "SELECT fares");
    assert_eq!(child["depth"], 1);
    assert_eq!(child["status"], "error");
    assert_eq!(child["status_message"], "timeout");
    let attrs: Vec<(&str, &str)> = child["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["key"].as_str().unwrap(), a["value"].as_str().unwrap()))
        .collect();
    assert_eq!(
        attrs,
        [
            ("db.operation.name", "SELECT"),
            ("db.response.returned_rows", "3")
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotel_forwards_over_grpc() {
    forwards("grpc").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotel_forwards_over_http() {
    forwards("http").await;
}
