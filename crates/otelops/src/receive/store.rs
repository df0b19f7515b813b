//! The bounded in-memory span store, indexed by trace id.
//!
//! Owns: which traces are kept, eviction order (first-seen trace goes
//! first), and the running counters the exit summary prints. Spans arrive
//! already validated and encoded ([`StoredSpan`]); the lock is held only to
//! link them into the index, never while decoding or encoding.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::body::Bytes;
use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use serde::Serialize;

use super::wire::SpanFields;

/// A 16-byte trace id that was checked to be valid (not all zero).
pub type TraceId = [u8; 16];

/// One stored span: the fields the index and the views sort by, plus the
/// span itself as protobuf. Keeping the encoded bytes instead of the
/// decoded attribute tree keeps a stored span near 400 bytes (the decoded
/// form costs a heap allocation per key and per value).
#[derive(Debug, Clone)]
pub struct StoredSpan {
    pub span_id: [u8; 8],
    pub parent_span_id: Option<[u8; 8]>,
    pub start_unix_nano: u64,
    pub end_unix_nano: u64,
    pub is_error: bool,
    pub service: Arc<str>,
    /// The resource and scope it came with, shared by the spans of one
    /// `ScopeSpans` and by every later batch that sends the same ones.
    pub origin: Arc<Origin>,
    encoded: Bytes,
}

/// Where spans came from: their resource and instrumentation scope as
/// received (the store interns them by content).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Origin {
    pub resource: Resource,
    pub resource_schema_url: String,
    pub scope: InstrumentationScope,
    pub scope_schema_url: String,
}

impl Origin {
    /// The interning key: resource, scope and both schema URLs, each
    /// length-delimited so no two origins share a key.
    fn key(&self) -> Vec<u8> {
        let mut key = Vec::new();
        // Into a Vec, which grows as needed, encoding cannot fail.
        let grows = "a Vec grows as needed";
        self.resource
            .encode_length_delimited(&mut key)
            .expect(grows);
        self.scope.encode_length_delimited(&mut key).expect(grows);
        for url in [&self.resource_schema_url, &self.scope_schema_url] {
            prost::encoding::encode_varint(url.len() as u64, &mut key);
            key.extend_from_slice(url.as_bytes());
        }
        key
    }
}

/// A span's validated ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpanIds {
    pub trace_id: TraceId,
    pub span_id: [u8; 8],
    pub parent_span_id: Option<[u8; 8]>,
}

impl StoredSpan {
    /// The stored form of a decoded span whose ids were already validated
    /// (gRPC and JSON requests): the span is re-encoded.
    pub fn from_decoded(span: &Span, ids: SpanIds, source: &Source) -> StoredSpan {
        StoredSpan {
            span_id: ids.span_id,
            parent_span_id: ids.parent_span_id,
            start_unix_nano: span.start_time_unix_nano,
            end_unix_nano: span.end_time_unix_nano,
            is_error: span.status.as_ref().is_some_and(|s| s.code == 2),
            service: source.service.clone(),
            origin: source.origin.clone(),
            encoded: Bytes::from(span.encode_to_vec()),
        }
    }

    /// The stored form of a span that arrived encoded (OTLP/HTTP protobuf):
    /// its bytes are kept as they came, a slice of the request body.
    pub fn from_encoded(
        encoded: Bytes,
        fields: &SpanFields<'_>,
        ids: SpanIds,
        source: &Source,
    ) -> StoredSpan {
        StoredSpan {
            span_id: ids.span_id,
            parent_span_id: ids.parent_span_id,
            start_unix_nano: fields.start_time_unix_nano,
            end_unix_nano: fields.end_time_unix_nano,
            is_error: fields.status_code == 2,
            service: source.service.clone(),
            origin: source.origin.clone(),
            encoded,
        }
    }

    /// The full span as received.
    pub fn span(&self) -> Span {
        // Encoded by `new` from a valid Span, so it always decodes.
        Span::decode(&*self.encoded).unwrap_or_default()
    }
}

/// The interned service name and origin of one `ScopeSpans`.
#[derive(Debug, Clone)]
pub struct Source {
    pub service: Arc<str>,
    pub origin: Arc<Origin>,
}

