//! A stay: check-in inclusive, check-out exclusive, at least one night, judged in Argentina.

use chrono::{DateTime, Datelike, Days, FixedOffset, NaiveDate, Utc, Weekday};
use serde::Serialize;

/// Argentina has kept UTC-3 all year since 2009 (no DST), so a fixed offset is exact and
/// spares every component the time-zone database.
pub fn argentina_offset() -> FixedOffset {
    FixedOffset::west_opt(3 * 3600).expect("valid offset")
}

/// The calendar date in Buenos Aires at `now`.
pub fn today_in_argentina(now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&argentina_offset()).date_naive()
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StayError {
    #[error("{0} is not a valid date (expected YYYY-MM-DD)")]
    Malformed(String),
    #[error("check_out must be after check_in")]
    NotAfter,
    #[error("check_in is in the past")]
    InThePast,
    #[error("stays are limited to {0} nights")]
    TooLong(u32),
}

/// Parses `YYYY-MM-DD` strictly (no times, no other formats, real calendar dates only).
pub fn parse_date(text: &str) -> Result<NaiveDate, StayError> {
    let bytes = text.as_bytes();
    let shaped = bytes.len() == 10
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && bytes.iter().enumerate().all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit());
    if !shaped {
        return Err(StayError::Malformed(text.to_owned()));
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| StayError::Malformed(text.to_owned()))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Stay {
    check_in: NaiveDate,
    check_out: NaiveDate,
}

impl Stay {
    /// Validates a stay to be booked: real dates, at least one night, not starting before
    /// `today` (Argentina), at most `max_nights`.
    pub fn parse(check_in: &str, check_out: &str, today: NaiveDate, max_nights: u32) -> Result<Stay, StayError> {
        let stay = Stay::between(parse_date(check_in)?, parse_date(check_out)?)?;
        if stay.check_in < today {
            return Err(StayError::InThePast);
        }
        if stay.nights() > max_nights {
            return Err(StayError::TooLong(max_nights));
        }
        Ok(stay)
    }

    /// Any range of at least one night, with no booking rules (stored stays, imported blocks).
    pub fn between(check_in: NaiveDate, check_out: NaiveDate) -> Result<Stay, StayError> {
        if check_out <= check_in {
            return Err(StayError::NotAfter);
        }
        Ok(Stay { check_in, check_out })
    }

    pub fn check_in(&self) -> NaiveDate {
        self.check_in
    }

    pub fn check_out(&self) -> NaiveDate {
        self.check_out
    }

    pub fn nights(&self) -> u32 {
        (self.check_out - self.check_in).num_days() as u32
    }

    /// Every night of the stay, named by its date.
    pub fn each_night(&self) -> impl Iterator<Item = NaiveDate> + '_ {
        self.check_in.iter_days().take_while(move |d| *d < self.check_out)
    }

    pub fn overlaps(&self, other: &Stay) -> bool {
        self.check_in < other.check_out && other.check_in < self.check_out
    }
}

/// Saturday and Sunday nights carry the weekend multiplier.
pub fn is_weekend_night(night: NaiveDate) -> bool {
    matches!(night.weekday(), Weekday::Sat | Weekday::Sun)
}

/// `date + n days`, saturating at chrono's range.
pub fn add_days(date: NaiveDate, n: u64) -> NaiveDate {
    date.checked_add_days(Days::new(n)).unwrap_or(NaiveDate::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        parse_date(s).unwrap()
    }

    #[test]
    fn check_in_today_is_allowed_yesterday_is_not() {
        let today = d("2027-03-05");
        assert!(Stay::parse("2027-03-05", "2027-03-06", today, 30).is_ok());
        assert_eq!(Stay::parse("2027-03-04", "2027-03-06", today, 30), Err(StayError::InThePast));
    }

    #[test]
    fn check_out_must_follow_check_in() {
        let today = d("2027-01-01");
        assert_eq!(Stay::parse("2027-03-05", "2027-03-05", today, 30), Err(StayError::NotAfter));
        assert_eq!(Stay::parse("2027-03-06", "2027-03-05", today, 30), Err(StayError::NotAfter));
    }

    #[test]
    fn impossible_and_malformed_dates_are_refused() {
        for bad in [
            "2027-02-30",
            "2027-13-01",
            "27-03-05",
            "2027/03/05",
            "2027-03-05T00:00",
            "",
            " 2027-03-05",
            "２０２７-03-05",
        ] {
            assert!(parse_date(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn max_nights_is_inclusive() {
        let today = d("2027-01-01");
        assert!(Stay::parse("2027-03-01", "2027-03-31", today, 30).is_ok());
        assert_eq!(Stay::parse("2027-03-01", "2027-04-01", today, 30), Err(StayError::TooLong(30)));
    }

    #[test]
    fn argentina_is_three_hours_behind_utc() {
        let late_utc = "2027-03-06T02:30:00Z".parse::<DateTime<Utc>>().unwrap();
        assert_eq!(today_in_argentina(late_utc), d("2027-03-05"));
    }

    #[test]
    fn back_to_back_stays_do_not_overlap() {
        let a = Stay::between(d("2027-03-05"), d("2027-03-08")).unwrap();
        let b = Stay::between(d("2027-03-08"), d("2027-03-10")).unwrap();
        assert!(!a.overlaps(&b));
        let c = Stay::between(d("2027-03-07"), d("2027-03-09")).unwrap();
        assert!(a.overlaps(&c));
    }

    proptest! {
        #[test]
        fn nights_listed_match_the_count(start in 0u64..5000, len in 1u64..60) {
            let check_in = add_days(d("2025-01-01"), start);
            let stay = Stay::between(check_in, add_days(check_in, len)).unwrap();
            let nights: Vec<_> = stay.each_night().collect();
            prop_assert_eq!(nights.len() as u32, stay.nights());
            prop_assert_eq!(nights[0], check_in);
            prop_assert_eq!(add_days(*nights.last().unwrap(), 1), stay.check_out());
        }

        #[test]
        fn overlap_is_symmetric_and_matches_shared_nights(a in 0u64..40, al in 1u64..10, b in 0u64..40, bl in 1u64..10) {
            let base = d("2027-01-01");
            let x = Stay::between(add_days(base, a), add_days(base, a + al)).unwrap();
            let y = Stay::between(add_days(base, b), add_days(base, b + bl)).unwrap();
            let shared = x.each_night().any(|n| y.each_night().any(|m| m == n));
            prop_assert_eq!(x.overlaps(&y), shared);
            prop_assert_eq!(x.overlaps(&y), y.overlaps(&x));
        }
    }
}
