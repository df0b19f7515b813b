//! otelops: the operator's tool for Parker Flight's OpenTelemetry pipeline.
//!
//! For: checking a collector's health (`health`), judging its internal
//! metrics against the operations guide's thresholds and keeping a history
//! (`monitor`), tuning advice with a config diff (`tune`), rendering/linting
//! configs and dashboards (`config`, `dashboards`). Not for: collecting or
//! storing telemetry itself (that is the collector's job).
//!
//! Start at `commands/` — one thin file per CLI command (parse arguments, call
//! the library, print). The logic lives beside it and is unit-tested without a
//! terminal: `prom` (Prometheus text parser), `health`, `monitor`, `tune`.

pub mod check;
pub mod cli;
pub mod collector_config;
pub mod commands;
pub mod dashboards;
pub mod demo;
pub mod exit;
pub mod health;
pub mod http_client;
pub mod monitor;
pub mod output;
pub mod prom;
pub mod receive;
pub mod semconv_registry;
pub mod tune;
