//! Dates as guests write them, resolved into the future from the day the message arrived
//! (Buenos Aires). See the module doc of `nlu` for the readings chosen.

use super::holidays::{self, long_weekends};
use super::normalize::Tok;
use super::{numbers, Note};
use chrono::{Datelike, Days, NaiveDate, Weekday};

/// What the dates of one message came to.
#[derive(Debug, Default)]
pub(crate) struct Found {
    pub check_in: Option<NaiveDate>,
    pub check_out: Option<NaiveDate>,
    /// A length said without a start ("para dos noches").
    pub nights: Option<u32>,
    pub notes: Vec<Note>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rel {
    /// "el viernes": the coming one, never today.
    Plain,
    /// "este viernes": today if it is Friday.
    This,
    /// "el viernes que viene", "el próximo viernes".
    Next,
    /// "el otro finde": the one after the coming one.
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Year {
    Exactly(i32),
    /// "del año que viene".
    Next,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Point {
    Day {
        day: u32,
        month: Option<u32>,
        year: Option<Year>,
        weekday: Option<Weekday>,
    },
    Weekday {
        weekday: Weekday,
        rel: Rel,
    },
    /// Days from today: hoy, mañana, pasado mañana.
    Offset(u64),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Mention {
    /// `to` is the check-out, or with `nights_named` the last night ("el 7 y 8").
    Range {
        from: Point,
        to: Point,
        nights_named: bool,
    },
    Start(Point),
    /// "nos vamos el 15", "hasta el domingo".
    Leave(Point),
    Weekend {
        anchor: Option<Point>,
        rel: Rel,
    },
    LongWeekend {
        month: Option<u32>,
        anchor: Option<Point>,
    },
    Easter,
    Carnival,
    Nights {
        count: u32,
        said_days: bool,
    },
    Vague,
}

const MONTHS: &[(&str, u32)] = &[
    ("enero", 1),
    ("ene", 1),
    ("febrero", 2),
    ("feb", 2),
    ("marzo", 3),
    ("mar", 3),
    ("abril", 4),
    ("abr", 4),
    ("mayo", 5),
    ("may", 5),
    ("junio", 6),
    ("jun", 6),
    ("julio", 7),
    ("jul", 7),
    ("agosto", 8),
    ("ago", 8),
    ("septiembre", 9),
    ("setiembre", 9),
    ("sep", 9),
    ("octubre", 10),
    ("oct", 10),
    ("noviembre", 11),
    ("nov", 11),
    ("diciembre", 12),
    ("dic", 12),
];

const WEEKDAYS: &[(&str, Weekday)] = &[
    ("lunes", Weekday::Mon),
    ("lun", Weekday::Mon),
    ("martes", Weekday::Tue),
    ("mar", Weekday::Tue),
    ("miercoles", Weekday::Wed),
    ("mie", Weekday::Wed),
    ("mier", Weekday::Wed),
    ("jueves", Weekday::Thu),
    ("jue", Weekday::Thu),
    ("viernes", Weekday::Fri),
    ("vie", Weekday::Fri),
    ("sabado", Weekday::Sat),
    ("sab", Weekday::Sat),
    ("domingo", Weekday::Sun),
    ("dom", Weekday::Sun),
];

/// Words after a number that make it something other than a day.
const NOT_A_DAY_AFTER: &[&str] = &[
    "noche", "noches", "dia", "dias", "semana", "semanas", "personas", "persona", "pax", "adultos", "adulto",
    "mayores", "ninos", "nino", "chicos", "menores", "bebes", "bebe", "hs", "horas", "mil", "pesos", "parejas",
    "familias",
];

/// Words just before a day that make it the day they leave.
const LEAVE_WORDS: &[&str] = &[
    "salimos",
    "salgo",
    "salir",
    "vamos",
    "irnos",
    "iriamos",
    "volver",
    "volvemos",
    "regresar",
    "regresamos",
    "retiramos",
    "dejamos",
    "salida",
    "hasta",
];

struct Scanner<'a> {
    t: &'a [Tok],
    notes: Vec<Note>,
}

impl<'a> Scanner<'a> {
    fn w(&self, i: usize) -> &'a str {
        self.t.get(i).and_then(Tok::word).unwrap_or("")
    }

    fn month_at(&self, i: usize) -> Option<(u32, usize)> {
        let w = self.w(i);
        MONTHS.iter().find(|(name, _)| *name == w).map(|(_, m)| (*m, i + 1))
    }

    /// `[de|del] <month>` at `i`.
    fn month_after(&self, i: usize) -> Option<(u32, usize)> {
        let j = if matches!(self.w(i), "de" | "del") { i + 1 } else { i };
        self.month_at(j)
    }

    /// `[de|del] 2027`, `del año que viene`, `del próximo año` at `i`.
    fn year_after(&self, i: usize) -> Option<(Year, usize)> {
        let j = if matches!(self.w(i), "de" | "del") { i + 1 } else { i };
        if let Some(y) = self.t.get(j).and_then(Tok::num).filter(|y| (2020..=2100).contains(y)) {
            return Some((Year::Exactly(y as i32), j + 1));
        }
        match (self.w(j), self.w(j + 1), self.w(j + 2)) {
            ("ano", "que", "viene") => Some((Year::Next, j + 3)),
            ("proximo", "ano", _) => Some((Year::Next, j + 2)),
            _ => None,
        }
    }

    /// A day number at `i`: digits or words, or (when `misheard` allows) a word one sound away
    /// from a number word.
    fn day_number(&self, i: usize, misheard: bool) -> Option<(u32, usize, Option<Note>)> {
        match self.t.get(i)? {
            Tok::Num { value, heard } if (1..=31).contains(value) => {
                let note = heard.as_ref().map(|h| Note::Misheard { heard: h.clone(), read_as: *value });
                Some((*value, i + 1, note))
            }
            Tok::Word(w) if misheard => numbers::misheard_value(w)
                .filter(|v| (1..=31).contains(v))
                .map(|v| (v, i + 1, Some(Note::Misheard { heard: w.clone(), read_as: v }))),
            _ => None,
        }
    }

    fn weekday_rel_before(&self, i: usize) -> Rel {
        match i.checked_sub(1).map(|p| self.w(p)) {
            Some("proximo" | "proxima") => Rel::Next,
            Some("este" | "esta") => Rel::This,
            _ => Rel::Plain,
        }
    }

    /// One date at `i`. `bare` lets a lone number be a day ("el 14"); `misheard` lets a
    /// non-number word be read as one.
    fn point(&mut self, i: usize, bare: bool, misheard: bool) -> Option<(Point, usize)> {
        match self.t.get(i)? {
            Tok::DayMonth { day, month, year } => {
                let year = year.map(Year::Exactly);
                return Some((Point::Day { day: *day, month: Some(*month), year, weekday: None }, i + 1));
            }
            Tok::Word(w) => {
                let w = w.as_str();
                if let Some((_, weekday)) = WEEKDAYS.iter().find(|(name, _)| *name == w) {
                    let mut j = i + 1;
                    let mut rel = self.weekday_rel_before(i);
                    if self.w(j) == "que" && self.w(j + 1) == "viene" {
                        rel = Rel::Next;
                        j += 2;
                    }
                    let day = self.day_number(j, false).filter(|(_, k, _)| !NOT_A_DAY_AFTER.contains(&self.w(*k)));
                    if let Some((day, k, _)) = day {
                        let (month, k) = self.month_after(k).map_or((None, k), |(m, k)| (Some(m), k));
                        let (year, k) = self.year_after(k).map_or((None, k), |(y, k)| (Some(y), k));
                        return Some((Point::Day { day, month, year, weekday: Some(*weekday) }, k));
                    }
                    // "mar" alone is the sea, not Tuesday.
                    if w == "mar" {
                        return None;
                    }
                    return Some((Point::Weekday { weekday: *weekday, rel }, j));
                }
                match w {
                    "hoy" => return Some((Point::Offset(0), i + 1)),
                    "esta" if self.w(i + 1) == "noche" => return Some((Point::Offset(0), i + 2)),
                    "pasado" if self.w(i + 1) == "manana" => return Some((Point::Offset(2), i + 2)),
                    "manana" => {
                        // "a la mañana", "por la mañana", "esta mañana": the morning.
                        let before = i.checked_sub(1).map(|p| self.w(p)).unwrap_or("");
                        if matches!(before, "la" | "esta" | "pasado") {
                            return None;
                        }
                        return Some((Point::Offset(1), i + 1));
                    }
                    _ => {}
                }
            }
            _ => {}
        }
        let (day, j, note) = self.day_number(i, misheard)?;
        if let Some((month, k)) = self.month_after(j) {
            let (year, k) = self.year_after(k).map_or((None, k), |(y, k)| (Some(y), k));
            self.notes.extend(note);
            return Some((Point::Day { day, month: Some(month), year, weekday: None }, k));
        }
        if !bare || NOT_A_DAY_AFTER.contains(&self.w(j)) || matches!(self.t.get(j), Some(Tok::Time)) {
            return None;
        }
        self.notes.extend(note);
        Some((Point::Day { day, month: None, year: None, weekday: None }, j))
    }

    /// A second date after a range word at `j`: "al 15", "hasta el domingo", "a dom 15".
    fn range_end(&mut self, j: usize, misheard: bool) -> Option<(Point, usize)> {
        let mut k = j;
        while matches!(self.w(k), "el" | "dia") {
            k += 1;
        }
        self.point(k, true, misheard)
    }

    /// Everything dated starting at `i`, or `None` to move on one token.
    fn mention(&mut self, i: usize, out: &mut Vec<Mention>) -> Option<usize> {
        if let Some(next) = self.special(i, out) {
            return Some(next);
        }
        if let Some(next) = self.nights(i, out) {
            return Some(next);
        }
        let w = self.w(i);
        let (start, bare, from_lead) = match w {
            "del" | "desde" | "entre" | "partir" | "de" => {
                let mut j = i + 1;
                while matches!(self.w(j), "el" | "de" | "del" | "la") {
                    j += 1;
                }
                (j, true, true)
            }
            "el" | "para" | "este" | "proximo" | "proxima" | "hasta" => {
                let mut j = i + 1;
                while matches!(self.w(j), "el" | "este" | "proximo" | "proxima") {
                    j += 1;
                }
                (j, self.w(j - 1) == "el" || w == "el", false)
            }
            _ => (i, false, false),
        };
        let notes_before = self.notes.len();
        let parsed = self.point(start, bare, from_lead).or_else(|| {
            // "12 al 15 de marzo" with no word before: a bare number is a day if a range follows.
            if from_lead || bare {
                return None;
            }
            let (_, j, _) = self.day_number(start, false)?;
            matches!(self.w(j), "al" | "hasta").then(|| self.point(start, true, false)).flatten()
        });
        let Some((from, j)) = parsed else {
            self.notes.truncate(notes_before);
            return None;
        };
        let from_is_misheard = self.notes.len() > notes_before;
        // "del 7 al 9", "de viernes a domingo", "desde mañana hasta el lunes", "entre el 3 y el 7"
        let connector = self.w(j);
        let is_range_word = matches!(connector, "al" | "hasta" | "-")
            || (connector == "a" && !matches!(self.w(j + 1), "la" | "las" | "partir"))
            || (connector == "y" && w == "entre");
        if is_range_word {
            if let Some((to, k)) = self.range_end(j + 1, from_is_misheard || from_lead) {
                out.push(Mention::Range { from, to, nights_named: false });
                return Some(k);
            }
        }
        if from_is_misheard || w == "de" {
            // A misheard day needs a range around it to be believed; so does "de 4" ("una
            // familia de 4" is no date).
            self.notes.truncate(notes_before);
            return None;
        }
        // "el 7 y 8", "sábado y domingo", "mañana y pasado": the nights named.
        if connector == "y" {
            let pasado = self.w(j + 1) == "pasado" && from == Point::Offset(1) && self.w(j + 2) != "manana";
            if pasado {
                out.push(Mention::Range { from, to: Point::Offset(2), nights_named: true });
                return Some(j + 2);
            }
            let k = if self.w(j + 1) == "el" { j + 2 } else { j + 1 };
            if let Some((to, end)) = self.point(k, true, false) {
                let same_kind = matches!(
                    (&from, &to),
                    (Point::Day { .. }, Point::Day { .. }) | (Point::Weekday { .. }, Point::Weekday { .. })
                );
                if same_kind {
                    out.push(Mention::Range { from, to, nights_named: true });
                    return Some(end);
                }
            }
        }
        let leaving = (i.saturating_sub(2)..=i).any(|p| LEAVE_WORDS.contains(&self.w(p)) && p < start);
        out.push(if leaving { Mention::Leave(from) } else { Mention::Start(from) });
        Some(j)
    }

    /// finde, finde largo, semana santa, carnaval, loose spans.
    fn special(&mut self, i: usize, out: &mut Vec<Mention>) -> Option<usize> {
        let w = self.w(i);
        let before = i.checked_sub(1).map(|p| self.w(p)).unwrap_or("");
        match w {
            "finde" if self.w(i + 1) == "largo" => {
                let j = i + 2;
                match (self.w(j), self.w(j + 1), self.w(j + 2)) {
                    ("de", "carnaval", _) => {
                        out.push(Mention::Carnival);
                        return Some(j + 2);
                    }
                    ("de", "semana", "santa") | ("de", "pascua" | "pascuas", _) => {
                        out.push(Mention::Easter);
                        return Some(j + 2);
                    }
                    ("de", "navidad", _) => {
                        let anchor = Point::Day { day: 25, month: Some(12), year: None, weekday: None };
                        out.push(Mention::LongWeekend { month: None, anchor: Some(anchor) });
                        return Some(j + 2);
                    }
                    _ => {}
                }
                if let Some((month, k)) = self.month_after(j).filter(|_| self.w(j) == "de") {
                    out.push(Mention::LongWeekend { month: Some(month), anchor: None });
                    return Some(k);
                }
                if matches!(self.w(j), "del" | "de") {
                    if let Some((anchor, k)) = self.range_end(j + 1, false) {
                        out.push(Mention::LongWeekend { month: None, anchor: Some(anchor) });
                        return Some(k);
                    }
                }
                out.push(Mention::LongWeekend { month: None, anchor: None });
                Some(j)
            }
            "finde" => {
                let mut rel = match before {
                    "este" | "esta" => Rel::This,
                    "proximo" => Rel::Next,
                    "otro" => Rel::Other,
                    _ => Rel::Plain,
                };
                let mut j = i + 1;
                if self.w(j) == "que" && self.w(j + 1) == "viene" {
                    rel = Rel::Next;
                    j += 2;
                }
                if matches!(self.w(j), "del" | "de") {
                    if let Some((anchor, k)) = self.range_end(j + 1, false) {
                        out.push(Mention::Weekend { anchor: Some(anchor), rel });
                        return Some(k);
                    }
                }
                out.push(Mention::Weekend { anchor: None, rel });
                Some(j)
            }
            "semana" if self.w(i + 1) == "santa" => {
                out.push(Mention::Easter);
                Some(i + 2)
            }
            "pascua" | "pascuas" => {
                out.push(Mention::Easter);
                Some(i + 1)
            }
            "carnaval" | "carnavales" => {
                out.push(Mention::Carnival);
                Some(i + 1)
            }
            // "la semana del 16", "la semana que viene", "la próxima semana": which days?
            "semana" if matches!(before, "la" | "esa" | "esta" | "proxima") => {
                out.push(Mention::Vague);
                if matches!(self.w(i + 1), "del" | "de") {
                    if let Some((_, k)) = self.range_end(i + 2, false) {
                        return Some(k);
                    }
                }
                Some(i + 1)
            }
            "en" | "para" | "por" if self.month_at(i + 1).is_some() && self.w(i + 1) != "mar" => {
                out.push(Mention::Vague);
                Some(i + 2)
            }
            _ => None,
        }
    }

    /// "3 noches", "una noche", "una semana", "4 días".
    fn nights(&mut self, i: usize, out: &mut Vec<Mention>) -> Option<usize> {
        let count = match self.t.get(i)? {
            Tok::Num { value, .. } => *value,
            Tok::Word(w) if matches!(w.as_str(), "una" | "un") => 1,
            _ => return None,
        };
        let (count, said_days) = match self.w(i + 1) {
            "noche" | "noches" => (count, false),
            "semana" | "semanas" => (count * 7, false),
            "dia" | "dias" => (count, true),
            _ => return None,
        };
        if count == 0 || count > 90 {
            return None;
        }
        out.push(Mention::Nights { count, said_days });
        Some(i + 2)
    }
}

fn add(date: NaiveDate, days: u64) -> NaiveDate {
    crate::stay::add_days(date, days)
}

fn next_month(year: i32, month: u32) -> (i32, u32) {
    if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    }
}

fn weekday_after(from: NaiveDate, weekday: Weekday, allow_same: bool) -> NaiveDate {
    let ahead = (7 + weekday.num_days_from_monday() as i64 - from.weekday().num_days_from_monday() as i64) % 7;
    let ahead = if ahead == 0 && !allow_same { 7 } else { ahead };
    add(from, ahead as u64)
}

struct Resolver<'n> {
    today: NaiveDate,
    notes: &'n mut Vec<Note>,
}

