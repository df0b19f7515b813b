//! The on-disk history `watch` appends to and `trends` reads: one record per
//! evaluation, keyed by Unix milliseconds, in a redb file (pure Rust, one
//! file, crash-safe commits; no SQLite C build).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use redb::{Database, ReadableDatabase, TableDefinition};
use serde::{Deserialize, Serialize};

use super::MonitorError;
use super::evaluate::{Report, Status};

const RECORDS: TableDefinition<u64, &[u8]> = TableDefinition::new("records_v1");

/// One evaluation, flattened to `"scope metric" → value` so trends need no
/// knowledge of the report's shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub ts_ms: u64,
    pub status: Status,
    pub values: BTreeMap<String, f64>,
}

impl Record {
    pub fn from_report(ts_ms: u64, r: &Report) -> Record {
        let mut v = BTreeMap::new();
        let mut put = |k: String, x: Option<f64>| {
            if let Some(x) = x.filter(|x| x.is_finite()) {
                v.insert(k, x);
            }
        };
        for e in &r.exporters {
            let s = component("exporter", &e.exporter, &e.data_type);
            put(
                format!("{s} queue_utilisation_pct"),
                e.queue_utilisation_pct,
            );
            put(format!("{s} send_failed_pct"), e.send_failed_pct);
            if let Some(rt) = &e.rates {
                put(format!("{s} sent_per_sec"), Some(rt.sent_per_sec));
                put(
                    format!("{s} send_failed_per_sec"),
                    Some(rt.send_failed_per_sec),
                );
                put(
                    format!("{s} enqueue_failed_per_sec"),
                    Some(rt.enqueue_failed_per_sec),
                );
            }
        }
        for x in &r.receivers {
            let s = component("receiver", &x.receiver, &x.data_type);
            put(format!("{s} refused_pct"), x.refused_pct);
            if let Some(rt) = &x.rates {
                put(format!("{s} accepted_per_sec"), Some(rt.accepted_per_sec));
                put(format!("{s} refused_per_sec"), Some(rt.refused_per_sec));
            }
        }
        if let Some(b) = &r.batch {
            put("batch send_size_p50".into(), b.send_size_p50);
            put("batch timeout_trigger_pct".into(), b.timeout_trigger_pct);
        }
        put("process rss_mib".into(), r.resources.rss_mib);
        put("process memory_pct".into(), r.resources.memory_pct);
        put("process cpu_pct".into(), r.resources.cpu_pct);
        put("export latency_p99_ms".into(), r.export_latency.p99_ms);
        Record {
            ts_ms,
            status: r.status,
            values: v,
        }
    }
}

fn component(kind: &str, name: &str, data_type: &str) -> String {
    if data_type.is_empty() {
        format!("{kind} {name}")
    } else {
        format!("{kind} {name}/{data_type}")
    }
}

/// The file is opened per operation, not held: redb locks the file while a
/// `Database` lives, and `monitor trends` must be able to read while
/// `monitor watch` sleeps between rounds.
pub struct History {
    path: PathBuf,
}

impl History {
    /// Create the file (and its directory) if needed and check it is a redb
    /// database.
    pub fn open(path: &Path) -> Result<History, MonitorError> {
        let err = |reason: String| MonitorError::History {
            path: path.into(),
            reason,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| err(format!("cannot create {}: {e}", dir.display())))?;
        }
        let h = History { path: path.into() };
        drop(h.db()?);
        Ok(h)
    }

    fn db(&self) -> Result<Database, MonitorError> {
        Database::create(&self.path).map_err(|e| self.err(e))
    }

    fn err(&self, e: impl std::fmt::Display) -> MonitorError {
        MonitorError::History {
            path: self.path.clone(),
            reason: e.to_string(),
        }
    }

    pub fn append(&self, record: &Record) -> Result<(), MonitorError> {
        let bytes = serde_json::to_vec(record).map_err(|e| self.err(e))?;
        let db = self.db()?;
        let txn = db.begin_write().map_err(|e| self.err(e))?;
        {
            let mut table = txn.open_table(RECORDS).map_err(|e| self.err(e))?;
            table
                .insert(record.ts_ms, bytes.as_slice())
                .map_err(|e| self.err(e))?;
        }
        txn.commit().map_err(|e| self.err(e))
    }

    /// Records at or after `since_ms`, oldest first. A history never written
    /// to is empty, not an error.
    pub fn since(&self, since_ms: u64) -> Result<Vec<Record>, MonitorError> {
        let db = self.db()?;
        let txn = db.begin_read().map_err(|e| self.err(e))?;
        let table = match txn.open_table(RECORDS) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
            Err(e) => return Err(self.err(e)),
        };
        let mut out = Vec::new();
        for item in table.range(since_ms..).map_err(|e| self.err(e))? {
            let (_, v) = item.map_err(|e| self.err(e))?;
            let rec: Record = serde_json::from_slice(v.value()).map_err(|e| self.err(e))?;
            out.push(rec);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_in_time_order_and_filter_by_since() {
        let dir = tempfile::tempdir().unwrap();
        let h = History::open(&dir.path().join("sub/history.redb")).unwrap();
        for (ts, q) in [(3000, 30.0), (1000, 10.0), (2000, 20.0)] {
            let values = BTreeMap::from([("exporter otlp queue_utilisation_pct".to_string(), q)]);
            h.append(&Record {
                ts_ms: ts,
                status: Status::Ok,
                values,
            })
            .unwrap();
        }
        let all = h.since(0).unwrap();
        assert_eq!(
            all.iter().map(|r| r.ts_ms).collect::<Vec<_>>(),
            vec![1000, 2000, 3000]
        );
        assert_eq!(h.since(2000).unwrap().len(), 2);
    }

    #[test]
    fn a_reader_and_a_writer_take_turns_on_one_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.redb");
        let writer = History::open(&path).unwrap();
        let reader = History::open(&path).unwrap();
        for ts in [1, 2] {
            writer
                .append(&Record {
                    ts_ms: ts,
                    status: Status::Warn,
                    values: BTreeMap::new(),
                })
                .unwrap();
            assert_eq!(reader.since(0).unwrap().len() as u64, ts);
        }
    }

    #[test]
    fn empty_history_reads_as_no_records() {
        let dir = tempfile::tempdir().unwrap();
        let h = History::open(&dir.path().join("h.redb")).unwrap();
        assert!(h.since(0).unwrap().is_empty());
    }
}
