//! `check semantic-conventions`: span, event and resource attributes and span
//! names against a semantic-conventions [`Registry`].
//!
//! Levels, and why:
//! - violation: a wrong value type, a deprecated name (the replacement is
//!   named), an `http.request.method` outside the known methods (the spec says
//!   MUST be `_OTHER`), an enum value differing only in case, a missing
//!   *required* attribute of the span's group, ids or raw URLs in span names,
//!   an HTTP span named after the URI path (the spec's MUST NOT), an HTTP
//!   span status that contradicts its response code (see [`http`]);
//! - improvement: an unknown name inside a namespace the conventions own
//!   (`http.methd`, or `code.module.name` which tracing-opentelemetry writes:
//!   the naming rules say SHOULD NOT), a missing *recommended* attribute
//!   (stable attributes only: development ones may still change), another
//!   enum value the registry does not list (enums are open), an HTTP span
//!   name not in the `{method} {route}` / `{method}` form, an integer where a
//!   double is defined;
//! - violation too: a value that looks like an e-mail address, a payment
//!   card number or a phone number, in any signal (see [`personal_data`]);
//! - resources: only *stable* entity groups are applied (`service` always,
//!   others when one of their attributes is present); the development ones
//!   still move between releases and would only add noise.

mod http;
pub mod personal_data;

use super::input::{Document, Signal};
use super::view::{self, Attr, AttrValue, SpanView};
use super::{Finding, Level, Source, SpanRef};
use crate::semconv_registry::{
    AttributeDef, GroupKind, MemberValue, Registry, Requirement, ValueType,
};

pub mod rule {
    pub const UNKNOWN_ATTRIBUTE: &str = "semconv.attribute-unknown";
    pub const ATTRIBUTE_TYPE: &str = "semconv.attribute-type";
    pub const DEPRECATED: &str = "semconv.deprecated";
    pub const ENUM_VALUE: &str = "semconv.enum-value";
    pub const REQUIRED: &str = "semconv.required-attribute";
    pub const RECOMMENDED: &str = "semconv.recommended-attribute";
    pub const SPAN_NAME: &str = "semconv.span-name";
    pub const EXCEPTION_EVENT: &str = "semconv.exception-event";
    pub const HTTP_STATUS: &str = "semconv.http-status";
    pub const NOT_CHECKED: &str = "semconv.not-checked";
    pub const PERSONAL_DATA: &str = "semconv.personal-data";
}

const KIND_SERVER: i64 = 2;
const KIND_CLIENT: i64 = 3;
const KIND_INTERNAL: i64 = 1;

pub fn check(registry: &Registry, documents: &[Document]) -> Vec<Finding> {
    let mut findings = Vec::new();
    for document in documents {
        let mut out = Out {
            source: &document.source,
            findings: &mut findings,
        };
        if document.signal != Signal::Traces {
            // Personal data is looked for in every signal: log bodies and
            // metric labels as much as span attributes.
            string_values(&document.value, "", &mut out);
            let message = format!(
                "{:?} are not checked against the semantic conventions yet (traces only)",
                document.signal
            )
            .to_lowercase();
            out.push(
                Level::Information,
                rule::NOT_CHECKED,
                document.signal.json_key(),
                None,
                message,
            );
            continue;
        }
        for resource in view::resources(&document.value) {
            attributes(registry, &resource.attributes, None, &mut out);
            resource_entities(registry, &resource.path, &resource.attributes, &mut out);
            for span in &resource.spans {
                check_span(registry, span, &mut out);
            }
        }
    }
    findings
}

struct Out<'a> {
    source: &'a Source,
    findings: &'a mut Vec<Finding>,
}

impl Out<'_> {
    fn push(
        &mut self,
        level: Level,
        rule: &'static str,
        path: &str,
        span: Option<&SpanRef>,
        message: String,
    ) {
        // A finding repeats span names and values: never personal data.
        let span = span.map(|s| SpanRef {
            name: personal_data::redact(&s.name),
            span_id: s.span_id.clone(),
        });
        self.findings.push(Finding {
            level,
            rule,
            source: self.source.clone(),
            path: path.to_owned(),
            span,
            message: personal_data::redact(&message),
        });
    }
}

