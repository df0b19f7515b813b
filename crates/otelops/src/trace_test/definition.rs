//! Tracetest test definitions (`type: Test` YAML, as the Tracetest CLI runs
//! them) read into typed values. Every problem names `file:line:column`.
//! Features Tracetest has and we do not run (other trigger types, test
//! suites, `skipTraceCollection`, …) are reported as unsupported by name,
//! never skipped.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::collector_config::document::{self, Node, Pos, Value};

use super::expr::{self, Assertion, AttrRef};
use super::selector::Selector;
use super::trigger::{self, HttpTrigger};

#[derive(Debug, Clone)]
pub struct Definition {
    pub file: PathBuf,
    pub id: String,
    pub name: String,
    pub description: String,
    pub trigger: HttpTrigger,
    pub specs: Vec<Spec>,
    pub outputs: Vec<Output>,
}

/// A value and where it was written (for run-time errors such as an unset
/// `${env:…}`).
#[derive(Debug, Clone)]
pub struct Located<T> {
    pub value: T,
    pub pos: Pos,
}

#[derive(Debug, Clone)]
pub struct Spec {
    pub name: String,
    pub selector_text: String,
    pub selector: Selector,
    pub assertions: Vec<Assertion>,
    pub pos: Pos,
}

#[derive(Debug, Clone)]
pub struct Output {
    pub name: String,
    pub selector: Selector,
    pub value: AttrRef,
}

/// One problem in a definition file.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub file: PathBuf,
    pub pos: Pos,
    pub unsupported: bool,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}{}",
            self.file.display(),
            self.pos.line,
            self.pos.column,
            if self.unsupported {
                "unsupported: "
            } else {
                ""
            },
            self.message
        )
    }
}

/// Every problem found, so `validate` shows them all at once.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}", .0.iter().map(Problem::to_string).collect::<Vec<_>>().join("\n"))]
pub struct Problems(pub Vec<Problem>);

pub(super) struct Reader<'a> {
    file: &'a Path,
    problems: Vec<Problem>,
}

impl Reader<'_> {
    pub(super) fn problem(&mut self, pos: Pos, message: impl Into<String>) {
        self.problems.push(Problem {
            file: self.file.to_path_buf(),
            pos,
            unsupported: false,
            message: message.into(),
        });
    }

    pub(super) fn unsupported(&mut self, pos: Pos, message: impl Into<String>) {
        self.problems.push(Problem {
            file: self.file.to_path_buf(),
            pos,
            unsupported: true,
            message: message.into(),
        });
    }

    /// The entries of a mapping; anything not in `known` is reported
    /// (`unsupported` names Tracetest keys we know but do not run).
    pub(super) fn map<'n>(
        &mut self,
        node: &'n Node,
        what: &str,
        known: &[&str],
        unsupported: &[&str],
    ) -> Option<&'n [(document::Key, Node)]> {
        let Some(entries) = node.as_map() else {
            self.problem(
                node.pos,
                format!("{what} must be a mapping, found {}", node.kind()),
            );
            return None;
        };
        for (key, _) in entries {
            if unsupported.contains(&key.name.as_str()) {
                self.unsupported(key.pos, format!("`{}` in {what}", key.name));
            } else if !known.contains(&key.name.as_str()) {
                self.problem(
                    key.pos,
                    format!(
                        "unknown key `{}` in {what} (expected one of: {})",
                        key.name,
                        known.join(", ")
                    ),
                );
            }
        }
        Some(entries)
    }

    pub(super) fn string(
        &mut self,
        parent: &Node,
        key: &str,
        what: &str,
        required: bool,
    ) -> Option<Located<String>> {
        match parent.get(key) {
            None
            | Some(Node {
                value: Value::Null, ..
            }) => {
                if required {
                    self.problem(parent.pos, format!("{what} needs `{key}`"));
                }
                None
            }
            Some(node) => {
                let value = match &node.value {
                    Value::Str(s) => s.clone(),
                    Value::Int(i) => i.to_string(),
                    Value::Float(f) => f.to_string(),
                    Value::Bool(b) => b.to_string(),
                    _ => {
                        self.problem(
                            node.pos,
                            format!("`{key}` in {what} must be a string, found {}", node.kind()),
                        );
                        return None;
                    }
                };
                if let Err(e) = expr::check_text(&value) {
                    self.problem(node.pos, e.to_string());
                }
                Some(Located {
                    value,
                    pos: node.pos,
                })
            }
        }
    }
}

