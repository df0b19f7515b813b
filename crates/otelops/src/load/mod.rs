//! `otelops load`: OTLP trace load against a collector, bounded in count and
//! time, with a result the collector's own counters can be checked against.
//!
//! Start at [`run`]. A [`payload`] template (a file such as
//! test-data/sample-trace.json, or synthetic traces shaped like
//! telemetrygen's) is encoded once; each request copies it with fresh ids
//! ([`payload::Template::fresh`]). Workers take numbered tickets paced by
//! [`rate::Pacer`], send through a [`sender::Sender`] (OTLP/HTTP JSON or
//! protobuf, or gRPC, over the shared `http_client` rules: loopback unless
//! `--allow-remote`, TLS, bearer token) and count answers in their own
//! [`report::Tally`]; [`progress`] shows how far the run is.

pub mod payload;
pub mod progress;
pub mod rate;
pub mod report;
pub mod sender;

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use flate2::Compression;
use flate2::write::GzEncoder;

use crate::http_client::{HttpClient, HttpError, Url};
use payload::{Encoding, IdSource, Synthetic, Template};
use progress::Progress;
use rate::Pacer;
use report::{Summary, Tally};
use sender::Sender;

/// Hard upper limits: a load test must end, whatever the flags say.
pub const MAX_REQUESTS: u64 = 10_000_000;
pub const MAX_DURATION: Duration = Duration::from_secs(3600);
pub const MAX_CONCURRENCY: u64 = 1024;
/// Spans in one synthetic request (traces × (1 + child spans)).
pub const MAX_SPANS_PER_REQUEST: u64 = 100_000;

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read {}: {source}", path.display())]
    ReadFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{} is not an OTLP/JSON trace export request (ExportTraceServiceRequest, \
         `{{\"resourceSpans\": [...]}}`): {source}",
        path.display()
    )]
    NotOtlp {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{} holds no spans (expected resourceSpans[].scopeSpans[].spans[])", .0.display())]
    NoSpans(PathBuf),
    #[error("{what} = {value}: {why}")]
    Limit {
        what: &'static str,
        value: String,
        why: String,
    },
    #[error("cannot encode the request: {0}")]
    Encode(String),
    #[error(transparent)]
    Http(#[from] HttpError),
}

/// Where the load goes and how.
#[derive(Debug, Clone)]
pub enum Protocol {
    Http(Encoding),
    Grpc,
}

impl Protocol {
    pub fn name(&self) -> &'static str {
        match self {
            Protocol::Http(Encoding::Json) => "http/json",
            Protocol::Http(Encoding::Protobuf) => "http/protobuf",
            Protocol::Grpc => "grpc",
        }
    }

    fn encoding(&self) -> Encoding {
        match self {
            Protocol::Http(e) => *e,
            Protocol::Grpc => Encoding::Protobuf,
        }
    }
}

/// What every request carries.
#[derive(Debug, Clone)]
pub enum Source {
    File(PathBuf),
    Synthetic(Synthetic),
}

/// When the run ends: after `requests`, at `duration`, whichever is first.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    requests: u64,
    duration: Duration,
}

impl Bounds {
    /// Both within the hard limits; a missing one is the hard limit itself.
    pub fn new(requests: Option<u64>, duration: Option<Duration>) -> Result<Bounds, LoadError> {
        let requests = requests.unwrap_or(MAX_REQUESTS);
        if !(1..=MAX_REQUESTS).contains(&requests) {
            return Err(LoadError::Limit {
                what: "--requests",
                value: requests.to_string(),
                why: format!("expected 1 to {MAX_REQUESTS}"),
            });
        }
        let duration = duration.unwrap_or(MAX_DURATION);
        if duration.is_zero() || duration > MAX_DURATION {
            return Err(LoadError::Limit {
                what: "--duration",
                value: humantime::format_duration(duration).to_string(),
                why: "expected more than 0 and at most 1h".into(),
            });
        }
        Ok(Bounds { requests, duration })
    }
}

#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// The traces URL (…/v1/traces) for HTTP, the server for gRPC.
    pub url: Url,
    pub protocol: Protocol,
    pub source: Source,
    /// Fresh trace and span ids per request (else the file's, every time).
    pub fresh_ids: bool,
    pub gzip: bool,
    pub bounds: Bounds,
    /// Requests in flight at once.
    pub concurrency: u64,
    /// Requests per second over all workers; `None` as fast as answered.
    pub rate: Option<f64>,
    pub progress: progress::Style,
}

/// The template every request is copied from (read and encoded before the
/// clock starts, so bad input fails before anything is sent).
pub fn template(config: &LoadConfig) -> Result<Template, LoadError> {
    let request = match &config.source {
        Source::File(path) => payload::read_file(path)?,
        Source::Synthetic(shape) => {
            let spans = u64::from(shape.traces_per_request) * (1 + u64::from(shape.child_spans));
            if spans > MAX_SPANS_PER_REQUEST {
                return Err(LoadError::Limit {
                    what: "spans per request (--traces × (1 + --child-spans))",
                    value: spans.to_string(),
                    why: format!("at most {MAX_SPANS_PER_REQUEST}"),
                });
            }
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
            payload::synthetic(*shape, now)
        }
    };
    Template::new(request, config.protocol.encoding())
}

