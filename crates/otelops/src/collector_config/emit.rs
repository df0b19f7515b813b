//! Writes a serialisable value as block-style YAML: the rendered collector
//! profiles and the Prometheus rule file.
//!
//! Why not a YAML crate's serializer: otelops keeps one YAML parser, saphyr
//! (see [`super::document`]), and saphyr's emitter writes a `---` header,
//! indents sequences under their key and double-quotes where the committed
//! files have plain or single-quoted scalars. So the value goes through
//! serde_json (field order kept) into [`document::parse`] — JSON is YAML —
//! and this module prints that tree the way libyaml does by default
//! (sequences level with their key, 2-space indent, plain scalars when they
//! read back as the same string, else single quotes, `|-` blocks for
//! multi-line text), byte for byte what the deploy/ files hold.

use std::fmt::Write;

use serde::Serialize;

use super::document::{self, DocumentError, Node, Value};

#[derive(Debug, thiserror::Error)]
pub enum EmitError {
    #[error("serialising: {0}")]
    Serialize(#[from] serde_json::Error),
    #[error("re-reading the serialised value: {0}")]
    Reparse(#[from] DocumentError),
}

/// `value` as a YAML document (no `---`), ending in a newline.
pub fn to_yaml<T: Serialize>(value: &T) -> Result<String, EmitError> {
    let json = serde_json::to_string_pretty(value)?;
    let node = document::parse(&json)?;
    let mut out = String::new();
    match &node.value {
        Value::Map(entries) if !entries.is_empty() => write_map(&mut out, entries, 0),
        Value::Seq(items) if !items.is_empty() => write_seq(&mut out, items, 0),
        _ => {
            write_inline(&mut out, &node, 0);
            out.push('\n');
        }
    }
    Ok(out)
}

fn pad(out: &mut String, indent: usize) {
    out.extend(std::iter::repeat_n(' ', indent));
}

fn write_map(out: &mut String, entries: &[(document::Key, Node)], indent: usize) {
    for (i, (key, value)) in entries.iter().enumerate() {
        // The first entry of a mapping inside a sequence item follows its `- `.
        if i > 0 {
            pad(out, indent);
        }
        write_scalar_str(out, &key.name, indent);
        out.push(':');
        match &value.value {
            Value::Map(inner) if !inner.is_empty() => {
                out.push('\n');
                pad(out, indent + 2);
                write_map(out, inner, indent + 2);
            }
            Value::Seq(items) if !items.is_empty() => {
                out.push('\n');
                pad(out, indent);
                write_seq(out, items, indent);
            }
            _ => {
                out.push(' ');
                write_inline(out, value, indent + 2);
                out.push('\n');
            }
        }
    }
}

fn write_seq(out: &mut String, items: &[Node], indent: usize) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            pad(out, indent);
        }
        out.push_str("- ");
        match &item.value {
            Value::Map(inner) if !inner.is_empty() => write_map(out, inner, indent + 2),
            Value::Seq(inner) if !inner.is_empty() => write_seq(out, inner, indent + 2),
            _ => {
                write_inline(out, item, indent + 2);
                out.push('\n');
            }
        }
    }
}

/// A scalar or an empty collection; `indent` is where a literal block's
/// lines go.
fn write_inline(out: &mut String, node: &Node, indent: usize) {
    match &node.value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Float(f) => write_float(out, *f),
        Value::Str(s) => write_scalar_str(out, s, indent),
        Value::Map(_) => out.push_str("{}"),
        Value::Seq(_) => out.push_str("[]"),
    }
}

fn write_float(out: &mut String, f: f64) {
    if f.is_nan() {
        out.push_str(".nan");
    } else if f.is_infinite() {
        out.push_str(if f > 0.0 { ".inf" } else { "-.inf" });
    } else if f.fract() == 0.0 {
        let _ = write!(out, "{f:.1}");
    } else {
        let _ = write!(out, "{f}");
    }
}

