//! The `exception` span event and Error status from `exception::record_error*`.

use std::backtrace::Backtrace;
use std::fmt;

use opentelemetry::trace::Status;
use parker_telemetry::exception::{
    UNKNOWN_ERROR_TYPE, error_chain, record_error, record_error_typed, record_error_with_backtrace,
};
use parker_telemetry::testing::{Capture, SpanDataExt, find};

#[derive(Debug)]
struct FareUnavailable {
    cause: std::io::Error,
}

impl fmt::Display for FareUnavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "fare LHR-JFK unavailable")
    }
}

impl std::error::Error for FareUnavailable {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.cause)
    }
}

fn fare_error() -> FareUnavailable {
    FareUnavailable {
        cause: std::io::Error::new(std::io::ErrorKind::TimedOut, "provider timed out"),
    }
}

fn exception(capture: &Capture, span_name: &str) -> Vec<opentelemetry::KeyValue> {
    capture
        .span_named(span_name)
        .event_attrs("exception")
        .expect("an `exception` event")
}

#[test]
fn typed_error_records_type_name_and_message_with_source_chain() {
    let capture = Capture::install();
    let span = tracing::info_span!("book");
    record_error_typed(&span, &fare_error());
    drop(span);

    let attrs = exception(&capture, "book");
    assert_eq!(
        find(&attrs, "exception.type")
            .map(|v| v.to_string())
            .as_deref(),
        Some(std::any::type_name::<FareUnavailable>())
    );
    assert_eq!(
        find(&attrs, "exception.message")
            .map(|v| v.to_string())
            .as_deref(),
        Some("fare LHR-JFK unavailable: provider timed out")
    );
}

#[test]
fn recording_an_error_sets_status_error_with_the_message() {
    let capture = Capture::install();
    let span = tracing::info_span!("book");
    record_error_typed(&span, &fare_error());
    drop(span);

    assert_eq!(
        capture.span_named("book").status,
        Status::error("fare LHR-JFK unavailable: provider timed out")
    );
}

#[test]
fn dyn_error_records_generic_type() {
    let capture = Capture::install();
    let span = tracing::info_span!("book");
    let err: Box<dyn std::error::Error> = Box::new(fare_error());
    record_error(&span, err.as_ref());
    drop(span);

    let attrs = exception(&capture, "book");
    assert_eq!(
        find(&attrs, "exception.type")
            .map(|v| v.to_string())
            .as_deref(),
        Some(UNKNOWN_ERROR_TYPE)
    );
}

#[test]
fn captured_backtrace_becomes_exception_stacktrace() {
    let capture = Capture::install();
    let span = tracing::info_span!("book");
    let backtrace = Backtrace::force_capture();
    record_error_with_backtrace(&span, &fare_error(), &backtrace);
    drop(span);

    let attrs = exception(&capture, "book");
    let stack = find(&attrs, "exception.stacktrace")
        .map(|v| v.to_string())
        .expect("exception.stacktrace");
    assert!(
        stack.contains("captured_backtrace_becomes_exception_stacktrace"),
        "{stack}"
    );
}

#[test]
fn error_chain_joins_sources() {
    assert_eq!(
        error_chain(&fare_error()),
        "fare LHR-JFK unavailable: provider timed out"
    );
}
