//! Sends exactly N spans to a collector, each with a unique span id, over
//! OTLP/HTTP (protobuf) or OTLP/gRPC, and reports what the receiver said.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;

static NEXT: AtomicU64 = AtomicU64::new(1);

/// `n` spans of one trace with fresh ids; `tag` marks the scenario in the
/// id's first byte so ids never collide across scenarios.
pub fn request(tag: u8, n: usize) -> (ExportTraceServiceRequest, Vec<[u8; 8]>) {
    let first = NEXT.fetch_add(n as u64, Ordering::Relaxed);
    let mut trace_id = [0u8; 16];
    trace_id[0] = tag;
    trace_id[8..].copy_from_slice(&first.to_be_bytes());
    let mut ids = Vec::with_capacity(n);
    let spans = (0..n as u64)
        .map(|i| {
            let mut id = (first + i).to_be_bytes();
            id[0] = tag;
            ids.push(id);
            Span {
                trace_id: trace_id.to_vec(),
                span_id: id.to_vec(),
                name: format!("scenario span {}", first + i),
                kind: 2,
                start_time_unix_nano: 1_764_086_400_000_000_000,
                end_time_unix_nano: 1_764_086_400_005_000_000,
                ..Span::default()
            }
        })
        .collect();
    let resource = Resource {
        attributes: vec![KeyValue {
            key: "service.name".into(),
            value: Some(AnyValue {
                value: Some(any_value::Value::StringValue("collector-scenarios".into())),
            }),
            ..KeyValue::default()
        }],
        ..Resource::default()
    };
    let req = ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(resource),
            scope_spans: vec![ScopeSpans {
                spans,
                ..ScopeSpans::default()
            }],
            ..ResourceSpans::default()
        }],
    };
    (req, ids)
}

/// What a sender saw: ids the receiver accepted and refused, per request status.
#[derive(Debug, Default)]
pub struct Sent {
    pub accepted: HashSet<[u8; 8]>,
    pub refused: HashSet<[u8; 8]>,
    pub statuses: Vec<String>,
}

impl Sent {
    pub fn merge(&mut self, other: Sent) {
        self.accepted.extend(other.accepted);
        self.refused.extend(other.refused);
        self.statuses.extend(other.statuses);
    }
}

/// One OTLP/HTTP protobuf request of `n` spans to `base`/v1/traces.
pub async fn http(client: &reqwest::Client, base: &str, tag: u8, n: usize) -> Sent {
    let (req, ids) = request(tag, n);
    let url = format!("{base}/v1/traces");
    let resp = client
        .post(&url)
        .header("content-type", "application/x-protobuf")
        .body(req.encode_to_vec())
        .send()
        .await;
    let mut sent = Sent::default();
    match resp {
        Ok(r) if r.status() == 200 => {
            sent.accepted.extend(ids);
            sent.statuses.push("200".into());
        }
        Ok(r) => {
            sent.refused.extend(ids);
            sent.statuses.push(r.status().as_u16().to_string());
        }
        Err(e) => panic!("POST {url}: transport error {e}"),
    }
    sent
}

/// `requests` OTLP/HTTP requests of `per_request` spans each, one after another.
pub async fn http_many(base: &str, tag: u8, requests: usize, per_request: usize) -> Sent {
    let client = client();
    let mut all = Sent::default();
    for _ in 0..requests {
        all.merge(http(&client, base, tag, per_request).await);
    }
    all
}

/// `requests` OTLP/gRPC requests of `per_request` spans each on one channel.
pub async fn grpc_many(endpoint: &str, tag: u8, requests: usize, per_request: usize) -> Sent {
    let channel = tonic::transport::Endpoint::from_shared(endpoint.to_string())
        .expect("gRPC endpoint")
        .connect_timeout(std::time::Duration::from_secs(2))
        .timeout(std::time::Duration::from_secs(5))
        .connect()
        .await
        .unwrap_or_else(|e| panic!("connect gRPC {endpoint}: {e}"));
    let mut client = TraceServiceClient::new(channel);
    let mut all = Sent::default();
    for _ in 0..requests {
        let (req, ids) = request(tag, per_request);
        match client.export(req).await {
            Ok(_) => {
                all.accepted.extend(ids);
                all.statuses.push("OK".into());
            }
            Err(s) => {
                all.refused.extend(ids);
                all.statuses.push(format!("{:?}", s.code()));
            }
        }
    }
    all
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(5))
        .build()
        .expect("reqwest client")
}
