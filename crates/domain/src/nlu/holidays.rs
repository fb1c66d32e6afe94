//! Argentine national holidays (Ley 27.399, with its amendments) and the long weekends they
//! make: what "el finde largo", "carnaval" and "semana santa" mean on a given date.
//!
//! Rules, from the law:
//! - Fixed ("inamovibles"): 1 January, 24 March (Memoria), 2 April (Malvinas), 1 May, 25 May,
//!   20 June (Belgrano), 9 July, 8 December, 25 December.
//! - Carnaval: the Monday and Tuesday before Ash Wednesday (Easter − 48 and − 47 days).
//! - Viernes Santo (Easter − 2) is a holiday; Jueves Santo (Easter − 3) is a national
//!   non-working day ("día no laborable"): most guests and employers treat it as off, and it
//!   makes the Semana Santa long weekend, so it counts here.
//! - Movable ("trasladables", art. 6): 17 June (Güemes), 17 August (San Martín), 12 October
//!   (Diversidad Cultural), 20 November (Soberanía). Falling on Tuesday or Wednesday it moves to
//!   the Monday before; on Thursday or Friday to the Monday after; otherwise it stays.
//! - Bridge days ("días no laborables con fines turísticos", art. 7): up to three a year, chosen
//!   by decree. Only decreed ones are listed: 2025 (2 May, 15 August, 21 November) and 2026
//!   (23 March, 10 July, 7 December). Later years get theirs when the decree is published; until
//!   then their long weekends come from the rules above only.
//!
//! Easter is computed (anonymous Gregorian algorithm), so any year works; the decrees, the only
//! data, cover 2025–2026. The executive can move a holiday by decree against these rules; none
//! did so for 2025–2026.

use chrono::{Datelike, Days, NaiveDate, Weekday};

/// Why a day is off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DayOffKind {
    /// A fixed-date national holiday.
    Fixed,
    /// Carnaval Monday or Tuesday, or Viernes Santo.
    Easter,
    /// Jueves Santo: a national non-working day.
    NonWorking,
    /// A movable holiday, on the date it is observed.
    Movable,
    /// A bridge day decreed for tourism.
    Bridge,
}

/// One holiday as observed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Holiday {
    pub date: NaiveDate,
    pub name: &'static str,
    pub kind: DayOffKind,
}

/// Easter Sunday (Gregorian), by the anonymous (Meeus/Jones/Butcher) algorithm.
pub fn easter_sunday(year: i32) -> NaiveDate {
    let a = year % 19;
    let b = year / 100;
    let c = year % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    NaiveDate::from_ymd_opt(year, month as u32, day as u32).expect("Easter is a real date")
}

/// Where a movable holiday is observed (Ley 27.399, art. 6).
pub fn observed(date: NaiveDate) -> NaiveDate {
    match date.weekday() {
        Weekday::Tue => date - Days::new(1),
        Weekday::Wed => date - Days::new(2),
        Weekday::Thu => date + Days::new(4),
        Weekday::Fri => date + Days::new(3),
        _ => date,
    }
}

/// Bridge days decreed so far (see the module doc).
const BRIDGES: &[(i32, u32, u32)] =
    &[(2025, 5, 2), (2025, 8, 15), (2025, 11, 21), (2026, 3, 23), (2026, 7, 10), (2026, 12, 7)];

fn ymd(year: i32, month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day).expect("a real calendar date")
}

