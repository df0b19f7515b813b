//! The trace search's query parameters, parsed strictly: a value that does
//! not parse (or a parameter the search does not know) is an error naming
//! the parameter, never silently ignored. Empty values mean "any", as an
//! HTML form sends them.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::receive::model::any_value_text;
use crate::receive::{StoredSpan, TraceOverview};

/// The parameters a search URL may carry, in form order.
pub const PARAMS: [&str; 8] = [
    "service",
    "name",
    "attr",
    "errors",
    "min_duration",
    "last",
    "from",
    "to",
];

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// A span of this service is in the trace.
    pub service: Option<String>,
    /// A span whose name contains this text is in the trace.
    pub name: Option<String>,
    /// A span (or its events) carries this attribute with this value.
    pub attr: Option<(String, String)>,
    /// The trace has at least one span with status Error.
    pub errors: bool,
    pub min_duration: Option<Duration>,
    /// Started within this long before now.
    pub last: Option<Duration>,
    /// Started at or after (Unix nanoseconds).
    pub from: Option<u64>,
    /// Started at or before (Unix nanoseconds).
    pub to: Option<u64>,
    /// The raw values, to fill the form in again.
    pub raw: Vec<(&'static str, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    #[error("unknown search parameter {0:?} (known: {known})", known = PARAMS.join(", "))]
    Unknown(String),
    #[error("{param}={value:?}: {problem}")]
    Bad {
        param: &'static str,
        value: String,
        problem: &'static str,
    },
}

