//! A loopback OTLP trace receiver (gRPC and HTTP/protobuf) that answers
//! each request from a script, for what `OtlpSink` cannot script: any
//! HTTP status with any `Retry-After`, any gRPC code with or without
//! RetryInfo, partial success. Once the script is spent it accepts.
//! Include with `#[path = "common/scripted_receiver.rs"] mod scripted_receiver;`.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::task::JoinHandle;

/// The answer to one request.
#[derive(Clone, Debug)]
pub enum Reply {
    /// An HTTP status (on the HTTP port), with `Retry-After` if given.
    Http {
        status: u16,
        retry_after: Option<String>,
    },
    /// A gRPC status (on the gRPC port), with a RetryInfo delay if given.
    Grpc {
        code: tonic::Code,
        retry_info: Option<Duration>,
    },
    /// Accepted (either port), reporting a partial success.
    Partial { rejected: i64, message: String },
}

#[derive(Default)]
struct Script {
    replies: VecDeque<Reply>,
    attempts: usize,
    accepted_spans: usize,
}

#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Script>>);

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Script> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts the attempt; returns the scripted reply, or `None` to accept
    /// (counting the spans).
    fn answer(&self, request: &ExportTraceServiceRequest) -> Option<Reply> {
        let mut script = self.lock();
        script.attempts += 1;
        let reply = script.replies.pop_front();
        if matches!(reply, None | Some(Reply::Partial { .. })) {
            script.accepted_spans += request
                .resource_spans
                .iter()
                .flat_map(|r| &r.scope_spans)
                .map(|s| s.spans.len())
                .sum::<usize>();
        }
        reply
    }
}

pub struct ScriptedReceiver {
    shared: Shared,
    http: SocketAddr,
    grpc: SocketAddr,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for ScriptedReceiver {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl ScriptedReceiver {
    /// Binds 127.0.0.1:0 twice and serves on the current runtime.
    pub async fn start(script: impl IntoIterator<Item = Reply>) -> ScriptedReceiver {
        let shared = Shared::default();
        shared.lock().replies = script.into_iter().collect();
        let http = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0 (HTTP)");
        let grpc = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0 (gRPC)");
        let (http_addr, grpc_addr) = (
            http.local_addr().expect("HTTP address"),
            grpc.local_addr().expect("gRPC address"),
        );
        let app = axum::Router::new()
            .route("/v1/traces", axum::routing::post(http_traces))
            .with_state(shared.clone());
        let http_task = tokio::spawn(async move {
            let _ = axum::serve(http, app).await;
        });
        let grpc_server = tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(GrpcScript(shared.clone())))
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(grpc));
        let grpc_task = tokio::spawn(async move {
            let _ = grpc_server.await;
        });
        ScriptedReceiver {
            shared,
            http: http_addr,
            grpc: grpc_addr,
            tasks: vec![http_task, grpc_task],
        }
    }

    /// `http://127.0.0.1:PORT` of the HTTP port (the exporter appends `/v1/traces`).
    pub fn http_endpoint(&self) -> String {
        format!("http://{}", self.http)
    }

    pub fn grpc_endpoint(&self) -> String {
        format!("http://{}", self.grpc)
    }

    /// Requests received, answered or accepted.
    pub fn attempts(&self) -> usize {
        self.shared.lock().attempts
    }

    /// Spans in the requests that were accepted (fully or partly).
    pub fn accepted_spans(&self) -> usize {
        self.shared.lock().accepted_spans
    }
}

fn partial(rejected: i64, message: String) -> ExportTraceServiceResponse {
    ExportTraceServiceResponse {
        partial_success: Some(ExportTracePartialSuccess {
            rejected_spans: rejected,
            error_message: message,
        }),
    }
}

async fn http_traces(State(shared): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let protobuf = headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v == "application/x-protobuf");
    let Some(request) = protobuf
        .then(|| ExportTraceServiceRequest::decode(body).ok())
        .flatten()
    else {
        return (StatusCode::BAD_REQUEST, "expected an OTLP/protobuf body").into_response();
    };
    let response = match shared.answer(&request) {
        None => ExportTraceServiceResponse::default(),
        Some(Reply::Partial { rejected, message }) => partial(rejected, message),
        Some(Reply::Http {
            status,
            retry_after,
        }) => {
            let status = StatusCode::from_u16(status).expect("scripted status is valid");
            let mut r = (status, "scripted").into_response();
            if let Some(v) = retry_after {
                r.headers_mut()
                    .insert(header::RETRY_AFTER, v.parse().expect("valid header value"));
            }
            return r;
        }
        Some(other) => panic!("scripted {other:?} for an HTTP request"),
    };
    (
        [(header::CONTENT_TYPE, "application/x-protobuf")],
        response.encode_to_vec(),
    )
        .into_response()
}

struct GrpcScript(Shared);

#[tonic::async_trait]
impl TraceService for GrpcScript {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        use tonic_types::{ErrorDetails, StatusExt};
        match self.0.answer(request.get_ref()) {
            None => Ok(tonic::Response::new(ExportTraceServiceResponse::default())),
            Some(Reply::Partial { rejected, message }) => {
                Ok(tonic::Response::new(partial(rejected, message)))
            }
            Some(Reply::Grpc {
                code,
                retry_info: None,
            }) => Err(tonic::Status::new(code, "scripted")),
            Some(Reply::Grpc {
                code,
                retry_info: Some(delay),
            }) => Err(tonic::Status::with_error_details(
                code,
                "scripted",
                ErrorDetails::with_retry_info(Some(delay)),
            )),
            Some(other) => panic!("scripted {other:?} for a gRPC request"),
        }
    }
}