fn check_span(registry: &Registry, span: &SpanView, out: &mut Out) {
    let who = Some(&span.span);
    attributes(registry, &span.attributes, who, out);
    for event in &span.events {
        attributes(registry, &event.attributes, who, out);
        let group = registry
            .groups
            .iter()
            .find(|(_, g)| g.kind == GroupKind::Event && g.name.as_deref() == Some(&event.name));
        if let Some((group_id, _)) = group {
            requirements(registry, group_id, &event.path, &event.attributes, who, out);
        }
        if event.name == "exception"
            && view::find(&event.attributes, "exception.type").is_none()
            && view::find(&event.attributes, "exception.message").is_none()
        {
            let message =
                "exception event needs `exception.type` or `exception.message`".to_owned();
            out.push(
                Level::Violation,
                rule::EXCEPTION_EVENT,
                &event.path,
                who,
                message,
            );
        }
    }
    if let Some(group_id) = span_group(registry, span) {
        requirements(registry, group_id, &span.path, &span.attributes, who, out);
    }
    personal_data(
        &format!("{}.name", span.path),
        "the span name",
        &span.span.name,
        who,
        out,
    );
    for event in &span.events {
        let what = format!("event name `{}`", event.name);
        personal_data(&event.path, &what, &event.name, who, out);
    }
    span_name(span, out);
    http::status(span, out);
}

/// The span group that applies, decided by the attributes present and the kind.
fn span_group<'r>(registry: &'r Registry, span: &SpanView) -> Option<&'r str> {
    let has_prefix = |prefix: &str| span.attributes.iter().any(|a| a.key.starts_with(prefix));
    let id = if has_prefix("http.") && span.kind == KIND_SERVER {
        "span.http.server".to_owned()
    } else if has_prefix("http.") && span.kind == KIND_CLIENT {
        "span.http.client".to_owned()
    } else if has_prefix("db.") && matches!(span.kind, KIND_CLIENT | KIND_INTERNAL) {
        // `span.db.<system>.client` when the model has one (redis, postgresql, …).
        span.attr("db.system.name")
            .and_then(AttrValue::as_str)
            .map(|system| format!("span.db.{system}.client"))
            .filter(|id| registry.groups.contains_key(id))
            .unwrap_or_else(|| "span.db.client".to_owned())
    } else {
        return None;
    };
    registry
        .groups
        .get_key_value(&id)
        .map(|(id, _)| id.as_str())
}

fn requirements(
    registry: &Registry,
    group_id: &str,
    owner_path: &str,
    present: &[Attr],
    span: Option<&SpanRef>,
    out: &mut Out,
) {
    let Some(group) = registry.groups.get(group_id) else {
        return;
    };
    let what = match group.kind {
        GroupKind::Span => format!(
            "{} span ({group_id})",
            group.span_kind.as_deref().unwrap_or("")
        ),
        GroupKind::Event => format!("event `{}`", group.name.as_deref().unwrap_or(group_id)),
        GroupKind::Entity => format!("entity `{}`", group.name.as_deref().unwrap_or(group_id)),
    };
    for (id, requirement) in &group.attributes {
        let is_present = present.iter().any(|a| {
            a.key == *id
                || registry.attributes.get(id).is_some_and(|d| d.template)
                    && a.key.starts_with(&format!("{id}."))
        });
        if is_present {
            continue;
        }
        let (level, rule, word) = match requirement {
            Requirement::Required => (Level::Violation, rule::REQUIRED, "requires"),
            // Development attributes may still change (stable groups only
            // recommend them through policy exceptions): not asked for.
            Requirement::Recommended if stable_attribute(registry, id) => {
                (Level::Improvement, rule::RECOMMENDED, "recommends")
            }
            _ => continue,
        };
        let path = format!("{owner_path}.attributes{}", view::key_path(id));
        out.push(level, rule, &path, span, format!("{what} {word} `{id}`"));
    }
}

/// Worth asking for: stable and not deprecated (groups still list some
/// deprecated ones, e.g. `exception.escaped`).
fn stable_attribute(registry: &Registry, id: &str) -> bool {
    registry
        .attributes
        .get(id)
        .is_some_and(|def| def.stability == "stable" && def.deprecated.is_none())
}

