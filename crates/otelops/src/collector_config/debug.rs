//! `otelops config debug on|off`: the operations guide's debug mode as a
//! minimal edit of a collector config's text — `service.telemetry.logs`
//! at `level: debug` with `development: true`, and a `debug` exporter at
//! `verbosity: detailed` in every pipeline — and the exact way back.
//!
//! Every line `on` adds or changes carries a trailing comment marker
//! ([`MARKER`]); a changed line's marker holds the line as it was (as a JSON
//! string), so `off` needs nothing but the text: it drops the added lines
//! and puts the changed ones back, byte for byte. Lines without a marker
//! (debug settings written by hand) are never touched by `off`.

use crate::collector_config::document::{self, Node};
use crate::tune::edit::{self, EditError};

/// The comment that marks a line `on` wrote.
pub const MARKER: &str = "# otelops config debug:";

/// The debug exporter's id; `verbosity: detailed` prints every span,
/// attribute and event, as the guide's debug mode asks.
pub const EXPORTER: &str = "debug";

#[derive(Debug, thiserror::Error)]
pub enum DebugModeError {
    #[error("invalid YAML: {0}")]
    Yaml(#[from] document::DocumentError),
    #[error("the config has no `service.pipelines` mapping to add the debug exporter to")]
    NoPipelines,
    #[error("pipeline `{pipeline}`: {source}")]
    Pipeline { pipeline: String, source: EditError },
    #[error(transparent)]
    Edit(#[from] EditError),
    #[error(
        "line {line}: the `{MARKER}` marker holds `{found}`, not the quoted line `off` restores"
    )]
    BadMarker { line: usize, found: String },
    #[error("the edit removed lines, which debug mode never does (a bug)")]
    LinesRemoved,
}

/// The config with debug mode on. Idempotent: settings already in place
/// are left alone (and get no marker).
pub fn on(text: &str) -> Result<String, DebugModeError> {
    let root = document::parse(text)?;
    let pipelines: Vec<String> = root
        .path(&["service", "pipelines"])
        .and_then(Node::as_map)
        .ok_or(DebugModeError::NoPipelines)?
        .iter()
        .map(|(k, _)| k.name.clone())
        .collect();
    let mut out = text.to_owned();
    for (path, value) in [
        (&["service", "telemetry", "logs", "level"][..], "debug"),
        (&["service", "telemetry", "logs", "development"][..], "true"),
        (&["exporters", EXPORTER, "verbosity"][..], "detailed"),
    ] {
        out = edit::set_scalar(&out, path, value)?;
    }
    for pipeline in &pipelines {
        let path = ["service", "pipelines", pipeline.as_str(), "exporters"];
        let has_debug = document::parse(&out)?
            .path(&path)
            .and_then(Node::as_seq)
            .is_some_and(|items| items.iter().any(|n| n.as_str() == Some(EXPORTER)));
        if !has_debug {
            out = edit::append_to_sequence(&out, &path, EXPORTER).map_err(|source| {
                DebugModeError::Pipeline {
                    pipeline: pipeline.clone(),
                    source,
                }
            })?;
        }
    }
    mark(text, &out)
}

/// The config with every line `on` added removed and every line it changed
/// put back as it was.
pub fn off(text: &str) -> Result<String, DebugModeError> {
    let needle = format!("  {MARKER} ");
    let mut out = String::with_capacity(text.len());
    for (n, line) in text.split_inclusive('\n').enumerate() {
        let (body, eol) = split_eol(line);
        let Some(at) = body.rfind(&needle) else {
            out.push_str(line);
            continue;
        };
        let note = &body[at + needle.len()..];
        if note == "added" {
            continue;
        }
        let was = note
            .strip_prefix("was ")
            .and_then(|quoted| serde_json::from_str::<String>(quoted).ok())
            .ok_or_else(|| DebugModeError::BadMarker {
                line: n + 1,
                found: note.to_owned(),
            })?;
        out.push_str(&was);
        out.push_str(eol);
    }
    Ok(out)
}

/// `edited` with a marker on each line that differs from `original`. The
/// editors only insert lines or rewrite one in place, so every changed
/// hunk has at least as many new lines as old: the first ones carry the old
/// lines in their markers, the rest are marked added.
fn mark(original: &str, edited: &str) -> Result<String, DebugModeError> {
    use similar::{DiffOp, TextDiff};
    let diff = TextDiff::from_lines(original, edited);
    // The same lines, newline included, as `from_lines` indexes them.
    let old: Vec<&str> = original.split_inclusive('\n').collect();
    let new: Vec<&str> = edited.split_inclusive('\n').collect();
    let mut out = String::with_capacity(edited.len() + 256);
    for op in diff.ops() {
        match *op {
            DiffOp::Equal { new_index, len, .. } => {
                new[new_index..new_index + len]
                    .iter()
                    .for_each(|l| out.push_str(l));
            }
            DiffOp::Insert {
                new_index, new_len, ..
            } => {
                for l in &new[new_index..new_index + new_len] {
                    push_marked(&mut out, l, "added");
                }
            }
            DiffOp::Replace {
                old_index,
                old_len,
                new_index,
                new_len,
            } if new_len >= old_len => {
                for (k, l) in new[new_index..new_index + new_len].iter().enumerate() {
                    let note = match old.get(old_index + k).filter(|_| k < old_len) {
                        Some(was) => format!(
                            "was {}",
                            serde_json::Value::String(split_eol(was).0.to_owned())
                        ),
                        None => "added".to_owned(),
                    };
                    push_marked(&mut out, l, &note);
                }
            }
            DiffOp::Delete { .. } | DiffOp::Replace { .. } => {
                return Err(DebugModeError::LinesRemoved);
            }
        }
    }
    Ok(out)
}

