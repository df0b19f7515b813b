//! Assertions and expressions: `attr:NAME [| json_path '$.a.b'] OP EXPR`
//! with the operators `=`, `!=`, `<`, `>`, `<=`, `>=`, `contains` and
//! `not-contains`; an EXPR is quoted strings, numbers, durations (`500ms`,
//! compared as nanoseconds like `tracetest.span.duration`), `attr:NAME`,
//! `${var:NAME}` and `${env:NAME}`, joined with `+` or `-`. Values compare as
//! numbers when both sides are numbers or durations, else as text.

use std::collections::BTreeMap;

use super::trace::Span;

/// The variables a run knows: outputs of earlier definitions, and the
/// environment (read through a function so tests can pin it).
pub struct Scope<'a> {
    pub vars: &'a BTreeMap<String, String>,
    pub env: &'a dyn Fn(&str) -> Option<String>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ExprError {
    #[error("{0}")]
    Syntax(String),
    #[error("unsupported: the `{0}` filter (supported: json_path)")]
    UnsupportedFilter(String),
    #[error("${{env:{0}}}: the environment variable is not set (and no output has that name)")]
    MissingEnv(String),
    #[error("${{var:{0}}}: no output has that name and the environment variable is not set")]
    MissingVar(String),
}

#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub enum Op {
    #[serde(rename = "=")]
    Eq,
    #[serde(rename = "!=")]
    Ne,
    #[serde(rename = "<")]
    Lt,
    #[serde(rename = ">")]
    Gt,
    #[serde(rename = "<=")]
    Le,
    #[serde(rename = ">=")]
    Ge,
    #[serde(rename = "contains")]
    Contains,
    #[serde(rename = "not-contains")]
    NotContains,
}

const OPS: [(&str, Op); 8] = [
    ("not-contains", Op::NotContains),
    ("contains", Op::Contains),
    ("!=", Op::Ne),
    ("<=", Op::Le),
    (">=", Op::Ge),
    ("=", Op::Eq),
    ("<", Op::Lt),
    (">", Op::Gt),
];

#[derive(Debug, Clone, PartialEq)]
enum Term {
    /// A quoted string; may hold `${…}` references.
    Text(String),
    /// A bare word: a number, a duration, or text.
    Bare(String),
    Attr(String),
    /// A bare `env:NAME` or `var:NAME`.
    Ref(String),
}

/// `attr:NAME` and its filters, the left side of an assertion or an output's value.
#[derive(Debug, Clone, PartialEq)]
pub struct AttrRef {
    pub name: String,
    json_paths: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    /// (`+` is true, `-` false) before each term; the first is always `+`.
    terms: Vec<(bool, Term)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Assertion {
    pub text: String,
    pub left: AttrRef,
    pub op: Op,
    pub right: Expr,
}

/// Splits at top level on whitespace, keeping quoted strings whole.
fn tokens(text: &str) -> Result<Vec<String>, ExprError> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quote = None;
    for c in text.chars() {
        match quote {
            Some(q) => {
                current.push(c);
                if c == q {
                    quote = None;
                }
            }
            None if c == '"' || c == '\'' => {
                quote = Some(c);
                current.push(c);
            }
            None if c.is_whitespace() => {
                if !current.is_empty() {
                    out.push(std::mem::take(&mut current));
                }
            }
            None => current.push(c),
        }
    }
    if quote.is_some() {
        return Err(ExprError::Syntax(format!(
            "unterminated quoted string in {text:?}"
        )));
    }
    if !current.is_empty() {
        out.push(current);
    }
    Ok(out)
}

fn unquote(token: &str) -> Option<&str> {
    let first = token.chars().next()?;
    (token.len() >= 2 && (first == '"' || first == '\'') && token.ends_with(first))
        .then(|| &token[1..token.len() - 1])
}

