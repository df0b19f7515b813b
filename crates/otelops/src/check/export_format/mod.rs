//! `check export-format`: the OTLP encoding rules, judged on the raw JSON.
//!
//! The walk follows the OTLP schema (from the official descriptors) so every
//! key and value is judged against the field it claims to be:
//! OTLP/JSON's own rules (lowerCamelCase keys, enums as integers, 64-bit
//! integers as strings or numbers, hex ids) and the data model's rules
//! (id lengths, non-zero ids, start <= end, valid kinds and status codes,
//! `service.name` on every resource, parents that resolve).
//!
//! Parent resolution (and what an orphan is) lives in [`parents`].

mod parents;

use prost_types::field_descriptor_proto::Type;
use serde_json::{Map, Value};

use super::input::{Document, json_kind};
use super::schema::{self, Field, Schema};
use super::view::{field as lookup, key_path, resource_service_name};
use super::{Finding, Level, Source, SpanRef};
use parents::SpanRecord;

/// Rule ids, stable for scripts reading `--output json`.
pub mod rule {
    pub const FIELD_NAME_CASE: &str = "otlp-json.field-name-case";
    pub const UNKNOWN_FIELD: &str = "otlp-json.unknown-field";
    pub const ENUM_AS_INTEGER: &str = "otlp-json.enum-as-integer";
    pub const INTEGER_ENCODING: &str = "otlp-json.integer-encoding";
    pub const VALUE_TYPE: &str = "otlp-json.value-type";
    pub const ENUM_VALUE: &str = "otlp.enum-value";
    pub const TRACE_ID: &str = "otlp.trace-id";
    pub const SPAN_ID: &str = "otlp.span-id";
    pub const SPAN_TIMES: &str = "otlp.span-times";
    pub const SERVICE_NAME: &str = "otlp.resource-service-name";
    pub const PARENT_RESOLVES: &str = "otlp.parent-resolves";
    pub const SPAN_ID_UNIQUE: &str = "otlp.span-id-unique";
}

const SPAN: &str = ".opentelemetry.proto.trace.v1.Span";
const KEY_VALUE: &str = ".opentelemetry.proto.common.v1.KeyValue";
const RESOURCES: [&str; 3] = [
    ".opentelemetry.proto.trace.v1.ResourceSpans",
    ".opentelemetry.proto.metrics.v1.ResourceMetrics",
    ".opentelemetry.proto.logs.v1.ResourceLogs",
];
/// Messages whose `trace_id`/`span_id` must be set (logs and exemplars may omit them).
const IDS_REQUIRED: [&str; 2] = [SPAN, ".opentelemetry.proto.trace.v1.Span.Link"];

/// Checks every document; parent resolution spans all of them, because a
/// trace may be split over several files or JSON lines.
pub fn check(documents: &[Document]) -> Vec<Finding> {
    let mut walker = Walker {
        schema: schema::otlp(),
        findings: Vec::new(),
        spans: Vec::new(),
        source: Source {
            file: String::new(),
            line: None,
        },
    };
    for document in documents {
        walker.source = document.source.clone();
        walker.message(&document.value, document.signal.request_message(), "", None);
    }
    let Walker {
        mut findings,
        spans,
        ..
    } = walker;
    findings.extend(parents::resolve(&spans));
    findings
}

struct Walker {
    schema: &'static Schema,
    findings: Vec<Finding>,
    spans: Vec<SpanRecord>,
    /// The document being walked.
    source: Source,
}

impl Walker {
    fn report(
        &mut self,
        level: Level,
        rule: &'static str,
        path: &str,
        span: Option<&SpanRef>,
        message: String,
    ) {
        self.findings.push(Finding {
            level,
            rule,
            source: self.source.clone(),
            path: path.trim_start_matches('.').to_owned(),
            span: span.cloned(),
            message,
        });
    }

    fn message(&mut self, value: &Value, type_name: &str, path: &str, span: Option<&SpanRef>) {
        let Some(object) = value.as_object() else {
            if !value.is_null() {
                let message = format!(
                    "expected an object ({}), found {}",
                    short(type_name),
                    json_kind(value)
                );
                self.report(Level::Violation, rule::VALUE_TYPE, path, span, message);
            }
            return;
        };
        let Some(schema) = self.schema.message(type_name) else {
            return;
        };
        let own_span = (type_name == SPAN).then(|| span_ref(object));
        let span = own_span.as_ref().or(span);
        for (key, child) in object {
            let child_path = format!("{path}.{key}");
            let field = match schema.by_json_name(key) {
                Some(field) => field,
                None => match schema.by_proto_name(key) {
                    Some(field) => {
                        let message = format!(
                            "`{key}` is the proto field name; OTLP/JSON keys are lowerCamelCase: `{}`",
                            field.json_name
                        );
                        self.report(
                            Level::Violation,
                            rule::FIELD_NAME_CASE,
                            &child_path,
                            span,
                            message,
                        );
                        field
                    }
                    None => {
                        let message = format!(
                            "unknown field `{key}` in {}; receivers ignore it",
                            short(type_name)
                        );
                        self.report(
                            Level::Information,
                            rule::UNKNOWN_FIELD,
                            &child_path,
                            span,
                            message,
                        );
                        continue;
                    }
                },
            };
            self.field(type_name, field, child, &child_path, span);
        }
        if IDS_REQUIRED.contains(&type_name) {
            for (json, rule) in [("traceId", rule::TRACE_ID), ("spanId", rule::SPAN_ID)] {
                if lookup(object, json).is_none() {
                    let message = format!(
                        "{json} is missing; it is required on every {}",
                        short(type_name)
                    );
                    self.report(
                        Level::Violation,
                        rule,
                        &format!("{path}.{json}"),
                        span,
                        message,
                    );
                }
            }
        }
        if type_name == SPAN {
            self.span_rules(object, path, span);
        }
        if RESOURCES.contains(&type_name) {
            self.resource_rules(object, path);
        }
    }

