//! Set one scalar in block-style YAML text, keeping every other byte (comments,
//! order, quoting) so the diff shows only what `tune` changes.
//!
//! Why by hand: YAML libraries re-emit the whole document and drop comments;
//! collector configs are block mappings, for which indentation finds a key.
//! A setting under a flow-style mapping (`sending_queue: {queue_size: 20}`)
//! goes to [`super::flow_edit`]; what neither can write is an [`EditError`],
//! and `tune` prints that recommendation without a diff line.

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("cannot set `{path}` in the YAML text: {reason}")]
pub struct EditError {
    pub path: String,
    pub reason: String,
}

struct Line<'a> {
    text: &'a str,
    indent: usize,
    /// Comment-only or blank.
    blank: bool,
}

fn lines(text: &str) -> Vec<Line<'_>> {
    text.split_inclusive('\n')
        .map(|t| {
            let body = t.trim_end_matches(['\n', '\r']);
            let trimmed = body.trim_start_matches(' ');
            Line {
                text: t,
                indent: body.len() - trimmed.len(),
                blank: trimmed.is_empty() || trimmed.starts_with('#'),
            }
        })
        .collect()
}

/// The key of a `key: value` line, unquoted.
fn key_of(line: &str) -> Option<&str> {
    let t = line.trim_start_matches(' ');
    if t.starts_with("- ") {
        return None;
    }
    let (key, rest) = if let Some(q) = t.strip_prefix('"') {
        let end = q.find('"')?;
        (&q[..end], &q[end + 1..])
    } else if let Some(q) = t.strip_prefix('\'') {
        let end = q.find('\'')?;
        (&q[..end], &q[end + 1..])
    } else {
        let end = t
            .find(": ")
            .or_else(|| t.trim_end().strip_suffix(':').map(|s| s.len()))?;
        (&t[..end], &t[end..])
    };
    rest.starts_with(':').then_some(key.trim_end())
}

/// Byte range of the value on a `key: value  # comment` line.
fn value_range(line: &str) -> (usize, usize) {
    let body = line.trim_end_matches(['\n', '\r']);
    let colon = body.find(": ").map_or(body.len(), |i| i + 1);
    let start = colon + (body[colon..].len() - body[colon..].trim_start().len());
    if body[start..].starts_with('#') {
        // `key:  # comment` has no value.
        return (colon, colon);
    }
    let end = body[start..].find(" #").map_or(body.len(), |i| start + i);
    let end = start + body[start..end].trim_end().len();
    (start, end)
}

/// Replace (or insert) `path` = `value` (already YAML-formatted, e.g. `2000`
/// or `100ms`). Missing parents are created as nested block mappings.
pub fn set_scalar(text: &str, path: &[&str], value: &str) -> Result<String, EditError> {
    let err = |reason: &str| EditError {
        path: path.join("."),
        reason: reason.to_string(),
    };
    let ls = lines(text);
    // Scope: lines (from, to) holding the children of the current parent.
    let (mut from, mut to) = (0usize, ls.len());
    let mut parent_indent: Option<usize> = None;
    let mut parent_line: Option<usize> = None;
    for (depth, seg) in path.iter().enumerate() {
        let child_indent = ls[from..to].iter().find(|l| !l.blank).map(|l| l.indent);
        let found = child_indent.and_then(|ci| {
            (from..to)
                .find(|&i| !ls[i].blank && ls[i].indent == ci && key_of(ls[i].text) == Some(seg))
        });
        let Some(i) = found else {
            return insert(
                text,
                &ls,
                (from, to),
                parent_indent,
                parent_line,
                child_indent,
                &path[depth..],
                value,
            )
            .ok_or_else(|| err("the parent is not a block mapping"));
        };
        if depth == path.len() - 1 {
            let (s, e) = value_range(ls[i].text);
            let mut out = String::with_capacity(text.len() + value.len());
            for (j, l) in ls.iter().enumerate() {
                if j == i {
                    out.push_str(&l.text[..s]);
                    if s == e && !l.text[..s].ends_with(' ') {
                        out.push(' ');
                    }
                    out.push_str(value);
                    out.push_str(&l.text[e..]);
                } else {
                    out.push_str(l.text);
                }
            }
            return Ok(out);
        }
        let (s, e) = value_range(ls[i].text);
        let inline = &ls[i].text[s..e];
        if inline.starts_with('{') && inline != "{}" {
            // Flow style below here: edit by the parsed positions instead.
            return super::flow_edit::set_scalar(text, path, value)
                .map_err(|reason| err(&format!("`{seg}` is written in flow style: {reason}")));
        }
        if !inline.is_empty() && inline != "{}" {
            return Err(err(&format!(
                "`{seg}` has an inline value `{inline}`, not a block mapping"
            )));
        }
        let indent = ls[i].indent;
        let end = (i + 1..to)
            .find(|&j| !ls[j].blank && ls[j].indent <= indent)
            .unwrap_or(to);
        (from, to) = (i + 1, end);
        parent_indent = Some(indent);
        parent_line = Some(i);
    }
    Err(err("empty path"))
}