impl AttrRef {
    fn parse(tokens: &[String]) -> Result<AttrRef, ExprError> {
        let Some(name) = tokens.first().and_then(|t| t.strip_prefix("attr:")) else {
            return Err(ExprError::Syntax(format!(
                "expected `attr:NAME` at the start, found {:?}",
                tokens.first().map(String::as_str).unwrap_or("")
            )));
        };
        let mut json_paths = Vec::new();
        let mut rest = &tokens[1..];
        while let Some((pipe, after)) = rest.split_first() {
            if pipe != "|" {
                return Err(ExprError::Syntax(format!(
                    "expected `|` or an operator, found {pipe:?}"
                )));
            }
            match after {
                [filter, arg, more @ ..] if filter == "json_path" => {
                    let path = unquote(arg).ok_or_else(|| {
                        ExprError::Syntax(format!("json_path needs a quoted path, found {arg:?}"))
                    })?;
                    json_paths.push(path.to_owned());
                    rest = more;
                }
                [filter, ..] => return Err(ExprError::UnsupportedFilter(filter.clone())),
                [] => return Err(ExprError::Syntax("a filter name must follow `|`".into())),
            }
        }
        Ok(AttrRef {
            name: name.to_owned(),
            json_paths,
        })
    }

    /// `attr:NAME` alone, or with filters, as an output's value.
    pub fn parse_value(text: &str) -> Result<AttrRef, ExprError> {
        AttrRef::parse(&tokens(text)?)
    }

    /// The value on `span`, or `None` when the attribute (or path) is absent.
    pub fn read(&self, span: &Span) -> Option<String> {
        let mut value = span.attribute(&self.name)?.to_owned();
        for path in &self.json_paths {
            value = json_path(&value, path)?;
        }
        Some(value)
    }
}

/// A `$.a.b[0]` path into a JSON text; strings come back unquoted.
fn json_path(json: &str, path: &str) -> Option<String> {
    let mut at: serde_json::Value = serde_json::from_str(json).ok()?;
    let rest = path.strip_prefix('$')?;
    for part in rest.split('.').filter(|p| !p.is_empty()) {
        let (key, index) = match part.split_once('[') {
            Some((key, idx)) => (key, Some(idx.strip_suffix(']')?.parse::<usize>().ok()?)),
            None => (part, None),
        };
        if !key.is_empty() {
            at = at.get(key)?.clone();
        }
        if let Some(i) = index {
            at = at.get(i)?.clone();
        }
    }
    Some(match at {
        serde_json::Value::String(s) => s,
        other => other.to_string(),
    })
}

impl Expr {
    fn parse(tokens: &[String]) -> Result<Expr, ExprError> {
        if tokens.is_empty() {
            return Err(ExprError::Syntax(
                "an expression must follow the operator".into(),
            ));
        }
        let mut terms = Vec::new();
        let mut plus = true;
        for (i, t) in tokens.iter().enumerate() {
            if i % 2 == 1 {
                plus = match t.as_str() {
                    "+" => true,
                    "-" => false,
                    other => {
                        return Err(ExprError::Syntax(format!(
                            "expected `+` or `-` between values, found {other:?} (quote text with spaces)"
                        )));
                    }
                };
                continue;
            }
            let term = match (unquote(t), t.strip_prefix("attr:")) {
                (Some(inner), _) => Term::Text(inner.to_owned()),
                (None, Some(name)) => Term::Attr(name.to_owned()),
                (None, None) if t.starts_with("env:") || t.starts_with("var:") => {
                    Term::Ref(t.clone())
                }
                (None, None) => Term::Bare(t.clone()),
            };
            terms.push((plus, term));
        }
        if tokens.len().is_multiple_of(2) {
            return Err(ExprError::Syntax(
                "the expression ends with an operator".into(),
            ));
        }
        Ok(Expr { terms })
    }

    /// Checks that every `${env:…}` and `${var:…}` reference is well formed.
    fn check_references(&self) -> Result<(), ExprError> {
        for (_, term) in &self.terms {
            if let Term::Text(t) | Term::Bare(t) = term {
                references(t)?;
            }
        }
        Ok(())
    }

