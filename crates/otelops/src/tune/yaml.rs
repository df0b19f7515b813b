//! A collector config as read by `tune` and `monitor`: the text (edits are
//! made on it, so comments and layout survive) and its parsed value.

use std::path::{Path, PathBuf};

use serde_yaml_ng::Value;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read collector config {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}:{column}: invalid YAML: {message}")]
    Yaml {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{path}: the collector config must be a YAML mapping at the top level")]
    NotMapping { path: PathBuf },
}

#[derive(Debug, Clone)]
pub struct CollectorConfig {
    pub path: PathBuf,
    pub text: String,
    pub value: Value,
}

impl CollectorConfig {
    pub fn load(path: &Path) -> Result<CollectorConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.into(),
            source,
        })?;
        CollectorConfig::from_text(path, text)
    }

    pub fn from_text(path: &Path, text: String) -> Result<CollectorConfig, ConfigError> {
        let value: Value = serde_yaml_ng::from_str(&text).map_err(|e| {
            let (line, column) = e.location().map_or((0, 0), |l| (l.line(), l.column()));
            ConfigError::Yaml {
                path: path.into(),
                line,
                column,
                message: e.to_string(),
            }
        })?;
        if !value.is_mapping() {
            return Err(ConfigError::NotMapping { path: path.into() });
        }
        Ok(CollectorConfig {
            path: path.into(),
            text,
            value,
        })
    }

    /// Component ids under `section` (`processors`, `exporters`, …) whose type
    /// is `kind` (`batch` matches `batch` and `batch/traces`).
    pub fn components(&self, section: &str, kind: &str) -> Vec<(String, &Value)> {
        let Some(map) = self.value.get(section).and_then(Value::as_mapping) else {
            return Vec::new();
        };
        map.iter()
            .filter_map(|(k, v)| {
                let id = k.as_str()?;
                let ty = id.split('/').next().unwrap_or(id);
                (ty == kind).then(|| (id.to_string(), v))
            })
            .collect()
    }

    /// Every exporter id with its settings.
    pub fn exporters(&self) -> Vec<(String, &Value)> {
        let Some(map) = self.value.get("exporters").and_then(Value::as_mapping) else {
            return Vec::new();
        };
        map.iter()
            .filter_map(|(k, v)| Some((k.as_str()?.to_string(), v)))
            .collect()
    }

    /// `processors.memory_limiter*.limit_mib`, the memory limit `monitor`
    /// compares RSS against.
    pub fn memory_limit_mib(&self) -> Option<f64> {
        self.components("processors", "memory_limiter")
            .iter()
            .find_map(|(_, v)| number(v.get("limit_mib")?))
    }
}

pub fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A collector duration (`200ms`, `5s`, `1m`) in milliseconds.
pub fn duration_ms(v: &Value) -> Option<f64> {
    match v {
        Value::String(s) => humantime::parse_duration(s.trim())
            .ok()
            .map(|d| d.as_secs_f64() * 1000.0),
        // A bare number is nanoseconds in Go's time.Duration decoding.
        Value::Number(n) => n.as_f64().map(|ns| ns / 1e6),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_yaml_reports_line_and_column() {
        let err =
            CollectorConfig::from_text(Path::new("c.yaml"), "processors:\n  batch: [\n".into())
                .unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("c.yaml:"), "{msg}");
        assert!(matches!(err, ConfigError::Yaml { line, .. } if line >= 2));
    }

    #[test]
    fn scalar_top_level_is_rejected() {
        let err =
            CollectorConfig::from_text(Path::new("c.yaml"), "just a string\n".into()).unwrap_err();
        assert!(matches!(err, ConfigError::NotMapping { .. }));
    }

    #[test]
    fn memory_limit_from_named_memory_limiter() {
        let c = CollectorConfig::from_text(
            Path::new("c.yaml"),
            "processors:\n  memory_limiter/main:\n    check_interval: 1s\n    limit_mib: 400\n"
                .into(),
        )
        .unwrap();
        assert_eq!(c.memory_limit_mib(), Some(400.0));
    }

    #[test]
    fn durations_parse() {
        assert_eq!(duration_ms(&Value::String("200ms".into())), Some(200.0));
        assert_eq!(duration_ms(&Value::String("5s".into())), Some(5000.0));
    }
}
