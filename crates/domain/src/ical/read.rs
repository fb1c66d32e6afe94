//! Reading calendar feeds into the nights each event takes.
//!
//! What an event means here (providers.md, "iCal feeds"):
//! - `DTSTART;VALUE=DATE:20250408` + `DTEND;VALUE=DATE:20250409` is one night (DTEND is the
//!   first day not included);
//! - `DURATION:P4D` instead of `DTEND` is four nights; a date-only start without end or
//!   duration is one day (RFC 5545 3.6.1);
//! - date-times (`20250408T140000Z`, with or without `TZID`) stand for their date as written;
//!   a date-time end is an end date (a 10:00 check-out on the 10th frees the night of the 10th);
//! - `STATUS:CANCELLED` events are not in the snapshot (their nights are released);
//! - events without a UID, without a start, ending before they start, shorter than a night or
//!   longer than [`MAX_EVENT_NIGHTS`] are skipped and reported, as are unreadable lines; one
//!   bad event never stops the rest;
//! - the first event with a UID wins; later ones with the same UID are skipped (recurrence
//!   overrides are not used by booking platforms).

use crate::Stay;
use chrono::{Days, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta};

/// An event longer than this is skipped: no platform blocks years at once, and a bound keeps
/// one bad line from claiming a million nights.
pub const MAX_EVENT_NIGHTS: u32 = 1_100;

/// What an event says about its nights, from its summary. Both kinds block their nights; the
/// kind only tells a platform's reservation from a platform-side closure (which may be our
/// own export echoed back).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// A guest's stay: Airbnb `Reserved`, Vrbo `Reserved - <name>`, and any summary we do not
    /// recognise (when in doubt, a clash with it is a real clash).
    Reserved,
    /// A closure: Airbnb `Airbnb (Not available)`, Booking.com `CLOSED - Not available`,
    /// Vrbo `Blocked`.
    Unavailable,
}

impl EventKind {
    /// Classifies a summary. Guest names that Vrbo puts in summaries are not kept anywhere.
    pub fn from_summary(summary: Option<&str>) -> EventKind {
        let Some(summary) = summary else { return EventKind::Reserved };
        let s = summary.to_lowercase();
        let closure = ["not available", "unavailable", "closed", "blocked", "no disponible", "bloqueado"];
        if closure.iter().any(|c| s.contains(c)) {
            EventKind::Unavailable
        } else {
            EventKind::Reserved
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Reserved => "reserved",
            EventKind::Unavailable => "unavailable",
        }
    }

    pub fn parse(text: &str) -> Option<EventKind> {
        match text {
            "reserved" => Some(EventKind::Reserved),
            "unavailable" => Some(EventKind::Unavailable),
            _ => None,
        }
    }
}

/// An event that takes nights.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedEvent {
    pub uid: String,
    pub stay: Stay,
    pub kind: EventKind,
}

/// Something in the feed that was not used, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The event's UID when it had one: a skipped event that we imported before keeps its
    /// block (we cannot tell whether it moved, so we do not guess).
    pub uid: Option<String>,
    pub reason: String,
}

/// A feed read whole.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedFeed {
    /// The events that take nights, in feed order, UIDs unique.
    pub events: Vec<FeedEvent>,
    pub skipped: Vec<Skipped>,
}

/// A body that is not a complete calendar. Nothing may be concluded from it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeedError {
    #[error("not an iCalendar feed (no BEGIN:VCALENDAR)")]
    NotACalendar,
    #[error("the feed is cut short (no END:VCALENDAR)")]
    Truncated,
}

/// One logical (unfolded) line and the physical line it starts on (1-based).
struct Line {
    number: usize,
    text: String,
}

/// Splits on CRLF, LF or a bare CR, and unfolds continuation lines (a leading space or tab is
/// removed; RFC 5545 3.1).
fn logical_lines(text: &str) -> Vec<Line> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines: Vec<Line> = Vec::new();
    let physical_lines = text.split('\n').flat_map(|l| l.strip_suffix('\r').unwrap_or(l).split('\r'));
    for (index, physical) in physical_lines.enumerate() {
        match (physical.strip_prefix([' ', '\t']), lines.last_mut()) {
            (Some(rest), Some(last)) => last.text.push_str(rest),
            _ => lines.push(Line { number: index + 1, text: physical.to_owned() }),
        }
    }
    lines
}

