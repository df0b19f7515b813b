//! The booking domain as parsed types: once a request body deserializes
//! into a [`BookingRequest`], every code, date, amount and count in it is
//! known to be valid (parse, don't validate). [`Booking`] is the record the
//! store keeps and the API returns.

use std::fmt;
use std::str::FromStr;

use jiff::civil::Date;
use jiff::{Timestamp, tz::TimeZone};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use parker_fares::codes::{Cabin, Currency, IataCode};

/// Booking ids are UUIDv7: unique without coordination between replicas and
/// ordered by creation time, which is what makes cursor paging a range scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BookingId(uuid::Uuid);

impl BookingId {
    pub fn new() -> Self {
        BookingId(uuid::Uuid::now_v7())
    }
}

impl Default for BookingId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for BookingId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{0:?} is not a booking id: expected a UUID such as 01936f0e-7a1b-7c3d-8e4f-0123456789ab")]
pub struct BadBookingId(String);

impl FromStr for BookingId {
    type Err = BadBookingId;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        uuid::Uuid::try_parse(s)
            .map(BookingId)
            .map_err(|_| BadBookingId(s.to_owned()))
    }
}

/// Client-chosen `Idempotency-Key` header value: 1 to 255 visible ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, thiserror::Error)]
#[error("Idempotency-Key must be 1 to 255 visible ASCII characters, got {0}")]
pub struct BadIdempotencyKey(String);

impl FromStr for IdempotencyKey {
    type Err = BadIdempotencyKey;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() || s.len() > 255 || !s.bytes().all(|b| b.is_ascii_graphic()) {
            let shown = if s.len() > 40 {
                format!("{} bytes", s.len())
            } else {
                format!("{s:?}")
            };
            return Err(BadIdempotencyKey(shown));
        }
        Ok(IdempotencyKey(s.to_owned()))
    }
}

/// An amount of money in integer minor units of a two-decimal currency.
/// On the wire: `{"amount": "450.00", "currency": "EUR"}` (a JSON number is
/// accepted for `amount` too).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Money {
    pub amount_minor: i64,
    pub currency: Currency,
}

/// Largest amount accepted: one million units; more is a typo, not a fare.
const MAX_AMOUNT_MINOR: i64 = 100_000_000;

impl Money {
    fn parse_amount(text: &str) -> Result<i64, String> {
        let bad = || {
            format!(
                "amount {text:?} is not a positive decimal with at most two decimals, e.g. \"450.00\""
            )
        };
        if text.starts_with('-') {
            return Err(format!(
                "amount {text:?} is negative: a maximum price must be positive"
            ));
        }
        let (units, cents) = match text.split_once('.') {
            Some((u, c)) if !c.is_empty() && c.len() <= 2 => (u, c),
            Some(_) => return Err(bad()),
            None => (text, ""),
        };
        if units.is_empty()
            || units.len() > 9
            || !units.bytes().all(|b| b.is_ascii_digit())
            || !cents.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(bad());
        }
        let units: i64 = units.parse().map_err(|_| bad())?;
        let cents: i64 = format!("{cents:0<2}").parse().map_err(|_| bad())?;
        let minor = units * 100 + cents;
        if minor == 0 {
            return Err(format!(
                "amount {text:?} is zero: a maximum price must be positive"
            ));
        }
        if minor > MAX_AMOUNT_MINOR {
            return Err(format!("amount {text:?} is above the limit of 1000000.00"));
        }
        Ok(minor)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{:02} {}",
            self.amount_minor / 100,
            self.amount_minor % 100,
            self.currency
        )
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct MoneyWire {
    amount: AmountWire,
    currency: Currency,
}

#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum AmountWire {
    Text(String),
    Number(serde_json::Number),
}

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        MoneyWire {
            amount: AmountWire::Text(format!(
                "{}.{:02}",
                self.amount_minor / 100,
                self.amount_minor % 100
            )),
            currency: self.currency,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let wire = MoneyWire::deserialize(d)?;
        let text = match wire.amount {
            AmountWire::Text(t) => t,
            AmountWire::Number(n) => n.to_string(),
        };
        let amount_minor = Money::parse_amount(&text).map_err(serde::de::Error::custom)?;
        Ok(Money {
            amount_minor,
            currency: wire.currency,
        })
    }
}

/// Departure dates the traveller accepts, inclusive, starting today or
/// later, at most [`DateWindow::MAX_DAYS`] days long.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "WindowWire")]
pub struct DateWindow {
    pub from: Date,
    pub to: Date,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WindowWire {
    from: String,
    to: String,
}

impl DateWindow {
    pub const MAX_DAYS: i32 = 14;

    pub fn parse(from: &str, to: &str, today: Date) -> Result<DateWindow, String> {
        let date = |name: &str, text: &str| {
            text.parse::<Date>()
                .map_err(|_| format!("{name} {text:?} is not a date: expected YYYY-MM-DD"))
        };
        let (from_d, to_d) = (date("from", from)?, date("to", to)?);
        if to_d < from_d {
            return Err(format!("to {to} is before from {from}"));
        }
        if from_d < today {
            return Err(format!("from {from} is in the past (today is {today} UTC)"));
        }
        let days = from_d.until(to_d).map(|s| s.get_days()).unwrap_or(i32::MAX);
        if days >= Self::MAX_DAYS {
            return Err(format!(
                "the window {from}..{to} spans {} days: at most {} are searched",
                days + 1,
                Self::MAX_DAYS
            ));
        }
        Ok(DateWindow {
            from: from_d,
            to: to_d,
        })
    }

