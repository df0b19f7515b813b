//! `otelops test`: Tracetest-compatible trace-based tests with no server.
//! A definition (`type: Test` YAML) triggers a request with a fresh sampled
//! `traceparent`, the trace it starts is collected from an OTLP receiver,
//! and its specs (selectors + assertions) are judged on it.
//!
//! Start at [`run::Runner::run`]. Layout: [`definition`] (the YAML, with
//! `file:line:column` problems; unsupported Tracetest features by name),
//! [`trigger`] (the request), [`selector`] (which spans), [`expr`] (assertions, expressions,
//! variables), [`trace`] (the captured trace, `tracetest.*` attributes),
//! [`capture`] (where spans come from, when the trace is complete),
//! [`report`] (text like the Tracetest CLI, JUnit).

pub mod capture;
pub mod definition;
pub mod expr;
pub mod report;
pub mod run;
pub mod selector;
pub mod trace;
pub mod trigger;