/// Reads one definition file.
pub fn load(file: &Path) -> Result<Definition, Problems> {
    let source = std::fs::read_to_string(file).map_err(|e| {
        Problems(vec![Problem {
            file: file.to_path_buf(),
            pos: Pos { line: 1, column: 1 },
            unsupported: false,
            message: format!("cannot read the file: {e}"),
        }])
    })?;
    parse(file, &source)
}

/// Parses `source` (named `file` in messages).
pub fn parse(file: &Path, source: &str) -> Result<Definition, Problems> {
    let root = document::parse(source).map_err(|e| {
        let (pos, message) = match e {
            document::DocumentError::Syntax {
                line,
                column,
                message,
            } => (Pos { line, column }, format!("invalid YAML: {message}")),
            other => (Pos { line: 1, column: 1 }, other.to_string()),
        };
        Problems(vec![Problem {
            file: file.to_path_buf(),
            pos,
            unsupported: false,
            message,
        }])
    })?;
    let mut r = Reader {
        file,
        problems: Vec::new(),
    };
    let definition = read(&mut r, &root);
    match definition {
        Some(d) if r.problems.is_empty() => Ok(d),
        _ => {
            if r.problems.is_empty() {
                r.problem(root.pos, "not a test definition");
            }
            Err(Problems(r.problems))
        }
    }
}

fn read(r: &mut Reader<'_>, root: &Node) -> Option<Definition> {
    r.map(root, "the document", &["type", "spec"], &[])?;
    let kind = r.string(root, "type", "the document", true)?;
    match kind.value.as_str() {
        "Test" => {}
        "TestSuite" | "Transaction" => {
            r.unsupported(
                kind.pos,
                format!(
                    "test suites (`type: {}`); run each test's file instead",
                    kind.value
                ),
            );
            return None;
        }
        other => {
            r.problem(
                kind.pos,
                format!("`type: {other}` is not a test definition (expected `type: Test`)"),
            );
            return None;
        }
    }
    let Some(spec) = root.get("spec") else {
        r.problem(root.pos, "the document needs `spec`");
        return None;
    };
    r.map(
        spec,
        "spec",
        &["id", "name", "description", "trigger", "specs", "outputs"],
        &[
            "skipTraceCollection",
            "pollingProfile",
            "version",
            "createdAt",
            "summary",
        ],
    )?;
    let id = r
        .string(spec, "id", "spec", false)
        .map(|l| l.value)
        .unwrap_or_default();
    let name = r
        .string(spec, "name", "spec", true)
        .map(|l| l.value)
        .unwrap_or_default();
    let description = r
        .string(spec, "description", "spec", false)
        .map(|l| l.value)
        .unwrap_or_default();
    let trigger = match spec.get("trigger") {
        Some(t) => trigger::read(r, t),
        None => {
            r.problem(spec.pos, "spec needs `trigger`");
            None
        }
    };
    let specs = seq(r, spec.get("specs"), "specs")
        .iter()
        .filter_map(|s| read_spec(r, s))
        .collect();
    let outputs = seq(r, spec.get("outputs"), "outputs")
        .iter()
        .filter_map(|o| read_output(r, o))
        .collect();
    Some(Definition {
        file: r.file.to_path_buf(),
        id,
        name,
        description,
        trigger: trigger?,
        specs,
        outputs,
    })
}

pub(super) fn seq<'n>(r: &mut Reader<'_>, node: Option<&'n Node>, what: &str) -> &'n [Node] {
    match node {
        None
        | Some(Node {
            value: Value::Null, ..
        }) => &[],
        Some(n) => n.as_seq().unwrap_or_else(|| {
            r.problem(
                n.pos,
                format!("`{what}` must be a list, found {}", n.kind()),
            );
            &[]
        }),
    }
}

