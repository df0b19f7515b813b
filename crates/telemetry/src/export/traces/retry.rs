//! Retry with exponential backoff and jitter within a time budget, the
//! way opentelemetry-otlp retries (same policy fields, same growth, server
//! delays honoured), for our own span exporter.

use std::future::Future;
use std::hash::BuildHasher;
use std::time::{Duration, Instant, SystemTime};

/// The policy, as configured.
pub(crate) type Backoff = crate::config::RetryConfig;

/// What to do after a failed attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Not retryable: the batch is lost.
    Fatal,
    /// Retry after the next backoff step.
    Retry,
    /// Retry, waiting at least this long (Retry-After, RetryInfo).
    After(Duration),
}

/// Runs `attempt` until it succeeds, fails for good, the policy's retries
/// are spent (by default never: `RetryConfig::default`), or the next wait
/// would end past `budget` (counted from the first attempt). On failure
/// returns the last error and the retries made.
pub(crate) async fn with_backoff<T, E, F, Fut>(
    backoff: &Backoff,
    budget: Duration,
    classify: impl Fn(&E) -> Verdict,
    mut attempt: F,
) -> Result<T, (E, usize)>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let start = Instant::now();
    let mut delay = backoff.initial_delay;
    let mut retries = 0;
    loop {
        let error = match attempt().await {
            Ok(value) => return Ok(value),
            Err(error) => error,
        };
        // Jitter on top of the capped delay, so that exporters that failed
        // together stay apart even once their backoff has reached the cap.
        let step = delay
            .min(backoff.max_delay)
            .saturating_add(jitter(backoff.max_jitter));
        let wait = match classify(&error) {
            Verdict::Fatal => return Err((error, retries)),
            _ if retries >= backoff.max_retries => return Err((error, retries)),
            Verdict::Retry => step,
            Verdict::After(server) => server.max(step),
        };
        if start.elapsed().saturating_add(wait) >= budget {
            return Err((error, retries));
        }
        tokio::time::sleep(wait).await;
        retries += 1;
        delay = delay.saturating_mul(2).min(backoff.max_delay);
    }
}

/// A random duration in `0..=max`, so exporters that failed together do
/// not retry in lockstep. `RandomState` is randomly keyed per instance.
fn jitter(max: Duration) -> Duration {
    let max_nanos = u64::try_from(max.as_nanos()).unwrap_or(u64::MAX);
    if max_nanos == 0 {
        return Duration::ZERO;
    }
    let random = std::hash::RandomState::new().hash_one(Instant::now());
    Duration::from_nanos(random % max_nanos.saturating_add(1))
}

/// `Retry-After`: delay-seconds or an HTTP-date (a date in the past means
/// now).
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(
        at.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The default policy stops at the budget, not after a few retries,
    /// and its waits double from 100 ms to the 2 s cap, plus jitter.
    #[tokio::test]
    async fn the_default_policy_retries_until_the_budget_with_capped_backoff() {
        let policy = Backoff::default();
        let budget = Duration::from_secs(6);
        let started = Instant::now();
        let attempts = std::sync::Mutex::new(Vec::new());
        let outcome: Result<(), ((), usize)> = with_backoff(
            &policy,
            budget,
            |_: &()| Verdict::Retry,
            || {
                attempts.lock().expect("lock").push(started.elapsed());
                async { Err(()) }
            },
        )
        .await;
        let elapsed = started.elapsed();
        let attempts = attempts.into_inner().expect("lock");
        let retries = outcome.expect_err("never succeeds").1;
        assert_eq!(retries + 1, attempts.len());
        // 0.1 + 0.2 + 0.4 + 0.8 + 1.6 + 2 s of waits (and jitter) fit in 6 s.
        assert!(retries >= 5, "only {retries} retries within {budget:?}");
        assert!(elapsed < budget, "{elapsed:?}");
        let gaps: Vec<Duration> = attempts.windows(2).map(|w| w[1] - w[0]).collect();
        for (i, gap) in gaps.iter().enumerate() {
            let floor = (policy.initial_delay * 2u32.pow(i as u32)).min(policy.max_delay);
            let ceiling = floor + policy.max_jitter + Duration::from_millis(200);
            assert!(
                *gap >= floor && *gap <= ceiling,
                "wait {i}: {gap:?} outside {floor:?}..{ceiling:?} ({gaps:?})"
            );
        }
    }

    #[test]
    fn retry_after_takes_seconds_or_an_http_date() {
        assert_eq!(parse_retry_after(" 2 "), Some(Duration::from_secs(2)));
        let in_a_minute = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(60));
        let d = parse_retry_after(&in_a_minute).expect("HTTP-date");
        assert!(
            d > Duration::from_secs(55) && d <= Duration::from_secs(60),
            "{d:?}"
        );
        assert_eq!(
            parse_retry_after("Fri, 31 Dec 1999 23:59:59 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
    }
}
