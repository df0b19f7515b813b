//! The result of a run: requests and spans offered, accepted, rejected
//! (partial success), refused and failed; answers by status; request
//! latency percentiles; rates. Each worker keeps its own [`Tally`] (no
//! shared lock on the hot path) and they are merged at the end.

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

use super::sender::{Answer, Outcome};

/// Latencies are kept in microseconds up to this bound, three significant
/// digits: a fixed few tens of KiB however many requests are made.
const MAX_LATENCY_US: u64 = 3_600_000_000;

#[derive(Debug, Clone)]
pub struct Tally {
    pub requests: Requests,
    pub spans: Spans,
    pub statuses: BTreeMap<String, u64>,
    latency_us: Histogram<u64>,
    pub first_failure: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct Requests {
    pub offered: u64,
    /// Accepted whole.
    pub accepted: u64,
    /// Accepted with some spans rejected (OTLP partial success).
    pub partial: u64,
    pub refused: u64,
    pub failed: u64,
}

#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct Spans {
    pub offered: u64,
    pub accepted: u64,
    /// Turned down in a partial success.
    pub rejected: u64,
    pub refused: u64,
    pub failed: u64,
}

impl Default for Tally {
    fn default() -> Tally {
        Tally {
            requests: Requests::default(),
            spans: Spans::default(),
            statuses: BTreeMap::new(),
            latency_us: Histogram::new_with_bounds(1, MAX_LATENCY_US, 3)
                .expect("1 µs ..= 1 h at 3 significant digits is a valid histogram"),
            first_failure: None,
        }
    }
}

impl Tally {
    /// Counts one request of `spans` spans that took `latency`.
    pub fn record(&mut self, answer: Answer, spans: u64, latency: Duration) {
        self.requests.offered += 1;
        self.spans.offered += spans;
        match answer.outcome {
            Outcome::Accepted { rejected } => {
                let rejected = rejected.min(spans);
                if rejected == 0 {
                    self.requests.accepted += 1;
                } else {
                    self.requests.partial += 1;
                }
                self.spans.rejected += rejected;
                self.spans.accepted += spans - rejected;
            }
            Outcome::Refused => {
                self.requests.refused += 1;
                self.spans.refused += spans;
            }
            Outcome::Failed(reason) => {
                self.requests.failed += 1;
                self.spans.failed += spans;
                self.first_failure.get_or_insert(reason);
            }
        }
        *self.statuses.entry(answer.status).or_default() += 1;
        let us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.latency_us
            .saturating_record(us.clamp(1, MAX_LATENCY_US));
    }

    pub fn merge(&mut self, other: Tally) {
        let (r, s) = (&mut self.requests, &mut self.spans);
        r.offered += other.requests.offered;
        r.accepted += other.requests.accepted;
        r.partial += other.requests.partial;
        r.refused += other.requests.refused;
        r.failed += other.requests.failed;
        s.offered += other.spans.offered;
        s.accepted += other.spans.accepted;
        s.rejected += other.spans.rejected;
        s.refused += other.spans.refused;
        s.failed += other.spans.failed;
        for (k, v) in other.statuses {
            *self.statuses.entry(k).or_default() += v;
        }
        self.latency_us
            .add(&other.latency_us)
            .expect("every tally's histogram has the same bounds");
        if self.first_failure.is_none() {
            self.first_failure = other.first_failure;
        }
    }

