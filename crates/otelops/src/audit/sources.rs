//! Every input of an audit, loaded once: the collector configs (through
//! [`ConfigFile`], the one config reader), the variables of the env files
//! and of the running collector's environment, and the k8s manifests as
//! positioned YAML documents.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{AuditError, Inputs};
use crate::collector_config::document::{self, Node};
use crate::collector_config::file::ConfigFile;

/// Where a variable's value came from, for evidence.
#[derive(Debug, Clone)]
pub struct Var {
    pub value: String,
    pub origin: String,
}

/// One env file: its path, its variables, and whether it is a template
/// (a file meant to be copied, which must hold no secret values).
#[derive(Debug, Clone)]
pub struct EnvFile {
    pub path: PathBuf,
    pub vars: Vec<(String, String, usize)>,
    pub mode: Option<u32>,
}

impl EnvFile {
    pub fn is_template(&self) -> bool {
        let name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        ["template", "example", "sample"]
            .iter()
            .any(|w| name.contains(w))
    }
}

/// A YAML document of a manifest file.
#[derive(Debug, Clone)]
pub struct Manifest {
    pub path: PathBuf,
    pub doc: Node,
}

impl Manifest {
    pub fn kind(&self) -> &str {
        self.doc.get("kind").and_then(Node::as_str).unwrap_or("")
    }

    pub fn name(&self) -> &str {
        self.doc
            .path(&["metadata", "name"])
            .and_then(Node::as_str)
            .unwrap_or("?")
    }

    /// `path:line` of a node in this manifest, for evidence.
    pub fn at(&self, node: &Node) -> String {
        format!("{}:{}", self.path.display(), node.pos.line)
    }
}

#[derive(Debug)]
pub struct Sources {
    pub configs: Vec<ConfigFile>,
    pub env_files: Vec<EnvFile>,
    /// Resolves `${env:…}`: the process environment wins over env files.
    pub env: BTreeMap<String, Var>,
    pub manifests: Vec<Manifest>,
    /// Manifest files that could not be read or parsed, with why.
    pub manifest_errors: Vec<String>,
    pub k8s_dir: PathBuf,
}

impl Sources {
    pub fn load(inputs: &Inputs) -> Result<Sources, AuditError> {
        if inputs.configs.is_empty() {
            return Err(AuditError::NoConfig);
        }
        let configs = inputs
            .configs
            .iter()
            .map(|p| ConfigFile::load(p))
            .collect::<Result<Vec<_>, _>>()?;
        let mut env = BTreeMap::new();
        let mut env_files = Vec::new();
        for path in &inputs.env_files {
            let text = std::fs::read_to_string(path).map_err(|e| AuditError::Input {
                path: path.clone(),
                reason: format!("cannot read the env file: {e}"),
            })?;
            let file = EnvFile {
                path: path.clone(),
                vars: parse_env_file(&text),
                mode: file_mode(path),
            };
            for (k, v, line) in &file.vars {
                env.insert(
                    k.clone(),
                    Var {
                        value: v.clone(),
                        origin: format!("{}:{line}", path.display()),
                    },
                );
            }
            env_files.push(file);
        }
        if let Some(pid) = inputs.pid {
            for (k, v) in process_environment(pid)? {
                env.insert(
                    k,
                    Var {
                        value: v,
                        origin: format!("the environment of process {pid}"),
                    },
                );
            }
        }
        let (manifests, manifest_errors) = load_manifests(&inputs.k8s_dir);
        Ok(Sources {
            configs,
            env_files,
            env,
            manifests,
            manifest_errors,
            k8s_dir: inputs.k8s_dir.clone(),
        })
    }

