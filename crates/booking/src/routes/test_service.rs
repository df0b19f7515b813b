//! `POST /test`: the W3C Trace Context test-service endpoint
//! (<https://github.com/w3c/trace-context/tree/main/test>). The body is a JSON
//! array of `{url, arguments}`; for each element the service POSTs
//! `arguments` as JSON to `url`, propagating the current trace context
//! through `TracedClient` (W3C Trace Context Level 2: the random trace-flag
//! and Level 2 `tracestate` keys included; `otelops check trace-context`
//! passes it at both levels). Off unless `--enable-test-endpoint`; targets
//! must be loopback so the endpoint cannot be turned into a proxy.

use std::net::IpAddr;

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use http::StatusCode;
use serde::Deserialize;

use crate::error::ApiError;
use crate::state::AppState;
use crate::store::Store;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestCall {
    url: String,
    arguments: serde_json::Value,
}

/// The harness sends a handful of calls per request.
const MAX_CALLS: usize = 32;

pub async fn run<S: Store>(
    State(state): State<AppState<S>>,
    body: Result<Json<Vec<TestCall>>, JsonRejection>,
) -> Result<StatusCode, ApiError> {
    let Json(calls) = body?;
    let Some(client) = state.test_client else {
        return Err(ApiError::NotFound("POST /test is not enabled".into()));
    };
    if calls.len() > MAX_CALLS {
        return Err(ApiError::Invalid(format!(
            "{} calls in one request: at most {MAX_CALLS}",
            calls.len()
        )));
    }
    let urls = calls
        .iter()
        .enumerate()
        .map(|(i, c)| {
            loopback_url(&c.url).map_err(|e| ApiError::Invalid(format!("[{i}].url: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let http = reqwest::Client::new();
    for (call, url) in calls.iter().zip(urls) {
        let request = http
            .post(url)
            .json(&call.arguments)
            .build()
            .map_err(|e| ApiError::Invalid(format!("{}: {e}", call.url)))?;
        // The harness only checks what it receives; a callee failing does
        // not fail the whole test request.
        if let Err(e) = client.execute_templated(request, "/test").await {
            tracing::warn!(error = %e, "test-service call failed");
        }
    }
    Ok(StatusCode::OK)
}

fn loopback_url(text: &str) -> Result<reqwest::Url, String> {
    let url = reqwest::Url::parse(text).map_err(|e| format!("{text:?} is not a URL: {e}"))?;
    if url.scheme() != "http" {
        return Err(format!("{text:?}: only http:// URLs are called"));
    }
    let host = url.host_str().unwrap_or_default();
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
    if !loopback {
        return Err(format!(
            "{text:?}: only loopback hosts (127.0.0.1, ::1, localhost) are called"
        ));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::loopback_url;

    #[test]
    fn only_loopback_http_urls_are_called() {
        assert!(loopback_url("http://127.0.0.1:9000/test").is_ok());
        assert!(loopback_url("http://[::1]:9000/").is_ok());
        assert!(loopback_url("http://localhost/").is_ok());
        for bad in [
            "http://10.0.0.1/",
            "https://127.0.0.1/",
            "http://example.com/",
            "nope",
        ] {
            assert!(loopback_url(bad).is_err(), "{bad}");
        }
    }
}
