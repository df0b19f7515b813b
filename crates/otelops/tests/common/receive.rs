//! Shared helpers for the receive_* and traces_* tests: spawn the real
//! `otelops receive` on loopback (ports picked by the OS, read back from its
//! stdout), build OTLP requests, POST them, find rotel-agent.
#![allow(dead_code)] // each test binary uses a different subset

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};

pub const WAIT: Duration = Duration::from_secs(15);

#[allow(unused_imports)] // re-exported for the tests; each uses a subset
pub use crate::common::{free_port, otelops_command as otelops, rotel_agent};

/// A running `otelops receive` child. Killed on drop if still running.
pub struct Running {
    child: Child,
    pub grpc: SocketAddr,
    pub http: SocketAddr,
    lines: mpsc::Receiver<String>,
    stderr: Option<std::process::ChildStderr>,
}

impl Running {
    /// Starts `otelops receive` on 127.0.0.1 with OS-picked ports plus `args`.
    pub fn start(args: &[&str]) -> Running {
        Running::start_with_env(args, &[])
    }

    pub fn start_with_env(args: &[&str], env: &[(&str, &str)]) -> Running {
        let mut cmd = otelops();
        cmd.args([
            "receive",
            "--grpc-listen",
            "127.0.0.1:0",
            "--http-listen",
            "127.0.0.1:0",
        ])
        .args(args)
        .env_remove("OTELOPS_RECEIVER_TOKEN")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn otelops receive");
        let stdout = child.stdout.take().expect("stdout piped");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = child.stderr.take();
        let mut running = Running {
            child,
            grpc: "127.0.0.1:1".parse().unwrap(),
            http: "127.0.0.1:1".parse().unwrap(),
            lines,
            stderr,
        };
        running.grpc = running.addr_line("OTLP/gRPC listening on ");
        running.http = running.addr_line("OTLP/HTTP listening on ");
        running
    }

    fn addr_line(&mut self, prefix: &str) -> SocketAddr {
        let line = self.next_line();
        let addr = line
            .strip_prefix(prefix)
            .unwrap_or_else(|| panic!("expected {prefix:?} line, got {line:?}"));
        addr.parse().unwrap_or_else(|e| panic!("{addr:?}: {e}"))
    }

    /// The next stdout line; panics (with stderr) if none comes in time.
    pub fn next_line(&mut self) -> String {
        match self.lines.recv_timeout(WAIT) {
            Ok(line) => line,
            Err(_) => {
                let _ = self.child.kill();
                let mut err = String::new();
                if let Some(mut stderr) = self.stderr.take() {
                    let _ = stderr.read_to_string(&mut err);
                }
                panic!("otelops receive printed nothing more; stderr: {err}");
            }
        }
    }

    pub fn http_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.http)
    }

    pub fn grpc_url(&self) -> String {
        format!("http://{}", self.grpc)
    }

    /// Sends SIGTERM and returns everything printed after the address lines
    /// (the summary), once the process exited.
    pub fn stop(self) -> String {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM failed");
        self.wait_output()
    }

    /// Waits (bounded) for the process to exit by itself and returns the
    /// remaining stdout.
    pub fn wait_output(mut self) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                assert!(status.success(), "otelops receive exited with {status}");
                break;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("otelops receive did not exit within {WAIT:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let mut out = String::new();
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(2)) {
            out.push_str(&line);
            out.push('\n');
        }
        out
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The value of `name` in the summary block (`  spans          12`).
pub fn summary_value(summary: &str, name: &str) -> String {
    summary
        .lines()
        .find_map(|l| {
            let rest = l.trim_start().strip_prefix(name)?;
            rest.starts_with("  ").then(|| rest.trim().to_owned())
        })
        .unwrap_or_else(|| panic!("no {name:?} in summary:\n{summary}"))
}

pub fn string_kv(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.to_owned())),
        }),
        ..Default::default()
    }
}

pub fn int_kv(key: &str, value: i64) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(any_value::Value::IntValue(value)),
        }),
        ..Default::default()
    }
}

/// A span in trace `trace` (a byte repeated) with id `id`, child of `parent`.
pub fn span(trace: u8, id: u8, parent: Option<u8>, name: &str, start_ms: u64, end_ms: u64) -> Span {
    const BASE: u64 = 1_700_000_000_000_000_000;
    Span {
        trace_id: vec![trace; 16],
        span_id: vec![id; 8],
        parent_span_id: parent.map(|p| vec![p; 8]).unwrap_or_default(),
        name: name.to_owned(),
        kind: 2,
        start_time_unix_nano: BASE + start_ms * 1_000_000,
        end_time_unix_nano: BASE + end_ms * 1_000_000,
        ..Default::default()
    }
}

pub fn with_error(mut span: Span, message: &str) -> Span {
    span.status = Some(Status {
        code: 2,
        message: message.to_owned(),
    });
    span
}

/// One request holding `spans` under a resource with `service.name`.
pub fn request(service: &str, spans: Vec<Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![string_kv("service.name", service)],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// `n` root spans, each its own trace (trace ids from `first`).
pub fn traces_of_one_span(first: u8, n: u8, service: &str) -> ExportTraceServiceRequest {
    request(
        service,
        (0..n)
            .map(|i| span(first + i, 1, None, &format!("op {i}"), 0, 10))
            .collect(),
    )
}

/// A POST's answer.
pub struct Answer {
    pub status: u16,
    pub content_type: String,
    pub retry_after: Option<String>,
    pub body: Vec<u8>,
}

pub async fn post(
    url: &str,
    content_type: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> Answer {
    let mut request = reqwest::Client::new()
        .post(url)
        .header("content-type", content_type)
        .timeout(WAIT)
        .body(body);
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let response = request
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST {url}: {e}"));
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap_or("").to_owned())
    };
    let status = response.status().as_u16();
    let content_type = header("content-type").unwrap_or_default();
    let retry_after = header("retry-after");
    let body = response.bytes().await.expect("response body").to_vec();
    Answer {
        status,
        content_type,
        retry_after,
        body,
    }
}

pub async fn get_json(url: &str) -> serde_json::Value {
    let response = reqwest::Client::new()
        .get(url)
        .timeout(WAIT)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    assert!(
        response.status().is_success(),
        "GET {url}: {}",
        response.status()
    );
    response.json().await.expect("JSON body")
}

/// Polls the receiver's summary until `pred` holds (bounded by WAIT).
pub async fn wait_for_summary(
    running: &Running,
    pred: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = Instant::now() + WAIT;
    loop {
        let summary = get_json(&running.http_url("/otelops/v1/summary")).await;
        if pred(&summary) {
            return summary;
        }
        assert!(
            Instant::now() < deadline,
            "summary never matched; last: {summary}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).expect("gzip");
    encoder.finish().expect("gzip")
}

/// Waits until something accepts TCP connections on `addr`.
pub fn wait_for_port(addr: SocketAddr) {
    let deadline = Instant::now() + WAIT;
    while std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_err() {
        assert!(
            Instant::now() < deadline,
            "nothing listens on {addr} after {WAIT:?}"
        );
        std::thread::sleep(Duration::from_millis(25));
    }
}
