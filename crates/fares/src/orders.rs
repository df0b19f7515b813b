//! The order book: idempotent on `order_key`, seats reserved once per key,
//! every order kept (in memory) so tests can audit what was ordered.

use std::collections::HashMap;
use std::sync::Mutex;

use jiff::civil::Date;

use crate::api::{Order, OrderList, OrderRequest, OrderStatus, Price};
use crate::codes::IataCode;
use crate::offers::{self, OfferRef};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum OrderError {
    #[error("offer {0:?} does not exist: use an id returned by GET /v1/offers")]
    UnknownOffer(String),
    #[error("offer {offer_id:?} has {seats_left} seats left, {requested} requested")]
    SoldOut {
        offer_id: String,
        seats_left: u32,
        requested: u32,
    },
    #[error(
        "order key {order_key:?} was already used for offer {offer_id:?} with {passengers} passengers; \
         an order key names exactly one order"
    )]
    KeyReused {
        order_key: String,
        offer_id: String,
        passengers: u32,
    },
    #[error("order {0:?} does not exist")]
    UnknownOrder(String),
}

type FlightKey = (IataCode, IataCode, Date, u8);

#[derive(Default)]
struct Book {
    orders: Vec<Order>,
    by_key: HashMap<String, usize>,
    by_id: HashMap<String, usize>,
    reserved: HashMap<FlightKey, u32>,
}

/// Shared, thread-safe order book. A `Mutex` is enough: every operation is
/// a few map look-ups, never held across an await.
pub struct OrderBook {
    seed: u64,
    book: Mutex<Book>,
}

/// Whether [`OrderBook::place`] created the order or found it by key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placed {
    Created,
    Existing,
}

impl OrderBook {
    pub fn new(seed: u64) -> Self {
        OrderBook {
            seed,
            book: Mutex::new(Book::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Book> {
        // A panic while holding the lock cannot leave the book half-updated
        // (each update is a few infallible pushes), so poisoning is ignored.
        self.book.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Seats already reserved on the flight an offer belongs to.
    pub fn reserved(&self, offer: &OfferRef) -> u32 {
        self.lock()
            .reserved
            .get(&offer.flight_key())
            .copied()
            .unwrap_or(0)
    }

    pub fn place(&self, req: &OrderRequest) -> Result<(Placed, Order), OrderError> {
        let mut book = self.lock();
        if let Some(&i) = book.by_key.get(&req.order_key) {
            let order = &mut book.orders[i];
            if order.offer_id != req.offer_id || order.passengers != req.passengers {
                return Err(OrderError::KeyReused {
                    order_key: req.order_key.clone(),
                    offer_id: order.offer_id.clone(),
                    passengers: order.passengers,
                });
            }
            order.requests += 1;
            return Ok((Placed::Existing, order.clone()));
        }
        let unknown = || OrderError::UnknownOffer(req.offer_id.clone());
        let offer_ref = OfferRef::parse(&req.offer_id).ok_or_else(unknown)?;
        let offer = offers::find(self.seed, &offer_ref).ok_or_else(unknown)?;
        let reserved = book
            .reserved
            .get(&offer_ref.flight_key())
            .copied()
            .unwrap_or(0);
        let seats_left = offer.seats_left.saturating_sub(reserved);
        if req.passengers > seats_left {
            return Err(OrderError::SoldOut {
                offer_id: req.offer_id.clone(),
                seats_left,
                requested: req.passengers,
            });
        }
        *book.reserved.entry(offer_ref.flight_key()).or_default() += req.passengers;
        let index = book.orders.len();
        let order = Order {
            id: format!("ORD-{:06}", index + 1),
            order_key: req.order_key.clone(),
            offer_id: req.offer_id.clone(),
            passengers: req.passengers,
            total: Price {
                amount_minor: offer.price.amount_minor * i64::from(req.passengers),
                currency: offer.price.currency,
            },
            status: OrderStatus::Reserved,
            requests: 1,
        };
        book.by_key.insert(order.order_key.clone(), index);
        book.by_id.insert(order.id.clone(), index);
        book.orders.push(order.clone());
        Ok((Placed::Created, order))
    }

    /// Confirms (tickets) an order; confirming twice is a no-op.
    pub fn confirm(&self, id: &str) -> Result<Order, OrderError> {
        let mut book = self.lock();
        let i = *book
            .by_id
            .get(id)
            .ok_or_else(|| OrderError::UnknownOrder(id.to_owned()))?;
        book.orders[i].status = OrderStatus::Confirmed;
        Ok(book.orders[i].clone())
    }

    pub fn get(&self, id: &str) -> Result<Order, OrderError> {
        let book = self.lock();
        let i = *book
            .by_id
            .get(id)
            .ok_or_else(|| OrderError::UnknownOrder(id.to_owned()))?;
        Ok(book.orders[i].clone())
    }

    pub fn list(&self) -> OrderList {
        OrderList {
            orders: self.lock().orders.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes::Currency;

    fn first_offer(seed: u64) -> crate::api::Offer {
        offers::generate(
            seed,
            "CDG".parse().unwrap(),
            "NRT".parse().unwrap(),
            Date::new(2027, 1, 5).unwrap(),
            Currency::Usd,
        )
        .remove(0)
        .1
    }

    fn request(key: &str, offer_id: &str, passengers: u32) -> OrderRequest {
        OrderRequest {
            order_key: key.into(),
            offer_id: offer_id.into(),
            passengers,
        }
    }

    #[test]
    fn same_key_returns_same_order_and_reserves_once() {
        let book = OrderBook::new(3);
        let offer = first_offer(3);
        let (p1, o1) = book.place(&request("k1", &offer.id, 2)).unwrap();
        let (p2, o2) = book.place(&request("k1", &offer.id, 2)).unwrap();
        assert_eq!((p1, p2), (Placed::Created, Placed::Existing));
        assert_eq!(o1.id, o2.id);
        assert_eq!(o2.requests, 2);
        assert_eq!(book.reserved(&OfferRef::parse(&offer.id).unwrap()), 2);
        assert_eq!(book.list().orders.len(), 1);
    }

    #[test]
    fn same_key_with_other_offer_is_refused() {
        let book = OrderBook::new(3);
        let offer = first_offer(3);
        book.place(&request("k1", &offer.id, 1)).unwrap();
        let err = book.place(&request("k1", &offer.id, 2)).unwrap_err();
        assert!(matches!(err, OrderError::KeyReused { passengers: 1, .. }));
    }

    #[test]
    fn cannot_reserve_more_seats_than_the_flight_has() {
        let book = OrderBook::new(3);
        let offer = first_offer(3);
        let err = book
            .place(&request("k", &offer.id, offer.seats_left + 1))
            .unwrap_err();
        assert!(matches!(err, OrderError::SoldOut { .. }), "{err}");
        assert!(book.list().orders.is_empty());
    }
}
