//! The OTLP message schema (fields, JSON names, types, enum values), read
//! from the official proto descriptors that `opentelemetry-proto` ships, so
//! the raw-JSON walk follows the real `.proto` files rather than a copy.

use std::collections::HashMap;
use std::sync::OnceLock;

use prost::Message;
use prost_types::field_descriptor_proto::{Label, Type};
use prost_types::{DescriptorProto, FileDescriptorSet};

#[derive(Debug)]
pub struct Field {
    /// The proto name (`trace_id`).
    pub name: String,
    /// The OTLP/JSON key (`traceId`).
    pub json_name: String,
    pub kind: Type,
    /// Fully qualified message or enum type (`.opentelemetry.proto.trace.v1.Span`).
    pub type_name: String,
    pub repeated: bool,
}

#[derive(Debug, Default)]
pub struct MessageSchema {
    pub fields: Vec<Field>,
}

impl MessageSchema {
    pub fn by_json_name(&self, key: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.json_name == key)
    }

    pub fn by_proto_name(&self, key: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == key)
    }
}

#[derive(Debug, Default)]
pub struct Schema {
    pub messages: HashMap<String, MessageSchema>,
    /// Enum type -> (value number, value name).
    pub enums: HashMap<String, Vec<(i32, String)>>,
}

impl Schema {
    pub fn message(&self, name: &str) -> Option<&MessageSchema> {
        self.messages.get(name)
    }

    pub fn enum_values(&self, name: &str) -> &[(i32, String)] {
        self.enums.get(name).map(Vec::as_slice).unwrap_or(&[])
    }
}

pub fn otlp() -> &'static Schema {
    static SCHEMA: OnceLock<Schema> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let set = FileDescriptorSet::decode(opentelemetry_proto::DESCRIPTORS)
            .expect("opentelemetry-proto's DESCRIPTORS is a FileDescriptorSet");
        let mut schema = Schema::default();
        for file in &set.file {
            let package = format!(".{}", file.package());
            for message in &file.message_type {
                add_message(&mut schema, &package, message);
            }
            for enumeration in &file.enum_type {
                add_enum(&mut schema, &package, enumeration);
            }
        }
        schema
    })
}

fn add_message(schema: &mut Schema, scope: &str, message: &DescriptorProto) {
    let full = format!("{scope}.{}", message.name());
    let fields = message
        .field
        .iter()
        .map(|f| Field {
            name: f.name().to_owned(),
            json_name: f.json_name.clone().unwrap_or_else(|| lower_camel(f.name())),
            kind: f.r#type(),
            type_name: f.type_name().to_owned(),
            repeated: f.label() == Label::Repeated,
        })
        .collect();
    for nested in &message.nested_type {
        add_message(schema, &full, nested);
    }
    for enumeration in &message.enum_type {
        add_enum(schema, &full, enumeration);
    }
    schema.messages.insert(full, MessageSchema { fields });
}

fn add_enum(schema: &mut Schema, scope: &str, enumeration: &prost_types::EnumDescriptorProto) {
    let values = enumeration
        .value
        .iter()
        .map(|v| (v.number(), v.name().to_owned()))
        .collect();
    schema
        .enums
        .insert(format!("{scope}.{}", enumeration.name()), values);
}

/// protoc's JSON name rule, for descriptors written without `json_name`.
fn lower_camel(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = false;
    for c in name.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn span_fields_come_from_the_descriptors() {
        let span = otlp()
            .message(".opentelemetry.proto.trace.v1.Span")
            .expect("Span in descriptors");
        let trace_id = span.by_json_name("traceId").expect("traceId");
        assert_eq!(trace_id.name, "trace_id");
        assert_eq!(trace_id.kind, Type::Bytes);
        assert!(span.by_json_name("startTimeUnixNano").is_some());
        let kinds = otlp().enum_values(".opentelemetry.proto.trace.v1.Span.SpanKind");
        assert_eq!(kinds.len(), 6);
        assert!(
            otlp()
                .message(".opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest")
                .is_some()
        );
    }

    #[test]
    fn lower_camel_follows_protoc() {
        assert_eq!(lower_camel("parent_span_id"), "parentSpanId");
        assert_eq!(lower_camel("name"), "name");
    }
}
