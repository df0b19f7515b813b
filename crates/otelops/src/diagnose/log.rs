//! The collector's own log, read for the causes its metrics cannot name: a
//! TLS handshake that failed (x509 expired, unknown authority, plain text
//! where TLS was expected), a backend that refused our token, a backend that
//! is not there, memory_limiter refusing data.
//!
//! Reads the console encoding (`TS\tlevel\tcaller\tmessage\t{json}`) and the
//! JSON one (`{"level":"error",…}`); only `warn` and `error` lines count.

use std::collections::BTreeMap;

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LogKind {
    /// TLS handshake failed: a certificate problem or a TLS/plain mismatch.
    Tls,
    /// The backend refused our credentials (gRPC Unauthenticated, HTTP 401/403).
    Auth,
    /// memory_limiter refusing data.
    Memory,
    /// The backend did not answer (connection refused, Unavailable, timeout).
    Unreachable,
}

/// Lower-case needles per kind, tried in this order: a TLS failure is also
/// reported as gRPC Unavailable, so TLS must win.
const PATTERNS: [(LogKind, &[&str]); 4] = [
    (
        LogKind::Tls,
        &[
            "x509:",
            "tls: ",
            "certificate has expired",
            "unknown authority",
            "authentication handshake failed",
        ],
    ),
    (
        LogKind::Auth,
        &[
            "unauthenticated",
            "permissiondenied",
            "permission denied",
            "401 unauthorized",
            "403 forbidden",
            "status code 401",
            "status code 403",
        ],
    ),
    (
        LogKind::Memory,
        &["refusing data", "memory usage is above", "memory limit"],
    ),
    (
        LogKind::Unreachable,
        &[
            "connection refused",
            "code = unavailable",
            "no such host",
            "i/o timeout",
            "deadline exceeded",
            "deadlineexceeded",
        ],
    ),
];

/// What the log says of one kind.
#[derive(Debug, Clone, Serialize)]
pub struct LogEvidence {
    pub kind: LogKind,
    pub count: usize,
    /// The component id the lines name (`otelcol.component.id`), if any.
    pub component: Option<String>,
    /// The first such line, shortened.
    pub example: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct LogSummary {
    pub lines: usize,
    pub errors: usize,
    pub warnings: usize,
    pub kinds: Vec<LogEvidence>,
}

impl LogSummary {
    /// Evidence of `kind` from lines that name `component`; with `sole`
    /// (it is the only exporter that makes calls) also from lines that name
    /// none, such as gRPC's own connection warnings.
    pub fn find(&self, kind: LogKind, component: &str, sole: bool) -> Option<&LogEvidence> {
        self.kinds
            .iter()
            .filter(|e| e.kind == kind)
            .find(|e| match &e.component {
                Some(c) => c == component,
                None => sole,
            })
    }
}

fn level(line: &str) -> Option<&'static str> {
    let console = line.split('\t').nth(1).map(str::trim);
    let json = line
        .find("\"level\":")
        .map(|i| line[i + 8..].trim_start().trim_start_matches('"'));
    ["error", "warn"]
        .into_iter()
        .find(|&l| console == Some(l) || json.is_some_and(|j| j.starts_with(l)))
}

fn component(line: &str) -> Option<String> {
    let key = "\"otelcol.component.id\":";
    let i = line.find(key)? + key.len();
    let rest = line[i..].trim_start().strip_prefix('"')?;
    Some(rest[..rest.find('"')?].to_string())
}

fn shorten(line: &str) -> String {
    // The message and the error are what a person reads; the resource block
    // in between repeats on every line.
    let mut fields = line.split('\t');
    let msg = fields.nth(3).unwrap_or(line);
    let error = line
        .find("\"error\":")
        .map(|i| line[i + 8..].trim_start().trim_start_matches('"'))
        .map(|e| {
            e.split("\",")
                .next()
                .unwrap_or(e)
                .trim_end_matches(['"', '}'])
        });
    let text = match error {
        Some(e) => format!("{msg}: {e}"),
        None => msg.to_string(),
    };
    let mut out: String = text.chars().take(300).collect();
    if out.len() < text.len() {
        out.push('…');
    }
    out
}

pub fn summarise(text: &str) -> LogSummary {
    let mut s = LogSummary::default();
    let mut kinds: BTreeMap<(LogKind, Option<String>), LogEvidence> = BTreeMap::new();
    for line in text.lines() {
        s.lines += 1;
        match level(line) {
            Some("error") => s.errors += 1,
            Some(_) => s.warnings += 1,
            // The exporter logs its retries at info, with the error: the
            // cause shows there before any data is dropped.
            None if line.contains("Exporting failed") => {}
            None => continue,
        }
        let lower = line.to_lowercase();
        let Some(kind) = PATTERNS
            .iter()
            .find(|(_, needles)| needles.iter().any(|n| lower.contains(n)))
            .map(|(k, _)| *k)
        else {
            continue;
        };
        let c = component(line);
        let e = kinds
            .entry((kind, c.clone()))
            .or_insert_with(|| LogEvidence {
                kind,
                count: 0,
                component: c,
                example: shorten(line),
            });
        e.count += 1;
    }
    s.kinds = kinds.into_values().collect();
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const TLS: &str = "2026-12-07T00:38:45.870Z\twarn\tgrpc@v1.83.2/clientconn.go:1532\t[core] grpc: addrConn.createTransport failed to connect\t{\"otelcol.component.id\": \"otlp_grpc/backend\", \"error\": \"connection error: desc = \\\"transport: authentication handshake failed: tls: failed to verify certificate: x509: certificate has expired or is not yet valid\\\"\"}";
    const DOWN: &str = "2026-12-07T00:38:45.870Z\terror\tinternal/queue_sender.go:62\tExporting failed. Dropping data.\t{\"otelcol.component.id\": \"otlp_grpc\", \"error\": \"no more retries left: rpc error: code = Unavailable desc = connection refused\"}";

    #[test]
    fn a_tls_failure_reported_as_unavailable_is_a_tls_failure() {
        let s = summarise(&format!(
            "{TLS}\n{DOWN}\n2026\tinfo\tx\tEverything is ready.\n"
        ));
        assert_eq!((s.lines, s.errors, s.warnings), (3, 1, 1));
        let tls = s.find(LogKind::Tls, "otlp_grpc/backend", false).unwrap();
        assert_eq!(tls.count, 1);
        assert!(
            tls.example.contains("x509: certificate has expired"),
            "{}",
            tls.example
        );
        assert!(s.find(LogKind::Tls, "otlp_grpc", false).is_none());
        assert_eq!(
            s.find(LogKind::Unreachable, "otlp_grpc", false)
                .unwrap()
                .count,
            1
        );
    }

    #[test]
    fn json_encoded_lines_and_auth_errors() {
        let line = r#"{"level":"error","msg":"Exporting failed.","otelcol.component.id":"otlp_http","error":"Permanent error: HTTP 401 Unauthorized"}"#;
        let s = summarise(line);
        assert_eq!(s.find(LogKind::Auth, "otlp_http", false).unwrap().count, 1);
    }
}
