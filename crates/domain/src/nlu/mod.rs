//! Understanding what guests write (or say) on WhatsApp, in Argentine Spanish: what they want
//! (intent, and which service), for which dates, for how many people.
//!
//! Pure: no I/O, no clock. The message's own timestamp is a parameter and every date is
//! resolved into the future from it, in Buenos Aires time (UTC−3 all year).
//!
//! One entry point, [`analyze`]. What it decides, so the conversation can say it back:
//! - **Dates.** Check-out is exclusive, as everywhere in the product: "del 12 al 15" is three
//!   nights, out on the 15th. "el 7 y 8" names two nights (out on the 9th). A day without a
//!   length gives `check_in` only (`check_out` null, [`Note::CheckOutMissing`]): the bot asks
//!   how many nights instead of assuming one. "N noches" alone gives `nights` only.
//! - **"finde" / "fin de semana"**: the coming Saturday to Sunday (one night), as the original
//!   design says — first to last day off; on a Saturday it is today; on a Sunday the next one.
//!   "el finde que viene"/"el próximo finde" is the same weekend except on Saturday and Sunday
//!   (then the next); "el otro finde" is a week later.
//! - **"finde largo"**: the next run of three or more days off ([`holidays`]: national holidays,
//!   Jueves Santo, decreed bridge days) that has not ended, first to last day off ("de marzo"
//!   picks the month's first; next to a date, the run containing it). "carnaval" is the run
//!   around Carnaval; "semana santa"/"pascua" is Jueves Santo to Easter Sunday.
//! - **Weekdays**: "el viernes" and "el próximo viernes" are the coming Friday, never today;
//!   "este viernes" on a Friday is today.
//! - **"mar"** is marzo after a day ("14 de mar", "14 mar") and martes before one ("mar 17");
//!   anywhere else it is the sea ("cerca del mar") and means no date.
//! - **Guests**: adults and children add up ("2 adultos y 1 niño" = 3; babies count, pets do
//!   not); "una pareja" is 2; "con mi señora" counts the writer too; children alone ("con dos
//!   chicos") leave the count null ([`Note::GuestsUnclear`]) rather than guessing the adults.
//! - **Speech-to-text**: a word in a place where only a number fits ("del mose al 15", "para vos
//!   personas") is read as the number word it is one phonetic edit from, if exactly one; the
//!   reading is reported ([`Note::Misheard`]) and lowers the confidence. "para vos" with no noun
//!   after it is the pronoun, not "dos".
//! - **Intent precedence** when a message carries several signals: human > cancel > book >
//!   price > availability > services > thanks > greeting. The others are kept in `also`.
//!   Dates or guests with no stronger signal make it an availability question.

mod corpus;
mod dates;
pub mod fuzzy;
mod guests;
pub mod holidays;
mod intent;
pub mod normalize;
mod numbers;

pub use corpus::{parse_corpus, score, CorpusCase, CorpusScore, Failure};

use crate::stay::{today_in_argentina, Stay};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

/// What the guest wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Intent {
    /// Asks to talk to a person (the bot steps aside).
    Human,
    /// Wants to cancel a reservation.
    Cancel,
    /// Wants to book, hold or pay the deposit.
    Book,
    /// Asks how much it costs.
    Price,
    /// Asks whether there is room (also: gives dates or a group size with no other request).
    Availability,
    /// Asks about the place: see [`Service`].
    Services,
    Thanks,
    Greeting,
    Unknown,
}

impl Intent {
    /// Every intent, from the one that wins over all others down.
    pub const PRECEDENCE: [Intent; 9] = [
        Intent::Human,
        Intent::Cancel,
        Intent::Book,
        Intent::Price,
        Intent::Availability,
        Intent::Services,
        Intent::Thanks,
        Intent::Greeting,
        Intent::Unknown,
    ];

    /// The wire name (`availability`, `human`...).
    pub fn as_str(self) -> &'static str {
        match self {
            Intent::Human => "human",
            Intent::Cancel => "cancel",
            Intent::Book => "book",
            Intent::Price => "price",
            Intent::Availability => "availability",
            Intent::Services => "services",
            Intent::Thanks => "thanks",
            Intent::Greeting => "greeting",
            Intent::Unknown => "unknown",
        }
    }

    /// The intent with this wire name.
    pub fn parse(name: &str) -> Option<Intent> {
        Intent::PRECEDENCE.into_iter().find(|i| i.as_str() == name)
    }
}

/// Which service a [`Intent::Services`] question is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Service {
    Wifi,
    Pets,
    Parking,
    Pool,
    /// Check-in and check-out times.
    CheckInTimes,
    /// Air conditioning or heating.
    AirConditioning,
    /// Parrilla, asador, quincho.
    Grill,
    Breakfast,
    /// Sheets and towels.
    Linens,
    /// Where the place is, how to get there.
    Location,
}

