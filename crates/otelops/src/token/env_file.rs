//! Replacing a token inside a dotenv file (`.env.otel`, the collector's
//! `secrets.env`) while leaving every other line, comment and byte alone.
//!
//! A `*_HEADERS` variable (`OTEL_EXPORTER_OTLP_HEADERS`: comma-separated
//! `key=value` pairs, values percent-encoded) gets only its `authorization`
//! pair's value replaced by `Bearer%20<token>`; any other variable's whole
//! value becomes the token. The edit is made on the text, then checked by
//! parsing the old and new file with `dotenvy` (what parker-telemetry reads it
//! with): only that variable may change, to exactly the intended value, or
//! nothing is written.

use std::collections::HashMap;
use std::path::Path;

use super::{SECRET_MODE, Token, TokenError};
use crate::secret_file::write_atomic;

/// Where the token went (1-based line numbers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// The variable's token (or its `authorization` header) was replaced.
    Replaced { line: usize },
    /// The headers variable had no `authorization` pair: one was appended.
    HeaderAdded { line: usize },
    /// The variable was not assigned (maybe only in a comment): a line was appended.
    VariableAdded { line: usize },
}

/// Puts `token` into `var` in the env file at `path` (written atomically, 0600).
pub fn set_token(path: &Path, var: &str, token: &Token) -> Result<Change, TokenError> {
    let text = std::fs::read_to_string(path).map_err(|e| TokenError::io("cannot read", path, e))?;
    let (new_text, change) = rewrite(path, &text, var, token)?;
    verify(path, &text, &new_text, var, token)?;
    write_atomic(path, new_text.as_bytes(), SECRET_MODE)
        .map_err(|e| TokenError::io("cannot write", path, e))?;
    Ok(change)
}

fn is_headers(var: &str) -> bool {
    var.ends_with("_HEADERS")
}

/// The value `var` should hold after the rotation, given its current value.
fn new_value(var: &str, old: Option<&str>, token: &Token) -> (String, bool) {
    if !is_headers(var) {
        return (token.expose().to_owned(), true);
    }
    let auth = format!("Bearer%20{}", token.expose());
    let old = old.unwrap_or_default();
    if old.trim().is_empty() {
        return (format!("authorization={auth}"), false);
    }
    let mut found = false;
    let mut items: Vec<String> = old
        .split(',')
        .map(|item| match item.split_once('=') {
            Some((key, _)) if key.trim().eq_ignore_ascii_case("authorization") => {
                found = true;
                format!("{key}={auth}")
            }
            _ => item.to_owned(),
        })
        .collect();
    if !found {
        items.push(format!("authorization={auth}"));
    }
    (items.join(","), found)
}

/// One `KEY=VALUE` line split into the bytes before the value, the value
/// (without quotes) and the bytes after it (closing quote, comment, newline).
struct Assignment<'a> {
    key: &'a str,
    before: &'a str,
    value: &'a str,
    after: &'a str,
}

fn assignment(line: &str) -> Result<Option<Assignment<'_>>, String> {
    let body = line.trim_start();
    if body.is_empty() || body.starts_with('#') {
        return Ok(None);
    }
    let rest = body.strip_prefix("export ").map_or(body, str::trim_start);
    let key_len = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
        .unwrap_or(rest.len());
    let key = &rest[..key_len];
    let after_key = rest[key_len..].trim_start();
    let Some(after_eq) = after_key.strip_prefix('=') else {
        return Err("expected KEY=VALUE".to_owned());
    };
    if key.is_empty() {
        return Err("expected KEY=VALUE".to_owned());
    }
    let value_part = after_eq.trim_start();
    let start = line.len() - value_part.len();
    let (value_start, value_end) = match value_part.chars().next() {
        Some(q @ ('"' | '\'')) => {
            let mut escaped = false;
            let close = value_part[1..].char_indices().find(|&(_, c)| {
                let hit = c == q && !escaped;
                escaped = q == '"' && c == '\\' && !escaped;
                hit
            });
            let Some((i, _)) = close else {
                return Err(format!(
                    "unterminated {q} quote (multi-line values are not supported here)"
                ));
            };
            (start + 1, start + 1 + i)
        }
        _ => {
            let content = value_part.trim_end_matches(['\n', '\r']);
            let comment = content
                .char_indices()
                .find(|&(i, c)| c == '#' && content[..i].ends_with([' ', '\t']))
                .map_or(content.len(), |(i, _)| i);
            let end = start + content[..comment].trim_end().len();
            (start, end)
        }
    };
    Ok(Some(Assignment {
        key,
        before: &line[..value_start],
        value: &line[value_start..value_end],
        after: &line[value_end..],
    }))
}

/// The file with `var` carrying `token`, and where it went.
fn rewrite(
    path: &Path,
    text: &str,
    var: &str,
    token: &Token,
) -> Result<(String, Change), TokenError> {
    let mut out = String::with_capacity(text.len() + 100);
    let mut hits = Vec::new();
    let mut change = None;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let parsed = assignment(line).map_err(|problem| TokenError::EnvSyntax {
            path: path.to_owned(),
            line: i + 1,
            problem,
        })?;
        match parsed {
            Some(a) if a.key == var => {
                hits.push(i + 1);
                let (value, found) = new_value(var, Some(a.value), token);
                out.push_str(a.before);
                out.push_str(&value);
                out.push_str(a.after);
                change = Some(if found {
                    Change::Replaced { line: i + 1 }
                } else {
                    Change::HeaderAdded { line: i + 1 }
                });
            }
            _ => out.push_str(line),
        }
    }
    if hits.len() > 1 {
        return Err(TokenError::EnvDuplicate {
            path: path.to_owned(),
            var: var.to_owned(),
            lines: hits,
        });
    }
    let change = match change {
        Some(c) => c,
        None => {
            if !out.is_empty() && !out.ends_with('\n') {
                out.push('\n');
            }
            let (value, _) = new_value(var, None, token);
            out.push_str(&format!("{var}={value}\n"));
            Change::VariableAdded {
                line: out.lines().count(),
            }
        }
    };
    Ok((out, change))
}

