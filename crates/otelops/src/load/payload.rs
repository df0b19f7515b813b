//! What each request carries: an OTLP trace request (read from a file or
//! generated like telemetrygen's), encoded once into a template whose id
//! positions are known, so every request gets fresh trace and span ids by
//! overwriting those bytes instead of re-encoding the whole message.

use std::collections::HashMap;
use std::path::Path;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status, span};
use prost::Message;

use super::LoadError;

/// How the body goes on the wire (gRPC uses the protobuf encoding).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Protobuf,
    Json,
}

/// The synthetic trace shape (telemetrygen's `--child-spans`, `--attributes`).
#[derive(Debug, Clone, Copy)]
pub struct Synthetic {
    /// Traces in each request.
    pub traces_per_request: u32,
    /// Spans under each root span.
    pub child_spans: u32,
    /// Extra string attributes on every span.
    pub attributes: u32,
}

/// Reads an OTLP/JSON `ExportTraceServiceRequest` (what the guide POSTs with curl).
pub fn read_file(path: &Path) -> Result<ExportTraceServiceRequest, LoadError> {
    let text = std::fs::read(path).map_err(|source| LoadError::ReadFile {
        path: path.to_owned(),
        source,
    })?;
    let request: ExportTraceServiceRequest =
        serde_json::from_slice(&text).map_err(|source| LoadError::NotOtlp {
            path: path.to_owned(),
            source,
        })?;
    if span_count(&request) == 0 {
        return Err(LoadError::NoSpans(path.to_owned()));
    }
    Ok(request)
}

pub fn span_count(request: &ExportTraceServiceRequest) -> u64 {
    request
        .resource_spans
        .iter()
        .flat_map(|rs| &rs.scope_spans)
        .map(|ss| ss.spans.len() as u64)
        .sum()
}

/// One request of `shape`: per trace a server root span and its children,
/// timestamps around now (as telemetrygen does), ids fresh per request.
pub fn synthetic(shape: Synthetic, now_unix_nanos: u64) -> ExportTraceServiceRequest {
    let mut ids = IdSource::seeded();
    let attributes: Vec<KeyValue> = (0..shape.attributes)
        .map(|i| string_attr(&format!("load.attribute.{i}"), &format!("value-{i}")))
        .collect();
    let mut spans = Vec::new();
    for _ in 0..shape.traces_per_request {
        let trace_id = ids.trace_id().to_vec();
        let root_id = ids.span_id().to_vec();
        let start = now_unix_nanos.saturating_sub(1_000_000);
        spans.push(Span {
            trace_id: trace_id.clone(),
            span_id: root_id.clone(),
            name: "lets-go".into(),
            kind: span::SpanKind::Server as i32,
            start_time_unix_nano: start,
            end_time_unix_nano: now_unix_nanos,
            attributes: attributes.clone(),
            status: Some(Status::default()),
            ..Span::default()
        });
        for c in 0..shape.child_spans {
            spans.push(Span {
                trace_id: trace_id.clone(),
                span_id: ids.span_id().to_vec(),
                parent_span_id: root_id.clone(),
                name: format!("okey-dokey-{c}"),
                kind: span::SpanKind::Internal as i32,
                start_time_unix_nano: start + 100_000,
                end_time_unix_nano: now_unix_nanos - 100_000,
                attributes: attributes.clone(),
                status: Some(Status::default()),
                ..Span::default()
            });
        }
    }
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![string_attr("service.name", "otelops-load")],
                ..Resource::default()
            }),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "otelops-load".into(),
                    version: env!("CARGO_PKG_VERSION").into(),
                    ..InstrumentationScope::default()
                }),
                spans,
                ..ScopeSpans::default()
            }],
            ..ResourceSpans::default()
        }],
    }
}

fn string_attr(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.into())),
        }),
        ..KeyValue::default()
    }
}

/// An encoded request and where each distinct id sits in it. All-zero ids
/// (invalid by the spec) are left as they are, so a receiver still rejects
/// them and `load` counts the partial success.
#[derive(Debug, Clone)]
pub struct Template {
    body: Vec<u8>,
    encoding: Encoding,
    /// Byte offsets of every occurrence, per distinct trace id.
    trace_ids: Vec<Vec<usize>>,
    /// The same for span ids (a parent id is its parent's span id, so links
    /// and parents stay consistent under fresh ids).
    span_ids: Vec<Vec<usize>>,
    spans: u64,
}

