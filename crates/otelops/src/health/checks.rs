//! The individual health checks. Each returns a [`CheckResult`]; none panics
//! or returns early with an error: a failure is a result.

use std::time::Instant;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use prost::Message;
use serde_json::Value;

use super::{CheckKind, CheckResult, Outcome};
use crate::http_client::{HttpClient, HttpError, Response, Url, truncate};

fn result(
    check: CheckKind,
    target: &Url,
    started: Instant,
    outcome: Outcome,
    detail: String,
) -> CheckResult {
    CheckResult {
        check,
        target: target.to_string(),
        outcome,
        latency_ms: Some(started.elapsed().as_secs_f64() * 1000.0),
        detail,
    }
}

/// GET that keeps non-2xx responses (health endpoints answer 503 with a body).
async fn get(client: &HttpClient, url: &Url) -> Result<(u16, String), HttpError> {
    let resp = client.get(url).await?;
    Ok((resp.status, resp.text()))
}

/// health_check v1: 200 with `{"status":"Server available",…}`; 503 when
/// the collector is not ready.
pub async fn health_v1(client: &HttpClient, url: &Url) -> CheckResult {
    let started = Instant::now();
    let k = CheckKind::Health;
    let (status, body) = match get(client, url).await {
        Ok(x) => x,
        Err(e) => return result(k, url, started, Outcome::Fail, e.to_string()),
    };
    let json: Option<Value> = serde_json::from_str(&body).ok();
    let said = json
        .as_ref()
        .and_then(|j| j.get("status"))
        .and_then(Value::as_str)
        .map(str::to_string);
    match (status, said.as_deref()) {
        (200, Some("Server available")) => {
            let up = json
                .as_ref()
                .and_then(|j| j.get("uptime"))
                .and_then(Value::as_str)
                .unwrap_or("?");
            result(
                k,
                url,
                started,
                Outcome::Pass,
                format!("Server available (uptime {up})"),
            )
        }
        (200, other) => result(
            k,
            url,
            started,
            Outcome::Fail,
            format!(
                "HTTP 200 but status is {:?}, expected \"Server available\": {}",
                other,
                truncate(&body, 120)
            ),
        ),
        (code, Some(s)) => result(
            k,
            url,
            started,
            Outcome::Fail,
            format!("HTTP {code}: not ready ({s})"),
        ),
        (code, None) => result(
            k,
            url,
            started,
            Outcome::Fail,
            format!("HTTP {code}: {}", truncate(&body, 120)),
        ),
    }
}

/// health_check v2 (`/status`): overall `healthy` and the component tree;
/// failing components are named. When the URL was not given explicitly a
/// missing endpoint (404, refused) means "v2 not enabled" and is skipped.
pub async fn health_v2(client: &HttpClient, url: &Url, explicit: bool) -> CheckResult {
    let started = Instant::now();
    let k = CheckKind::HealthV2;
    let (status, body) = match get(client, url).await {
        Ok(x) => x,
        Err(e) if !explicit => {
            return result(
                k,
                url,
                started,
                Outcome::Skipped,
                format!("not detected ({e})"),
            );
        }
        Err(e) => return result(k, url, started, Outcome::Fail, e.to_string()),
    };
    let json: Option<Value> = serde_json::from_str(&body).ok();
    // v2 documents always carry a boolean `healthy`. health_check v1 answers
    // any path under its own, `/status` included, with `{"status":"Server
    // available",…}`: that is v1 on the same port, not a v2 status.
    let Some(json) = json.filter(|j| j.get("healthy").is_some_and(Value::is_boolean)) else {
        let outcome = if explicit {
            Outcome::Fail
        } else {
            Outcome::Skipped
        };
        let what = if explicit {
            "not a health_check v2 status document"
        } else {
            "not detected"
        };
        return result(k, url, started, outcome, format!("{what} (HTTP {status})"));
    };
    let mut failing = Vec::new();
    unhealthy(&json, "", &mut failing);
    let healthy = json
        .get("healthy")
        .and_then(Value::as_bool)
        .unwrap_or(status == 200);
    let overall = json.get("status").and_then(Value::as_str).unwrap_or("?");
    if healthy && status == 200 && failing.is_empty() {
        result(
            k,
            url,
            started,
            Outcome::Pass,
            format!("healthy ({overall})"),
        )
    } else {
        let names = if failing.is_empty() {
            String::new()
        } else {
            format!(": {}", failing.join(", "))
        };
        result(
            k,
            url,
            started,
            Outcome::Fail,
            format!("HTTP {status}, unhealthy ({overall}){names}"),
        )
    }
}

