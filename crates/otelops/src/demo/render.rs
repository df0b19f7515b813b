//! The demo's plain-text report: the bookings, the injected failure, the
//! waterfall of one trace, the check results, and where to keep exploring.

use std::fmt::Write;

use crate::check::{Level, Report};
use crate::receive::view::{Style, render_waterfall};

use super::{DemoReport, Endpoints};

/// Findings listed per check; the rest are counted (all are in `--output json`).
const FINDINGS_SHOWN: usize = 8;

pub fn report(report: &DemoReport, style: Style, otelops: &str) -> String {
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
    explore(&mut out, &report.endpoints, otelops);
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
        let _ = writeln!(
            out,
            "  {:<22} {} violation(s), {} improvement(s), {} information",
            r.check, r.violations, r.improvements, r.information
        );
    }
    for r in reports.iter().filter(|r| !r.findings.is_empty()) {
        let _ = writeln!(out, "\n-- {}", r.check);
        for f in r.findings.iter().take(FINDINGS_SHOWN) {
            let span = f
                .span
                .as_ref()
                .map(|s| format!(" (span \"{}\")", s.name))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  {:<11} {:<28} {}{span}",
                level(f.level),
                f.rule,
                f.message
            );
            let _ = writeln!(out, "  {:<11} {:<28} at {}", "", "", f.path);
        }
        if r.findings.len() > FINDINGS_SHOWN {
            let _ = writeln!(
                out,
                "  … and {} more (--output json lists them all)",
                r.findings.len() - FINDINGS_SHOWN
            );
        }
    }
}

fn level(level: Level) -> &'static str {
    level.as_str()
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
        e.fares,
        e.otlp_http,
        e.otlp_http,
        e.telemetry_jsonl,
    );
}
