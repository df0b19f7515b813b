//! `parker-fares`: the sandbox fare provider Parker Flight books against.
//!
//! It plays the airline/GDS API in development and tests, like a payment
//! provider's test mode: offers are a pure function of (seed, route, date,
//! currency), orders are idempotent on an `order_key` and reserve seats once,
//! and faults (errors, latency, lost responses) can be injected per request
//! (`x-parker-fault` header) or by configuration, deterministically.
//!
//! Not for: real pricing or persistence (orders live in memory).
//!
//! Start at [`app::router`] (the HTTP surface), then [`offers`] (how fares are
//! generated) and [`orders`] (the order book). [`api`] holds the wire types the
//! booking service's client shares, [`codes`] the parsed input types.

pub mod api;
pub mod app;
pub mod codes;
pub mod config;
pub mod error;
pub mod faults;
pub mod offers;
pub mod orders;
mod routes;
