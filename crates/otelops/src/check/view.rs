//! A lenient reading of OTLP/JSON trace documents for the semantic checks:
//! resources, spans, events and their attributes with their paths. Encoding
//! mistakes are tolerated here (proto key names, enum names) because
//! `check export-format` is the place that reports them.

use serde_json::{Map, Value};

use super::SpanRef;

/// An attribute value as OTLP's `AnyValue` carries it.
#[derive(Debug, Clone, PartialEq)]
pub enum AttrValue {
    String(String),
    Bool(bool),
    Int(i64),
    Double(f64),
    Bytes,
    Array(Vec<AttrValue>),
    KvList,
    /// No value set, or a shape `AnyValue` does not have.
    Empty,
}

impl AttrValue {
    pub fn type_name(&self) -> &'static str {
        match self {
            AttrValue::String(_) => "string",
            AttrValue::Bool(_) => "boolean",
            AttrValue::Int(_) => "int",
            AttrValue::Double(_) => "double",
            AttrValue::Bytes => "bytes",
            AttrValue::Array(_) => "array",
            AttrValue::KvList => "kvlist",
            AttrValue::Empty => "empty",
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            AttrValue::String(s) => Some(s),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Attr {
    pub key: String,
    pub path: String,
    pub value: AttrValue,
}

#[derive(Debug, Clone)]
pub struct EventView {
    pub name: String,
    pub path: String,
    pub attributes: Vec<Attr>,
}

#[derive(Debug, Clone)]
pub struct SpanView {
    pub span: SpanRef,
    pub path: String,
    /// 0 unspecified, 1 internal, 2 server, 3 client, 4 producer, 5 consumer.
    pub kind: i64,
    /// `status.code`: 0 unset, 1 ok, 2 error.
    pub status: i64,
    pub attributes: Vec<Attr>,
    pub events: Vec<EventView>,
}

impl SpanView {
    pub fn attr(&self, key: &str) -> Option<&AttrValue> {
        find(&self.attributes, key)
    }
}

#[derive(Debug, Clone)]
pub struct ResourceView {
    pub path: String,
    pub attributes: Vec<Attr>,
    pub spans: Vec<SpanView>,
}

pub fn find<'a>(attributes: &'a [Attr], key: &str) -> Option<&'a AttrValue> {
    attributes.iter().find(|a| a.key == key).map(|a| &a.value)
}

/// `["http.method"]`: the path segment of an attribute.
pub fn key_path(key: &str) -> String {
    format!("[{}]", Value::from(key))
}

/// Resources and spans of a trace export request.
pub fn resources(request: &Value) -> Vec<ResourceView> {
    let mut out = Vec::new();
    for (r, resource_spans) in array(request, "resourceSpans").iter().enumerate() {
        let path = format!("resourceSpans[{r}]");
        let resource = get(resource_spans, "resource");
        let mut view = ResourceView {
            attributes: resource
                .map(|res| attributes(res, &format!("{path}.resource")))
                .unwrap_or_default(),
            path: path.clone(),
            spans: Vec::new(),
        };
        for (s, scope_spans) in array(resource_spans, "scopeSpans").iter().enumerate() {
            for (i, span) in array(scope_spans, "spans").iter().enumerate() {
                let span_path = format!("{path}.scopeSpans[{s}].spans[{i}]");
                view.spans.push(span_view(span, span_path));
            }
        }
        out.push(view);
    }
    out
}

