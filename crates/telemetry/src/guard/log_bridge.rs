//! The logs bridge as services use it: `opentelemetry-appender-tracing`'s
//! layer over a logger that mends two things in the records it emits.
//!
//! - The bridge sets every record's `event_name` to the tracing callsite
//!   name, which for an ordinary `tracing::info!` is
//!   `"event crates/fares/src/main.rs:20"`. In OTLP an event name marks a
//!   *named event* with a schema of its own; a code location is neither.
//!   The location goes to `code.file.path` / `code.line.number` instead, and
//!   only an event named explicitly (`tracing::info!(name: "booking.done", ..)`)
//!   keeps its name. The crate's `experimental_metadata_attributes` feature
//!   does not serve: it writes the deprecated `code.filepath`/`code.lineno`
//!   (plus `code.namespace` and `code.filename`) and keeps the event name.
//! - The bridge leaves the record's time unset, so only the SDK's observed
//!   time was exported; the time of a tracing event is when it was emitted,
//!   so both are set to that instant.
//!
//! Done in the logger the bridge writes through (not in a log processor),
//! so the event name is never set at all rather than overwritten, and
//! every provider the bridge is built on (production, `Capture`) gets it.

use std::borrow::Cow;
use std::time::SystemTime;

use opentelemetry::logs::{AnyValue, LogRecord, Logger, LoggerProvider, Severity};
use opentelemetry::{InstrumentationScope, Key, SpanId, StringValue, TraceFlags, TraceId};
use opentelemetry_appender_tracing::layer::OpenTelemetryTracingBridge;
use opentelemetry_sdk::logs::{SdkLogRecord, SdkLogger, SdkLoggerProvider};
use opentelemetry_semantic_conventions::attribute::{CODE_FILE_PATH, CODE_LINE_NUMBER};

/// The `tracing` → OpenTelemetry logs layer over `provider`.
pub fn log_bridge(
    provider: &SdkLoggerProvider,
) -> OpenTelemetryTracingBridge<EventLogs, EventLogger> {
    OpenTelemetryTracingBridge::new(&EventLogs(provider.clone()))
}

/// `(file, line)` when `name` is the name `tracing` gives an event that was
/// not named explicitly: `concat!("event ", file!(), ":", line!())`.
fn callsite_location(name: &'static str) -> Option<(&'static str, u32)> {
    let (file, line) = name.strip_prefix("event ")?.rsplit_once(':')?;
    let line = line.parse().ok()?;
    (!file.is_empty()).then_some((file, line))
}

/// A logger provider whose loggers emit through `SdkLoggerProvider`'s.
#[derive(Debug, Clone)]
pub struct EventLogs(SdkLoggerProvider);

impl LoggerProvider for EventLogs {
    type Logger = EventLogger;
    fn logger_with_scope(&self, scope: InstrumentationScope) -> EventLogger {
        EventLogger(self.0.logger_with_scope(scope))
    }
}

#[derive(Debug)]
pub struct EventLogger(SdkLogger);

impl Logger for EventLogger {
    type LogRecord = EventRecord;

    fn create_log_record(&self) -> EventRecord {
        EventRecord(self.0.create_log_record())
    }

    fn emit(&self, mut record: EventRecord) {
        // The SDK fills in only the observed time; one clock read for both.
        if record.0.timestamp().is_none() {
            let now = SystemTime::now();
            record.0.set_timestamp(now);
            if record.0.observed_timestamp().is_none() {
                record.0.set_observed_timestamp(now);
            }
        }
        self.0.emit(record.0);
    }

    fn event_enabled(&self, level: Severity, target: &str, name: Option<&str>) -> bool {
        self.0.event_enabled(level, target, name)
    }
}

/// An SDK log record whose event name setter keeps code locations out.
#[derive(Debug)]
pub struct EventRecord(SdkLogRecord);

impl LogRecord for EventRecord {
    fn set_event_name(&mut self, name: &'static str) {
        match callsite_location(name) {
            Some((file, line)) => {
                self.0.add_attribute(
                    Key::from_static_str(CODE_FILE_PATH),
                    AnyValue::String(StringValue::from(file)),
                );
                self.0.add_attribute(
                    Key::from_static_str(CODE_LINE_NUMBER),
                    AnyValue::Int(i64::from(line)),
                );
            }
            None => self.0.set_event_name(name),
        }
    }

    fn set_target<T>(&mut self, target: T)
    where
        T: Into<Cow<'static, str>>,
    {
        self.0.set_target(target);
    }

    fn set_timestamp(&mut self, timestamp: SystemTime) {
        self.0.set_timestamp(timestamp);
    }

    fn set_observed_timestamp(&mut self, timestamp: SystemTime) {
        self.0.set_observed_timestamp(timestamp);
    }

    fn set_severity_text(&mut self, text: &'static str) {
        self.0.set_severity_text(text);
    }

    fn set_severity_number(&mut self, number: Severity) {
        self.0.set_severity_number(number);
    }

    fn set_body(&mut self, body: AnyValue) {
        self.0.set_body(body);
    }

    fn add_attributes<I, K, V>(&mut self, attributes: I)
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<Key>,
        V: Into<AnyValue>,
    {
        self.0.add_attributes(attributes);
    }

    fn add_attribute<K, V>(&mut self, key: K, value: V)
    where
        K: Into<Key>,
        V: Into<AnyValue>,
    {
        self.0.add_attribute(key, value);
    }

    fn set_trace_context(
        &mut self,
        trace_id: TraceId,
        span_id: SpanId,
        trace_flags: Option<TraceFlags>,
    ) {
        self.0.set_trace_context(trace_id, span_id, trace_flags);
    }
}

#[cfg(test)]
mod tests {
    use super::callsite_location;

    #[test]
    fn only_tracings_default_event_names_are_code_locations() {
        assert_eq!(
            callsite_location("event crates/fares/src/main.rs:20"),
            Some(("crates/fares/src/main.rs", 20))
        );
        assert_eq!(callsite_location("booking.done"), None);
        assert_eq!(callsite_location("event main.rs:twenty"), None);
        assert_eq!(callsite_location("event :20"), None);
    }
}
