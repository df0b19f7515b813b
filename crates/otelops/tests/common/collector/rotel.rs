//! rotel-agent (an independent Rust OTLP collector) as a child process:
//! OTLP/gRPC and OTLP/HTTP receivers on free loopback ports, forwarding
//! with its OTLP exporter to one endpoint. Its log goes to the artifacts.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::artifacts::Artifacts;
use super::wait_until;

/// A running rotel-agent; killed on drop.
pub struct Rotel {
    pub grpc_port: u16,
    pub http_port: u16,
    child: Child,
    log: PathBuf,
}

impl Rotel {
    /// Starts rotel-agent forwarding over OTLP `protocol` (`grpc` or
    /// `http`) to `endpoint`; waits (≤ 15 s) until both receivers listen.
    pub async fn start(protocol: &str, endpoint: &str, art: &Artifacts) -> Rotel {
        let (grpc_port, http_port) = (super::free_port(), super::free_port());
        let log = art.path("rotel-agent.log");
        let child = Command::new(crate::common::rotel_agent())
            .arg("start")
            .args(["--otlp-grpc-endpoint", &format!("127.0.0.1:{grpc_port}")])
            .args(["--otlp-http-endpoint", &format!("127.0.0.1:{http_port}")])
            .args(["--exporter", "otlp", "--otlp-exporter-protocol", protocol])
            .args(["--otlp-exporter-endpoint", endpoint])
            .args(["--batch-timeout", "50ms"])
            .arg("--pid-file")
            .arg(art.path("rotel-agent.pid"))
            .arg("--log-file")
            .arg(&log)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start rotel-agent: {e}"));
        art.note(&format!(
            "rotel-agent started (pid {}): grpc :{grpc_port}, http :{http_port} → {protocol} {endpoint}",
            child.id()
        ));
        let rotel = Rotel {
            grpc_port,
            http_port,
            child,
            log,
        };
        for port in [grpc_port, http_port] {
            let addr = format!("127.0.0.1:{port}");
            wait_until(
                &format!("rotel-agent listening on {addr}"),
                Duration::from_secs(15),
                || async {
                    tokio::net::TcpStream::connect(&addr)
                        .await
                        .map(drop)
                        .map_err(|e| format!("{e}; log:\n{}", rotel.log()))
                },
            )
            .await;
        }
        rotel
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Rotel {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