    /// The workloads' pod specs (Deployment, StatefulSet, DaemonSet, Job
    /// templates, or a bare Pod), with their manifest.
    pub fn pod_specs(&self) -> Vec<(&Manifest, &Node)> {
        self.manifests
            .iter()
            .filter_map(|m| {
                let spec = match m.kind() {
                    "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job" => {
                        m.doc.path(&["spec", "template", "spec"])
                    }
                    "Pod" => m.doc.get("spec"),
                    _ => None,
                }?;
                Some((m, spec))
            })
            .collect()
    }

    /// How the k8s workloads set a variable: `fieldRef status.podIP`, a
    /// literal value, or a secretKeyRef.
    pub fn k8s_env(&self, name: &str) -> Option<(String, String)> {
        for (m, spec) in self.pod_specs() {
            for c in containers(spec) {
                for e in c.get("env").and_then(Node::as_seq).unwrap_or_default() {
                    if e.get("name").and_then(Node::as_str) != Some(name) {
                        continue;
                    }
                    if let Some(v) = e.get("value").and_then(Node::as_str) {
                        return Some((v.to_owned(), m.at(e)));
                    }
                    if let Some(f) = e
                        .path(&["valueFrom", "fieldRef", "fieldPath"])
                        .and_then(Node::as_str)
                    {
                        return Some((format!("fieldRef:{f}"), m.at(e)));
                    }
                }
            }
        }
        None
    }

    /// A config value with its `${env:NAME}` / `${env:NAME:-default}` /
    /// `${NAME}` reference resolved from the env files or the process;
    /// `None` when it names a variable nobody set and has no default.
    pub fn resolve(&self, value: &str) -> Option<Resolved> {
        let Some(reference) = EnvRef::parse(value) else {
            return Some(Resolved {
                value: value.to_owned(),
                origin: None,
            });
        };
        if let Some(var) = self.env.get(&reference.name) {
            return Some(Resolved {
                value: format!("{}{}{}", reference.before, var.value, reference.after),
                origin: Some(format!("{} from {}", reference.name, var.origin)),
            });
        }
        reference.default.as_ref().map(|d| Resolved {
            value: format!("{}{d}{}", reference.before, reference.after),
            origin: Some(format!("the default of {} (not set)", reference.name)),
        })
    }
}

/// A value after `${env:…}` resolution, with where it came from (None: a literal).
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    pub value: String,
    pub origin: Option<String>,
}

/// A `${env:NAME[:-default]}` or `${NAME}` reference inside a config value.
#[derive(Debug, Clone, PartialEq)]
pub struct EnvRef {
    pub before: String,
    pub name: String,
    pub default: Option<String>,
    pub after: String,
}

impl EnvRef {
    pub fn parse(value: &str) -> Option<EnvRef> {
        let start = value.find("${")?;
        let end = start + value[start..].find('}')?;
        let inner = &value[start + 2..end];
        let inner = inner.strip_prefix("env:").unwrap_or(inner);
        if inner.contains(':') && !inner.contains(":-") {
            return None; // ${file:…} and other providers are not env variables
        }
        let (name, default) = match inner.split_once(":-") {
            Some((n, d)) => (n, Some(d.to_owned())),
            None => (inner, None),
        };
        Some(EnvRef {
            before: value[..start].to_owned(),
            name: name.to_owned(),
            default,
            after: value[end + 1..].to_owned(),
        })
    }
}

/// The containers (and init containers) of a pod spec.
pub fn containers(spec: &Node) -> Vec<&Node> {
    ["containers", "initContainers"]
        .iter()
        .flat_map(|k| spec.get(k).and_then(Node::as_seq).unwrap_or_default())
        .collect()
}

/// `KEY=VALUE` lines (an optional `export `, quotes stripped, `#` comments
/// and blank lines skipped), with their 1-based line numbers.
pub fn parse_env_file(text: &str) -> Vec<(String, String, usize)> {
    text.lines()
        .enumerate()
        .filter_map(|(i, line)| {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                return None;
            }
            let line = line.strip_prefix("export ").unwrap_or(line);
            let (k, v) = line.split_once('=')?;
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .and_then(|s| s.strip_suffix('"'))
                .or_else(|| v.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')))
                .unwrap_or(v);
            Some((k.trim().to_owned(), v.to_owned(), i + 1))
        })
        .collect()
}

