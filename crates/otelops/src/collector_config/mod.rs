//! Collector configuration: the one reader of a config file (`file`, over the
//! positioned YAML tree of `document`), memory_limiter's limits (`memory`),
//! the typed model and the deployment profiles rendered from it (`emit`
//! writes the YAML; `sampling` holds their tail-sampling policies), and `lint`, which checks any configuration file the way
//! `otelcol validate` does plus the operations guide's practices.

pub mod components;
pub mod debug;
pub mod document;
pub mod emit;
pub mod file;
pub mod lint;
pub mod memory;
pub mod model;
pub mod pii;
pub mod profile;
pub mod sampling;