/// Every national holiday and non-working day of `year`, in date order.
pub fn holidays(year: i32) -> Vec<Holiday> {
    let easter = easter_sunday(year);
    let mut list = vec![
        Holiday { date: ymd(year, 1, 1), name: "Año Nuevo", kind: DayOffKind::Fixed },
        Holiday { date: easter - Days::new(48), name: "Carnaval", kind: DayOffKind::Easter },
        Holiday { date: easter - Days::new(47), name: "Carnaval", kind: DayOffKind::Easter },
        Holiday { date: ymd(year, 3, 24), name: "Día de la Memoria", kind: DayOffKind::Fixed },
        Holiday { date: ymd(year, 4, 2), name: "Malvinas", kind: DayOffKind::Fixed },
        Holiday { date: easter - Days::new(3), name: "Jueves Santo", kind: DayOffKind::NonWorking },
        Holiday { date: easter - Days::new(2), name: "Viernes Santo", kind: DayOffKind::Easter },
        Holiday { date: ymd(year, 5, 1), name: "Día del Trabajador", kind: DayOffKind::Fixed },
        Holiday { date: ymd(year, 5, 25), name: "Revolución de Mayo", kind: DayOffKind::Fixed },
        Holiday { date: observed(ymd(year, 6, 17)), name: "Güemes", kind: DayOffKind::Movable },
        Holiday { date: ymd(year, 6, 20), name: "Belgrano", kind: DayOffKind::Fixed },
        Holiday { date: ymd(year, 7, 9), name: "Independencia", kind: DayOffKind::Fixed },
        Holiday { date: observed(ymd(year, 8, 17)), name: "San Martín", kind: DayOffKind::Movable },
        Holiday { date: observed(ymd(year, 10, 12)), name: "Diversidad Cultural", kind: DayOffKind::Movable },
        Holiday { date: observed(ymd(year, 11, 20)), name: "Soberanía Nacional", kind: DayOffKind::Movable },
        Holiday { date: ymd(year, 12, 8), name: "Inmaculada Concepción", kind: DayOffKind::Fixed },
        Holiday { date: ymd(year, 12, 25), name: "Navidad", kind: DayOffKind::Fixed },
    ];
    list.extend(BRIDGES.iter().filter(|(y, _, _)| *y == year).map(|(y, m, d)| Holiday {
        date: ymd(*y, *m, *d),
        name: "Puente turístico",
        kind: DayOffKind::Bridge,
    }));
    list.sort_by_key(|h| h.date);
    list
}

/// The holiday (or non-working day) on `date`, if any.
pub fn holiday_on(date: NaiveDate) -> Option<Holiday> {
    holidays(date.year()).into_iter().find(|h| h.date == date)
}

/// Saturday, Sunday, or a holiday or non-working day.
pub fn is_day_off(date: NaiveDate) -> bool {
    matches!(date.weekday(), Weekday::Sat | Weekday::Sun) || holiday_on(date).is_some()
}

/// A long weekend: three or more days off in a row, first and last day off (both inclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LongWeekend {
    pub first: NaiveDate,
    pub last: NaiveDate,
}

