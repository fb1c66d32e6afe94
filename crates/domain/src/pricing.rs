//! Prices: base price per night, a multiplier on Saturday and Sunday nights, a deposit share.

use crate::money::Cents;
use crate::stay::{is_weekend_night, Stay};
use chrono::NaiveDate;
use serde::Serialize;
use std::fmt;

/// A price multiplier in ten-thousandths (1.2 = 12 000), so prices stay exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Multiplier(u32);

impl Multiplier {
    pub const ONE: Multiplier = Multiplier(10_000);
    pub const DEFAULT_WEEKEND: Multiplier = Multiplier(12_000);

    /// From the stored form (ten-thousandths).
    pub fn from_basis_points(bp: u32) -> Option<Multiplier> {
        (1..=100_000).contains(&bp).then_some(Multiplier(bp))
    }

    pub fn basis_points(self) -> u32 {
        self.0
    }

    /// Parses a JSON number or string such as `1.2` or `"1.25"`: above 0, at most 10, at most
    /// four decimals.
    pub fn from_json(value: &serde_json::Value) -> Option<Multiplier> {
        let text = match value {
            serde_json::Value::Number(n) => n.to_string(),
            serde_json::Value::String(s) => s.trim().to_owned(),
            _ => return None,
        };
        let (whole, frac) = text.split_once('.').unwrap_or((&text, ""));
        if whole.is_empty() || whole.len() > 2 || frac.len() > 4 {
            return None;
        }
        if !whole.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let frac_bp: u32 = format!("{frac:0<4}").parse().ok()?;
        Multiplier::from_basis_points(whole.parse::<u32>().ok()? * 10_000 + frac_bp)
    }

    /// `amount × multiplier`, rounded half up to the cent.
    pub fn apply(self, amount: Cents) -> Cents {
        let scaled = i128::from(amount.0) * i128::from(self.0);
        Cents(((scaled + 5_000) / 10_000) as i64)
    }
}

impl fmt::Display for Multiplier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = format!("{}.{:04}", self.0 / 10_000, self.0 % 10_000);
        let text = text.trim_end_matches('0');
        write!(f, "{}", text.strip_suffix('.').map_or(text.to_owned(), |t| format!("{t}.0")))
    }
}

impl Serialize for Multiplier {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A whole percentage, 0 to 100.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Percent(u8);

impl Percent {
    pub const DEFAULT_DEPOSIT: Percent = Percent(30);

    pub fn new(value: i64) -> Option<Percent> {
        u8::try_from(value).ok().filter(|v| *v <= 100).map(Percent)
    }

    pub fn value(self) -> u8 {
        self.0
    }
}

/// What an accommodation charges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rates {
    pub base_price: Cents,
    pub weekend_multiplier: Multiplier,
    pub deposit_percent: Percent,
}

/// One night's price.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NightPrice {
    pub date: NaiveDate,
    pub price: Cents,
}

/// The price of a stay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Quote {
    pub nights: u32,
    pub nightly: Vec<NightPrice>,
    pub total_price: Cents,
    pub deposit_amount: Cents,
}

impl Rates {
    pub fn night_price(&self, night: NaiveDate) -> Cents {
        if is_weekend_night(night) {
            self.weekend_multiplier.apply(self.base_price)
        } else {
            self.base_price
        }
    }

    pub fn quote(&self, stay: &Stay) -> Quote {
        let nightly: Vec<NightPrice> =
            stay.each_night().map(|date| NightPrice { date, price: self.night_price(date) }).collect();
        let total = Cents(nightly.iter().map(|n| n.price.0).sum());
        let deposit =
            Cents(((i128::from(total.0) * i128::from(self.deposit_percent.0) + 50) / 100) as i64).round_to_pesos();
        Quote { nights: stay.nights(), nightly, total_price: total, deposit_amount: deposit }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stay::parse_date;
    use serde_json::json;

    fn rates(base: i64) -> Rates {
        Rates {
            base_price: Cents(base),
            weekend_multiplier: Multiplier::DEFAULT_WEEKEND,
            deposit_percent: Percent::DEFAULT_DEPOSIT,
        }
    }

    fn stay(a: &str, b: &str) -> Stay {
        Stay::between(parse_date(a).unwrap(), parse_date(b).unwrap()).unwrap()
    }

    #[test]
    fn weekdays_cost_the_base_price() {
        // 2027-03-01 is a Monday: Mon..Thu nights.
        let q = rates(10_000_00).quote(&stay("2027-03-01", "2027-03-05"));
        assert_eq!(q.total_price, Cents(40_000_00));
        assert_eq!(q.deposit_amount, Cents(12_000_00));
    }

    #[test]
    fn saturday_and_sunday_nights_carry_the_multiplier() {
        // Fri, Sat, Sun nights: 10 000 + 12 000 + 12 000.
        let q = rates(10_000_00).quote(&stay("2027-03-05", "2027-03-08"));
        let prices: Vec<_> = q.nightly.iter().map(|n| n.price).collect();
        assert_eq!(prices, vec![Cents(10_000_00), Cents(12_000_00), Cents(12_000_00)]);
        assert_eq!(q.total_price, Cents(34_000_00));
        assert_eq!(q.deposit_amount, Cents(10_200_00));
    }

    #[test]
    fn deposit_is_rounded_to_whole_pesos() {
        // 30 % of 333.33 = 99.999 -> 100.00
        let q = rates(333_33).quote(&stay("2027-03-01", "2027-03-02"));
        assert_eq!(q.deposit_amount, Cents(100_00));
        // 30 % of 101.00 = 30.30 -> 30.00
        let q = rates(101_00).quote(&stay("2027-03-01", "2027-03-02"));
        assert_eq!(q.deposit_amount, Cents(30_00));
    }

    #[test]
    fn multiplier_rounds_to_the_cent() {
        // 1.2 × 0.05 = 0.06
        assert_eq!(Multiplier::DEFAULT_WEEKEND.apply(Cents(5)), Cents(6));
        assert_eq!(Multiplier::from_json(&json!("1.3333")).unwrap().apply(Cents(100)), Cents(133));
    }

    #[test]
    fn multiplier_parsing() {
        assert_eq!(Multiplier::from_json(&json!(1.2)), Some(Multiplier::DEFAULT_WEEKEND));
        assert_eq!(Multiplier::from_json(&json!("1")), Some(Multiplier::ONE));
        assert_eq!(Multiplier::from_json(&json!(0)), None);
        assert_eq!(Multiplier::from_json(&json!(-1.2)), None);
        assert_eq!(Multiplier::from_json(&json!(11)), None);
        assert_eq!(Multiplier::from_json(&json!(1.23456)), None);
        assert_eq!(Multiplier::DEFAULT_WEEKEND.to_string(), "1.2");
        assert_eq!(Multiplier::ONE.to_string(), "1.0");
    }

    #[test]
    fn percent_bounds() {
        assert!(Percent::new(0).is_some());
        assert!(Percent::new(100).is_some());
        assert!(Percent::new(101).is_none());
        assert!(Percent::new(-1).is_none());
    }
}