/// A property as far as we need it: upper-case name, parameters, value (TEXT unescaped).
struct Prop {
    name: String,
    params: Vec<(String, String)>,
    value: String,
}

impl Prop {
    fn param(&self, key: &str) -> Option<&str> {
        self.params.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v.as_str())
    }
}

/// Parses one content line `NAME *(;PARAM=VALUE) : VALUE` with the `icalendar` crate, after
/// checking the shape the crate's lenient parser lets through (`junk text` reads there as a
/// property named `junk`).
fn parse_prop(line: &str) -> Option<Prop> {
    let end = line.find([';', ':'])?;
    let name = &line[..end];
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return None;
    }
    let upper = format!("{}{}", name.to_ascii_uppercase(), &line[end..]);
    let parsed = icalendar::parser::Property::try_from(upper.as_str()).ok()?;
    if !parsed.name.as_str().eq_ignore_ascii_case(name) {
        return None;
    }
    Some(Prop {
        name: parsed.name.as_str().to_owned(),
        params: parsed
            .params
            .iter()
            .map(|p| (p.key.as_str().to_owned(), p.val.as_ref().map(|v| v.as_str().to_owned()).unwrap_or_default()))
            .collect(),
        value: parsed.val.as_str().trim().to_owned(),
    })
}

/// A DATE or DATE-TIME value: its date, and its time when it has one.
fn parse_when(value: &str) -> Option<(NaiveDate, Option<NaiveTime>)> {
    let compact: String = value.trim().chars().filter(|c| *c != '-' && *c != ':').collect();
    let (date, time) = match compact.split_once(['T', 't']) {
        Some((d, t)) => (d, Some(t.trim_end_matches(['Z', 'z']))),
        None => (compact.as_str(), None),
    };
    if date.len() != 8 || !date.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let date = NaiveDate::parse_from_str(date, "%Y%m%d").ok()?;
    let time = match time {
        None => None,
        Some(t) if t.len() >= 4 && t.bytes().all(|b| b.is_ascii_digit()) => {
            let t = if t.len() == 4 { format!("{t}00") } else { t.to_owned() };
            Some(NaiveTime::parse_from_str(&t[..6], "%H%M%S").ok()?)
        }
        Some(_) => return None,
    };
    Some((date, time))
}

/// An RFC 5545 duration (`P4D`, `P1W`, `PT36H`, `P1DT12H`); negative durations are refused.
pub fn parse_duration(value: &str) -> Option<TimeDelta> {
    let v = value.trim().to_ascii_uppercase();
    let v = v.strip_prefix('+').unwrap_or(&v);
    let rest = v.strip_prefix('P')?;
    let (date_part, time_part) = match rest.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (rest, None),
    };
    let mut seconds: i64 = 0;
    let mut any = false;
    let mut take = |part: &str, units: &[(char, i64)]| -> Option<()> {
        let mut number = String::new();
        for c in part.chars() {
            if c.is_ascii_digit() {
                number.push(c);
            } else {
                let (_, scale) = units.iter().find(|(u, _)| *u == c)?;
                let n: i64 = number.parse().ok()?;
                seconds = seconds.checked_add(n.checked_mul(*scale)?)?;
                number.clear();
                any = true;
            }
        }
        number.is_empty().then_some(())
    };
    take(date_part, &[('W', 7 * 86_400), ('D', 86_400)])?;
    if let Some(t) = time_part {
        if t.is_empty() {
            return None;
        }
        take(t, &[('H', 3_600), ('M', 60), ('S', 1)])?;
    }
    if !any {
        return None;
    }
    TimeDelta::try_seconds(seconds)
}

