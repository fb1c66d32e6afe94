//! Writing exports (RFC 5545): CRLF line ends, content lines folded at 75 octets without ever
//! splitting a UTF-8 character, TEXT values escaped, all-day events with an exclusive end.

use crate::Stay;
use chrono::{DateTime, Utc};

/// The longest content line, in octets, not counting CRLF (RFC 5545 3.1).
pub const MAX_LINE_OCTETS: usize = 75;

/// Escapes a TEXT value (RFC 5545 3.3.11): `\` `;` `,` and line breaks (CRLF, LF or a bare CR
/// all become `\n`); other control characters, which TEXT may not hold, are dropped.
pub fn escape_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\r' => {
                chars.next_if_eq(&'\n');
                out.push_str("\\n");
            }
            '\n' => out.push_str("\\n"),
            '\t' => out.push('\t'),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Appends `line` to `out` folded: at most 75 octets per physical line (a continuation line is
/// one space and at most 74 octets), cut only between characters, each line ended by CRLF.
pub fn fold_line(line: &str, out: &mut String) {
    let mut rest = line;
    let mut limit = MAX_LINE_OCTETS;
    loop {
        if rest.len() <= limit {
            out.push_str(rest);
            out.push_str("\r\n");
            return;
        }
        let mut cut = limit;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        out.push_str(&rest[..cut]);
        out.push_str("\r\n ");
        rest = &rest[cut..];
        limit = MAX_LINE_OCTETS - 1;
    }
}

/// One exported event: an all-day block of nights.
#[derive(Debug, Clone)]
pub struct ExportEvent {
    /// Stable across exports (`<code>@<domain>`), so a platform updates rather than duplicates.
    pub uid: String,
    pub stay: Stay,
    /// Plain text (escaped here). Never guest data.
    pub summary: String,
}

fn date(d: chrono::NaiveDate) -> String {
    d.format("%Y%m%d").to_string()
}

/// A whole export. `name` is the calendar's display name (`X-WR-CALNAME`); `stamp` is the
/// `DTSTAMP` of every event (the time the export was made: the domain has no clock).
pub fn write_calendar(name: &str, events: &[ExportEvent], stamp: DateTime<Utc>) -> String {
    let mut out = String::with_capacity(256 + events.len() * 220);
    let stamp = stamp.format("%Y%m%dT%H%M%SZ").to_string();
    let mut line = |text: &str| fold_line(text, &mut out);
    line("BEGIN:VCALENDAR");
    line("VERSION:2.0");
    line("PRODID:-//Reservas//Calendar export 1.0//ES");
    line("CALSCALE:GREGORIAN");
    line("METHOD:PUBLISH");
    line(&format!("X-WR-CALNAME:{}", escape_text(name)));
    // Hints for subscribers that honour them (Google, Apple, Outlook); platforms poll anyway.
    line("REFRESH-INTERVAL;VALUE=DURATION:PT15M");
    line("X-PUBLISHED-TTL:PT15M");
    for event in events {
        line("BEGIN:VEVENT");
        line(&format!("UID:{}", escape_text(&event.uid)));
        line(&format!("DTSTAMP:{stamp}"));
        line(&format!("DTSTART;VALUE=DATE:{}", date(event.stay.check_in())));
        line(&format!("DTEND;VALUE=DATE:{}", date(event.stay.check_out())));
        line(&format!("SUMMARY:{}", escape_text(&event.summary)));
        line("TRANSP:OPAQUE");
        line("END:VEVENT");
    }
    line("END:VCALENDAR");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use proptest::prelude::*;

    fn stay(a: &str, b: &str) -> Stay {
        Stay::between(a.parse::<NaiveDate>().unwrap(), b.parse::<NaiveDate>().unwrap()).unwrap()
    }

    fn folded(line: &str) -> String {
        let mut out = String::new();
        fold_line(line, &mut out);
        out
    }

    fn unfold(text: &str) -> String {
        text.replace("\r\n ", "")
    }

    #[test]
    fn escaping() {
        assert_eq!(escape_text(r"a\b;c,d"), r"a\\b\;c\,d");
        assert_eq!(escape_text("uno\ndos\r\ntres\rcuatro"), r"uno\ndos\ntres\ncuatro");
        assert_eq!(escape_text("bell\u{7}ok: yes"), "bellok: yes");
        assert_eq!(escape_text("Cabaña ñandú"), "Cabaña ñandú");
    }

    #[test]
    fn short_lines_are_not_folded() {
        assert_eq!(folded("VERSION:2.0"), "VERSION:2.0\r\n");
        let exactly = "X".repeat(75);
        assert_eq!(folded(&exactly), format!("{exactly}\r\n"));
    }

    #[test]
    fn long_lines_fold_at_75_octets() {
        let line = format!("SUMMARY:{}", "a".repeat(200));
        let out = folded(&line);
        let physical: Vec<&str> = out.split_terminator("\r\n").collect();
        assert_eq!(physical[0].len(), 75);
        assert!(physical[1..].iter().all(|l| l.starts_with(' ') && l.len() <= 75));
        assert_eq!(physical[1].len(), 75);
        assert_eq!(unfold(&out), format!("{line}\r\n"));
    }

    #[test]
    fn folding_never_splits_a_character() {
        // 'ñ' is two octets and '€' three: put them across every possible cut.
        for pad in 0..4 {
            let line = format!("X-WR-CALNAME:{}{}", "a".repeat(pad), "ñ€ña".repeat(40));
            let out = folded(&line);
            for physical in out.split_terminator("\r\n") {
                assert!(physical.len() <= 75);
                assert!(std::str::from_utf8(physical.as_bytes()).is_ok());
            }
            assert_eq!(unfold(&out), format!("{line}\r\n"));
        }
    }

    proptest! {
        #[test]
        fn folding_round_trips_any_text(text in "\\PC{0,400}") {
            let line = format!("SUMMARY:{}", escape_text(&text));
            let out = folded(&line);
            prop_assert!(out.ends_with("\r\n"));
            for physical in out.split_terminator("\r\n") {
                prop_assert!(physical.len() <= 75);
                prop_assert!(!physical.contains('\r') && !physical.contains('\n'));
            }
            prop_assert_eq!(unfold(&out), format!("{line}\r\n"));
        }

        #[test]
        fn escaped_text_reads_back_through_the_crate(text in "[a-zA-Zñáé ,;:\\\\\n]{0,120}") {
            let line = format!("SUMMARY:{}", escape_text(&text));
            let parsed = icalendar::parser::Property::try_from(line.as_str()).unwrap();
            prop_assert_eq!(parsed.val.as_str(), text.as_str());
        }
    }

    #[test]
    fn a_calendar_has_the_required_properties_and_events() {
        let stamp = "2027-03-01T12:00:00Z".parse().unwrap();
        let events = vec![ExportEvent {
            uid: "7K3MQ9XH4TR8B@reservas.example".into(),
            stay: stay("2027-03-05", "2027-03-08"),
            summary: "Reservado".into(),
        }];
        let text = write_calendar("Cabaña del Lago; vista, muelle", &events, stamp);
        assert!(text.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:"));
        assert!(text.ends_with("END:VCALENDAR\r\n"));
        assert!(!text.replace("\r\n", "").contains('\n'));
        for expected in [
            "X-WR-CALNAME:Cabaña del Lago\\; vista\\, muelle\r\n",
            "UID:7K3MQ9XH4TR8B@reservas.example\r\n",
            "DTSTAMP:20270301T120000Z\r\n",
            "DTSTART;VALUE=DATE:20270305\r\n",
            "DTEND;VALUE=DATE:20270308\r\n",
            "SUMMARY:Reservado\r\n",
        ] {
            assert!(text.contains(expected), "{expected:?} missing in\n{text}");
        }
        // And our reader reads it back.
        let feed = crate::ical::parse_feed(&text).unwrap();
        assert_eq!(feed.events.len(), 1);
        assert_eq!(feed.events[0].stay, events[0].stay);
        assert_eq!(feed.events[0].uid, events[0].uid);
    }

    #[test]
    fn the_crate_parses_an_export_back() {
        let stamp = "2027-03-01T12:00:00Z".parse().unwrap();
        let name = "Cabaña «Ñandú» del Bosque Petrificado — Villa La Angostura, Neuquén, Patagonia Argentina";
        let events: Vec<ExportEvent> = (0..3)
            .map(|i| ExportEvent {
                uid: format!("CODE{i}@reservas.example"),
                stay: stay(&format!("2027-04-0{}", i * 2 + 1), &format!("2027-04-0{}", i * 2 + 2)),
                summary: format!("Reservado – {name}"),
            })
            .collect();
        let text = write_calendar(name, &events, stamp);
        let unfolded = icalendar::parser::unfold(&text);
        let calendar = icalendar::parser::read_calendar(&unfolded).unwrap();
        assert_eq!(calendar.components.len(), 3);
        let summary = calendar.components[0].find_prop("SUMMARY").unwrap();
        assert_eq!(summary.val.as_str(), format!("Reservado – {name}"));
        let name_prop = calendar.properties.iter().find(|p| p.name == "X-WR-CALNAME").unwrap();
        assert!(name_prop.val.as_str().starts_with("Cabaña «Ñandú»"));
    }
}
