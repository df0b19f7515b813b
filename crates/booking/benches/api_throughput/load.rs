//! The load generator: one keep-alive HTTP/1.1 connection per client task,
//! driven with hyper's bare connection API, request bodies made once.
//!
//! Lean on purpose: the service runs on a core of its own and the load on
//! the other, so the load must cost less per request than the service
//! does or it, not the service, sets the throughput. reqwest (pool, URL
//! parsing, a JSON value per request) cost about as much as the service.

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use serde_json::json;

/// Distinct POST bodies (prices vary, so bookings differ).
const BODIES: usize = 900;

/// What every client task shares: the service's address and the bodies.
#[derive(Clone)]
pub struct Target {
    authority: Arc<str>,
    bodies: Arc<Vec<Bytes>>,
}

impl Target {
    /// `url`: the service's base URL, `http://host:port`.
    pub fn new(url: &str) -> Target {
        let authority = url
            .strip_prefix("http://")
            .expect("the service URL is http://")
            .trim_end_matches('/');
        let from = jiff::tz::TimeZone::UTC
            .to_datetime(jiff::Timestamp::now())
            .date()
            .checked_add(jiff::Span::new().days(30))
            .expect("date in range")
            .to_string();
        let bodies = (0..BODIES)
            .map(|i| {
                let body = json!({
                    "traveller": { "name": "Bench Traveller", "email": "bench@example.com" },
                    "origin": "JFK", "destination": "LHR",
                    "departure": { "from": from, "to": from },
                    "max_price": { "amount": format!("{}.00", 100 + i), "currency": "EUR" },
                    "cabin": "economy", "passengers": 1
                });
                Bytes::from(serde_json::to_vec(&body).expect("JSON body"))
            })
            .collect();
        Target {
            authority: authority.into(),
            bodies: Arc::new(bodies),
        }
    }

    /// Opens one keep-alive connection.
    pub async fn connect(&self) -> Client {
        let stream = tokio::net::TcpStream::connect(&*self.authority)
            .await
            .expect("connecting to the service");
        stream.set_nodelay(true).expect("TCP_NODELAY");
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .expect("HTTP/1.1 handshake");
        tokio::spawn(connection);
        Client {
            target: self.clone(),
            sender,
            last_id: None,
        }
    }
}

/// One connection and the booking it created last.
pub struct Client {
    target: Target,
    sender: SendRequest<Full<Bytes>>,
    last_id: Option<String>,
}

impl Client {
    /// One request of the mix: a POST when `i` is even or no booking exists
    /// yet, else a GET of the last booking this client created. Returns
    /// whether it succeeded.
    pub async fn one_request(&mut self, i: usize) -> bool {
        if self.sender.ready().await.is_err() {
            return false;
        }
        let get = match (&self.last_id, i % 2) {
            (Some(id), 1) => Some(format!("/v1/bookings/{id}")),
            _ => None,
        };
        let request = match &get {
            Some(path) => http::Request::get(path.as_str())
                .header(http::header::HOST, &*self.target.authority)
                .body(Full::default()),
            None => http::Request::post("/v1/bookings")
                .header(http::header::HOST, &*self.target.authority)
                .header(http::header::CONTENT_TYPE, "application/json")
                .body(Full::new(self.target.bodies[i % BODIES].clone())),
        }
        .expect("a valid request");
        let Ok(response) = self.sender.send_request(request).await else {
            return false;
        };
        let status = response.status().as_u16();
        let Ok(body) = response.into_body().collect().await else {
            return false;
        };
        match get {
            Some(_) => status == 200,
            None if status == 202 => {
                self.last_id = id_of(&body.to_bytes());
                self.last_id.is_some()
            }
            None => false,
        }
    }
}

/// The `"id"` of a booking document, found without parsing the whole of it.
fn id_of(body: &[u8]) -> Option<String> {
    const KEY: &[u8] = b"\"id\":\"";
    let start = body.windows(KEY.len()).position(|w| w == KEY)? + KEY.len();
    let len = body[start..].iter().position(|&b| b == b'"')?;
    String::from_utf8(body[start..start + len].to_vec()).ok()
}
