//! The fault relay: `parker-booking` reaches `parker-fares` through it. It
//! passes every request through as it came, except the first
//! `POST /v1/orders`, to which it adds fares' own fault header
//! (`x-parker-fault: fail-503`). So exactly one provider call fails — fares
//! answers 503 and its span records the error — whichever booking the worker
//! orders first. (Fares' `--fail-first-orders N` fails the first order of
//! *every* booking, which is not the story the demo tells.)
//!
//! Hand-written rather than a proxy crate: it is a pass-through of a few
//! small JSON requests on loopback, which axum and otelops' own http_client
//! already cover.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderName, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::http_client::HttpClient;

/// The header and directive parker-fares understands.
const FAULT_HEADER: &str = "x-parker-fault";
const FAULT: &str = "fail-503";
/// Booking and fares exchange small JSON bodies; anything larger is a bug.
const MAX_BODY: usize = 1024 * 1024;

/// The order the relay failed, as fares saw it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct InjectedFault {
    /// `order_key` of the failed `POST /v1/orders`: parker-booking uses the
    /// booking id.
    pub order_key: String,
    pub status: u16,
}

#[derive(Debug, Clone)]
struct Shared {
    fares: SocketAddr,
    http: HttpClient,
    injected: Arc<Mutex<Option<InjectedFault>>>,
}

/// A running relay; stops when the demo's runtime does.
#[derive(Debug)]
pub struct Relay {
    pub listen: SocketAddr,
    injected: Arc<Mutex<Option<InjectedFault>>>,
}

impl Relay {
    /// Listens on `listen` (loopback) and forwards to fares at `fares`.
    pub async fn start(listen: SocketAddr, fares: SocketAddr) -> std::io::Result<Relay> {
        let listener = tokio::net::TcpListener::bind(listen).await?;
        let listen = listener.local_addr()?;
        // Generous: the relay must never cut off a slow answer that fares'
        // own fault flags (`slow-ms`) asked for.
        let http = HttpClient::loopback(std::time::Duration::from_secs(60));
        let injected = Arc::new(Mutex::new(None));
        let shared = Shared {
            fares,
            http,
            injected: injected.clone(),
        };
        let app = axum::Router::new().fallback(forward).with_state(shared);
        tokio::spawn(async move {
            if let Err(err) = axum::serve(listener, app).await {
                eprintln!("otelops demo: the fault relay stopped: {err}");
            }
        });
        Ok(Relay { listen, injected })
    }

    /// The fault injected so far, if any.
    pub fn injected(&self) -> Option<InjectedFault> {
        self.injected
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

async fn forward(State(shared): State<Shared>, request: Request) -> Response {
    match relay(&shared, request).await {
        Ok(response) => response,
        Err(message) => (StatusCode::BAD_GATEWAY, message).into_response(),
    }
}

async fn relay(shared: &Shared, request: Request) -> Result<Response, String> {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, MAX_BODY)
        .await
        .map_err(|e| format!("relay: reading the request body: {e}"))?;
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let target = shared
        .http
        .url(&format!("http://{}{path}", shared.fares))
        .map_err(|e| format!("relay: {e}"))?;
    let mut headers = axum::http::HeaderMap::new();
    for (name, value) in &parts.headers {
        if !is_hop_by_hop(name) {
            headers.append(name.clone(), value.clone());
        }
    }
    if parts.method == axum::http::Method::POST && parts.uri.path() == "/v1/orders" {
        let mut injected = shared.injected.lock().unwrap_or_else(|p| p.into_inner());
        if injected.is_none() {
            let order_key = serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v.get("order_key")?.as_str().map(str::to_owned))
                .unwrap_or_default();
            *injected = Some(InjectedFault {
                order_key,
                status: 503,
            });
            headers.insert(FAULT_HEADER, axum::http::HeaderValue::from_static(FAULT));
        }
    }
    let answer = shared
        .http
        .send(parts.method.clone(), &target, headers, body)
        .await
        .map_err(|e| format!("relay: parker-fares at {}: {e}", shared.fares))?;
    let mut response = Response::builder().status(answer.status);
    for (name, value) in &answer.headers {
        if !is_hop_by_hop(name) {
            response = response.header(name, value);
        }
    }
    response
        .body(Body::from(answer.body))
        .map_err(|e| format!("relay: {e}"))
}

/// Headers that describe one connection, not the message (RFC 9110 §7.6.1),
/// plus the ones the client library sets itself.
fn is_hop_by_hop(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "connection"
            | "keep-alive"
            | "proxy-connection"
            | "transfer-encoding"
            | "upgrade"
            | "te"
            | "trailer"
            | "host"
            | "content-length"
    )
}
