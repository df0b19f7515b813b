//! `traceparent` and `tracestate` as the W3C Trace Context grammar defines
//! them (section 3.2 and 3.3), parsed once into types; `tracestate` by the
//! rules of the level being checked.

use std::fmt;

use super::SpecLevel;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceParent {
    pub version: u8,
    pub trace_id: [u8; 16],
    pub parent_id: [u8; 8],
    pub flags: u8,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TraceParentError {
    #[error("contains non-ASCII characters")]
    NotAscii,
    #[error("too short ({0} characters; version 00 has 55)")]
    TooShort(usize),
    #[error("version 00 must be exactly 55 characters, found {0}")]
    Version00Length(usize),
    #[error("version `ff` is forbidden")]
    VersionFf,
    #[error("{field} `{value}` is not {len} lowercase hex digits")]
    NotLowerHex {
        field: &'static str,
        value: String,
        len: usize,
    },
    #[error("expected `-` after the {0}")]
    MissingDash(&'static str),
    #[error("{0} is all zeros")]
    AllZero(&'static str),
    #[error("data after the flags of a future version must start with `-`")]
    FutureVersionSuffix,
}

impl TraceParent {
    /// Parses a received header value; optional whitespace around it is allowed.
    pub fn parse(header: &str) -> Result<TraceParent, TraceParentError> {
        let text = header.trim_matches([' ', '\t']);
        if !text.is_ascii() {
            return Err(TraceParentError::NotAscii);
        }
        if text.len() < 55 {
            return Err(TraceParentError::TooShort(text.len()));
        }
        let version = lower_hex::<1>("version", &text[..2])?[0];
        if version == 0xff {
            return Err(TraceParentError::VersionFf);
        }
        if version == 0 && text.len() != 55 {
            return Err(TraceParentError::Version00Length(text.len()));
        }
        // A future version may append fields, each introduced by `-`.
        if text.len() > 55 && !text[55..].starts_with('-') {
            return Err(TraceParentError::FutureVersionSuffix);
        }
        let dash = |at: usize, after| {
            (text.as_bytes()[at] == b'-')
                .then_some(())
                .ok_or(TraceParentError::MissingDash(after))
        };
        dash(2, "version")?;
        let trace_id = lower_hex::<16>("trace-id", &text[3..35])?;
        dash(35, "trace-id")?;
        let parent_id = lower_hex::<8>("parent-id", &text[36..52])?;
        dash(52, "parent-id")?;
        let flags = lower_hex::<1>("trace-flags", &text[53..55])?[0];
        if trace_id == [0; 16] {
            return Err(TraceParentError::AllZero("trace-id"));
        }
        if parent_id == [0; 8] {
            return Err(TraceParentError::AllZero("parent-id"));
        }
        Ok(TraceParent {
            version,
            trace_id,
            parent_id,
            flags,
        })
    }

    pub fn trace_id_hex(&self) -> String {
        hex(&self.trace_id)
    }
}

impl fmt::Display for TraceParent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:02x}-{}-{}-{:02x}",
            self.version,
            hex(&self.trace_id),
            hex(&self.parent_id),
            self.flags
        )
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Exactly `N * 2` lowercase hex digits (the text may hold any characters;
/// slicing by byte offset is safe because only ASCII is accepted).
fn lower_hex<const N: usize>(field: &'static str, text: &str) -> Result<[u8; N], TraceParentError> {
    let error = || TraceParentError::NotLowerHex {
        field,
        value: text.to_owned(),
        len: N * 2,
    };
    let digits = text.as_bytes();
    if digits.len() != N * 2
        || !digits
            .iter()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return Err(error());
    }
    let mut out = [0u8; N];
    for (i, pair) in digits.chunks(2).enumerate() {
        let text = std::str::from_utf8(pair).map_err(|_| error())?;
        out[i] = u8::from_str_radix(text, 16).map_err(|_| error())?;
    }
    Ok(out)
}

/// The list members of a `tracestate`, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TraceState {
    members: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TraceStateError {
    #[error("member `{0}` is not key=value")]
    NotKeyValue(String),
    #[error("key `{key}` breaks the {level} key grammar ({})", level.key_grammar())]
    BadKey { key: String, level: SpecLevel },
    #[error(
        "value of `{0}` breaks the value grammar (printable ASCII without `,` `=`, 1-256 chars, no trailing space)"
    )]
    BadValue(String),
    #[error("key `{0}` appears more than once")]
    DuplicateKey(String),
    #[error("{0} list members; at most 32 are allowed")]
    TooManyMembers(usize),
}