impl Resolver<'_> {
    fn year_of(&self, year: Year) -> i32 {
        match year {
            Year::Exactly(y) => y,
            Year::Next => self.today.year() + 1,
        }
    }

    fn invalid(&mut self, text: String) -> Option<NaiveDate> {
        self.notes.push(Note::DateInvalid { text });
        None
    }

    fn check_weekday(&mut self, date: NaiveDate, weekday: Option<Weekday>) {
        if weekday.is_some_and(|w| w != date.weekday()) {
            self.notes.push(Note::WeekdayMismatch { date });
        }
    }

    /// A day of a month with no year: the first such date not before `after`.
    fn future_day(&mut self, day: u32, month: u32, after: NaiveDate) -> Option<NaiveDate> {
        for year in after.year()..=after.year() + 4 {
            if let Some(date) = NaiveDate::from_ymd_opt(year, month, day).filter(|d| *d >= after) {
                return Some(date);
            }
        }
        self.invalid(format!("{day}/{month}"))
    }

    /// A day with no month: this month if still to come, else the next month that has it.
    fn future_day_of_month(&mut self, day: u32, after: NaiveDate) -> Option<NaiveDate> {
        let (mut year, mut month) = (after.year(), after.month());
        for _ in 0..13 {
            if let Some(date) = NaiveDate::from_ymd_opt(year, month, day).filter(|d| *d >= after) {
                return Some(date);
            }
            (year, month) = next_month(year, month);
        }
        self.invalid(day.to_string())
    }

    fn point(&mut self, point: &Point) -> Option<NaiveDate> {
        self.point_from(point, self.today, true)
    }

    /// `point` resolved on or after `after` (strictly after when `!inclusive`, for check-outs).
    fn point_from(&mut self, point: &Point, after: NaiveDate, inclusive: bool) -> Option<NaiveDate> {
        let floor = if inclusive { after } else { add(after, 1) };
        match point {
            Point::Offset(n) => Some(add(self.today, *n)),
            Point::Weekday { weekday, rel } => {
                if !inclusive {
                    return Some(weekday_after(after, *weekday, false));
                }
                Some(weekday_after(after, *weekday, *rel == Rel::This))
            }
            Point::Day { day, month, year, weekday } => {
                let date = match (month, year) {
                    (Some(m), Some(y)) => {
                        let y = self.year_of(*y);
                        match NaiveDate::from_ymd_opt(y, *m, *day) {
                            Some(d) if d >= floor || !inclusive => d,
                            Some(d) => return self.invalid(d.to_string()),
                            None => return self.invalid(format!("{day}/{m}/{y}")),
                        }
                    }
                    (Some(m), None) => self.future_day(*day, *m, floor)?,
                    (None, _) => self.future_day_of_month(*day, floor)?,
                };
                self.check_weekday(date, *weekday);
                Some(date)
            }
        }
    }

    fn range(&mut self, from: &Point, to: &Point, nights_named: bool) -> Option<(NaiveDate, NaiveDate)> {
        // "del 27 al 1 de marzo", "del 1 al 5 de febrero del año que viene": the start borrows
        // the month (and year) of the end.
        let from = match (from, to) {
            (
                Point::Day { day, month: None, year: None, weekday },
                Point::Day { day: to_day, month: Some(to_month), year: to_year, .. },
            ) => {
                let (month, wraps) = if day <= to_day {
                    (*to_month, false)
                } else if *to_month == 1 {
                    (12, true)
                } else {
                    (to_month - 1, false)
                };
                let year = to_year.map(|y| Year::Exactly(self.year_of(y) - i32::from(wraps)));
                Point::Day { day: *day, month: Some(month), year, weekday: *weekday }
            }
            _ => from.clone(),
        };
        let check_in = self.point(&from)?;
        let last = match to {
            Point::Day { day, month: None, year: None, weekday } => {
                let date = self.future_day_of_month(*day, add(check_in, u64::from(!nights_named)))?;
                self.check_weekday(date, *weekday);
                date
            }
            // An end with a month but no year is in the start's year, or the next one when the
            // range crosses New Year ("del 28/12 al 3/1"); "del 15/3 al 12/3" is no range.
            Point::Day { day, month: Some(month), year: None, weekday } => {
                let year = check_in.year() + i32::from(*month < check_in.month());
                let Some(date) = NaiveDate::from_ymd_opt(year, *month, *day) else {
                    self.invalid(format!("{day}/{month}"));
                    return None;
                };
                self.check_weekday(date, *weekday);
                date
            }
            _ => self.point_from(to, check_in, nights_named)?,
        };
        let check_out = if nights_named { add(last, 1) } else { last };
        if check_out <= check_in {
            self.invalid(format!("{check_in} → {check_out}"));
            return None;
        }
        Some((check_in, check_out))
    }

    fn weekend(&mut self, anchor: Option<&Point>, rel: Rel) -> Option<(NaiveDate, NaiveDate)> {
        let saturday = match anchor {
            Some(point) => {
                let day = self.point(point)?;
                match day.weekday() {
                    Weekday::Sat => day,
                    Weekday::Sun => day - Days::new(1),
                    _ => weekday_after(day, Weekday::Sat, false),
                }
            }
            None => {
                let today = self.today;
                let coming = match today.weekday() {
                    Weekday::Sat => today,
                    _ => weekday_after(today, Weekday::Sat, false),
                };
                match rel {
                    Rel::Next if today.weekday() == Weekday::Sat => add(coming, 7),
                    Rel::Other => add(coming, 7),
                    _ => coming,
                }
            }
        };
        Some((saturday, add(saturday, 1)))
    }

    fn long_weekend(&mut self, month: Option<u32>, anchor: Option<&Point>) -> Option<(NaiveDate, NaiveDate)> {
        let runs = long_weekends(self.today, 400);
        let anchor = match anchor {
            Some(point) => Some(self.point(point)?),
            None => None,
        };
        let run = runs.into_iter().find(|r| match (anchor, month) {
            (Some(a), _) => r.last >= a,
            (None, Some(m)) => r.first.month() == m || r.last.month() == m,
            (None, None) => true,
        })?;
        Some((run.first.max(self.today), run.last))
    }

    fn easter(&self) -> (NaiveDate, NaiveDate) {
        let mut year = self.today.year();
        loop {
            let sunday = holidays::easter_sunday(year);
            if sunday > self.today {
                return ((sunday - Days::new(3)).max(self.today), sunday);
            }
            year += 1;
        }
    }

    fn carnival(&mut self) -> Option<(NaiveDate, NaiveDate)> {
        for year in self.today.year()..self.today.year() + 3 {
            let monday = holidays::easter_sunday(year) - Days::new(48);
            let tuesday = monday + Days::new(1);
            if tuesday > self.today {
                let runs = long_weekends(self.today, 400);
                return runs
                    .into_iter()
                    .find(|r| r.first <= monday && monday <= r.last)
                    .map(|r| (r.first.max(self.today), r.last));
            }
        }
        None
    }
}

