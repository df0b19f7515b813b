//! Set one scalar under a flow-style mapping (`sending_queue: {queue_size:
//! 20}`), which the line-based block editor cannot: the parsed tree says
//! where the value (or the mapping to add it to) starts, and only that span
//! of the text changes, so the rest of the line and file stays as written.

use crate::collector_config::document::{self, Pos, Value};

/// Replace `path`'s scalar, or add the missing tail of `path` to the flow
/// mapping it would belong to. Err is the reason, for the user.
pub fn set_scalar(text: &str, path: &[&str], value: &str) -> Result<String, String> {
    let root = document::parse(text).map_err(|e| e.to_string())?;
    let outside = || "the parsed position is outside the text".to_owned();
    let mut node = &root;
    let mut at = offset(text, node.pos).ok_or_else(outside)?;
    let mut depth = 0;
    while let Some(child) = path.get(depth).and_then(|key| node.get(key)) {
        let child_at = offset(text, child.pos).ok_or_else(outside)?;
        // An alias resolves to its anchor, written earlier in the file:
        // editing there would change every use of the anchor.
        if child_at < at {
            return Err(format!(
                "`{}` is reached through an alias; editing its anchor would change every use",
                path.join(".")
            ));
        }
        (node, at) = (child, child_at);
        depth += 1;
    }
    if depth == path.len() {
        if matches!(node.value, Value::Map(_) | Value::Seq(_)) {
            return Err(format!("`{}` is a collection, not a value", path.join(".")));
        }
        let end = scalar_end(text, at);
        return Ok(splice(text, at, end, value));
    }
    if !(matches!(node.value, Value::Map(_)) && text[at..].starts_with('{')) {
        return Err(format!(
            "`{}` is not a mapping the editor can add `{}` to",
            path[..depth].join("."),
            path[depth..].join(".")
        ));
    }
    let mut entry = format!("{}: {value}", path[path.len() - 1]);
    for key in path[depth..path.len() - 1].iter().rev() {
        entry = format!("{key}: {{{entry}}}");
    }
    append_inside(text, at, &entry).ok_or_else(|| "unbalanced flow mapping".to_owned())
}

/// `entry` added as the last element of the flow collection opening at
/// `open` (after a `, ` unless it is empty); None if it never closes.
fn append_inside(text: &str, open: usize, entry: &str) -> Option<String> {
    let close = closing_brace(text, open)?;
    let inside = text[open + 1..close].trim_end();
    let insert_at = open + 1 + inside.len();
    let sep = if inside.trim().is_empty() { "" } else { ", " };
    Some(splice(text, insert_at, insert_at, &format!("{sep}{entry}")))
}

/// Append `item` to the flow sequence at `path` (`exporters: [otlp]` becomes
/// `exporters: [otlp, debug]`), changing nothing else on the line.
pub fn append_item(text: &str, path: &[&str], item: &str) -> Result<String, String> {
    let root = document::parse(text).map_err(|e| e.to_string())?;
    let node = root
        .path(path)
        .ok_or_else(|| format!("`{}` is missing", path.join(".")))?;
    let at = offset(text, node.pos).ok_or("the parsed position is outside the text")?;
    if !(matches!(node.value, Value::Seq(_)) && text[at..].starts_with('[')) {
        return Err(format!("`{}` is not a flow sequence", path.join(".")));
    }
    append_inside(text, at, item).ok_or_else(|| "unbalanced flow sequence".to_owned())
}

/// Byte offset of a 1-based line and (character) column.
pub(super) fn offset(text: &str, pos: Pos) -> Option<usize> {
    let line_start = if pos.line <= 1 {
        0
    } else {
        text.match_indices('\n').nth(pos.line - 2)?.0 + 1
    };
    let line = &text[line_start..];
    let col = line
        .char_indices()
        .nth(pos.column - 1)
        .map_or(line.len(), |(i, _)| i);
    Some(line_start + col)
}

/// Where a scalar that starts at `start` ends: its closing quote, or for a
/// plain scalar in flow context the next `,` `}` `]`, comment or line end.
fn scalar_end(text: &str, start: usize) -> usize {
    let rest = &text[start..];
    let mut chars = rest.char_indices().peekable();
    match rest.chars().next() {
        Some('"') => {
            chars.next();
            let mut escaped = false;
            for (i, c) in chars {
                match c {
                    '\\' if !escaped => escaped = true,
                    '"' if !escaped => return start + i + 1,
                    _ => escaped = false,
                }
            }
            text.len()
        }
        Some('\'') => {
            chars.next();
            while let Some((i, c)) = chars.next() {
                if c == '\'' {
                    // `''` is an escaped quote inside the scalar.
                    if chars.peek().is_some_and(|&(_, n)| n == '\'') {
                        chars.next();
                    } else {
                        return start + i + 1;
                    }
                }
            }
            text.len()
        }
        _ => {
            let end = rest
                .char_indices()
                .find(|&(i, c)| matches!(c, ',' | '}' | ']' | '\n') || rest[i..].starts_with(" #"))
                .map_or(rest.len(), |(i, _)| i);
            start + rest[..end].trim_end().len()
        }
    }
}

