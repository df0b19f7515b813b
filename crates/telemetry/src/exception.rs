//! Exception recording per the stable `exception` event convention: an event
//! named `exception` with `exception.type`, `exception.message` and (when a
//! backtrace was captured) `exception.stacktrace`, and span status Error.

use std::backtrace::{Backtrace, BacktraceStatus};
use std::error::Error;

use opentelemetry::KeyValue;
use opentelemetry::trace::{SpanRef, Status, TraceContextExt};
use opentelemetry_semantic_conventions::attribute as semconv;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// `exception.type` when the concrete error type is not known (a `dyn Error`).
pub const UNKNOWN_ERROR_TYPE: &str = "error";

/// Records `err` on `span`: `exception.type` is [`UNKNOWN_ERROR_TYPE`] (use
/// [`record_error_typed`] to get the Rust type name), `exception.message` is the
/// error and its `source()` chain joined by `": "`, and `exception.stacktrace`
/// is a backtrace of this call site when `RUST_BACKTRACE`/`RUST_LIB_BACKTRACE`
/// enables capturing. Sets the span status to Error with the same message.
pub fn record_error(span: &tracing::Span, err: &(dyn Error + 'static)) {
    record(span, UNKNOWN_ERROR_TYPE, err, &Backtrace::capture());
}

/// [`record_error`] with `exception.type` = `std::any::type_name::<E>()`.
pub fn record_error_typed<E: Error + 'static>(span: &tracing::Span, err: &E) {
    record(span, std::any::type_name::<E>(), err, &Backtrace::capture());
}

/// [`record_error_typed`] with a backtrace the caller captured where the error
/// was made (e.g. a `Backtrace` field of the error type).
pub fn record_error_with_backtrace<E: Error + 'static>(
    span: &tracing::Span,
    err: &E,
    backtrace: &Backtrace,
) {
    record(span, std::any::type_name::<E>(), err, backtrace);
}

/// The error's `Display` followed by each `source()`, joined by `": "`.
pub fn error_chain(err: &(dyn Error + 'static)) -> String {
    let mut message = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

fn record(span: &tracing::Span, ty: &str, err: &(dyn Error + 'static), backtrace: &Backtrace) {
    record_message(span, ty, error_chain(err), backtrace);
}

/// Records an `exception` event from parts, for callers that must scrub the
/// message first (e.g. URLs with credentials).
pub(crate) fn record_message(
    span: &tracing::Span,
    ty: &str,
    message: String,
    backtrace: &Backtrace,
) {
    // A span made with the OpenTelemetry API (the HTTP server span) is not a
    // `tracing` span: when `span` carries no OpenTelemetry context, the event
    // goes to the current OpenTelemetry span, if any.
    let cx = span.context();
    if cx.span().span_context().is_valid() {
        span.add_event("exception", attributes(ty, &message, backtrace));
        span.set_status(Status::error(message));
    } else {
        record_on(
            &opentelemetry::Context::current().span(),
            ty,
            message,
            backtrace,
        );
    }
}

/// [`record_error`] for a span made with the OpenTelemetry API (e.g.
/// [`crate::db::RedisSpan::span`]).
pub fn record_error_on(span: &SpanRef<'_>, err: &(dyn Error + 'static)) {
    record_on(
        span,
        UNKNOWN_ERROR_TYPE,
        error_chain(err),
        &Backtrace::capture(),
    );
}

fn record_on(span: &SpanRef<'_>, ty: &str, message: String, backtrace: &Backtrace) {
    span.add_event("exception", attributes(ty, &message, backtrace));
    span.set_status(Status::error(message));
}

fn attributes(ty: &str, message: &str, backtrace: &Backtrace) -> Vec<KeyValue> {
    let mut attributes = vec![
        KeyValue::new(semconv::EXCEPTION_TYPE, ty.to_owned()),
        KeyValue::new(semconv::EXCEPTION_MESSAGE, message.to_owned()),
    ];
    if backtrace.status() == BacktraceStatus::Captured {
        attributes.push(KeyValue::new(
            semconv::EXCEPTION_STACKTRACE,
            backtrace.to_string(),
        ));
    }
    attributes
}
