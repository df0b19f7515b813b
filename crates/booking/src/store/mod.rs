//! Where bookings live and how work is handed out: the [`Store`] trait with
//! a Redis implementation (production, shared by replicas) and an in-memory
//! one (the embedded default). Both give the same guarantees:
//!
//! - `create` gives one booking per `Idempotency-Key`, and is durable (as
//!   durable as the backend) before it returns; on Redis the record and the
//!   booking are two steps (they live in different Cluster slots), and a
//!   retry with the key completes a create that died between them;
//! - a pending booking is leased to exactly one worker at a time; a lease
//!   that is not renewed expires and the booking becomes due again;
//! - every state change is a compare-and-set on the booking's status *and*
//!   the caller's lease, so a worker whose lease was taken over cannot
//!   overwrite its successor's work.

pub mod memory;
pub mod redis;

use std::future::Future;
use std::time::Duration;

use crate::domain::{Booking, BookingId, IdempotencyKey, Status};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The backend did not answer (down, timed out, connection lost).
    #[error("the booking store is unavailable: {0}")]
    Unavailable(String),
    #[error(
        "Idempotency-Key {key:?} was already used with a different request body (booking {existing}); \
         use a new key for a new request"
    )]
    KeyReused { key: String, existing: String },
    /// The store's settings are wrong (a malformed URL, a bad prefix):
    /// retrying cannot help.
    #[error("{0}")]
    Config(String),
    /// Data in the store does not parse; a bug or a foreign writer.
    #[error("stored booking data is corrupt: {0}")]
    Corrupt(String),
}

/// Outcome of [`Store::create`].
#[derive(Debug)]
pub enum Created {
    New(Booking),
    /// The idempotency key was seen before with the same body.
    Replayed(Booking),
}

/// Outcome of [`Store::cancel`].
#[derive(Debug)]
pub enum Cancelled {
    Done(Booking),
    NotFound,
    /// The booking is past the point where it can be cancelled.
    TooLate(Booking),
}

/// A booking leased to a worker.
#[derive(Debug)]
pub struct Claim {
    pub booking: Booking,
    /// How long the booking had been due when it was claimed (worker lag).
    pub lag: Duration,
}

/// What happens to a booking's place in the work queue after a save.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Release the lease; the booking is due again after this delay.
    DueIn(Duration),
    /// Keep the lease; the worker goes on with the booking.
    Hold,
    /// The booking reached a final state: leave the queue.
    Done,
}

/// The idempotency record of a create: the key and the canonical request.
pub struct Idempotency<'a> {
    pub key: &'a IdempotencyKey,
    pub fingerprint: &'a str,
}

/// How long an `Idempotency-Key` is remembered.
pub const IDEMPOTENCY_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// Storage and work queue for bookings. Implementations are cheap to clone
/// (shared handles).
pub trait Store: Clone + Send + Sync + 'static {
    /// Stores a new pending booking, due now, unless `idempotency` names a
    /// key already used (then the earlier booking, or `KeyReused`).
    fn create(
        &self,
        booking: &Booking,
        idempotency: Option<Idempotency<'_>>,
    ) -> impl Future<Output = Result<Created, StoreError>> + Send;

    fn get(
        &self,
        id: BookingId,
    ) -> impl Future<Output = Result<Option<Booking>, StoreError>> + Send;

    /// Bookings in creation order, starting after `after`.
    fn list(
        &self,
        after: Option<BookingId>,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Booking>, StoreError>> + Send;

    /// Cancels a booking that is still pending.
    fn cancel(&self, id: BookingId) -> impl Future<Output = Result<Cancelled, StoreError>> + Send;

    /// Leases up to `max` due bookings to `worker` for `lease`.
    fn claim(
        &self,
        worker: &str,
        lease: Duration,
        max: usize,
    ) -> impl Future<Output = Result<Vec<Claim>, StoreError>> + Send;

    /// Extends `worker`'s lease; false when the lease was lost.
    fn renew(
        &self,
        worker: &str,
        id: BookingId,
        lease: Duration,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Replaces the booking if its stored status is still `expected` and
    /// `worker` still holds the lease; false otherwise (nothing written).
    fn save(
        &self,
        worker: &str,
        expected: Status,
        booking: &Booking,
        next: Next,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Cheap round trip for readiness.
    fn ping(&self) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// The booking after a cancel: the caller's copy with status and time set.
pub(crate) fn cancelled(mut booking: Booking) -> Booking {
    booking.status = Status::Cancelled;
    booking.updated_at = jiff::Timestamp::now();
    booking.reason = Some("cancelled by the traveller".into());
    booking
}

pub(crate) fn decode(doc: &str) -> Result<Booking, StoreError> {
    serde_json::from_str(doc).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub(crate) fn encode(booking: &Booking) -> String {
    serde_json::to_string(booking).expect("a booking always serializes")
}
