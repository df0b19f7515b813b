//! Values that look like personal data (rule `semconv.personal-data`): an
//! e-mail address, a payment card number or a phone number in a span name,
//! an attribute, an event, a log body or a metric label. Telemetry is kept
//! longer and read by more people than the booking store, so the services
//! must not put such values there (booking ids and IATA codes are fine);
//! the staging and production collector profiles mask them again
//! (docs/pipeline.md).
//!
//! A finding names where the value is and what it looks like, and shows the
//! value masked: the check's own output must not spread what it found.

use std::ops::Range;

/// What a value looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Email,
    Card,
    Phone,
}

impl Kind {
    pub fn describe(self) -> &'static str {
        match self {
            Kind::Email => "an e-mail address",
            Kind::Card => "a payment card number",
            Kind::Phone => "a phone number",
        }
    }
}

/// The first personal-data-like part of `text`, and that part masked.
pub fn find(text: &str) -> Option<(Kind, String)> {
    locate(text).map(|(kind, _, masked)| (kind, masked))
}

/// `text` with every personal-data-like part masked (for span names and
/// messages a finding repeats).
pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some((_, range, masked)) = locate(rest) {
        out.push_str(&rest[..range.start]);
        out.push_str(&masked);
        rest = &rest[range.end..];
    }
    out.push_str(rest);
    out
}

type Found = (Kind, Range<usize>, String);

/// The earliest match of any kind in `text`.
fn locate(text: &str) -> Option<Found> {
    let found = [
        email(text).map(|r| (Kind::Email, r.clone(), mask_email(&text[r]))),
        card(text).map(|(r, digits)| (Kind::Card, r, mask_digits(&digits, 4))),
        phone(text).map(|(r, digits)| (Kind::Phone, r, format!("+{}", mask_digits(&digits, 2)))),
    ];
    found.into_iter().flatten().min_by_key(|(_, r, _)| r.start)
}

fn is_local(c: char) -> bool {
    c.is_ascii_alphanumeric() || "._%+-".contains(c)
}

fn is_domain(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '.' || c == '-'
}

/// `local@domain.tld` with a letters-only top-level domain of 2+ letters.
fn email(text: &str) -> Option<Range<usize>> {
    for (at, _) in text.match_indices('@') {
        let local_start = text[..at]
            .char_indices()
            .rev()
            .take_while(|(_, c)| is_local(*c))
            .last()
            .map(|(i, _)| i)?;
        let after = &text[at + 1..];
        let domain_len = after.find(|c| !is_domain(c)).unwrap_or(after.len());
        let domain = after[..domain_len].trim_end_matches(['.', '-']);
        let Some((host, tld)) = domain.rsplit_once('.') else {
            continue;
        };
        if !host.is_empty() && tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic()) {
            return Some(local_start..at + 1 + domain.len());
        }
    }
    None
}

/// Runs of digits joined by single separators from `seps`, as digit strings.
fn digit_runs(text: &str, seps: &str) -> Vec<(Range<usize>, String)> {
    let mut runs = Vec::new();
    let mut current = String::new();
    let mut start = 0;
    let mut end = 0;
    let mut last_was_sep = false;
    for (i, c) in text.char_indices() {
        if c.is_ascii_digit() {
            if current.is_empty() {
                start = i;
            }
            current.push(c);
            end = i + 1;
            last_was_sep = false;
        } else if seps.contains(c) && !current.is_empty() && !last_was_sep {
            last_was_sep = true;
        } else {
            if !current.is_empty() {
                runs.push((start..end, std::mem::take(&mut current)));
            }
            last_was_sep = false;
        }
    }
    if !current.is_empty() {
        runs.push((start..end, current));
    }
    runs
}

