//! Exact money: integer cents of ARS. Nobody formats or parses amounts by hand.

use serde::{Deserialize, Serialize};
use std::fmt;

/// An amount in cents. Arithmetic is checked by the callers that can overflow (pricing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Cents(pub i64);

/// The largest amount we accept from a client: ARS 10 000 000 000,00 a night is already absurd,
/// and staying far from i64's limit keeps totals over long stays exact.
pub const MAX_AMOUNT: Cents = Cents(1_000_000_000_000);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid amount: {0}")]
pub struct AmountError(pub String);

impl Cents {
    /// Parses `"48000"`, `"48000.5"`, `"48000.50"`: at most two decimals, no sign, no exponent.
    pub fn parse(text: &str) -> Result<Cents, AmountError> {
        let err = || AmountError(text.to_owned());
        let (whole, frac) = match text.split_once('.') {
            Some((w, f)) => (w, f),
            None => (text, ""),
        };
        if whole.is_empty() || whole.len() > 13 || frac.len() > 2 {
            return Err(err());
        }
        if !whole.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err());
        }
        if text.contains('.') && frac.is_empty() {
            return Err(err());
        }
        let whole: i64 = whole.parse().map_err(|_| err())?;
        let frac: i64 = match frac.len() {
            0 => 0,
            1 => frac.parse::<i64>().map_err(|_| err())? * 10,
            _ => frac.parse().map_err(|_| err())?,
        };
        let cents = Cents(whole * 100 + frac);
        if cents > MAX_AMOUNT {
            return Err(err());
        }
        Ok(cents)
    }

    /// Reads a JSON amount: a number (at most two decimals) or a decimal string.
    pub fn from_json(value: &serde_json::Value) -> Result<Cents, AmountError> {
        match value {
            serde_json::Value::String(s) => Cents::parse(s.trim()),
            // The number's shortest text form is exactly what the client wrote (serde_json
            // keeps it), so parsing that text never goes through binary floating point.
            serde_json::Value::Number(n) => Cents::parse(&n.to_string()),
            other => Err(AmountError(other.to_string())),
        }
    }

    /// Whole pesos, rounding half up (amounts are never negative here).
    pub fn round_to_pesos(self) -> Cents {
        Cents((self.0 + 50).div_euclid(100) * 100)
    }
}

impl fmt::Display for Cents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

impl Serialize for Cents {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Cents {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(d)?;
        Cents::from_json(&value).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn formats_with_two_decimals() {
        assert_eq!(Cents(4_800_000).to_string(), "48000.00");
        assert_eq!(Cents(5).to_string(), "0.05");
        assert_eq!(Cents(-150).to_string(), "-1.50");
    }

    #[test]
    fn parses_numbers_and_strings() {
        assert_eq!(Cents::from_json(&json!(48000)), Ok(Cents(4_800_000)));
        assert_eq!(Cents::from_json(&json!(0.1)), Ok(Cents(10)));
        assert_eq!(Cents::from_json(&json!(19.99)), Ok(Cents(1999)));
        assert_eq!(Cents::from_json(&json!("48000.50")), Ok(Cents(4_800_050)));
        assert_eq!(Cents::from_json(&json!("48000.5")), Ok(Cents(4_800_050)));
    }

    #[test]
    fn refuses_what_is_not_an_exact_amount() {
        for bad in
            [json!(-1), json!(1.234), json!("1e3"), json!("12."), json!(""), json!(null), json!("abc"), json!(1e20)]
        {
            assert!(Cents::from_json(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn rounds_half_up_to_pesos() {
        assert_eq!(Cents(1449).round_to_pesos(), Cents(1400));
        assert_eq!(Cents(1450).round_to_pesos(), Cents(1500));
        assert_eq!(Cents(1500).round_to_pesos(), Cents(1500));
    }
}