impl Service {
    pub const ALL: [Service; 10] = [
        Service::Wifi,
        Service::Pets,
        Service::Parking,
        Service::Pool,
        Service::CheckInTimes,
        Service::AirConditioning,
        Service::Grill,
        Service::Breakfast,
        Service::Linens,
        Service::Location,
    ];

    /// The wire name (`wifi`, `check_in_times`...).
    pub fn as_str(self) -> &'static str {
        match self {
            Service::Wifi => "wifi",
            Service::Pets => "pets",
            Service::Parking => "parking",
            Service::Pool => "pool",
            Service::CheckInTimes => "check_in_times",
            Service::AirConditioning => "air_conditioning",
            Service::Grill => "grill",
            Service::Breakfast => "breakfast",
            Service::Linens => "linens",
            Service::Location => "location",
        }
    }

    /// The service with this wire name.
    pub fn parse(name: &str) -> Option<Service> {
        Service::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

/// Something the conversation should know about how the message was read: what to confirm,
/// what to ask. Serialized as `{"kind": "...", ...}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Note {
    /// A word read as a number because only a number fits there (a transcription error,
    /// "mose" → 12): say the number back.
    Misheard { heard: String, read_as: u32 },
    /// A misspelled word read as the word it is closest to ("lugr" → "lugar", "mazo" → "marzo").
    Corrected { heard: String, read_as: String },
    /// A check-in day without a length: ask how many nights.
    CheckOutMissing,
    /// The dates are this product's reading of a loose expression ("finde", "finde largo",
    /// "semana santa", "3 días" as 3 nights, "el 7 y 8" as two nights): state them back.
    DatesAssumed { reading: &'static str },
    /// A time span too loose to turn into dates ("una semana en marzo", "la semana del 16"):
    /// ask for the days.
    DatesVague,
    /// A date that does not exist or lies in the past even read as written ("30/2", a past
    /// year): ask again.
    DateInvalid { text: String },
    /// The weekday named does not fall on the date named ("viernes 14" when the 14th is a
    /// Saturday): the date was kept; confirm it.
    WeekdayMismatch { date: NaiveDate },
    /// A group was mentioned but its size is not certain ("con dos chicos": how many adults?).
    GuestsUnclear,
}

/// What one message says.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Analysis {
    /// The main intent (see the precedence in the module doc).
    pub intent: Intent,
    /// Every other intent the message also carries, by precedence.
    pub also: Vec<Intent>,
    /// The first service asked about, when any was (also when the intent is not `services`).
    pub service: Option<Service>,
    /// Every service asked about, in the order the message names them.
    pub services: Vec<Service>,
    pub check_in: Option<NaiveDate>,
    /// Exclusive. Null when only a start (or nothing) was understood.
    pub check_out: Option<NaiveDate>,
    /// Nights asked for: check_out − check_in when both are known, else a length said alone
    /// ("para dos noches").
    pub nights: Option<u32>,
    pub guests: Option<u32>,
    /// 0 to 1: how sure the reading is. Below about 0.6, confirm before acting.
    pub confidence: f64,
    pub notes: Vec<Note>,
}

impl Analysis {
    /// The stay the message names, when both dates are known.
    pub fn stay(&self) -> Option<Stay> {
        Stay::between(self.check_in?, self.check_out?).ok()
    }
}

