//! Running one definition: resolve the trigger's `${env:…}`/`${var:…}`,
//! send it with a fresh sampled `traceparent`, wait for the trace (see
//! [`super::capture`]), evaluate every spec on it and read the outputs
//! (which become `${var:…}` for the definitions after it).

use std::collections::BTreeMap;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use serde::Serialize;

use super::capture::{self, CaptureError, Collector, Polling};
use super::definition::{Definition, Located, Spec};
use super::expr::{self, ExprError, Op, Scope};
use super::trace::{Trace, TriggerResponse};
use super::trigger::Auth;
use crate::http_client::{HttpClient, HttpError};

/// Why a definition could not run (exit 2), as opposed to failing (exit 1).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{file}:{line}:{column}: {error}")]
    Resolve {
        file: String,
        line: usize,
        column: usize,
        error: ExprError,
    },
    #[error("{file}:{line}:{column}: {message}")]
    BadTrigger {
        file: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("the trigger request to {url} failed: {error}")]
    Trigger { url: String, error: HttpError },
    #[error(transparent)]
    Capture(#[from] CaptureError),
    #[error("cannot make a random trace id: {0}")]
    Random(getrandom::Error),
}

/// One assertion on one span (or on no span, when the selector chose none).
#[derive(Debug, Clone, Serialize)]
pub struct AssertionCheck {
    pub span_id: Option<String>,
    pub span_name: Option<String>,
    pub observed: Option<String>,
    pub expected: Option<String>,
    pub passed: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct AssertionResult {
    pub assertion: String,
    pub op: Op,
    pub passed: bool,
    pub checks: Vec<AssertionCheck>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SpecResult {
    pub name: String,
    pub selector: String,
    pub selected_spans: usize,
    pub passed: bool,
    pub assertions: Vec<AssertionResult>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TestResult {
    pub file: String,
    pub id: String,
    pub name: String,
    pub trace_id: String,
    pub spans: usize,
    /// The polling timeout passed while spans still arrived.
    pub trace_incomplete: bool,
    pub trigger_status: u16,
    /// From `triggered` to the last spec evaluated.
    pub duration_ms: f64,
    pub passed: bool,
    pub specs: Vec<SpecResult>,
    pub outputs: BTreeMap<String, String>,
}

/// How to run definitions.
pub struct Runner<'a> {
    pub http: HttpClient,
    pub collector: Collector,
    pub polling: Polling,
    pub env: &'a dyn Fn(&str) -> Option<String>,
}

struct Request {
    method: Method,
    url: String,
    headers: HeaderMap,
    body: String,
}

impl Runner<'_> {
    /// Runs `definition`; its outputs are added to `vars`.
    pub async fn run(
        &self,
        definition: &Definition,
        vars: &mut BTreeMap<String, String>,
    ) -> Result<TestResult, RunError> {
        let started = Instant::now();
        let request = self.resolve(definition, vars)?;
        let trace_id = capture::new_trace_id().map_err(RunError::Random)?;
        let parent = capture::trigger_span_id(&trace_id);
        let traceparent = format!("00-{trace_id}-{parent}-01");
        let mut headers = request.headers;
        headers.insert(
            "traceparent",
            HeaderValue::from_str(&traceparent).expect("hex digits and dashes"),
        );
        let start_ns = unix_nanos();
        let failed = |error| RunError::Trigger {
            url: request.url.clone(),
            error,
        };
        let url = self.http.url(&request.url).map_err(failed)?;
        let response = self
            .http
            .send(request.method, &url, headers, request.body.into())
            .await
            .map_err(failed)?;
        let end_ns = unix_nanos();
        let captured = self
            .collector
            .wait(&trace_id, start_ns, self.polling)
            .await?;
        let response = TriggerResponse {
            status: response.status,
            body: response.text(),
            headers: response
                .headers
                .iter()
                .map(|(k, v)| {
                    (
                        k.to_string(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect(),
        };
        let trace = Trace::assemble(&parent, start_ns, end_ns, &response, &captured.details);
        // Outputs first: a spec may read an output of its own test.
        let mut outputs = BTreeMap::new();
        for output in &definition.outputs {
            let value = output
                .selector
                .select(&trace)
                .into_iter()
                .find_map(|i| output.value.read(&trace.spans[i]))
                .unwrap_or_default();
            outputs.insert(output.name.clone(), value);
        }
        vars.extend(outputs.clone());
        let scope = Scope {
            vars,
            env: self.env,
        };
        let specs: Vec<SpecResult> = definition
            .specs
            .iter()
            .map(|spec| evaluate(spec, &trace, &scope))
            .collect::<Result<_, _>>()
            .map_err(|(spec, error): (&Spec, ExprError)| RunError::Resolve {
                file: definition.file.display().to_string(),
                line: spec.pos.line,
                column: spec.pos.column,
                error,
            })?;
        let passed = specs.iter().all(|s| s.passed) && !captured.timed_out;
        Ok(TestResult {
            file: definition.file.display().to_string(),
            id: definition.id.clone(),
            name: definition.name.clone(),
            trace_id,
            spans: trace.spans.len(),
            trace_incomplete: captured.timed_out,
            trigger_status: response.status,
            duration_ms: started.elapsed().as_secs_f64() * 1e3,
            passed,
            specs,
            outputs,
        })
    }

    fn resolve(
        &self,
        d: &Definition,
        vars: &BTreeMap<String, String>,
    ) -> Result<Request, RunError> {
        let scope = Scope {
            vars,
            env: self.env,
        };
        let file = d.file.display().to_string();
        let text = |l: &Located<String>| {
            expr::interpolate(&l.value, &scope).map_err(|error| RunError::Resolve {
                file: file.clone(),
                line: l.pos.line,
                column: l.pos.column,
                error,
            })
        };
        let bad = |l: &Located<String>, message: String| RunError::BadTrigger {
            file: file.clone(),
            line: l.pos.line,
            column: l.pos.column,
            message,
        };
        let t = &d.trigger;
        let method_text = text(&t.method)?.to_ascii_uppercase();
        let method = Method::from_bytes(method_text.as_bytes())
            .map_err(|_| bad(&t.method, format!("{method_text:?} is not an HTTP method")))?;
        let mut url = text(&t.url)?;
        let mut headers = HeaderMap::new();
        for (k, v) in &t.headers {
            let name = HeaderName::from_bytes(text(k)?.as_bytes())
                .map_err(|e| bad(k, format!("header name {:?}: {e}", k.value)))?;
            let value = HeaderValue::from_str(&text(v)?).map_err(|e| {
                bad(
                    v,
                    format!("header {:?} has a value not allowed in HTTP: {e}", k.value),
                )
            })?;
            headers.append(name, value);
        }
        match &t.auth {
            None => {}
            Some(Auth::Basic { username, password }) => {
                let pair = format!("{}:{}", text(username)?, text(password)?);
                let value = format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(pair)
                );
                headers.insert(
                    http::header::AUTHORIZATION,
                    HeaderValue::from_str(&value)
                        .map_err(|e| bad(username, format!("basic credentials: {e}")))?,
                );
            }
            Some(Auth::Bearer(token)) => {
                let value = format!("Bearer {}", text(token)?);
                headers.insert(
                    http::header::AUTHORIZATION,
                    HeaderValue::from_str(&value)
                        .map_err(|e| bad(token, format!("bearer token: {e}")))?,
                );
            }
            Some(Auth::ApiKey {
                key,
                value,
                in_query,
            }) => {
                let (k, v) = (text(key)?, text(value)?);
                if *in_query {
                    let mut parsed =
                        url::Url::parse(&url).map_err(|e| bad(&t.url, format!("{url:?}: {e}")))?;
                    parsed.query_pairs_mut().append_pair(&k, &v);
                    url = parsed.to_string();
                } else {
                    headers.append(
                        HeaderName::from_bytes(k.as_bytes())
                            .map_err(|e| bad(key, format!("apiKey name: {e}")))?,
                        HeaderValue::from_str(&v)
                            .map_err(|e| bad(value, format!("apiKey value: {e}")))?,
                    );
                }
            }
        }
        let body = match &t.body {
            Some(b) => text(b)?,
            None => String::new(),
        };
        Ok(Request {
            method,
            url,
            headers,
            body,
        })
    }
}

fn unix_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// The assertions of `spec` on the spans its selector chooses. With none
/// chosen, only `tracetest.selected_spans.count` has a value.
fn evaluate<'s>(
    spec: &'s Spec,
    trace: &Trace,
    scope: &Scope<'_>,
) -> Result<SpecResult, (&'s Spec, ExprError)> {
    let selected = spec.selector.select(trace);
    let count = selected.len().to_string();
    let mut assertions = Vec::new();
    for a in &spec.assertions {
        let targets: Vec<Option<usize>> = if selected.is_empty() {
            vec![None]
        } else {
            selected.iter().copied().map(Some).collect()
        };
        let mut checks = Vec::new();
        for target in targets {
            let span = target.map(|i| &trace.spans[i]);
            let observed = if a.left.name == "tracetest.selected_spans.count" {
                Some(count.clone())
            } else {
                span.and_then(|s| a.left.read(s))
            };
            let expected = a.right.eval(span, scope).map_err(|e| (spec, e))?;
            let passed = match (&observed, &expected) {
                (Some(o), Some(e)) => a.holds(o, e),
                _ => false,
            };
            checks.push(AssertionCheck {
                span_id: span.map(|s| s.span_id.clone()),
                span_name: span.map(|s| s.name.clone()),
                observed,
                expected,
                passed,
            });
        }
        assertions.push(AssertionResult {
            assertion: a.text.clone(),
            op: a.op,
            passed: checks.iter().all(|c| c.passed),
            checks,
        });
    }
    Ok(SpecResult {
        name: spec.name.clone(),
        selector: spec.selector_text.clone(),
        selected_spans: selected.len(),
        passed: assertions.iter().all(|a| a.passed),
        assertions,
    })
}