/// Origins interned before the store looks for ones no span holds any more.
const ORIGINS_BEFORE_PRUNE: usize = 1024;

/// What to do when a request would push the store past its bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OnFull {
    /// Drop the oldest traces to make room (counted as evicted).
    Evict,
    /// Refuse the request with a retryable error (429/503 + Retry-After).
    Reject,
}

/// The store refused a batch because it is full and `--on-full reject`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("span store is full ({max_spans} spans); retry later")]
pub struct StoreFull {
    pub max_spans: usize,
}

/// Counters for the exit summary and the query API.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Every `service.name` seen, sorted.
    pub services: Vec<String>,
    /// Traces currently stored.
    pub traces: usize,
    /// Spans accepted since start (stored or later evicted).
    pub spans: u64,
    /// Spans currently stored.
    pub stored_spans: usize,
    /// Accepted spans whose status is Error.
    pub errors: u64,
    /// Spans dropped to make room for newer traces.
    pub evicted: u64,
    /// Spans and log records rejected as invalid (reported in `partial_success`).
    pub rejected: u64,
    /// Spans refused because the store was full (`--on-full reject`).
    pub refused: u64,
    pub metric_points: u64,
    pub log_records: u64,
}

/// Trace ids are random bytes already, so the index hashes their first
/// eight bytes instead of running SipHash over all sixteen (std has no
/// identity hasher; a crate for eight lines is not worth it).
#[derive(Default)]
struct TraceIdHasher(u64);

impl Hasher for TraceIdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8).take(1) {
            let mut buf = [0u8; 8];
            buf[..chunk.len()].copy_from_slice(chunk);
            self.0 ^= u64::from_le_bytes(buf);
        }
    }
}

type TraceMap = HashMap<TraceId, Vec<StoredSpan>, BuildHasherDefault<TraceIdHasher>>;

#[derive(Default)]
struct Inner {
    traces: TraceMap,
    order: VecDeque<TraceId>,
    stored: usize,
    counters: Summary,
    services: BTreeSet<Arc<str>>,
    /// Every origin seen, with its service name, by [`Origin::key`].
    origins: HashMap<Vec<u8>, Source>,
    /// Size of `origins` at which the unused ones are dropped.
    prune_origins_at: usize,
    /// Bumped on every change so pollers can tell something arrived.
    generation: u64,
}

/// The bounded store. Cheap to share behind an `Arc`.
pub struct Store {
    max_spans: usize,
    on_full: OnFull,
    inner: Mutex<Inner>,
    changed: tokio::sync::watch::Sender<u64>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("max_spans", &self.max_spans)
            .field("on_full", &self.on_full)
            .finish_non_exhaustive()
    }
}

