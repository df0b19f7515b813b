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
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::ResourceMetrics;
use std::collections::{BTreeMap, VecDeque};
use std::io::Read;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::task::JoinHandle;
use tonic::codec::CompressionEncoding;

/// A scripted answer to the next export request (any signal, either port).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// HTTP 503 (with `Retry-After: <secs>` when given) / gRPC UNAVAILABLE.
    Unavailable { retry_after_secs: Option<u64> },
    /// HTTP 429 / gRPC RESOURCE_EXHAUSTED.
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

/// A span flattened with its resource and scope. Ids are lowercase hex;
/// `parent_span_id` is empty for a root span.
#[derive(Clone, Debug, PartialEq)]
pub struct SinkSpan {
    pub trace_id: String,
    pub span_id: String,
    pub parent_span_id: String,
    pub name: String,
    /// `internal`, `server`, `client`, `producer`, `consumer` or `unspecified`.
    pub kind: String,
    pub attributes: BTreeMap<String, String>,
    pub resource: BTreeMap<String, String>,
    pub scope_name: String,
    pub events: Vec<SinkEvent>,
    pub links: Vec<SinkLink>,
    /// `unset`, `ok` or `error`.
    pub status_code: String,
    pub status_message: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SinkEvent {
    pub name: String,
    pub attributes: BTreeMap<String, String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SinkLink {
    pub trace_id: String,
    pub span_id: String,
    pub attributes: BTreeMap<String, String>,
}

/// A log record flattened with its resource and scope.
#[derive(Clone, Debug, PartialEq)]
pub struct SinkLog {
    pub body: String,
    pub severity_text: String,
    pub severity_number: i32,
    /// Empty when the record was not emitted inside a span.
    pub trace_id: String,
    pub span_id: String,
    pub attributes: BTreeMap<String, String>,
    pub resource: BTreeMap<String, String>,
    pub scope_name: String,
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
        let grpc_server = tonic::transport::Server::builder()
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
        let http_task = tokio::spawn(async move {
            let _ = axum::serve(http, app).await;
        });

        OtlpSink {
            shared,
            grpc_addr,
            http_addr,
            tasks: vec![grpc_task, http_task],
        }
    }

    /// `http://127.0.0.1:PORT` of the gRPC listener.
    pub fn grpc_endpoint(&self) -> String {
        format!("http://{}", self.grpc_addr)
    }

    /// `http://127.0.0.1:PORT` of the HTTP listener (append `/v1/traces` …).
    pub fn http_endpoint(&self) -> String {
        format!("http://{}", self.http_addr)
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

fn grpc_failure(f: Failure) -> tonic::Status {
    match f {
        Failure::Unavailable { .. } => tonic::Status::unavailable("scripted: unavailable"),
        Failure::TooManyRequests => {
            tonic::Status::resource_exhausted("scripted: too many requests")
        }
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

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Renders an attribute value as a string: strings as-is, others in a
/// JSON-like form (`[1, 2]`, `{k: v}`), bytes as hex.
pub fn any_value_string(value: &Option<AnyValue>) -> String {
    match value.as_ref().and_then(|v| v.value.as_ref()) {
        None => String::new(),
        Some(any_value::Value::StringValue(s)) => s.clone(),
        Some(any_value::Value::BoolValue(b)) => b.to_string(),
        Some(any_value::Value::IntValue(i)) => i.to_string(),
        Some(any_value::Value::DoubleValue(d)) => d.to_string(),
        Some(any_value::Value::BytesValue(b)) => hex(b),
        Some(any_value::Value::ArrayValue(a)) => format!(
            "[{}]",
            a.values
                .iter()
                .map(|v| any_value_string(&Some(v.clone())))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Some(any_value::Value::KvlistValue(kv)) => format!(
            "{{{}}}",
            kv.values
                .iter()
                .map(|kv| format!("{}: {}", kv.key, any_value_string(&kv.value)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        #[allow(unreachable_patterns)]
        Some(_) => String::new(),
    }
}

fn attrs(kvs: &[KeyValue]) -> BTreeMap<String, String> {
    kvs.iter()
        .map(|kv| (kv.key.clone(), any_value_string(&kv.value)))
        .collect()
}

fn span_kind(kind: i32) -> &'static str {
    match kind {
        1 => "internal",
        2 => "server",
        3 => "client",
        4 => "producer",
        5 => "consumer",
        _ => "unspecified",
    }
}

fn status_code(code: i32) -> &'static str {
    match code {
        1 => "ok",
        2 => "error",
        _ => "unset",
    }
}

/// Flattens trace requests into one [`SinkSpan`] per span.
pub fn flatten_spans(requests: &[ExportTraceServiceRequest]) -> Vec<SinkSpan> {
    let mut out = Vec::new();
    for rs in requests.iter().flat_map(|r| &r.resource_spans) {
        let resource = rs
            .resource
            .as_ref()
            .map(|r| attrs(&r.attributes))
            .unwrap_or_default();
        for ss in &rs.scope_spans {
            let scope_name = ss
                .scope
                .as_ref()
                .map(|s| s.name.clone())
                .unwrap_or_default();
            for span in &ss.spans {
                let status = span.status.clone().unwrap_or_default();
                out.push(SinkSpan {
                    trace_id: hex(&span.trace_id),
                    span_id: hex(&span.span_id),
                    parent_span_id: hex(&span.parent_span_id),
                    name: span.name.clone(),
                    kind: span_kind(span.kind).to_owned(),
                    attributes: attrs(&span.attributes),
                    resource: resource.clone(),
                    scope_name: scope_name.clone(),
                    events: span
                        .events
                        .iter()
                        .map(|e| SinkEvent {
                            name: e.name.clone(),
                            attributes: attrs(&e.attributes),
                        })
                        .collect(),
                    links: span
                        .links
                        .iter()
                        .map(|l| SinkLink {
                            trace_id: hex(&l.trace_id),
                            span_id: hex(&l.span_id),
                            attributes: attrs(&l.attributes),
                        })
                        .collect(),
                    status_code: status_code(status.code).to_owned(),
                    status_message: status.message,
                });
            }
        }
    }
    out
}

/// Flattens log requests into one [`SinkLog`] per record.
pub fn flatten_logs(requests: &[ExportLogsServiceRequest]) -> Vec<SinkLog> {
    let mut out = Vec::new();
    for rl in requests.iter().flat_map(|r| &r.resource_logs) {
        let resource = rl
            .resource
            .as_ref()
            .map(|r| attrs(&r.attributes))
            .unwrap_or_default();
        for sl in &rl.scope_logs {
            let scope_name = sl
                .scope
                .as_ref()
                .map(|s| s.name.clone())
                .unwrap_or_default();
            for rec in &sl.log_records {
                out.push(SinkLog {
                    body: any_value_string(&rec.body),
                    severity_text: rec.severity_text.clone(),
                    severity_number: rec.severity_number,
                    trace_id: hex(&rec.trace_id),
                    span_id: hex(&rec.span_id),
                    attributes: attrs(&rec.attributes),
                    resource: resource.clone(),
                    scope_name: scope_name.clone(),
                });
            }
        }
    }
    out
}