/// Append `item` (a plain scalar) to the sequence at `path`: a new `- item`
/// line after the last item of a block sequence, or `, item` before the `]`
/// of a flow sequence. Every other byte stays as written.
pub fn append_to_sequence(text: &str, path: &[&str], item: &str) -> Result<String, EditError> {
    let err = |reason: String| EditError {
        path: path.join("."),
        reason,
    };
    let root = crate::collector_config::document::parse(text).map_err(|e| err(e.to_string()))?;
    let node = root
        .path(path)
        .ok_or_else(|| err("the sequence is missing".into()))?;
    let Some(items) = node.as_seq() else {
        return Err(err(format!("found {}, not a sequence", node.kind())));
    };
    let starts_flow =
        super::flow_edit::offset(text, node.pos).is_some_and(|at| text[at..].starts_with('['));
    if starts_flow {
        return super::flow_edit::append_item(text, path, item).map_err(err);
    }
    let ls = lines(text);
    let last = items
        .last()
        .ok_or_else(|| err("an empty block sequence".into()))?;
    let last_line = last.pos.line - 1;
    let dash = ls[last_line]
        .text
        .find("- ")
        .filter(|&d| ls[last_line].text[..d].trim().is_empty())
        .ok_or_else(|| err("the last item is not on a `- item` line".into()))?;
    // An item that spans lines (a mapping) ends before the next line at or
    // above its dash's indentation.
    let end = (last_line + 1..ls.len())
        .find(|&j| !ls[j].blank && ls[j].indent <= dash)
        .unwrap_or(ls.len());
    let at = (last_line..end)
        .rev()
        .find(|&j| !ls[j].blank)
        .map_or(end, |j| j + 1);
    let mut out = String::with_capacity(text.len() + dash + item.len() + 3);
    for (j, l) in ls.iter().enumerate() {
        if j == at {
            out.push_str(&format!("{}- {item}\n", " ".repeat(dash)));
        }
        out.push_str(l.text);
        if j + 1 == ls.len() && !l.text.ends_with('\n') && at == ls.len() {
            out.push('\n');
        }
    }
    if at == ls.len() {
        out.push_str(&format!("{}- {item}\n", " ".repeat(dash)));
    }
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
fn insert(
    text: &str,
    ls: &[Line<'_>],
    (from, to): (usize, usize),
    parent_indent: Option<usize>,
    parent_line: Option<usize>,
    child_indent: Option<usize>,
    rest: &[&str],
    value: &str,
) -> Option<String> {
    let indent = child_indent.unwrap_or_else(|| parent_indent.map_or(0, |p| p + 2));
    // After the last content line of the scope (trailing comments belong to
    // whatever follows).
    let at = (from..to)
        .rev()
        .find(|&j| !ls[j].blank)
        .map_or(from, |j| j + 1);
    let mut block = String::new();
    for (k, seg) in rest.iter().enumerate() {
        let pad = " ".repeat(indent + 2 * k);
        if k == rest.len() - 1 {
            block.push_str(&format!("{pad}{seg}: {value}\n"));
        } else {
            block.push_str(&format!("{pad}{seg}:\n"));
        }
    }
    let mut out = String::with_capacity(text.len() + block.len());
    for (j, l) in ls.iter().enumerate() {
        if j == at {
            out.push_str(&block);
        }
        if Some(j) == parent_line {
            // `key: {}` becomes `key:` so the block below belongs to it.
            let (s, e) = value_range(l.text);
            if &l.text[s..e] == "{}" {
                out.push_str(l.text[..s].trim_end());
                out.push_str(&l.text[e..]);
                continue;
            }
        }
        out.push_str(l.text);
        if j + 1 == ls.len() && !l.text.ends_with('\n') && at == ls.len() {
            out.push('\n');
        }
    }
    if at == ls.len() {
        out.push_str(&block);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collector_config::document::{self, Node};
    use crate::collector_config::file::number;

    fn parse(text: &str) -> Node {
        document::parse(text).unwrap()
    }

    const CONFIG: &str = "\
processors:
  # keep batches small
  batch:
    send_batch_size: 1024  # tuned 2025
    timeout: 1s
  memory_limiter: {}
exporters:
  otlp/backend:
    endpoint: backend:4317
service:
  pipelines: {}
";

    #[test]
    fn appends_to_a_block_sequence_at_its_items_indentation() {
        let text = "p:\n  exporters:\n  - otlp  # main\n  # next\n  receivers: [x]\n";
        let out = append_to_sequence(text, &["p", "exporters"], "debug").unwrap();
        assert_eq!(
            out,
            "p:\n  exporters:\n  - otlp  # main\n  - debug\n  # next\n  receivers: [x]\n"
        );
        let out = append_to_sequence("s:\n    - a\n    - b", &["s"], "c").unwrap();
        assert_eq!(out, "s:\n    - a\n    - b\n    - c\n");
    }

    #[test]
    fn appends_to_a_flow_sequence_in_place() {
        let out = append_to_sequence("p: {e: [a, b]}  # x\n", &["p", "e"], "c").unwrap();
        assert_eq!(out, "p: {e: [a, b, c]}  # x\n");
        let out = append_to_sequence("e: []\n", &["e"], "c").unwrap();
        assert_eq!(out, "e: [c]\n");
    }

    #[test]
    fn appending_to_a_non_sequence_is_refused() {
        let err = append_to_sequence("e: otlp\n", &["e"], "debug").unwrap_err();
        assert!(err.reason.contains("not a sequence"), "{err}");
    }

    #[test]
    fn replaces_a_value_and_keeps_its_comment() {
        let out = set_scalar(CONFIG, &["processors", "batch", "send_batch_size"], "2048").unwrap();
        assert!(
            out.contains("    send_batch_size: 2048  # tuned 2025\n"),
            "{out}"
        );
        assert!(out.contains("  # keep batches small\n"));
        assert_eq!(out.lines().count(), CONFIG.lines().count());
    }

    #[test]
    fn inserts_missing_nested_keys_under_an_existing_parent() {
        let out = set_scalar(
            CONFIG,
            &["exporters", "otlp/backend", "sending_queue", "queue_size"],
            "2000",
        )
        .unwrap();
        assert!(
            out.contains(
                "    endpoint: backend:4317\n    sending_queue:\n      queue_size: 2000\nservice:"
            ),
            "{out}"
        );
        let v = parse(&out);
        assert_eq!(
            v.path(&["exporters", "otlp/backend", "sending_queue", "queue_size"])
                .and_then(number),
            Some(2000.0)
        );
    }

    #[test]
    fn empty_flow_mapping_parent_becomes_a_block() {
        let out = set_scalar(
            CONFIG,
            &["processors", "memory_limiter", "limit_mib"],
            "400",
        )
        .unwrap();
        let v = parse(&out);
        assert_eq!(
            v.path(&["processors", "memory_limiter", "limit_mib"])
                .and_then(number),
            Some(400.0)
        );
        assert_eq!(
            v.path(&["processors", "batch", "timeout"])
                .and_then(Node::as_str),
            Some("1s")
        );
    }

    #[test]
    fn a_parent_with_only_a_comment_is_a_block_parent() {
        let text = "exporters:\n  otlp:  # main backend\n    endpoint: x\n";
        let out = set_scalar(text, &["exporters", "otlp", "timeout"], "5s").unwrap();
        assert!(
            out.contains("  otlp:  # main backend\n    endpoint: x\n    timeout: 5s\n"),
            "{out}"
        );
        let out = set_scalar("a:  # none yet\n", &["a"], "1").unwrap();
        assert_eq!(out, "a: 1  # none yet\n");
    }

    #[test]
    fn a_flow_style_parent_is_edited_by_position() {
        let out = set_scalar(
            "exporters:\n  otlp: {sending_queue: {queue_size: 20}}\n",
            &["exporters", "otlp", "sending_queue", "queue_size"],
            "40",
        )
        .unwrap();
        assert_eq!(
            out,
            "exporters:\n  otlp: {sending_queue: {queue_size: 40}}\n"
        );
    }

    #[test]
    fn inline_non_mapping_parent_is_refused() {
        let err = set_scalar("a: 5\n", &["a", "b"], "1").unwrap_err();
        assert!(err.reason.contains("inline value"));
    }

    #[test]
    fn missing_top_level_section_is_appended() {
        let out = set_scalar(
            "receivers:\n  otlp:\n",
            &["processors", "batch", "timeout"],
            "200ms",
        )
        .unwrap();
        let v = parse(&out);
        assert_eq!(
            v.path(&["processors", "batch", "timeout"])
                .and_then(Node::as_str),
            Some("200ms")
        );
    }
}
