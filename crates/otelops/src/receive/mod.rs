//! The embedded OTLP receiver behind `otelops receive`: OTLP/gRPC and
//! OTLP/HTTP (protobuf and JSON, gzip) for traces, metrics and logs, into a
//! bounded in-memory store indexed by trace id, with an optional OTLP-JSON
//! lines copy and a small loopback query API for `otelops traces`.
//!
//! Start at [`Receiver::start`]. Layout: [`decode`] (bodies → messages,
//! validation), [`store`] (the bounded index), [`grpc`] and [`http`] (the
//! listeners), [`jsonl`] (the file copy), [`model`] + [`view`] (what
//! `otelops traces` shows). Invariant: never listens on a non-loopback
//! address without a bearer token.

pub mod client;
pub mod decode;
pub mod grpc;
pub mod http;
pub mod jsonl;
pub mod model;
pub mod store;
pub mod until;
pub mod view;
pub mod wire;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceRequest,
};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest,
};
use tokio::task::JoinHandle;

pub use store::{OnFull, Store, StoreFull, StoredSpan, Summary, TraceId, TraceOverview};

/// OTLP's default gRPC port on loopback.
pub const DEFAULT_GRPC_LISTEN: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 4317);
/// OTLP's default HTTP port on loopback.
pub const DEFAULT_HTTP_LISTEN: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 4318);
pub const DEFAULT_MAX_SPANS: usize = 1_000_000;
pub const DEFAULT_MAX_BODY_BYTES: usize = 4 * 1024 * 1024;
/// How long shutdown waits for in-flight requests.
const SHUTDOWN_GRACE: Duration = Duration::from_millis(500);
/// What a full store (with `--on-full reject`) tells clients to wait.
pub const RETRY_AFTER_SECONDS: u64 = 1;

/// A bearer token. Never printed: `Debug` shows `Token(***)`.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// A token must be non-empty visible ASCII so it fits an HTTP header.
    pub fn new(value: impl Into<String>) -> Result<Token, ReceiveError> {
        let value = value.into();
        if value.is_empty() || !value.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ReceiveError::BadToken);
        }
        Ok(Token(value))
    }

    /// Whether an `Authorization` header value carries this token. Compares
    /// every byte so timing does not reveal how much of a guess matched.
    pub fn matches_header(&self, header: Option<&[u8]>) -> bool {
        let Some(value) = header.and_then(|h| h.strip_prefix(b"Bearer ")) else {
            return false;
        };
        let expected = self.0.as_bytes();
        value.len() == expected.len()
            && value
                .iter()
                .zip(expected)
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(***)")
    }
}

/// Everything `Receiver::start` needs.
#[derive(Debug, Clone)]
pub struct ReceiverConfig {
    pub grpc_listen: SocketAddr,
    pub http_listen: SocketAddr,
    pub max_spans: usize,
    pub on_full: OnFull,
    pub max_body_bytes: usize,
    /// Required by non-loopback listen addresses; when set, every request
    /// must carry `Authorization: Bearer <token>`.
    pub token: Option<Token>,
    /// Append every accepted request here as one OTLP-JSON line.
    pub jsonl: Option<PathBuf>,
    /// Serve the web view ([`crate::ui`]) under `/ui/` on the HTTP listener.
    pub ui: bool,
    /// With `ui`: scrape this collector metrics page for the health view.
    pub metrics_url: Option<crate::http_client::Url>,
    pub metrics_interval: Duration,
    /// The memory the collector's RSS is judged against on the health page.
    pub memory_limit_mib: Option<f64>,
}

impl ReceiverConfig {
    /// Loopback on ports the OS picks, defaults for everything else: what a
    /// test or `otelops demo` wants.
    pub fn ephemeral() -> ReceiverConfig {
        let any = SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 0);
        ReceiverConfig::new(any, any)
    }

    pub fn new(grpc_listen: SocketAddr, http_listen: SocketAddr) -> ReceiverConfig {
        ReceiverConfig {
            grpc_listen,
            http_listen,
            max_spans: DEFAULT_MAX_SPANS,
            on_full: OnFull::Evict,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            token: None,
            jsonl: None,
            ui: false,
            metrics_url: None,
            metrics_interval: crate::ui::health::DEFAULT_INTERVAL,
            memory_limit_mib: None,
        }
    }
}

