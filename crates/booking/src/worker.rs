//! The auto-booking worker: claims due bookings with a lease, searches
//! fares, orders the first offer within the terms, confirms it, and moves
//! the booking to a final state. Each step is a compare-and-set in the
//! store, and the provider order is keyed by the booking id, so a worker
//! that dies anywhere leaves nothing a successor could double-book.
//!
//! Invariant: the worker never writes a booking whose lease it lost (the
//! store checks the lease on every save) and renews its lease before every
//! provider call.

use std::sync::Arc;
use std::time::Duration;

use opentelemetry::trace::TraceContextExt;
use parker_fares::api::{Offer, OrderRequest};
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;
use tracing::{Instrument, Span};
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::domain::{Booking, ChosenOffer, Money, Status};
use crate::fares::{FaresClient, FaresError};
use crate::metrics::Metrics;
use crate::store::{Claim, Next, Store, StoreError};

#[derive(Debug, Clone)]
pub struct WorkerConfig {
    pub poll_interval: Duration,
    pub concurrency: usize,
    pub lease: Duration,
    pub max_attempts: u32,
    pub retry_base: Duration,
    pub max_searches: u32,
    pub recheck: Duration,
}

pub struct Worker<S> {
    pub store: S,
    pub fares: FaresClient,
    pub config: WorkerConfig,
    pub metrics: Metrics,
    /// Lease owner name, unique per process.
    pub id: String,
    /// Poked by the API after a create so new bookings start at once.
    pub wake: Arc<Notify>,
}

/// Why processing a booking stopped early; logged, never fatal.
#[derive(Debug, thiserror::Error)]
enum Stop {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("lease lost or booking changed elsewhere (cancelled, or taken over)")]
    Superseded,
}