/// Runs the load: connects, sends until a bound is reached, then waits for
/// the requests in flight (each bounded by the client's timeout).
pub async fn run(config: &LoadConfig, client: &HttpClient) -> Result<Summary, LoadError> {
    let template = Arc::new(template(config)?);
    let sender = match &config.protocol {
        Protocol::Http(encoding) => {
            Sender::http(client.clone(), config.url.clone(), *encoding, config.gzip)?
        }
        Protocol::Grpc => Sender::grpc(client, &config.url, config.gzip).await?,
    };
    let started = Instant::now();
    let deadline = started + config.bounds.duration;
    let pacer = Pacer::new(started, config.rate);
    let shared = Arc::new(Shared::default());
    let progress = Progress::start(
        config.progress,
        shared.clone(),
        config.bounds.requests,
        config.bounds.duration,
    );
    let workers: Vec<_> = (0..config.concurrency)
        .map(|_| {
            let worker = Worker {
                template: template.clone(),
                sender: sender.clone(),
                shared: shared.clone(),
                fresh_ids: config.fresh_ids,
                gzip: config.gzip && matches!(config.protocol, Protocol::Http(_)),
                requests: config.bounds.requests,
                deadline,
                pacer,
            };
            tokio::spawn(worker.run())
        })
        .collect();
    let mut tally = Tally::default();
    for w in workers {
        // A worker only ends by returning its tally; a panic is a bug.
        tally.merge(w.await.expect("a load worker panicked"));
    }
    let elapsed = started.elapsed();
    progress.finish().await;
    Ok(tally.summary(
        config.url.to_string(),
        config.protocol.name(),
        config.gzip,
        elapsed,
    ))
}

/// Counters the workers share: tickets taken, and for [`progress`] what is done.
#[derive(Debug, Default)]
pub struct Shared {
    next_ticket: AtomicU64,
    pub done: AtomicU64,
    pub spans_accepted: AtomicU64,
}

struct Worker {
    template: Arc<Template>,
    sender: Sender,
    shared: Arc<Shared>,
    fresh_ids: bool,
    gzip: bool,
    requests: u64,
    deadline: Instant,
    pacer: Pacer,
}

impl Worker {
    async fn run(mut self) -> Tally {
        let mut tally = Tally::default();
        let mut ids = IdSource::seeded();
        let spans = self.template.spans();
        loop {
            let ticket = self.shared.next_ticket.fetch_add(1, Ordering::Relaxed);
            if ticket >= self.requests {
                break;
            }
            if !self.pacer.wait_for(ticket, self.deadline).await {
                break;
            }
            let body = if self.fresh_ids {
                self.template.fresh(&mut ids)
            } else {
                self.template.unchanged()
            };
            let body = if self.gzip { gzip(&body) } else { body };
            let sent = Instant::now();
            let answer = self.sender.send(body).await;
            let latency = sent.elapsed();
            if let sender::Outcome::Accepted { rejected } = answer.outcome {
                self.shared
                    .spans_accepted
                    .fetch_add(spans.saturating_sub(rejected), Ordering::Relaxed);
            }
            tally.record(answer, spans, latency);
            self.shared.done.fetch_add(1, Ordering::Relaxed);
        }
        tally
    }
}

/// gzip at the fastest level: a load client should spend its CPU sending.
fn gzip(body: &[u8]) -> Vec<u8> {
    let mut out = GzEncoder::new(Vec::with_capacity(body.len() / 4), Compression::fast());
    out.write_all(body)
        .and_then(|()| out.finish())
        .expect("gzip into a Vec cannot fail")
}

/// The URL to send to: `endpoint` as given, scheme-less meaning https when
/// TLS files were given (as `otelops health` reads its OTLP targets); for
/// HTTP an endpoint without a path gets the OTLP traces path `/v1/traces`.
/// The default is the collector's OTLP port on 127.0.0.1.
pub fn endpoint_url(
    endpoint: Option<&str>,
    protocol: &Protocol,
    tls: bool,
    client: &HttpClient,
) -> Result<Url, LoadError> {
    let scheme = if tls { "https" } else { "http" };
    let given = match endpoint {
        Some(e) if e.contains("://") => e.to_owned(),
        Some(e) => format!("{scheme}://{e}"),
        None => match protocol {
            Protocol::Grpc => format!("{scheme}://127.0.0.1:4317"),
            Protocol::Http(_) => format!("{scheme}://127.0.0.1:4318"),
        },
    };
    let mut url = client.url(&given)?;
    if matches!(protocol, Protocol::Http(_)) && matches!(url.path(), "" | "/") {
        url.set_path("/v1/traces");
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_default_to_the_collector_ports_and_the_traces_path() {
        let c = HttpClient::loopback(Duration::from_secs(1));
        let http = Protocol::Http(Encoding::Json);
        let url = |e, p, tls| endpoint_url(e, p, tls, &c).map(|u| u.to_string());
        assert_eq!(
            url(None, &http, false).unwrap(),
            "http://127.0.0.1:4318/v1/traces"
        );
        assert_eq!(
            url(None, &Protocol::Grpc, true).unwrap(),
            "https://127.0.0.1:4317/"
        );
        assert_eq!(
            url(Some("localhost:9999"), &http, true).unwrap(),
            "https://localhost:9999/v1/traces"
        );
        assert_eq!(
            url(Some("http://127.0.0.1:1/custom"), &http, false).unwrap(),
            "http://127.0.0.1:1/custom"
        );
        let err = url(Some("10.1.2.3:4318"), &http, false).unwrap_err();
        assert!(err.to_string().contains("--allow-remote"), "{err}");
    }

    #[test]
    fn bounds_stay_under_the_hard_limits() {
        assert!(Bounds::new(Some(1000), None).is_ok());
        let err = Bounds::new(Some(MAX_REQUESTS + 1), None).unwrap_err();
        assert!(
            err.to_string().starts_with("--requests = 10000001"),
            "{err}"
        );
        let err = Bounds::new(None, Some(Duration::from_secs(7200))).unwrap_err();
        assert!(err.to_string().contains("at most 1h"), "{err}");
    }
}
