//! parker-telemetry: one call to set up traces, metrics and logs for a Parker Flight service.
//!
//! (Lead's skeleton — module owners fill these in. See the public API contract
//! in each module's header.)

pub mod config; // owner: core helper — OTEL_* + config/.env.otel parsing
pub mod resource; // owner: core helper — resource detection
pub mod export; // owner: core helper — exporters, TLS, bounded queue + drop counting
pub mod guard; // owner: core helper — TelemetryGuard, shutdown with deadline

pub mod propagation; // owner: instrumentation helper — W3C traceparent/tracestate/baggage
pub mod http; // owner: instrumentation helper — server tower layer, reqwest client helper
pub mod db; // owner: instrumentation helper — Redis client spans
pub mod exception; // owner: instrumentation helper — exception recording

#[cfg(feature = "testing")]
pub mod testing; // capture.rs: instrumentation helper; otlp_sink.rs: core helper