    /// The value, with `span` for `attr:` terms; `None` when one is absent.
    pub fn eval(
        &self,
        span: Option<&Span>,
        scope: &Scope<'_>,
    ) -> Result<Option<String>, ExprError> {
        let mut values = Vec::with_capacity(self.terms.len());
        for (plus, term) in &self.terms {
            let v = match term {
                Term::Text(t) | Term::Bare(t) => interpolate(t, scope)?,
                Term::Ref(r) => {
                    let (kind, name) = r.split_once(':').expect("parsed with a prefix");
                    lookup(kind, name, scope)?
                }
                Term::Attr(name) => match span.and_then(|s| s.attribute(name)) {
                    Some(v) => v.to_owned(),
                    None => return Ok(None),
                },
            };
            values.push((*plus, v));
        }
        if values.len() == 1 {
            return Ok(values.pop().map(|(_, v)| v));
        }
        let numbers: Option<Vec<f64>> = values.iter().map(|(_, v)| number(v)).collect();
        Ok(Some(match numbers {
            Some(ns) => {
                let total: f64 = values
                    .iter()
                    .zip(ns)
                    .map(|((plus, _), n)| if *plus { n } else { -n })
                    .sum();
                format_number(total)
            }
            None => values.into_iter().map(|(_, v)| v).collect(),
        }))
    }
}

fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 9.0e15 {
        format!("{}", n as i64)
    } else {
        n.to_string()
    }
}

impl Assertion {
    pub fn parse(text: &str) -> Result<Assertion, ExprError> {
        let toks = tokens(text)?;
        let op_at = toks
            .iter()
            .position(|t| OPS.iter().any(|(s, _)| s == t))
            .ok_or_else(|| {
                ExprError::Syntax(format!(
                    "no comparison operator in {text:?} (one of =, !=, <, >, <=, >=, contains, not-contains, with spaces around it)"
                ))
            })?;
        let op = OPS
            .iter()
            .find(|(s, _)| *s == toks[op_at])
            .map(|(_, op)| *op)
            .expect("op_at was found among OPS");
        let left = AttrRef::parse(&toks[..op_at])?;
        let right = Expr::parse(&toks[op_at + 1..])?;
        right.check_references()?;
        Ok(Assertion {
            text: text.to_owned(),
            left,
            op,
            right,
        })
    }

    /// Whether `observed` satisfies the assertion against `expected`.
    pub fn holds(&self, observed: &str, expected: &str) -> bool {
        compare(self.op, observed, expected)
    }
}

pub fn compare(op: Op, observed: &str, expected: &str) -> bool {
    if let (Some(a), Some(b)) = (number(observed), number(expected)) {
        return match op {
            Op::Eq => a == b,
            Op::Ne => a != b,
            Op::Lt => a < b,
            Op::Gt => a > b,
            Op::Le => a <= b,
            Op::Ge => a >= b,
            Op::Contains => observed.contains(expected),
            Op::NotContains => !observed.contains(expected),
        };
    }
    match op {
        Op::Eq => observed == expected,
        Op::Ne => observed != expected,
        Op::Lt => observed < expected,
        Op::Gt => observed > expected,
        Op::Le => observed <= expected,
        Op::Ge => observed >= expected,
        Op::Contains => observed.contains(expected),
        Op::NotContains => !observed.contains(expected),
    }
}

/// A number, or a duration in nanoseconds (`500ms`, `1.5s`, `2m`).
pub fn number(text: &str) -> Option<f64> {
    let text = text.trim();
    if let Ok(n) = text.parse::<f64>() {
        return n.is_finite().then_some(n);
    }
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
    let (value, unit) = text.split_at(split);
    let value: f64 = value.parse().ok()?;
    let scale = match unit {
        "ns" => 1.0,
        "us" | "µs" => 1e3,
        "ms" => 1e6,
        "s" => 1e9,
        "m" => 60e9,
        "h" => 3600e9,
        _ => return None,
    };
    Some(value * scale)
}

/// The `${env:X}`/`${var:X}` references in `text`, as (kind, name).
fn references(text: &str) -> Result<Vec<(&str, &str)>, ExprError> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| ExprError::Syntax(format!("unterminated `${{` in {text:?}")))?;
        let inner = &after[..end];
        match inner.split_once(':') {
            Some((kind @ ("env" | "var"), name)) if !name.is_empty() => found.push((kind, name)),
            _ => {
                return Err(ExprError::Syntax(format!(
                    "`${{{inner}}}`: expected ${{env:NAME}} or ${{var:NAME}}"
                )));
            }
        }
        rest = &after[end + 1..];
    }
    Ok(found)
}

