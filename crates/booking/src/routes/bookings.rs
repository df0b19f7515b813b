//! `/v1/bookings`: create (idempotent with `Idempotency-Key`), read, list
//! (cursor paging in creation order), cancel.

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde::{Deserialize, Serialize};

use crate::domain::{Booking, BookingId, BookingRequest, IdempotencyKey, Status};
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::{Cancelled, Created, Idempotency, Store};

pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
/// Set on a response that replays an earlier request with the same key.
pub const REPLAYED: &str = "idempotent-replayed";

#[derive(Debug, Serialize, Deserialize)]
pub struct Accepted {
    pub id: BookingId,
    pub status: Status,
}

pub async fn create<S: Store>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    body: Result<Json<BookingRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let key = idempotency_key(&headers)?;
    let Json(request) = body?;
    request.check().map_err(ApiError::Invalid)?;
    let fingerprint = request.fingerprint();
    let booking = Booking::new(request, current_traceparent());
    let idempotency = key.as_ref().map(|key| Idempotency {
        key,
        fingerprint: &fingerprint,
    });
    let (booking, replayed) = match state.store.create(&booking, idempotency).await? {
        Created::New(b) => {
            state.metrics.accepted();
            state.wake.notify_one();
            (b, false)
        }
        Created::Replayed(b) => (b, true),
    };
    tracing::debug!(booking.id = %booking.id, replayed, "booking accepted");
    let mut response = (
        StatusCode::ACCEPTED,
        Json(Accepted {
            id: booking.id,
            status: booking.status,
        }),
    )
        .into_response();
    let h = response.headers_mut();
    if let Ok(location) = HeaderValue::from_str(&format!("/v1/bookings/{}", booking.id)) {
        h.insert(header::LOCATION, location);
    }
    if replayed {
        h.insert(REPLAYED, HeaderValue::from_static("true"));
    }
    Ok(response)
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<IdempotencyKey>, ApiError> {
    let Some(value) = headers.get(IDEMPOTENCY_KEY) else {
        return Ok(None);
    };
    let text = value.to_str().map_err(|_| {
        ApiError::BadRequest("Idempotency-Key must be visible ASCII characters".into())
    })?;
    text.parse()
        .map(Some)
        .map_err(|e: crate::domain::BadIdempotencyKey| ApiError::BadRequest(e.to_string()))
}

/// The W3C `traceparent` of the request being served, kept on the booking
/// so the worker can link its spans to this trace. Formatted from the
/// current OpenTelemetry context (the server span is entered while the
/// handler runs) rather than injected through the global propagator into a
/// scratch header map: this runs on every create, and the value is ours to
/// read back, not a header sent anywhere.
fn current_traceparent() -> Option<String> {
    use opentelemetry::trace::{TraceContextExt, TraceFlags};
    let cx = opentelemetry::Context::current();
    let span = cx.span();
    let context = span.span_context();
    if !context.is_valid() {
        return None;
    }
    // The canonical version-00 form `propagation::TraceParent` displays,
    // written without the formatting machinery (this runs per request).
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(55);
    let mut hex = |bytes: &[u8]| {
        for b in bytes {
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0x0f)]));
        }
    };
    hex(&[0]);
    hex(&context.trace_id().to_bytes());
    hex(&context.span_id().to_bytes());
    hex(&[context.trace_flags().to_u8() & TraceFlags::SAMPLED.to_u8()]);
    for at in [2, 35, 52] {
        out.insert(at, '-');
    }
    Some(out)
}

fn parse_id(id: &str) -> Result<BookingId, ApiError> {
    id.parse()
        .map_err(|e: crate::domain::BadBookingId| ApiError::NotFound(e.to_string()))
}

pub async fn get<S: Store>(
    State(state): State<AppState<S>>,
    Path(id): Path<String>,
) -> Result<Json<Booking>, ApiError> {
    let id = parse_id(&id)?;
    state
        .store
        .get(id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::NotFound(format!("no booking with id {id}")))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    limit: Option<String>,
    cursor: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Page {
    pub items: Vec<Booking>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

pub const MAX_PAGE: usize = 100;
pub const DEFAULT_PAGE: usize = 20;

pub async fn list<S: Store>(
    State(state): State<AppState<S>>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Page>, ApiError> {
    let Query(q) = query?;
    let limit = match q.limit.as_deref() {
        None => DEFAULT_PAGE,
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_PAGE).contains(n))
            .ok_or_else(|| {
                ApiError::BadRequest(format!(
                    "query parameter `limit`: {text:?} is not a number from 1 to {MAX_PAGE}"
                ))
            })?,
    };
    let after = q
        .cursor
        .as_deref()
        .map(|c| {
            c.parse::<BookingId>().map_err(|_| {
                ApiError::BadRequest(format!(
                    "query parameter `cursor`: {c:?} is not a cursor from a previous page"
                ))
            })
        })
        .transpose()?;
    let items = state.store.list(after, limit).await?;
    let next_cursor = (items.len() == limit)
        .then(|| items.last().map(|b| b.id.to_string()))
        .flatten();
    Ok(Json(Page { items, next_cursor }))
}

pub async fn cancel<S: Store>(
    State(state): State<AppState<S>>,
    Path(id): Path<String>,
) -> Result<Json<Booking>, ApiError> {
    let id = parse_id(&id)?;
    match state.store.cancel(id).await? {
        Cancelled::Done(b) => {
            state.metrics.completed(Status::Cancelled);
            Ok(Json(b))
        }
        Cancelled::NotFound => Err(ApiError::NotFound(format!("no booking with id {id}"))),
        Cancelled::TooLate(b) => Err(ApiError::NotCancellable(format!(
            "booking {id} is {}: only pending bookings can be cancelled",
            b.status
        ))),
    }
}
