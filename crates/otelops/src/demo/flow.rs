//! The booking flow the demo drives: a few travellers ask parker-booking to
//! book flights (different routes, dates and cabins), then the demo polls
//! each booking until the auto-booking worker has made it final.

use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};

use http::{HeaderMap, HeaderValue, Method, header};
use serde::Serialize;
use serde_json::{Value, json};

use crate::http_client::{HttpClient, HttpError};

/// One traveller's request. Terms are generous on purpose: offers are
/// deterministic for a route and day, but the days move with the calendar,
/// and the demo must not depend on which day it runs.
#[derive(Debug, Clone, Copy)]
pub struct Trip {
    pub name: &'static str,
    pub email: &'static str,
    pub origin: &'static str,
    pub destination: &'static str,
    /// Departure window: from today + `in_days`, `window_days` long.
    pub in_days: u64,
    pub window_days: u64,
    pub cabin: &'static str,
    pub max_price: &'static str,
    pub currency: &'static str,
    pub passengers: u8,
}

pub const TRIPS: [Trip; 4] = [
    Trip {
        name: "Ada Lovelace",
        email: "ada@example.com",
        origin: "JFK",
        destination: "LHR",
        in_days: 30,
        window_days: 3,
        cabin: "economy",
        max_price: "900.00",
        currency: "EUR",
        passengers: 1,
    },
    Trip {
        name: "Grace Hopper",
        email: "grace@example.com",
        origin: "SFO",
        destination: "NRT",
        in_days: 45,
        window_days: 8,
        cabin: "premium_economy",
        max_price: "1800.00",
        currency: "USD",
        passengers: 2,
    },
    Trip {
        name: "Alan Turing",
        email: "alan@example.com",
        origin: "LHR",
        destination: "CDG",
        in_days: 60,
        window_days: 12,
        cabin: "business",
        max_price: "3500.00",
        currency: "GBP",
        passengers: 1,
    },
    Trip {
        name: "Katherine Johnson",
        email: "katherine@example.com",
        origin: "FRA",
        destination: "JFK",
        in_days: 20,
        window_days: 3,
        cabin: "economy",
        max_price: "900.00",
        currency: "EUR",
        passengers: 3,
    },
];

/// A booking as the flow left it.
#[derive(Debug, Clone, Serialize)]
pub struct BookingOutcome {
    pub id: String,
    pub traveller: String,
    pub route: String,
    pub cabin: String,
    pub departure: String,
    pub status: String,
    /// Provider failures the worker retried (booking's `attempts`).
    pub retries: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl BookingOutcome {
    pub fn is_final(&self) -> bool {
        matches!(
            self.status.as_str(),
            "booked" | "failed" | "expired" | "cancelled"
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    #[error("parker-booking at {url}")]
    Http { url: String, source: HttpError },
    #[error("parker-booking refused {traveller}'s booking ({status}): {body}")]
    Refused {
        traveller: String,
        status: u16,
        body: String,
    },
    #[error("parker-booking answered {url} with something that is not a booking: {body}")]
    BadAnswer { url: String, body: String },
    #[error(
        "bookings not final after {}s: {pending}; see the service logs",
        waited.as_secs()
    )]
    NotFinal { waited: Duration, pending: String },
}

/// `YYYY-MM-DD`, `days` from now (UTC).
pub fn date_in(days: u64) -> String {
    let when = SystemTime::now() + Duration::from_secs(days * 86_400);
    humantime::format_rfc3339(when).to_string()[..10].to_owned()
}

fn request_body(trip: &Trip) -> Value {
    json!({
        "traveller": {"name": trip.name, "email": trip.email},
        "origin": trip.origin,
        "destination": trip.destination,
        "departure": {"from": date_in(trip.in_days), "to": date_in(trip.in_days + trip.window_days - 1)},
        "max_price": {"amount": trip.max_price, "currency": trip.currency},
        "cabin": trip.cabin,
        "passengers": trip.passengers,
    })
}

/// Books every trip, then waits (up to `timeout`) until all are final.
pub async fn run(
    http: &HttpClient,
    booking: SocketAddr,
    trips: &[Trip],
    timeout: Duration,
) -> Result<Vec<BookingOutcome>, FlowError> {
    let mut outcomes = Vec::with_capacity(trips.len());
    for (n, trip) in trips.iter().enumerate() {
        let url = format!("http://{booking}/v1/bookings");
        let body = request_body(trip);
        let failed = |source| FlowError::Http {
            url: url.clone(),
            source,
        };
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        headers.insert(
            "idempotency-key",
            HeaderValue::from_str(&format!("demo-{}", n + 1)).expect("ASCII digits"),
        );
        let target = http.url(&url).map_err(failed)?;
        let response = http
            .send(Method::POST, &target, headers, body.to_string().into())
            .await
            .map_err(failed)?;
        let text = response.text();
        if !response.is_success() {
            return Err(FlowError::Refused {
                traveller: trip.name.to_owned(),
                status: response.status,
                body: text,
            });
        }
        let answer: Value = serde_json::from_str(&text).unwrap_or_default();
        let id = answer["id"]
            .as_str()
            .ok_or_else(|| FlowError::BadAnswer {
                url: url.clone(),
                body: text.clone(),
            })?
            .to_owned();
        outcomes.push(BookingOutcome {
            id,
            traveller: trip.name.to_owned(),
            route: format!("{} → {}", trip.origin, trip.destination),
            cabin: trip.cabin.to_owned(),
            departure: format!(
                "{}..{}",
                body["departure"]["from"].as_str().unwrap_or_default(),
                body["departure"]["to"].as_str().unwrap_or_default()
            ),
            status: answer["status"].as_str().unwrap_or("pending").to_owned(),
            retries: 0,
            order_id: None,
            reason: None,
        });
    }
    let started = Instant::now();
    loop {
        for outcome in outcomes.iter_mut().filter(|o| !o.is_final()) {
            refresh(http, booking, outcome).await?;
        }
        if outcomes.iter().all(BookingOutcome::is_final) {
            return Ok(outcomes);
        }
        if started.elapsed() > timeout {
            let pending = outcomes
                .iter()
                .filter(|o| !o.is_final())
                .map(|o| format!("{} ({}) is {}", o.id, o.traveller, o.status))
                .collect::<Vec<_>>()
                .join(", ");
            return Err(FlowError::NotFinal {
                waited: started.elapsed(),
                pending,
            });
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn refresh(
    http: &HttpClient,
    booking: SocketAddr,
    outcome: &mut BookingOutcome,
) -> Result<(), FlowError> {
    let url = format!("http://{booking}/v1/bookings/{}", outcome.id);
    let failed = |source| FlowError::Http {
        url: url.clone(),
        source,
    };
    let target = http.url(&url).map_err(failed)?;
    let text = http.get(&target).await.map_err(failed)?.text();
    let bad = || FlowError::BadAnswer {
        url: url.clone(),
        body: text.clone(),
    };
    let value: Value = serde_json::from_str(&text).map_err(|_| bad())?;
    outcome.status = value["status"].as_str().ok_or_else(bad)?.to_owned();
    outcome.retries = value["attempts"].as_u64().unwrap_or(0);
    outcome.order_id = value["order_id"].as_str().map(str::to_owned);
    outcome.reason = value["reason"].as_str().map(str::to_owned);
    Ok(())
}
