//! `GET /v1/offers?origin=JFK&destination=LHR&date=2026-12-01[&currency=EUR]`.

use axum::Json;
use axum::extract::{Query, State};
use http::HeaderMap;
use serde::Deserialize;

use crate::api::OfferList;
use crate::app::SharedState;
use crate::codes::{Currency, IataCode};
use crate::error::FaresError;
use crate::offers::{self};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchQuery {
    origin: String,
    destination: String,
    date: String,
    currency: Option<String>,
}

fn field<T: std::str::FromStr>(name: &str, value: &str) -> Result<T, FaresError>
where
    T::Err: std::fmt::Display,
{
    value
        .parse()
        .map_err(|e| FaresError::BadQuery(format!("query parameter `{name}`: {e}")))
}

pub async fn search(
    State(state): State<SharedState>,
    headers: HeaderMap,
    query: Result<Query<SearchQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<OfferList>, FaresError> {
    let decision = super::decide(&state, &headers)?;
    let Query(q) = query?;
    let origin: IataCode = field("origin", &q.origin)?;
    let destination: IataCode = field("destination", &q.destination)?;
    let date: jiff::civil::Date = field("date", &q.date)?;
    let currency: Currency = field("currency", q.currency.as_deref().unwrap_or("EUR"))?;
    if origin == destination {
        return Err(FaresError::BadQuery(format!(
            "origin and destination are both {origin}: a flight needs two airports"
        )));
    }
    super::apply(&decision).await?;
    let offers = offers::generate(state.seed, origin, destination, date, currency)
        .into_iter()
        .map(|(offer_ref, mut offer)| {
            offer.seats_left = offer
                .seats_left
                .saturating_sub(state.book.reserved(&offer_ref));
            offer
        })
        .collect();
    Ok(Json(OfferList { offers }))
}