/// The nights an event's properties describe, or why it has none.
fn event_stay(props: &[Prop]) -> Result<Stay, String> {
    let get = |name: &str| props.iter().find(|p| p.name == name);
    let start_prop = get("DTSTART").ok_or("no DTSTART")?;
    let (start, start_time) =
        parse_when(&start_prop.value).ok_or_else(|| format!("DTSTART {:?} is not a date", start_prop.value))?;
    let end = if let Some(end_prop) = get("DTEND") {
        parse_when(&end_prop.value).ok_or_else(|| format!("DTEND {:?} is not a date", end_prop.value))?.0
    } else if let Some(duration_prop) = get("DURATION") {
        let duration = parse_duration(&duration_prop.value)
            .ok_or_else(|| format!("DURATION {:?} is not a duration", duration_prop.value))?;
        match start_time {
            // A date-only start counts whole days.
            None => start
                .checked_add_days(Days::new(u64::try_from(duration.num_days()).map_err(|_| "negative DURATION")?))
                .ok_or("DURATION out of range")?,
            Some(time) => {
                NaiveDateTime::new(start, time).checked_add_signed(duration).ok_or("DURATION out of range")?.date()
            }
        }
    } else if start_time.is_none() || start_prop.param("VALUE").is_some_and(|v| v.eq_ignore_ascii_case("DATE")) {
        start.succ_opt().ok_or("DTSTART out of range")?
    } else {
        return Err("a date-time DTSTART without DTEND or DURATION takes no night".into());
    };
    if end < start {
        return Err(format!("ends ({end}) before it starts ({start})"));
    }
    let stay = Stay::between(start, end).map_err(|_| format!("ends on the day it starts ({start}): no night"))?;
    if stay.nights() > MAX_EVENT_NIGHTS {
        return Err(format!("{} nights is more than the {MAX_EVENT_NIGHTS} accepted", stay.nights()));
    }
    Ok(stay)
}

/// Reads a feed. Refuses a body that is not one whole calendar; within a calendar, every
/// readable event is taken and everything else is reported in `skipped`.
pub fn parse_feed(text: &str) -> Result<ParsedFeed, FeedError> {
    let lines = logical_lines(text);
    let is = |line: &Line, what: &str| line.text.trim().eq_ignore_ascii_case(what);
    let Some(begin) = lines.iter().position(|l| is(l, "BEGIN:VCALENDAR")) else {
        return Err(FeedError::NotACalendar);
    };
    let Some(end) = lines.iter().rposition(|l| is(l, "END:VCALENDAR")).filter(|e| *e > begin) else {
        return Err(FeedError::Truncated);
    };

    let mut feed = ParsedFeed::default();
    let mut seen = std::collections::HashSet::new();
    // The event being read: its first line number and properties.
    let mut event: Option<(usize, Vec<Prop>)> = None;
    // Components nested where we do not read (VALARM in an event, VTIMEZONE, VTODO...).
    let mut ignored_depth = 0usize;
    for line in &lines[begin + 1..end] {
        let text = line.text.trim_end();
        if text.trim().is_empty() {
            continue;
        }
        let upper = text.trim().to_ascii_uppercase();
        if let Some(component) = upper.strip_prefix("BEGIN:") {
            if ignored_depth > 0 {
                ignored_depth += 1;
            } else if component == "VEVENT" {
                if let Some((_, props)) = event.take() {
                    // BEGIN:VEVENT inside an event: the first one never ended.
                    feed.skipped.push(Skipped { uid: uid_of(&props), reason: "event not terminated".into() });
                }
                event = Some((line.number, Vec::new()));
            } else {
                ignored_depth = 1;
            }
            continue;
        }
        if let Some(component) = upper.strip_prefix("END:") {
            if ignored_depth > 0 {
                ignored_depth -= 1;
            } else if component == "VEVENT" {
                if let Some((number, props)) = event.take() {
                    finish_event(&mut feed, &mut seen, number, &props);
                }
            }
            continue;
        }
        if ignored_depth > 0 {
            continue;
        }
        match (parse_prop(text), &mut event) {
            (Some(prop), Some((_, props))) => props.push(prop),
            (Some(_), None) => {}
            (None, current) => feed.skipped.push(Skipped {
                uid: current.as_ref().and_then(|(_, props)| uid_of(props)),
                reason: format!("line {}: unreadable line ignored", line.number),
            }),
        }
    }
    if let Some((_, props)) = event {
        feed.skipped.push(Skipped { uid: uid_of(&props), reason: "event not terminated".into() });
    }
    Ok(feed)
}