/// Collect leaf components with `healthy: false` as `pipeline:traces/receiver:otlp (status: error)`.
fn unhealthy(node: &Value, path: &str, out: &mut Vec<String>) {
    let Some(children) = node.get("components").and_then(Value::as_object) else {
        if node.get("healthy").and_then(Value::as_bool) == Some(false) && !path.is_empty() {
            let status = node.get("status").and_then(Value::as_str).unwrap_or("?");
            let err = node
                .get("error")
                .and_then(Value::as_str)
                .filter(|e| !e.is_empty());
            out.push(match err {
                Some(e) => format!("{path} ({status}: {e})"),
                None => format!("{path} ({status})"),
            });
        }
        return;
    };
    for (name, child) in children {
        let p = if path.is_empty() {
            name.clone()
        } else {
            format!("{path}/{name}")
        };
        unhealthy(child, &p, out);
    }
}

/// The internal metrics page parses and has `otelcol_` series.
pub async fn metrics(client: &HttpClient, url: &Url) -> CheckResult {
    let started = Instant::now();
    let k = CheckKind::Metrics;
    let text = match client.get_text(url).await {
        Ok((t, _)) => t,
        Err(e) => return result(k, url, started, Outcome::Fail, e.to_string()),
    };
    match crate::prom::parse(&text) {
        Err(e) => result(
            k,
            url,
            started,
            Outcome::Fail,
            format!("not Prometheus text: {e}"),
        ),
        Ok(page) => {
            let otelcol = page
                .families()
                .iter()
                .filter(|f| f.name.starts_with("otelcol") && !f.samples.is_empty())
                .count();
            if otelcol == 0 {
                result(
                    k,
                    url,
                    started,
                    Outcome::Fail,
                    format!("{} series, none named otelcol_*", page.series_count()),
                )
            } else {
                result(
                    k,
                    url,
                    started,
                    Outcome::Pass,
                    format!(
                        "{} series, {otelcol} otelcol_* metrics",
                        page.series_count()
                    ),
                )
            }
        }
    }
}

/// An empty ExportTraceServiceRequest over gRPC: a live OTLP receiver answers
/// OK. Over https with the client's CA and certificate, and its bearer token.
pub async fn otlp_grpc(client: &HttpClient, url: &Url) -> CheckResult {
    let started = Instant::now();
    let k = CheckKind::OtlpGrpc;
    let timeout = client.timeout();
    let attempt = async {
        let mut request = tonic::Request::new(ExportTraceServiceRequest::default());
        if let Some(token) = client.bearer(url).map_err(|e| e.to_string())? {
            let value = tonic::metadata::MetadataValue::try_from(token.header().as_bytes())
                .map_err(|_| {
                    format!(
                        "the token from the {} is not valid gRPC metadata",
                        token.source()
                    )
                })?;
            request.metadata_mut().insert("authorization", value);
        }
        let channel = client.grpc_channel(url).await.map_err(|e| e.to_string())?;
        let mut grpc = TraceServiceClient::new(channel);
        grpc.export(request).await.map_err(|s| {
            refused(
                client,
                &format!("gRPC {:?}: {}", s.code(), s.message()),
                s.code() == tonic::Code::Unauthenticated,
            )
        })?;
        Ok::<_, String>(())
    };
    match tokio::time::timeout(timeout, attempt).await {
        Ok(Ok(())) => result(
            k,
            url,
            started,
            Outcome::Pass,
            "empty trace export accepted".into(),
        ),
        Ok(Err(e)) => result(k, url, started, Outcome::Fail, e),
        Err(_) => result(
            k,
            url,
            started,
            Outcome::Fail,
            format!("no answer within {timeout:?}"),
        ),
    }
}

