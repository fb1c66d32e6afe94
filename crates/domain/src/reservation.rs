//! Reservation states, channels and codes.

use chrono::NaiveDate;
use serde::Serialize;
use std::fmt;

/// Where a reservation came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Whatsapp,
    Web,
    Admin,
    Email,
    Phone,
    /// Blocks imported from a calendar feed; never accepted from a client.
    Ical,
}

impl Channel {
    /// The channels a client may name when booking.
    pub fn parse_client(text: &str) -> Option<Channel> {
        match text {
            "whatsapp" => Some(Channel::Whatsapp),
            "web" => Some(Channel::Web),
            "admin" => Some(Channel::Admin),
            "email" => Some(Channel::Email),
            "phone" => Some(Channel::Phone),
            _ => None,
        }
    }

    pub fn parse_stored(text: &str) -> Option<Channel> {
        Channel::parse_client(text).or((text == "ical").then_some(Channel::Ical))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Whatsapp => "whatsapp",
            Channel::Web => "web",
            Channel::Admin => "admin",
            Channel::Email => "email",
            Channel::Phone => "phone",
            Channel::Ical => "ical",
        }
    }
}

/// The life of a reservation. `PreReserved` (a hold) becomes `Confirmed`, `Cancelled` or
/// `Expired`; `Blocked` marks nights taken by an imported calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    PreReserved,
    Confirmed,
    Cancelled,
    Expired,
    Blocked,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::PreReserved => "pre_reserved",
            Status::Confirmed => "confirmed",
            Status::Cancelled => "cancelled",
            Status::Expired => "expired",
            Status::Blocked => "blocked",
        }
    }

    pub fn parse(text: &str) -> Option<Status> {
        [Status::PreReserved, Status::Confirmed, Status::Cancelled, Status::Expired, Status::Blocked]
            .into_iter()
            .find(|s| s.as_str() == text)
    }

    /// Whether a reservation in this status occupies its nights.
    pub fn holds_nights(self) -> bool {
        matches!(self, Status::PreReserved | Status::Confirmed | Status::Blocked)
    }
}

/// Crockford's base32 alphabet: no I, L, O, U, so a code read aloud or typed on a phone is
/// hard to get wrong.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Characters in a code: 13 × 5 = 65 random bits.
pub const CODE_LEN: usize = 13;

/// A reservation code: 65 random bits in Crockford base32 (`7K3MQ9XH4TR8B`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct ReservationCode(String);

impl ReservationCode {
    /// Builds a code from 9 random bytes (72 bits, 65 used). The caller supplies the
    /// randomness so this stays pure.
    pub fn from_random(bytes: [u8; 9]) -> ReservationCode {
        let mut acc: u128 = 0;
        for b in bytes {
            acc = (acc << 8) | u128::from(b);
        }
        let code = (0..CODE_LEN).map(|i| ALPHABET[((acc >> (i * 5)) & 31) as usize] as char).collect();
        ReservationCode(code)
    }

    /// Accepts a code as a guest might type it: any case, Crockford's look-alikes (O→0,
    /// I/L→1), dashes and spaces ignored.
    pub fn parse(text: &str) -> Option<ReservationCode> {
        let mut out = String::with_capacity(CODE_LEN);
        for c in text.chars() {
            let c = match c.to_ascii_uppercase() {
                '-' | ' ' => continue,
                'O' => '0',
                'I' | 'L' => '1',
                c => c,
            };
            if !ALPHABET.contains(&(c as u8)) || !c.is_ascii() {
                return None;
            }
            out.push(c);
        }
        (out.len() == CODE_LEN).then_some(ReservationCode(out))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ReservationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The key-value lock that sheds bursts of identical requests for one stay.
pub fn lock_key(accommodation_id: i64, check_in: NaiveDate, check_out: NaiveDate) -> String {
    format!("lock:acc:{accommodation_id}:{check_in}:{check_out}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_13_unambiguous_characters() {
        let code = ReservationCode::from_random([0xff, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef]);
        assert_eq!(code.as_str().len(), CODE_LEN);
        assert!(code.as_str().chars().all(|c| ALPHABET.contains(&(c as u8))));
    }

    #[test]
    fn different_randomness_gives_different_codes() {
        let a = ReservationCode::from_random([1; 9]);
        let b = ReservationCode::from_random([2; 9]);
        assert_ne!(a, b);
    }

    #[test]
    fn parse_is_forgiving_about_how_a_guest_types() {
        let code = ReservationCode::from_random([7; 9]);
        let typed = code.as_str().to_lowercase();
        assert_eq!(ReservationCode::parse(&typed), Some(code.clone()));
        let dashed = format!("{}-{}", &code.as_str()[..5], &code.as_str()[5..]);
        assert_eq!(ReservationCode::parse(&dashed), Some(code));
    }

    #[test]
    fn parse_refuses_garbage() {
        for bad in ["", "SHORT", "0123456789ABCDEFG", "ÁBCDEFGHJKMNP", "' OR 1=1 --..."] {
            assert_eq!(ReservationCode::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn client_channels_exclude_ical() {
        assert_eq!(Channel::parse_client("whatsapp"), Some(Channel::Whatsapp));
        assert_eq!(Channel::parse_client("ical"), None);
        assert_eq!(Channel::parse_stored("ical"), Some(Channel::Ical));
        assert_eq!(Channel::parse_client("WhatsApp"), None);
    }

    #[test]
    fn statuses_round_trip_and_know_which_hold_nights() {
        for s in [Status::PreReserved, Status::Confirmed, Status::Cancelled, Status::Expired, Status::Blocked] {
            assert_eq!(Status::parse(s.as_str()), Some(s));
        }
        assert!(Status::Blocked.holds_nights());
        assert!(!Status::Expired.holds_nights());
    }
}