/// Why the receiver could not start.
#[derive(Debug, thiserror::Error)]
pub enum ReceiveError {
    #[error(
        "refusing to listen on {addr}: not a loopback address and no token is set \
         (pass --token-file or --token-env, or set OTELOPS_RECEIVER_TOKEN)"
    )]
    NonLoopbackWithoutToken { addr: SocketAddr },
    #[error("the receiver token is empty or has characters not allowed in an HTTP header")]
    BadToken,
    #[error("cannot listen on {addr} for OTLP/{protocol}: {source}")]
    Bind {
        protocol: &'static str,
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot open {}: {source}", path.display())]
    Jsonl {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("--max-spans must be at least 1")]
    ZeroCapacity,
}

/// State shared by the gRPC and HTTP listeners.
#[derive(Debug)]
pub(crate) struct Shared {
    pub store: Arc<Store>,
    pub jsonl: Option<jsonl::JsonlSink>,
    pub token: Option<Token>,
    pub max_body_bytes: usize,
    pub ui: bool,
    /// The web view's collector health scraper, with `metrics_url`.
    pub health: Option<Arc<crate::ui::health::Health>>,
}

/// What an export request's `partial_success` should say.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Rejected {
    pub count: u64,
    pub message: String,
}

impl Rejected {
    pub fn into_trace_partial(self) -> Option<ExportTracePartialSuccess> {
        (self.count > 0).then_some(ExportTracePartialSuccess {
            rejected_spans: self.count as i64,
            error_message: self.message,
        })
    }

    pub fn into_logs_partial(self) -> Option<ExportLogsPartialSuccess> {
        (self.count > 0).then_some(ExportLogsPartialSuccess {
            rejected_log_records: self.count as i64,
            error_message: self.message,
        })
    }
}

impl Shared {
    pub fn authorized(&self, header: Option<&[u8]>) -> bool {
        self.token.as_ref().is_none_or(|t| t.matches_header(header))
    }

    /// OTLP/HTTP protobuf: the fast path unless a JSONL copy needs the
    /// decoded request anyway.
    pub fn ingest_traces_protobuf(
        &self,
        body: axum::body::Bytes,
    ) -> Result<Result<Rejected, StoreFull>, decode::DecodeError> {
        if self.jsonl.is_some() {
            let request = decode::decode(&body, decode::Encoding::Protobuf)?;
            return Ok(self.ingest_traces(request));
        }
        let indexed = decode::index_protobuf(body, &self.store)?;
        Ok(self.store_indexed(indexed).map(|(rejected, _)| rejected))
    }

    /// OTLP/gRPC without a JSONL copy: spans arrive still encoded.
    pub fn ingest_traces_lazy(
        &self,
        request: wire::LazyTraceRequest,
    ) -> Result<Result<Rejected, StoreFull>, wire::WireError> {
        let indexed = decode::index_lazy(request, &self.store)?;
        Ok(self.store_indexed(indexed).map(|(rejected, _)| rejected))
    }

    pub fn ingest_traces(
        &self,
        mut request: ExportTraceServiceRequest,
    ) -> Result<Rejected, StoreFull> {
        let indexed = decode::index_traces(&mut request, &self.store);
        let (rejected, accepted) = self.store_indexed(indexed)?;
        if accepted > 0 {
            self.append_jsonl(&request);
        }
        Ok(rejected)
    }

    /// Inserts indexed spans; returns what to report and how many were accepted.
    fn store_indexed(
        &self,
        indexed: decode::IndexedTraces,
    ) -> Result<(Rejected, usize), StoreFull> {
        let rejected = indexed.rejected;
        let message = indexed
            .first_problem
            .as_deref()
            .map(|p| decode::rejection_message(rejected, "spans", p))
            .unwrap_or_default();
        let accepted = indexed.spans.len();
        self.store.insert(indexed.spans, rejected)?;
        Ok((
            Rejected {
                count: rejected,
                message,
            },
            accepted,
        ))
    }

    pub fn ingest_metrics(&self, request: ExportMetricsServiceRequest) {
        self.store
            .count_other(decode::metric_points(&request), 0, 0);
        if !request.resource_metrics.is_empty() {
            self.append_jsonl(&request);
        }
    }

    pub fn ingest_logs(&self, mut request: ExportLogsServiceRequest) -> Rejected {
        let (accepted, rejected, first) = decode::filter_logs(&mut request);
        self.store.count_other(0, accepted, rejected);
        if accepted > 0 {
            self.append_jsonl(&request);
        }
        Rejected {
            count: rejected,
            message: first
                .map(|p| decode::rejection_message(rejected, "log records", &p))
                .unwrap_or_default(),
        }
    }