impl Store {
    pub fn new(max_spans: usize, on_full: OnFull) -> Store {
        Store {
            max_spans,
            on_full,
            inner: Mutex::new(Inner::default()),
            changed: tokio::sync::watch::Sender::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves plain counters and maps,
        // which stay consistent enough to keep serving.
        self.inner
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// The shared service name and origin of spans sent with `origin`, so
    /// the spans of one service and of one resource and scope share one
    /// allocation each. Origins no stored span holds are dropped now and
    /// then, so a stream of ever-new resources (restarting pods) stays bounded
    /// by the spans stored.
    pub fn source(&self, origin: Origin) -> Source {
        let key = origin.key();
        let mut inner = self.lock();
        if let Some(found) = inner.origins.get(&key) {
            return found.clone();
        }
        let name = super::decode::service_name(Some(&origin.resource));
        let service = match inner.services.get(name) {
            Some(found) => found.clone(),
            None => {
                let arc: Arc<str> = Arc::from(name);
                inner.services.insert(arc.clone());
                arc
            }
        };
        let source = Source {
            service,
            origin: Arc::new(origin),
        };
        inner.origins.insert(key, source.clone());
        if inner.origins.len() >= inner.prune_origins_at.max(ORIGINS_BEFORE_PRUNE) {
            inner
                .origins
                .retain(|_, s| Arc::strong_count(&s.origin) > 1);
            inner.prune_origins_at = 2 * inner.origins.len();
        }
        source
    }

    /// Links a batch of spans into the index, evicting the oldest traces
    /// (or refusing the batch) when it would exceed the bound.
    pub fn insert(
        &self,
        batch: Vec<(TraceId, StoredSpan)>,
        rejected: u64,
    ) -> Result<(), StoreFull> {
        let n = batch.len();
        let mut guard = self.lock();
        if self.on_full == OnFull::Reject && guard.stored + n > self.max_spans {
            guard.counters.refused += n as u64;
            return Err(StoreFull {
                max_spans: self.max_spans,
            });
        }
        guard.counters.rejected += rejected;
        let inner = &mut *guard;
        for (trace_id, span) in batch {
            inner.counters.spans += 1;
            inner.counters.errors += u64::from(span.is_error);
            match inner.traces.get_mut(&trace_id) {
                Some(spans) => spans.push(span),
                None => {
                    inner.traces.insert(trace_id, vec![span]);
                    inner.order.push_back(trace_id);
                }
            }
            inner.stored += 1;
        }
        while inner.stored > self.max_spans {
            let Some(oldest) = inner.order.pop_front() else {
                break;
            };
            if let Some(spans) = inner.traces.remove(&oldest) {
                inner.stored -= spans.len();
                inner.counters.evicted += spans.len() as u64;
            }
        }
        inner.generation += 1;
        let generation = inner.generation;
        drop(guard);
        self.changed.send_replace(generation);
        Ok(())
    }

    /// Counts metric data points and log records (kept as counts only).
    pub fn count_other(&self, metric_points: u64, log_records: u64, rejected_logs: u64) {
        let mut inner = self.lock();
        inner.counters.metric_points += metric_points;
        inner.counters.log_records += log_records;
        inner.counters.rejected += rejected_logs;
        inner.generation += 1;
        let generation = inner.generation;
        drop(inner);
        self.changed.send_replace(generation);
    }

    /// Spans accepted since start (including those evicted since).
    pub fn accepted_spans(&self) -> u64 {
        self.lock().counters.spans
    }

    /// Spans currently stored.
    pub fn span_count(&self) -> usize {
        self.lock().stored
    }

    /// A receiver that changes whenever something is stored or counted.
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.changed.subscribe()
    }

    pub fn summary(&self) -> Summary {
        let inner = self.lock();
        let mut summary = inner.counters.clone();
        summary.services = inner.services.iter().map(|s| s.to_string()).collect();
        summary.traces = inner.traces.len();
        summary.stored_spans = inner.stored;
        summary
    }

    /// The spans of one trace (clones of the stored form), if stored.
    pub fn trace(&self, trace_id: &TraceId) -> Option<Vec<StoredSpan>> {
        self.lock().traces.get(trace_id).cloned()
    }

    /// One overview per stored trace, oldest first. Aggregates are taken
    /// under the lock; only each trace's root span is cloned out, so nothing
    /// is decoded while ingest waits.
    pub fn traces(&self) -> Vec<TraceOverview> {
        let inner = self.lock();
        inner
            .order
            .iter()
            .filter_map(|id| {
                inner
                    .traces
                    .get(id)
                    .map(|spans| TraceOverview::of(*id, spans))
            })
            .collect()
    }
}

/// The list view of one trace.
#[derive(Debug, Clone)]
pub struct TraceOverview {
    pub trace_id: TraceId,
    pub span_count: usize,
    pub error_count: usize,
    pub services: Vec<Arc<str>>,
    pub start_unix_nano: u64,
    pub end_unix_nano: u64,
    /// The earliest span without a parent in this trace (or the earliest
    /// span when every parent is missing).
    pub root: Option<StoredSpan>,
}

impl TraceOverview {
    fn of(trace_id: TraceId, spans: &[StoredSpan]) -> TraceOverview {
        let mut services: Vec<Arc<str>> = Vec::new();
        for span in spans {
            if !services
                .iter()
                .any(|s| Arc::ptr_eq(s, &span.service) || **s == *span.service)
            {
                services.push(span.service.clone());
            }
        }
        TraceOverview {
            trace_id,
            span_count: spans.len(),
            error_count: spans.iter().filter(|s| s.is_error).count(),
            services,
            start_unix_nano: spans.iter().map(|s| s.start_unix_nano).min().unwrap_or(0),
            end_unix_nano: spans.iter().map(|s| s.end_unix_nano).max().unwrap_or(0),
            root: root_of(spans).cloned(),
        }
    }
}

/// The root of a trace: the earliest span whose parent is absent from it.
pub fn root_of(spans: &[StoredSpan]) -> Option<&StoredSpan> {
    let ids: std::collections::HashSet<[u8; 8]> = spans.iter().map(|s| s.span_id).collect();
    let is_root = |s: &&StoredSpan| s.parent_span_id.is_none_or(|parent| !ids.contains(&parent));
    spans
        .iter()
        .filter(is_root)
        .min_by_key(|s| s.start_unix_nano)
        .or_else(|| spans.iter().min_by_key(|s| s.start_unix_nano))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(id: u8) -> StoredSpan {
        StoredSpan::from_decoded(
            &Span::default(),
            SpanIds {
                trace_id: [id; 16],
                span_id: [id; 8],
                parent_span_id: None,
            },
            &Source {
                service: Arc::from("svc"),
                origin: Arc::new(Origin::default()),
            },
        )
    }

    fn origin(service: &str, instance: usize) -> Origin {
        let kv = |k: &str, v: String| opentelemetry_proto::tonic::common::v1::KeyValue {
            key: k.into(),
            value: Some(opentelemetry_proto::tonic::common::v1::AnyValue {
                value: Some(
                    opentelemetry_proto::tonic::common::v1::any_value::Value::StringValue(v),
                ),
            }),
            ..Default::default()
        };
        Origin {
            resource: Resource {
                attributes: vec![
                    kv("service.name", service.into()),
                    kv("service.instance.id", instance.to_string()),
                ],
                ..Default::default()
            },
            scope: InstrumentationScope {
                name: "parker".into(),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    #[test]
    fn same_resource_and_scope_share_one_origin_and_unused_ones_are_dropped() {
        let store = Store::new(10, OnFull::Evict);
        let a = store.source(origin("booking", 1));
        let again = store.source(origin("booking", 1));
        assert!(Arc::ptr_eq(&a.origin, &again.origin));
        assert!(Arc::ptr_eq(&a.service, &again.service));
        let other = store.source(origin("booking", 2));
        assert!(!Arc::ptr_eq(&a.origin, &other.origin));
        assert!(Arc::ptr_eq(&a.service, &other.service));
        // Ever-new resources no span holds: the map stays bounded.
        for i in 3..3 * ORIGINS_BEFORE_PRUNE {
            drop(store.source(origin("booking", i)));
        }
        let interned = store.lock().origins.len();
        assert!(
            interned < ORIGINS_BEFORE_PRUNE,
            "{interned} origins interned"
        );
        // The ones still held survive a prune.
        assert!(Arc::ptr_eq(
            &a.origin,
            &store.source(origin("booking", 1)).origin
        ));
    }

    fn batch(trace: u8, spans: u8) -> Vec<(TraceId, StoredSpan)> {
        (1..=spans).map(|i| ([trace; 16], stored(i))).collect()
    }

    #[test]
    fn evicts_whole_oldest_traces_until_under_the_bound() {
        let store = Store::new(4, OnFull::Evict);
        store.insert(batch(1, 2), 0).unwrap();
        store.insert(batch(2, 2), 0).unwrap();
        store.insert(batch(3, 1), 0).unwrap();
        let left: Vec<u8> = store.traces().iter().map(|t| t.trace_id[0]).collect();
        assert_eq!(left, [2, 3]);
        let summary = store.summary();
        assert_eq!(
            (summary.evicted, summary.stored_spans, summary.spans),
            (2, 3, 5)
        );
    }

    #[test]
    fn reject_mode_refuses_the_whole_batch_and_keeps_what_it_has() {
        let store = Store::new(3, OnFull::Reject);
        store.insert(batch(1, 2), 0).unwrap();
        assert_eq!(
            store.insert(batch(2, 2), 0),
            Err(StoreFull { max_spans: 3 })
        );
        assert_eq!(store.span_count(), 2);
        assert_eq!(store.summary().refused, 2);
    }
}
