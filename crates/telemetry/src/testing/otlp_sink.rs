//! [`OtlpSink`]: a real OTLP receiver on 127.0.0.1 for tests — gRPC (tonic,
//! gzip accepted) on one port, HTTP `/v1/{traces,metrics,logs}` with
//! protobuf or JSON bodies (gzip accepted) on another — built on the
//! opentelemetry-proto message types. It stores every decoded request, can
//! be scripted to fail (503 + Retry-After, 400, gRPC UNAVAILABLE) and
//! flattens spans and logs into structs that are easy to assert on.

use axum::body::Bytes;
use axum::extract::State as AxumState;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_server::{
    LogsService, LogsServiceServer,
};
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::metrics::v1::ResourceMetrics;
use std::collections::VecDeque;
use std::io::Read;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::task::JoinHandle;
use tonic::codec::CompressionEncoding;

mod flatten;
mod tls;

pub use flatten::{
    SinkEvent, SinkLink, SinkLog, SinkSpan, any_value_string, flatten_logs, flatten_spans,
};
pub use tls::SinkTls;

/// A scripted answer to the next export request (any signal, either port).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// HTTP 503 (with `Retry-After: <secs>` when given) / gRPC UNAVAILABLE
    /// (with a RetryInfo delay when given).
    Unavailable { retry_after_secs: Option<u64> },
    /// HTTP 429 / gRPC RESOURCE_EXHAUSTED with RetryInfo(100 ms).
    TooManyRequests,
    /// HTTP 400 / gRPC INVALID_ARGUMENT: not retryable.
    BadRequest,
}

/// Which port a request came in on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    Grpc,
    Http,
}

/// One export request as received, whether it was accepted or failed.
#[derive(Clone, Debug)]
pub struct Attempt {
    pub transport: Transport,
    /// `traces`, `metrics` or `logs`.
    pub signal: &'static str,
    pub headers: HeaderMap,
    /// The scripted failure answered, `None` when accepted.
    pub failure: Option<Failure>,
}

#[derive(Default)]
struct Store {
    traces: Vec<ExportTraceServiceRequest>,
    metrics: Vec<ExportMetricsServiceRequest>,
    logs: Vec<ExportLogsServiceRequest>,
    failures: VecDeque<Failure>,
    attempts: Vec<Attempt>,
}

#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Store>>);

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Store> {
        // A panicking test thread must not hide later assertions.
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records the attempt; returns the scripted failure to answer, if any.
    fn attempt(
        &self,
        transport: Transport,
        signal: &'static str,
        headers: HeaderMap,
    ) -> Option<Failure> {
        let mut store = self.lock();
        let failure = store.failures.pop_front();
        store.attempts.push(Attempt {
            transport,
            signal,
            headers,
            failure: failure.clone(),
        });
        failure
    }
}

/// The receiver. Dropping it stops both servers.
pub struct OtlpSink {
    shared: Shared,
    grpc_addr: SocketAddr,
    http_addr: SocketAddr,
    scheme: &'static str,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for OtlpSink {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl OtlpSink {
    /// Binds 127.0.0.1:0 twice (gRPC, HTTP) and serves on the current runtime.
    pub async fn start() -> OtlpSink {
        Self::start_with(None).await
    }

    /// As [`start`](Self::start), over TLS (mTLS when `tls.client_ca_pem`
    /// is set); the endpoints are then `https://127.0.0.1:PORT`.
    pub async fn start_tls(tls: SinkTls) -> OtlpSink {
        Self::start_with(Some(tls)).await
    }

    async fn start_with(tls: Option<SinkTls>) -> OtlpSink {
        let shared = Shared::default();
        let grpc = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0 for the gRPC sink");
        let http = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0 for the HTTP sink");
        let grpc_addr = grpc.local_addr().expect("gRPC sink address");
        let http_addr = http.local_addr().expect("HTTP sink address");

        let svc = GrpcSink(shared.clone());
        let mut server = tonic::transport::Server::builder();
        if let Some(tls) = &tls {
            server = server.tls_config(tls.tonic()).expect("sink TLS config");
        }
        let grpc_server = server
            .add_service(
                TraceServiceServer::new(svc.clone()).accept_compressed(CompressionEncoding::Gzip),
            )
            .add_service(
                MetricsServiceServer::new(svc.clone()).accept_compressed(CompressionEncoding::Gzip),
            )
            .add_service(LogsServiceServer::new(svc).accept_compressed(CompressionEncoding::Gzip))
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(grpc));
        let grpc_task = tokio::spawn(async move {
            let _ = grpc_server.await;
        });

        let app = axum::Router::new()
            .route("/v1/traces", axum::routing::post(http_traces))
            .route("/v1/metrics", axum::routing::post(http_metrics))
            .route("/v1/logs", axum::routing::post(http_logs))
            .with_state(shared.clone());
        let http_task = match &tls {
            Some(tls) => tokio::spawn(tls::serve_https(http, app, tls.acceptor())),
            None => tokio::spawn(async move {
                let _ = axum::serve(http, app).await;
            }),
        };