/// The check-in, check-out and length a message names, resolved from `today` (Argentina).
pub(crate) fn extract(t: &[Tok], today: NaiveDate) -> Found {
    let mut scanner = Scanner { t, notes: Vec::new() };
    let mut mentions = Vec::new();
    let mut i = 0;
    while i < t.len() {
        i = scanner.mention(i, &mut mentions).unwrap_or(i + 1);
    }
    let mut notes = scanner.notes;
    let mut found = Found::default();
    let nights = mentions.iter().find_map(|m| match m {
        Mention::Nights { count, said_days } => Some((*count, *said_days)),
        _ => None,
    });
    let start = mentions.iter().find_map(|m| match m {
        Mention::Start(p) => Some(p.clone()),
        _ => None,
    });
    let leave = mentions.iter().find_map(|m| match m {
        Mention::Leave(p) => Some(p.clone()),
        _ => None,
    });
    let range = mentions.iter().find_map(|m| match m {
        Mention::Range { from, to, nights_named } => Some((from.clone(), to.clone(), *nights_named)),
        _ => None,
    });
    let span = mentions.iter().find(|m| {
        matches!(m, Mention::Weekend { .. } | Mention::LongWeekend { .. } | Mention::Easter | Mention::Carnival)
    });
    let vague = mentions.contains(&Mention::Vague);

    let mut r = Resolver { today, notes: &mut notes };
    let dates = if let Some((from, to, nights_named)) = range {
        if nights_named {
            r.notes.push(Note::DatesAssumed { reading: "nights_named" });
        }
        r.range(&from, &to, nights_named)
    } else if let Some(span) = span {
        let (dates, reading) = match span {
            Mention::Weekend { anchor, rel } => (r.weekend(anchor.as_ref(), *rel), "finde"),
            Mention::LongWeekend { month, anchor } => {
                (r.long_weekend(*month, anchor.as_ref().or(start.as_ref())), "finde_largo")
            }
            Mention::Easter => (Some(r.easter()), "semana_santa"),
            _ => (r.carnival(), "carnaval"),
        };
        r.notes.push(Note::DatesAssumed { reading });
        match (dates, nights) {
            (Some((check_in, _)), Some((n, _))) => Some((check_in, add(check_in, u64::from(n)))),
            _ => dates,
        }
    } else if let Some(start) = start {
        match r.point(&start) {
            Some(check_in) => {
                if let Some(leave) = leave {
                    r.point_from(&leave, check_in, false).map(|out| (check_in, out))
                } else if let Some((n, said_days)) = nights {
                    if said_days {
                        r.notes.push(Note::DatesAssumed { reading: "days_as_nights" });
                    }
                    Some((check_in, add(check_in, u64::from(n))))
                } else {
                    found.check_in = Some(check_in);
                    r.notes.push(Note::CheckOutMissing);
                    None
                }
            }
            None => None,
        }
    } else {
        None
    };
    if let Some((check_in, check_out)) = dates.filter(|(a, b)| b > a) {
        found.check_in = Some(check_in);
        found.check_out = Some(check_out);
    } else if found.check_in.is_none() {
        found.nights = nights.map(|(n, _)| n);
        if vague {
            r.notes.push(Note::DatesVague);
        }
    }
    found.notes = notes;
    found
}

