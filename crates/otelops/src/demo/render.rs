//! The demo's plain-text report: the bookings, the injected failure, the
//! waterfall of one trace, the check results, and where to keep exploring.

use std::fmt::Write;

use crate::check::{Finding, Level, Report, Source};
use crate::receive::view::{Style, render_waterfall};

use super::{DemoReport, Endpoints};

/// Kinds of finding listed per check; the rest are counted (every finding
/// is in `--output json`).
const GROUPS_SHOWN: usize = 10;

/// `running`: the services keep running (print how to explore them) rather
/// than stop after the report (`--once`).
pub fn report(report: &DemoReport, style: Style, otelops: &str, running: bool) -> String {
    let mut out = String::new();
    bookings(&mut out, report);
    let trace = &report.trace;
    let _ = writeln!(
        out,
        "\n== Trace {} ({} spans, {} with errors, services: {})",
        trace.trace_id,
        trace.spans,
        trace.errors,
        trace.services.join(", ")
    );
    let _ = writeln!(out, "Shown: {}.", trace.why);
    out.push_str(&render_waterfall(&trace.detail, style));
    checks(&mut out, &report.checks);
    let verdict = if report.passed() {
        "PASS: every booking is final, the failure was retried, no check found a violation"
    } else if !report.flow_completed() {
        "FAIL: the booking flow did not complete as expected (see above)"
    } else {
        "FAIL: a check found violations (see above)"
    };
    let _ = writeln!(out, "\n{verdict}");
    if running {
        explore(&mut out, &report.endpoints, otelops);
    } else {
        let e = &report.endpoints;
        let _ = writeln!(
            out,
            "\nServices ran at: parker-booking {}, parker-fares {}, receiver {} (logs and telemetry.jsonl in {})",
            e.booking, e.fares, e.otlp_http, e.work_dir
        );
    }
    out
}

fn bookings(out: &mut String, report: &DemoReport) {
    let _ = writeln!(out, "== Bookings ({})", report.bookings.len());
    let _ = writeln!(
        out,
        "  {:<18} {:<11} {:<16} {:<22} {:<8} {:>7}  BOOKING ID",
        "TRAVELLER", "ROUTE", "CABIN", "DEPARTURE", "STATUS", "RETRIES"
    );
    for b in &report.bookings {
        let _ = writeln!(
            out,
            "  {:<18} {:<11} {:<16} {:<22} {:<8} {:>7}  {}",
            b.traveller, b.route, b.cabin, b.departure, b.status, b.retries, b.id
        );
        if let Some(reason) = &b.reason {
            let _ = writeln!(out, "  {:<18} {reason}", "");
        }
    }
    match &report.injected_failure {
        Some(f) => {
            let _ = writeln!(
                out,
                "Injected provider failure: parker-fares answered {}'s order (booking {}) with {}; \
                 the worker retried it and the booking is {}.",
                f.traveller, f.fault.order_key, f.fault.status, f.booking_status
            );
        }
        None => {
            let _ = writeln!(
                out,
                "No provider failure was injected (no order reached parker-fares)."
            );
        }
    }
}

fn checks(out: &mut String, reports: &[Report]) {
    let _ = writeln!(out, "\n== Checks on what the receiver got");
    for r in reports {
        // Every trace-context case is one finding: a violation when it failed.
        let cases = if r.check == "trace-context" {
            format!("  ({} of {} cases passed)", r.information, r.findings.len())
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "  {:<22} {} violation(s), {} improvement(s), {} information{cases}",
            r.check, r.violations, r.improvements, r.information
        );
    }
    for r in reports {
        let groups = groups(r);
        if groups.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n-- {}", r.check);
        for g in groups.iter().take(GROUPS_SHOWN) {
            let first = g.findings[0];
            let span = first
                .span
                .as_ref()
                .map(|s| format!(" span \"{}\"", s.name))
                .unwrap_or_default();
            let times = match g.findings.len() {
                1 => String::new(),
                n => format!(" ({n}×)"),
            };
            let _ = writeln!(
                out,
                "  {:<11} {:<28} {}{times}",
                first.level.as_str(),
                first.rule,
                first.message
            );
            let e_g = if g.findings.len() > 1 { "e.g. " } else { "" };
            let _ = writeln!(
                out,
                "  {:<40} {e_g}at {}{}{span}",
                "",
                location(&first.source),
                first.path
            );
        }
        if groups.len() > GROUPS_SHOWN {
            let _ = writeln!(
                out,
                "  … and {} more kinds of finding (--output json lists every finding)",
                groups.len() - GROUPS_SHOWN
            );
        }
    }
}

/// `telemetry.jsonl:12: ` for a line of the received copy (the directory
/// is in the endpoints section), nothing for a check of a live target.
fn location(source: &Source) -> String {
    match source.line {
        Some(line) => {
            let file = std::path::Path::new(&source.file)
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_else(|| source.file.clone());
            format!("{file}:{line}: ")
        }
        None => String::new(),
    }
}

