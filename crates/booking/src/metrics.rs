//! The service's own metrics (HTTP and provider-call durations come from
//! `parker-telemetry`'s layers). Attributes are bounded enums only: no ids,
//! no routes with parameters, no traveller data.

use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, Histogram};

use crate::domain::Status;

#[derive(Clone)]
pub struct Metrics {
    outcomes: Counter<u64>,
    accepted: Counter<u64>,
    lag: Histogram<f64>,
}

impl Metrics {
    /// Call after telemetry is initialised: instruments made from the
    /// global meter before that stay no-ops.
    pub fn new() -> Self {
        let meter = opentelemetry::global::meter("parker-booking");
        Metrics {
            outcomes: meter
                .u64_counter("parker.bookings.completed")
                .with_unit("{booking}")
                .with_description("Bookings that reached a final state, by outcome")
                .build(),
            accepted: meter
                .u64_counter("parker.bookings.accepted")
                .with_unit("{booking}")
                .with_description("Booking requests accepted (idempotent replays excluded)")
                .build(),
            lag: meter
                .f64_histogram("parker.booking.worker.lag")
                .with_unit("s")
                .with_description("Time from a booking falling due to a worker claiming it")
                .with_boundaries(vec![
                    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
                ])
                .build(),
        }
    }

    pub fn completed(&self, status: Status) {
        self.outcomes.add(
            1,
            &[KeyValue::new("parker.booking.outcome", status.as_str())],
        );
    }

    pub fn accepted(&self) {
        self.accepted.add(1, &[]);
    }

    pub fn lag(&self, lag: std::time::Duration) {
        self.lag.record(lag.as_secs_f64(), &[]);
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
