//! `otelops receive --ui` (and `otelops demo`): a local web view of what the
//! receiver holds, served by the same axum router as OTLP/HTTP under `/ui/`.
//!
//! Pages are rendered on the server with maud (every value escaped) and
//! inline SVG; the only script is `assets/app.js` (live list refresh, copy
//! button). Every asset is compiled into the binary, and the
//! Content-Security-Policy allows nothing from anywhere else.
//!
//! Layout: [`filter`] (the search parameters), [`search`] (the list and its
//! live rows), [`trace`] (waterfall, span details, findings), [`findings`]
//! (the export-format and semantic-conventions checks on one trace),
//! [`map`] (the service map), [`health`] (the collector's `monitor`
//! figures over time, with `--metrics-url`). Invariant: the view answers only what the
//! OTLP listener would (the bearer token when set; without one, loopback
//! host names only, so a rebound DNS name cannot read the traces).

pub mod filter;
pub mod findings;
pub mod health;
pub mod map;
pub mod search;
pub mod trace;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use maud::{DOCTYPE, Markup, html};

use crate::receive::Shared;

const CSS: &str = include_str!("assets/app.css");
const JS: &str = include_str!("assets/app.js");

/// Nothing but this origin: no CDN, no inline script, no frames.
const CSP: &str = "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// The `/ui/…` routes, merged into the OTLP/HTTP router.
pub(crate) fn router(shared: Arc<Shared>) -> Router<Arc<Shared>> {
    Router::new()
        .route("/ui", get(search::page))
        .route("/ui/", get(search::page))
        .route("/ui/rows", get(search::rows))
        .route("/ui/traces/{id}", get(trace::page))
        .route("/ui/map", get(map::page))
        .route("/ui/health", get(health::page))
        .route("/ui/assets/app.css", get(css))
        .route("/ui/assets/app.js", get(js))
        .route_layer(middleware::from_fn_with_state(shared, guard))
}

/// The receiver's rule for every request, plus a Host check when there is
/// no token, and headers that keep the pages to this origin.
async fn guard(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let headers = request.headers();
    let token = headers
        .get(header::AUTHORIZATION)
        .map(HeaderValue::as_bytes);
    if !shared.authorized(token) {
        return error_page(
            StatusCode::UNAUTHORIZED,
            "missing or wrong bearer token in Authorization",
        );
    }
    if shared.token.is_none() {
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("");
        if !loopback_host(host) {
            return error_page(
                StatusCode::FORBIDDEN,
                &format!(
                    "Host {host:?} is not a loopback name: without a token the web view answers only 127.0.0.1, [::1] or localhost"
                ),
            );
        }
    }
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `127.0.0.1:4318`, `[::1]:4318`, `localhost:4318` (any port).
fn loopback_host(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(""),
        None => host.split(':').next().unwrap_or(""),
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

async fn css() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], CSS).into_response()
}

async fn js() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        JS,
    )
        .into_response()
}

/// Where the view of a receiver listening on `http_addr` starts.
pub fn url(http_addr: std::net::SocketAddr) -> String {
    format!("http://{http_addr}/ui/")
}

/// Which page the navigation marks as current.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    Traces,
    Map,
    Health,
    None,
}

/// The frame every page shares: head, navigation, main.
pub fn layout(title: &str, nav: Nav, body: Markup) -> Markup {
    let current = |n: Nav| if n == nav { Some("page") } else { None };
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                // No favicon request (it would 404 into the console).
                link rel="icon" href="data:,";
                link rel="stylesheet" href="/ui/assets/app.css";
                script src="/ui/assets/app.js" defer {}
                title { (title) " · otelops" }
            }
            body {
                header {
                    a.brand href="/ui/" { "otelops" }
                    nav aria-label="Views" {
                        a href="/ui/" aria-current=[current(Nav::Traces)] { "Traces" }
                        a href="/ui/map" aria-current=[current(Nav::Map)] { "Service map" }
                        a href="/ui/health" aria-current=[current(Nav::Health)] { "Collector health" }
                    }
                }
                main { (body) }
            }
        }
    }
}

/// A whole HTML response.
pub fn page_response(status: StatusCode, markup: Markup) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        markup.into_string(),
    )
        .into_response()
}

/// A page that says what is wrong (bad parameter, unknown trace, ...).
pub fn error_page(status: StatusCode, message: &str) -> Response {
    let body = html! {
        h1 { (status.canonical_reason().unwrap_or("Error")) }
        p.problem role="alert" { (message) }
        p { a href="/ui/" { "Back to the trace list" } }
    };
    page_response(status, layout("Error", Nav::None, body))
}

/// `2026-12-07 01:02:03.456 UTC` for a span time.
pub fn clock(unix_nano: u64) -> String {
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_nanos(unix_nano);
    let text = humantime::format_rfc3339_millis(at).to_string();
    text.replacen('T', " ", 1).replace('Z', " UTC")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts_are_names_of_this_machine_only() {
        for ok in [
            "127.0.0.1:4318",
            "localhost",
            "LOCALHOST:1",
            "[::1]:4318",
            "127.9.9.9",
        ] {
            assert!(loopback_host(ok), "{ok}");
        }
        for bad in [
            "",
            "evil.example:4318",
            "10.0.0.1:4318",
            "localhost.evil.example",
            "[::2]:1",
        ] {
            assert!(!loopback_host(bad), "{bad}");
        }
    }

    #[test]
    fn clock_is_utc_with_milliseconds() {
        assert_eq!(
            clock(1_700_000_000_123_000_000),
            "2023-11-14 22:13:20.123 UTC"
        );
    }
}