#[cfg(test)]
mod tests {
    use super::super::normalize::{normalize, tokenize};
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    /// (check_in, check_out) of `text` on `today`, as strings ("-" for none).
    fn read(text: &str, today: &str) -> (String, String) {
        let found = extract(&tokenize(&normalize(text)), d(today));
        let show = |x: Option<NaiveDate>| x.map_or("-".to_owned(), |d| d.to_string());
        (show(found.check_in), show(found.check_out))
    }

    #[track_caller]
    fn check(text: &str, today: &str, check_in: &str, check_out: &str) {
        assert_eq!(read(text, today), (check_in.to_owned(), check_out.to_owned()), "{text:?} on {today}");
    }

    // 2026-02-10 is a Tuesday.
    const TUE: &str = "2026-02-10";

    #[test]
    fn ranges_with_month_names() {
        check("del 12 al 15 de marzo", TUE, "2026-03-12", "2026-03-15");
        check("del doce al quince de marzo", TUE, "2026-03-12", "2026-03-15");
        check("12 al 15 de marzo", TUE, "2026-03-12", "2026-03-15");
        check("del 30 de marzo al 2 de abril", TUE, "2026-03-30", "2026-04-02");
        check("del 27 al 1 de marzo", TUE, "2026-02-27", "2026-03-01");
        check("desde el 10 hasta el 14 de abril", TUE, "2026-04-10", "2026-04-14");
        check("entre el 3 y el 7 de marzo", TUE, "2026-03-03", "2026-03-07");
        check("del veintiocho de febrero al dos de marzo", TUE, "2026-02-28", "2026-03-02");
        check("del 14 al 15 de mar", TUE, "2026-03-14", "2026-03-15");
        check("del 3 al 5 de dic", TUE, "2026-12-03", "2026-12-05");
    }

