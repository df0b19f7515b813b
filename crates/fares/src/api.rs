//! Wire types of the fare provider's HTTP API (JSON). Clients such as
//! `parker-booking` deserialize the same types, so the two cannot drift.
//! Request bodies reject unknown fields; responses are read leniently by
//! clients (a provider may add fields).

use serde::{Deserialize, Serialize};

use crate::codes::{Cabin, Currency, IataCode};

/// A price in integer minor units (cents), so no float rounding ever
/// reaches an amount of money.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Price {
    pub amount_minor: i64,
    pub currency: Currency,
}

/// One bookable fare: a flight on a date in a cabin, at a price per passenger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Offer {
    /// Opaque to clients; stable for the same seed, route, date and currency.
    pub id: String,
    pub origin: IataCode,
    pub destination: IataCode,
    /// `YYYY-MM-DD`.
    pub date: jiff::civil::Date,
    /// Local departure time, `HH:MM`; offers are listed in this order.
    pub departs_at: String,
    pub cabin: Cabin,
    pub price: Price,
    pub seats_left: u32,
}

/// `GET /v1/offers` response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfferList {
    pub offers: Vec<Offer>,
}

/// `POST /v1/orders` body. `order_key` makes the call idempotent: the same
/// key with the same offer and passengers returns the same order and
/// reserves seats once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderRequest {
    pub order_key: String,
    pub offer_id: String,
    pub passengers: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Seats are held for the order.
    Reserved,
    /// The order is ticketed; confirming again is a no-op.
    Confirmed,
}

/// An order at the provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    pub id: String,
    pub order_key: String,
    pub offer_id: String,
    pub passengers: u32,
    /// Total for all passengers.
    pub total: Price,
    pub status: OrderStatus,
    /// How many `POST /v1/orders` carried this order key (retries included);
    /// lets tests see that idempotency absorbed duplicates.
    pub requests: u32,
}

/// `GET /v1/orders` response: every order ever placed, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderList {
    pub orders: Vec<Order>,
}

/// `type` URI of the problem returned when an offer has too few seats left.
pub const PROBLEM_SOLD_OUT: &str = "https://parker.example/problems/sold-out";
/// `type` URI of the problem returned when an order key is reused for a
/// different offer or passenger count.
pub const PROBLEM_ORDER_KEY_REUSED: &str = "https://parker.example/problems/order-key-reused";
/// Header that injects faults into one request: comma-separated directives
/// `fail-<status>` (e.g. `fail-503`), `slow-ms=<n>`, `lose-response` (orders:
/// commit, then answer 503 as if the response were lost).
pub const FAULT_HEADER: &str = "x-parker-fault";

/// An RFC 9457 problem details body (`application/problem+json`), the error
/// shape of both Parker services.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// URI naming the kind of problem; `about:blank` when the status says it all.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
}

impl Problem {
    pub const CONTENT_TYPE: &'static str = "application/problem+json";

    pub fn new(status: http::StatusCode, kind: &str, detail: impl Into<String>) -> Self {
        Problem {
            kind: kind.to_owned(),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            instance: None,
        }
    }
}

impl axum::response::IntoResponse for Problem {
    fn into_response(self) -> axum::response::Response {
        let status = http::StatusCode::from_u16(self.status)
            .unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self).unwrap_or_default();
        (
            status,
            [(http::header::CONTENT_TYPE, Problem::CONTENT_TYPE)],
            body,
        )
            .into_response()
    }
}
