//! otelops: the operator's tool for Parker Flight's OpenTelemetry pipeline.
//!
//! (Lead's skeleton.) `commands/` holds one thin file per CLI command (parse
//! arguments, call the library, print); every other module is real logic that
//! is unit-tested without a terminal.

pub mod cli;
pub mod collector_config;
pub mod commands;
pub mod dashboards;
pub mod output;