/// Runs until `shutdown` turns true, then waits up to `grace` for the
/// bookings in flight; any left unfinished are due again when their lease
/// expires.
pub async fn run<S: Store>(
    worker: Arc<Worker<S>>,
    mut shutdown: watch::Receiver<bool>,
    grace: Duration,
) {
    let mut in_flight = JoinSet::new();
    tracing::info!(worker = %worker.id, "worker started");
    while !*shutdown.borrow() {
        let room = worker.config.concurrency.saturating_sub(in_flight.len());
        if room > 0 {
            match worker
                .store
                .claim(&worker.id, worker.config.lease, room)
                .await
            {
                Ok(claims) => {
                    let full = claims.len() == room;
                    for claim in claims {
                        let w = worker.clone();
                        in_flight.spawn(async move { w.process(claim).await });
                    }
                    if full {
                        continue;
                    }
                }
                Err(e) => tracing::warn!(error = %e, "claiming due bookings failed; retrying"),
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(worker.config.poll_interval) => {}
            _ = worker.wake.notified() => {}
            Some(_) = in_flight.join_next(), if !in_flight.is_empty() => {}
            _ = shutdown.changed() => {}
        }
    }
    tracing::info!(
        in_flight = in_flight.len(),
        "worker stopping; finishing in-flight bookings"
    );
    let drained = tokio::time::timeout(grace, async {
        while in_flight.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            left = in_flight.len(),
            "shutdown grace ran out; leases will expire"
        );
        in_flight.abort_all();
    }
}

impl<S: Store> Worker<S> {
    async fn process(&self, claim: Claim) {
        let booking = claim.booking;
        self.metrics.lag(claim.lag);
        let span = tracing::info_span!(
            "booking.process",
            otel.name = "process booking",
            otel.kind = "internal",
            booking.id = %booking.id,
            booking.status = booking.status.as_str(),
            parker.booking.outcome = tracing::field::Empty,
        );
        // The worker's trace is its own; a link (not a parent) ties it to
        // the request that created the booking, which ended long ago.
        if let Some(parent) = booking.traceparent.as_deref().and_then(span_context) {
            span.add_link(parent);
        }
        let result = self.advance(booking).instrument(span.clone()).await;
        if let Err(e) = result {
            match e {
                Stop::Superseded => tracing::info!(parent: &span, "{e}"),
                Stop::Store(ref err) => {
                    parker_telemetry::exception::record_error(&span, err);
                    tracing::warn!(parent: &span, error = %err, "store failed; the lease will expire and the booking be retried");
                }
            }
        }
    }

    async fn advance(&self, booking: Booking) -> Result<(), Stop> {
        match booking.status {
            Status::Pending => self.search_then_order(booking).await,
            Status::Ordering => self.order(booking).await,
            // A final booking still queued (a crash between writes): dequeue.
            status => self.save(status, &booking, Next::Done).await,
        }
    }

    async fn search_then_order(&self, mut b: Booking) -> Result<(), Stop> {
        self.renew(&b).await?;
        let offer = match self.search(&b).await {
            Ok(offer) => offer,
            Err(e) => return self.transient(b, Status::Pending, e).await,
        };
        let Some(offer) = offer else {
            b.searches += 1;
            b.attempts = 0;
            b.updated_at = jiff::Timestamp::now();
            if b.searches >= self.config.max_searches {
                let r = &b.request;
                let reason = format!(
                    "no {} offer at or below {} for {} passenger(s) from {} to {} between {} and {} after {} searches",
                    r.cabin,
                    r.max_price,
                    r.passengers.get(),
                    r.origin,
                    r.destination,
                    r.departure.from,
                    r.departure.to,
                    b.searches
                );
                return self
                    .finish(b, Status::Pending, Status::Expired, Some(reason))
                    .await;
            }
            return self
                .save(Status::Pending, &b, Next::DueIn(self.config.recheck))
                .await;
        };
        b.offer = Some(ChosenOffer {
            offer_id: offer.id,
            date: offer.date,
            departs_at: offer.departs_at,
            price: Money {
                amount_minor: offer.price.amount_minor,
                currency: offer.price.currency,
            },
        });
        b.status = Status::Ordering;
        b.attempts = 0;
        b.updated_at = jiff::Timestamp::now();
        // Recorded before ordering: a successor re-orders this same offer
        // under the same key instead of choosing another one.
        self.save(Status::Pending, &b, Next::Hold).await?;
        self.order(b).await
    }

    /// The first offer, by date then departure time, that meets the terms.
    async fn search(&self, b: &Booking) -> Result<Option<Offer>, FaresError> {
        let r = &b.request;
        for date in r.departure.days() {
            let offers = self
                .fares
                .search(r.origin, r.destination, date, r.max_price.currency)
                .await?;
            let found = offers.into_iter().find(|o| {
                o.cabin == r.cabin
                    && o.price.currency == r.max_price.currency
                    && o.price.amount_minor <= r.max_price.amount_minor
                    && o.seats_left >= r.passengers.get()
                    && !b.sold_out.contains(&o.id)
            });
            if found.is_some() {
                return Ok(found);
            }
        }
        Ok(None)
    }

    async fn order(&self, mut b: Booking) -> Result<(), Stop> {
        let Some(offer) = b.offer.clone() else {
            let reason = "booking was ordering without a chosen offer".to_owned();
            return self
                .finish(b, Status::Ordering, Status::Failed, Some(reason))
                .await;
        };
        self.renew(&b).await?;
        let request = OrderRequest {
            // The booking id is the order key: however many workers or
            // retries send this order, the provider creates it once.
            order_key: b.id.to_string(),
            offer_id: offer.offer_id.clone(),
            passengers: b.request.passengers.get(),
        };
        let order = match self.fares.order(&request).await {
            Ok(order) => order,
            Err(FaresError::SoldOut(detail)) => {
                tracing::info!(offer = %offer.offer_id, %detail, "offer sold out; searching again");
                b.sold_out.push(offer.offer_id);
                b.offer = None;
                b.status = Status::Pending;
                b.updated_at = jiff::Timestamp::now();
                return self
                    .save(Status::Ordering, &b, Next::DueIn(Duration::ZERO))
                    .await;
            }
            Err(e @ FaresError::Transient(_)) => {
                return self.transient(b, Status::Ordering, e).await;
            }
            Err(e @ FaresError::Rejected { .. }) => return self.rejected(b, e).await,
        };
        b.order_id = Some(order.id.clone());
        self.renew(&b).await?;
        match self.fares.confirm(&order.id).await {
            Ok(_) => self.finish(b, Status::Ordering, Status::Booked, None).await,
            Err(e @ (FaresError::Transient(_) | FaresError::SoldOut(_))) => {
                self.transient(b, Status::Ordering, e).await
            }
            Err(e @ FaresError::Rejected { .. }) => self.rejected(b, e).await,
        }
    }

    async fn rejected(&self, b: Booking, e: FaresError) -> Result<(), Stop> {
        parker_telemetry::exception::record_error(&Span::current(), &e);
        let reason = e.to_string();
        self.finish(b, Status::Ordering, Status::Failed, Some(reason))
            .await
    }

    /// Records the failure and retries later with exponential backoff, or
    /// fails the booking once attempts are used up.
    async fn transient(&self, mut b: Booking, expected: Status, e: FaresError) -> Result<(), Stop> {
        parker_telemetry::exception::record_error(&Span::current(), &e);
        b.attempts += 1;
        b.updated_at = jiff::Timestamp::now();
        if b.attempts >= self.config.max_attempts {
            let reason = format!("gave up after {} attempts: {e}", b.attempts);
            return self.finish(b, expected, Status::Failed, Some(reason)).await;
        }
        let delay = backoff(self.config.retry_base, b.attempts);
        tracing::warn!(error = %e, attempt = b.attempts, retry_in_ms = delay.as_millis() as u64, "provider call failed; will retry");
        self.save(expected, &b, Next::DueIn(delay)).await
    }

    async fn finish(
        &self,
        mut b: Booking,
        expected: Status,
        status: Status,
        reason: Option<String>,
    ) -> Result<(), Stop> {
        b.status = status;
        b.reason = reason;
        b.updated_at = jiff::Timestamp::now();
        self.save(expected, &b, Next::Done).await?;
        self.metrics.completed(status);
        Span::current().record("parker.booking.outcome", status.as_str());
        tracing::info!(
            outcome = status.as_str(),
            reason = b.reason.as_deref(),
            "booking finished"
        );
        Ok(())
    }

    async fn save(&self, expected: Status, b: &Booking, next: Next) -> Result<(), Stop> {
        if self.store.save(&self.id, expected, b, next).await? {
            Ok(())
        } else {
            Err(Stop::Superseded)
        }
    }

    async fn renew(&self, b: &Booking) -> Result<(), Stop> {
        if self.store.renew(&self.id, b.id, self.config.lease).await? {
            Ok(())
        } else {
            Err(Stop::Superseded)
        }
    }
}

/// `base · 2^(attempt-1)`, capped at 30 s.
fn backoff(base: Duration, attempt: u32) -> Duration {
    let factor = 1u32 << attempt.saturating_sub(1).min(16);
    base.saturating_mul(factor).min(Duration::from_secs(30))
}

fn span_context(traceparent: &str) -> Option<opentelemetry::trace::SpanContext> {
    let mut headers = http::HeaderMap::new();
    headers.insert("traceparent", traceparent.parse().ok()?);
    let cx = parker_telemetry::propagation::extract(&headers);
    let sc = cx.span().span_context().clone();
    sc.is_valid().then_some(sc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let base = Duration::from_millis(100);
        assert_eq!(backoff(base, 1), Duration::from_millis(100));
        assert_eq!(backoff(base, 3), Duration::from_millis(400));
        assert_eq!(backoff(base, 40), Duration::from_secs(30));
    }
}
