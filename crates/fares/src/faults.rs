//! Fault injection: what makes the sandbox useful for testing a client's
//! retries and idempotency. Faults come from the `x-parker-fault` request
//! header (one request) or from configuration (rates applied to every
//! request, deterministic for a seed so a failing run can be replayed).

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use http::{HeaderMap, StatusCode};

use crate::api::FAULT_HEADER;
use crate::offers::{mix, stable_hash};

/// A probability in `[0, 1]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate(f64);

impl Rate {
    pub const NEVER: Rate = Rate(0.0);
    /// True for about `rate` of the draws; `draw` is a uniformly spread hash.
    fn hits(&self, draw: u64) -> bool {
        (draw as f64 / u64::MAX as f64) < self.0
    }
}

impl Default for Rate {
    fn default() -> Self {
        Rate::NEVER
    }
}

impl FromStr for Rate {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.parse::<f64>() {
            Ok(r) if (0.0..=1.0).contains(&r) => Ok(Rate(r)),
            _ => Err(format!(
                "{s:?} is not a rate: expected a number from 0 to 1, e.g. 0.2"
            )),
        }
    }
}

/// Faults applied to every request, from configuration.
#[derive(Debug, Clone, Default)]
pub struct FaultConfig {
    pub seed: u64,
    /// Share of requests answered `503` before doing anything.
    pub error_rate: Rate,
    /// Share of new orders that are committed but answered `503`, as if the
    /// response had been lost: only idempotency keeps the client from
    /// ordering twice.
    pub lost_response_rate: Rate,
    /// Every order key's first N `POST /v1/orders` are answered `503`.
    pub fail_first_orders: u32,
    /// Added to every request.
    pub latency: Duration,
}

/// What to do to one request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Decision {
    pub delay: Duration,
    pub fail: Option<StatusCode>,
    pub lose_response: bool,
}

#[derive(Debug, thiserror::Error, PartialEq)]
#[error(
    "{FAULT_HEADER} directive {0:?} is not understood: expected fail-<4xx|5xx status>, slow-ms=<n> or lose-response"
)]
pub struct DirectiveError(String);

/// Parses the header's comma-separated directives into a decision.
pub fn parse_directives(header: &str) -> Result<Decision, DirectiveError> {
    let mut decision = Decision::default();
    for directive in header.split(',').map(str::trim).filter(|d| !d.is_empty()) {
        let bad = || DirectiveError(directive.to_owned());
        if let Some(code) = directive.strip_prefix("fail-") {
            let status = code
                .parse::<u16>()
                .ok()
                .and_then(|c| StatusCode::from_u16(c).ok())
                .filter(|s| s.is_client_error() || s.is_server_error())
                .ok_or_else(bad)?;
            decision.fail = Some(status);
        } else if let Some(ms) = directive.strip_prefix("slow-ms=") {
            // Capped so a header cannot park a connection for long.
            let ms = ms.parse::<u64>().ok().filter(|ms| *ms <= 30_000);
            decision.delay += Duration::from_millis(ms.ok_or_else(bad)?);
        } else if directive == "lose-response" {
            decision.lose_response = true;
        } else {
            return Err(bad());
        }
    }
    Ok(decision)
}

/// Applies the header and the configured rates.
pub struct Faults {
    config: FaultConfig,
    requests: AtomicU64,
    order_attempts: Mutex<HashMap<String, u32>>,
}

impl Faults {
    pub fn new(config: FaultConfig) -> Self {
        Faults {
            config,
            requests: AtomicU64::new(0),
            order_attempts: Mutex::new(HashMap::new()),
        }
    }

    /// The decision for a request: the header's directives, then the
    /// configured latency and error rate (drawn from a request counter
    /// hashed with the seed, so the same sequence replays the same faults).
    pub fn decide(&self, headers: &HeaderMap) -> Result<Decision, DirectiveError> {
        let mut decision = match headers.get(FAULT_HEADER) {
            Some(v) => parse_directives(
                v.to_str()
                    .map_err(|_| DirectiveError(String::from_utf8_lossy(v.as_bytes()).into()))?,
            )?,
            None => Decision::default(),
        };
        decision.delay += self.config.latency;
        let n = self.requests.fetch_add(1, Ordering::Relaxed);
        let draw = mix(self.config.seed ^ n.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        if decision.fail.is_none() && self.config.error_rate.hits(draw) {
            decision.fail = Some(StatusCode::SERVICE_UNAVAILABLE);
        }
        Ok(decision)
    }

    /// Order-specific faults: the first N attempts of every order key fail,
    /// and a share of new orders lose their response.
    pub fn decide_order(&self, decision: &mut Decision, order_key: &str) {
        let attempt = {
            let mut attempts = self
                .order_attempts
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            let n = attempts.entry(order_key.to_owned()).or_default();
            *n += 1;
            *n
        };
        if decision.fail.is_none() && attempt <= self.config.fail_first_orders {
            decision.fail = Some(StatusCode::SERVICE_UNAVAILABLE);
        }
        let draw = stable_hash(self.config.seed, &[order_key.as_bytes()]);
        if self.config.lost_response_rate.hits(draw) && attempt <= self.config.fail_first_orders + 1
        {
            decision.lose_response = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_directives_combine() {
        let d = parse_directives("fail-503, slow-ms=20,slow-ms=5").unwrap();
        assert_eq!(d.fail, Some(StatusCode::SERVICE_UNAVAILABLE));
        assert_eq!(d.delay, Duration::from_millis(25));
        assert!(parse_directives("lose-response").unwrap().lose_response);
    }

    #[test]
    fn unknown_or_out_of_range_directives_are_named() {
        for bad in ["explode", "fail-200", "fail-abc", "slow-ms=99999999"] {
            let err = parse_directives(bad).unwrap_err().to_string();
            assert!(err.contains(bad), "{err}");
        }
    }

    #[test]
    fn error_rate_is_deterministic_for_a_seed() {
        let run = |seed| {
            let faults = Faults::new(FaultConfig {
                seed,
                error_rate: "0.5".parse().unwrap(),
                ..FaultConfig::default()
            });
            (0..64)
                .map(|_| faults.decide(&HeaderMap::new()).unwrap().fail.is_some())
                .collect::<Vec<_>>()
        };
        let first = run(9);
        assert_eq!(first, run(9));
        let failures = first.iter().filter(|f| **f).count();
        assert!((16..=48).contains(&failures), "{failures} of 64 failed");
    }

    #[test]
    fn first_order_attempts_fail_then_succeed() {
        let faults = Faults::new(FaultConfig {
            fail_first_orders: 2,
            ..FaultConfig::default()
        });
        let outcomes: Vec<_> = (0..3)
            .map(|_| {
                let mut d = Decision::default();
                faults.decide_order(&mut d, "key");
                d.fail
            })
            .collect();
        assert_eq!(
            outcomes,
            [
                Some(StatusCode::SERVICE_UNAVAILABLE),
                Some(StatusCode::SERVICE_UNAVAILABLE),
                None
            ]
        );
        assert!("1.5".parse::<Rate>().is_err());
    }
}
