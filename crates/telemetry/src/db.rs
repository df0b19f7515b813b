//! Database client spans. Redis only, per the semconv Redis span convention:
//! name `{db.operation.name}` (Redis numbers its namespaces, so semconv keeps
//! `db.namespace` out of the name), `db.system.name = "redis"`, and a
//! `db.query.text` with every argument replaced by `?` — keys can carry user
//! ids too, so nothing but the command survives.

use std::error::Error;

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

/// A CLIENT span for one Redis command; enter it (or `.instrument` the future)
/// around the call. `command` is kept as the application wrote it (semconv:
/// no case normalisation); `args` only count for `db.query.text`.
pub fn redis_span(command: &str, args: &[&str], target: &RedisTarget) -> tracing::Span {
    tracing::info_span!(
        target: "parker_telemetry::db",
        "redis",
        otel.name = command,
        otel.kind = "client",
        db.system.name = "redis",
        db.operation.name = command,
        db.namespace = target.database.to_string(),
        db.query.text = redis_query_text(command, args),
        server.address = target.address.as_str(),
        server.port = i64::from(target.port),
        db.response.status_code = tracing::field::Empty,
        error.type = tracing::field::Empty,
    )
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
/// [`crate::exception::record_error`].
pub fn record_redis_error(span: &tracing::Span, prefix: &str, err: &(dyn Error + 'static)) {
    span.record("db.response.status_code", prefix);
    span.record("error.type", prefix);
    crate::exception::record_error(span, err);
}