/// 13–19 digits (spaces or dashes between groups allowed) that pass the Luhn
/// check and start like a card network's numbers (2–6), not alone in a word
/// of letters and digits. The first digit rule keeps nanosecond timestamps
/// (17… for this century) out.
fn card(text: &str) -> Option<(Range<usize>, String)> {
    digit_runs(text, " -")
        .into_iter()
        .find_map(|(range, digits)| {
            let glued = text[..range.start]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_ascii_alphanumeric());
            ((13..=19).contains(&digits.len())
                && !glued
                && matches!(digits.as_bytes()[0], b'2'..=b'6')
                && luhn(&digits))
            .then_some((range, digits))
        })
}

fn luhn(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let d2 = d * 2;
                if d2 > 9 { d2 - 9 } else { d2 }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// E.164-ish: `+`, then 8–15 digits, optionally grouped by spaces, dashes,
/// dots or parentheses.
fn phone(text: &str) -> Option<(Range<usize>, String)> {
    text.match_indices('+').find_map(|(plus, _)| {
        let rest = &text[plus + 1..];
        let end = rest
            .find(|c: char| !(c.is_ascii_digit() || " -.()".contains(c)))
            .unwrap_or(rest.len());
        let candidate = rest[..end].trim_end_matches(|c: char| !c.is_ascii_digit());
        if !candidate.starts_with(|c: char| c.is_ascii_digit() || c == '(') {
            return None;
        }
        let digits: String = candidate.chars().filter(char::is_ascii_digit).collect();
        (8..=15)
            .contains(&digits.len())
            .then(|| (plus..plus + 1 + candidate.len(), digits))
    })
}

/// `a***@e***.com`: the first letter of each part and the top-level domain.
fn mask_email(email: &str) -> String {
    let (local, domain) = email.split_once('@').unwrap_or((email, ""));
    let tld = domain.rsplit_once('.').map(|(_, t)| t).unwrap_or_default();
    let first = |s: &str| s.chars().next().map(String::from).unwrap_or_default();
    format!("{}***@{}***.{tld}", first(local), first(domain))
}

/// All but the last `keep` digits as `*`.
fn mask_digits(digits: &str, keep: usize) -> String {
    let hidden = digits.len().saturating_sub(keep);
    "*".repeat(hidden) + &digits[hidden..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_and_masks_emails_cards_and_phones() {
        assert_eq!(
            find("sent to ann.lee@example.com today"),
            Some((Kind::Email, "a***@e***.com".into()))
        );
        assert_eq!(
            find("card 4111 1111 1111 1111"),
            Some((Kind::Card, "************1111".into()))
        );
        assert_eq!(
            find("4111-1111-1111-1111"),
            Some((Kind::Card, "************1111".into()))
        );
        assert_eq!(
            find("call +44 20 7946 0958"),
            Some((Kind::Phone, "+**********58".into()))
        );
        assert_eq!(
            find("+1 (415) 555-0100"),
            Some((Kind::Phone, "+*********00".into()))
        );
    }

    #[test]
    fn leaves_ordinary_telemetry_alone() {
        for fine in [
            "POST /v1/bookings",
            "bk_01HZX3Q7",
            "LHR",
            "1764086400000000000", // a timestamp, Luhn or not
            "4111 1111 1111 1112", // fails Luhn
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "redis://127.0.0.1:6379/0",
            "user@localhost", // no top-level domain
            "a+b = 3",
            "v1.2.3+build.20261207",
            "412.5",
            "+5",
        ] {
            assert_eq!(find(fine), None, "{fine:?}");
        }
    }

    #[test]
    fn redact_masks_every_occurrence_and_keeps_the_rest() {
        assert_eq!(
            redact("lookup ann@example.com and bob@example.org, card 4111 1111 1111 1111."),
            "lookup a***@e***.com and b***@e***.org, card ************1111."
        );
        assert_eq!(redact("POST /v1/bookings"), "POST /v1/bookings");
    }

    #[test]
    fn luhn_matches_known_numbers() {
        assert!(luhn("4111111111111111"));
        assert!(luhn("5555555555554444"));
        assert!(luhn("378282246310005"));
        assert!(!luhn("4111111111111112"));
    }
}