fn read_spec(r: &mut Reader<'_>, node: &Node) -> Option<Spec> {
    r.map(node, "a spec", &["selector", "name", "assertions"], &[])?;
    let selector_text = r
        .string(node, "selector", "a spec", false)
        .unwrap_or(Located {
            value: String::new(),
            pos: node.pos,
        });
    let selector = match Selector::parse(&selector_text.value) {
        Ok(s) => Some(s),
        Err(e) => {
            r.problem(selector_text.pos, e.to_string());
            None
        }
    };
    let name = r
        .string(node, "name", "a spec", false)
        .map(|l| l.value)
        .unwrap_or_default();
    let mut assertions = Vec::new();
    for a in seq(r, node.get("assertions"), "assertions") {
        let Some(text) = a.as_str() else {
            r.problem(
                a.pos,
                format!("an assertion must be a string, found {}", a.kind()),
            );
            continue;
        };
        match Assertion::parse(text) {
            Ok(parsed) => assertions.push(parsed),
            Err(e @ expr::ExprError::UnsupportedFilter(_)) => r.unsupported(
                a.pos,
                e.to_string().trim_start_matches("unsupported: ").to_owned(),
            ),
            Err(e) => r.problem(a.pos, format!("assertion {text:?}: {e}")),
        }
    }
    Some(Spec {
        name,
        selector_text: selector_text.value,
        selector: selector?,
        assertions,
        pos: node.pos,
    })
}

fn read_output(r: &mut Reader<'_>, node: &Node) -> Option<Output> {
    r.map(node, "an output", &["name", "selector", "value"], &[])?;
    let name = r.string(node, "name", "an output", true)?;
    let selector_text = r
        .string(node, "selector", "an output", false)
        .unwrap_or(Located {
            value: String::new(),
            pos: node.pos,
        });
    let selector = Selector::parse(&selector_text.value)
        .map_err(|e| r.problem(selector_text.pos, e.to_string()))
        .ok()?;
    let value = r.string(node, "value", "an output", true)?;
    let value = AttrRef::parse_value(&value.value)
        .map_err(|e| r.problem(value.pos, format!("output value {:?}: {e}", value.value)))
        .ok()?;
    Some(Output {
        name: name.value,
        selector,
        value,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(source: &str) -> Vec<String> {
        parse(Path::new("t.yaml"), source)
            .err()
            .map(|p| p.0.iter().map(Problem::to_string).collect())
            .unwrap_or_default()
    }

    #[test]
    fn a_minimal_http_test_loads() {
        let d = parse(
            Path::new("t.yaml"),
            "type: Test\nspec:\n  name: n\n  trigger:\n    type: http\n    httpRequest:\n      url: http://127.0.0.1:1/x\n  specs:\n  - selector: span[name=\"x\"]\n    assertions:\n    - attr:a = 1\n",
        )
        .unwrap();
        assert_eq!(d.trigger.method.value, "GET");
        assert_eq!(d.specs[0].assertions.len(), 1);
    }

    #[test]
    fn problems_carry_line_and_column() {
        let p = problems(
            "type: Test\nspec:\n  name: n\n  trigger:\n    type: grpc\n    grpc: {}\n  specs:\n  - selector: span[name~\"x\"]\n    assertions: [\"attr:a == 1\"]\n",
        );
        assert!(
            p.contains(&"t.yaml:6:5: unsupported: `grpc` in trigger".to_owned()),
            "{p:?}"
        );
        assert!(
            p.contains(
                &"t.yaml:5:11: unsupported: trigger type `grpc` (only `http` runs here)".to_owned()
            ),
            "{p:?}"
        );
        assert!(
            p.iter().any(|m| m.starts_with("t.yaml:8:15: selector")),
            "{p:?}"
        );
        assert!(
            p.iter().any(|m| m.starts_with("t.yaml:9:18: assertion")),
            "{p:?}"
        );
    }

    #[test]
    fn suites_and_skipped_collection_are_unsupported_by_name() {
        let p = problems("type: TestSuite\nspec:\n  name: s\n");
        assert_eq!(
            p,
            [
                "t.yaml:1:7: unsupported: test suites (`type: TestSuite`); run each test's file instead"
            ]
        );
        let p = problems(
            "type: Test\nspec:\n  name: n\n  skipTraceCollection: true\n  trigger:\n    type: http\n    httpRequest: {url: 'http://127.0.0.1:1'}\n",
        );
        assert_eq!(
            p,
            ["t.yaml:4:3: unsupported: `skipTraceCollection` in spec"]
        );
    }
}
