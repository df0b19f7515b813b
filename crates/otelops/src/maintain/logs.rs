//! The collector's log, reviewed: warn and error lines counted by component
//! and message. Reads the collector's own encodings (zap console: tab
//! separated `ts level caller msg {fields}`; zap JSON) and the OTLP-JSON
//! copy `otelops receive --jsonl` writes of logs the collector exported.

use std::collections::BTreeMap;
use std::io::BufRead;

use serde_json::Value;

use super::{Check, LogSource, Status};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Warn,
    Error,
}

impl Level {
    fn name(self) -> &'static str {
        match self {
            Level::Warn => "warn",
            Level::Error => "error",
        }
    }
}

/// One warn or error line.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub level: Level,
    /// `exporter/otlp_grpc`, or the package of the caller (`grpc`).
    pub component: String,
    pub message: String,
    /// The `error` field, when the line has one.
    pub error: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("{origin}: {source}")]
    Read {
        origin: String,
        source: std::io::Error,
    },
    #[error(
        "--logs-from {0}: otelops receive keeps only counts of log records in memory; give the file its --jsonl FILE copy writes"
    )]
    Url(String),
    #[error("{origin} line {line}: not OTLP-JSON logs: {reason}")]
    Received {
        origin: String,
        line: usize,
        reason: String,
    },
}

/// The warn and error entries of every source, in order.
pub fn read(sources: &[LogSource]) -> Result<Vec<Entry>, LogError> {
    let mut entries = Vec::new();
    for source in sources {
        let (origin, reader): (String, Box<dyn BufRead>) = match source {
            LogSource::Stdin => ("stdin".into(), Box::new(std::io::stdin().lock())),
            LogSource::File(p) | LogSource::Received(p) => {
                let file = std::fs::File::open(p).map_err(|source| LogError::Read {
                    origin: p.display().to_string(),
                    source,
                })?;
                (
                    p.display().to_string(),
                    Box::new(std::io::BufReader::new(file)),
                )
            }
        };
        for (n, line) in reader.lines().enumerate() {
            let line = line.map_err(|source| LogError::Read {
                origin: origin.clone(),
                source,
            })?;
            if line.trim().is_empty() {
                continue;
            }
            match source {
                LogSource::Received(_) => {
                    let doc: Value =
                        serde_json::from_str(&line).map_err(|e| LogError::Received {
                            origin: origin.clone(),
                            line: n + 1,
                            reason: e.to_string(),
                        })?;
                    entries.extend(received_entries(&doc));
                }
                _ => entries.extend(collector_line(&line)),
            }
        }
    }
    Ok(entries)
}

fn level_of(text: &str) -> Option<Level> {
    match text.to_ascii_lowercase().as_str() {
        "warn" | "warning" => Some(Level::Warn),
        "error" | "dpanic" | "panic" | "fatal" => Some(Level::Error),
        _ => None,
    }
}

/// One line of the collector's own log, console or JSON encoded.
pub fn collector_line(line: &str) -> Option<Entry> {
    if line.starts_with('{') {
        let doc: Value = serde_json::from_str(line).ok()?;
        let level = level_of(doc.get("level")?.as_str()?)?;
        return Some(Entry {
            level,
            component: component(&doc, doc.get("caller").and_then(Value::as_str)),
            message: doc.get("msg").and_then(Value::as_str).unwrap_or("").into(),
            error: doc.get("error").and_then(Value::as_str).map(str::to_owned),
        });
    }
    let mut parts = line.splitn(5, '\t');
    let (_ts, level, caller, msg) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let level = level_of(level)?;
    let fields: Value = parts
        .next()
        .and_then(|f| serde_json::from_str(f).ok())
        .unwrap_or(Value::Null);
    Some(Entry {
        level,
        component: component(&fields, Some(caller)),
        message: msg.into(),
        error: fields
            .get("error")
            .and_then(Value::as_str)
            .map(str::to_owned),
    })
}

/// `kind/id` from the collector's component fields (v0.1xx names, then the
/// older `kind`/`name`), else the caller's package (`grpc@v1.8/x.go` → `grpc`).
fn component(fields: &Value, caller: Option<&str>) -> String {
    let s = |k: &str| fields.get(k).and_then(Value::as_str);
    match (s("otelcol.component.kind"), s("otelcol.component.id")) {
        (Some(kind), Some(id)) => return format!("{}/{id}", kind.to_ascii_lowercase()),
        (Some(kind), None) => return kind.to_ascii_lowercase(),
        _ => {}
    }
    if let (Some(kind), Some(name)) = (s("kind"), s("name")) {
        return format!("{}/{name}", kind.to_ascii_lowercase());
    }
    caller.map(package_of).unwrap_or_else(|| "collector".into())
}

/// The Go package a log line came from: the directory holding the file,
/// without its module version (`…/grpc@v1.83.2/clientconn.go:1532` → `grpc`).
fn package_of(caller: &str) -> String {
    let dir = caller.rsplit_once('/').map_or(caller, |(d, _)| d);
    let last = dir.rsplit('/').next().unwrap_or(dir);
    last.split('@').next().unwrap_or(last).to_string()
}