impl Filter {
    /// Parses a URL query string (`service=a&errors=on`).
    pub fn parse(query: &str) -> Result<Filter, FilterError> {
        let mut filter = Filter::default();
        for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
            let Some(&param) = PARAMS.iter().find(|p| **p == key) else {
                return Err(FilterError::Unknown(key.into_owned()));
            };
            let value = value.trim().to_owned();
            if value.is_empty() {
                continue;
            }
            let bad = |problem| FilterError::Bad {
                param,
                value: value.clone(),
                problem,
            };
            match param {
                "service" => filter.service = Some(value.clone()),
                "name" => filter.name = Some(value.clone()),
                "attr" => {
                    let (k, v) = value
                        .split_once('=')
                        .filter(|(k, _)| !k.trim().is_empty())
                        .ok_or_else(|| {
                            bad("expected key=value, e.g. http.response.status_code=500")
                        })?;
                    filter.attr = Some((k.trim().to_owned(), v.trim().to_owned()));
                }
                "errors" => {
                    filter.errors = match value.as_str() {
                        "on" | "1" | "true" => true,
                        "0" | "false" => false,
                        _ => return Err(bad("expected on, true, 1, false or 0")),
                    }
                }
                "min_duration" => {
                    filter.min_duration = Some(
                        humantime::parse_duration(&value)
                            .map_err(|_| bad("expected a duration, e.g. 250ms or 2s"))?,
                    )
                }
                "last" => {
                    filter.last = Some(
                        humantime::parse_duration(&value)
                            .map_err(|_| bad("expected a duration, e.g. 5m or 1h"))?,
                    )
                }
                "from" | "to" => {
                    let at = humantime::parse_rfc3339_weak(&value)
                        .map_err(|_| bad("expected a UTC time, e.g. 2026-12-07T01:30:00Z"))?;
                    let ns = at
                        .duration_since(UNIX_EPOCH)
                        .map_err(|_| bad("before 1970"))?
                        .as_nanos() as u64;
                    if param == "from" {
                        filter.from = Some(ns);
                    } else {
                        filter.to = Some(ns);
                    }
                }
                _ => unreachable!("every name in PARAMS is handled"),
            }
            filter.raw.push((param, value));
        }
        if let (Some(from), Some(to)) = (filter.from, filter.to)
            && from > to
        {
            let value = filter.value("to").to_owned();
            return Err(FilterError::Bad {
                param: "to",
                value,
                problem: "is before from",
            });
        }
        Ok(filter)
    }

    /// The raw value of `param` ("" when not given).
    pub fn value(&self, param: &str) -> &str {
        self.raw
            .iter()
            .find(|(p, _)| *p == param)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }

    /// The query string that reproduces this filter.
    pub fn query(&self) -> String {
        let mut out = url::form_urlencoded::Serializer::new(String::new());
        for (param, value) in &self.raw {
            out.append_pair(param, value);
        }
        out.finish()
    }

    /// Whether the per-span filters need the trace's spans decoded.
    fn needs_spans(&self) -> bool {
        self.name.is_some() || self.attr.is_some()
    }

    /// Whether `trace` matches; `spans` loads its spans when a filter
    /// needs them (name, attribute).
    pub fn matches(
        &self,
        trace: &TraceOverview,
        now: SystemTime,
        spans: impl FnOnce() -> Option<Vec<StoredSpan>>,
    ) -> bool {
        let duration = trace.end_unix_nano.saturating_sub(trace.start_unix_nano);
        let now_ns = now
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos() as u64;
        let overview_ok = self
            .service
            .as_deref()
            .is_none_or(|s| trace.services.iter().any(|t| &**t == s))
            && (!self.errors || trace.error_count > 0)
            && self
                .min_duration
                .is_none_or(|d| u128::from(duration) >= d.as_nanos())
            && self.last.is_none_or(|d| {
                trace.start_unix_nano >= now_ns.saturating_sub(d.as_nanos() as u64)
            })
            && self.from.is_none_or(|f| trace.start_unix_nano >= f)
            && self.to.is_none_or(|t| trace.start_unix_nano <= t);
        if !overview_ok || !self.needs_spans() {
            return overview_ok;
        }
        let Some(spans) = spans() else {
            return false;
        };
        let decoded: Vec<_> = spans.iter().map(StoredSpan::span).collect();
        let name_ok = self
            .name
            .as_deref()
            .is_none_or(|n| decoded.iter().any(|s| s.name.contains(n)));
        let attr_ok = self.attr.as_ref().is_none_or(|(key, value)| {
            decoded.iter().any(|s| {
                s.attributes
                    .iter()
                    .chain(s.events.iter().flat_map(|e| &e.attributes))
                    .any(|kv| {
                        kv.key == *key
                            && kv.value.as_ref().map(any_value_text).as_deref() == Some(value)
                    })
            })
        });
        name_ok && attr_ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_parameter_and_keeps_the_form_values() {
        let f = Filter::parse(
            "service=parker-booking&name=POST&attr=http.response.status_code%3D503&errors=on\
             &min_duration=250ms&last=5m&from=2026-12-07T01:00:00Z&to=2026-12-07T02:00:00Z",
        )
        .unwrap();
        assert_eq!(f.service.as_deref(), Some("parker-booking"));
        assert_eq!(f.name.as_deref(), Some("POST"));
        assert_eq!(
            f.attr,
            Some(("http.response.status_code".into(), "503".into()))
        );
        assert!(f.errors);
        assert_eq!(f.min_duration, Some(Duration::from_millis(250)));
        assert_eq!(f.last, Some(Duration::from_secs(300)));
        assert_eq!(f.to.unwrap() - f.from.unwrap(), 3_600_000_000_000);
        assert_eq!(Filter::parse(&f.query()).unwrap(), f);
    }

    #[test]
    fn empty_values_mean_any() {
        let f = Filter::parse("service=&name=&errors=&min_duration=").unwrap();
        assert_eq!(f, Filter::default());
    }

    #[test]
    fn bad_values_name_the_parameter() {
        for (query, param) in [
            ("min_duration=fast", "min_duration="),
            ("attr=novalue", "attr="),
            ("errors=maybe", "errors="),
            ("from=yesterday", "from="),
            ("last=-1", "last="),
            ("from=2026-12-07T02:00:00Z&to=2026-12-07T01:00:00Z", "to="),
        ] {
            let err = Filter::parse(query).unwrap_err().to_string();
            assert!(err.starts_with(param), "{query}: {err}");
        }
        let err = Filter::parse("colour=red").unwrap_err().to_string();
        assert!(err.contains("\"colour\""), "{err}");
    }
}