    pub fn days(&self) -> impl Iterator<Item = Date> + '_ {
        self.from
            .series(jiff::ToSpan::days(1))
            .take_while(|d| *d <= self.to)
    }
}

pub fn today_utc() -> Date {
    TimeZone::UTC.to_datetime(Timestamp::now()).date()
}

impl TryFrom<WindowWire> for DateWindow {
    type Error = String;
    fn try_from(w: WindowWire) -> Result<Self, String> {
        DateWindow::parse(&w.from, &w.to, today_utc())
    }
}

/// Number of travellers on one booking, 1 to 9 (an airline's usual limit
/// for one record).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct Passengers(u8);

impl Passengers {
    pub fn get(self) -> u32 {
        u32::from(self.0)
    }
}

impl TryFrom<u32> for Passengers {
    type Error = String;
    fn try_from(n: u32) -> Result<Self, String> {
        match u8::try_from(n) {
            Ok(n @ 1..=9) => Ok(Passengers(n)),
            _ => Err(format!("passengers must be 1 to 9, got {n}")),
        }
    }
}

impl From<Passengers> for u32 {
    fn from(p: Passengers) -> u32 {
        p.get()
    }
}

/// Who travels. Kept out of telemetry: names and e-mail addresses are
/// personal data.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, try_from = "TravellerWire")]
pub struct Traveller {
    pub name: String,
    pub email: String,
}

impl fmt::Debug for Traveller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Traveller(<redacted>)")
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TravellerWire {
    name: String,
    email: String,
}

impl TryFrom<TravellerWire> for Traveller {
    type Error = String;
    fn try_from(w: TravellerWire) -> Result<Self, String> {
        let name = w.name.trim();
        if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
            return Err("name must be 1 to 100 printable characters".into());
        }
        let email = w.email.trim();
        let plausible = email.len() <= 254
            && email
                .split_once('@')
                .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'))
            && !email.chars().any(|c| c.is_whitespace() || c.is_control());
        if !plausible {
            return Err(format!("email {email:?} is not an e-mail address"));
        }
        Ok(Traveller {
            name: name.to_owned(),
            email: email.to_owned(),
        })
    }
}

/// The body of `POST /v1/bookings`: a traveller's terms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BookingRequest {
    pub traveller: Traveller,
    pub origin: IataCode,
    pub destination: IataCode,
    pub departure: DateWindow,
    pub max_price: Money,
    pub cabin: Cabin,
    pub passengers: Passengers,
}

impl BookingRequest {
    /// Checks that need more than one field.
    pub fn check(&self) -> Result<(), String> {
        if self.origin == self.destination {
            return Err(format!(
                "origin and destination are both {}: a flight needs two airports",
                self.origin
            ));
        }
        Ok(())
    }

    /// Canonical form compared for `Idempotency-Key` reuse: the same key with
    /// a body that means the same thing (whitespace, key order) is a replay.
    pub fn fingerprint(&self) -> String {
        serde_json::to_string(self).expect("a parsed request always serializes")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Accepted; the worker is looking for an offer within the terms.
    Pending,
    /// An offer was chosen and is being ordered and confirmed at the provider.
    Ordering,
    /// Ordered and confirmed. Final.
    Booked,
    /// The provider refused or stayed unavailable. Final.
    Failed,
    /// No offer met the terms in time. Final.
    Expired,
    /// Cancelled by the traveller. Final.
    Cancelled,
}

impl Status {
    pub fn as_str(&self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Ordering => "ordering",
            Status::Booked => "booked",
            Status::Failed => "failed",
            Status::Expired => "expired",
            Status::Cancelled => "cancelled",
        }
    }

    pub fn is_final(&self) -> bool {
        matches!(
            self,
            Status::Booked | Status::Failed | Status::Expired | Status::Cancelled
        )
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The offer the worker chose, kept on the booking before ordering so a
/// worker that takes over re-orders the same offer under the same key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChosenOffer {
    pub offer_id: String,
    pub date: Date,
    pub departs_at: String,
    /// Price per passenger.
    pub price: Money,
}

/// The stored record; also what `GET /v1/bookings/{id}` returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Booking {
    pub id: BookingId,
    pub status: Status,
    pub request: BookingRequest,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// W3C `traceparent` of the request that created the booking; worker
    /// spans link to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traceparent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offer: Option<ChosenOffer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    /// Why the booking failed or expired.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Fare searches that found nothing within the terms.
    #[serde(default)]
    pub searches: u32,
    /// Consecutive transient provider failures (reset on progress).
    #[serde(default)]
    pub attempts: u32,
    /// Offers that sold out under us; skipped by later searches.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sold_out: Vec<String>,
}

impl Booking {
    pub fn new(request: BookingRequest, traceparent: Option<String>) -> Self {
        let now = Timestamp::now();
        Booking {
            id: BookingId::new(),
            status: Status::Pending,
            request,
            created_at: now,
            updated_at: now,
            traceparent,
            offer: None,
            order_id: None,
            reason: None,
            searches: 0,
            attempts: 0,
            sold_out: Vec::new(),
        }
    }
}

impl Serialize for BookingId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for BookingId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests;
