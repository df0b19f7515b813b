//! What otelcol-parker is built with: the component types each section may
//! name. Mirrors deploy/collector/builder-config.yaml (a test keeps the two in
//! step), so lint rejects a type the real binary would not know.

use std::fmt;

/// The configuration sections that hold components.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Receiver,
    Processor,
    Exporter,
    Extension,
    Connector,
}

impl Kind {
    pub const ALL: [Kind; 5] = [
        Kind::Receiver,
        Kind::Processor,
        Kind::Exporter,
        Kind::Extension,
        Kind::Connector,
    ];

    /// The top-level key of the section.
    pub fn section(self) -> &'static str {
        match self {
            Kind::Receiver => "receivers",
            Kind::Processor => "processors",
            Kind::Exporter => "exporters",
            Kind::Extension => "extensions",
            Kind::Connector => "connectors",
        }
    }

    pub fn from_section(section: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.section() == section)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Receiver => "receiver",
            Kind::Processor => "processor",
            Kind::Exporter => "exporter",
            Kind::Extension => "extension",
            Kind::Connector => "connector",
        })
    }
}

/// One component of the distribution: its kind, the type name configs use,
/// and the Go package that provides it (the last element of the builder
/// manifest's `gomod`, or of `import` when given).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ComponentType {
    pub kind: Kind,
    pub name: &'static str,
    pub package: &'static str,
}

const fn c(kind: Kind, name: &'static str, package: &'static str) -> ComponentType {
    ComponentType {
        kind,
        name,
        package,
    }
}

/// Every component in otelcol-parker (deploy/collector/builder-config.yaml,
/// v0.161.0).
pub const DISTRIBUTION: &[ComponentType] = &[
    c(Kind::Receiver, "otlp", "otlpreceiver"),
    c(Kind::Exporter, "otlp", "otlpexporter"),
    // Each OTLP exporter is registered under a second, newer name too.
    c(Kind::Exporter, "otlp_grpc", "otlpexporter"),
    c(Kind::Exporter, "otlphttp", "otlphttpexporter"),
    c(Kind::Exporter, "otlp_http", "otlphttpexporter"),
    c(Kind::Exporter, "debug", "debugexporter"),
    c(Kind::Processor, "batch", "batchprocessor"),
    c(Kind::Processor, "memory_limiter", "memorylimiterprocessor"),
    c(
        Kind::Processor,
        "probabilistic_sampler",
        "probabilisticsamplerprocessor",
    ),
    c(Kind::Processor, "resource", "resourceprocessor"),
    c(Kind::Processor, "attributes", "attributesprocessor"),
    c(Kind::Processor, "redaction", "redactionprocessor"),
    c(Kind::Processor, "transform", "transformprocessor"),
    c(Kind::Processor, "filter", "filterprocessor"),
    c(Kind::Processor, "tail_sampling", "tailsamplingprocessor"),
    c(Kind::Extension, "health_check", "healthcheckextension"),
    c(Kind::Extension, "zpages", "zpagesextension"),
    c(Kind::Extension, "pprof", "pprofextension"),
    c(
        Kind::Extension,
        "bearertokenauth",
        "bearertokenauthextension",
    ),
    c(Kind::Extension, "file_storage", "filestorage"),
];

/// The type names of `kind` that otelcol-parker knows, in manifest order.
pub fn known_types(kind: Kind) -> Vec<&'static str> {
    DISTRIBUTION
        .iter()
        .filter(|t| t.kind == kind)
        .map(|t| t.name)
        .collect()
}

pub fn is_known(kind: Kind, type_name: &str) -> bool {
    DISTRIBUTION
        .iter()
        .any(|t| t.kind == kind && t.name == type_name)
}

/// A component id `type[/name]` split into its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentId<'a> {
    pub type_name: &'a str,
    pub name: Option<&'a str>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IdError {
    #[error("the type part is empty")]
    EmptyType,
    #[error("the name after '/' is empty")]
    EmptyName,
    #[error(
        "type {0:?} must start with a letter and hold only letters, digits and '_' (at most 63)"
    )]
    BadType(String),
    #[error("name {0:?} may hold only letters, digits, '.', '_' and '-' (at most 1024)")]
    BadName(String),
}

/// Parses an id with the collector's rules (component.ID): the type matches
/// `^[a-zA-Z][0-9a-zA-Z_]{0,62}$`, the name is `^[^\pZ\pC\pS/]+$`-like; we
/// accept the usual ASCII subset and reject spaces, '/' and controls.
pub fn parse_id(id: &str) -> Result<ComponentId<'_>, IdError> {
    let (type_name, name) = match id.split_once('/') {
        Some((t, n)) => (t.trim(), Some(n.trim())),
        None => (id.trim(), None),
    };
    if type_name.is_empty() {
        return Err(IdError::EmptyType);
    }
    let mut chars = type_name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    if !first_ok || type_name.len() > 63 || !chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(IdError::BadType(type_name.to_owned()));
    }
    if let Some(name) = name {
        if name.is_empty() {
            return Err(IdError::EmptyName);
        }
        if name.len() > 1024
            || name
                .chars()
                .any(|c| c == '/' || c.is_whitespace() || c.is_control())
        {
            return Err(IdError::BadName(name.to_owned()));
        }
    }
    Ok(ComponentId { type_name, name })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_split_into_type_and_name() {
        assert_eq!(
            parse_id("otlp/backend"),
            Ok(ComponentId {
                type_name: "otlp",
                name: Some("backend")
            })
        );
        assert_eq!(parse_id("batch").unwrap().name, None);
    }

    #[test]
    fn ids_with_bad_types_or_empty_names_are_rejected() {
        assert_eq!(parse_id("otlp/"), Err(IdError::EmptyName));
        assert!(matches!(parse_id("9otlp"), Err(IdError::BadType(_))));
        assert!(matches!(parse_id("ot-lp"), Err(IdError::BadType(_))));
        assert_eq!(parse_id("/x"), Err(IdError::EmptyType));
    }

    #[test]
    fn known_types_are_per_kind() {
        assert!(is_known(Kind::Exporter, "otlp"));
        assert!(!is_known(Kind::Receiver, "jaeger"));
        assert!(!is_known(Kind::Processor, "otlp"));
    }
}