fn file_mode(path: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .ok()
        .map(|m| m.permissions().mode() & 0o777)
}

fn process_environment(pid: u32) -> Result<Vec<(String, String)>, AuditError> {
    let bytes = std::fs::read(format!("/proc/{pid}/environ")).map_err(|e| AuditError::Process {
        pid,
        reason: format!("cannot read its environment: {e}"),
    })?;
    Ok(bytes
        .split(|b| *b == 0)
        .filter_map(|kv| {
            let kv = String::from_utf8_lossy(kv);
            kv.split_once('=')
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
        })
        .collect())
}

/// Every `*.yaml`/`*.yml` under `dir` (not recursive), one entry per YAML
/// document (`---` lines separate them).
fn load_manifests(dir: &Path) -> (Vec<Manifest>, Vec<String>) {
    let mut manifests = Vec::new();
    let mut errors = Vec::new();
    let mut paths: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
            .collect(),
        Err(e) => {
            errors.push(format!("{}: {e}", dir.display()));
            return (manifests, errors);
        }
    };
    paths.sort();
    for path in paths {
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) => {
                errors.push(format!("{}: {e}", path.display()));
                continue;
            }
        };
        for doc in split_documents(&text) {
            match document::parse(&doc) {
                Ok(node) if node.as_map().is_some_and(|m| !m.is_empty()) => {
                    manifests.push(Manifest {
                        path: path.clone(),
                        doc: node,
                    })
                }
                Ok(_) => {}
                Err(e) => errors.push(format!("{}:{e}", path.display())),
            }
        }
    }
    (manifests, errors)
}

/// Splits a multi-document stream on `---` lines, keeping each document's
/// lines where they were (earlier documents become blank lines) so line
/// numbers stay true to the file.
fn split_documents(text: &str) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    let mut docs = Vec::new();
    let mut start = 0;
    for (i, line) in lines.iter().enumerate() {
        if line.trim_end() == "---" {
            docs.push(padded(&lines, start, i));
            start = i + 1;
        }
    }
    docs.push(padded(&lines, start, lines.len()));
    docs
}

fn padded(lines: &[&str], start: usize, end: usize) -> String {
    let mut s = "\n".repeat(start);
    for l in &lines[start..end] {
        s.push_str(l);
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_references_parse_with_and_without_default() {
        let r = EnvRef::parse("${env:OTELCOL_BIND:-127.0.0.1}:4317").unwrap();
        assert_eq!(r.name, "OTELCOL_BIND");
        assert_eq!(r.default.as_deref(), Some("127.0.0.1"));
        assert_eq!(r.after, ":4317");
        let r = EnvRef::parse("${TOKEN}").unwrap();
        assert_eq!((r.name.as_str(), r.default), ("TOKEN", None));
        assert_eq!(EnvRef::parse("${file:/run/token}"), None);
        assert_eq!(EnvRef::parse("127.0.0.1:4317"), None);
    }

    #[test]
    fn env_files_skip_comments_and_strip_quotes() {
        let vars = parse_env_file("# c\nA=1\n\nexport B=\"two words\"\n# C=3\nD='x'\n");
        assert_eq!(
            vars,
            [
                ("A".into(), "1".into(), 2),
                ("B".into(), "two words".into(), 4),
                ("D".into(), "x".into(), 6)
            ]
        );
    }

    #[test]
    fn documents_keep_their_line_numbers() {
        let docs = split_documents("a: 1\n---\nb: 2\n");
        assert_eq!(docs.len(), 2);
        let b = document::parse(&docs[1]).unwrap();
        assert_eq!(b.get("b").unwrap().pos.line, 3);
    }
}
