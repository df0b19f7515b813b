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
use tonic::codec::CompressionEncoding;
use tonic::{Request, Response, Status};

use super::Shared;

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

pub(crate) async fn serve(
    listener: tokio::net::TcpListener,
    shared: Arc<Shared>,
    stop: impl Future<Output = ()> + Send + 'static,
) {
    let limit = shared.max_body_bytes;
    let otlp = Otlp(shared);
    let result = tonic::transport::Server::builder()
        .add_service(
            TraceServiceServer::new(otlp.clone())
                .accept_compressed(CompressionEncoding::Gzip)
                .max_decoding_message_size(limit),
        )
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