fn parse_dotenv(text: &str) -> Result<HashMap<String, String>, String> {
    dotenvy::from_read_iter(text.as_bytes())
        .map(|item| item.map_err(|e| e.to_string()))
        .collect()
}

/// The new text must read, as dotenv, exactly like the old one but for `var`,
/// which must hold what [`new_value`] intends.
fn verify(path: &Path, old: &str, new: &str, var: &str, token: &Token) -> Result<(), TokenError> {
    let fail = |problem: String| TokenError::EnvVerify {
        path: path.to_owned(),
        var: var.to_owned(),
        problem,
    };
    let syntax = |problem: String| TokenError::EnvSyntax {
        path: path.to_owned(),
        line: 0,
        problem,
    };
    let mut before = parse_dotenv(old).map_err(syntax)?;
    let mut after =
        parse_dotenv(new).map_err(|e| fail(format!("the result does not parse: {e}")))?;
    let (want, _) = new_value(var, before.remove(var).as_deref(), token);
    if after.remove(var).as_deref() != Some(want.as_str()) {
        return Err(fail(format!("{var} would not hold the new value")));
    }
    if before != after {
        return Err(fail("another variable would change".to_owned()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NEW: &str = "0123abcd";

    fn run(text: &str, var: &str) -> Result<(String, Change), TokenError> {
        let token = Token::parse(NEW).unwrap();
        let path = Path::new(".env.otel");
        let (out, change) = rewrite(path, text, var, &token)?;
        verify(path, text, &out, var, &token)?;
        Ok((out, change))
    }

    #[test]
    fn replaces_only_the_authorization_header_value() {
        let text = "# comment\nOTEL_SERVICE_NAME=booking\nOTEL_EXPORTER_OTLP_HEADERS=x-team=ops,Authorization=Bearer%20old,x-b=1 # keep\n\nRUST_LOG=info";
        let (out, change) = run(text, "OTEL_EXPORTER_OTLP_HEADERS").unwrap();
        assert_eq!(
            out,
            "# comment\nOTEL_SERVICE_NAME=booking\nOTEL_EXPORTER_OTLP_HEADERS=x-team=ops,Authorization=Bearer%200123abcd,x-b=1 # keep\n\nRUST_LOG=info"
        );
        assert_eq!(change, Change::Replaced { line: 3 });
    }

    #[test]
    fn keeps_quotes_export_and_windows_line_endings() {
        let text = "export OTEL_EXPORTER_OTLP_HEADERS=\"authorization=Bearer%20old\"\r\nA='x'\r\n";
        let (out, _) = run(text, "OTEL_EXPORTER_OTLP_HEADERS").unwrap();
        assert_eq!(
            out,
            "export OTEL_EXPORTER_OTLP_HEADERS=\"authorization=Bearer%200123abcd\"\r\nA='x'\r\n"
        );
    }

    #[test]
    fn headers_without_authorization_get_one_appended() {
        let (out, change) = run(
            "OTEL_EXPORTER_OTLP_HEADERS=x-team=ops\n",
            "OTEL_EXPORTER_OTLP_HEADERS",
        )
        .unwrap();
        assert_eq!(
            out,
            "OTEL_EXPORTER_OTLP_HEADERS=x-team=ops,authorization=Bearer%200123abcd\n"
        );
        assert_eq!(change, Change::HeaderAdded { line: 1 });
    }

    #[test]
    fn a_plain_variable_takes_the_bare_token() {
        let text = "OTELCOL_INGEST_TOKEN='old' # rotated by otelops\nOTELCOL_EXPORT_TOKEN=other\n";
        let (out, _) = run(text, "OTELCOL_INGEST_TOKEN").unwrap();
        assert_eq!(
            out,
            "OTELCOL_INGEST_TOKEN='0123abcd' # rotated by otelops\nOTELCOL_EXPORT_TOKEN=other\n"
        );
    }

    #[test]
    fn a_variable_only_in_a_comment_is_appended() {
        let (out, change) = run(
            "# OTEL_EXPORTER_OTLP_HEADERS=\nA=1",
            "OTEL_EXPORTER_OTLP_HEADERS",
        )
        .unwrap();
        assert_eq!(
            out,
            "# OTEL_EXPORTER_OTLP_HEADERS=\nA=1\nOTEL_EXPORTER_OTLP_HEADERS=authorization=Bearer%200123abcd\n"
        );
        assert_eq!(change, Change::VariableAdded { line: 3 });
    }

    #[test]
    fn two_assignments_of_the_variable_are_refused() {
        let err = run("T=a\nT=b\n", "T").unwrap_err().to_string();
        assert!(err.contains("lines [1, 2]"), "{err}");
    }

    #[test]
    fn a_malformed_line_is_named() {
        let err = run("A=1\nnot an assignment\n", "T")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with(".env.otel:2: expected KEY=VALUE"), "{err}");
        let err = run("T=\"open\n", "T").unwrap_err().to_string();
        assert!(err.contains(":1: unterminated \" quote"), "{err}");
    }
}
