//! The export path's own log lines about outages (target
//! `parker_telemetry::export::outage`): they are emitted on the export
//! thread, so only a global subscriber sees them — one per test binary,
//! installed by [`ExportLog::global`]. Include with
//! `#[path = "common/export_log.rs"] mod export_log;`.
#![allow(dead_code)] // each test binary uses a different subset

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::{Context, SubscriberExt};

/// One outage line: level, message and fields as text.
#[derive(Clone, Debug)]
pub struct Line {
    pub level: tracing::Level,
    pub message: String,
    pub fields: HashMap<String, String>,
}

impl Line {
    pub fn field(&self, name: &str) -> &str {
        self.fields.get(name).map(String::as_str).unwrap_or("")
    }

    /// A numeric field (`retried`, `dropped`); panics naming the line if absent.
    pub fn count(&self, name: &str) -> u64 {
        self.field(name)
            .parse()
            .unwrap_or_else(|_| panic!("no count {name} in {self:?}"))
    }
}

#[derive(Clone, Default)]
pub struct ExportLog(Arc<Mutex<Vec<Line>>>);

impl<S: tracing::Subscriber> Layer<S> for ExportLog {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        if event.metadata().target() != "parker_telemetry::export::outage" {
            return;
        }
        let mut fields = HashMap::new();
        event.record(&mut |f: &tracing::field::Field, v: &dyn std::fmt::Debug| {
            fields.insert(f.name().to_owned(), format!("{v:?}"));
        });
        let message = fields.remove("message").unwrap_or_default();
        self.0.lock().expect("export log lock").push(Line {
            level: *event.metadata().level(),
            message,
            fields,
        });
    }
}

impl ExportLog {
    /// The binary's global subscriber, installed on first use.
    pub fn global() -> &'static ExportLog {
        static LOG: OnceLock<ExportLog> = OnceLock::new();
        LOG.get_or_init(|| {
            let log = ExportLog::default();
            tracing::subscriber::set_global_default(
                tracing_subscriber::registry().with(log.clone()),
            )
            .expect("the only global subscriber of this test binary");
            log
        })
    }

    /// How many lines so far (a mark for [`since`](Self::since)).
    pub fn len(&self) -> usize {
        self.0.lock().expect("export log lock").len()
    }

    /// The lines of `signal` (`traces`, `metrics`, `logs`) logged after `mark`.
    pub fn since(&self, mark: usize, signal: &str) -> Vec<Line> {
        self.0.lock().expect("export log lock")[mark..]
            .iter()
            .filter(|l| l.field("signal") == signal)
            .cloned()
            .collect()
    }

    /// The warnings among [`since`](Self::since).
    pub fn warnings(&self, mark: usize, signal: &str) -> Vec<Line> {
        self.since(mark, signal)
            .into_iter()
            .filter(|l| l.level == tracing::Level::WARN)
            .collect()
    }

    /// The recovery lines (info) among [`since`](Self::since).
    pub fn recoveries(&self, mark: usize, signal: &str) -> Vec<Line> {
        self.since(mark, signal)
            .into_iter()
            .filter(|l| l.level == tracing::Level::INFO)
            .collect()
    }
}
