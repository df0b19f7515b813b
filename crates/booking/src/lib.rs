//! `parker-booking`: Parker Flight's auto-booking service.
//!
//! A traveller posts terms (route, date window, maximum price, cabin,
//! passengers); the API stores them durably and answers 202; the worker
//! searches the fare provider until an offer meets the terms, orders it
//! (idempotently, keyed by the booking id), confirms it, and records the
//! outcome. Any number of replicas can share one Redis.
//!
//! Not for: fares themselves (`parker-fares`), telemetry plumbing
//! (`parker-telemetry`; this crate only uses it).
//!
//! Start at [`service::run`] (wiring), then [`routes`] (HTTP API),
//! [`worker`] (the booking state machine) and [`store`] (storage and
//! leases). [`domain`] holds the parsed input types.

pub mod config;
pub mod domain;
pub mod error;
pub mod fares;
pub mod metrics;
pub mod routes;
pub mod service;
pub mod state;
pub mod store;
pub mod worker;
