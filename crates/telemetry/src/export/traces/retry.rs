//! Retry with exponential backoff and jitter within a time budget, the
//! way opentelemetry-otlp retries (same policy fields, same growth, server
//! delays honoured), for our own span exporter.

use opentelemetry_otlp::RetryPolicy;
use std::future::Future;
use std::hash::BuildHasher;
use std::time::{Duration, Instant, SystemTime};

/// The fields of an opentelemetry-otlp [`RetryPolicy`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Backoff {
    pub(crate) max_retries: usize,
    pub(crate) initial_delay: Duration,
    pub(crate) max_delay: Duration,
    pub(crate) max_jitter: Duration,
}

impl Backoff {
    /// `RetryPolicy::recommended()`.
    const RECOMMENDED: Backoff = Backoff {
        max_retries: 3,
        initial_delay: Duration::from_millis(100),
        max_delay: Duration::from_millis(1600),
        max_jitter: Duration::from_millis(100),
    };
}

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

/// The fields of `policy`.
///
/// `TelemetryConfig::retry` is opentelemetry-otlp's `RetryPolicy`, whose
/// fields are private and which has no getters, only a derived `Debug`
/// (`RetryPolicy { max_retries: 3, initial_delay: 100ms, … }`). Reading
/// that is the only way to honour a policy set by callers (tests set their
/// own); should its shape ever change, the recommended policy applies and
/// the unit tests below fail.
pub(crate) fn backoff_from_policy(policy: &RetryPolicy) -> Backoff {
    parse_policy_debug(&format!("{policy:?}")).unwrap_or(Backoff::RECOMMENDED)
}

fn parse_policy_debug(text: &str) -> Option<Backoff> {
    let field = |name: &str| -> Option<&str> {
        let pattern = format!(" {name}: ");
        let start = text.find(&pattern)? + pattern.len();
        let rest = &text[start..];
        Some(&rest[..rest.find([',', ' ', '}'])?])
    };
    Some(Backoff {
        max_retries: field("max_retries")?.parse().ok()?,
        initial_delay: parse_duration_debug(field("initial_delay")?)?,
        max_delay: parse_duration_debug(field("max_delay")?)?,
        max_jitter: parse_duration_debug(field("max_jitter")?)?,
    })
}

/// Parses `Duration`'s `Debug` form: `1.6s`, `100ms`, `1.5µs`, `0ns`.
fn parse_duration_debug(s: &str) -> Option<Duration> {
    let split = s.find(|c: char| !c.is_ascii_digit() && c != '.')?;
    let (number, unit) = s.split_at(split);
    let unit_nanos: u128 = match unit {
        "s" => 1_000_000_000,
        "ms" => 1_000_000,
        "µs" => 1_000,
        "ns" => 1,
        _ => return None,
    };
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let mut nanos = whole.parse::<u128>().ok()?.checked_mul(unit_nanos)?;
    if !fraction.is_empty() {
        let scale = 10u128.checked_pow(u32::try_from(fraction.len()).ok()?)?;
        nanos += fraction.parse::<u128>().ok()? * unit_nanos / scale;
    }
    let secs = u64::try_from(nanos / 1_000_000_000).ok()?;
    Some(Duration::new(secs, (nanos % 1_000_000_000) as u32))
}

/// Runs `attempt` until it succeeds, fails for good, the policy's retries
/// are spent, or the next wait would end past `budget` (counted from the
/// first attempt). On failure returns the last error and the retries made.
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
        let step = delay
            .saturating_add(jitter(backoff.max_jitter))
            .min(backoff.max_delay);
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

    #[test]
    fn reads_every_field_of_a_retry_policy() {
        let policy = RetryPolicy::recommended()
            .with_max_retries(40)
            .with_initial_delay(Duration::from_millis(1500))
            .with_max_delay(Duration::from_nanos(2_000_000_001))
            .with_max_jitter(Duration::from_micros(1_500));
        assert_eq!(
            backoff_from_policy(&policy),
            Backoff {
                max_retries: 40,
                initial_delay: Duration::from_millis(1500),
                max_delay: Duration::from_nanos(2_000_000_001),
                max_jitter: Duration::from_micros(1_500),
            }
        );
        assert_eq!(
            backoff_from_policy(&RetryPolicy::disabled()),
            Backoff {
                max_retries: 0,
                initial_delay: Duration::ZERO,
                max_delay: Duration::ZERO,
                max_jitter: Duration::ZERO,
            }
        );
        assert_eq!(
            parse_policy_debug(&format!("{:?}", RetryPolicy::recommended())),
            Some(Backoff::RECOMMENDED)
        );
    }

    #[test]
    fn duration_debug_round_trips() {
        for d in [
            Duration::ZERO,
            Duration::from_nanos(7),
            Duration::from_nanos(1_234),
            Duration::from_micros(999),
            Duration::from_millis(100),
            Duration::from_millis(1_600),
            Duration::from_secs(25),
            Duration::new(3_600, 1),
        ] {
            assert_eq!(parse_duration_debug(&format!("{d:?}")), Some(d), "{d:?}");
        }
        assert_eq!(parse_duration_debug("12parsecs"), None);
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
