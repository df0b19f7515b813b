//! Command line and environment configuration of the `parker-fares` binary.
//! Every flag can also be set through its `PARKER_*` variable.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;

use crate::faults::{FaultConfig, Rate};

#[derive(Debug, Clone, Parser)]
#[command(
    name = "parker-fares",
    version,
    about = "Sandbox fare provider for Parker Flight"
)]
pub struct Config {
    /// Address to listen on.
    #[arg(long, env = "PARKER_LISTEN", default_value = "127.0.0.1:8081")]
    pub listen: SocketAddr,
    /// Seed of the offer generator and of fault draws.
    #[arg(long, env = "PARKER_FARES_SEED", default_value_t = 42)]
    pub seed: u64,
    /// Share of requests answered 503 (0 to 1).
    #[arg(long, env = "PARKER_FARES_ERROR_RATE", default_value = "0")]
    pub error_rate: Rate,
    /// Share of new orders committed but answered 503, as if the response was lost.
    #[arg(long, env = "PARKER_FARES_LOST_RESPONSE_RATE", default_value = "0")]
    pub lost_response_rate: Rate,
    /// Answer 503 to the first N order attempts of every order key.
    #[arg(long, env = "PARKER_FARES_FAIL_FIRST_ORDERS", default_value_t = 0)]
    pub fail_first_orders: u32,
    /// Latency added to every request, in milliseconds.
    #[arg(long, env = "PARKER_FARES_LATENCY_MS", default_value_t = 0)]
    pub latency_ms: u64,
}

impl Config {
    pub fn faults(&self) -> FaultConfig {
        FaultConfig {
            seed: self.seed,
            error_rate: self.error_rate,
            lost_response_rate: self.lost_response_rate,
            fail_first_orders: self.fail_first_orders,
            latency: Duration::from_millis(self.latency_ms),
        }
    }
}
