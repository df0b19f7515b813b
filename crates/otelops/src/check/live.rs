//! `check … --listen`: collect a live OTLP stream with the embedded receiver,
//! then hand it to the same checks as files.
//!
//! The receiver's span store keeps spans and their service name only
//! (resource and scope attributes are dropped for speed), which would leave
//! the resource rules nothing real to judge. So a live run turns on the
//! receiver's OTLP-JSON lines copy instead, into a private temporary file:
//! every accepted request, decoded with prost and written with
//! opentelemetry-proto's serde (hex ids, OTLP/JSON field names), is then
//! read back by [`input::parse`] exactly like the collector's file exporter
//! output. Documents are named `otlp://<grpc address>` and numbered by
//! arrival.
//!
//! What a live stream cannot show: encoding mistakes of OTLP/JSON senders
//! (the receiver decodes and re-encodes them) and spans the receiver
//! rejected as invalid (counted; see [`Collected::rejected_findings`]).

use std::io::Read;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use super::input::{self, Document};
use super::{Finding, Level, Source};
pub use crate::receive::until::StopReason;
use crate::receive::until::Until;
use crate::receive::{ReceiveError, Receiver, ReceiverConfig, ReceiverHandle, Summary, Token};

/// Where to listen and when to stop.
#[derive(Debug, Clone)]
pub struct ListenOptions {
    pub grpc_listen: SocketAddr,
    pub http_listen: SocketAddr,
    /// Required for a non-loopback address (the receiver's rule).
    pub token: Option<Token>,
    /// Stop after this long.
    pub duration: Option<Duration>,
    /// Stop once this many spans were accepted.
    pub spans: Option<u64>,
}

/// The OTLP/HTTP address that goes with a gRPC one: the next port, as
/// 4317/4318 are paired (an OS-picked port 0 stays 0).
pub fn http_beside(grpc: SocketAddr) -> SocketAddr {
    let port = match grpc.port() {
        0 => 0,
        port => port.saturating_add(1),
    };
    SocketAddr::new(grpc.ip(), port)
}