fn uid_of(props: &[Prop]) -> Option<String> {
    props.iter().find(|p| p.name == "UID").map(|p| p.value.clone()).filter(|u| !u.is_empty())
}

/// The longest UID kept; longer ones are not identifiers anyone means.
const MAX_UID_LEN: usize = 500;

fn finish_event(feed: &mut ParsedFeed, seen: &mut std::collections::HashSet<String>, number: usize, props: &[Prop]) {
    let Some(uid) = uid_of(props) else {
        feed.skipped.push(Skipped { uid: None, reason: format!("event at line {number} has no UID") });
        return;
    };
    if uid.len() > MAX_UID_LEN || uid.chars().any(char::is_control) {
        feed.skipped.push(Skipped { uid: None, reason: format!("event at line {number} has an unusable UID") });
        return;
    }
    if !seen.insert(uid.clone()) {
        feed.skipped.push(Skipped { uid: Some(uid), reason: "duplicate UID; the first event was used".into() });
        return;
    }
    let status = props.iter().find(|p| p.name == "STATUS").map(|p| p.value.to_ascii_uppercase());
    if status.as_deref() == Some("CANCELLED") {
        // Cancelled on the platform: absent from the snapshot, so its nights are released.
        return;
    }
    match event_stay(props) {
        Ok(stay) => {
            let summary = props.iter().find(|p| p.name == "SUMMARY").map(|p| p.value.as_str());
            feed.events.push(FeedEvent { uid, stay, kind: EventKind::from_summary(summary) });
        }
        Err(reason) => feed.skipped.push(Skipped { uid: Some(uid), reason }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn cal(events: &str) -> String {
        format!("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n{events}END:VCALENDAR\r\n")
    }

    fn one(event_lines: &str) -> Result<FeedEvent, Vec<Skipped>> {
        let feed = parse_feed(&cal(&format!("BEGIN:VEVENT\r\n{event_lines}END:VEVENT\r\n"))).unwrap();
        feed.events.into_iter().next().ok_or(feed.skipped)
    }

    #[test]
    fn all_day_event_with_exclusive_end() {
        let e =
            one("UID:a@airbnb.com\r\nDTSTART;VALUE=DATE:20250408\r\nDTEND;VALUE=DATE:20250409\r\nSUMMARY:Reserved\r\n")
                .unwrap();
        assert_eq!(e.uid, "a@airbnb.com");
        assert_eq!((e.stay.check_in(), e.stay.check_out()), (d("2025-04-08"), d("2025-04-09")));
        assert_eq!(e.kind, EventKind::Reserved);
    }

    #[test]
    fn duration_instead_of_dtend() {
        let e = one("UID:x\r\nDTSTART;VALUE=DATE:20250408\r\nDURATION:P4D\r\n").unwrap();
        assert_eq!(e.stay.check_out(), d("2025-04-12"));
        let w = one("UID:x\r\nDTSTART;VALUE=DATE:20250408\r\nDURATION:P1W\r\n").unwrap();
        assert_eq!(w.stay.nights(), 7);
    }

    #[test]
    fn date_times_stand_for_their_dates() {
        let e = one("UID:x\r\nDTSTART:20250408T140000Z\r\nDTEND:20250410T100000Z\r\n").unwrap();
        assert_eq!((e.stay.check_in(), e.stay.check_out()), (d("2025-04-08"), d("2025-04-10")));
        let tz = one(
            "UID:y\r\nDTSTART;TZID=America/Argentina/Buenos_Aires:20250408T150000\r\nDTEND;TZID=America/Argentina/Buenos_Aires:20250411T110000\r\n",
        )
        .unwrap();
        assert_eq!(tz.stay.nights(), 3);
        let dur = one("UID:z\r\nDTSTART:20250408T150000Z\r\nDURATION:P2DT20H\r\n").unwrap();
        assert_eq!(dur.stay.check_out(), d("2025-04-11"));
    }

    #[test]
    fn a_date_only_start_alone_is_one_night() {
        assert_eq!(one("UID:x\r\nDTSTART;VALUE=DATE:20250408\r\n").unwrap().stay.nights(), 1);
    }

    #[test]
    fn bad_events_are_skipped_with_a_reason() {
        let cases = [
            ("UID:x\r\nDTEND;VALUE=DATE:20250409\r\n", "no DTSTART"),
            ("UID:x\r\nDTSTART;VALUE=DATE:20250410\r\nDTEND;VALUE=DATE:20250409\r\n", "before it starts"),
            ("UID:x\r\nDTSTART;VALUE=DATE:20250410\r\nDTEND;VALUE=DATE:20250410\r\n", "no night"),
            ("UID:x\r\nDTSTART:20250410T100000Z\r\n", "takes no night"),
            ("UID:x\r\nDTSTART;VALUE=DATE:20250231\r\nDURATION:P1D\r\n", "not a date"),
            ("UID:x\r\nDTSTART;VALUE=DATE:20250410\r\nDURATION:-P1D\r\n", "not a duration"),
            ("UID:x\r\nDTSTART;VALUE=DATE:20250410\r\nDURATION:P5000D\r\n", "more than"),
        ];
        for (lines, reason) in cases {
            let skipped = one(lines).unwrap_err();
            assert_eq!(skipped.len(), 1, "{lines}");
            assert_eq!(skipped[0].uid.as_deref(), Some("x"));
            assert!(skipped[0].reason.contains(reason), "{lines}: {}", skipped[0].reason);
        }
        let no_uid = one("DTSTART;VALUE=DATE:20250408\r\n").unwrap_err();
        assert_eq!(no_uid[0].uid, None);
    }

    #[test]
    fn one_bad_event_never_stops_the_rest() {
        let text = cal("BEGIN:VEVENT\r\nUID:bad\r\nDTSTART:garbage\r\nEND:VEVENT\r\n\
             this line is garbage\r\n\
             BEGIN:VEVENT\r\nUID:good\r\nDTSTART;VALUE=DATE:20250408\r\nDTEND;VALUE=DATE:20250410\r\n%%%\r\nEND:VEVENT\r\n");
        let feed = parse_feed(&text).unwrap();
        assert_eq!(feed.events.len(), 1);
        assert_eq!(feed.events[0].uid, "good");
        assert_eq!(feed.skipped.len(), 3, "{:?}", feed.skipped);
        assert!(feed.skipped.iter().any(|s| s.uid.as_deref() == Some("good") && s.reason.contains("unreadable")));
    }

    #[test]
    fn lf_only_and_folded_lines_and_lowercase_names() {
        let text = "BEGIN:VCALENDAR\nVERSION:2.0\nBEGIN:VEVENT\nuid:1418fb94e984-\n 3b0a5d3e@airbnb.com\ndtstart;value=date:20250408\nDTEND;VALUE=DATE:2025\n\t0412\nSUMMARY:Airbnb (Not \n available)\nEND:VEVENT\nEND:VCALENDAR\n";
        let feed = parse_feed(text).unwrap();
        assert_eq!(feed.skipped, vec![]);
        let e = &feed.events[0];
        assert_eq!(e.uid, "1418fb94e984-3b0a5d3e@airbnb.com");
        assert_eq!(e.stay.nights(), 4);
        assert_eq!(e.kind, EventKind::Unavailable);
    }

    #[test]
    fn bare_cr_line_ends_and_a_bom_are_read() {
        let text =
            "\u{feff}BEGIN:VCALENDAR\rBEGIN:VEVENT\rUID:x\rDTSTART;VALUE=DATE:20250408\rEND:VEVENT\rEND:VCALENDAR\r";
        assert_eq!(parse_feed(text).unwrap().events.len(), 1);
    }

    #[test]
    fn alarms_inside_events_and_timezones_are_ignored() {
        let text = cal("BEGIN:VTIMEZONE\r\nTZID:X\r\nBEGIN:STANDARD\r\nDTSTART:19700101T000000\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n\
             BEGIN:VEVENT\r\nUID:a\r\nDTSTART;VALUE=DATE:20250408\r\nBEGIN:VALARM\r\nUID:alarm\r\nTRIGGER:-PT15M\r\nEND:VALARM\r\nDTEND;VALUE=DATE:20250409\r\nEND:VEVENT\r\n");
        let feed = parse_feed(&text).unwrap();
        assert_eq!(feed.skipped, vec![]);
        assert_eq!(feed.events.len(), 1);
        assert_eq!(feed.events[0].uid, "a");
    }

    #[test]
    fn unterminated_event_is_skipped_and_the_next_read() {
        let text = cal("BEGIN:VEVENT\r\nUID:a\r\nDTSTART;VALUE=DATE:20250408\r\n\
             BEGIN:VEVENT\r\nUID:b\r\nDTSTART;VALUE=DATE:20250410\r\nEND:VEVENT\r\n");
        let feed = parse_feed(&text).unwrap();
        assert_eq!(feed.events.iter().map(|e| e.uid.as_str()).collect::<Vec<_>>(), vec!["b"]);
        assert_eq!(feed.skipped[0].uid.as_deref(), Some("a"));
    }

    #[test]
    fn cancelled_events_are_absent_and_duplicates_skipped() {
        let text = cal("BEGIN:VEVENT\r\nUID:a\r\nSTATUS:CANCELLED\r\nDTSTART;VALUE=DATE:20250408\r\nEND:VEVENT\r\n\
             BEGIN:VEVENT\r\nUID:b\r\nDTSTART;VALUE=DATE:20250408\r\nEND:VEVENT\r\n\
             BEGIN:VEVENT\r\nUID:b\r\nDTSTART;VALUE=DATE:20250412\r\nEND:VEVENT\r\n");
        let feed = parse_feed(&text).unwrap();
        assert_eq!(feed.events.len(), 1);
        assert_eq!(feed.events[0].stay.check_in(), d("2025-04-08"));
        assert_eq!(feed.skipped.len(), 1);
        assert!(feed.skipped[0].reason.contains("duplicate"));
    }

    #[test]
    fn what_is_not_a_whole_calendar_is_refused() {
        assert_eq!(parse_feed(""), Err(FeedError::NotACalendar));
        assert_eq!(parse_feed("<html><body>503</body></html>"), Err(FeedError::NotACalendar));
        assert_eq!(parse_feed("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\n"), Err(FeedError::Truncated));
        // An empty calendar is a real answer: the platform has nothing booked.
        assert_eq!(parse_feed("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n").unwrap(), ParsedFeed::default());
    }

    #[test]
    fn escaped_text_is_unescaped_and_summaries_classified() {
        for (summary, kind) in [
            ("Reserved", EventKind::Reserved),
            ("Airbnb (Not available)", EventKind::Unavailable),
            ("CLOSED - Not available", EventKind::Unavailable),
            ("Reserved - Jane D.", EventKind::Reserved),
            ("Blocked", EventKind::Unavailable),
            ("Cumpleaños\\, familia", EventKind::Reserved),
        ] {
            let e = one(&format!("UID:x\r\nSUMMARY:{summary}\r\nDTSTART;VALUE=DATE:20250408\r\n")).unwrap();
            assert_eq!(e.kind, kind, "{summary}");
        }
        assert_eq!(EventKind::from_summary(None), EventKind::Reserved);
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("P4D"), Some(TimeDelta::days(4)));
        assert_eq!(parse_duration("P1W"), Some(TimeDelta::days(7)));
        assert_eq!(parse_duration("PT36H"), Some(TimeDelta::hours(36)));
        assert_eq!(parse_duration("P1DT12H30M5S"), Some(TimeDelta::seconds(86_400 + 12 * 3600 + 30 * 60 + 5)));
        for bad in ["", "P", "4D", "PT", "P1H", "-P1D", "PXD", "P1D2"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn when_values() {
        assert_eq!(parse_when("20250408"), Some((d("2025-04-08"), None)));
        assert_eq!(parse_when("2025-04-08"), Some((d("2025-04-08"), None)));
        assert!(parse_when("20250408T1400Z").unwrap().1.is_some());
        for bad in ["2025048", "20251308", "20250408T14", "hello", "20250408Tabcdef"] {
            assert_eq!(parse_when(bad), None, "{bad}");
        }
    }
}
