//! Test support for crates that use parker-telemetry (feature `testing`):
//! an in-memory [`Capture`] of finished telemetry and a loopback
//! [`OtlpSink`] that receives real OTLP exports.

pub mod capture;
pub mod otlp_sink;
pub use capture::*;
pub use otlp_sink::*;
