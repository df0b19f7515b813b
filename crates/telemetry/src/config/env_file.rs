//! The optional env file (`config/.env.otel`, or the path in `OTEL_ENV_FILE`)
//! and its overlay under the real environment. Syntax is dotenv's, parsed by
//! `dotenvy`; we only add file:line to its errors.

use super::ConfigError;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Default env file location, relative to the working directory.
pub const DEFAULT_ENV_FILE: &str = "config/.env.otel";

/// Reads `path` as a dotenv file. A malformed line is an error naming
/// `path:line`.
pub fn load_env_file(path: &Path) -> Result<HashMap<String, String>, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::EnvFileUnreadable {
        path: path.to_owned(),
        origin: "env file",
        source,
    })?;
    parse_env_file(path, &text)
}

/// Parses dotenv text; `path` is only used in error messages.
pub fn parse_env_file(path: &Path, text: &str) -> Result<HashMap<String, String>, ConfigError> {
    let mut vars = HashMap::new();
    for item in dotenvy::from_read_iter(text.as_bytes()) {
        match item {
            Ok((key, value)) => {
                vars.insert(key, value);
            }
            Err(dotenvy::Error::LineParse(statement, position)) => {
                return Err(ConfigError::EnvFileSyntax {
                    path: path.to_owned(),
                    line: line_of(text, &statement),
                    problem: format!(
                        "cannot parse {:?} at character {}; expected KEY=VALUE (values may be quoted, # starts a comment)",
                        statement.lines().next().unwrap_or_default(),
                        position + 1
                    ),
                });
            }
            Err(other) => {
                return Err(ConfigError::EnvFileSyntax {
                    path: path.to_owned(),
                    line: 0,
                    problem: other.to_string(),
                });
            }
        }
    }
    Ok(vars)
}

/// dotenvy reports the statement text, not its line number: find the line.
fn line_of(text: &str, statement: &str) -> usize {
    let first = statement.lines().next().unwrap_or_default().trim();
    text.lines()
        .position(|l| !first.is_empty() && l.trim() == first)
        .or_else(|| {
            text.lines()
                .position(|l| !first.is_empty() && l.contains(first))
        })
        .map_or(0, |i| i + 1)
}

/// The process environment overlaid on the env file: `OTEL_ENV_FILE` from
/// `process` if set (must exist), else `base_dir/config/.env.otel` when it
/// exists. The real environment wins over the file.
pub fn overlay_env_file(
    process: &HashMap<String, String>,
    base_dir: &Path,
) -> Result<HashMap<String, String>, ConfigError> {
    let explicit = process
        .get("OTEL_ENV_FILE")
        .map(|p| p.trim())
        .filter(|p| !p.is_empty());
    let (path, origin): (PathBuf, &'static str) = match explicit {
        Some(p) => (base_dir.join(p), "named by OTEL_ENV_FILE"),
        None => {
            let default = base_dir.join(DEFAULT_ENV_FILE);
            if !default.exists() {
                return Ok(process.clone());
            }
            (default, "default env file")
        }
    };
    let mut merged = match load_env_file(&path) {
        Err(ConfigError::EnvFileUnreadable { path, source, .. }) => {
            return Err(ConfigError::EnvFileUnreadable {
                path,
                origin,
                source,
            });
        }
        other => other?,
    };
    merged.extend(process.iter().map(|(k, v)| (k.clone(), v.clone())));
    Ok(merged)
}

/// The real process environment. Non-UTF-8 values are an error only for the
/// variables we read (`OTEL_*`); others are skipped.
pub fn process_env() -> Result<HashMap<String, String>, ConfigError> {
    let mut vars = HashMap::new();
    for (key, value) in std::env::vars_os() {
        let Some(key) = key.to_str().map(str::to_owned) else {
            continue;
        };
        match value.into_string() {
            Ok(v) => {
                vars.insert(key, v);
            }
            Err(_) if key.starts_with("OTEL_") => return Err(ConfigError::NotUnicode { var: key }),
            Err(_) => {}
        }
    }
    Ok(vars)
}