        OtlpSink {
            shared,
            grpc_addr,
            http_addr,
            scheme: if tls.is_some() { "https" } else { "http" },
            tasks: vec![grpc_task, http_task],
        }
    }

    /// `http://127.0.0.1:PORT` (`https` with TLS) of the gRPC listener.
    pub fn grpc_endpoint(&self) -> String {
        format!("{}://{}", self.scheme, self.grpc_addr)
    }

    /// `http://127.0.0.1:PORT` (`https` with TLS) of the HTTP listener
    /// (append `/v1/traces` …).
    pub fn http_endpoint(&self) -> String {
        format!("{}://{}", self.scheme, self.http_addr)
    }

    /// Scripts the answers to the next requests, in order; afterwards
    /// requests are accepted again.
    pub fn set_failures(&self, failures: impl IntoIterator<Item = Failure>) {
        self.shared.lock().failures = failures.into_iter().collect();
    }

    /// Every export request received so far, accepted or not.
    pub fn attempts(&self) -> Vec<Attempt> {
        self.shared.lock().attempts.clone()
    }

    /// Accepted trace requests, as received.
    pub fn trace_requests(&self) -> Vec<ExportTraceServiceRequest> {
        self.shared.lock().traces.clone()
    }

    /// Accepted spans, flattened.
    pub fn spans(&self) -> Vec<SinkSpan> {
        flatten_spans(&self.shared.lock().traces)
    }

    /// Accepted metrics, as received.
    pub fn metrics(&self) -> Vec<ResourceMetrics> {
        self.shared
            .lock()
            .metrics
            .iter()
            .flat_map(|r| r.resource_metrics.clone())
            .collect()
    }

    /// Names of all metrics received.
    pub fn metric_names(&self) -> Vec<String> {
        self.metrics()
            .iter()
            .flat_map(|rm| &rm.scope_metrics)
            .flat_map(|sm| &sm.metrics)
            .map(|m| m.name.clone())
            .collect()
    }

    /// Accepted log records, flattened.
    pub fn logs(&self) -> Vec<SinkLog> {
        flatten_logs(&self.shared.lock().logs)
    }

    /// Polls [`spans`](Self::spans) until `pred` holds; panics with what
    /// arrived if it does not within `timeout`.
    pub async fn wait_for_spans(
        &self,
        pred: impl Fn(&[SinkSpan]) -> bool,
        timeout: Duration,
    ) -> Vec<SinkSpan> {
        self.wait_for("spans", || self.spans(), |s| pred(s), timeout)
            .await
    }

    /// As [`wait_for_spans`](Self::wait_for_spans), for log records.
    pub async fn wait_for_logs(
        &self,
        pred: impl Fn(&[SinkLog]) -> bool,
        timeout: Duration,
    ) -> Vec<SinkLog> {
        self.wait_for("logs", || self.logs(), |l| pred(l), timeout)
            .await
    }

    /// Waits until a metric named `name` has arrived.
    pub async fn wait_for_metric(&self, name: &str, timeout: Duration) -> Vec<ResourceMetrics> {
        self.wait_for(
            "metrics",
            || self.metrics(),
            |m| {
                m.iter()
                    .flat_map(|rm| &rm.scope_metrics)
                    .flat_map(|sm| &sm.metrics)
                    .any(|x| x.name == name)
            },
            timeout,
        )
        .await
    }

    /// Waits until at least `n` export requests (any outcome) have arrived.
    pub async fn wait_for_attempts(&self, n: usize, timeout: Duration) -> Vec<Attempt> {
        self.wait_for("attempts", || self.attempts(), |a| a.len() >= n, timeout)
            .await
    }

    async fn wait_for<T: std::fmt::Debug>(
        &self,
        what: &str,
        get: impl Fn() -> Vec<T>,
        pred: impl Fn(&[T]) -> bool,
        timeout: Duration,
    ) -> Vec<T> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let items = get();
            if pred(&items) {
                return items;
            }
            if tokio::time::Instant::now() >= deadline {
                panic!(
                    "OtlpSink: the expected {what} did not arrive within {timeout:?}; received {} {what}: {items:#?}",
                    items.len()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

#[derive(Clone)]
struct GrpcSink(Shared);

/// gRPC has no Retry-After: the delay travels as a google.rpc.RetryInfo
/// detail, which OTLP requires for RESOURCE_EXHAUSTED to be retryable.
fn grpc_failure(f: Failure) -> tonic::Status {
    use tonic_types::{ErrorDetails, StatusExt};
    match f {
        Failure::Unavailable {
            retry_after_secs: None,
        } => tonic::Status::unavailable("scripted: unavailable"),
        Failure::Unavailable {
            retry_after_secs: Some(secs),
        } => tonic::Status::with_error_details(
            tonic::Code::Unavailable,
            "scripted: unavailable",
            ErrorDetails::with_retry_info(Some(Duration::from_secs(secs))),
        ),
        Failure::TooManyRequests => tonic::Status::with_error_details(
            tonic::Code::ResourceExhausted,
            "scripted: too many requests",
            ErrorDetails::with_retry_info(Some(Duration::from_millis(100))),
        ),
        Failure::BadRequest => tonic::Status::invalid_argument("scripted: bad request"),
    }
}

#[tonic::async_trait]
impl TraceService for GrpcSink {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        if let Some(f) = self.0.attempt(
            Transport::Grpc,
            "traces",
            request.metadata().clone().into_headers(),
        ) {
            return Err(grpc_failure(f));
        }
        self.0.lock().traces.push(request.into_inner());
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

#[tonic::async_trait]
impl MetricsService for GrpcSink {
    async fn export(
        &self,
        request: tonic::Request<ExportMetricsServiceRequest>,
    ) -> Result<tonic::Response<ExportMetricsServiceResponse>, tonic::Status> {
        if let Some(f) = self.0.attempt(
            Transport::Grpc,
            "metrics",
            request.metadata().clone().into_headers(),
        ) {
            return Err(grpc_failure(f));
        }
        self.0.lock().metrics.push(request.into_inner());
        Ok(tonic::Response::new(ExportMetricsServiceResponse::default()))
    }
}

#[tonic::async_trait]
impl LogsService for GrpcSink {
    async fn export(
        &self,
        request: tonic::Request<ExportLogsServiceRequest>,
    ) -> Result<tonic::Response<ExportLogsServiceResponse>, tonic::Status> {
        if let Some(f) = self.0.attempt(
            Transport::Grpc,
            "logs",
            request.metadata().clone().into_headers(),
        ) {
            return Err(grpc_failure(f));
        }
        self.0.lock().logs.push(request.into_inner());
        Ok(tonic::Response::new(ExportLogsServiceResponse::default()))
    }
}

/// Decodes an OTLP/HTTP body: gzip if so encoded, then JSON or protobuf by
/// content type.
fn decode<T: prost::Message + Default + serde::de::DeserializeOwned>(
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(T, bool), String> {
    let gzip = headers
        .get(header::CONTENT_ENCODING)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"gzip"));
    let mut plain = Vec::new();
    let bytes: &[u8] = if gzip {
        flate2::read::GzDecoder::new(body)
            .read_to_end(&mut plain)
            .map_err(|e| format!("bad gzip body: {e}"))?;
        &plain
    } else {
        body
    };
    let json = headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if json {
        serde_json::from_slice(bytes)
            .map(|m| (m, true))
            .map_err(|e| format!("bad OTLP/JSON body: {e}"))
    } else {
        T::decode(bytes)
            .map(|m| (m, false))
            .map_err(|e| format!("bad OTLP/protobuf body: {e}"))
    }
}

fn http_failure(f: Failure) -> Response {
    match f {
        Failure::Unavailable { retry_after_secs } => {
            let mut r = (StatusCode::SERVICE_UNAVAILABLE, "scripted: unavailable").into_response();
            if let Some(s) = retry_after_secs {
                r.headers_mut().insert(header::RETRY_AFTER, s.into());
            }
            r
        }
        Failure::TooManyRequests => {
            (StatusCode::TOO_MANY_REQUESTS, "scripted: too many requests").into_response()
        }
        Failure::BadRequest => (StatusCode::BAD_REQUEST, "scripted: bad request").into_response(),
    }
}

fn ok_response<R: prost::Message + Default + serde::Serialize>(json: bool) -> Response {
    let response = R::default();
    if json {
        let body = serde_json::to_vec(&response).unwrap_or_else(|_| b"{}".to_vec());
        ([(header::CONTENT_TYPE, "application/json")], body).into_response()
    } else {
        (
            [(header::CONTENT_TYPE, "application/x-protobuf")],
            response.encode_to_vec(),
        )
            .into_response()
    }
}

async fn http_traces(
    AxumState(shared): AxumState<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(f) = shared.attempt(Transport::Http, "traces", headers.clone()) {
        return http_failure(f);
    }
    match decode::<ExportTraceServiceRequest>(&headers, &body) {
        Ok((req, json)) => {
            shared.lock().traces.push(req);
            ok_response::<ExportTraceServiceResponse>(json)
        }
        Err(e) => (StatusCode::BAD_REQUEST, e).into_response(),
    }
}

async fn http_metrics(
    AxumState(shared): AxumState<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(f) = shared.attempt(Transport::Http, "metrics", headers.clone()) {
        return http_failure(f);
    }
    match decode::<ExportMetricsServiceRequest>(&headers, &body) {
        Ok((req, json)) => {
            shared.lock().metrics.push(req);
            ok_response::<ExportMetricsServiceResponse>(json)
        }
        Err(e) => (StatusCode::BAD_REQUEST, e).into_response(),
    }
}

async fn http_logs(
    AxumState(shared): AxumState<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(f) = shared.attempt(Transport::Http, "logs", headers.clone()) {
        return http_failure(f);
    }
    match decode::<ExportLogsServiceRequest>(&headers, &body) {
        Ok((req, json)) => {
            shared.lock().logs.push(req);
            ok_response::<ExportLogsServiceResponse>(json)
        }
        Err(e) => (StatusCode::BAD_REQUEST, e).into_response(),
    }
}
