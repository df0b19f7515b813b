//! Rate control: request N (a ticket, counted from 0 over all workers) may
//! start at `start + N / rate`. A worker that falls behind catches up without
//! sleeping, so the average rate holds over the run, as with telemetrygen's
//! `--rate`; without a rate every ticket may start at once.

use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy)]
pub struct Pacer {
    start: Instant,
    period: Option<Duration>,
}

impl Pacer {
    /// `rate` in requests per second (positive and finite, checked at the edge).
    pub fn new(start: Instant, rate: Option<f64>) -> Pacer {
        Pacer {
            start,
            period: rate.map(|r| Duration::from_secs_f64(1.0 / r)),
        }
    }

    /// When `ticket` may be sent; `None` for now.
    pub fn due(&self, ticket: u64) -> Option<Instant> {
        let period = self.period?;
        // Whole nanoseconds times the ticket: no float drift at the deadline
        // (tickets stay far below u32::MAX under MAX_REQUESTS).
        let n = u32::try_from(ticket).unwrap_or(u32::MAX);
        Some(self.start + period.saturating_mul(n))
    }

    /// Waits until `ticket` is due; false if that is at or past `deadline`
    /// (or the deadline has passed already), and the run is over.
    pub async fn wait_for(&self, ticket: u64, deadline: Instant) -> bool {
        match self.due(ticket) {
            Some(due) if due >= deadline => false,
            Some(due) => {
                tokio::time::sleep_until(due.into()).await;
                true
            }
            None => Instant::now() < deadline,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tickets_are_spread_evenly_over_the_second() {
        let start = Instant::now();
        let p = Pacer::new(start, Some(200.0));
        assert_eq!(p.due(0), Some(start));
        let d = p.due(100).unwrap() - start;
        assert!((d.as_secs_f64() - 0.5).abs() < 1e-6, "{d:?}");
        assert_eq!(Pacer::new(start, None).due(7), None);
    }

    #[tokio::test]
    async fn a_ticket_due_after_the_deadline_is_not_sent() {
        let start = Instant::now();
        let p = Pacer::new(start, Some(10.0));
        assert!(!p.wait_for(20, start + Duration::from_secs(1)).await);
        assert!(p.wait_for(0, start + Duration::from_secs(1)).await);
    }
}
