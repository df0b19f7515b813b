//! The network half of `check trace-context`: a loopback callback listener,
//! one test-service request per [`Case`], and the verdicts.
//!
//! Protocol (the W3C test suite's): `POST target` with a JSON array
//! `[{"url": "http://127.0.0.1:PORT/callback/<case>", "arguments": []}]` and
//! the case's `traceparent`/`tracestate` headers; the service calls `url`
//! propagating its context, and whatever headers arrive there are judged.
//! Cases run one at a time so a late callback can never be mistaken for
//! another case's.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use tokio::sync::oneshot;

use super::{Case, Received, SpecLevel, Verdict, cases, judge};
use crate::check::{Finding, Level, Report, Source};
use crate::http_client::{self, HttpClient, HttpError, HttpOptions, Url};

/// How long one case may take by default (request plus callback).
pub const DEFAULT_CASE_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone)]
pub struct TraceContextOptions {
    /// How long one case may take: the request to the target and its callback.
    pub case_timeout: Duration,
    /// Accept a target that is not a loopback address. The callback listener
    /// stays on 127.0.0.1 regardless, so such a target must run on this host.
    pub allow_remote: bool,
    /// The W3C Trace Context level to check against.
    pub level: SpecLevel,
}

impl Default for TraceContextOptions {
    fn default() -> TraceContextOptions {
        TraceContextOptions {
            case_timeout: DEFAULT_CASE_TIMEOUT,
            allow_remote: false,
            level: SpecLevel::default(),
        }
    }
}

/// Why a run could not judge the target at all (as opposed to cases failing).
#[derive(Debug, thiserror::Error)]
pub enum TraceContextError {
    #[error("--target")]
    Target(#[source] HttpError),
    #[error("cannot listen for callbacks on 127.0.0.1")]
    Listen(#[source] std::io::Error),
    #[error("target unreachable")]
    Unreachable(#[source] HttpError),
    #[error(
        "{url} answered HTTP {status} to a test-service request ({body}); \
         is it a W3C test-service endpoint (parker-booking: --enable-test-endpoint)?"
    )]
    NotTestService {
        url: String,
        status: u16,
        body: String,
    },
}

/// One verdict per case, in the order they were sent.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TraceContextReport {
    pub target: String,
    pub level: SpecLevel,
    pub verdicts: Vec<Verdict>,
}

impl TraceContextReport {
    pub fn passed(&self) -> usize {
        self.verdicts.iter().filter(|v| v.passed).count()
    }

    pub fn failed(&self) -> impl Iterator<Item = &Verdict> {
        self.verdicts.iter().filter(|v| !v.passed)
    }

    /// Findings in the shape every check prints: a violation per failed
    /// case, information per passed one. `rule` is the case name, `path` the
    /// spec rule it pins, the source the target URL.
    pub fn findings(&self) -> Vec<Finding> {
        self.verdicts
            .iter()
            .map(|v| Finding {
                level: if v.passed {
                    Level::Information
                } else {
                    Level::Violation
                },
                rule: v.case,
                source: Source {
                    file: self.target.clone(),
                    line: None,
                },
                path: v.rule.to_owned(),
                span: None,
                message: v.detail.clone(),
            })
            .collect()
    }

    pub fn report(&self) -> Report {
        Report::new("trace-context", 1, self.findings())
    }
}

/// Runs every case against `target` (the service's test endpoint, e.g.
/// `http://127.0.0.1:8080/test`). Needs a tokio runtime with I/O and time.
pub async fn run_trace_context(
    target: &Url,
    opts: &TraceContextOptions,
) -> Result<TraceContextReport, TraceContextError> {
    let target = http_client::checked_url(target.as_str(), opts.allow_remote)
        .map_err(TraceContextError::Target)?;
    let callbacks = Callbacks::start().await?;
    let options = HttpOptions {
        allow_remote: opts.allow_remote,
        ..HttpOptions::loopback(opts.case_timeout)
    };
    let client = HttpClient::new(&options).map_err(TraceContextError::Target)?;
    // HTTP header names are case-insensitive, but `http` lowercases them:
    // title case on the wire is the closest a client can get to `TraceParent`.
    let title_case = HttpClient::new(&HttpOptions {
        title_case_headers: true,
        ..options
    })
    .map_err(TraceContextError::Target)?;
    let mut verdicts = Vec::new();
    for (index, case) in cases(opts.level).iter().enumerate() {
        let mixed_case = case
            .headers
            .iter()
            .any(|(n, _)| n.bytes().any(|b| b.is_ascii_uppercase()));
        let client = if mixed_case { &title_case } else { &client };
        let verdict = run_case(client, &target, &callbacks, case, opts.case_timeout).await;
        match verdict {
            Err(CaseError::Fatal(err)) => return Err(err),
            Err(CaseError::Status { status, body }) if index == 0 => {
                return Err(TraceContextError::NotTestService {
                    url: target.to_string(),
                    status,
                    body,
                });
            }
            Err(CaseError::Status { status, body }) => verdicts.push(Verdict {
                case: case.name,
                rule: case.rule,
                passed: false,
                detail: format!("the target answered HTTP {status} ({body}) and never called back"),
            }),
            Ok(verdict) => verdicts.push(verdict),
        }
    }
    Ok(TraceContextReport {
        target: target.to_string(),
        level: opts.level,
        verdicts,
    })
}