/// Findings that say the same thing (level, rule, message) about different
/// spans, in report order. Information is left to `--output json`.
struct Group<'a> {
    findings: Vec<&'a Finding>,
}

fn groups(report: &Report) -> Vec<Group<'_>> {
    let mut groups: Vec<Group<'_>> = Vec::new();
    for f in report
        .findings
        .iter()
        .filter(|f| f.level != Level::Information)
    {
        let same = |g: &&mut Group<'_>| {
            let first = g.findings[0];
            (first.level, first.rule, &first.message) == (f.level, f.rule, &f.message)
        };
        match groups.iter_mut().find(same) {
            Some(g) => g.findings.push(f),
            None => groups.push(Group { findings: vec![f] }),
        }
    }
    groups
}

fn explore(out: &mut String, e: &Endpoints, otelops: &str) {
    let booking = &e.booking;
    let (from, to) = (super::flow::date_in(30), super::flow::date_in(32));
    let _ = writeln!(
        out,
        "\n== Parker Flight is running (in-memory store; telemetry to the embedded receiver)\n\
         \x20 parker-booking   {booking}   (API docs: {booking}/openapi.json)\n\
         \x20 parker-fares     {}   (booking calls it through the demo's relay {})\n\
         \x20 OTLP receiver    grpc {}, http {}  ({} in use; copy in {})\n\
         \x20 service logs     {}/parker-booking.log, {}/parker-fares.log\n\
         \x20 web view         {}   (trace search, trace view, service map)\n\
         \n\
         Ask for a flight to be booked automatically:\n\
         \x20 curl -i -X POST {booking}/v1/bookings -H 'content-type: application/json' -H 'idempotency-key: mine-1' \\\n\
         \x20   -d '{{\"traveller\":{{\"name\":\"Ada Lovelace\",\"email\":\"ada@example.com\"}},\"origin\":\"JFK\",\"destination\":\"LHR\",\"departure\":{{\"from\":\"{from}\",\"to\":\"{to}\"}},\"max_price\":{{\"amount\":\"900.00\",\"currency\":\"EUR\"}},\"cabin\":\"economy\",\"passengers\":1}}'\n\
         Then:\n\
         \x20 curl {booking}/v1/bookings/<id>        # pending → booked\n\
         \x20 curl '{booking}/v1/bookings?limit=5'\n\
         \x20 curl {}/v1/orders                  # what the provider ordered\n\
         \x20 {otelops} traces list --receiver {}\n\
         \x20 {otelops} traces show <trace-id> --receiver {}\n\
         \x20 {otelops} check semantic-conventions {}",
        e.fares,
        e.fares_relay,
        e.otlp_grpc,
        e.otlp_http,
        serde_json::to_value(e.protocol)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default(),
        e.telemetry_jsonl,
        e.work_dir,
        e.work_dir,
        e.ui,
        e.fares,
        e.otlp_http,
        e.otlp_http,
        e.telemetry_jsonl,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::SpanRef;

    fn finding(level: Level, message: &str, span: &str, line: usize) -> Finding {
        Finding {
            level,
            rule: "semconv.recommended-attribute",
            source: Source {
                file: "/tmp/demo/telemetry.jsonl".into(),
                line: Some(line),
            },
            path: "resourceSpans[0].scopeSpans[0].spans[0]".into(),
            span: Some(SpanRef {
                name: span.into(),
                span_id: "0102030405060708".into(),
            }),
            message: message.into(),
        }
    }

    #[test]
    fn the_same_finding_on_many_spans_is_one_group_and_information_is_left_out() {
        let report = Report::new(
            "semantic-conventions",
            1,
            vec![
                finding(Level::Improvement, "recommends `a`", "GET /x", 1),
                finding(Level::Improvement, "recommends `b`", "GET /x", 1),
                finding(Level::Improvement, "recommends `a`", "GET /y", 2),
                finding(Level::Information, "fyi", "GET /y", 2),
            ],
        );
        let groups = groups(&report);
        let shape: Vec<(&str, usize)> = groups
            .iter()
            .map(|g| (g.findings[0].message.as_str(), g.findings.len()))
            .collect();
        assert_eq!(shape, [("recommends `a`", 2), ("recommends `b`", 1)]);
        let mut out = String::new();
        checks(&mut out, &[report]);
        assert!(out.contains("recommends `a` (2×)"), "{out}");
        assert!(
            out.contains("e.g. at telemetry.jsonl:1: resourceSpans"),
            "{out}"
        );
        assert!(!out.contains("fyi"), "{out}");
    }

    #[test]
    fn a_live_target_has_no_file_location() {
        let source = Source {
            file: "http://127.0.0.1:8080/test".into(),
            line: None,
        };
        assert_eq!(location(&source), "");
    }
}