/// The `}` that closes the flow mapping opening at `open`.
fn closing_brace(text: &str, open: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = open;
    while i < text.len() {
        let c = text[i..].chars().next()?;
        match c {
            '{' | '[' => depth += 1,
            '}' | ']' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            '"' | '\'' => {
                i = scalar_end(text, i);
                continue;
            }
            '#' if text[..i].ends_with([' ', '\n']) => {
                i += text[i..].find('\n').unwrap_or(text.len() - i);
                continue;
            }
            _ => {}
        }
        i += c.len_utf8();
    }
    None
}

fn splice(text: &str, from: usize, to: usize, with: &str) -> String {
    format!("{}{with}{}", &text[..from], &text[to..])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collector_config::file::number;

    fn value_after(text: &str, path: &[&str], value: &str) -> (String, Option<f64>) {
        let out = set_scalar(text, path, value).unwrap();
        let root = document::parse(&out).unwrap_or_else(|e| panic!("{e}\n{out}"));
        let read = root.path(path).and_then(number);
        (out, read)
    }

    #[test]
    fn replaces_a_scalar_inside_a_flow_mapping() {
        let text = "exporters:\n  otlp: {endpoint: x, sending_queue: {queue_size: 20}}  # main\n";
        let (out, v) = value_after(
            text,
            &["exporters", "otlp", "sending_queue", "queue_size"],
            "40",
        );
        assert_eq!(
            out,
            "exporters:\n  otlp: {endpoint: x, sending_queue: {queue_size: 40}}  # main\n"
        );
        assert_eq!(v, Some(40.0));
    }

    #[test]
    fn replaces_a_quoted_scalar_whole() {
        let text = "a: {b: 'it''s', c: \"x, y\"}\n";
        let out = set_scalar(text, &["a", "c"], "z").unwrap();
        assert_eq!(out, "a: {b: 'it''s', c: z}\n");
        let out = set_scalar(text, &["a", "b"], "q").unwrap();
        assert_eq!(out, "a: {b: q, c: \"x, y\"}\n");
    }

    #[test]
    fn adds_a_missing_setting_and_its_parents_to_a_flow_mapping() {
        let text = "exporters: {otlp: {endpoint: x}}\n";
        let (out, v) = value_after(
            text,
            &["exporters", "otlp", "sending_queue", "num_consumers"],
            "20",
        );
        assert_eq!(
            out,
            "exporters: {otlp: {endpoint: x, sending_queue: {num_consumers: 20}}}\n"
        );
        assert_eq!(v, Some(20.0));
        let (out, v) = value_after("p: {batch: {}}\n", &["p", "batch", "timeout"], "1");
        assert_eq!(out, "p: {batch: {timeout: 1}}\n");
        assert_eq!(v, Some(1.0));
    }

    #[test]
    fn a_multi_line_flow_mapping_keeps_its_lines() {
        let text = "p: {\n  batch: {timeout: 5s},  # slow\n  x: [1, {y: 2}]\n}\n";
        let out = set_scalar(text, &["p", "batch", "timeout"], "200ms").unwrap();
        assert_eq!(
            out,
            "p: {\n  batch: {timeout: 200ms},  # slow\n  x: [1, {y: 2}]\n}\n"
        );
        let out = set_scalar(text, &["p", "memory", "limit"], "3").unwrap();
        assert_eq!(
            out,
            "p: {\n  batch: {timeout: 5s},  # slow\n  x: [1, {y: 2}], memory: {limit: 3}\n}\n"
        );
        document::parse(&out).unwrap();
    }

    #[test]
    fn an_alias_is_not_edited_through_its_anchor() {
        let text = "q: &q {queue_size: 20}\ne: {otlp: {sending_queue: *q}}\n";
        let err =
            set_scalar(text, &["e", "otlp", "sending_queue", "queue_size"], "40").unwrap_err();
        assert!(err.contains("reached through an alias"), "{err}");
    }

    #[test]
    fn a_scalar_where_a_mapping_should_be_is_refused() {
        let err = set_scalar(
            "e: {otlp: {sending_queue: \"${env:Q}\"}}\n",
            &["e", "otlp", "sending_queue", "queue_size"],
            "1",
        )
        .unwrap_err();
        assert!(err.contains("e.otlp.sending_queue"), "{err}");
    }
}
