//! Reads the official semantic-conventions YAML model (a directory tree of
//! `groups:` files) and resolves it into a [`Registry`]: attribute
//! definitions from every `id:` entry, and for span/event/entity groups the
//! attribute list with `extends`, `ref` and `ref_group` resolved the way the
//! model's syntax (weaver's `semconv-syntax.md`) defines them: a group
//! inherits its parent's attributes, and its own `ref`s override the
//! requirement level of inherited ones.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_yaml_ng::Value as Yaml;

use super::model::{
    AttributeDef, Deprecation, EnumMember, Group, GroupKind, MemberValue, Registry, Requirement,
    ValueType,
};

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error(
        "semantic-conventions model directory {0}: not found (expected the `model/` folder of a semantic-conventions release)"
    )]
    MissingDir(PathBuf),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not a semantic-conventions model file: {source}")]
    Yaml {
        path: PathBuf,
        source: serde_yaml_ng::Error,
    },
    #[error("{path}: attribute `{attribute}`: {problem}")]
    Attribute {
        path: PathBuf,
        attribute: String,
        problem: String,
    },
    #[error("group `{group}`: {problem}")]
    Group { group: String, problem: String },
    #[error(
        "{0}: no attribute definitions found; is this a semantic-conventions `model/` directory?"
    )]
    Empty(PathBuf),
}

#[derive(Debug, Deserialize)]
struct RawFile {
    #[serde(default)]
    groups: Vec<RawGroup>,
}

#[derive(Debug, Deserialize)]
struct RawGroup {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    extends: Option<String>,
    #[serde(default)]
    span_kind: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    stability: Option<String>,
    #[serde(default)]
    attributes: Vec<RawAttr>,
}

#[derive(Debug, Deserialize)]
struct RawAttr {
    #[serde(default)]
    id: Option<String>,
    #[serde(default, rename = "ref")]
    reference: Option<String>,
    #[serde(default)]
    ref_group: Option<String>,
    #[serde(default, rename = "type")]
    value_type: Option<Yaml>,
    #[serde(default)]
    stability: Option<String>,
    #[serde(default)]
    requirement_level: Option<Yaml>,
    #[serde(default)]
    deprecated: Option<Yaml>,
}

/// Loads and resolves every `*.yaml` file under `dir` (except `manifest.yaml`).
pub fn from_model_dir(dir: &Path) -> Result<Registry, RegistryError> {
    if !dir.is_dir() {
        return Err(RegistryError::MissingDir(dir.to_path_buf()));
    }
    let mut files = Vec::new();
    collect_yaml(dir, &mut files)?;
    files.sort();
    let mut groups: Vec<(PathBuf, RawGroup)> = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).map_err(|source| RegistryError::Io {
            path: path.clone(),
            source,
        })?;
        let file: RawFile =
            serde_yaml_ng::from_str(&text).map_err(|source| RegistryError::Yaml {
                path: path.clone(),
                source,
            })?;
        groups.extend(file.groups.into_iter().map(|g| (path.clone(), g)));
    }

    let mut attributes = BTreeMap::new();
    let mut default_requirements = HashMap::new();
    for (path, group) in &groups {
        for attr in &group.attributes {
            if let Some(id) = &attr.id {
                let def = attribute_def(path, id, attr)?;
                if let Some(level) = &attr.requirement_level {
                    default_requirements.insert(id.clone(), requirement(&group.id, level)?);
                }
                attributes.insert(id.clone(), def);
            }
        }
    }
    if attributes.is_empty() {
        return Err(RegistryError::Empty(dir.to_path_buf()));
    }

    let by_id: HashMap<&str, &RawGroup> = groups.iter().map(|(_, g)| (g.id.as_str(), g)).collect();
    let resolver = Resolver {
        by_id: &by_id,
        defaults: &default_requirements,
    };
    let mut resolved = BTreeMap::new();
    for (_, group) in &groups {
        let kind = match group.kind.as_str() {
            "span" => GroupKind::Span,
            "event" => GroupKind::Event,
            "entity" => GroupKind::Entity,
            _ => continue,
        };
        let list = resolver.attributes_of(&group.id, 0)?;
        resolved.insert(
            group.id.clone(),
            Group {
                kind,
                name: group.name.clone(),
                span_kind: group.span_kind.clone(),
                stability: group
                    .stability
                    .clone()
                    .unwrap_or_else(|| "development".into()),
                attributes: list.into_iter().collect(),
            },
        );
    }
    Ok(Registry {
        version: model_version(dir),
        attributes,
        groups: resolved,
    })
}

