//! A collector configuration file as every command reads it: its text (tune
//! edits the text, so comments and layout survive) and its positioned tree
//! from [`document::parse`]. `tune` and `monitor` ask it for components and
//! memory_limiter settings; `lint` walks the same tree.

use std::path::{Path, PathBuf};

use super::document::{self, DocumentError, Node, Value};
use super::memory::MemoryLimiterSettings;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read collector config {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{source}")]
    Yaml {
        path: PathBuf,
        source: DocumentError,
    },
    #[error("{path}: the collector config must be a YAML mapping at the top level")]
    NotMapping { path: PathBuf },
}

#[derive(Debug, Clone)]
pub struct ConfigFile {
    pub path: PathBuf,
    pub text: String,
    pub root: Node,
}

impl ConfigFile {
    pub fn load(path: &Path) -> Result<ConfigFile, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.into(),
            source,
        })?;
        ConfigFile::from_text(path, text)
    }

    pub fn from_text(path: &Path, text: String) -> Result<ConfigFile, ConfigError> {
        let root = document::parse(&text).map_err(|source| ConfigError::Yaml {
            path: path.into(),
            source,
        })?;
        if root.as_map().is_none() {
            return Err(ConfigError::NotMapping { path: path.into() });
        }
        Ok(ConfigFile {
            path: path.into(),
            text,
            root,
        })
    }

    /// Component ids under `section` (`processors`, `exporters`, …) whose type
    /// is `kind` (`batch` matches `batch` and `batch/traces`).
    pub fn components(&self, section: &str, kind: &str) -> Vec<(&str, &Node)> {
        self.section(section)
            .into_iter()
            .filter(|(id, _)| id.split('/').next() == Some(kind))
            .collect()
    }

    /// Every component id under `section` with its settings.
    pub fn section(&self, section: &str) -> Vec<(&str, &Node)> {
        self.root
            .get(section)
            .and_then(Node::as_map)
            .unwrap_or_default()
            .iter()
            .map(|(k, v)| (k.name.as_str(), v))
            .collect()
    }

    /// The first memory_limiter's settings (a pipeline has at most one in
    /// practice; the guide puts it first).
    pub fn memory_limiter(&self) -> Option<MemoryLimiterSettings> {
        self.components("processors", "memory_limiter")
            .first()
            .map(|(_, node)| MemoryLimiterSettings::from_node(node))
    }
}

/// A number setting; the collector also accepts a quoted one.
pub fn number(v: &Node) -> Option<f64> {
    match &v.value {
        Value::Int(i) => Some(*i as f64),
        Value::Float(f) => Some(*f),
        Value::Str(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A collector duration (`200ms`, `5s`, `1m`) in milliseconds.
pub fn duration_ms(v: &Node) -> Option<f64> {
    match &v.value {
        Value::Str(s) => humantime::parse_duration(s.trim())
            .ok()
            .map(|d| d.as_secs_f64() * 1000.0),
        // A bare number is nanoseconds in Go's time.Duration decoding.
        Value::Int(ns) => Some(*ns as f64 / 1e6),
        Value::Float(ns) => Some(ns / 1e6),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_yaml_reports_file_line_and_column() {
        let err = ConfigFile::from_text(Path::new("c.yaml"), "processors:\n  batch: [\n".into())
            .unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("c.yaml:3:1: invalid YAML"), "{msg}");
    }

    #[test]
    fn scalar_top_level_is_rejected() {
        let err = ConfigFile::from_text(Path::new("c.yaml"), "just a string\n".into()).unwrap_err();
        assert!(matches!(err, ConfigError::NotMapping { .. }));
    }

    #[test]
    fn flow_style_reads_like_block_style() {
        let c = ConfigFile::from_text(
            Path::new("c.yaml"),
            "exporters: {otlp: {sending_queue: {queue_size: 20}}}\n".into(),
        )
        .unwrap();
        let (id, otlp) = c.components("exporters", "otlp")[0];
        assert_eq!(id, "otlp");
        assert_eq!(
            otlp.path(&["sending_queue", "queue_size"]).and_then(number),
            Some(20.0)
        );
    }

    #[test]
    fn durations_parse() {
        let c = ConfigFile::from_text(Path::new("c.yaml"), "a: 200ms\nb: 5s\nc: 1000000\n".into())
            .unwrap();
        let ms = |k| c.root.get(k).and_then(duration_ms);
        assert_eq!(ms("a"), Some(200.0));
        assert_eq!(ms("b"), Some(5000.0));
        assert_eq!(ms("c"), Some(1.0));
    }
}
