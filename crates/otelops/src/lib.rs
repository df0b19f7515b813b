//! otelops: the operator's tool for Parker Flight's OpenTelemetry pipeline.
//!
//! For: checking a collector's health (`health`) and judging its internal
//! metrics against the operations guide's thresholds with a history
//! (`monitor`, over `prom`, the Prometheus text parser); tuning advice with a
//! config diff (`tune`); rendering and linting collector configs
//! (`collector_config`) and writing dashboards and alert rules
//! (`dashboards`); a small embedded OTLP receiver for development and checks
//! (`receive`, browsed with `otelops traces`); compliance checks on telemetry
//! — OTLP encoding, semantic conventions, W3C Trace Context — (`check`, over
//! the embedded `semconv_registry`); and an end-to-end run of Parker Flight
//! on one machine (`demo`); Tracetest-compatible trace-based tests with no
//! server (`test`, in `trace_test`).
//! the embedded `semconv_registry`); an end-to-end run of Parker Flight
//! on one machine (`demo`); and OTLP load against a collector (`load`).
//!
//! Not for: production telemetry collection or storage. `receive` keeps a
//! bounded in-memory store for a developer or a check run; the collector
//! (otelcol-parker) and the backends behind it do the real collecting.
//!
//! Start at `cli` (the commands) and `commands/` — one thin file per CLI
//! command (parse arguments, call the library, print). The logic lives in the
//! modules above, each opening with where to start in it, and is
//! unit-tested without a terminal.

pub mod audit;
pub mod backup;
pub mod certs;
pub mod check;
pub mod cli;
pub mod collector_config;
pub mod commands;
pub mod dashboards;
pub mod demo;
pub mod diagnose;
pub mod exit;
pub mod health;
pub mod http_client;
pub mod load;
pub mod maintain;
pub mod monitor;
pub mod output;
pub mod prom;
pub mod receive;
pub mod secret_file;
pub mod semconv_registry;
pub mod token;
pub mod trace_test;
pub mod tune;
pub mod ui;
pub mod version;