fn collect_yaml(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), RegistryError> {
    let io = |source| RegistryError::Io {
        path: dir.to_path_buf(),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if path.is_dir() {
            collect_yaml(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml")
            && path.file_name().is_some_and(|n| n != "manifest.yaml")
        {
            out.push(path);
        }
    }
    Ok(())
}

/// The release from `manifest.yaml`'s `schema_url` (`…/schemas/1.44.0`),
/// else the parent directory's name (`v1.44.0/model` -> `1.44.0`).
fn model_version(dir: &Path) -> String {
    let from_manifest = std::fs::read_to_string(dir.join("manifest.yaml"))
        .ok()
        .and_then(|text| serde_yaml_ng::from_str::<Yaml>(&text).ok())
        .and_then(|manifest| {
            let url = manifest.get("schema_url")?.as_str()?.to_owned();
            Some(url.rsplit('/').next()?.to_owned())
        });
    from_manifest
        .or_else(|| {
            let parent = dir.parent()?.file_name()?.to_str()?;
            Some(parent.trim_start_matches('v').to_owned())
        })
        .unwrap_or_else(|| "unknown".into())
}

fn attribute_def(path: &Path, id: &str, attr: &RawAttr) -> Result<AttributeDef, RegistryError> {
    let problem = |problem: String| RegistryError::Attribute {
        path: path.to_path_buf(),
        attribute: id.to_owned(),
        problem,
    };
    let raw_type = attr
        .value_type
        .as_ref()
        .ok_or_else(|| problem("has no `type`".into()))?;
    let (value_type, template, members) = match raw_type {
        Yaml::String(name) => {
            let (inner, template) = match name
                .strip_prefix("template[")
                .and_then(|s| s.strip_suffix(']'))
            {
                Some(inner) => (inner, true),
                None => (name.as_str(), false),
            };
            let value_type =
                scalar_type(inner).ok_or_else(|| problem(format!("unknown type `{name}`")))?;
            (value_type, template, Vec::new())
        }
        Yaml::Mapping(map) => {
            let members = map
                .get("members")
                .and_then(Yaml::as_sequence)
                .ok_or_else(|| problem("enum type without `members`".into()))?;
            let members = members
                .iter()
                .map(|m| enum_member(m).ok_or_else(|| problem(format!("bad enum member {m:?}"))))
                .collect::<Result<Vec<_>, _>>()?;
            let value_type = match members.first().map(|m| &m.value) {
                Some(MemberValue::Int(_)) => ValueType::Int,
                Some(MemberValue::Double(_)) => ValueType::Double,
                Some(MemberValue::Bool(_)) => ValueType::Boolean,
                _ => ValueType::String,
            };
            (value_type, false, members)
        }
        other => return Err(problem(format!("unsupported type {other:?}"))),
    };
    Ok(AttributeDef {
        value_type,
        template,
        stability: attr
            .stability
            .clone()
            .unwrap_or_else(|| "development".into()),
        members,
        deprecated: attr.deprecated.as_ref().map(deprecation),
    })
}

fn scalar_type(name: &str) -> Option<ValueType> {
    Some(match name {
        "string" => ValueType::String,
        "int" => ValueType::Int,
        "double" => ValueType::Double,
        "boolean" => ValueType::Boolean,
        "string[]" => ValueType::StringArray,
        "int[]" => ValueType::IntArray,
        "double[]" => ValueType::DoubleArray,
        "boolean[]" => ValueType::BooleanArray,
        "any" => ValueType::Any,
        _ => return None,
    })
}

fn enum_member(raw: &Yaml) -> Option<EnumMember> {
    let value = match raw.get("value")? {
        Yaml::String(s) => MemberValue::String(s.clone()),
        Yaml::Bool(b) => MemberValue::Bool(*b),
        Yaml::Number(n) => match n.as_i64() {
            Some(i) => MemberValue::Int(i),
            None => MemberValue::Double(n.as_f64()?),
        },
        _ => return None,
    };
    let stability = raw
        .get("stability")
        .and_then(Yaml::as_str)
        .unwrap_or("development")
        .to_owned();
    Some(EnumMember { value, stability })
}

/// Both forms the model has used: `deprecated: {reason, renamed_to, note}`
/// and the older free text `deprecated: "Replaced by `x`."`.
fn deprecation(raw: &Yaml) -> Deprecation {
    let text = |key: &str| raw.get(key).and_then(Yaml::as_str).map(str::to_owned);
    match raw {
        Yaml::String(note) => Deprecation {
            reason: "uncategorized".into(),
            renamed_to: None,
            note: Some(note.trim().to_owned()),
        },
        _ => Deprecation {
            reason: text("reason").unwrap_or_else(|| "uncategorized".into()),
            renamed_to: text("renamed_to"),
            note: text("note").map(|n| n.trim().to_owned()),
        },
    }
}

fn requirement(group: &str, raw: &Yaml) -> Result<Requirement, RegistryError> {
    let (key, conditional) = match raw {
        Yaml::String(s) => (s.as_str(), false),
        Yaml::Mapping(map) => (map.keys().next().and_then(Yaml::as_str).unwrap_or(""), true),
        _ => ("", false),
    };
    Ok(match (key, conditional) {
        ("required", _) => Requirement::Required,
        ("conditionally_required", _) => Requirement::ConditionallyRequired,
        ("recommended", false) => Requirement::Recommended,
        ("recommended", true) => Requirement::ConditionallyRecommended,
        ("opt_in", _) => Requirement::OptIn,
        _ => {
            return Err(RegistryError::Group {
                group: group.to_owned(),
                problem: format!("unknown requirement_level {raw:?}"),
            });
        }
    })
}

struct Resolver<'a> {
    by_id: &'a HashMap<&'a str, &'a RawGroup>,
    defaults: &'a HashMap<String, Requirement>,
}

impl Resolver<'_> {
    /// The ordered attribute list of `group_id` (parents first, own entries
    /// overriding). `depth` guards against `extends` cycles in a broken model.
    fn attributes_of(
        &self,
        group_id: &str,
        depth: usize,
    ) -> Result<Vec<(String, Requirement)>, RegistryError> {
        let problem = |problem: String| RegistryError::Group {
            group: group_id.to_owned(),
            problem,
        };
        if depth > 32 {
            return Err(problem(
                "`extends`/`ref_group` chain deeper than 32 (a cycle?)".into(),
            ));
        }
        let group = self
            .by_id
            .get(group_id)
            .ok_or_else(|| problem("referenced but not defined".into()))?;
        let mut list = match &group.extends {
            Some(parent) => self.attributes_of(parent, depth + 1)?,
            None => Vec::new(),
        };
        for attr in &group.attributes {
            if let Some(other) = &attr.ref_group {
                for entry in self.attributes_of(other, depth + 1)? {
                    upsert(&mut list, entry);
                }
                continue;
            }
            let Some(id) = attr.reference.as_ref().or(attr.id.as_ref()) else {
                return Err(problem(
                    "attribute entry without `id`, `ref` or `ref_group`".into(),
                ));
            };
            let level = match &attr.requirement_level {
                Some(raw) => requirement(group_id, raw)?,
                None => list
                    .iter()
                    .find(|(existing, _)| existing == id)
                    .map(|(_, level)| *level)
                    .or_else(|| self.defaults.get(id).copied())
                    .unwrap_or(Requirement::Recommended),
            };
            upsert(&mut list, (id.clone(), level));
        }
        Ok(list)
    }
}

fn upsert(list: &mut Vec<(String, Requirement)>, entry: (String, Requirement)) {
    match list.iter_mut().find(|(id, _)| *id == entry.0) {
        Some(existing) => existing.1 = entry.1,
        None => list.push(entry),
    }
}