#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    #[error(transparent)]
    Receive(#[from] ReceiveError),
    #[error("cannot create the temporary file for received requests")]
    Temp(#[source] std::io::Error),
    #[error("cannot read back the received requests")]
    ReadBack(#[source] std::io::Error),
    #[error(transparent)]
    Input(#[from] input::InputError),
    #[error("no telemetry arrived at {grpc} (OTLP/gRPC) or {http} (OTLP/HTTP) before the {reason}")]
    NothingArrived {
        grpc: SocketAddr,
        http: SocketAddr,
        reason: StopReason,
    },
}

/// A running receiver whose requests are being kept for a check.
#[derive(Debug)]
pub struct Listening {
    handle: ReceiverHandle,
    file: tempfile::NamedTempFile,
    until: Until,
}

/// What arrived, as check input, with the receiver's summary.
#[derive(Debug)]
pub struct Collected {
    pub documents: Vec<Document>,
    pub summary: Summary,
    pub stopped: StopReason,
    /// The OTLP/gRPC address documents are named after.
    pub grpc: SocketAddr,
    /// Number of export requests (documents) received.
    pub requests: usize,
}

impl Listening {
    /// Starts the embedded receiver on the given addresses.
    pub async fn start(opts: &ListenOptions) -> Result<Listening, LiveError> {
        // Private (0600) and removed on drop: it holds whatever was sent.
        let file = tempfile::Builder::new()
            .prefix("otelops-check-")
            .suffix(".jsonl")
            .tempfile()
            .map_err(LiveError::Temp)?;
        let mut config = ReceiverConfig::new(opts.grpc_listen, opts.http_listen);
        config.token = opts.token.clone();
        config.jsonl = Some(file.path().to_path_buf());
        let handle = Receiver::start(config).await?;
        Ok(Listening {
            handle,
            file,
            until: opts.until(),
        })
    }

    pub fn grpc_addr(&self) -> SocketAddr {
        self.handle.grpc_addr()
    }

    pub fn http_addr(&self) -> SocketAddr {
        self.handle.http_addr()
    }

    /// Waits for the first of: `duration`, `spans` accepted, Ctrl-C (a
    /// SIGINT handler is installed for the process while waiting); then
    /// stops the receiver and returns what arrived.
    pub async fn collect(self) -> Result<Collected, LiveError> {
        let (grpc, http) = (self.grpc_addr(), self.http_addr());
        let ctrl_c = async {
            // Without a handler Ctrl-C ends the process as usual.
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        let (stopped, summary) = self.handle.run_until(&self.until, ctrl_c).await;
        let mut bytes = Vec::new();
        self.file
            .reopen()
            .and_then(|mut f| f.read_to_end(&mut bytes))
            .map_err(LiveError::ReadBack)?;
        let documents = if bytes.iter().all(u8::is_ascii_whitespace) {
            // Rejected spans are still something to report.
            if summary.rejected == 0 {
                return Err(LiveError::NothingArrived {
                    grpc,
                    http,
                    reason: stopped,
                });
            }
            Vec::new()
        } else {
            documents(&format!("otlp://{grpc}"), &bytes)?
        };
        Ok(Collected {
            requests: documents.len(),
            documents,
            summary,
            stopped,
            grpc,
        })
    }

    /// Starts listening, tells `on_listening` where (the caller prints it),
    /// and collects until a bound is reached.
    pub async fn run(
        opts: &ListenOptions,
        on_listening: impl FnOnce(&Listening),
    ) -> Result<Collected, LiveError> {
        let listening = Listening::start(opts).await?;
        on_listening(&listening);
        listening.collect().await
    }
}

impl ListenOptions {
    pub fn until(&self) -> Until {
        Until {
            duration: self.duration,
            spans: self.spans,
        }
    }
}

/// One document per received request, numbered by arrival (a lone request
/// would otherwise read as a plain JSON file without a line number).
fn documents(name: &str, bytes: &[u8]) -> Result<Vec<Document>, input::InputError> {
    let mut documents = Vec::new();
    let lines = bytes.split(|&b| b == b'\n').enumerate();
    for (index, line) in lines.filter(|(_, l)| !l.is_empty()) {
        for mut document in input::parse(Path::new(name), line)? {
            document.source.line = Some(index + 1);
            documents.push(document);
        }
    }
    Ok(documents)
}

impl Collected {
    /// Spans and log records the receiver refused as invalid OTLP never reach
    /// the checks; they are a violation of the encoding rules all the same.
    pub fn rejected_findings(&self) -> Vec<Finding> {
        let rejected = self.summary.rejected;
        if rejected == 0 {
            return Vec::new();
        }
        vec![Finding {
            level: Level::Violation,
            rule: "otlp.rejected",
            source: Source {
                file: format!("otlp://{}", self.grpc),
                line: None,
            },
            path: "resourceSpans".into(),
            span: None,
            message: format!(
                "the receiver rejected {rejected} span(s)/log record(s) as invalid OTLP \
             (ids of the wrong length or all zero); the sender answered partial_success"
            ),
        }]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_listens_on_the_port_after_grpc_unless_the_os_picks() {
        let at = |s: &str| s.parse::<SocketAddr>().expect("address");
        assert_eq!(http_beside(at("127.0.0.1:4317")), at("127.0.0.1:4318"));
        assert_eq!(http_beside(at("[::1]:0")), at("[::1]:0"));
        assert_eq!(http_beside(at("127.0.0.1:65535")), at("127.0.0.1:65535"));
    }

    #[test]
    fn received_requests_are_numbered_by_arrival() {
        let line = r#"{"resourceSpans":[]}"#;
        let bytes = format!("{line}\n{line}\n");
        let documents = documents("otlp://127.0.0.1:4317", bytes.as_bytes()).expect("parsed");
        let lines: Vec<_> = documents.iter().map(|d| d.source.line).collect();
        assert_eq!(lines, [Some(1), Some(2)]);
        assert_eq!(documents[0].source.file, "otlp://127.0.0.1:4317");
    }
}
