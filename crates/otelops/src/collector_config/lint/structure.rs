//! Structural rules, the ones `otelcol validate` enforces: known top-level
//! and service keys, component ids and types, pipelines wired to configured
//! components, and (as a warning; the collector just ignores them) components
//! nothing uses.

use std::collections::HashSet;

use super::Findings;
use crate::collector_config::components::{self, Kind};
use crate::collector_config::document::{Node, Pos, Value};

const TOP_LEVEL_KEYS: &[&str] = &[
    "receivers",
    "processors",
    "exporters",
    "extensions",
    "connectors",
    "service",
];
const SERVICE_KEYS: &[&str] = &["extensions", "pipelines", "telemetry"];
const PIPELINE_KEYS: &[&str] = &["receivers", "processors", "exporters"];
const SIGNALS: &[&str] = &["traces", "metrics", "logs", "profiles"];

/// A configured component.
#[derive(Debug)]
pub(crate) struct Component<'a> {
    pub kind: Kind,
    pub id: &'a str,
    pub type_name: &'a str,
    pub pos: Pos,
    pub config: &'a Node,
}

/// A component named in a pipeline or in service.extensions.
#[derive(Debug)]
pub(crate) struct Reference<'a> {
    pub id: &'a str,
    pub pos: Pos,
}

#[derive(Debug)]
pub(crate) struct Pipeline<'a> {
    pub id: &'a str,
    pub pos: Pos,
    pub receivers: Vec<Reference<'a>>,
    pub processors: Vec<Reference<'a>>,
    pub exporters: Vec<Reference<'a>>,
}

/// What the practice rules need to know, found on the way.
#[derive(Debug, Default)]
pub(crate) struct Structure<'a> {
    pub components: Vec<Component<'a>>,
    pub pipelines: Vec<Pipeline<'a>>,
    pub extensions: Vec<Reference<'a>>,
}

impl Structure<'_> {
    pub fn component(&self, kind: Kind, id: &str) -> Option<&Component<'_>> {
        self.components
            .iter()
            .find(|c| c.kind == kind && c.id == id)
    }
}

/// Runs the structural rules; `None` when the root is not a mapping.
pub(crate) fn check<'a>(root: &'a Node, out: &mut Findings) -> Option<Structure<'a>> {
    let Some(entries) = root.as_map() else {
        out.error(
            "wrong-type",
            root.pos,
            format!("the configuration must be a mapping, found {}", root.kind()),
        );
        return None;
    };
    let mut structure = Structure::default();
    for (key, value) in entries {
        if !TOP_LEVEL_KEYS.contains(&key.name.as_str()) {
            out.error(
                "unknown-key",
                key.pos,
                format!(
                    "unknown top-level key {:?} (expected one of {})",
                    key.name,
                    TOP_LEVEL_KEYS.join(", ")
                ),
            );
            continue;
        }
        if let Some(kind) = Kind::from_section(&key.name) {
            components_of(kind, value, out, &mut structure.components);
        }
    }
    match root.get("service") {
        Some(service) => check_service(service, &mut structure, out),
        None => out.error(
            "invalid-pipeline",
            root.pos,
            "there is no service section: the collector needs at least one pipeline",
        ),
    }
    report_unused(&structure, out);
    Some(structure)
}

fn components_of<'a>(
    kind: Kind,
    section: &'a Node,
    out: &mut Findings,
    found: &mut Vec<Component<'a>>,
) {
    let entries = match &section.value {
        Value::Null => return,
        Value::Map(entries) => entries,
        _ => {
            out.error(
                "wrong-type",
                section.pos,
                format!(
                    "{} must be a mapping, found {}",
                    kind.section(),
                    section.kind()
                ),
            );
            return;
        }
    };
    for (key, config) in entries {
        let id = match components::parse_id(&key.name) {
            Ok(id) => id,
            Err(e) => {
                out.error(
                    "invalid-component-id",
                    key.pos,
                    format!("{kind} id {:?} is invalid: {e}", key.name),
                );
                continue;
            }
        };
        if !components::is_known(kind, id.type_name) {
            let known = components::known_types(kind);
            let valid = if known.is_empty() {
                format!("otelcol-parker has no {kind}s")
            } else {
                format!("valid {kind} types: {}", known.join(", "))
            };
            out.error(
                "unknown-component-type",
                key.pos,
                format!(
                    "unknown {kind} type {:?} for id {:?} ({valid})",
                    id.type_name, key.name
                ),
            );
        }
        if !matches!(config.value, Value::Null | Value::Map(_)) {
            out.error(
                "wrong-type",
                config.pos,
                format!(
                    "{kind} {:?}: its settings must be a mapping, found {}",
                    key.name,
                    config.kind()
                ),
            );
        }
        found.push(Component {
            kind,
            id: &key.name,
            type_name: id.type_name,
            pos: key.pos,
            config,
        });
    }
}

