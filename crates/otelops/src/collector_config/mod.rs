//! Collector configuration: the typed model, the deployment profiles rendered
//! from it, and `lint`, which checks any configuration file the way
//! `otelcol validate` does plus the operations guide's practices.

pub mod components;
pub mod document;
pub mod lint;
pub mod model;
pub mod profile;
