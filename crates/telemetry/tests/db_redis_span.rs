//! Redis client spans: semconv attributes and `db.query.text` sanitisation.

use opentelemetry::trace::{SpanKind, Status};
use parker_telemetry::db::{RedisTarget, redis_query_text, redis_span};
use parker_telemetry::testing::{Capture, SpanDataExt};

fn target() -> RedisTarget {
    RedisTarget {
        address: "127.0.0.1".into(),
        port: 6379,
        database: 2,
    }
}

#[test]
fn redis_span_has_db_semconv_attributes() {
    let capture = Capture::install();
    redis_span("HSET", &["booking:42", "status", "confirmed"], &target()).in_scope(|| {});

    let span = capture.span_named("HSET");
    assert_eq!(span.span_kind, SpanKind::Client);
    assert_eq!(span.status, Status::Unset);
    assert_eq!(span.attr("db.system.name").as_deref(), Some("redis"));
    assert_eq!(span.attr("db.operation.name").as_deref(), Some("HSET"));
    assert_eq!(span.attr("db.namespace").as_deref(), Some("2"));
    assert_eq!(span.attr("server.address").as_deref(), Some("127.0.0.1"));
    assert_eq!(span.attr_i64("server.port"), Some(6379));
    assert_eq!(span.attr("db.query.text").as_deref(), Some("HSET ? ? ?"));
}

#[test]
fn redis_query_text_never_contains_arguments() {
    let text = redis_query_text(
        "SET",
        &["session:ada@example.com", "tok_secret", "EX", "60"],
    );
    assert_eq!(text, "SET ? ? ? ?");
    assert!(!text.contains("ada"));
}

#[test]
fn redis_query_text_without_arguments_is_the_command() {
    assert_eq!(redis_query_text("PING", &[]), "PING");
}

#[test]
fn redis_command_is_kept_as_written() {
    // semconv: capture db.operation.name as the application provided it.
    let capture = Capture::install();
    redis_span("get", &["k"], &target()).in_scope(|| {});
    let span = capture.span_named("get");
    assert_eq!(span.attr("db.operation.name").as_deref(), Some("get"));
}

#[test]
fn redis_span_is_a_child_of_the_current_span() {
    let capture = Capture::install();
    tracing::info_span!("reserve").in_scope(|| {
        redis_span("GET", &["k"], &target()).in_scope(|| {});
    });
    let parent = capture.span_named("reserve");
    let span = capture.span_named("GET");
    assert_eq!(span.parent_span_id, parent.span_context.span_id());
    assert_eq!(span.span_context.trace_id(), parent.span_context.trace_id());
}