/// Stable entity groups whose attributes the resource uses; `service` always applies.
fn resource_entities(registry: &Registry, path: &str, present: &[Attr], out: &mut Out) {
    let resource_path = format!("{path}.resource");
    for (id, group) in &registry.groups {
        let uses = group
            .attributes
            .keys()
            .any(|a| view::find(present, a).is_some());
        let applies = uses || group.name.as_deref() == Some("service");
        if group.kind != GroupKind::Entity || group.stability != "stable" || !applies {
            continue;
        }
        requirements(registry, id, &resource_path, present, None, out);
    }
}

fn attributes(registry: &Registry, attrs: &[Attr], span: Option<&SpanRef>, out: &mut Out) {
    for attr in attrs {
        attribute_personal_data(&attr.path, &attr.key, &attr.value, span, out);
        let Some((id, def)) = registry.lookup(&attr.key) else {
            if registry.owns_namespace_of(&attr.key) {
                let namespace = attr.key.split('.').next().unwrap_or_default();
                let message = format!(
                    "`{}` is not defined by semantic conventions {} although `{namespace}.*` is theirs; \
                     fix the name or use your own namespace",
                    attr.key, registry.version
                );
                out.push(
                    Level::Improvement,
                    rule::UNKNOWN_ATTRIBUTE,
                    &attr.path,
                    span,
                    message,
                );
            }
            continue;
        };
        if let Some(deprecated) = &def.deprecated {
            let message = match (&deprecated.renamed_to, &deprecated.note) {
                (Some(new), _) => format!("`{}` is deprecated: renamed to `{new}`", attr.key),
                (None, Some(note)) => format!(
                    "`{}` is deprecated ({}): {note}",
                    attr.key, deprecated.reason
                ),
                (None, None) => format!("`{}` is deprecated ({})", attr.key, deprecated.reason),
            };
            out.push(
                Level::Violation,
                rule::DEPRECATED,
                &attr.path,
                span,
                message,
            );
        }
        value_type(id, def, attr, span, out);
    }
}

fn value_type(id: &str, def: &AttributeDef, attr: &Attr, span: Option<&SpanRef>, out: &mut Out) {
    let scalar_ok = |t: ValueType, v: &AttrValue| {
        matches!(
            (t, v),
            (ValueType::String, AttrValue::String(_))
                | (ValueType::Int, AttrValue::Int(_))
                | (ValueType::Double, AttrValue::Double(_))
                | (ValueType::Boolean, AttrValue::Bool(_))
        )
    };
    let element = match def.value_type {
        ValueType::StringArray => Some(ValueType::String),
        ValueType::IntArray => Some(ValueType::Int),
        ValueType::DoubleArray => Some(ValueType::Double),
        ValueType::BooleanArray => Some(ValueType::Boolean),
        _ => None,
    };
    let ok = match (def.value_type, element, &attr.value) {
        (ValueType::Any, _, AttrValue::Empty) => false,
        (ValueType::Any, _, _) => true,
        (_, Some(element), AttrValue::Array(items)) => items.iter().all(|i| scalar_ok(element, i)),
        (t, None, v) => scalar_ok(t, v),
        _ => false,
    };
    if !ok {
        let level =
            if def.value_type == ValueType::Double && matches!(attr.value, AttrValue::Int(_)) {
                Level::Improvement
            } else {
                Level::Violation
            };
        let message = format!(
            "`{}` is {} in the registry, found {}",
            attr.key,
            def.value_type.model_name(),
            attr.value.type_name()
        );
        out.push(level, rule::ATTRIBUTE_TYPE, &attr.path, span, message);
        return;
    }
    if !def.members.is_empty() {
        enum_value(id, def, attr, span, out);
    }
}

