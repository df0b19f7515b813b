//! A downstream OTLP/gRPC trace receiver that can be stopped and started
//! again on the same port, keeping what it received: the collector's
//! exporter is pointed at a fixed port, and "downstream down" must mean
//! connection refused, then "back" on that same port.
//!
//! Hand-written (on tonic + opentelemetry-proto) because
//! `parker_telemetry::testing::OtlpSink` binds a fresh :0 port per start.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

#[derive(Default, Debug)]
struct Received {
    /// span id → times received (more than once = redelivered).
    spans: HashMap<[u8; 8], u32>,
    requests: usize,
}

#[derive(Clone, Default)]
struct Svc(Arc<Mutex<Received>>);

#[tonic::async_trait]
impl TraceService for Svc {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let req = request.into_inner();
        let mut r = self.0.lock().expect("sink lock");
        r.requests += 1;
        for span in req
            .resource_spans
            .iter()
            .flat_map(|rs| &rs.scope_spans)
            .flat_map(|ss| &ss.spans)
        {
            let id: [u8; 8] = span.span_id.as_slice().try_into().unwrap_or([0; 8]);
            *r.spans.entry(id).or_default() += 1;
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

pub struct Sink {
    pub port: u16,
    svc: Svc,
    running: Option<(oneshot::Sender<()>, JoinHandle<()>)>,
}

impl Sink {
    /// Serves on 127.0.0.1:`port` (retrying the bind ≤ 5 s).
    pub async fn start(port: u16) -> Sink {
        let mut s = Sink {
            port,
            svc: Svc::default(),
            running: None,
        };
        s.up().await;
        s
    }

    /// Starts serving again on the same port; received spans are kept.
    pub async fn up(&mut self) {
        assert!(self.running.is_none(), "sink already running");
        let addr = format!("127.0.0.1:{}", self.port);
        let listener = super::wait_until(
            &format!("binding the sink on {addr}"),
            Duration::from_secs(5),
            || async {
                tokio::net::TcpListener::bind(&addr)
                    .await
                    .map_err(|e| e.to_string())
            },
        )
        .await;
        let (tx, rx) = oneshot::channel::<()>();
        let server = tonic::transport::Server::builder()
            .add_service(
                // The collector's otlp_grpc exporter compresses with gzip by default.
                TraceServiceServer::new(self.svc.clone())
                    .accept_compressed(tonic::codec::CompressionEncoding::Gzip),
            )
            .serve_with_incoming_shutdown(
                tonic::transport::server::TcpIncoming::from(listener),
                async {
                    let _ = rx.await;
                },
            );
        let task = tokio::spawn(async move {
            let _ = server.await;
        });
        self.running = Some((tx, task));
    }

    /// Stops listening and closes the collector's connections (graceful
    /// shutdown sends GOAWAY), so the next export attempt is refused.
    pub async fn down(&mut self) {
        let (tx, task) = self.running.take().expect("sink not running");
        let _ = tx.send(());
        if tokio::time::timeout(Duration::from_secs(10), task)
            .await
            .is_err()
        {
            panic!(
                "the downstream sink on port {} did not stop within 10 s",
                self.port
            );
        }
    }

    /// Distinct span ids received.
    pub fn unique(&self) -> usize {
        self.svc.0.lock().expect("sink lock").spans.len()
    }

    /// Spans received including redeliveries.
    pub fn total(&self) -> usize {
        self.svc
            .0
            .lock()
            .expect("sink lock")
            .spans
            .values()
            .map(|n| *n as usize)
            .sum()
    }

    pub fn ids(&self) -> Vec<[u8; 8]> {
        self.svc
            .0
            .lock()
            .expect("sink lock")
            .spans
            .keys()
            .copied()
            .collect()
    }

    pub fn requests(&self) -> usize {
        self.svc.0.lock().expect("sink lock").requests
    }

    /// Waits (≤ `timeout`) until at least `n` distinct spans arrived.
    pub async fn wait_unique(&self, n: usize, timeout: Duration) {
        super::wait_until(
            &format!("{n} distinct spans at the downstream sink"),
            timeout,
            || async {
                let u = self.unique();
                if u >= n {
                    Ok(())
                } else {
                    Err(format!("{u} distinct spans"))
                }
            },
        )
        .await
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        if let Some((tx, task)) = self.running.take() {
            let _ = tx.send(());
            task.abort();
        }
    }
}