    #[test]
    fn ranges_with_numerals() {
        check("15/3 al 18/3", TUE, "2026-03-15", "2026-03-18");
        check("12 al 15/3", TUE, "2026-03-12", "2026-03-15");
        check("12-3 al 14-3", TUE, "2026-03-12", "2026-03-14");
        check("5/4/26 al 8/4/26", TUE, "2026-04-05", "2026-04-08");
        check("del 1/3/2027 al 3/3/2027", TUE, "2027-03-01", "2027-03-03");
        check("del 28/2 al 2/3", TUE, "2026-02-28", "2026-03-02");
    }

    #[test]
    fn days_without_a_month_are_this_month_or_the_next() {
        check("del 12 al 15", TUE, "2026-02-12", "2026-02-15");
        check("del 2 al 5", TUE, "2026-03-02", "2026-03-05");
        check("del 25 al 3", TUE, "2026-02-25", "2026-03-03");
        check("el 31", "2026-04-10", "2026-05-31", "-");
    }

    #[test]
    fn past_dates_move_to_next_year() {
        check("del 5 al 8 de febrero", TUE, "2027-02-05", "2027-02-08");
        check("del 12 al 15 de marzo", "2026-03-19", "2027-03-12", "2027-03-15");
        check("el 10 de febrero", TUE, "2026-02-10", "-");
        check("del 1 al 5 de febrero del año que viene", TUE, "2027-02-01", "2027-02-05");
    }