    fn field(
        &mut self,
        owner: &str,
        field: &Field,
        value: &Value,
        path: &str,
        span: Option<&SpanRef>,
    ) {
        if value.is_null() {
            return;
        }
        if field.repeated {
            let Some(items) = value.as_array() else {
                let message = format!(
                    "`{}` is repeated: expected an array, found {}",
                    field.json_name,
                    json_kind(value)
                );
                self.report(Level::Violation, rule::VALUE_TYPE, path, span, message);
                return;
            };
            for (index, item) in items.iter().enumerate() {
                let item_path = match (
                    field.type_name.as_str(),
                    item.get("key").and_then(Value::as_str),
                ) {
                    (KEY_VALUE, Some(key)) => format!("{path}{}", key_path(key)),
                    _ => format!("{path}[{index}]"),
                };
                self.single(owner, field, item, &item_path, span);
            }
        } else {
            self.single(owner, field, value, path, span);
        }
    }

    fn single(
        &mut self,
        owner: &str,
        field: &Field,
        value: &Value,
        path: &str,
        span: Option<&SpanRef>,
    ) {
        let problem = match field.kind {
            Type::Message => {
                self.message(value, &field.type_name, path, span);
                None
            }
            Type::Enum => self.enum_value(field, value),
            Type::Int64 | Type::Uint64 | Type::Fixed64 | Type::Sint64 | Type::Sfixed64 => {
                (!is_integer(value, signed(field.kind))).then(|| {
                    (rule::INTEGER_ENCODING, format!(
                        "`{}` is a 64-bit integer: OTLP/JSON accepts a decimal string or a number, found {}",
                        field.json_name,
                        describe(value)
                    ))
                })
            }
            Type::Int32 | Type::Uint32 | Type::Fixed32 | Type::Sint32 | Type::Sfixed32 => {
                (!is_integer(value, signed(field.kind))).then(|| {
                    (rule::INTEGER_ENCODING, format!("`{}` is an integer, found {}", field.json_name, describe(value)))
                })
            }
            Type::Double | Type::Float => (!value.is_number()
                && !matches!(value.as_str(), Some("NaN" | "Infinity" | "-Infinity")))
            .then(|| (rule::VALUE_TYPE, format!("`{}` is a number, found {}", field.json_name, describe(value)))),
            Type::Bool => (!value.is_boolean())
                .then(|| (rule::VALUE_TYPE, format!("`{}` is a boolean, found {}", field.json_name, describe(value)))),
            Type::String => (!value.is_string())
                .then(|| (rule::VALUE_TYPE, format!("`{}` is a string, found {}", field.json_name, describe(value)))),
            Type::Bytes => match field.name.as_str() {
                "trace_id" | "span_id" | "parent_span_id" => self.id(owner, field, value),
                _ => (!value.is_string()).then(|| {
                    (rule::VALUE_TYPE, format!("`{}` is bytes (a base64 string), found {}", field.json_name, describe(value)))
                }),
            },
            Type::Group => None,
        };
        if let Some((rule, message)) = problem {
            self.report(Level::Violation, rule, path, span, message);
        }
    }