impl TraceState {
    /// Parses all `tracestate` header lines as one list (the spec combines
    /// repeated headers with `,`). No header is an empty state. A repeated
    /// key is invalid at Level 1; Level 2 allows it (a receiver may keep the
    /// entries or all but one), so it stays in the list.
    pub fn parse_headers(
        values: &[String],
        level: SpecLevel,
    ) -> Result<TraceState, TraceStateError> {
        let mut members: Vec<(String, String)> = Vec::new();
        for member in values.iter().flat_map(|v| v.split(',')) {
            let member = member.trim_matches([' ', '\t']);
            if member.is_empty() {
                continue;
            }
            let (key, value) = member
                .split_once('=')
                .ok_or_else(|| TraceStateError::NotKeyValue(member.to_owned()))?;
            if !valid_key(key, level) {
                return Err(TraceStateError::BadKey {
                    key: key.to_owned(),
                    level,
                });
            }
            if !valid_value(value) {
                return Err(TraceStateError::BadValue(key.to_owned()));
            }
            if level == SpecLevel::One && members.iter().any(|(k, _)| k == key) {
                return Err(TraceStateError::DuplicateKey(key.to_owned()));
            }
            members.push((key.to_owned(), value.to_owned()));
        }
        if members.len() > 32 {
            return Err(TraceStateError::TooManyMembers(members.len()));
        }
        Ok(TraceState { members })
    }

    pub fn len(&self) -> usize {
        self.members.len()
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// The value of the first (left-most) entry of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.members
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// True when `expected` appear in this state in the same relative order.
    pub fn contains_in_order(&self, expected: &[(String, String)]) -> bool {
        let mut rest = self.members.iter();
        expected
            .iter()
            .all(|wanted| rest.by_ref().any(|member| member == wanted))
    }
}

impl fmt::Display for TraceState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let members: Vec<String> = self
            .members
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        write!(f, "{}", members.join(","))
    }
}

fn key_char(c: u8) -> bool {
    matches!(c, b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-' | b'*' | b'/')
}

/// Level 1: `simple-key = lcalpha 0*255(keychar)`;
/// `multi-tenant-key = tenant-id "@" system-id`, tenant `(lcalpha/DIGIT) 0*240(keychar)`,
/// system `lcalpha 0*13(keychar)`.
/// Level 2: `key = (lcalpha / DIGIT) 0*255(keychar / "@")`.
fn valid_key(key: &str, level: SpecLevel) -> bool {
    let bytes = key.as_bytes();
    let part = |p: &[u8], first_digit_ok: bool, max_rest: usize, at_ok: bool| {
        let Some((first, rest)) = p.split_first() else {
            return false;
        };
        (first.is_ascii_lowercase() || first_digit_ok && first.is_ascii_digit())
            && rest.len() <= max_rest
            && rest.iter().all(|&c| key_char(c) || at_ok && c == b'@')
    };
    match level {
        SpecLevel::Two => part(bytes, true, 255, true),
        SpecLevel::One => match key.split_once('@') {
            None => part(bytes, false, 255, false),
            Some((tenant, system)) => {
                part(tenant.as_bytes(), true, 240, false)
                    && part(system.as_bytes(), false, 13, false)
            }
        },
    }
}

/// `value = 0*255(chr) nblk-chr`, `nblk-chr = %x21-2B / %x2D-3C / %x3E-7E`, `chr = %x20 / nblk-chr`.
fn valid_value(value: &str) -> bool {
    let nblk = |c: u8| matches!(c, 0x21..=0x2b | 0x2d..=0x3c | 0x3e..=0x7e);
    let bytes = value.as_bytes();
    match bytes.split_last() {
        Some((&last, rest)) => {
            bytes.len() <= 256 && nblk(last) && rest.iter().all(|&c| c == b' ' || nblk(c))
        }
        None => false,
    }
}
