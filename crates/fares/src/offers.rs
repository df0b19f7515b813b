//! Deterministic offer generation: the offers for a route, date and
//! currency are a pure function of the provider's seed, so tests and demos
//! see the same fares on every run and on every replica.

use jiff::civil::Date;

use crate::api::{Offer, Price};
use crate::codes::{Cabin, Currency, IataCode};

/// What an offer id encodes; the id is the only thing an order names, so
/// the provider can regenerate the offer from it without storing offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OfferRef {
    pub origin: IataCode,
    pub destination: IataCode,
    pub date: Date,
    pub currency: Currency,
    pub index: u8,
}

impl OfferRef {
    /// Seats are a property of the flight, whatever currency it was priced in.
    pub fn flight_key(&self) -> (IataCode, IataCode, Date, u8) {
        (self.origin, self.destination, self.date, self.index)
    }

    pub fn id(&self) -> String {
        format!(
            "{}.{}.{}.{}.{}",
            self.origin,
            self.destination,
            self.date.strftime("%Y%m%d"),
            self.currency,
            self.index
        )
    }

    /// Parses an id made by [`OfferRef::id`]; `None` for anything else.
    pub fn parse(id: &str) -> Option<OfferRef> {
        let mut parts = id.split('.');
        let origin = parts.next()?.parse().ok()?;
        let destination = parts.next()?.parse().ok()?;
        let date = Date::strptime("%Y%m%d", parts.next()?).ok()?;
        let currency = parts.next()?.parse().ok()?;
        let index = parts.next()?.parse().ok()?;
        if parts.next().is_some() {
            return None;
        }
        Some(OfferRef {
            origin,
            destination,
            date,
            currency,
            index,
        })
    }
}

/// FNV-1a: a hash that is stable across Rust releases and platforms, which
/// `std`'s `DefaultHasher` does not promise; three lines do not justify a crate.
pub(crate) fn stable_hash(seed: u64, parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ seed;
    for part in parts {
        for b in part.iter().chain(&[0xff]) {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    mix(h)
}

/// splitmix64 finaliser: spreads FNV's weak low bits over the whole word.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Offers for one route and date, listed by departure time. Seats are the
/// flight's capacity; callers subtract what orders have reserved.
pub fn generate(
    seed: u64,
    origin: IataCode,
    destination: IataCode,
    date: Date,
    currency: Currency,
) -> Vec<(OfferRef, Offer)> {
    let route = stable_hash(
        seed,
        &[origin.as_str().as_bytes(), destination.as_str().as_bytes()],
    );
    let day = stable_hash(route, &[date.to_string().as_bytes()]);
    // Route "distance": a base economy fare between 60 and 600 EUR.
    let base_eur_cents = 6_000 + (route % 54_000) as i64;
    let count = 3 + (day % 4) as u8;
    let mut offers: Vec<(OfferRef, Offer)> = (0..count)
        .map(|index| {
            let r = mix(day ^ u64::from(index).wrapping_mul(0x9e37_79b9_7f4a_7c15));
            let cabin = match r % 10 {
                0..=5 => Cabin::Economy,
                6 | 7 => Cabin::PremiumEconomy,
                8 => Cabin::Business,
                _ => Cabin::First,
            };
            let (factor_pct, capacity) = match cabin {
                Cabin::Economy => (100, 150),
                Cabin::PremiumEconomy => (160, 40),
                Cabin::Business => (350, 30),
                Cabin::First => (600, 8),
            };
            // ±30 % around the cabin's price for this route and day.
            let spread = 70 + ((r >> 8) % 61) as i64;
            let eur_cents = base_eur_cents * factor_pct / 100 * spread / 100;
            let amount_minor = eur_cents * currency.per_hundred_eur() / 100;
            let minutes = (r >> 20) % (18 * 60) + 6 * 60;
            let offer_ref = OfferRef {
                origin,
                destination,
                date,
                currency,
                index,
            };
            let offer = Offer {
                id: offer_ref.id(),
                origin,
                destination,
                date,
                departs_at: format!("{:02}:{:02}", minutes / 60, minutes % 60),
                cabin,
                price: Price {
                    amount_minor,
                    currency,
                },
                seats_left: capacity,
            };
            (offer_ref, offer)
        })
        .collect();
    offers.sort_by(|a, b| a.1.departs_at.cmp(&b.1.departs_at));
    offers
}

/// Regenerates the offer an id names, or `None` when the id is not one of
/// the offers this seed produces.
pub fn find(seed: u64, offer_ref: &OfferRef) -> Option<Offer> {
    generate(
        seed,
        offer_ref.origin,
        offer_ref.destination,
        offer_ref.date,
        offer_ref.currency,
    )
    .into_iter()
    .find(|(r, _)| r == offer_ref)
    .map(|(_, o)| o)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jfk_lhr(seed: u64) -> Vec<Offer> {
        let date = Date::new(2026, 12, 1).unwrap();
        generate(
            seed,
            "JFK".parse().unwrap(),
            "LHR".parse().unwrap(),
            date,
            Currency::Eur,
        )
        .into_iter()
        .map(|(_, o)| o)
        .collect()
    }

    #[test]
    fn same_seed_gives_same_offers_and_another_seed_differs() {
        assert_eq!(jfk_lhr(7), jfk_lhr(7));
        assert_ne!(jfk_lhr(7), jfk_lhr(8));
    }

    #[test]
    fn offer_ids_parse_back_to_the_offer() {
        for offer in jfk_lhr(7) {
            let r = OfferRef::parse(&offer.id).expect("own id parses");
            assert_eq!(find(7, &r), Some(offer));
        }
        assert_eq!(OfferRef::parse("JFK.LHR.20261201.EUR.3.extra"), None);
        assert_eq!(OfferRef::parse("nonsense"), None);
    }

    #[test]
    fn offers_are_sorted_by_departure_and_prices_positive() {
        let offers = jfk_lhr(1);
        assert!(
            offers
                .windows(2)
                .all(|w| w[0].departs_at <= w[1].departs_at)
        );
        assert!(offers.iter().all(|o| o.price.amount_minor > 0));
    }
}