    fn enum_value(&self, field: &Field, value: &Value) -> Option<(&'static str, String)> {
        let values = self.schema.enum_values(&field.type_name);
        let names = || {
            values
                .iter()
                .map(|(n, name)| format!("{n} ({name})"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        match value {
            Value::String(name) => {
                let number = values.iter().find(|(_, n)| n == name).map(|(n, _)| *n);
                Some((
                    rule::ENUM_AS_INTEGER,
                    match number {
                        Some(number) => format!(
                            "`{}` is an enum: OTLP/JSON requires the integer {number}, not the name \"{name}\"",
                            field.json_name
                        ),
                        None => format!(
                            "`{}` is an enum: OTLP/JSON requires an integer, found \"{name}\"; valid: {}",
                            field.json_name,
                            names()
                        ),
                    },
                ))
            }
            Value::Number(n) => {
                let known = n
                    .as_i64()
                    .is_some_and(|n| values.iter().any(|(v, _)| i64::from(*v) == n));
                (!known).then(|| {
                    (
                        rule::ENUM_VALUE,
                        format!(
                            "`{}` = {n} is not a valid value; valid: {}",
                            field.json_name,
                            names()
                        ),
                    )
                })
            }
            other => Some((
                rule::VALUE_TYPE,
                format!(
                    "`{}` is an enum (integer), found {}",
                    field.json_name,
                    json_kind(other)
                ),
            )),
        }
    }

    fn id(&self, owner: &str, field: &Field, value: &Value) -> Option<(&'static str, String)> {
        let (rule, bytes) = match field.name.as_str() {
            "trace_id" => (rule::TRACE_ID, 16),
            _ => (rule::SPAN_ID, 8),
        };
        let Some(text) = value.as_str() else {
            return Some((
                rule,
                format!(
                    "`{}` must be a hex string, found {}",
                    field.json_name,
                    json_kind(value)
                ),
            ));
        };
        let optional = field.name == "parent_span_id" || !IDS_REQUIRED.contains(&owner);
        if text.is_empty() {
            return (!optional).then(|| {
                (
                    rule,
                    format!("`{}` is empty; it is required", field.json_name),
                )
            });
        }
        let problem = id_problem(text, bytes)?;
        Some((rule, format!("`{}` \"{text}\" {problem}", field.json_name)))
    }

    fn span_rules(&mut self, object: &Map<String, Value>, path: &str, span: Option<&SpanRef>) {
        let start = lookup(object, "startTimeUnixNano")
            .and_then(as_u64)
            .unwrap_or(0);
        let end = lookup(object, "endTimeUnixNano")
            .and_then(as_u64)
            .unwrap_or(0);
        let problem = if start == 0 {
            Some((
                "startTimeUnixNano",
                "start time is missing or zero".to_owned(),
            ))
        } else if end == 0 {
            Some(("endTimeUnixNano", "end time is missing or zero".to_owned()))
        } else if start > end {
            Some((
                "endTimeUnixNano",
                format!("span ends before it starts ({end} < {start})"),
            ))
        } else {
            None
        };
        if let Some((key, message)) = problem {
            self.report(
                Level::Violation,
                rule::SPAN_TIMES,
                &format!("{path}.{key}"),
                span,
                message,
            );
        }
        let text = |key| {
            lookup(object, key)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_ascii_lowercase()
        };
        if let Some(span) = span {
            self.spans.push(SpanRecord {
                source: self.source.clone(),
                path: path.trim_start_matches('.').to_owned(),
                span: span.clone(),
                span_id: text("spanId"),
                trace_id: text("traceId"),
                parent: text("parentSpanId"),
                flags: lookup(object, "flags").and_then(as_u64).unwrap_or(0),
            });
        }
    }

    fn resource_rules(&mut self, object: &Map<String, Value>, path: &str) {
        let resource_path = format!("{path}.resource");
        let message = match lookup(object, "resource") {
            None => "resource is missing; every resource must carry `service.name`".to_owned(),
            Some(resource) => match resource_service_name(resource) {
                Some(name) if !name.is_empty() => return,
                Some(_) => "`service.name` is empty".to_owned(),
                None => "resource has no string `service.name` attribute".to_owned(),
            },
        };
        self.report(
            Level::Violation,
            rule::SERVICE_NAME,
            &resource_path,
            None,
            message,
        );
    }
}

fn span_ref(object: &Map<String, Value>) -> SpanRef {
    let text = |key| {
        lookup(object, key)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    SpanRef {
        name: text("name"),
        span_id: text("spanId"),
    }
}

/// What is wrong with a hex id that should encode `bytes` bytes, if anything.
pub fn id_problem(text: &str, bytes: usize) -> Option<String> {
    let hex = bytes * 2;
    if !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        let hint = if text.len() == (bytes.div_ceil(3) * 4) {
            " (looks like base64; OTLP/JSON ids are hex, not base64)"
        } else {
            ""
        };
        return Some(format!("is not hex{hint}"));
    }
    if text.len() != hex {
        return Some(format!(
            "has {} hex digits, expected {hex} ({bytes} bytes)",
            text.len()
        ));
    }
    text.bytes()
        .all(|b| b == b'0')
        .then(|| "is all zeros, which is invalid".to_owned())
}

fn signed(kind: Type) -> bool {
    !matches!(
        kind,
        Type::Uint64 | Type::Fixed64 | Type::Uint32 | Type::Fixed32
    )
}

/// An integral JSON number, or a decimal string (proto3 JSON accepts both);
/// unsigned fields take no minus sign.
fn is_integer(value: &Value, signed: bool) -> bool {
    match value {
        Value::Number(n) => n.is_u64() || signed && n.is_i64(),
        Value::String(s) => {
            let digits = match s.strip_prefix('-') {
                Some(rest) if signed => rest,
                Some(_) => return false,
                None => s,
            };
            !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
        }
        _ => false,
    }
}

fn as_u64(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn describe(value: &Value) -> String {
    match value {
        Value::String(s) => format!("the string \"{s}\""),
        Value::Number(n) => format!("the number {n}"),
        other => json_kind(other).to_owned(),
    }
}

/// `.opentelemetry.proto.trace.v1.Span` -> `Span`.
fn short(type_name: &str) -> &str {
    type_name.rsplit('.').next().unwrap_or(type_name)
}