impl Template {
    /// Encodes `request`, first giving every distinct id a random stand-in so
    /// it can be found in the bytes without matching anything else.
    pub fn new(
        mut request: ExportTraceServiceRequest,
        encoding: Encoding,
    ) -> Result<Template, LoadError> {
        let spans = span_count(&request);
        let mut ids = IdSource::seeded();
        let mut traces: HashMap<Vec<u8>, (Vec<u8>, usize)> = HashMap::new();
        let mut span_ids: HashMap<Vec<u8>, (Vec<u8>, usize)> = HashMap::new();
        let mut swap = |id: &mut Vec<u8>, map: &mut HashMap<Vec<u8>, (Vec<u8>, usize)>, len| {
            if id.len() != len || id.iter().all(|b| *b == 0) {
                return;
            }
            let entry = map.entry(id.clone()).or_insert_with(|| {
                let fresh = if len == 16 {
                    ids.trace_id().to_vec()
                } else {
                    ids.span_id().to_vec()
                };
                (fresh, 0)
            });
            entry.1 += 1;
            id.clone_from(&entry.0);
        };
        for span in request
            .resource_spans
            .iter_mut()
            .flat_map(|rs| &mut rs.scope_spans)
            .flat_map(|ss| &mut ss.spans)
        {
            swap(&mut span.trace_id, &mut traces, 16);
            swap(&mut span.span_id, &mut span_ids, 8);
            swap(&mut span.parent_span_id, &mut span_ids, 8);
            for link in &mut span.links {
                swap(&mut link.trace_id, &mut traces, 16);
                swap(&mut link.span_id, &mut span_ids, 8);
            }
        }
        let body = match encoding {
            Encoding::Protobuf => request.encode_to_vec(),
            Encoding::Json => {
                serde_json::to_vec(&request).map_err(|e| LoadError::Encode(e.to_string()))?
            }
        };
        let trace_ids = locate(&body, encoding, traces)?;
        let span_ids = locate(&body, encoding, span_ids)?;
        Ok(Template {
            body,
            encoding,
            trace_ids,
            span_ids,
            spans,
        })
    }

    pub fn spans(&self) -> u64 {
        self.spans
    }

    pub fn len(&self) -> usize {
        self.body.len()
    }

    pub fn is_empty(&self) -> bool {
        self.body.is_empty()
    }

    /// The template's bytes with fresh ids.
    pub fn fresh(&self, ids: &mut IdSource) -> Vec<u8> {
        let mut body = self.body.clone();
        for at in &self.trace_ids {
            let id = ids.trace_id();
            self.write(&mut body, at, &id);
        }
        for at in &self.span_ids {
            let id = ids.span_id();
            self.write(&mut body, at, &id);
        }
        body
    }

    /// The template as encoded (ids as in the template).
    pub fn unchanged(&self) -> Vec<u8> {
        self.body.clone()
    }

    fn write(&self, body: &mut [u8], at: &[usize], id: &[u8]) {
        match self.encoding {
            Encoding::Protobuf => {
                for &i in at {
                    body[i..i + id.len()].copy_from_slice(id);
                }
            }
            Encoding::Json => {
                let mut text = [0u8; 32];
                let text = hex_into(id, &mut text);
                for &i in at {
                    body[i..i + text.len()].copy_from_slice(text);
                }
            }
        }
    }
}

/// Where each stand-in id (with how often it was used) occurs in `body`:
/// one pass over the body with a lookup per position, so a large request
/// with many ids costs a few milliseconds once.
fn locate(
    body: &[u8],
    encoding: Encoding,
    ids: HashMap<Vec<u8>, (Vec<u8>, usize)>,
) -> Result<Vec<Vec<usize>>, LoadError> {
    let mut needles: HashMap<Vec<u8>, usize> = HashMap::with_capacity(ids.len());
    let mut uses = Vec::with_capacity(ids.len());
    for (stand_in, n) in ids.into_values() {
        let needle = match encoding {
            Encoding::Protobuf => stand_in,
            Encoding::Json => hex(&stand_in).into_bytes(),
        };
        needles.insert(needle, uses.len());
        uses.push(n);
    }
    let mut found = vec![Vec::new(); uses.len()];
    if let Some(len) = needles.keys().next().map(Vec::len) {
        for (at, window) in body.windows(len).enumerate() {
            if let Some(&i) = needles.get(window) {
                found[i].push(at);
            }
        }
    }
    // A random 64-bit stand-in found elsewhere in the body is all but
    // impossible; refuse rather than corrupt the request if it happens.
    for (at, n) in found.iter().zip(&uses) {
        if at.len() != *n {
            return Err(LoadError::Encode(format!(
                "an id occurs {} times in the encoded request, expected {n}",
                at.len()
            )));
        }
    }
    Ok(found)
}

