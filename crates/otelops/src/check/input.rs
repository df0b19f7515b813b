//! Loads telemetry files into OTLP/JSON documents: OTLP JSON (one export
//! request), the collector file exporter's JSON lines (one request per line),
//! and binary OTLP protobuf (`Export{Trace,Metrics,Logs}ServiceRequest`).
//!
//! JSON is kept as a raw `serde_json::Value` on purpose: decoding into typed
//! structs would silently fix (or reject) the very encoding mistakes
//! `check export-format` exists to report. Protobuf is decoded with prost and
//! re-expressed as OTLP/JSON so one walk serves both.

use std::path::{Path, PathBuf};

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;
use serde_json::Value;

use super::Source;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    Json,
    JsonLines,
    Protobuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Signal {
    Traces,
    Metrics,
    Logs,
}

impl Signal {
    /// The top-level key of the export request in OTLP/JSON.
    pub fn json_key(self) -> &'static str {
        match self {
            Signal::Traces => "resourceSpans",
            Signal::Metrics => "resourceMetrics",
            Signal::Logs => "resourceLogs",
        }
    }

    fn proto_key(self) -> &'static str {
        match self {
            Signal::Traces => "resource_spans",
            Signal::Metrics => "resource_metrics",
            Signal::Logs => "resource_logs",
        }
    }

    /// The export request message this document is, in the OTLP schema.
    pub fn request_message(self) -> &'static str {
        match self {
            Signal::Traces => ".opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest",
            Signal::Metrics => {
                ".opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest"
            }
            Signal::Logs => ".opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest",
        }
    }
}

/// One export request from a file.
#[derive(Debug, Clone)]
pub struct Document {
    pub source: Source,
    pub format: Format,
    pub signal: Signal,
    /// The request in OTLP/JSON shape (as written, for JSON input).
    pub value: Value,
}

#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("{path}: cannot read: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}: empty file; expected OTLP JSON, OTLP JSON lines or OTLP protobuf")]
    Empty(PathBuf),
    #[error("{path}: not OTLP: {reason}")]
    NotOtlp { path: PathBuf, reason: String },
    #[error("{path}:{line}: not OTLP JSON lines: {reason}")]
    BadLine {
        path: PathBuf,
        line: usize,
        reason: String,
    },
}

/// Reads `path` and returns its export requests, detecting the format from
/// the content (extensions lie; the collector writes `.json` JSON lines).
pub fn load(path: &Path) -> Result<Vec<Document>, InputError> {
    let bytes = std::fs::read(path).map_err(|source| InputError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse(path, &bytes)
}

/// [`load`] on bytes already read; `path` names them in errors and findings.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<Vec<Document>, InputError> {
    let file = path.display().to_string();
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    match first {
        None => Err(InputError::Empty(path.to_path_buf())),
        // Protobuf can look like JSON here: a request starts with 0x0a (a
        // newline) and a length byte that may be `{` (123) or `[` (91).
        Some(b'{') | Some(b'[') => parse_json(path, &file, bytes)
            .or_else(|json| parse_protobuf(path, &file, bytes).map_err(|_| json)),
        Some(_) => parse_protobuf(path, &file, bytes),
    }
}

fn parse_json(path: &Path, file: &str, bytes: &[u8]) -> Result<Vec<Document>, InputError> {
    let not_otlp = |reason: String| InputError::NotOtlp {
        path: path.to_path_buf(),
        reason,
    };
    let whole = match serde_json::from_slice::<Value>(bytes) {
        Ok(value) => {
            let signal = signal_of(&value).map_err(not_otlp)?;
            return Ok(vec![Document {
                source: Source {
                    file: file.to_owned(),
                    line: None,
                },
                format: Format::Json,
                signal,
                value,
            }]);
        }
        Err(err) => err,
    };
    // Not one document: JSON lines if the first line is a document by itself
    // (otherwise it is a broken JSON file, and that error is the useful one).
    let text = std::str::from_utf8(bytes).map_err(|err| not_otlp(format!("not UTF-8: {err}")))?;
    let first = text.lines().find(|line| !line.trim().is_empty());
    if first.is_none_or(|line| serde_json::from_str::<Value>(line).is_err()) {
        return Err(not_otlp(format!("invalid JSON: {whole}")));
    }
    let mut documents = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        if line.trim().is_empty() {
            continue;
        }
        let bad = |reason: String| InputError::BadLine {
            path: path.to_path_buf(),
            line: number,
            reason,
        };
        let value: Value =
            serde_json::from_str(line).map_err(|err| bad(format!("invalid JSON: {err}")))?;
        let signal = signal_of(&value).map_err(bad)?;
        documents.push(Document {
            source: Source {
                file: file.to_owned(),
                line: Some(number),
            },
            format: Format::JsonLines,
            signal,
            value,
        });
    }
    Ok(documents)
}

/// Which signal a JSON export request carries; the proto (snake_case) key is
/// accepted here so that `check export-format` can report it.
fn signal_of(value: &Value) -> Result<Signal, String> {
    let Some(object) = value.as_object() else {
        return Err(format!(
            "expected a JSON object (an OTLP export request), found {}",
            json_kind(value)
        ));
    };
    for signal in [Signal::Traces, Signal::Metrics, Signal::Logs] {
        if object.contains_key(signal.json_key()) || object.contains_key(signal.proto_key()) {
            return Ok(signal);
        }
    }
    let keys: Vec<&str> = object.keys().map(String::as_str).take(5).collect();
    Err(format!(
        "JSON object without resourceSpans, resourceMetrics or resourceLogs (keys: [{}])",
        keys.join(", ")
    ))
}

pub(crate) fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Tries each export request type. prost skips unknown fields, so arbitrary
/// bytes can "decode"; a request is accepted only if it re-encodes to exactly
/// the input, i.e. every byte was understood as that message.
fn parse_protobuf(path: &Path, file: &str, bytes: &[u8]) -> Result<Vec<Document>, InputError> {
    let as_json = |signal, value: Result<Value, serde_json::Error>| {
        value.ok().map(|value| Document {
            source: Source {
                file: file.to_owned(),
                line: None,
            },
            format: Format::Protobuf,
            signal,
            value,
        })
    };
    let document = if let Some(request) =
        exact::<ExportTraceServiceRequest>(bytes).filter(|r| !r.resource_spans.is_empty())
    {
        as_json(Signal::Traces, serde_json::to_value(&request))
    } else if let Some(request) =
        exact::<ExportMetricsServiceRequest>(bytes).filter(|r| !r.resource_metrics.is_empty())
    {
        as_json(Signal::Metrics, serde_json::to_value(&request))
    } else if let Some(request) =
        exact::<ExportLogsServiceRequest>(bytes).filter(|r| !r.resource_logs.is_empty())
    {
        as_json(Signal::Logs, serde_json::to_value(&request))
    } else {
        None
    };
    document
        .map(|d| vec![d])
        .ok_or_else(|| InputError::NotOtlp {
            path: path.to_path_buf(),
            reason: format!(
                "neither JSON nor an OTLP protobuf export request ({} bytes starting {:02x?})",
                bytes.len(),
                &bytes[..bytes.len().min(8)]
            ),
        })
}

fn exact<M: Message + Default>(bytes: &[u8]) -> Option<M> {
    let message = M::decode(bytes).ok()?;
    (message.encode_to_vec() == bytes).then_some(message)
}
