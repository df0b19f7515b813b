//! Personal data in the collector (docs/pipeline.md, "Personal data"): the
//! staging and production profiles delete or hash a configured list of
//! attribute keys and mask values that look like e-mail addresses or card
//! numbers, in traces, logs and metrics. The services should not send such
//! data at all (`otelops check semantic-conventions` flags it); this is the
//! second line.
//!
//! Which processor does what, as observed on otelcol-parker v0.161.0:
//! - `attributes/pii` deletes or hashes (SHA-256 hex) keys on span, log
//!   record and metric data point attributes;
//! - `redaction/pii` masks matching substrings as `****` in resource, span,
//!   span event, log record and data point attribute values;
//! - `transform/pii` masks the same patterns where redaction does not look:
//!   span names and log bodies (OTTL `replace_pattern`).

use super::model::{AttributeAction, AttributesProcessor, OttlStatements, Redaction, Transform};

/// An e-mail address (RE2 syntax, as the collector's regexps).
pub const EMAIL_PATTERN: &str = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}";
/// 13 to 19 digits, optionally grouped by spaces or dashes: card numbers
/// (the collector cannot check Luhn, so any such run is masked).
pub const CARD_PATTERN: &str = r"\b(?:\d[ -]?){12,18}\d\b";
/// What a masked value reads as after redaction and transform.
pub const MASK: &str = "****";

/// The keys the collector removes or pseudonymises.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PiiPolicy {
    /// Deleted outright: nothing downstream needs them.
    pub delete_keys: Vec<String>,
    /// Replaced by the SHA-256 of their value: still groups one person's
    /// telemetry together without naming them.
    pub hash_keys: Vec<String>,
    /// Values matching any of these are masked wherever they appear.
    pub mask_patterns: Vec<String>,
}

impl Default for PiiPolicy {
    fn default() -> Self {
        let owned = |keys: &[&str]| keys.iter().map(|k| (*k).to_owned()).collect();
        PiiPolicy {
            delete_keys: owned(&[
                "traveller.name",
                "traveller.email",
                "traveller.phone",
                "user.name",
                "user.full_name",
                "user.email",
                "email",
                "phone",
                "card.number",
                "payment.card",
                "payment.card.number",
            ]),
            hash_keys: owned(&["enduser.id", "user.id"]),
            mask_patterns: owned(&[EMAIL_PATTERN, CARD_PATTERN]),
        }
    }
}

/// The three processors, in pipeline order.
pub struct PiiProcessors {
    pub attributes: AttributesProcessor,
    pub redaction: Redaction,
    pub transform: Transform,
}

/// The processor ids the pipelines name: traces and logs use all three,
/// metrics the first two (no span names or bodies there).
pub const TRACES_AND_LOGS: [&str; 3] = ["attributes/pii", "redaction/pii", "transform/pii"];
pub const METRICS: [&str; 2] = ["attributes/pii", "redaction/pii"];

impl PiiPolicy {
    pub fn processors(&self) -> PiiProcessors {
        let actions = [("delete", &self.delete_keys), ("hash", &self.hash_keys)]
            .into_iter()
            .flat_map(|(action, keys)| {
                keys.iter().map(move |key| AttributeAction {
                    key: key.clone(),
                    action: action.to_owned(),
                })
            })
            .collect();
        // An OTTL string literal: the regex's backslashes escaped once more.
        let mask = |path: &str| -> Vec<String> {
            self.mask_patterns
                .iter()
                .map(|p| {
                    format!(
                        r#"replace_pattern({path}, "{}", "{MASK}")"#,
                        p.replace('\\', r"\\")
                    )
                })
                .collect()
        };
        PiiProcessors {
            attributes: AttributesProcessor { actions },
            redaction: Redaction {
                allow_all_keys: true,
                blocked_values: self.mask_patterns.clone(),
                summary: "silent".into(),
            },
            transform: Transform {
                // A statement that fails on one item must not drop the batch.
                error_mode: "ignore".into(),
                trace_statements: vec![OttlStatements {
                    context: "span".into(),
                    statements: mask("name"),
                }],
                log_statements: vec![OttlStatements {
                    context: "log".into(),
                    statements: mask("body"),
                }],
            },
        }
    }
}
