//! The Prometheus text exposition format (0.0.4, plus the UTF-8 quoted names of
//! Prometheus 3 / OpenMetrics escaping), parsed by hand.
//!
//! Why not a crate: `prometheus-parse` 0.2 splits labels on `,`/`=` (breaks on
//! escaped quotes and commas inside values), silently skips lines it cannot
//! read (we must report `line:column` on garbage), cannot read quoted UTF-8
//! names such as `{"http.client.request.duration"}`, and pulls regex + chrono;
//! `openmetrics-parser` is LGPL-3.0 and pest-based. The grammar is small.

use super::{Labels, MetricType, Page, Sample};

/// What is wrong with a page, and where (1-based line and column).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("line {line}:{column}: {message}")]
pub struct ParseError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// Parse a whole page. Families are grouped by `# TYPE`/`# HELP` lines; a sample
/// without one starts an untyped family of its own name.
pub fn parse(text: &str) -> Result<Page, ParseError> {
    let mut page = Page::default();
    for (idx, raw) in text.lines().enumerate() {
        let line_no = idx + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let mut cur = Cursor {
            line,
            pos: 0,
            line_no,
        };
        cur.skip_ws();
        if cur.at_end() {
            continue;
        }
        if cur.peek() == Some(b'#') {
            if parse_comment(&mut cur, &mut page)? {
                break; // `# EOF`
            }
            continue;
        }
        let sample = parse_sample(&mut cur)?;
        page.push_sample(sample);
    }
    page.build_index();
    Ok(page)
}

struct Cursor<'a> {
    line: &'a str,
    pos: usize,
    line_no: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.line.as_bytes().get(self.pos).copied()
    }
    fn at_end(&self) -> bool {
        self.pos >= self.line.len()
    }
    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }
    fn err(&self, at: usize, message: impl Into<String>) -> ParseError {
        let at = at.min(self.line.len());
        // Columns count characters, not bytes, so an editor lands on the spot.
        let column = self.line.get(..at).map_or(at, |s| s.chars().count()) + 1;
        ParseError {
            line: self.line_no,
            column,
            message: message.into(),
        }
    }
    fn word(&mut self) -> &'a str {
        let start = self.pos;
        while let Some(b) = self.peek() {
            if b == b' ' || b == b'\t' {
                break;
            }
            self.pos += 1;
        }
        &self.line[start..self.pos]
    }
    /// A metric or label name: `[a-zA-Z_:][a-zA-Z0-9_:.]*`. Dots are accepted
    /// because OpenTelemetry names (`http.client.request.duration`) reach
    /// Prometheus unescaped in some exporter versions.
    fn name(&mut self, what: &str) -> Result<&'a str, ParseError> {
        let start = self.pos;
        match self.peek() {
            Some(b) if b.is_ascii_alphabetic() || b == b'_' || b == b':' => self.pos += 1,
            Some(b) => {
                return Err(self.err(start, format!("expected {what}, found `{}`", b as char)));
            }
            None => return Err(self.err(start, format!("expected {what}, found end of line"))),
        }
        while let Some(b) = self.peek() {
            if b.is_ascii_alphanumeric() || b == b'_' || b == b':' || b == b'.' {
                self.pos += 1;
            } else {
                break;
            }
        }
        Ok(&self.line[start..self.pos])
    }
    /// A double-quoted string with `\\`, `\"` and `\n` escapes.
    fn quoted(&mut self) -> Result<String, ParseError> {
        let mut out = String::new();
        self.quoted_into(&mut out)?;
        Ok(out)
    }

    /// Append the unescaped contents of a quoted string to `out` (label sets
    /// share one buffer, so a sample costs two allocations, not two per label).
    fn quoted_into(&mut self, out: &mut String) -> Result<(), ParseError> {
        let open = self.pos;
        if self.peek() != Some(b'"') {
            return Err(self.err(open, "expected `\"`"));
        }
        self.pos += 1;
        let start = self.pos;
        let bytes = self.line.as_bytes();
        // Fast path: most values have no escapes.
        while self.pos < bytes.len() && bytes[self.pos] != b'"' && bytes[self.pos] != b'\\' {
            self.pos += 1;
        }
        if self.pos < bytes.len() && bytes[self.pos] == b'"' {
            out.push_str(&self.line[start..self.pos]);
            self.pos += 1;
            return Ok(());
        }
        out.push_str(&self.line[start..self.pos]);
        loop {
            match self.peek() {
                None => return Err(self.err(open, "unterminated quoted string")),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(());
                }
                Some(b'\\') => {
                    let esc = self.pos;
                    self.pos += 1;
                    match self.peek() {
                        Some(b'\\') => out.push('\\'),
                        Some(b'"') => out.push('"'),
                        Some(b'n') => out.push('\n'),
                        Some(other) => {
                            return Err(self.err(
                                esc,
                                format!(
                                    "unknown escape `\\{}` (allowed: \\\\, \\\", \\n)",
                                    other as char
                                ),
                            ));
                        }
                        None => return Err(self.err(open, "unterminated quoted string")),
                    }
                    self.pos += 1;
                }
                Some(_) => {
                    // Copy one whole UTF-8 character.
                    let ch = self.line[self.pos..].chars().next().unwrap_or('\u{fffd}');
                    out.push(ch);
                    self.pos += ch.len_utf8();
                }
            }
        }
    }
}