/// Replaces every `${env:X}` and `${var:X}` in `text`.
pub fn interpolate(text: &str, scope: &Scope<'_>) -> Result<String, ExprError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    references(text)?;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .expect("references() checked every `${` is closed");
        let (kind, name) = after[..end]
            .split_once(':')
            .expect("references() checked the form");
        out.push_str(&lookup(kind, name, scope)?);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// A variable: outputs (of this and earlier definitions) first, then the
/// process environment — for `env:` and `var:` alike, as Tracetest's
/// variable sets took over what its environments were.
fn lookup(kind: &str, name: &str, scope: &Scope<'_>) -> Result<String, ExprError> {
    if let Some(v) = scope.vars.get(name) {
        return Ok(v.clone());
    }
    (scope.env)(name).ok_or_else(|| match kind {
        "env" => ExprError::MissingEnv(name.to_owned()),
        _ => ExprError::MissingVar(name.to_owned()),
    })
}

/// Checks the references in a text field without resolving them.
pub fn check_text(text: &str) -> Result<(), ExprError> {
    references(text).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope_eval(expr: &str) -> Option<String> {
        let vars = BTreeMap::from([("ID".to_owned(), "b-1".to_owned())]);
        let env = |name: &str| (name == "CABIN").then(|| "economy".to_owned());
        let scope = Scope {
            vars: &vars,
            env: &env,
        };
        Assertion::parse(&format!("attr:x = {expr}"))
            .unwrap()
            .right
            .eval(None, &scope)
            .unwrap()
    }

    #[test]
    fn expressions_resolve_variables_env_and_arithmetic() {
        assert_eq!(scope_eval(r#""${var:ID}""#).as_deref(), Some("b-1"));
        assert_eq!(
            scope_eval(r#""cabin ${env:CABIN}""#).as_deref(),
            Some("cabin economy")
        );
        assert_eq!(scope_eval("1s + 500ms").as_deref(), Some("1500000000"));
        assert_eq!(scope_eval("10 - 3").as_deref(), Some("7"));
        assert_eq!(scope_eval("env:ID").as_deref(), Some("b-1"));
        assert_eq!(scope_eval("var:CABIN").as_deref(), Some("economy"));
    }

    #[test]
    fn comparisons_are_numeric_for_numbers_and_durations() {
        assert!(compare(Op::Lt, "400000000", "500ms"));
        assert!(!compare(Op::Lt, "600000000", "500ms"));
        assert!(compare(Op::Eq, "200", "200.0"));
        assert!(compare(Op::Ge, "3", "1"));
        assert!(compare(Op::Contains, "POST /v1/orders", "orders"));
        assert!(compare(Op::NotContains, "POST /v1/orders", "bookings"));
        assert!(compare(Op::Ne, "redis", "mysql"));
    }

    #[test]
    fn json_path_reads_into_a_body() {
        let a =
            Assertion::parse(r#"attr:tracetest.response.body | json_path '$.id' = "b-1""#).unwrap();
        let span = Span {
            span_id: "1".into(),
            parent: None,
            name: "t".into(),
            attributes: BTreeMap::from([(
                "tracetest.response.body".to_owned(),
                r#"{"id":"b-1","list":[{"n":2}]}"#.to_owned(),
            )]),
        };
        assert_eq!(a.left.read(&span).as_deref(), Some("b-1"));
        assert_eq!(
            json_path(r#"{"list":[{"n":2}]}"#, "$.list[0].n").as_deref(),
            Some("2")
        );
    }

    #[test]
    fn bad_assertions_say_what_is_wrong() {
        assert!(matches!(
            Assertion::parse("attr:x == 1"),
            Err(ExprError::Syntax(_))
        ));
        assert_eq!(
            Assertion::parse("attr:x | regex 'a' = 1"),
            Err(ExprError::UnsupportedFilter("regex".into()))
        );
        assert!(matches!(
            Assertion::parse("http.status = 1"),
            Err(ExprError::Syntax(_))
        ));
        assert!(matches!(
            Assertion::parse(r#"attr:x = "${foo}""#),
            Err(ExprError::Syntax(_))
        ));
    }
}