fn enum_value(id: &str, def: &AttributeDef, attr: &Attr, span: Option<&SpanRef>, out: &mut Out) {
    let matches = |m: &MemberValue, exact: bool| match (m, &attr.value) {
        (MemberValue::String(a), AttrValue::String(b)) => {
            if exact {
                a == b
            } else {
                a.eq_ignore_ascii_case(b)
            }
        }
        (MemberValue::Int(a), AttrValue::Int(b)) => a == b,
        (MemberValue::Bool(a), AttrValue::Bool(b)) => a == b,
        (MemberValue::Double(a), AttrValue::Double(b)) => a == b,
        _ => false,
    };
    // `error.type` lists only `_OTHER`: its values are meant to be free-form.
    let open = def
        .members
        .iter()
        .all(|m| m.value == MemberValue::String("_OTHER".into()));
    if open || def.members.iter().any(|m| matches(&m.value, true)) {
        return;
    }
    let shown = display(&attr.value);
    let (level, message) = match def.members.iter().find(|m| matches(&m.value, false)) {
        Some(member) => (
            Level::Violation,
            format!(
                "`{}` = {shown}: enum values are case-sensitive, expected \"{}\"",
                attr.key, member.value
            ),
        ),
        None => {
            let known: Vec<String> = def
                .members
                .iter()
                .take(12)
                .map(|m| m.value.to_string())
                .collect();
            let more = if def.members.len() > 12 { ", …" } else { "" };
            let list = format!("{}{more}", known.join(", "));
            if id == "http.request.method" {
                (
                    Level::Violation,
                    format!(
                        "`{}` = {shown} is not a known method; unknown methods MUST be recorded as `_OTHER` \
                     (with the original in `http.request.method_original`); known: {list}",
                        attr.key
                    ),
                )
            } else {
                (
                    Level::Improvement,
                    format!(
                        "`{}` = {shown} is not a well-known value; known: {list}",
                        attr.key
                    ),
                )
            }
        }
    };
    out.push(level, rule::ENUM_VALUE, &attr.path, span, message);
}

fn display(value: &AttrValue) -> String {
    match value {
        AttrValue::String(s) => format!("\"{s}\""),
        AttrValue::Int(i) => i.to_string(),
        AttrValue::Double(d) => d.to_string(),
        AttrValue::Bool(b) => b.to_string(),
        other => other.type_name().to_owned(),
    }
}

fn span_name(span: &SpanView, out: &mut Out) {
    let name = span.span.name.as_str();
    if let Some(problem) = super::span_name::high_cardinality(name) {
        let path = format!("{}.name", span.path);
        let message = format!("span name \"{name}\" {problem}");
        out.push(
            Level::Violation,
            rule::SPAN_NAME,
            &path,
            Some(&span.span),
            message,
        );
        return;
    }
    http::span_name(span, out);
}

/// A violation when `text` looks like personal data; `what` names the field
/// (the message shows the value masked, never as sent).
fn personal_data(path: &str, what: &str, text: &str, span: Option<&SpanRef>, out: &mut Out) {
    if let Some((kind, masked)) = personal_data::find(text) {
        let message = format!(
            "{what} holds what looks like {} ({masked}); keep personal data out of \
             telemetry (use an id such as the booking id)",
            kind.describe()
        );
        out.push(Level::Violation, rule::PERSONAL_DATA, path, span, message);
    }
}

fn attribute_personal_data(
    path: &str,
    key: &str,
    value: &AttrValue,
    span: Option<&SpanRef>,
    out: &mut Out,
) {
    match value {
        AttrValue::String(text) => personal_data(path, &format!("`{key}`"), text, span, out),
        AttrValue::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                attribute_personal_data(&format!("{path}[{i}]"), key, item, span, out);
            }
        }
        _ => {}
    }
}

/// Every `stringValue` in an OTLP/JSON document (log bodies, log and metric
/// attributes, resources), named by its path and by the attribute key or
/// field (`body`) that holds it.
fn string_values(value: &serde_json::Value, path: &str, out: &mut Out) {
    walk_strings(value, path, "", out);
}

fn walk_strings(value: &serde_json::Value, path: &str, name: &str, out: &mut Out) {
    match value {
        serde_json::Value::Object(map) => {
            let key = map.get("key").and_then(serde_json::Value::as_str);
            for (field, child) in map {
                let child_path = if path.is_empty() {
                    field.clone()
                } else {
                    format!("{path}.{field}")
                };
                match (field.as_str(), child) {
                    ("stringValue", serde_json::Value::String(text)) => {
                        personal_data(path, &format!("`{name}`"), text, None, out);
                    }
                    ("value", _) if key.is_some() => {
                        walk_strings(child, &child_path, key.unwrap_or_default(), out);
                    }
                    // Inside an AnyValue (arrays, maps) the holder's name stays.
                    ("arrayValue" | "kvlistValue" | "values", _) => {
                        walk_strings(child, &child_path, name, out);
                    }
                    _ => walk_strings(child, &child_path, field, out),
                }
            }
        }
        serde_json::Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                walk_strings(item, &format!("{path}[{i}]"), name, out);
            }
        }
        _ => {}
    }
}
