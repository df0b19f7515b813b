//! Database client spans. Redis only, per the semconv Redis span convention:
//! name `{db.operation.name}` (Redis numbers its namespaces, so semconv keeps
//! `db.namespace` out of the name), `db.system.name = "redis"`, and a
//! `db.query.text` with every argument replaced by `?` — keys can carry user
//! ids too, so nothing but the command survives.

use std::error::Error;
use std::future::Future;

use opentelemetry::context::{FutureExt, WithContext};
use opentelemetry::trace::{Span as _, SpanKind, SpanRef, TraceContextExt, Tracer};
use opentelemetry::{Context, KeyValue};
use opentelemetry_semantic_conventions::attribute as semconv;

use crate::{current_tracer, exception, propagation};

/// The Redis server a connection talks to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisTarget {
    /// Host name or IP of the server (`server.address`).
    pub address: String,
    /// TCP port (`server.port`).
    pub port: u16,
    /// Database index selected when connecting (`db.namespace`, as a string).
    pub database: i64,
}

/// The CLIENT span of one Redis command: run the call through
/// [`RedisSpan::wrap`]; the span ends when this is dropped.
///
/// Made with the OpenTelemetry API by the current subscriber's tracer, not
/// as a `tracing` span, for the same reason as the HTTP server span (see
/// [`crate::current_tracer`]): a store call may issue several commands per
/// request, each with a span. Its parent is the current span (`tracing` or
/// OpenTelemetry). With no tracer installed it records nothing.
#[must_use = "the span ends when dropped; run the command's future through `wrap`"]
pub struct RedisSpan {
    cx: Option<Context>,
}

/// A CLIENT span for one Redis command. `command` is kept as the application
/// wrote it (semconv: no case normalisation); `args` only count for
/// `db.query.text`.
pub fn redis_span(command: &str, args: &[&str], target: &RedisTarget) -> RedisSpan {
    let cx = current_tracer::with_current_tracer(|tracer| {
        let parent = propagation::current_context();
        let mut span = tracer
            .span_builder(command.to_owned())
            .with_kind(SpanKind::Client)
            // Room for every attribute (see the server span).
            .with_attributes(Vec::with_capacity(8))
            .start_with_context(tracer, &parent);
        // Attributes only for a span that records (see the server span).
        if span.is_recording() {
            span.set_attributes([
                KeyValue::new(semconv::DB_SYSTEM_NAME, "redis"),
                KeyValue::new(semconv::DB_OPERATION_NAME, command.to_owned()),
                KeyValue::new(semconv::DB_NAMESPACE, target.database.to_string()),
                KeyValue::new(semconv::DB_QUERY_TEXT, redis_query_text(command, args)),
                KeyValue::new(semconv::SERVER_ADDRESS, target.address.clone()),
                KeyValue::new(semconv::SERVER_PORT, i64::from(target.port)),
            ]);
        }
        parent.with_span(span)
    });
    RedisSpan { cx }
}

impl RedisSpan {
    /// `fut`, polled with this span's context current (so spans and log
    /// records inside are its children).
    pub fn wrap<F: Future>(&self, fut: F) -> WithContext<F> {
        fut.with_context(self.cx.clone().unwrap_or_else(Context::current))
    }

    /// Runs `f` with this span's context current.
    pub fn in_scope<R>(&self, f: impl FnOnce() -> R) -> R {
        let _attached = self.cx.clone().map(Context::attach);
        f()
    }

    /// The span, to record on it (a no-op span when nothing is traced).
    pub fn span(&self) -> SpanRef<'_> {
        match &self.cx {
            Some(cx) => cx.span(),
            None => NOOP.span(),
        }
    }
}

/// A context without a span: [`RedisSpan::span`] of an untraced call.
static NOOP: std::sync::LazyLock<Context> = std::sync::LazyLock::new(Context::new);

impl Drop for RedisSpan {
    fn drop(&mut self) {
        if let Some(cx) = &self.cx {
            cx.span().end();
        }
    }
}

/// `db.query.text` for a Redis command: the command, then `?` per argument.
pub fn redis_query_text(command: &str, args: &[&str]) -> String {
    let mut text = String::with_capacity(command.len() + 2 * args.len());
    text.push_str(command);
    for _ in args {
        text.push_str(" ?");
    }
    text
}

/// Marks a Redis span failed by an error reply from the server (e.g.
/// `-WRONGTYPE Operation against a key ...`): `prefix` is the reply's error
/// prefix (redis-rs: `RedisError::code()`), recorded as
/// `db.response.status_code` and `error.type`; `err` becomes an `exception`
/// event and the status message. Semconv counts every Redis error prefix as an
/// error. For failures without a reply (I/O, timeouts) use
/// [`crate::exception::record_error_on`] with [`RedisSpan::span`].
pub fn record_redis_error(span: &RedisSpan, prefix: &str, err: &(dyn Error + 'static)) {
    let otel = span.span();
    otel.set_attribute(KeyValue::new(
        semconv::DB_RESPONSE_STATUS_CODE,
        prefix.to_owned(),
    ));
    otel.set_attribute(KeyValue::new(semconv::ERROR_TYPE, prefix.to_owned()));
    exception::record_error_on(&otel, err);
}