fn span_view(span: &Value, path: String) -> SpanView {
    let text = |key| {
        get(span, key)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    let events = array(span, "events")
        .iter()
        .enumerate()
        .map(|(e, event)| {
            let event_path = format!("{path}.events[{e}]");
            EventView {
                name: get(event, "name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned(),
                attributes: attributes(event, &event_path),
                path: event_path,
            }
        })
        .collect();
    SpanView {
        span: SpanRef {
            name: text("name"),
            span_id: text("spanId"),
        },
        kind: get(span, "kind").map(span_kind).unwrap_or(0),
        status: get(span, "status")
            .and_then(|status| get(status, "code"))
            .map(status_code)
            .unwrap_or(0),
        attributes: attributes(span, &path),
        events,
        path,
    }
}

fn span_kind(value: &Value) -> i64 {
    match value {
        Value::Number(n) => n.as_i64().unwrap_or(0),
        Value::String(s) => match s.as_str() {
            "SPAN_KIND_INTERNAL" => 1,
            "SPAN_KIND_SERVER" => 2,
            "SPAN_KIND_CLIENT" => 3,
            "SPAN_KIND_PRODUCER" => 4,
            "SPAN_KIND_CONSUMER" => 5,
            _ => 0,
        },
        _ => 0,
    }
}

fn status_code(value: &Value) -> i64 {
    match value {
        Value::Number(n) => n.as_i64().unwrap_or(0),
        Value::String(s) => match s.as_str() {
            "STATUS_CODE_OK" => 1,
            "STATUS_CODE_ERROR" => 2,
            _ => 0,
        },
        _ => 0,
    }
}

/// The `service.name` string of a `Resource` object, if it has one.
pub fn resource_service_name(resource: &Value) -> Option<String> {
    let attrs = attributes(resource, "");
    find(&attrs, "service.name")
        .and_then(AttrValue::as_str)
        .map(str::to_owned)
}

/// The `attributes` of an object holding them, with `owner_path` prefixed.
pub fn attributes(owner: &Value, owner_path: &str) -> Vec<Attr> {
    array(owner, "attributes")
        .iter()
        .filter_map(|kv| {
            let key = get(kv, "key")?.as_str()?.to_owned();
            Some(Attr {
                path: format!("{owner_path}.attributes{}", key_path(&key)),
                value: get(kv, "value").map(any_value).unwrap_or(AttrValue::Empty),
                key,
            })
        })
        .collect()
}

fn any_value(value: &Value) -> AttrValue {
    let Some(object) = value.as_object() else {
        return AttrValue::Empty;
    };
    let field = |json: &str| field(object, json);
    if let Some(v) = field("stringValue") {
        return v
            .as_str()
            .map_or(AttrValue::Empty, |s| AttrValue::String(s.to_owned()));
    }
    if let Some(v) = field("boolValue") {
        return v.as_bool().map_or(AttrValue::Empty, AttrValue::Bool);
    }
    if let Some(v) = field("intValue") {
        let int = match v {
            Value::String(s) => s.parse().ok(),
            other => other.as_i64(),
        };
        return int.map_or(AttrValue::Empty, AttrValue::Int);
    }
    if let Some(v) = field("doubleValue") {
        let double = match v {
            Value::String(s) => s.parse().ok(),
            other => other.as_f64(),
        };
        return double.map_or(AttrValue::Empty, AttrValue::Double);
    }
    if field("bytesValue").is_some() {
        return AttrValue::Bytes;
    }
    if let Some(v) = field("arrayValue") {
        return AttrValue::Array(array(v, "values").iter().map(any_value).collect());
    }
    if field("kvlistValue").is_some() {
        return AttrValue::KvList;
    }
    AttrValue::Empty
}

/// A field by its JSON name or, when misspelled as the proto (snake_case)
/// name, by that: the encoding mistake is `export-format`'s to report.
pub(crate) fn field<'v>(object: &'v Map<String, Value>, json: &str) -> Option<&'v Value> {
    object.get(json).or_else(|| {
        let mut snake = String::with_capacity(json.len() + 4);
        for c in json.chars() {
            if c.is_ascii_uppercase() {
                snake.push('_');
            }
            snake.push(c.to_ascii_lowercase());
        }
        object.get(&snake)
    })
}

fn get<'v>(value: &'v Value, json: &str) -> Option<&'v Value> {
    field(value.as_object()?, json)
}

fn array<'v>(value: &'v Value, json: &str) -> &'v [Value] {
    get(value, json)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}