    #[test]
    fn ranges_across_new_year() {
        check("del 28/12 al 3/1", "2026-12-20", "2026-12-28", "2027-01-03");
        check("del 30 al 2", "2026-12-20", "2026-12-30", "2027-01-02");
        check("del 28 de diciembre al 3 de enero", TUE, "2026-12-28", "2027-01-03");
        check("del 30 de diciembre al 1 de enero", "2026-12-20", "2026-12-30", "2027-01-01");
        check("el 2/1 3 noches", "2026-12-20", "2027-01-02", "2027-01-05");
    }

    #[test]
    fn explicit_past_or_impossible_dates_are_refused() {
        check("del 30/2 al 3/3", TUE, "-", "-");
        check("del 1/1/2025 al 3/1/2025", TUE, "-", "-");
        check("del 15/3 al 12/3", TUE, "-", "-");
    }

    #[test]
    fn weekdays_are_the_coming_ones() {
        check("el viernes", TUE, "2026-02-13", "-");
        check("el martes", TUE, "2026-02-17", "-");
        check("este martes", TUE, "2026-02-10", "-");
        check("el proximo viernes", TUE, "2026-02-13", "-");
        check("el viernes que viene", "2026-02-13", "2026-02-20", "-");
        check("del viernes al domingo", TUE, "2026-02-13", "2026-02-15");
        check("de jueves a domingo", TUE, "2026-02-12", "2026-02-15");
        check("desde el lunes hasta el jueves", TUE, "2026-02-16", "2026-02-19");
        check("lun 16 al mie 18", TUE, "2026-02-16", "2026-02-18");
        check("vie 13 a dom 15 de marzo", TUE, "2026-03-13", "2026-03-15");
        check("el sabado y domingo", TUE, "2026-02-14", "2026-02-16");
    }