fn hex(bytes: &[u8]) -> String {
    let mut out = [0u8; 32];
    String::from_utf8_lossy(hex_into(bytes, &mut out)).into_owned()
}

/// Lower-case hex, as the OTLP/JSON encoding writes ids.
fn hex_into<'a>(bytes: &[u8], out: &'a mut [u8; 32]) -> &'a [u8] {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for (i, b) in bytes.iter().enumerate() {
        out[2 * i] = DIGITS[usize::from(b >> 4)];
        out[2 * i + 1] = DIGITS[usize::from(b & 15)];
    }
    &out[..2 * bytes.len()]
}

/// Fresh ids: splitmix64. Ids must be unique, not unpredictable, and this
/// costs a few nanoseconds per id with no dependency (no `rand` in otelops).
#[derive(Debug, Clone)]
pub struct IdSource(u64);

impl IdSource {
    /// Seeded from the process's hash randomness and the clock, so two runs
    /// (or two workers) do not repeat each other's ids.
    pub fn seeded() -> IdSource {
        use std::hash::{BuildHasher, Hasher};
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        IdSource(h.finish())
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        // Never all zero: that id is invalid.
        (z ^ (z >> 31)) | 1
    }

    pub fn span_id(&mut self) -> [u8; 8] {
        self.next().to_be_bytes()
    }

    pub fn trace_id(&mut self) -> [u8; 16] {
        let mut id = [0u8; 16];
        id[..8].copy_from_slice(&self.next().to_be_bytes());
        id[8..].copy_from_slice(&self.next().to_be_bytes());
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(t: &Template, body: &[u8]) -> ExportTraceServiceRequest {
        match t.encoding {
            Encoding::Protobuf => ExportTraceServiceRequest::decode(body).unwrap(),
            Encoding::Json => serde_json::from_slice(body).unwrap(),
        }
    }

    fn spans(r: &ExportTraceServiceRequest) -> Vec<Span> {
        r.resource_spans
            .iter()
            .flat_map(|rs| &rs.scope_spans)
            .flat_map(|ss| ss.spans.clone())
            .collect()
    }

    #[test]
    fn fresh_ids_differ_per_request_and_keep_parents_linked() {
        let shape = Synthetic {
            traces_per_request: 2,
            child_spans: 3,
            attributes: 2,
        };
        for encoding in [Encoding::Protobuf, Encoding::Json] {
            let t = Template::new(synthetic(shape, 2_000_000_000), encoding).unwrap();
            assert_eq!(t.spans(), 8);
            let mut ids = IdSource::seeded();
            let a = spans(&decode(&t, &t.fresh(&mut ids)));
            let b = spans(&decode(&t, &t.fresh(&mut ids)));
            assert_eq!(a.len(), 8);
            for (x, y) in a.iter().zip(&b) {
                assert_ne!(x.span_id, y.span_id, "{encoding:?}");
                assert_ne!(x.trace_id, y.trace_id, "{encoding:?}");
                assert_eq!(x.name, y.name);
                assert_eq!(x.attributes.len(), 2);
            }
            // Each child's parent is its trace's root, under the new ids too.
            for trace in a.chunks(4) {
                for child in &trace[1..] {
                    assert_eq!(child.parent_span_id, trace[0].span_id);
                    assert_eq!(child.trace_id, trace[0].trace_id);
                }
            }
        }
    }

    #[test]
    fn all_zero_ids_stay_zero_so_receivers_still_reject_them() {
        let mut request = synthetic(
            Synthetic {
                traces_per_request: 1,
                child_spans: 1,
                attributes: 0,
            },
            2_000_000_000,
        );
        request.resource_spans[0].scope_spans[0].spans[1].span_id = vec![0; 8];
        let t = Template::new(request, Encoding::Json).unwrap();
        let out = spans(&decode(&t, &t.fresh(&mut IdSource::seeded())));
        assert_eq!(out[1].span_id, vec![0; 8]);
        assert!(out[0].span_id.iter().any(|b| *b != 0));
    }
}
