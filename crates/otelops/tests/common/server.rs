//! A fake collector for the health, monitor and tune tests: a real
//! collector-shaped HTTP server on 127.0.0.1:0 (metric pages in sequence,
//! health v1/v2, OTLP/HTTP, zPages, slow and garbage responses, a webhook
//! sink), a real OTLP gRPC endpoint, and synthetic metric pages.
#![allow(dead_code)] // each test file uses a different part

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU16, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};

use crate::common::fixture_text;

/// What the fake collector answers; tests change it while it runs.
#[derive(Default)]
pub struct Behaviour {
    pub pages: Mutex<Vec<String>>,
    page_index: AtomicUsize,
    pub health: Mutex<Option<(u16, String)>>,
    pub health_v2: Mutex<Option<(u16, String)>>,
    /// HTTP status for POST /v1/traces (0 = 200).
    pub otlp_http_status: AtomicU16,
    /// Delay before answering `/metrics` and `/`, in ms.
    pub delay_ms: AtomicU64,
    pub zpages_ok: Mutex<bool>,
    pub alerts: Mutex<Vec<serde_json::Value>>,
    pub metrics_hits: AtomicUsize,
}

pub struct TestServer {
    pub addr: SocketAddr,
    pub grpc_addr: SocketAddr,
    pub behaviour: Arc<Behaviour>,
    grpc_ok: Arc<Mutex<bool>>,
    // Kept alive for the test; dropping it stops both servers.
    _rt: tokio::runtime::Runtime,
}