fn write_scalar_str(out: &mut String, s: &str, indent: usize) {
    if s.chars().any(|c| c.is_control() && c != '\n') {
        write_double_quoted(out, s);
    } else if s.contains('\n') {
        write_literal(out, s, indent);
    } else if plain_reads_back(s) {
        out.push_str(s);
    } else {
        out.push('\'');
        out.push_str(&s.replace('\'', "''"));
        out.push('\'');
    }
}

/// libyaml's test for a plain scalar in block context, plus "it reads back
/// as this string, not a number, bool or null".
fn plain_reads_back(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    let followed_by_blank = |i: usize| s[i + 1..].chars().next().is_none_or(|c| c == ' ');
    if s.starts_with("---")
        || s.starts_with("...")
        || s.starts_with(' ')
        || s.ends_with(' ')
        || "#,[]{}&*!|>'\"%@`".contains(first)
        || ("?:-".contains(first) && followed_by_blank(0))
    {
        return false;
    }
    let bytes = s.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if (b == b':' && followed_by_blank(i)) || (b == b'#' && i > 0 && bytes[i - 1] == b' ') {
            return false;
        }
    }
    matches!(
        saphyr::Scalar::parse_from_cow(std::borrow::Cow::Borrowed(s)),
        saphyr::Scalar::String(_)
    )
}

fn write_literal(out: &mut String, s: &str, indent: usize) {
    let body = s.trim_end_matches('\n');
    out.push_str(match s.len() - body.len() {
        0 => "|-",
        1 => "|",
        _ => "|+",
    });
    for line in body.split('\n') {
        out.push('\n');
        if !line.is_empty() {
            pad(out, indent);
            out.push_str(line);
        }
    }
    for _ in 1..s.len() - body.len() {
        out.push('\n');
    }
}

fn write_double_quoted(out: &mut String, s: &str) {
    // JSON's escapes are YAML double-quoted escapes too.
    out.push_str(&serde_json::Value::from(s).to_string());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Sample {
        name: &'static str,
        version: &'static str,
        enabled: bool,
        share: f64,
        port: u16,
        list: Vec<&'static str>,
        empty: Vec<u8>,
        nested: Vec<Inner>,
    }

    #[derive(Serialize)]
    struct Inner {
        expr: &'static str,
        note: &'static str,
    }

    #[test]
    fn prints_block_style_like_libyaml() {
        let yaml = to_yaml(&Sample {
            name: "${env:HOST:-127.0.0.1}:4317",
            version: "1.2",
            enabled: true,
            share: 10.0,
            port: 8888,
            list: vec!["a", "it's: quoted"],
            empty: vec![],
            nested: vec![Inner {
                expr: "a\nor b",
                note: "# not a comment",
            }],
        })
        .unwrap();
        assert_eq!(
            yaml,
            "name: ${env:HOST:-127.0.0.1}:4317\n\
             version: '1.2'\n\
             enabled: true\n\
             share: 10.0\n\
             port: 8888\n\
             list:\n\
             - a\n\
             - 'it''s: quoted'\n\
             empty: []\n\
             nested:\n\
             - expr: |-\n    a\n    or b\n  note: '# not a comment'\n"
        );
    }

    #[test]
    fn output_reads_back_to_the_same_value() {
        let yaml = to_yaml(&serde_json::json!({
            "s": ["true", "null", "~", "0x1f", "-", "a #b", "a#b", " x", "é\u{1}"],
        }))
        .unwrap();
        let back = document::parse(&yaml).unwrap();
        let items: Vec<&str> = back
            .get("s")
            .and_then(Node::as_seq)
            .unwrap()
            .iter()
            .map(|n| n.as_str().unwrap())
            .collect();
        assert_eq!(
            items,
            [
                "true", "null", "~", "0x1f", "-", "a #b", "a#b", " x", "é\u{1}"
            ],
            "{yaml}"
        );
    }
}
