//! Parent resolution across every checked document: a trace may be split
//! over files or JSON lines, so this runs after the walk.
//!
//! An orphan (parent not in the data) is an *improvement* — a lost span or a
//! partial export — or *information* when the span's flags say its parent is
//! remote: the trace entered from another process. Never a violation, since
//! a file may legitimately hold part of a trace.

use std::collections::{HashMap, HashSet};

use super::rule;
use crate::check::{Finding, Level, Source, SpanRef};

/// `Span.flags` bits: the parent's remoteness is known, and it is remote.
const FLAG_HAS_IS_REMOTE: u64 = 0x100;
const FLAG_IS_REMOTE: u64 = 0x200;

/// A span as seen by the walk, for the cross-document parent check.
pub(super) struct SpanRecord {
    pub source: Source,
    pub path: String,
    pub span: SpanRef,
    /// Ids lowercased: hex is case-insensitive.
    pub span_id: String,
    pub trace_id: String,
    pub parent: String,
    pub flags: u64,
}

/// Duplicate span ids within a trace, and parents that do not resolve.
pub(super) fn resolve(spans: &[SpanRecord]) -> Vec<Finding> {
    let mut ids: HashMap<&str, HashSet<&str>> = HashMap::new();
    let mut findings = Vec::new();
    for record in spans {
        let seen = ids.entry(&record.trace_id).or_default();
        if !record.span_id.is_empty() && !seen.insert(&record.span_id) {
            findings.push(Finding {
                level: Level::Violation,
                rule: rule::SPAN_ID_UNIQUE,
                source: record.source.clone(),
                path: format!("{}.spanId", record.path),
                span: Some(record.span.clone()),
                message: format!(
                    "span id {} appears twice in trace {}",
                    record.span.span_id, record.trace_id
                ),
            });
        }
    }
    for record in spans.iter().filter(|r| !r.parent.is_empty()) {
        if ids
            .get(record.trace_id.as_str())
            .is_some_and(|s| s.contains(record.parent.as_str()))
        {
            continue;
        }
        let remote = record.flags & FLAG_HAS_IS_REMOTE != 0 && record.flags & FLAG_IS_REMOTE != 0;
        let (level, message) = if remote {
            (
                Level::Information,
                format!(
                    "parent {} is remote (flags say so) and not in this data: the trace entered from another process",
                    record.parent
                ),
            )
        } else {
            (
                Level::Improvement,
                format!(
                    "orphan span: parent {} is not in trace {} in the checked data (lost span or partial export)",
                    record.parent, record.trace_id
                ),
            )
        };
        findings.push(Finding {
            level,
            rule: rule::PARENT_RESOLVES,
            source: record.source.clone(),
            path: format!("{}.parentSpanId", record.path),
            span: Some(record.span.clone()),
            message,
        });
    }
    findings
}