fn push_marked(out: &mut String, line: &str, note: &str) {
    let (body, eol) = split_eol(line);
    out.push_str(body);
    out.push_str("  ");
    out.push_str(MARKER);
    out.push(' ');
    out.push_str(note);
    // The last line of a file may lack its newline; a marked one gets one.
    out.push_str(if eol.is_empty() { "\n" } else { eol });
}

fn split_eol(line: &str) -> (&str, &str) {
    let body = line.trim_end_matches(['\n', '\r']);
    (body, &line[body.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;

    const BLOCK: &str = "\
# the main pipeline
exporters:
  otlp:
    endpoint: backend:4317  # prod backend
service:
  pipelines:
    traces:
      receivers:
      - otlp
      exporters:
      - otlp
    logs:
      receivers: [otlp]
      exporters: [otlp]   # one only
  telemetry:
    logs:
      level: info  # quiet
";

    fn read(text: &str, path: &[&str]) -> serde_json::Value {
        document::parse(text)
            .unwrap()
            .path(path)
            .map_or(serde_json::Value::Null, Node::to_json)
    }

    #[test]
    fn on_sets_the_guides_debug_settings_and_keeps_comments() {
        let out = on(BLOCK).unwrap();
        assert_eq!(
            read(&out, &["service", "telemetry", "logs", "level"]),
            "debug"
        );
        assert_eq!(
            read(&out, &["service", "telemetry", "logs", "development"]),
            true
        );
        assert_eq!(read(&out, &["exporters", "debug", "verbosity"]), "detailed");
        for p in ["traces", "logs"] {
            assert_eq!(
                read(&out, &["service", "pipelines", p, "exporters"]),
                serde_json::json!(["otlp", "debug"]),
                "{out}"
            );
        }
        assert!(out.contains("    endpoint: backend:4317  # prod backend\n"));
        assert!(out.contains("      level: debug  # quiet  # otelops config debug: was \"      level: info  # quiet\"\n"), "{out}");
        assert!(
            out.contains(
                "      exporters: [otlp, debug]   # one only  # otelops config debug: was"
            ),
            "{out}"
        );
        assert!(
            out.contains("      - debug  # otelops config debug: added\n"),
            "{out}"
        );
        assert!(out.starts_with("# the main pipeline\n"));
    }

    #[test]
    fn off_gives_back_the_original_bytes() {
        let out = on(BLOCK).unwrap();
        assert_eq!(off(&out).unwrap(), BLOCK);
    }

    #[test]
    fn on_is_idempotent() {
        let once = on(BLOCK).unwrap();
        assert_eq!(on(&once).unwrap(), once);
    }

    #[test]
    fn a_missing_telemetry_section_is_added_and_removed_whole() {
        let text = "exporters: {otlp: {endpoint: x}}\nservice:\n  pipelines:\n    traces: {receivers: [otlp], exporters: [otlp]}\n";
        let out = on(text).unwrap();
        assert_eq!(
            read(&out, &["service", "telemetry", "logs", "level"]),
            "debug"
        );
        assert_eq!(
            read(&out, &["service", "pipelines", "traces", "exporters"]),
            serde_json::json!(["otlp", "debug"])
        );
        assert_eq!(read(&out, &["exporters", "debug", "verbosity"]), "detailed");
        assert_eq!(off(&out).unwrap(), text);
    }

    #[test]
    fn off_leaves_hand_written_debug_settings_alone() {
        let text = "exporters:\n  debug:\n    verbosity: basic\nservice:\n  telemetry:\n    logs:\n      level: debug\n";
        assert_eq!(off(text).unwrap(), text);
    }

    #[test]
    fn a_damaged_marker_is_an_error_naming_the_line() {
        let text = "a: 1\nb: 2  # otelops config debug: was nonsense\n";
        let err = off(text).unwrap_err();
        assert!(err.to_string().starts_with("line 2:"), "{err}");
    }

    #[test]
    fn a_config_without_pipelines_is_refused() {
        let err = on("exporters: {}\n").unwrap_err();
        assert!(matches!(err, DebugModeError::NoPipelines), "{err}");
    }
}
