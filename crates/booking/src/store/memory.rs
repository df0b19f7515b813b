//! In-process store: the embedded default when no Redis is configured.
//! Same semantics as the Redis store (leases, compare-and-set, idempotency)
//! within one process; nothing survives a restart.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{Cancelled, Claim, Created, Idempotency, Next, Store, StoreError};
use crate::domain::{Booking, BookingId, Status};

#[derive(Default)]
struct State {
    bookings: BTreeMap<BookingId, Booking>,
    /// (due time, id), ordered by due time: the work queue.
    due: BTreeSet<(Instant, BookingId)>,
    due_at: HashMap<BookingId, Instant>,
    leases: HashMap<BookingId, (String, Instant)>,
    idempotency: HashMap<String, (BookingId, String, Instant)>,
}

impl State {
    fn schedule(&mut self, id: BookingId, at: Instant) {
        if let Some(old) = self.due_at.insert(id, at) {
            self.due.remove(&(old, id));
        }
        self.due.insert((at, id));
    }

    fn unschedule(&mut self, id: BookingId) {
        if let Some(old) = self.due_at.remove(&id) {
            self.due.remove(&(old, id));
        }
        self.leases.remove(&id);
    }

    fn holds_lease(&self, id: BookingId, worker: &str, now: Instant) -> bool {
        self.leases
            .get(&id)
            .is_some_and(|(owner, until)| owner == worker && *until > now)
    }
}

#[derive(Clone, Default)]
pub struct MemoryStore {
    state: Arc<Mutex<State>>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // Every critical section below finishes its updates before anything
        // that could panic, so a poisoned lock still guards consistent data.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Store for MemoryStore {
    async fn create(
        &self,
        booking: &Booking,
        idempotency: Option<Idempotency<'_>>,
    ) -> Result<Created, StoreError> {
        let now = Instant::now();
        let mut s = self.lock();
        if let Some(idem) = &idempotency {
            let key = idem.key.as_str();
            if let Some((id, fingerprint, until)) = s.idempotency.get(key)
                && *until > now
            {
                if fingerprint != idem.fingerprint {
                    return Err(StoreError::KeyReused {
                        key: key.to_owned(),
                        existing: id.to_string(),
                    });
                }
                let existing = s.bookings.get(id).cloned();
                return existing.map(Created::Replayed).ok_or_else(|| {
                    StoreError::Corrupt(format!("idempotency key {key:?} names a missing booking"))
                });
            }
            s.idempotency.insert(
                key.to_owned(),
                (
                    booking.id,
                    idem.fingerprint.to_owned(),
                    now + super::IDEMPOTENCY_TTL,
                ),
            );
        }
        s.bookings.insert(booking.id, booking.clone());
        s.schedule(booking.id, now);
        Ok(Created::New(booking.clone()))
    }

    async fn get(&self, id: BookingId) -> Result<Option<Booking>, StoreError> {
        Ok(self.lock().bookings.get(&id).cloned())
    }

    async fn list(
        &self,
        after: Option<BookingId>,
        limit: usize,
    ) -> Result<Vec<Booking>, StoreError> {
        let s = self.lock();
        let range = match after {
            Some(after) => s
                .bookings
                .range((std::ops::Bound::Excluded(after), std::ops::Bound::Unbounded)),
            None => s.bookings.range(..),
        };
        Ok(range.take(limit).map(|(_, b)| b.clone()).collect())
    }

    async fn cancel(&self, id: BookingId) -> Result<Cancelled, StoreError> {
        let mut s = self.lock();
        let Some(booking) = s.bookings.get(&id).cloned() else {
            return Ok(Cancelled::NotFound);
        };
        if booking.status != Status::Pending {
            return Ok(Cancelled::TooLate(booking));
        }
        let booking = super::cancelled(booking);
        s.bookings.insert(id, booking.clone());
        s.unschedule(id);
        Ok(Cancelled::Done(booking))
    }

    async fn claim(
        &self,
        worker: &str,
        lease: Duration,
        max: usize,
    ) -> Result<Vec<Claim>, StoreError> {
        let now = Instant::now();
        let mut s = self.lock();
        let due: Vec<(Instant, BookingId)> = s
            .due
            .iter()
            .take_while(|(at, _)| *at <= now)
            .take(max)
            .copied()
            .collect();
        let mut claims = Vec::with_capacity(due.len());
        for (at, id) in due {
            // The due time moves to the lease's end: if the worker dies the
            // booking is due again exactly when its lease runs out.
            s.schedule(id, now + lease);
            s.leases.insert(id, (worker.to_owned(), now + lease));
            if let Some(booking) = s.bookings.get(&id).cloned() {
                claims.push(Claim {
                    booking,
                    lag: now.saturating_duration_since(at),
                });
            }
        }
        Ok(claims)
    }

    async fn renew(
        &self,
        worker: &str,
        id: BookingId,
        lease: Duration,
    ) -> Result<bool, StoreError> {
        let now = Instant::now();
        let mut s = self.lock();
        if !s.holds_lease(id, worker, now) {
            return Ok(false);
        }
        s.leases.insert(id, (worker.to_owned(), now + lease));
        s.schedule(id, now + lease);
        Ok(true)
    }

    async fn save(
        &self,
        worker: &str,
        expected: Status,
        booking: &Booking,
        next: Next,
    ) -> Result<bool, StoreError> {
        let now = Instant::now();
        let mut s = self.lock();
        let current = s.bookings.get(&booking.id).map(|b| b.status);
        if current != Some(expected) || !s.holds_lease(booking.id, worker, now) {
            return Ok(false);
        }
        s.bookings.insert(booking.id, booking.clone());
        match next {
            Next::DueIn(delay) => {
                s.leases.remove(&booking.id);
                s.schedule(booking.id, now + delay);
            }
            Next::Hold => {}
            Next::Done => s.unschedule(booking.id),
        }
        Ok(true)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }
}
