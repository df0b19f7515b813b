//! Tracetest's span selectors: `span[tracetest.span.type="http" name="POST /v1/bookings"]`,
//! attribute filters with `=` and `contains`, descendant steps separated by
//! spaces (`span[name="a"] span[name="b"]`), and the `:first`, `:last` and
//! `:nth_child(n)` pseudo-classes. An empty selector selects every span.

use super::trace::Trace;

#[derive(Debug, Clone, PartialEq)]
pub struct Selector {
    /// Each step's spans must descend from a span the step before selected.
    steps: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq)]
struct Step {
    filters: Vec<Filter>,
    pseudo: Option<Pseudo>,
}

#[derive(Debug, Clone, PartialEq)]
struct Filter {
    attribute: String,
    op: FilterOp,
    value: String,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum FilterOp {
    Equals,
    Contains,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Pseudo {
    First,
    Last,
    /// 1-based, as in CSS.
    NthChild(usize),
}

/// Why a selector does not parse; `offset` is a character index into it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("selector {selector:?}, at character {}: {message}", offset + 1)]
pub struct SelectorError {
    pub selector: String,
    pub offset: usize,
    pub message: String,
}

struct Parser<'a> {
    text: &'a str,
    chars: Vec<char>,
    at: usize,
}

impl Parser<'_> {
    fn fail<T>(&self, message: impl Into<String>) -> Result<T, SelectorError> {
        Err(SelectorError {
            selector: self.text.to_owned(),
            offset: self.at,
            message: message.into(),
        })
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }

    fn skip_spaces(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.at += 1;
        }
    }

    fn eat(&mut self, s: &str) -> bool {
        let n = s.chars().count();
        if self.chars[self.at..].iter().take(n).copied().eq(s.chars()) {
            self.at += n;
            true
        } else {
            false
        }
    }

    fn word(&mut self) -> String {
        let start = self.at;
        while self
            .peek()
            .is_some_and(|c| c.is_alphanumeric() || "._-/:".contains(c))
        {
            self.at += 1;
        }
        self.chars[start..self.at].iter().collect()
    }

    fn value(&mut self) -> Result<String, SelectorError> {
        match self.peek() {
            Some(q @ ('"' | '\'')) => {
                self.at += 1;
                let mut out = String::new();
                loop {
                    match self.peek() {
                        None => return self.fail("unterminated quoted value"),
                        Some('\\') if self.chars.get(self.at + 1) == Some(&q) => {
                            out.push(q);
                            self.at += 2;
                        }
                        Some(c) if c == q => {
                            self.at += 1;
                            return Ok(out);
                        }
                        Some(c) => {
                            out.push(c);
                            self.at += 1;
                        }
                    }
                }
            }
            _ => {
                let w = self.word();
                if w.is_empty() {
                    return self.fail("expected a value (a quoted string or a number)");
                }
                Ok(w)
            }
        }
    }

    fn filter(&mut self) -> Result<Filter, SelectorError> {
        let attribute = self.word();
        if attribute.is_empty() {
            return self.fail("expected an attribute name");
        }
        self.skip_spaces();
        let op = if self.eat("=") {
            FilterOp::Equals
        } else if self.eat("contains") {
            FilterOp::Contains
        } else {
            return self.fail(format!("expected `=` or `contains` after {attribute:?}"));
        };
        self.skip_spaces();
        let value = self.value()?;
        Ok(Filter {
            attribute,
            op,
            value,
        })
    }

    fn step(&mut self) -> Result<Step, SelectorError> {
        if !self.eat("span") {
            return self.fail("expected `span`");
        }
        let mut filters = Vec::new();
        if self.eat("[") {
            loop {
                self.skip_spaces();
                if self.eat("]") {
                    break;
                }
                if self.peek().is_none() {
                    return self.fail("missing `]`");
                }
                filters.push(self.filter()?);
                self.skip_spaces();
                // Tracetest also accepts commas between filters.
                self.eat(",");
            }
        }
        let pseudo = if self.eat(":first") {
            Some(Pseudo::First)
        } else if self.eat(":last") {
            Some(Pseudo::Last)
        } else if self.eat(":nth_child(") {
            let start = self.at;
            let n: String = self.word();
            let Ok(n) = n.parse::<usize>() else {
                self.at = start;
                return self.fail("`:nth_child(n)` needs a whole number n ≥ 1");
            };
            if n == 0 || !self.eat(")") {
                self.at = start;
                return self.fail("`:nth_child(n)` needs a whole number n ≥ 1 and a `)`");
            }
            Some(Pseudo::NthChild(n))
        } else if self.peek() == Some(':') {
            let start = self.at;
            let name = {
                self.at += 1;
                self.word()
            };
            self.at = start;
            return self.fail(format!(
                "unsupported pseudo-class `:{name}` (supported: :first, :last, :nth_child(n))"
            ));
        } else {
            None
        };
        Ok(Step { filters, pseudo })
    }
}

