//! otelops's YAML reader: a tree where every node and key remembers its line
//! and column, so lint findings (and tune's errors) point at the source.
//! Typed readers (the profile model) go through [`from_node`]; YAML is
//! written by [`super::emit`].
//!
//! Why saphyr: lint needs a position for every node, which saphyr's marked
//! nodes give (and it rejects duplicate keys as the collector does);
//! serde_yaml_ng has positions only in its errors. The typed side needs no
//! second parser: a tree converts to a `serde_json::Value` and serde derives
//! read that. (serde_yaml_ng remains for one input only, the upstream
//! semantic-conventions model, which needs libyaml's leniency; see Cargo.toml.)

use std::borrow::Cow;

use saphyr::{LoadableYamlNode, MarkedYaml, Scalar, YamlData};

/// A 1-based line and column in the source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pos {
    pub line: usize,
    pub column: usize,
}

impl Pos {
    fn from_marker(m: saphyr::Marker) -> Pos {
        Pos {
            line: m.line(),
            column: m.col() + 1,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Map(Vec<(Key, Node)>),
    Seq(Vec<Node>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    pub name: String,
    pub pos: Pos,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub pos: Pos,
    pub value: Value,
}

impl Node {
    pub fn as_map(&self) -> Option<&[(Key, Node)]> {
        match &self.value {
            Value::Map(entries) => Some(entries),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Seq(items) => Some(items),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self.value {
            Value::Bool(b) => Some(b),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The entry `key` of a mapping node.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|(_, v)| v)
    }

    pub fn entry(&self, key: &str) -> Option<(&Key, &Node)> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.name == key)
            .map(|(k, v)| (k, v))
    }

    /// Follows a path of mapping keys.
    pub fn path(&self, keys: &[&str]) -> Option<&Node> {
        keys.iter().try_fold(self, |node, key| node.get(key))
    }

    /// True for a scalar the collector fills from the environment
    /// (`${env:X}` or `${X}`): its type is only known at run time.
    pub fn is_env_reference(&self) -> bool {
        matches!(&self.value, Value::Str(s) if s.starts_with("${") && s.ends_with('}'))
    }

    /// The node's YAML type with its article, for messages ("found an integer").
    pub fn kind(&self) -> &'static str {
        match self.value {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Map(_) => "a mapping",
            Value::Seq(_) => "a sequence",
        }
    }
}

impl Node {
    /// The same data as JSON (positions dropped), for serde-derived readers.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as Json;
        match &self.value {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(*b),
            Value::Int(i) => Json::from(*i),
            // NaN and infinities have no JSON form; no setting we read takes them.
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number),
            Value::Str(s) => Json::String(s.clone()),
            Value::Seq(items) => Json::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => Json::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.name.clone(), v.to_json()))
                    .collect(),
            ),
        }
    }
}

/// Reads a typed value (a serde derive) from a parsed tree.
pub fn from_node<T: serde::de::DeserializeOwned>(node: &Node) -> Result<T, serde_json::Error> {
    serde_json::from_value(node.to_json())
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum DocumentError {
    #[error("{line}:{column}: invalid YAML: {message}")]
    Syntax {
        line: usize,
        column: usize,
        message: String,
    },
    #[error("the file holds {0} YAML documents; a collector configuration is exactly one")]
    DocumentCount(usize),
}

/// Parses `source` into a positioned tree. An empty file is an empty mapping
/// (the collector treats it so too, then fails for the missing pipelines).
pub fn parse(source: &str) -> Result<Node, DocumentError> {
    let docs = MarkedYaml::load_from_str(source).map_err(|e| DocumentError::Syntax {
        line: e.marker().line(),
        column: e.marker().col() + 1,
        message: e.info().to_owned(),
    })?;
    match docs.len() {
        0 => Ok(Node {
            pos: Pos { line: 1, column: 1 },
            value: Value::Map(Vec::new()),
        }),
        1 => Ok(convert(&docs[0])),
        n => Err(DocumentError::DocumentCount(n)),
    }
}

fn convert(node: &MarkedYaml<'_>) -> Node {
    Node {
        pos: Pos::from_marker(node.span.start),
        value: convert_data(&node.data),
    }
}

fn convert_data<'a>(data: &YamlData<'a, MarkedYaml<'a>>) -> Value {
    match data {
        YamlData::Value(scalar) => convert_scalar(scalar),
        YamlData::Representation(text, style, _) => match style {
            saphyr::ScalarStyle::Plain => {
                convert_scalar(&Scalar::parse_from_cow(Cow::Borrowed(text.as_ref())))
            }
            _ => Value::Str(text.to_string()),
        },
        YamlData::Sequence(items) => Value::Seq(items.iter().map(convert).collect()),
        YamlData::Mapping(entries) => Value::Map(
            entries
                .iter()
                .map(|(k, v)| {
                    let key = Key {
                        name: scalar_text(&k.data),
                        pos: Pos::from_marker(k.span.start),
                    };
                    (key, convert(v))
                })
                .collect(),
        ),
        YamlData::Tagged(_, inner) => convert_data(&inner.data),
        // Aliases are resolved by the loader; anything left is unusable.
        YamlData::Alias(_) | YamlData::BadValue => Value::Null,
    }
}

fn convert_scalar(scalar: &Scalar<'_>) -> Value {
    match scalar {
        Scalar::Null => Value::Null,
        Scalar::Boolean(b) => Value::Bool(*b),
        Scalar::Integer(i) => Value::Int(*i),
        Scalar::FloatingPoint(f) => Value::Float(f.into_inner()),
        Scalar::String(s) => Value::Str(s.to_string()),
    }
}

/// Mapping keys as the collector sees them: strings (`8888: x` is key "8888").
fn scalar_text<'a>(data: &YamlData<'a, MarkedYaml<'a>>) -> String {
    match convert_data(data) {
        Value::Str(s) => s,
        Value::Int(i) => i.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null => String::new(),
        Value::Map(_) | Value::Seq(_) => "<complex key>".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_values_carry_one_based_positions() {
        let root = parse("receivers:\n  otlp:\n    protocols: {}\n").unwrap();
        let (key, node) = root.entry("receivers").unwrap();
        assert_eq!(key.pos, Pos { line: 1, column: 1 });
        let (otlp, _) = node.entry("otlp").unwrap();
        assert_eq!(otlp.pos, Pos { line: 2, column: 3 });
    }

    #[test]
    fn syntax_error_names_line_and_column() {
        let err = parse("a: [1, 2\nb: c\n").unwrap_err();
        assert!(
            matches!(err, DocumentError::Syntax { line: 2, .. }),
            "{err}"
        );
    }

    #[test]
    fn duplicate_keys_are_rejected() {
        let err = parse("a: 1\na: 2\n").unwrap_err();
        assert!(err.to_string().contains("duplicated key"), "{err}");
    }
}