    fn append_jsonl(&self, request: &impl serde::Serialize) {
        if let Some(sink) = &self.jsonl {
            sink.append(request);
        }
    }
}

/// Namespace for starting the receiver (see [`Receiver::start`]).
#[derive(Debug)]
pub struct Receiver;

impl Receiver {
    /// Binds both listeners and starts serving on the current tokio runtime.
    pub async fn start(config: ReceiverConfig) -> Result<ReceiverHandle, ReceiveError> {
        if config.max_spans == 0 {
            return Err(ReceiveError::ZeroCapacity);
        }
        for addr in [config.grpc_listen, config.http_listen] {
            if !addr.ip().is_loopback() && config.token.is_none() {
                return Err(ReceiveError::NonLoopbackWithoutToken { addr });
            }
        }
        let jsonl = match &config.jsonl {
            Some(path) => {
                Some(
                    jsonl::JsonlSink::open(path).map_err(|source| ReceiveError::Jsonl {
                        path: path.clone(),
                        source,
                    })?,
                )
            }
            None => None,
        };
        let grpc_listener = bind("gRPC", config.grpc_listen).await?;
        let http_listener = bind("HTTP", config.http_listen).await?;
        let grpc_addr = local_addr("gRPC", config.grpc_listen, &grpc_listener)?;
        let http_addr = local_addr("HTTP", config.http_listen, &http_listener)?;
        let shared = Arc::new(Shared {
            store: Arc::new(Store::new(config.max_spans, config.on_full)),
            jsonl,
            token: config.token,
            max_body_bytes: config.max_body_bytes,
            ui: config.ui,
            health: config.metrics_url.filter(|_| config.ui).map(|url| {
                crate::ui::health::Health::new(
                    url,
                    config.metrics_interval,
                    config.memory_limit_mib,
                )
            }),
        });
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let mut tasks = vec![
            tokio::spawn(grpc::serve(
                grpc_listener,
                shared.clone(),
                wait_for(stopped.clone()),
            )),
            tokio::spawn(http::serve(
                http_listener,
                shared.clone(),
                wait_for(stopped.clone()),
            )),
        ];
        if let Some(health) = &shared.health {
            tasks.push(tokio::spawn(crate::ui::health::watch(
                health.clone(),
                wait_for(stopped),
            )));
        }
        Ok(ReceiverHandle {
            grpc_addr,
            http_addr,
            shared,
            stop,
            tasks,
        })
    }
}

async fn bind(
    protocol: &'static str,
    addr: SocketAddr,
) -> Result<tokio::net::TcpListener, ReceiveError> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ReceiveError::Bind {
            protocol,
            addr,
            source,
        })
}

fn local_addr(
    protocol: &'static str,
    addr: SocketAddr,
    listener: &tokio::net::TcpListener,
) -> Result<SocketAddr, ReceiveError> {
    listener.local_addr().map_err(|source| ReceiveError::Bind {
        protocol,
        addr,
        source,
    })
}

async fn wait_for(mut stopped: tokio::sync::watch::Receiver<bool>) {
    // An error means the handle is gone, which also means stop.
    let _ = stopped.wait_for(|stop| *stop).await;
}

/// A running receiver. Dropping it does not stop the listeners; call
/// [`ReceiverHandle::shutdown`].
#[derive(Debug)]
pub struct ReceiverHandle {
    grpc_addr: SocketAddr,
    http_addr: SocketAddr,
    shared: Arc<Shared>,
    stop: tokio::sync::watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl ReceiverHandle {
    /// The bound OTLP/gRPC address (the real port when 0 was asked for).
    pub fn grpc_addr(&self) -> SocketAddr {
        self.grpc_addr
    }

    /// The bound OTLP/HTTP address; the query API lives here too.
    pub fn http_addr(&self) -> SocketAddr {
        self.http_addr
    }

    pub fn store(&self) -> &Arc<Store> {
        &self.shared.store
    }

    /// Stops accepting, gives in-flight requests a moment to finish (idle
    /// keep-alive connections from exporters are then cut rather than
    /// waited for), flushes the JSONL file and returns the final summary.
    pub async fn shutdown(self) -> Summary {
        let _ = self.stop.send(true);
        for mut task in self.tasks {
            if tokio::time::timeout(SHUTDOWN_GRACE, &mut task)
                .await
                .is_err()
            {
                task.abort();
            }
        }
        if let Some(sink) = &self.shared.jsonl {
            sink.flush();
        }
        self.shared.store.summary()
    }
}