impl Selector {
    pub fn parse(text: &str) -> Result<Selector, SelectorError> {
        let mut p = Parser {
            text,
            chars: text.chars().collect(),
            at: 0,
        };
        let mut steps = Vec::new();
        loop {
            p.skip_spaces();
            if p.peek().is_none() {
                break;
            }
            steps.push(p.step()?);
            if p.peek().is_some_and(|c| !c.is_whitespace()) {
                return p.fail("expected a space, then the next `span[...]`");
            }
        }
        Ok(Selector { steps })
    }

    /// Indices of the selected spans, in tree order.
    pub fn select(&self, trace: &Trace) -> Vec<usize> {
        let mut selected: Option<Vec<usize>> = None;
        for step in &self.steps {
            let mut matched: Vec<usize> = (0..trace.spans.len())
                .filter(|&i| step.matches(trace, i))
                .filter(|&i| {
                    selected
                        .as_ref()
                        .is_none_or(|above| above.iter().any(|&a| trace.is_descendant(i, a)))
                })
                .collect();
            matched = match step.pseudo {
                None => matched,
                Some(Pseudo::First) => matched.into_iter().take(1).collect(),
                Some(Pseudo::Last) => matched.pop().into_iter().collect(),
                Some(Pseudo::NthChild(n)) => matched.into_iter().skip(n - 1).take(1).collect(),
            };
            selected = Some(matched);
        }
        selected.unwrap_or_else(|| (0..trace.spans.len()).collect())
    }
}

impl Step {
    fn matches(&self, trace: &Trace, i: usize) -> bool {
        let span = &trace.spans[i];
        self.filters.iter().all(|f| {
            span.attribute(&f.attribute).is_some_and(|v| match f.op {
                FilterOp::Equals => v == f.value,
                FilterOp::Contains => v.contains(&f.value),
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::super::trace::Span;
    use super::*;

    fn span(name: &str, parent: Option<usize>, kind: &str) -> Span {
        Span {
            span_id: name.to_owned(),
            parent,
            name: name.to_owned(),
            attributes: BTreeMap::from([
                ("name".to_owned(), name.to_owned()),
                ("tracetest.span.type".to_owned(), kind.to_owned()),
            ]),
        }
    }

    fn trace() -> Trace {
        Trace {
            spans: vec![
                span("Tracetest trigger", None, "general"),
                span("POST /v1/bookings", Some(0), "http"),
                span("EVALSHA", Some(1), "database"),
                span("process booking", Some(1), "general"),
                span("POST /v1/orders", Some(3), "http"),
                span("POST /v1/orders", Some(3), "http"),
            ],
        }
    }

    fn names(selector: &str) -> Vec<usize> {
        Selector::parse(selector).unwrap().select(&trace())
    }

    #[test]
    fn attribute_filters_combine() {
        assert_eq!(
            names(r#"span[tracetest.span.type="http" name="POST /v1/bookings"]"#),
            [1]
        );
        assert_eq!(names(r#"span[name contains "orders"]"#), [4, 5]);
        assert_eq!(names(r#"span[name = "EVALSHA"]"#), [2]);
        assert_eq!(names(""), [0, 1, 2, 3, 4, 5]);
    }

    #[test]
    fn descendant_steps_and_pseudo_classes() {
        assert_eq!(
            names(r#"span[name="process booking"] span[tracetest.span.type="http"]"#),
            [4, 5]
        );
        assert_eq!(names(r#"span[tracetest.span.type="http"]:first"#), [1]);
        assert_eq!(names(r#"span[tracetest.span.type="http"]:last"#), [5]);
        assert_eq!(names(r#"span[name contains "orders"]:nth_child(2)"#), [5]);
        assert_eq!(names(r#"span[name="EVALSHA"] span"#), Vec::<usize>::new());
    }

    #[test]
    fn errors_point_at_the_character() {
        let err = Selector::parse(r#"span[name~"x"]"#).unwrap_err();
        assert_eq!(err.offset, 9);
        assert!(err.message.contains("`=` or `contains`"), "{err}");
        let err = Selector::parse(r#"span[name="x"]:odd"#).unwrap_err();
        assert!(
            err.message.contains("unsupported pseudo-class `:odd`"),
            "{err}"
        );
        assert!(Selector::parse(r#"span[name="x""#).is_err());
    }
}