/// Returns true on `# EOF`.
fn parse_comment(cur: &mut Cursor<'_>, page: &mut Page) -> Result<bool, ParseError> {
    cur.pos += 1; // '#'
    cur.skip_ws();
    let keyword = cur.word();
    match keyword {
        "HELP" | "TYPE" => {}
        "EOF" => return Ok(true),
        _ => return Ok(false), // an ordinary comment
    }
    cur.skip_ws();
    let name = if cur.peek() == Some(b'"') {
        cur.quoted()?
    } else {
        cur.name("metric name")?.to_string()
    };
    if keyword == "HELP" {
        cur.skip_ws();
        let help = unescape_help(&cur.line[cur.pos..]);
        page.family_mut(&name).help = Some(help);
        return Ok(false);
    }
    cur.skip_ws();
    let at = cur.pos;
    let kind = match cur.word() {
        "counter" => MetricType::Counter,
        "gauge" => MetricType::Gauge,
        "histogram" => MetricType::Histogram,
        "gaugehistogram" => MetricType::Histogram,
        "summary" => MetricType::Summary,
        "untyped" | "unknown" => MetricType::Untyped,
        other => {
            return Err(cur.err(
                at,
                format!("unknown metric type `{other}` (expected counter, gauge, histogram, summary or untyped)"),
            ));
        }
    };
    page.family_mut(&name).kind = kind;
    Ok(false)
}

fn unescape_help(s: &str) -> String {
    if !s.contains('\\') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some('\\') => out.push('\\'),
                Some(other) => {
                    out.push('\\');
                    out.push(other);
                }
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn parse_sample(cur: &mut Cursor<'_>) -> Result<Sample, ParseError> {
    let mut name = if cur.peek() == Some(b'{') {
        None
    } else {
        Some(cur.name("metric name")?.to_string())
    };
    let mut before_ws = cur.pos;
    cur.skip_ws();
    let mut labels = Labels::default();
    if cur.peek() == Some(b'{') {
        cur.pos += 1;
        parse_labels(cur, &mut name, &mut labels)?;
        before_ws = cur.pos;
        cur.skip_ws();
    }
    let Some(name) = name else {
        return Err(cur.err(0, "sample has no metric name"));
    };
    if cur.pos == before_ws && !cur.at_end() {
        return Err(cur.err(cur.pos, "expected whitespace before the sample value"));
    }
    let at = cur.pos;
    let token = cur.word();
    if token.is_empty() {
        return Err(cur.err(at, format!("sample `{name}` has no value")));
    }
    let value =
        parse_value(token).ok_or_else(|| cur.err(at, format!("invalid sample value `{token}`")))?;
    cur.skip_ws();
    let mut timestamp_ms = None;
    if !cur.at_end() && cur.peek() != Some(b'#') {
        let at = cur.pos;
        let token = cur.word();
        // Timestamps are integer milliseconds; OpenMetrics uses float seconds.
        timestamp_ms = Some(match token.parse::<i64>() {
            Ok(ms) => ms,
            Err(_) => match token.parse::<f64>() {
                Ok(secs) if secs.is_finite() => (secs * 1000.0) as i64,
                _ => return Err(cur.err(at, format!("invalid timestamp `{token}`"))),
            },
        });
        cur.skip_ws();
        if !cur.at_end() && cur.peek() != Some(b'#') {
            return Err(cur.err(cur.pos, "unexpected text after the timestamp"));
        }
    }
    // Anything after `#` is an OpenMetrics exemplar; we do not use it.
    Ok(Sample {
        name,
        labels,
        value,
        timestamp_ms,
    })
}

fn parse_labels(
    cur: &mut Cursor<'_>,
    name: &mut Option<String>,
    labels: &mut Labels,
) -> Result<(), ParseError> {
    loop {
        cur.skip_ws();
        match cur.peek() {
            Some(b'}') => {
                cur.pos += 1;
                return Ok(());
            }
            None => return Err(cur.err(cur.pos, "unterminated label set: expected `}`")),
            _ => {}
        }
        let key_at = cur.pos;
        let key_start = labels.buf.len();
        if cur.peek() == Some(b'"') {
            cur.quoted_into(&mut labels.buf)?;
        } else {
            let n = cur.name("label name")?;
            labels.buf.push_str(n);
        }
        let key_end = labels.buf.len();
        cur.skip_ws();
        if cur.peek() == Some(b'=') {
            cur.pos += 1;
            cur.skip_ws();
            cur.quoted_into(&mut labels.buf)?;
            labels
                .spans
                .push((key_start as u32, key_end as u32, labels.buf.len() as u32));
        } else if name.is_none() && cur.line.as_bytes()[key_at] == b'"' {
            // `{"metric.name", label="v"}`: a quoted bare string names the metric.
            *name = Some(labels.buf[key_start..].to_string());
            labels.buf.truncate(key_start);
        } else {
            let key = &labels.buf[key_start..key_end];
            return Err(cur.err(cur.pos, format!("expected `=` after label name `{key}`")));
        }
        cur.skip_ws();
        match cur.peek() {
            Some(b',') => cur.pos += 1,
            Some(b'}') => {}
            Some(b) => {
                return Err(cur.err(
                    cur.pos,
                    format!("expected `,` or `}}`, found `{}`", b as char),
                ));
            }
            None => return Err(cur.err(cur.pos, "unterminated label set: expected `}`")),
        }
    }
}

/// Go's float syntax as Prometheus writes it: decimals, exponents, `+Inf`,
/// `-Inf`, `NaN`.
fn parse_value(token: &str) -> Option<f64> {
    match token {
        "+Inf" | "Inf" | "+inf" | "inf" => return Some(f64::INFINITY),
        "-Inf" | "-inf" => return Some(f64::NEG_INFINITY),
        "NaN" | "nan" => return Some(f64::NAN),
        _ => {}
    }
    // Rust also accepts "infinity"; restrict to digits, sign, '.', 'e'.
    if !token
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.' | b'e' | b'E'))
    {
        return None;
    }
    token.parse::<f64>().ok()
}
