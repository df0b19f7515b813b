//! Printing results like the Tracetest CLI (each spec, and for a failed one
//! each failing assertion with the span it failed on and the observed
//! value), and as JUnit XML for CI.

use std::fmt::Write;

use super::run::{AssertionCheck, TestResult};

const PASS: &str = "✔";
const FAIL: &str = "✘";

fn mark(passed: bool) -> &'static str {
    if passed { PASS } else { FAIL }
}

fn shown(value: &Option<String>) -> String {
    match value {
        Some(v) => crate::http_client::truncate(v, 200),
        None => "<missing>".to_owned(),
    }
}

fn span_label(check: &AssertionCheck) -> String {
    match (&check.span_id, &check.span_name) {
        (Some(id), Some(name)) => format!("#{id} {name:?}"),
        _ => "no span matched the selector".to_owned(),
    }
}

/// The text report of one definition.
pub fn render_text(result: &TestResult) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} {} ({}) - trace id {} - {} spans in {:.0} ms",
        mark(result.passed),
        result.name,
        result.file,
        result.trace_id,
        result.spans,
        result.duration_ms
    );
    if result.trace_incomplete {
        let _ = writeln!(
            out,
            "\t{FAIL} the trace was still growing when the polling timeout passed"
        );
    }
    for spec in &result.specs {
        let title = if spec.name.is_empty() {
            &spec.selector
        } else {
            &spec.name
        };
        let _ = writeln!(out, "\t{} {}", mark(spec.passed), title);
        if spec.passed {
            continue;
        }
        let _ = writeln!(
            out,
            "\t  selector {} chose {} spans",
            spec.selector, spec.selected_spans
        );
        for a in spec.assertions.iter().filter(|a| !a.passed) {
            for check in a.checks.iter().filter(|c| !c.passed) {
                let _ = writeln!(
                    out,
                    "\t\t{FAIL} {}\n\t\t\t{FAIL} {} (observed {}, expected {})",
                    span_label(check),
                    a.assertion,
                    shown(&check.observed),
                    shown(&check.expected)
                );
            }
        }
    }
    for (name, value) in &result.outputs {
        let _ = writeln!(
            out,
            "\toutput {name} = {}",
            crate::http_client::truncate(value, 200)
        );
    }
    out
}

fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 forbids most control characters even escaped.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// JUnit XML: a `testsuite` per definition, a `testcase` per spec.
pub fn render_junit(results: &[TestResult]) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let tests: usize = results.iter().map(|r| r.specs.len()).sum();
    let failures: usize = results
        .iter()
        .map(|r| r.specs.iter().filter(|s| !s.passed).count())
        .sum();
    let _ = writeln!(
        out,
        "<testsuites name=\"otelops test\" tests=\"{tests}\" failures=\"{failures}\">"
    );
    for r in results {
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" time=\"{:.3}\">",
            xml_escape(&r.name),
            r.specs.len(),
            r.specs.iter().filter(|s| !s.passed).count(),
            r.duration_ms / 1e3
        );
        let _ = writeln!(
            out,
            "    <properties><property name=\"trace_id\" value=\"{}\"/><property name=\"file\" value=\"{}\"/></properties>",
            r.trace_id,
            xml_escape(&r.file)
        );
        for spec in &r.specs {
            let title = if spec.name.is_empty() {
                &spec.selector
            } else {
                &spec.name
            };
            let _ = write!(
                out,
                "    <testcase name=\"{}\" classname=\"{}\"",
                xml_escape(title),
                xml_escape(&r.name)
            );
            if spec.passed {
                out.push_str("/>\n");
                continue;
            }
            out.push_str(">\n");
            let mut text = String::new();
            for a in spec.assertions.iter().filter(|a| !a.passed) {
                for c in a.checks.iter().filter(|c| !c.passed) {
                    let _ = writeln!(
                        text,
                        "{} on {}: observed {}, expected {}",
                        a.assertion,
                        span_label(c),
                        shown(&c.observed),
                        shown(&c.expected)
                    );
                }
            }
            let first = spec
                .assertions
                .iter()
                .find(|a| !a.passed)
                .map(|a| a.assertion.as_str())
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "      <failure message=\"{}\" type=\"assertion\">{}</failure>\n    </testcase>",
                xml_escape(first),
                xml_escape(&text)
            );
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}