    #[test]
    fn mar_is_march_tuesday_or_the_sea() {
        check("el mar 17", TUE, "2026-02-17", "-");
        check("14 mar 3 noches", TUE, "2026-03-14", "2026-03-17");
        check("cerca del mar", TUE, "-", "-");
        check("vista al mar el finde", TUE, "2026-02-14", "2026-02-15");
    }

    #[test]
    fn relative_days() {
        check("hoy", TUE, "2026-02-10", "-");
        check("esta noche", TUE, "2026-02-10", "-");
        check("manana", TUE, "2026-02-11", "-");
        check("pasado manana", TUE, "2026-02-12", "-");
        check("pasado manana dos noches", TUE, "2026-02-12", "2026-02-14");
        check("manana y pasado", TUE, "2026-02-11", "2026-02-13");
        check("desde manana hasta el domingo", TUE, "2026-02-11", "2026-02-15");
        check("llegamos a las 10 de la manana", TUE, "-", "-");
        check("por la manana", TUE, "-", "-");
    }

    #[test]
    fn lengths() {
        check("desde el viernes 3 noches", TUE, "2026-02-13", "2026-02-16");
        check("3 noches desde el 20 de marzo", TUE, "2026-03-20", "2026-03-23");
        check("una semana desde el 1 de marzo", TUE, "2026-03-01", "2026-03-08");
        check("el 14 de febrero, una noche", TUE, "2026-02-14", "2026-02-15");
        check("el 5 de marzo por 4 dias", TUE, "2026-03-05", "2026-03-09");
        let found = extract(&tokenize(&normalize("para dos noches")), d(TUE));
        assert_eq!((found.check_in, found.nights), (None, Some(2)));
        let found = extract(&tokenize(&normalize("buenas noches")), d(TUE));
        assert_eq!(found.nights, None);
    }

