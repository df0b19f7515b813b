//! Parsed input types shared by the fare provider and its clients: an
//! [`IataCode`], a [`Currency`], a [`Cabin`]. Each is made once at the edge
//! from text and trusted afterwards (parse, don't validate).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a code could not be parsed; the message names the value and what
/// would be right.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    #[error("{0:?} is not an IATA airport code: expected three letters A-Z, e.g. \"JFK\"")]
    Iata(String),
    #[error("{0:?} is not a supported currency: expected one of {list}", list = Currency::LIST)]
    Currency(String),
    #[error("{0:?} is not a cabin: expected one of economy, premium_economy, business, first")]
    Cabin(String),
}

/// A three-letter IATA airport code, upper case (input is upper-cased).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IataCode([u8; 3]);

impl IataCode {
    pub fn as_str(&self) -> &str {
        // Invariant: constructed only from ASCII letters.
        std::str::from_utf8(&self.0).expect("IataCode holds ASCII letters")
    }
}

impl FromStr for IataCode {
    type Err = CodeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bytes = s.as_bytes();
        if bytes.len() != 3 || !bytes.iter().all(u8::is_ascii_alphabetic) {
            return Err(CodeError::Iata(s.to_owned()));
        }
        let mut code = [0u8; 3];
        for (dst, src) in code.iter_mut().zip(bytes) {
            *dst = src.to_ascii_uppercase();
        }
        Ok(IataCode(code))
    }
}

/// ISO 4217 currencies the sandbox prices in; all have two minor digits,
/// which is what lets amounts travel as integer minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Currency {
    Eur,
    Usd,
    Gbp,
    Chf,
    Cad,
    Aud,
}

impl Currency {
    const LIST: &'static str = "EUR, USD, GBP, CHF, CAD, AUD";
    pub fn as_str(&self) -> &'static str {
        match self {
            Currency::Eur => "EUR",
            Currency::Usd => "USD",
            Currency::Gbp => "GBP",
            Currency::Chf => "CHF",
            Currency::Cad => "CAD",
            Currency::Aud => "AUD",
        }
    }
    /// Units of this currency per euro, in percent, so prices stay integral.
    pub fn per_hundred_eur(&self) -> i64 {
        match self {
            Currency::Eur => 100,
            Currency::Usd => 108,
            Currency::Gbp => 85,
            Currency::Chf => 95,
            Currency::Cad => 150,
            Currency::Aud => 165,
        }
    }
}

impl FromStr for Currency {
    type Err = CodeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "EUR" => Currency::Eur,
            "USD" => Currency::Usd,
            "GBP" => Currency::Gbp,
            "CHF" => Currency::Chf,
            "CAD" => Currency::Cad,
            "AUD" => Currency::Aud,
            _ => return Err(CodeError::Currency(s.to_owned())),
        })
    }
}

/// Cabin class of an offer or a booking request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Cabin {
    Economy,
    PremiumEconomy,
    Business,
    First,
}

impl Cabin {
    pub const ALL: [Cabin; 4] = [
        Cabin::Economy,
        Cabin::PremiumEconomy,
        Cabin::Business,
        Cabin::First,
    ];
    pub fn as_str(&self) -> &'static str {
        match self {
            Cabin::Economy => "economy",
            Cabin::PremiumEconomy => "premium_economy",
            Cabin::Business => "business",
            Cabin::First => "first",
        }
    }
}

impl FromStr for Cabin {
    type Err = CodeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Cabin::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| CodeError::Cabin(s.to_owned()))
    }
}

macro_rules! text_serde {
    ($($ty:ty),*) => {$(
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    )*};
}
text_serde!(IataCode, Currency, Cabin);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iata_code_is_upper_cased_and_must_be_three_letters() {
        assert_eq!("jfk".parse::<IataCode>().unwrap().as_str(), "JFK");
        for bad in ["JF", "JFKX", "J1K", "", "ÄBC"] {
            let err = bad.parse::<IataCode>().unwrap_err();
            assert!(err.to_string().contains("three letters"), "{bad}: {err}");
        }
    }

    #[test]
    fn unknown_currency_names_the_supported_ones() {
        let err = "XXX".parse::<Currency>().unwrap_err().to_string();
        assert!(err.contains("\"XXX\"") && err.contains("EUR, USD"), "{err}");
    }

    #[test]
    fn cabin_round_trips_through_its_wire_name() {
        for cabin in Cabin::ALL {
            assert_eq!(cabin.as_str().parse::<Cabin>().unwrap(), cabin);
        }
        assert!("Economy".parse::<Cabin>().is_err());
    }
}
