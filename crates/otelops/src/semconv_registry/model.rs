//! The registry's data model: what the checks need from the semantic
//! conventions, and nothing else (no briefs, notes or examples).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Registry {
    /// Semantic-conventions release, e.g. `1.44.0`.
    pub version: String,
    pub attributes: BTreeMap<String, AttributeDef>,
    /// Span, event and entity groups by id (`span.http.server`, `event.exception`, …).
    pub groups: BTreeMap<String, Group>,
}

/// The value type of an attribute as the registry defines it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueType {
    String,
    Int,
    Double,
    Boolean,
    StringArray,
    IntArray,
    DoubleArray,
    BooleanArray,
    /// `type: any`: every OTLP value is acceptable.
    Any,
}

impl ValueType {
    /// The model's spelling (`string[]`, `int`, …) for messages.
    pub fn model_name(self) -> &'static str {
        match self {
            ValueType::String => "string",
            ValueType::Int => "int",
            ValueType::Double => "double",
            ValueType::Boolean => "boolean",
            ValueType::StringArray => "string[]",
            ValueType::IntArray => "int[]",
            ValueType::DoubleArray => "double[]",
            ValueType::BooleanArray => "boolean[]",
            ValueType::Any => "any",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttributeDef {
    /// For enums, the type of the member values.
    #[serde(rename = "type")]
    pub value_type: ValueType,
    /// `template[...]` attributes: the id is a prefix, `<id>.<key>` is the name.
    #[serde(default, skip_serializing_if = "is_false")]
    pub template: bool,
    pub stability: String,
    /// Non-empty for enum attributes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<EnumMember>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deprecated: Option<Deprecation>,
}

fn is_false(value: &bool) -> bool {
    !*value
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnumMember {
    pub value: MemberValue,
    pub stability: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum MemberValue {
    Int(i64),
    Double(f64),
    Bool(bool),
    String(String),
}

impl std::fmt::Display for MemberValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MemberValue::Int(v) => write!(f, "{v}"),
            MemberValue::Double(v) => write!(f, "{v}"),
            MemberValue::Bool(v) => write!(f, "{v}"),
            MemberValue::String(v) => write!(f, "{v}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Deprecation {
    /// `renamed`, `obsoleted`, `uncategorized` (or the old free-text form).
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renamed_to: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupKind {
    Span,
    Event,
    Entity,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Group {
    #[serde(rename = "type")]
    pub kind: GroupKind,
    /// Event or entity name (`exception`, `service`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `client`, `server`, `internal`, `producer`, `consumer` for spans.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub span_kind: Option<String>,
    pub stability: String,
    /// Attribute id -> requirement level, with `extends` and `ref_group` resolved.
    pub attributes: BTreeMap<String, Requirement>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Requirement {
    Required,
    ConditionallyRequired,
    Recommended,
    /// `recommended: <condition>` in the model: only under a condition a
    /// file cannot show (e.g. "if the request was retried").
    ConditionallyRecommended,
    OptIn,
}

impl Registry {
    /// The definition of `name`, matching template attributes by prefix
    /// (`http.request.header.content-type` -> `http.request.header`).
    pub fn lookup(&self, name: &str) -> Option<(&str, &AttributeDef)> {
        if let Some((id, def)) = self.attributes.get_key_value(name) {
            return Some((id.as_str(), def));
        }
        let mut prefix = name;
        while let Some((head, _)) = prefix.rsplit_once('.') {
            if let Some((id, def)) = self.attributes.get_key_value(head)
                && def.template
            {
                return Some((id.as_str(), def));
            }
            prefix = head;
        }
        None
    }

    /// True when some registry attribute lives under `name`'s first segment
    /// (`http` for `http.foo`): such names are owned by the conventions.
    pub fn owns_namespace_of(&self, name: &str) -> bool {
        let Some((namespace, _)) = name.split_once('.') else {
            return false;
        };
        let prefix = format!("{namespace}.");
        self.attributes
            .range(prefix.clone()..)
            .next()
            .is_some_and(|(id, _)| id.starts_with(&prefix))
    }
}