/// An auth refusal says whether a token was sent, and from where.
fn refused(client: &HttpClient, what: &str, unauthenticated: bool) -> String {
    if !unauthenticated {
        return what.to_string();
    }
    match client.token_source() {
        Some(source) => format!("{what}: the receiver refused the bearer token from the {source}"),
        None => format!("{what}: the receiver wants a bearer token (--token-file or --token-env)"),
    }
}

/// POST an empty protobuf ExportTraceServiceRequest to `/v1/traces`: 200.
pub async fn otlp_http(client: &HttpClient, url: &Url) -> CheckResult {
    let started = Instant::now();
    let k = CheckKind::OtlpHttp;
    let body = ExportTraceServiceRequest::default().encode_to_vec();
    match client.post(url, "application/x-protobuf", body).await {
        Err(e) => result(k, url, started, Outcome::Fail, e.to_string()),
        Ok(resp) if resp.status == 200 => result(
            k,
            url,
            started,
            Outcome::Pass,
            "empty trace export accepted".into(),
        ),
        Ok(resp) => {
            let what = format!("HTTP {}: {}", resp.status, otlp_error_message(&resp));
            result(
                k,
                url,
                started,
                Outcome::Fail,
                refused(client, &what, resp.status == 401),
            )
        }
    }
}

/// `google.rpc.Status`, which OTLP/HTTP answers a protobuf request's failure
/// with; only its message is wanted.
#[derive(Clone, PartialEq, prost::Message)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
}

/// The message of an OTLP/HTTP error answer: decoded from its protobuf
/// `Status` body when it is one, else the body's first characters.
fn otlp_error_message(resp: &Response) -> String {
    let protobuf = resp
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-protobuf"));
    match RpcStatus::decode(resp.body.clone()) {
        Ok(status) if protobuf && !status.message.is_empty() => truncate(&status.message, 200),
        _ => truncate(&resp.text(), 120),
    }
}

/// `/debug/servicez` and `/debug/pipelinez` both answer 200.
pub async fn zpages(client: &HttpClient, base: &Url) -> CheckResult {
    let started = Instant::now();
    let k = CheckKind::Zpages;
    let mut failures = Vec::new();
    for page in ["/debug/servicez", "/debug/pipelinez"] {
        let mut u = base.clone();
        u.set_path(page);
        match get(client, &u).await {
            Ok((200, _)) => {}
            Ok((code, _)) => failures.push(format!("{page}: HTTP {code}")),
            Err(e) => failures.push(e.to_string()),
        }
    }
    if failures.is_empty() {
        result(
            k,
            base,
            started,
            Outcome::Pass,
            "servicez and pipelinez answer".into(),
        )
    } else {
        result(k, base, started, Outcome::Fail, failures.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(content_type: &'static str, body: Vec<u8>) -> Response {
        let mut headers = http::HeaderMap::new();
        headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static(content_type),
        );
        Response {
            status: 401,
            headers,
            body: body.into(),
        }
    }

    #[test]
    fn otlp_http_errors_show_the_status_message_not_protobuf_bytes() {
        let status = RpcStatus {
            code: 16,
            message: "missing or empty authorization header".into(),
        };
        let pb = answer("application/x-protobuf", status.encode_to_vec());
        assert_eq!(
            otlp_error_message(&pb),
            "missing or empty authorization header"
        );
        let text = answer("text/plain", b"Unauthorized".to_vec());
        assert_eq!(otlp_error_message(&text), "Unauthorized");
    }

    #[test]
    fn unhealthy_names_failing_leaf_components() {
        let doc: Value = serde_json::from_str(
            r#"{"healthy":false,"status":"StatusRecoverableError","components":{
                "pipeline:traces":{"healthy":false,"status":"StatusRecoverableError","components":{
                    "receiver:otlp":{"healthy":true,"status":"StatusOK"},
                    "exporter:otlp":{"healthy":false,"status":"StatusRecoverableError","error":"connection refused"}}},
                "extensions":{"healthy":true,"status":"StatusOK","components":{}}}}"#,
        )
        .unwrap();
        let mut out = Vec::new();
        unhealthy(&doc, "", &mut out);
        assert_eq!(
            out,
            vec!["pipeline:traces/exporter:otlp (StatusRecoverableError: connection refused)"]
        );
    }
}