    /// The summary for printing, over `elapsed` of sending.
    pub fn summary(
        &self,
        target: String,
        protocol: &'static str,
        gzip: bool,
        elapsed: Duration,
    ) -> Summary {
        let secs = elapsed.as_secs_f64().max(1e-9);
        let h = &self.latency_us;
        let ms = |us: u64| us as f64 / 1000.0;
        let some = !h.is_empty();
        Summary {
            target,
            protocol,
            compression: if gzip { "gzip" } else { "none" },
            duration_s: elapsed.as_secs_f64(),
            requests: self.requests,
            spans: self.spans,
            statuses: self.statuses.clone(),
            spans_per_second: self.spans.offered as f64 / secs,
            accepted_spans_per_second: self.spans.accepted as f64 / secs,
            requests_per_second: self.requests.offered as f64 / secs,
            latency_ms: some.then(|| Latency {
                p50: ms(h.value_at_quantile(0.50)),
                p90: ms(h.value_at_quantile(0.90)),
                p99: ms(h.value_at_quantile(0.99)),
                max: ms(h.max()),
            }),
            first_failure: self.first_failure.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub target: String,
    pub protocol: &'static str,
    pub compression: &'static str,
    pub duration_s: f64,
    pub requests: Requests,
    pub spans: Spans,
    /// Answers by status (`HTTP 200`, `gRPC Unavailable`, `error: connect`).
    pub statuses: BTreeMap<String, u64>,
    /// Spans offered per second.
    pub spans_per_second: f64,
    pub accepted_spans_per_second: f64,
    pub requests_per_second: f64,
    pub latency_ms: Option<Latency>,
    pub first_failure: Option<String>,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct Latency {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

impl Summary {
    /// Every offered span was accepted.
    pub fn all_accepted(&self) -> bool {
        self.spans.accepted == self.spans.offered
    }

    pub fn render(&self) -> String {
        let r = &self.requests;
        let s = &self.spans;
        let mut out = format!(
            "target    {} ({}, compression {})\n\
             duration  {:.2} s\n\
             requests  offered {}  accepted {}  partial {}  refused {}  failed {}\n\
             spans     offered {}  accepted {}  rejected {}  refused {}  failed {}\n\
             rate      {:.0} spans/s offered, {:.0} accepted, {:.0} requests/s\n",
            self.target,
            self.protocol,
            self.compression,
            self.duration_s,
            r.offered,
            r.accepted,
            r.partial,
            r.refused,
            r.failed,
            s.offered,
            s.accepted,
            s.rejected,
            s.refused,
            s.failed,
            self.spans_per_second,
            self.accepted_spans_per_second,
            self.requests_per_second,
        );
        if let Some(l) = self.latency_ms {
            out += &format!(
                "latency   p50 {:.2} ms  p90 {:.2} ms  p99 {:.2} ms  max {:.2} ms\n",
                l.p50, l.p90, l.p99, l.max
            );
        }
        let statuses: Vec<String> = self
            .statuses
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect();
        out += &format!("status    {}\n", statuses.join(", "));
        if let Some(f) = &self.first_failure {
            out += &format!("first failure: {f}\n");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(outcome: Outcome, status: &str) -> Answer {
        Answer {
            outcome,
            status: status.into(),
        }
    }

    #[test]
    fn partial_successes_refusals_and_failures_are_counted_apart() {
        let mut a = Tally::default();
        let ms = Duration::from_millis;
        a.record(
            answer(Outcome::Accepted { rejected: 0 }, "HTTP 200"),
            10,
            ms(1),
        );
        a.record(
            answer(Outcome::Accepted { rejected: 4 }, "HTTP 200"),
            10,
            ms(2),
        );
        let mut b = Tally::default();
        b.record(answer(Outcome::Refused, "HTTP 503"), 10, ms(3));
        b.record(
            answer(Outcome::Failed("HTTP 400: bad".into()), "HTTP 400"),
            10,
            ms(100),
        );
        a.merge(b);
        let s = a.summary("t".into(), "http/json", false, Duration::from_secs(2));
        assert_eq!(
            s.requests,
            Requests {
                offered: 4,
                accepted: 1,
                partial: 1,
                refused: 1,
                failed: 1
            }
        );
        assert_eq!(
            s.spans,
            Spans {
                offered: 40,
                accepted: 16,
                rejected: 4,
                refused: 10,
                failed: 10
            }
        );
        assert_eq!(s.statuses["HTTP 200"], 2);
        assert_eq!(s.spans_per_second, 20.0);
        let l = s.latency_ms.unwrap();
        assert!(
            (l.p50 - 2.0).abs() < 0.01 && (l.max - 100.0).abs() < 0.1,
            "{l:?}"
        );
        assert_eq!(s.first_failure.as_deref(), Some("HTTP 400: bad"));
        assert!(!s.all_accepted());
    }
}