/// Reads one message received at `received_at` (see the module doc for every decision).
pub fn analyze(text: &str, received_at: DateTime<Utc>) -> Analysis {
    let today = today_in_argentina(received_at);
    let (normalized, corrections) = normalize::normalize_with_corrections(text);
    let toks = normalize::tokenize(&normalized);
    let mut notes: Vec<Note> =
        corrections.into_iter().map(|c| Note::Corrected { heard: c.heard, read_as: c.read_as }).collect();

    let found_dates = dates::extract(&toks, today);
    let found_guests = guests::extract(&toks);
    let signals = intent::detect(&toks);
    notes.extend(found_dates.notes);
    notes.extend(found_guests.notes);

    let has_entities = found_dates.check_in.is_some()
        || found_dates.nights.is_some()
        || found_guests.count.is_some()
        || notes.contains(&Note::GuestsUnclear);
    // Greetings, thanks and a pet mentioned in passing do not outrank dates or a group size.
    let minor = |top: Intent, strong: bool| {
        matches!(top, Intent::Thanks | Intent::Greeting) || !strong && top == Intent::Services
    };
    let (intent, mut also, mut confidence) = match signals.intents.first() {
        Some(&(top, strong)) if !minor(top, strong) || !has_entities => {
            let others = signals.intents[1..].iter().map(|(i, _)| *i).collect();
            (top, others, if strong { 0.9 } else { 0.7 })
        }
        _ if has_entities => (Intent::Availability, signals.intents.iter().map(|(i, _)| *i).collect(), 0.65),
        _ => (Intent::Unknown, Vec::new(), 0.3),
    };
    also.retain(|i| *i != intent);

    let misheard = notes.iter().filter(|n| matches!(n, Note::Misheard { .. })).count();
    let corrected = notes.iter().filter(|n| matches!(n, Note::Corrected { .. })).count();
    let unsure = notes
        .iter()
        .filter(|n| matches!(n, Note::DateInvalid { .. } | Note::WeekdayMismatch { .. } | Note::GuestsUnclear))
        .count();
    confidence -= 0.15 * misheard as f64 + 0.05 * corrected as f64 + 0.1 * unsure as f64;
    let confidence = (confidence.clamp(0.05, 1.0) * 100.0).round() / 100.0;

    let nights = match (found_dates.check_in, found_dates.check_out) {
        (Some(a), Some(b)) => u32::try_from((b - a).num_days()).ok(),
        _ => found_dates.nights,
    };
    Analysis {
        intent,
        also,
        service: signals.services.first().copied(),
        services: signals.services,
        check_in: found_dates.check_in,
        check_out: found_dates.check_out,
        nights,
        guests: found_guests.count,
        confidence,
        notes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ts: &str) -> DateTime<Utc> {
        ts.parse().unwrap()
    }

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    const TUESDAY: &str = "2026-02-10T15:00:00Z";

    #[test]
    fn the_typical_first_message() {
        let a = analyze("hola, hay lugar el finde para 4?", at(TUESDAY));
        assert_eq!(a.intent, Intent::Availability);
        assert_eq!(a.also, vec![Intent::Greeting]);
        assert_eq!((a.check_in, a.check_out, a.nights), (Some(d("2026-02-14")), Some(d("2026-02-15")), Some(1)));
        assert_eq!(a.guests, Some(4));
        assert!(a.confidence >= 0.8);
        assert!(a.notes.contains(&Note::DatesAssumed { reading: "finde" }));
        assert_eq!(a.stay().map(|s| s.nights()), Some(1));
    }

    #[test]
    fn a_transcript_with_errors_is_understood_with_less_confidence() {
        let a = analyze("Hola, tenés disponibilidad del mose al 15 de marzo para vos personas", at(TUESDAY));
        assert_eq!(a.intent, Intent::Availability);
        assert_eq!((a.check_in, a.check_out), (Some(d("2026-03-12")), Some(d("2026-03-15"))));
        assert_eq!(a.guests, Some(2));
        assert!(a.notes.contains(&Note::Misheard { heard: "mose".into(), read_as: 12 }));
        assert!(a.notes.contains(&Note::Misheard { heard: "vos".into(), read_as: 2 }));
        assert!(a.confidence < 0.7, "{}", a.confidence);
    }

    #[test]
    fn para_vos_is_not_a_guest_count() {
        let a = analyze("del 12 al 15 de marzo para vos", at(TUESDAY));
        assert_eq!(a.guests, None);
        assert_eq!(a.check_in, Some(d("2026-03-12")));
    }

    #[test]
    fn several_signals_follow_the_precedence() {
        let a = analyze("hay lugar el finde? cuanto sale? aceptan perros?", at(TUESDAY));
        assert_eq!(a.intent, Intent::Price);
        assert_eq!(a.also, vec![Intent::Availability, Intent::Services]);
        assert_eq!(a.service, Some(Service::Pets));
        let a = analyze("quiero cancelar la reserva, pasame con una persona", at(TUESDAY));
        assert_eq!(a.intent, Intent::Human);
        assert_eq!(a.also, vec![Intent::Cancel]);
    }

    #[test]
    fn entities_alone_mean_availability_and_nothing_means_unknown() {
        let a = analyze("somos 4", at(TUESDAY));
        assert_eq!((a.intent, a.guests), (Intent::Availability, Some(4)));
        assert!(a.confidence < 0.9);
        let a = analyze("asdf", at(TUESDAY));
        assert_eq!(a.intent, Intent::Unknown);
        assert!(a.confidence <= 0.3);
        assert_eq!((a.check_in, a.guests), (None, None));
    }

    #[test]
    fn a_single_day_asks_for_the_length() {
        let a = analyze("hay lugar el sabado?", at(TUESDAY));
        assert_eq!((a.check_in, a.check_out, a.nights), (Some(d("2026-02-14")), None, None));
        assert!(a.notes.contains(&Note::CheckOutMissing));
        assert_eq!(a.stay(), None);
    }

    #[test]
    fn dates_follow_the_argentine_day_not_utc() {
        // 01:30 UTC on the 11th is still the 10th in Buenos Aires.
        let a = analyze("mañana tenes lugar?", at("2026-02-11T01:30:00Z"));
        assert_eq!(a.check_in, Some(d("2026-02-11")));
    }

    #[test]
    fn wire_names_round_trip() {
        for i in Intent::PRECEDENCE {
            assert_eq!(Intent::parse(i.as_str()), Some(i));
            assert_eq!(serde_json::to_value(i).unwrap(), i.as_str());
        }
        for s in Service::ALL {
            assert_eq!(Service::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        let note = serde_json::to_value(Note::Misheard { heard: "vos".into(), read_as: 2 }).unwrap();
        assert_eq!(note, serde_json::json!({"kind": "misheard", "heard": "vos", "read_as": 2}));
    }
}