impl TestServer {
    /// Serves `pages` at `/metrics` in order (the last one repeats), a
    /// healthy v1 health check, OTLP/HTTP and zPages; `/status` (v2) is 404
    /// until set.
    pub fn start(pages: Vec<String>) -> TestServer {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("test runtime");
        let behaviour = Arc::new(Behaviour {
            pages: Mutex::new(pages),
            health: Mutex::new(Some((200, fixture_text("otelcol-v0.165-health.json")))),
            zpages_ok: Mutex::new(true),
            ..Behaviour::default()
        });
        let grpc_ok = Arc::new(Mutex::new(true));
        let (addr, grpc_addr) = rt.block_on(async {
            let http = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind http");
            let grpc = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind grpc");
            let addrs = (http.local_addr().unwrap(), grpc.local_addr().unwrap());
            let app = Router::new()
                .route("/metrics", get(metrics))
                .route("/", get(health))
                .route("/status", get(health_v2))
                .route("/v1/traces", post(otlp_http))
                .route("/debug/servicez", get(zpages))
                .route("/debug/pipelinez", get(zpages))
                .route("/alerts", post(alerts))
                .with_state(behaviour.clone());
            tokio::spawn(async move {
                let _ = axum::serve(http, app).await;
            });
            let svc = TraceServiceServer::new(Traces(grpc_ok.clone()));
            tokio::spawn(async move {
                let _ = tonic::transport::Server::builder()
                    .add_service(svc)
                    .serve_with_incoming(tonic::transport::server::TcpIncoming::from(grpc))
                    .await;
            });
            addrs
        });
        TestServer {
            addr,
            grpc_addr,
            behaviour,
            grpc_ok,
            _rt: rt,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn set_grpc_ok(&self, ok: bool) {
        *self.grpc_ok.lock().unwrap() = ok;
    }

    /// Flags pointing every `otelops health` check at this server.
    pub fn health_flags(&self) -> Vec<String> {
        vec![
            "--health-url".into(),
            self.url("/"),
            "--metrics-url".into(),
            self.url("/metrics"),
            "--otlp-grpc".into(),
            format!("http://{}", self.grpc_addr),
            "--otlp-http".into(),
            self.url(""),
            "--zpages-url".into(),
            self.url(""),
        ]
    }
}

async fn delay(b: &Behaviour) {
    let ms = b.delay_ms.load(Ordering::SeqCst);
    if ms > 0 {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
}

async fn metrics(State(b): State<Arc<Behaviour>>) -> (StatusCode, String) {
    delay(&b).await;
    b.metrics_hits.fetch_add(1, Ordering::SeqCst);
    let pages = b.pages.lock().unwrap();
    if pages.is_empty() {
        return (StatusCode::NOT_FOUND, "no pages".into());
    }
    let i = b
        .page_index
        .fetch_add(1, Ordering::SeqCst)
        .min(pages.len() - 1);
    (StatusCode::OK, pages[i].clone())
}

async fn health(State(b): State<Arc<Behaviour>>) -> (StatusCode, String) {
    delay(&b).await;
    match b.health.lock().unwrap().clone() {
        Some((code, body)) => (StatusCode::from_u16(code).unwrap(), body),
        None => (StatusCode::NOT_FOUND, "404 page not found".into()),
    }
}

async fn health_v2(State(b): State<Arc<Behaviour>>) -> (StatusCode, String) {
    match b.health_v2.lock().unwrap().clone() {
        Some((code, body)) => (StatusCode::from_u16(code).unwrap(), body),
        None => (StatusCode::NOT_FOUND, "404 page not found".into()),
    }
}

async fn otlp_http(
    State(b): State<Arc<Behaviour>>,
    body: axum::body::Bytes,
) -> (StatusCode, Vec<u8>) {
    // A real receiver decodes the request; an empty export is valid protobuf.
    use prost::Message;
    if ExportTraceServiceRequest::decode(body.as_ref()).is_err() {
        return (StatusCode::BAD_REQUEST, b"bad protobuf".to_vec());
    }
    match b.otlp_http_status.load(Ordering::SeqCst) {
        0 => (
            StatusCode::OK,
            ExportTraceServiceResponse::default().encode_to_vec(),
        ),
        code => (StatusCode::from_u16(code).unwrap(), b"refused".to_vec()),
    }
}

async fn zpages(State(b): State<Arc<Behaviour>>) -> (StatusCode, &'static str) {
    if *b.zpages_ok.lock().unwrap() {
        (StatusCode::OK, "<html><body>zpages</body></html>")
    } else {
        (StatusCode::NOT_FOUND, "404 page not found")
    }
}

async fn alerts(
    State(b): State<Arc<Behaviour>>,
    axum::Json(v): axum::Json<serde_json::Value>,
) -> StatusCode {
    b.alerts.lock().unwrap().push(v);
    StatusCode::OK
}

struct Traces(Arc<Mutex<bool>>);

#[tonic::async_trait]
impl TraceService for Traces {
    async fn export(
        &self,
        _req: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        if *self.0.lock().unwrap() {
            Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
        } else {
            Err(tonic::Status::unavailable(
                "data refused due to high memory usage",
            ))
        }
    }
}

/// A synthetic page in the current collector's names.
pub fn page(
    queue_size: u32,
    accepted: u32,
    refused: u32,
    sent: u32,
    failed: u32,
    rss_mib: u32,
) -> String {
    format!(
        "# TYPE otelcol_exporter_queue_size gauge\n\
         otelcol_exporter_queue_size{{data_type=\"traces\",exporter=\"otlp\"}} {queue_size}\n\
         # TYPE otelcol_exporter_queue_capacity gauge\n\
         otelcol_exporter_queue_capacity{{data_type=\"traces\",exporter=\"otlp\"}} 1000\n\
         # TYPE otelcol_exporter_sent_spans counter\n\
         otelcol_exporter_sent_spans{{exporter=\"otlp\"}} {sent}\n\
         # TYPE otelcol_exporter_send_failed_spans counter\n\
         otelcol_exporter_send_failed_spans{{exporter=\"otlp\"}} {failed}\n\
         # TYPE otelcol_receiver_accepted_spans counter\n\
         otelcol_receiver_accepted_spans{{receiver=\"otlp\",transport=\"grpc\"}} {accepted}\n\
         # TYPE otelcol_receiver_refused_spans counter\n\
         otelcol_receiver_refused_spans{{receiver=\"otlp\",transport=\"grpc\"}} {refused}\n\
         # TYPE otelcol_process_memory_rss gauge\n\
         otelcol_process_memory_rss {}\n",
        u64::from(rss_mib) * 1024 * 1024
    )
}