    #[test]
    fn arriving_and_leaving() {
        check("llegamos el 12 de marzo y nos vamos el 15", TUE, "2026-03-12", "2026-03-15");
        check("entramos el viernes y salimos el domingo", TUE, "2026-02-13", "2026-02-15");
        check("el 7 y 8 de marzo", TUE, "2026-03-07", "2026-03-09");
        check("ir el 24 de diciembre y volver el 2 de enero", TUE, "2026-12-24", "2027-01-02");
    }

    #[test]
    fn weekends() {
        check("el finde", TUE, "2026-02-14", "2026-02-15");
        check("este finde", "2026-02-14", "2026-02-14", "2026-02-15");
        check("este finde", "2026-02-15", "2026-02-21", "2026-02-22");
        check("el finde que viene", TUE, "2026-02-14", "2026-02-15");
        check("el finde que viene", "2026-02-14", "2026-02-21", "2026-02-22");
        check("el otro finde", TUE, "2026-02-21", "2026-02-22");
        check("el fin de semana del 21 de febrero", TUE, "2026-02-21", "2026-02-22");
    }

    #[test]
    fn long_weekends_from_the_holiday_calendar() {
        check("el finde largo", TUE, "2026-02-14", "2026-02-17");
        check("el finde largo de marzo", TUE, "2026-03-21", "2026-03-24");
        check("el fin de semana largo de noviembre", TUE, "2026-11-21", "2026-11-23");
        check("el finde largo", "2026-03-19", "2026-03-21", "2026-03-24");
        check("el 9 de julio, finde largo", TUE, "2026-07-09", "2026-07-12");
        check("el finde largo de navidad", "2026-12-20", "2026-12-25", "2026-12-27");
        check("el finde largo", "2026-02-15", "2026-02-15", "2026-02-17");
    }

    #[test]
    fn semana_santa_and_carnaval() {
        check("para semana santa", TUE, "2026-04-02", "2026-04-05");
        check("para semana santa", "2026-12-20", "2027-03-25", "2027-03-28");
        check("para pascuas", "2026-04-04", "2026-04-04", "2026-04-05");
        check("para carnaval", TUE, "2026-02-14", "2026-02-17");
        check("para carnaval", "2026-12-20", "2027-02-06", "2027-02-09");
        check("finde largo de carnaval", "2026-02-18", "2027-02-06", "2027-02-09");
    }

    #[test]
    fn loose_spans_give_no_dates() {
        check("una semana en marzo", TUE, "-", "-");
        check("la semana del 16 de marzo", TUE, "-", "-");
        check("la semana que viene", TUE, "-", "-");
        let found = extract(&tokenize(&normalize("en abril")), d(TUE));
        assert!(found.notes.contains(&Note::DatesVague));
    }

    #[test]
    fn numbers_that_are_not_days() {
        check("somos 4", TUE, "-", "-");
        check("para 2 personas", TUE, "-", "-");
        check("mi numero es 11 2233 4455", TUE, "-", "-");
        check("a las 14 hs", TUE, "-", "-");
        check("calle 12 numero 345", TUE, "-", "-");
        check("hay lugar para 2 el 14", TUE, "2026-02-14", "-");
        check("una familia de cuatro el finde largo", TUE, "2026-02-14", "2026-02-17");
    }

    #[test]
    fn misheard_days_need_a_range_around_them() {
        check("del mose al 15 de marzo", TUE, "2026-03-12", "2026-03-15");
        let found = extract(&tokenize(&normalize("del mose al 15 de marzo")), d(TUE));
        assert!(found.notes.contains(&Note::Misheard { heard: "mose".into(), read_as: 12 }));
        check("hablamos del tema", TUE, "-", "-");
        check("cerca del rio", TUE, "-", "-");
    }

    #[test]
    fn a_weekday_that_does_not_match_the_date_is_flagged() {
        let found = extract(&tokenize(&normalize("el viernes 14 de febrero")), d(TUE));
        assert_eq!(found.check_in, Some(d("2026-02-14")));
        assert!(found.notes.contains(&Note::WeekdayMismatch { date: d("2026-02-14") }));
    }
}
