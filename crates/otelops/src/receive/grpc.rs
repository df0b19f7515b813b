//! OTLP/gRPC: the three collector services over tonic, sharing the HTTP
//! side's ingest path. tonic's prost codec decodes on the connection's task,
//! outside the store lock; gzip request compression is accepted.

use std::future::Future;
use std::sync::Arc;

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
use std::convert::Infallible;
use std::task::{Context, Poll};

use tonic::codec::{CompressionEncoding, EnabledCompressionEncodings};
use tonic::codegen::{Body as HttpBody, BoxFuture, StdError, http};
use tonic::server::{NamedService, UnaryService};
use tonic::{Request, Response, Status};

use super::Shared;
use super::wire::LazyTraceRequest;

#[derive(Debug, Clone)]
struct Otlp(Arc<Shared>);

impl Otlp {
    fn authorize<T>(&self, request: &Request<T>) -> Result<(), Status> {
        let header = request
            .metadata()
            .get("authorization")
            .map(|v| v.as_bytes());
        if self.0.authorized(header) {
            Ok(())
        } else {
            Err(Status::unauthenticated(
                "missing or wrong bearer token in authorization",
            ))
        }
    }
}

#[tonic::async_trait]
impl TraceService for Otlp {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        self.authorize(&request)?;
        // UNAVAILABLE is the retryable code the OTLP spec names for a
        // receiver that is temporarily out of room.
        let rejected = self
            .0
            .ingest_traces(request.into_inner())
            .map_err(|full| Status::unavailable(full.to_string()))?;
        Ok(Response::new(ExportTraceServiceResponse {
            partial_success: rejected.into_trace_partial(),
        }))
    }
}

#[tonic::async_trait]
impl MetricsService for Otlp {
    async fn export(
        &self,
        request: Request<ExportMetricsServiceRequest>,
    ) -> Result<Response<ExportMetricsServiceResponse>, Status> {
        self.authorize(&request)?;
        self.0.ingest_metrics(request.into_inner());
        Ok(Response::new(ExportMetricsServiceResponse {
            partial_success: None,
        }))
    }
}

#[tonic::async_trait]
impl LogsService for Otlp {
    async fn export(
        &self,
        request: Request<ExportLogsServiceRequest>,
    ) -> Result<Response<ExportLogsServiceResponse>, Status> {
        self.authorize(&request)?;
        let rejected = self.0.ingest_logs(request.into_inner());
        Ok(Response::new(ExportLogsServiceResponse {
            partial_success: rejected.into_logs_partial(),
        }))
    }
}

/// The trace service as tonic's generated server would route it, but
/// decoding into [`LazyTraceRequest`] so spans stay encoded (the gRPC side
/// of the fast path). Hand-routed because the generated server fixes its
/// codec to the fully decoded request type.
#[derive(Debug, Clone)]
struct LazyTraceService {
    otlp: Otlp,
    max_decoding_message_size: usize,
}

const TRACE_EXPORT_PATH: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

impl NamedService for LazyTraceService {
    const NAME: &'static str = "opentelemetry.proto.collector.trace.v1.TraceService";
}

impl UnaryService<LazyTraceRequest> for Otlp {
    type Response = ExportTraceServiceResponse;
    type Future = BoxFuture<Response<ExportTraceServiceResponse>, Status>;

    fn call(&mut self, request: Request<LazyTraceRequest>) -> Self::Future {
        let this = self.clone();
        Box::pin(async move {
            this.authorize(&request)?;
            let rejected = this
                .0
                .ingest_traces_lazy(request.into_inner())
                .map_err(|err| Status::invalid_argument(err.to_string()))?
                .map_err(|full| Status::unavailable(full.to_string()))?;
            Ok(Response::new(ExportTraceServiceResponse {
                partial_success: rejected.into_trace_partial(),
            }))
        })
    }
}

impl<B> tonic::codegen::Service<http::Request<B>> for LazyTraceService
where
    B: HttpBody + Send + 'static,
    B::Error: Into<StdError> + Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let this = self.clone();
        Box::pin(async move {
            if request.uri().path() != TRACE_EXPORT_PATH {
                return Ok(Status::unimplemented("unknown method").into_http());
            }
            let mut accept = EnabledCompressionEncodings::default();
            accept.enable(CompressionEncoding::Gzip);
            let codec =
                tonic_prost::ProstCodec::<ExportTraceServiceResponse, LazyTraceRequest>::default();
            let mut grpc = tonic::server::Grpc::new(codec)
                .apply_compression_config(accept, EnabledCompressionEncodings::default())
                .apply_max_message_size_config(Some(this.max_decoding_message_size), None);
            Ok(grpc.unary(this.otlp, request).await)
        })
    }
}

/// HTTP/2 flow-control windows and frame size of the gRPC listener.
const GRPC_STREAM_WINDOW: u32 = 4 << 20;
const GRPC_CONNECTION_WINDOW: u32 = 8 << 20;
const GRPC_MAX_FRAME: u32 = 1 << 20;

pub(crate) async fn serve(
    listener: tokio::net::TcpListener,
    shared: Arc<Shared>,
    stop: impl Future<Output = ()> + Send + 'static,
) {
    let limit = shared.max_body_bytes;
    // A JSONL copy needs the decoded request; without one, spans stay encoded.
    let jsonl = shared.jsonl.is_some();
    let otlp = Otlp(shared);
    let result = tonic::transport::Server::builder()
        // An export request is typically 100 KiB-1 MiB. With HTTP/2's
        // defaults (64 KiB windows, 16 KiB frames) each one arrives as
        // dozens of DATA frames and stalls for WINDOW_UPDATEs: wider
        // windows and larger frames let a request arrive in a few frames.
        .initial_stream_window_size(GRPC_STREAM_WINDOW)
        .initial_connection_window_size(GRPC_CONNECTION_WINDOW)
        .max_frame_size(GRPC_MAX_FRAME)
        .add_optional_service(jsonl.then(|| {
            TraceServiceServer::new(otlp.clone())
                .accept_compressed(CompressionEncoding::Gzip)
                .max_decoding_message_size(limit)
        }))
        .add_optional_service((!jsonl).then(|| LazyTraceService {
            otlp: otlp.clone(),
            max_decoding_message_size: limit,
        }))
        .add_service(
            MetricsServiceServer::new(otlp.clone())
                .accept_compressed(CompressionEncoding::Gzip)
                .max_decoding_message_size(limit),
        )
        .add_service(
            LogsServiceServer::new(otlp)
                .accept_compressed(CompressionEncoding::Gzip)
                .max_decoding_message_size(limit),
        )
        .serve_with_incoming_shutdown(tonic::transport::server::TcpIncoming::from(listener), stop)
        .await;
    if let Err(err) = result {
        eprintln!("otelops receive: OTLP/gRPC server stopped: {err}");
    }
}