fn check_service<'a>(service: &'a Node, structure: &mut Structure<'a>, out: &mut Findings) {
    let Some(entries) = service.as_map() else {
        out.error(
            "wrong-type",
            service.pos,
            format!("service must be a mapping, found {}", service.kind()),
        );
        return;
    };
    for (key, _) in entries {
        if !SERVICE_KEYS.contains(&key.name.as_str()) {
            out.error(
                "unknown-key",
                key.pos,
                format!(
                    "unknown key {:?} in service (expected one of {})",
                    key.name,
                    SERVICE_KEYS.join(", ")
                ),
            );
        }
    }
    if let Some(list) = service.get("extensions") {
        structure.extensions = references(list, "service.extensions", out);
        for r in &structure.extensions {
            if structure.component(Kind::Extension, r.id).is_none() {
                out.error(
                    "undefined-component",
                    r.pos,
                    format!(
                        "service.extensions references extension {:?}, which is not configured",
                        r.id
                    ),
                );
            }
        }
    }
    let pipelines = match service.get("pipelines") {
        Some(node) => match &node.value {
            Value::Map(p) if !p.is_empty() => p,
            Value::Map(_) | Value::Null => {
                out.error(
                    "invalid-pipeline",
                    node.pos,
                    "service.pipelines is empty: the collector needs at least one pipeline",
                );
                return;
            }
            _ => {
                out.error(
                    "wrong-type",
                    node.pos,
                    format!("service.pipelines must be a mapping, found {}", node.kind()),
                );
                return;
            }
        },
        None => {
            out.error(
                "invalid-pipeline",
                service.pos,
                "service has no pipelines: the collector needs at least one",
            );
            return;
        }
    };
    for (key, node) in pipelines {
        let signal = key.name.split('/').next().unwrap_or_default();
        if !SIGNALS.contains(&signal) || key.name.ends_with('/') {
            out.error(
                "invalid-pipeline",
                key.pos,
                format!(
                    "pipeline id {:?} must be traces, metrics, logs or profiles, optionally followed by /name",
                    key.name
                ),
            );
        }
        let Some(pipeline) = check_pipeline(&key.name, key.pos, node, structure, out) else {
            continue;
        };
        structure.pipelines.push(pipeline);
    }
}

fn check_pipeline<'a>(
    id: &'a str,
    pos: Pos,
    node: &'a Node,
    structure: &Structure<'a>,
    out: &mut Findings,
) -> Option<Pipeline<'a>> {
    let Some(entries) = node.as_map() else {
        out.error(
            "wrong-type",
            node.pos,
            format!("pipeline {id:?} must be a mapping, found {}", node.kind()),
        );
        return None;
    };
    for (key, _) in entries {
        if !PIPELINE_KEYS.contains(&key.name.as_str()) {
            out.error(
                "unknown-key",
                key.pos,
                format!("unknown key {:?} in pipeline {id:?} (expected receivers, processors, exporters)", key.name),
            );
        }
    }
    let list = |name: &str, out: &mut Findings| {
        node.get(name)
            .map(|l| references(l, &format!("pipeline {id:?} {name}"), out))
            .unwrap_or_default()
    };
    let pipeline = Pipeline {
        id,
        pos,
        receivers: list("receivers", out),
        processors: list("processors", out),
        exporters: list("exporters", out),
    };
    for (role, refs, kind) in [
        ("receivers", &pipeline.receivers, Kind::Receiver),
        ("processors", &pipeline.processors, Kind::Processor),
        ("exporters", &pipeline.exporters, Kind::Exporter),
    ] {
        if refs.is_empty() && role != "processors" {
            out.error(
                "invalid-pipeline",
                pos,
                format!("pipeline {id:?} must have at least one {kind}"),
            );
        }
        let mut seen = HashSet::new();
        for r in refs {
            if !seen.insert(r.id) {
                out.error(
                    "duplicate-reference",
                    r.pos,
                    format!(
                        "pipeline {id:?} references {kind} {:?} more than once",
                        r.id
                    ),
                );
            }
            // Connectors stand in for receivers and exporters.
            let defined = structure.component(kind, r.id).is_some()
                || (kind != Kind::Processor
                    && structure.component(Kind::Connector, r.id).is_some());
            if !defined {
                out.error(
                    "undefined-component",
                    r.pos,
                    format!(
                        "pipeline {id:?} references {kind} {:?}, which is not configured",
                        r.id
                    ),
                );
            }
        }
    }
    Some(pipeline)
}

/// A list of component ids; anything else is reported and skipped.
fn references<'a>(node: &'a Node, what: &str, out: &mut Findings) -> Vec<Reference<'a>> {
    let items = match &node.value {
        Value::Seq(items) => items,
        Value::Null => return Vec::new(),
        _ => {
            out.error(
                "wrong-type",
                node.pos,
                format!(
                    "{what} must be a list of component ids, found {}",
                    node.kind()
                ),
            );
            return Vec::new();
        }
    };
    items
        .iter()
        .filter_map(|item| match item.as_str() {
            Some(id) => Some(Reference { id, pos: item.pos }),
            None => {
                out.error(
                    "wrong-type",
                    item.pos,
                    format!("{what}: expected a component id, found {}", item.kind()),
                );
                None
            }
        })
        .collect()
}

fn report_unused(structure: &Structure<'_>, out: &mut Findings) {
    for c in &structure.components {
        let used = match c.kind {
            Kind::Extension => structure.extensions.iter().any(|r| r.id == c.id),
            kind => structure.pipelines.iter().any(|p| {
                let lists: &[&Vec<Reference<'_>>] = match kind {
                    Kind::Receiver => &[&p.receivers],
                    Kind::Processor => &[&p.processors],
                    Kind::Exporter => &[&p.exporters],
                    _ => &[&p.receivers, &p.exporters],
                };
                lists.iter().any(|l| l.iter().any(|r| r.id == c.id))
            }),
        };
        if !used {
            let where_ = if c.kind == Kind::Extension {
                "service.extensions"
            } else {
                "any pipeline"
            };
            out.warning(
                "unused-component",
                c.pos,
                format!(
                    "{} {:?} is configured but not used by {where_}",
                    c.kind, c.id
                ),
            );
        }
    }
}