/// The warn/error records of one OTLP-JSON logs request.
fn received_entries(doc: &Value) -> Vec<Entry> {
    let mut out = Vec::new();
    let arr = |v: &Value, k: &str| {
        v.get(k)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    for rl in arr(doc, "resourceLogs") {
        for sl in arr(&rl, "scopeLogs") {
            for rec in arr(&sl, "logRecords") {
                let number = rec
                    .get("severityNumber")
                    .and_then(Value::as_u64)
                    .unwrap_or(0);
                let level = rec
                    .get("severityText")
                    .and_then(Value::as_str)
                    .and_then(level_of)
                    .or(match number {
                        13..=16 => Some(Level::Warn),
                        17.. => Some(Level::Error),
                        _ => None,
                    });
                let Some(level) = level else { continue };
                // The collector puts the component's identity on the
                // instrumentation scope and the error into exception.message.
                let mut fields = serde_json::Map::new();
                let scope_attrs = sl
                    .pointer("/scope/attributes")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                for a in arr(&rec, "attributes").iter().chain(&scope_attrs) {
                    if let (Some(k), Some(v)) = (
                        a.get("key").and_then(Value::as_str),
                        a.pointer("/value/stringValue").and_then(Value::as_str),
                    ) {
                        let k = if k == "exception.message" { "error" } else { k };
                        fields.insert(k.into(), Value::String(v.into()));
                    }
                }
                let fields = Value::Object(fields);
                out.push(Entry {
                    level,
                    component: component(
                        &fields,
                        fields.get("code.file.path").and_then(Value::as_str),
                    ),
                    message: rec
                        .pointer("/body/stringValue")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .into(),
                    error: fields
                        .get("error")
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                });
            }
        }
    }
    out
}

/// The message with numbers (ports, counters, durations) replaced, so
/// repeats of one problem count as one kind.
pub fn kind_of(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut in_number = false;
    for c in message.chars() {
        if c.is_ascii_digit() {
            if !in_number {
                out.push('N');
            }
            in_number = true;
        } else {
            in_number = false;
            out.push(c);
        }
    }
    out.chars().take(160).collect()
}

/// The daily "error logs reviewed" check.
pub fn check(sources: &[LogSource]) -> Check {
    const ID: &str = "daily.logs";
    const TASK: &str = "Review error logs";
    if sources.is_empty() {
        return Check::skipped(
            ID,
            TASK,
            "no log given (--log FILE, --log - for stdin, or --logs-from FILE written by otelops receive --jsonl)",
        );
    }
    let mut check = Check::new(ID, TASK);
    let entries = match read(sources) {
        Ok(e) => e,
        Err(e) => {
            check.finding(Status::Unknown, e.to_string(), "give a readable log file");
            return check;
        }
    };
    // (level, component, kind) → (count, first example)
    let mut groups: BTreeMap<(Level, String, String), (usize, &Entry)> = BTreeMap::new();
    for e in &entries {
        groups
            .entry((e.level, e.component.clone(), kind_of(&e.message)))
            .and_modify(|g| g.0 += 1)
            .or_insert((1, e));
    }
    let errors = entries.iter().filter(|e| e.level == Level::Error).count();
    let warns = entries.len() - errors;
    check.ok(format!("{errors} error and {warns} warn lines"));
    // Errors first, then by count.
    let mut ordered: Vec<_> = groups.into_iter().collect();
    ordered.sort_by(|a, b| b.0.0.cmp(&a.0.0).then(b.1.0.cmp(&a.1.0)));
    for ((level, component, kind), (count, example)) in ordered {
        let status = match level {
            Level::Error => Status::Crit,
            Level::Warn => Status::Warn,
        };
        let error = example
            .error
            .as_deref()
            .map(|e| format!(" (error: {})", e.chars().take(200).collect::<String>()))
            .unwrap_or_default();
        check.finding(
            status,
            format!(
                "{count}× {} {component}: {}{error}",
                level.name(),
                example.message
            ),
            format!(
                "{component}: find the cause of its {}s above (the full lines are in the log)",
                level.name()
            ),
        );
        check
            .kinds
            .push(format!("{} {component}: {kind}", level.name()));
    }
    check
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn console_lines_name_component_and_message() {
        let line = "2026-12-07T00:46:09.057Z\terror\tinternal/queue_sender.go:50\tExporting failed. Dropping data.\t{\"otelcol.component.id\": \"otlp_grpc\", \"otelcol.component.kind\": \"exporter\", \"error\": \"no more retries\"}";
        let e = collector_line(line).unwrap();
        assert_eq!(e.level, Level::Error);
        assert_eq!(e.component, "exporter/otlp_grpc");
        assert_eq!(e.message, "Exporting failed. Dropping data.");
        assert_eq!(e.error.as_deref(), Some("no more retries"));
        let grpc = "2026-12-07T00:46:05.042Z\twarn\tgrpc@v1.83.2/clientconn.go:1532\t[core] failed to connect to 127.0.0.1:24399\t{\"grpc_log\": true}";
        assert_eq!(collector_line(grpc).unwrap().component, "grpc");
        assert!(collector_line("2026-12-07T00:46:05Z\tinfo\tx.go:1\tready\t{}").is_none());
        assert_eq!(kind_of("port 24399 after 54.6ms"), "port N after N.Nms");
    }
}
