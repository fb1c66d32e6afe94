//! How [`crate::SpinKv`] stores values in a store with no TTL: plain functions, tested on the host.

/// A value as stored: `~{expires_ms}~{value}`. A counter written by `increment` reads as its
/// decimal value; bytes in any other shape read as a value without expiry.
#[derive(Debug, PartialEq)]
pub(crate) struct Stored {
    pub(crate) expires_ms: Option<i64>,
    pub(crate) value: String,
}

impl Stored {
    pub(crate) fn decode(raw: &[u8]) -> Stored {
        if let Some(n) = sqlite_counter(raw) {
            return Stored { expires_ms: None, value: n.to_string() };
        }
        let text = String::from_utf8_lossy(raw);
        if let Some((expiry, value)) = text.strip_prefix('~').and_then(|t| t.split_once('~')) {
            if expiry.is_empty() {
                return Stored { expires_ms: None, value: value.to_owned() };
            }
            if let Ok(expires_ms) = expiry.parse::<i64>() {
                return Stored { expires_ms: Some(expires_ms), value: value.to_owned() };
            }
        }
        Stored { expires_ms: None, value: text.into_owned() }
    }
}

/// Spin's SQLite store keeps `increment` counters as 8 big-endian bytes. Eight bytes that are
/// decimal digits are text (Redis keeps counters as text); no counter's bytes all are.
fn sqlite_counter(raw: &[u8]) -> Option<i64> {
    let bytes: [u8; 8] = raw.try_into().ok()?;
    let text = bytes.iter().enumerate().all(|(i, b)| b.is_ascii_digit() || (i == 0 && *b == b'-'));
    (!text && bytes[0] != b'~').then(|| i64::from_be_bytes(bytes))
}

pub(crate) fn encode(value: &str, expires_ms: Option<i64>) -> Vec<u8> {
    match expires_ms {
        Some(e) => format!("~{e}~{value}"),
        None => format!("~~{value}"),
    }
    .into_bytes()
}

/// A short, stable name for a value (FNV-1a), to tell one stale lock from the next.
pub(crate) fn fnv1a(value: &str) -> u64 {
    value.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_with_and_without_expiry() {
        assert_eq!(Stored::decode(&encode("a~b:c", Some(42))), Stored { expires_ms: Some(42), value: "a~b:c".into() });
        assert_eq!(Stored::decode(&encode("", None)), Stored { expires_ms: None, value: String::new() });
        // Eight bytes of our own format are never taken for a counter.
        assert_eq!(Stored::decode(&encode("abcdef", None)).value, "abcdef");
    }

    #[test]
    fn counters_read_as_decimal_on_both_backends() {
        assert_eq!(Stored::decode(b"17").value, "17"); // Redis INCRBY
        assert_eq!(Stored::decode(b"12345678").value, "12345678"); // Redis, eight digits
        assert_eq!(Stored::decode(&17i64.to_be_bytes()).value, "17"); // Spin's SQLite store
        assert_eq!(Stored::decode(&(-3i64).to_be_bytes()).value, "-3");
    }

    #[test]
    fn foreign_bytes_read_as_a_value_without_expiry() {
        assert_eq!(Stored::decode(b"~x~y"), Stored { expires_ms: None, value: "~x~y".into() });
        assert_eq!(Stored::decode(b"plain"), Stored { expires_ms: None, value: "plain".into() });
    }

    #[test]
    fn fnv1a_tells_values_apart() {
        assert_ne!(fnv1a("owner-a"), fnv1a("owner-b"));
        assert_eq!(fnv1a(""), 0xcbf2_9ce4_8422_2325);
    }
}