/// The long weekends whose last day is after `from`, in order, up to `horizon_days` ahead.
pub fn long_weekends(from: NaiveDate, horizon_days: u64) -> Vec<LongWeekend> {
    let mut found = Vec::new();
    // Start a few days back so a run already under way is seen whole.
    let mut day = from - Days::new(7);
    let end = from + Days::new(horizon_days);
    while day <= end {
        if is_day_off(day) {
            let first = day;
            while is_day_off(day + Days::new(1)) {
                day = day + Days::new(1);
            }
            if (day - first).num_days() >= 2 && day > from {
                found.push(LongWeekend { first, last: day });
            }
        }
        day = day + Days::new(1);
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn easter_matches_the_published_dates() {
        for (year, date) in [
            (2024, "2024-03-31"),
            (2025, "2025-04-20"),
            (2026, "2026-04-05"),
            (2027, "2027-03-28"),
            (2028, "2028-04-16"),
            (2038, "2038-04-25"),
            (2285, "2285-03-22"),
        ] {
            assert_eq!(easter_sunday(year), d(date), "{year}");
        }
    }

    #[test]
    fn movable_holidays_move_to_the_nearest_monday_the_law_says() {
        assert_eq!(observed(d("2025-06-17")), d("2025-06-16"), "Tuesday → Monday before");
        assert_eq!(observed(d("2026-06-17")), d("2026-06-15"), "Wednesday → Monday before");
        assert_eq!(observed(d("2025-11-20")), d("2025-11-24"), "Thursday → Monday after");
        assert_eq!(observed(d("2026-11-20")), d("2026-11-23"), "Friday → Monday after");
        assert_eq!(observed(d("2025-08-17")), d("2025-08-17"), "Sunday stays");
        assert_eq!(observed(d("2028-11-20")), d("2028-11-20"), "Monday stays");
    }

    fn dates(year: i32) -> Vec<String> {
        holidays(year).iter().map(|h| h.date.format("%m-%d").to_string()).collect()
    }

    #[test]
    fn calendar_2025_as_published() {
        assert_eq!(
            dates(2025),
            [
                "01-01", "03-03", "03-04", "03-24", "04-02", "04-17", "04-18", "05-01", "05-02", "05-25", "06-16",
                "06-20", "07-09", "08-15", "08-17", "10-12", "11-21", "11-24", "12-08", "12-25"
            ]
        );
    }

    #[test]
    fn calendar_2026_as_published() {
        // 2 April 2026 is both Malvinas and Jueves Santo.
        assert_eq!(
            dates(2026),
            [
                "01-01", "02-16", "02-17", "03-23", "03-24", "04-02", "04-02", "04-03", "05-01", "05-25", "06-15",
                "06-20", "07-09", "07-10", "08-17", "10-12", "11-23", "12-07", "12-08", "12-25"
            ]
        );
    }

    #[test]
    fn calendars_2027_and_2028_from_the_rules() {
        assert_eq!(
            dates(2027),
            [
                "01-01", "02-08", "02-09", "03-24", "03-25", "03-26", "04-02", "05-01", "05-25", "06-20", "06-21",
                "07-09", "08-16", "10-11", "11-20", "12-08", "12-25"
            ]
        );
        assert_eq!(
            dates(2028),
            [
                "01-01", "02-28", "02-29", "03-24", "04-02", "04-13", "04-14", "05-01", "05-25", "06-17", "06-20",
                "07-09", "08-21", "10-16", "11-20", "12-08", "12-25"
            ]
        );
    }

    #[test]
    fn long_weekends_of_early_2026() {
        let runs = long_weekends(d("2026-02-10"), 60);
        assert_eq!(runs[0], LongWeekend { first: d("2026-02-14"), last: d("2026-02-17") }, "Carnaval");
        assert_eq!(runs[1], LongWeekend { first: d("2026-03-21"), last: d("2026-03-24") }, "puente + Memoria");
        assert_eq!(runs[2], LongWeekend { first: d("2026-04-02"), last: d("2026-04-05") }, "Semana Santa");
        assert_eq!(runs.len(), 3);
    }

    #[test]
    fn a_long_weekend_under_way_still_counts() {
        let runs = long_weekends(d("2026-02-15"), 10);
        assert_eq!(runs[0], LongWeekend { first: d("2026-02-14"), last: d("2026-02-17") });
        assert!(long_weekends(d("2026-02-17"), 10).iter().all(|r| r.first > d("2026-02-17")));
    }

    #[test]
    fn semana_santa_and_the_december_runs() {
        let runs = long_weekends(d("2026-03-30"), 270);
        assert!(runs.contains(&LongWeekend { first: d("2026-04-02"), last: d("2026-04-05") }));
        assert!(runs.contains(&LongWeekend { first: d("2026-07-09"), last: d("2026-07-12") }));
        assert!(runs.contains(&LongWeekend { first: d("2026-11-21"), last: d("2026-11-23") }));
        assert!(runs.contains(&LongWeekend { first: d("2026-12-05"), last: d("2026-12-08") }));
        assert!(runs.contains(&LongWeekend { first: d("2026-12-25"), last: d("2026-12-27") }));
        assert!(is_day_off(d("2026-04-02")) && !is_day_off(d("2026-04-06")));
    }
}
