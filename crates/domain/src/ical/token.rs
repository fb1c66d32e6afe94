//! Export URL tokens and platform names.
//!
//! A token is `<accommodation id>-<hmac>` for the full export, or
//! `<accommodation id>-<platform>-<hmac>` for the export given to one platform (which leaves
//! out that platform's own blocks). The HMAC-SHA256 (hex) is keyed with `ICS_SALT` over the
//! accommodation id, the platform and the accommodation's token version: rotating bumps the
//! version, so every old URL stops working while the scheme stays stateless. The id in the
//! clear only says which HMAC to recompute; without the salt no token can be made.

use crate::secret::{constant_time_eq, hex, hmac_sha256};

/// A platform a feed belongs to: a short lower-case slug (`airbnb`, `booking`, `vrbo`,
/// `google`, `other`, or any other `[a-z0-9_]{1,32}`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Platform(String);

impl Platform {
    /// Normalises what an admin types: case-insensitive, `booking.com` is `booking`,
    /// `homeaway` is `vrbo`, `airbnb.com` is `airbnb`.
    pub fn parse(text: &str) -> Option<Platform> {
        let lower = text.trim().to_ascii_lowercase();
        let slug = lower.strip_suffix(".com").unwrap_or(&lower);
        let slug = match slug {
            "homeaway" => "vrbo",
            "google calendar" | "google_calendar" => "google",
            s => s,
        };
        let valid = (1..=32).contains(&slug.len())
            && slug.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        valid.then(|| Platform(slug.to_owned()))
    }

    /// The platform of body imports that name none.
    pub fn other() -> Platform {
        Platform("other".into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A token as presented in an export URL, not yet verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportToken {
    pub accommodation_id: i64,
    pub platform: Option<Platform>,
    mac: String,
}

fn mac(salt: &str, accommodation_id: i64, version: i64, platform: Option<&Platform>) -> String {
    let message =
        format!("reservas-ical-export\n{accommodation_id}\n{version}\n{}", platform.map_or("*", Platform::as_str));
    hex(&hmac_sha256(salt.as_bytes(), message.as_bytes()))
}

impl ExportToken {
    /// The token for an accommodation at a token version, for all platforms or for one.
    pub fn sign(salt: &str, accommodation_id: i64, version: i64, platform: Option<&Platform>) -> String {
        let mac = mac(salt, accommodation_id, version, platform);
        match platform {
            Some(p) => format!("{accommodation_id}-{}-{mac}", p.as_str()),
            None => format!("{accommodation_id}-{mac}"),
        }
    }

    /// Reads a token's shape; `None` for anything that cannot be one.
    pub fn parse(text: &str) -> Option<ExportToken> {
        let mut parts = text.split('-');
        let id = parts.next()?;
        let (platform, mac) = match (parts.next()?, parts.next(), parts.next()) {
            (mac, None, _) => (None, mac),
            (platform, Some(mac), None) => (Some(Platform::parse(platform).filter(|p| p.as_str() == platform)?), mac),
            _ => return None,
        };
        let accommodation_id = id.parse::<i64>().ok().filter(|i| *i > 0 && id.bytes().all(|b| b.is_ascii_digit()))?;
        let well_formed = mac.len() == 64 && mac.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        well_formed.then(|| ExportToken { accommodation_id, platform, mac: mac.to_owned() })
    }

    /// Whether the token was signed with `salt` at `version`, compared in constant time.
    pub fn verify(&self, salt: &str, version: i64) -> bool {
        let expected = mac(salt, self.accommodation_id, version, self.platform.as_ref());
        constant_time_eq(expected.as_bytes(), self.mac.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platforms_are_normalised() {
        assert_eq!(Platform::parse("Airbnb").unwrap().as_str(), "airbnb");
        assert_eq!(Platform::parse("booking.com").unwrap().as_str(), "booking");
        assert_eq!(Platform::parse(" VRBO ").unwrap().as_str(), "vrbo");
        assert_eq!(Platform::parse("HomeAway").unwrap().as_str(), "vrbo");
        for bad in ["", "air-bnb", "a b", "ñandú", &"x".repeat(33)] {
            assert_eq!(Platform::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_signed_token_verifies_only_at_its_version_and_salt() {
        let token = ExportToken::sign("salt", 12, 0, None);
        let parsed = ExportToken::parse(&token).unwrap();
        assert_eq!(parsed.accommodation_id, 12);
        assert!(parsed.verify("salt", 0));
        assert!(!parsed.verify("salt", 1), "rotation invalidates");
        assert!(!parsed.verify("other salt", 0));
    }

    #[test]
    fn platform_tokens_are_distinct_and_bound_to_their_platform() {
        let airbnb = Platform::parse("airbnb").unwrap();
        let token = ExportToken::sign("salt", 12, 3, Some(&airbnb));
        assert!(token.starts_with("12-airbnb-"));
        let parsed = ExportToken::parse(&token).unwrap();
        assert_eq!(parsed.platform, Some(airbnb));
        assert!(parsed.verify("salt", 3));
        // Swapping the platform (or the id) in the URL does not carry the signature along.
        let swapped = ExportToken::parse(&token.replace("-airbnb-", "-booking-")).unwrap();
        assert!(!swapped.verify("salt", 3));
        let other_id = ExportToken::parse(&token.replacen("12-", "13-", 1)).unwrap();
        assert!(!other_id.verify("salt", 3));
        let full = ExportToken::parse(&token.replace("-airbnb", "")).unwrap();
        assert!(!full.verify("salt", 3));
    }

    #[test]
    fn malformed_tokens_are_refused() {
        let good = ExportToken::sign("salt", 7, 0, None);
        for bad in [
            "",
            "7",
            "7-",
            "x-abc",
            "-7-abc",
            &good[..good.len() - 1],
            &good.to_uppercase(),
            &format!("{good}-x"),
            &format!("+{good}"),
            &good.replace("7-", "0-"),
            &format!("7-Airbnb-{}", &good[2..]),
        ] {
            assert_eq!(ExportToken::parse(bad), None, "{bad}");
        }
    }
}
