//! Parsers for the value syntaxes the OpenTelemetry environment spec uses
//! (booleans, milliseconds, counts, ratios, `key=value` lists, enums), each
//! turning a bad value into a [`ConfigError`] that names the variable.

use super::ConfigError;
use percent_encoding::percent_decode_str;
use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

/// The key/value source config is read from. Per the spec an empty value
/// means "unset".
#[derive(Clone, Copy)]
pub(crate) struct Source<'a>(pub &'a HashMap<String, String>);

impl<'a> Source<'a> {
    pub fn get(&self, var: &str) -> Option<&'a str> {
        self.0.get(var).map(|v| v.trim()).filter(|v| !v.is_empty())
    }

    /// The first of `vars` that is set, with its name.
    pub fn first(&self, vars: &[&str]) -> Option<(String, &'a str)> {
        vars.iter()
            .find_map(|var| self.get(var).map(|v| ((*var).to_owned(), v)))
    }

    pub fn bool(&self, var: &str, default: bool) -> Result<bool, ConfigError> {
        match self.get(var) {
            None => Ok(default),
            Some(v) => parse_bool(var, v),
        }
    }

    pub fn millis(&self, var: &str, default: Duration) -> Result<Duration, ConfigError> {
        match self.get(var) {
            None => Ok(default),
            Some(v) => parse_millis(var, v),
        }
    }

    pub fn count(&self, var: &str, default: usize) -> Result<usize, ConfigError> {
        match self.get(var) {
            None => Ok(default),
            Some(v) => match v.parse::<usize>() {
                Ok(n) if n > 0 => Ok(n),
                _ => Err(ConfigError::invalid(
                    var,
                    v,
                    "a whole number greater than 0",
                )),
            },
        }
    }
}

pub(crate) fn parse_bool(var: &str, value: &str) -> Result<bool, ConfigError> {
    if value.eq_ignore_ascii_case("true") {
        Ok(true)
    } else if value.eq_ignore_ascii_case("false") {
        Ok(false)
    } else {
        Err(ConfigError::invalid(var, value, "true or false"))
    }
}

pub(crate) fn parse_millis(var: &str, value: &str) -> Result<Duration, ConfigError> {
    value
        .parse::<u64>()
        .map(Duration::from_millis)
        .map_err(|_| ConfigError::invalid(var, value, "a whole number of milliseconds"))
}

pub(crate) fn parse_ratio(var: &str, value: &str) -> Result<f64, ConfigError> {
    match value.parse::<f64>() {
        Ok(r) if (0.0..=1.0).contains(&r) => Ok(r),
        _ => Err(ConfigError::invalid(
            var,
            value,
            "a number between 0 and 1 inclusive",
        )),
    }
}

/// Parses a `key=value,key2=value2` list (W3C baggage-like, values
/// percent-decoded). Errors come back as the 1-based entry number and what
/// is wrong, so callers can decide whether the value may be shown.
pub(crate) fn parse_pairs(value: &str) -> Result<Vec<(String, String)>, (usize, String)> {
    let mut pairs = Vec::new();
    for (index, entry) in value.split(',').enumerate() {
        let entry = entry.trim();
        if entry.is_empty() {
            continue;
        }
        let n = index + 1;
        let Some((key, val)) = entry.split_once('=') else {
            return Err((n, "has no '='".to_owned()));
        };
        let key = decode(key.trim())
            .ok_or_else(|| (n, "key is not valid percent-encoded UTF-8".to_owned()))?;
        if key.is_empty() {
            return Err((n, "has an empty key".to_owned()));
        }
        let val = decode(val.trim()).ok_or_else(|| {
            (
                n,
                format!("value of {key:?} is not valid percent-encoded UTF-8"),
            )
        })?;
        pairs.push((key, val));
    }
    Ok(pairs)
}

fn decode(s: &str) -> Option<String> {
    // A '%' not followed by two hex digits is malformed; percent_decode_str
    // would pass it through silently.
    let bytes = s.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'%' {
            let ok = bytes.len() > i + 2
                && bytes[i + 1].is_ascii_hexdigit()
                && bytes[i + 2].is_ascii_hexdigit();
            if !ok {
                return None;
            }
        }
    }
    percent_decode_str(s)
        .decode_utf8()
        .ok()
        .map(|c| c.into_owned())
}

/// HTTP header / gRPC metadata pairs. Values are credentials more often than
/// not, so `Debug` and `Display` print the key names only.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Headers(Vec<(String, String)>);

impl Headers {
    pub fn new(pairs: Vec<(String, String)>) -> Self {
        Headers(pairs)
    }
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
    pub fn get(&self, key: &str) -> Option<&str> {
        self.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Headers{self}")
    }
}

impl fmt::Display for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys: Vec<String> = self
            .0
            .iter()
            .map(|(k, _)| format!("{k}=<redacted>"))
            .collect();
        write!(f, "[{}]", keys.join(", "))
    }
}

pub(crate) fn parse_headers(var: &str, value: &str) -> Result<Headers, ConfigError> {
    let pairs = parse_pairs(value).map_err(|(n, problem)| ConfigError::InvalidSecret {
        var: var.to_owned(),
        problem: format!(
            "entry {n} {problem}; expected key=value pairs separated by commas, values percent-encoded"
        ),
    })?;
    for (n, (key, val)) in pairs.iter().enumerate() {
        if http::HeaderName::from_bytes(key.as_bytes()).is_err() {
            return Err(ConfigError::InvalidSecret {
                var: var.to_owned(),
                problem: format!("entry {}: {key:?} is not a valid header name", n + 1),
            });
        }
        if http::HeaderValue::from_str(val).is_err() {
            return Err(ConfigError::InvalidSecret {
                var: var.to_owned(),
                problem: format!(
                    "entry {}: the value of {key:?} has characters not allowed in a header",
                    n + 1
                ),
            });
        }
    }
    Ok(Headers(pairs))
}
