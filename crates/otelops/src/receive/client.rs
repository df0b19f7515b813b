//! Where `otelops traces` reads from: a running receiver's query API, or an
//! OTLP-JSON lines file (`--jsonl`, as `otelops receive --jsonl` or the
//! collector's file exporter writes it). Also the `--follow` bookkeeping.

use std::collections::HashMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;

use super::decode::{self, parse_trace_id};
use super::model::{TraceDetail, TraceListItem};
use super::store::{OnFull, Store};
use crate::http_client::{HttpClient, HttpError};

/// Why traces could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    // `error`, not `source`: the message already holds it (and its URL), and
    // a report of the chain would print it twice.
    #[error("cannot reach the receiver: {error} (is `otelops receive` running?)")]
    Unreachable { error: HttpError },
    /// The client's own rules refused the request (loopback, token).
    #[error(transparent)]
    Refused(HttpError),
    #[error("the receiver at {url} answered {status}: {body}")]
    Status {
        url: String,
        status: u16,
        body: String,
    },
    #[error("the receiver at {url} sent a body that is not the expected JSON: {source}")]
    BadJson {
        url: String,
        source: serde_json::Error,
    },
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}:{line}: not an OTLP/JSON trace export request: {source}", path.display())]
    BadLine {
        path: PathBuf,
        line: usize,
        source: serde_json::Error,
    },
    #[error("trace id {0:?} is not 32 hex digits")]
    BadTraceId(String),
}

/// A receiver's query API, or a JSONL file.
#[derive(Debug, Clone)]
pub enum TraceSource {
    Receiver {
        /// Base URL of the receiver's OTLP/HTTP listener, e.g. `http://127.0.0.1:4318`.
        base_url: String,
        /// Carries the loopback rule, timeouts, TLS and the receiver's token.
        client: HttpClient,
    },
    File(PathBuf),
}

impl TraceSource {
    pub async fn list(&self) -> Result<Vec<TraceListItem>, SourceError> {
        match self {
            TraceSource::Receiver { base_url, client } => {
                let url = format!("{}/otelops/v1/traces", base_url.trim_end_matches('/'));
                Ok(get_json(client, &url).await?.unwrap_or_default())
            }
            TraceSource::File(path) => {
                let store = load_jsonl(path)?;
                Ok(store
                    .traces()
                    .iter()
                    .map(TraceListItem::from_overview)
                    .collect())
            }
        }
    }

    /// One trace, or `None` when the source does not hold it.
    pub async fn show(&self, id: &str) -> Result<Option<TraceDetail>, SourceError> {
        let trace_id = parse_trace_id(id).ok_or_else(|| SourceError::BadTraceId(id.to_owned()))?;
        match self {
            TraceSource::Receiver { base_url, client } => {
                let url = format!(
                    "{}/otelops/v1/traces/{}",
                    base_url.trim_end_matches('/'),
                    decode::hex(&trace_id)
                );
                get_json(client, &url).await
            }
            TraceSource::File(path) => {
                let store = load_jsonl(path)?;
                Ok(store
                    .trace(&trace_id)
                    .map(|spans| TraceDetail::from_spans(trace_id, &spans)))
            }
        }
    }
}

/// GET a JSON body; 404 is `None`.
async fn get_json<T: serde::de::DeserializeOwned>(
    client: &HttpClient,
    url: &str,
) -> Result<Option<T>, SourceError> {
    let unreachable = |error| match error {
        HttpError::NotLoopback { .. }
        | HttpError::TokenOverPlainHttp { .. }
        | HttpError::BadUrl { .. } => SourceError::Refused(error),
        error => SourceError::Unreachable { error },
    };
    let parsed = client.url(url).map_err(unreachable)?;
    let response = client.get(&parsed).await.map_err(unreachable)?;
    if response.status == 404 {
        return Ok(None);
    }
    if !response.is_success() {
        return Err(SourceError::Status {
            url: url.to_owned(),
            status: response.status,
            body: response.text(),
        });
    }
    response
        .json()
        .map(Some)
        .map_err(|source| SourceError::BadJson {
            url: url.to_owned(),
            source,
        })
}

/// Reads an OTLP-JSON lines file into a fresh store. Lines holding metrics
/// or logs decode to requests without spans and add nothing.
pub fn load_jsonl(path: &Path) -> Result<Store, SourceError> {
    let read_err = |source| SourceError::Read {
        path: path.to_owned(),
        source,
    };
    let file = std::fs::File::open(path).map_err(read_err)?;
    let store = Store::new(usize::MAX, OnFull::Evict);
    for (n, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.map_err(read_err)?;
        if line.trim().is_empty() {
            continue;
        }
        let mut request: ExportTraceServiceRequest =
            serde_json::from_str(&line).map_err(|source| SourceError::BadLine {
                path: path.to_owned(),
                line: n + 1,
                source,
            })?;
        let indexed = decode::index_traces(&mut request, &store);
        // Unbounded store: insert cannot refuse.
        let _ = store.insert(indexed.spans, indexed.rejected);
    }
    Ok(store)
}

/// `--follow` bookkeeping: a trace is shown once its span count held still
/// for one poll (so a trace still arriving is not printed half done), and
/// again whenever it grows later.
#[derive(Debug, Default)]
pub struct Follow {
    last_seen: HashMap<String, usize>,
    shown: HashMap<String, usize>,
}

impl Follow {
    /// The traces from this poll that are ready to show.
    pub fn ready<'a>(&mut self, items: &'a [TraceListItem]) -> Vec<&'a TraceListItem> {
        let mut ready = Vec::new();
        for item in items {
            let settled = self.last_seen.get(&item.trace_id) == Some(&item.spans);
            let new_or_grown = self.shown.get(&item.trace_id) != Some(&item.spans);
            if settled && new_or_grown {
                self.shown.insert(item.trace_id.clone(), item.spans);
                ready.push(item);
            }
        }
        self.last_seen = items
            .iter()
            .map(|i| (i.trace_id.clone(), i.spans))
            .collect();
        ready
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(id: &str, spans: usize) -> TraceListItem {
        TraceListItem {
            trace_id: id.to_owned(),
            root_service: String::new(),
            root_name: String::new(),
            start_unix_nano: 0,
            duration_ns: 0,
            spans,
            errors: 0,
            services: Vec::new(),
        }
    }

    fn ids(ready: Vec<&TraceListItem>) -> Vec<(String, usize)> {
        ready
            .into_iter()
            .map(|i| (i.trace_id.clone(), i.spans))
            .collect()
    }

    #[test]
    fn follow_shows_a_trace_once_it_stops_growing_and_again_when_it_grows() {
        let mut follow = Follow::default();
        assert_eq!(ids(follow.ready(&[item("a", 1)])), []);
        assert_eq!(ids(follow.ready(&[item("a", 2)])), [], "still growing");
        assert_eq!(ids(follow.ready(&[item("a", 2)])), [("a".to_owned(), 2)]);
        assert_eq!(ids(follow.ready(&[item("a", 2)])), [], "shown already");
        follow.ready(&[item("a", 3), item("b", 1)]);
        assert_eq!(
            ids(follow.ready(&[item("a", 3), item("b", 1)])),
            [("a".to_owned(), 3), ("b".to_owned(), 1)]
        );
    }
}