enum CaseError {
    Fatal(TraceContextError),
    Status { status: u16, body: String },
}

async fn run_case(
    client: &HttpClient,
    target: &Url,
    callbacks: &Callbacks,
    case: &Case,
    timeout: Duration,
) -> Result<Verdict, CaseError> {
    let arrived = callbacks.expect(case.name);
    let body = serde_json::json!([{ "url": callbacks.url(case.name), "arguments": [] }]);
    let failed = |detail: String| Verdict {
        case: case.name,
        rule: case.rule,
        passed: false,
        detail,
    };
    let mut headers = axum::http::HeaderMap::new();
    headers.insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/json"),
    );
    for (name, value) in &case.headers {
        let parsed = axum::http::HeaderName::try_from(name.as_str()).map_err(|e| e.to_string());
        let parsed = parsed.and_then(|n| {
            axum::http::HeaderValue::try_from(value.as_str())
                .map(|v| (n, v))
                .map_err(|e| e.to_string())
        });
        match parsed {
            Ok((n, v)) => {
                headers.append(n, v);
            }
            Err(e) => return Ok(failed(format!("cannot send header {name}: {e}"))),
        }
    }
    let deadline = tokio::time::Instant::now() + timeout;
    let sent = client
        .send(
            axum::http::Method::POST,
            target,
            headers,
            body.to_string().into(),
        )
        .await;
    match sent {
        Ok(response) if response.is_success() => {}
        Ok(response) => {
            return Err(CaseError::Status {
                status: response.status,
                body: http_client::truncate(response.text().trim(), 200),
            });
        }
        Err(err @ (HttpError::Connect { .. } | HttpError::Tls { .. })) => {
            return Err(CaseError::Fatal(TraceContextError::Unreachable(err)));
        }
        Err(err) => {
            return Ok(failed(format!("request to the target failed: {err}")));
        }
    }
    // The W3C test service calls back before it answers, but a service may
    // do it afterwards; the rest of the case's time is allowed for it.
    match tokio::time::timeout_at(deadline, arrived).await {
        Ok(Ok(received)) => Ok(judge(case, &received)),
        _ => Ok(failed(format!(
            "no callback arrived at {} within {timeout:?}",
            callbacks.url(case.name)
        ))),
    }
}

type Pending = Arc<Mutex<HashMap<&'static str, oneshot::Sender<Received>>>>;

/// The loopback listener the service calls back; stops when dropped.
struct Callbacks {
    addr: SocketAddr,
    pending: Pending,
    task: tokio::task::JoinHandle<()>,
}

impl Callbacks {
    async fn start() -> Result<Callbacks, TraceContextError> {
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .map_err(TraceContextError::Listen)?;
        let addr = listener.local_addr().map_err(TraceContextError::Listen)?;
        let pending = Pending::default();
        let app = Router::new()
            .route("/callback/{case}", post(callback))
            .with_state(pending.clone());
        let task = tokio::spawn(async move {
            // Serving only ends when the task is aborted on drop.
            let _ = axum::serve(listener, app).await;
        });
        Ok(Callbacks {
            addr,
            pending,
            task,
        })
    }

    fn url(&self, case: &str) -> String {
        format!("http://{}/callback/{case}", self.addr)
    }

    /// Registers `case` as awaited; the receiver yields its first callback.
    fn expect(&self, case: &'static str) -> oneshot::Receiver<Received> {
        let (tx, rx) = oneshot::channel();
        lock(&self.pending).insert(case, tx);
        rx
    }
}

impl Drop for Callbacks {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn lock(
    pending: &Pending,
) -> std::sync::MutexGuard<'_, HashMap<&'static str, oneshot::Sender<Received>>> {
    // Only inserts and removes happen under the lock; a poisoned map is intact.
    pending.lock().unwrap_or_else(|p| p.into_inner())
}

/// Records the context headers of the first call per awaited case. Late or
/// unknown callbacks still get 200: the service under test is not at fault.
async fn callback(
    State(pending): State<Pending>,
    Path(case): Path<String>,
    headers: HeaderMap,
) -> StatusCode {
    if let Some(tx) = lock(&pending).remove(case.as_str()) {
        let values: Vec<(&str, String)> = headers
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect();
        let received = Received::from_headers(values.iter().map(|(n, v)| (*n, v.as_str())));
        let _ = tx.send(received);
    }
    StatusCode::OK
}
