//! Which stay request `i` asks for.

use chrono::{Days, NaiveDate};

/// One stay to hold.
#[derive(Debug, Clone, Copy)]
pub struct Booking {
    pub accommodation_id: i64,
    pub check_in: NaiveDate,
    pub check_out: NaiveDate,
}

/// The first night any benchmark stay uses (far enough ahead never to be in the past).
pub fn first_night() -> NaiveDate {
    NaiveDate::from_ymd_opt(2027, 1, 1).expect("a real date")
}

fn nights_from(start: NaiveDate, offset: u64, nights: u64) -> (NaiveDate, NaiveDate) {
    let check_in = start + Days::new(offset);
    (check_in, check_in + Days::new(nights))
}

/// Never conflicting: stay `i` is the `i / cabins`-th two-night stay, back to back, of cabin
/// `i % cabins`. Distinct indexes never share a night.
pub fn spread(cabins: &[i64], i: usize) -> Booking {
    let (check_in, check_out) = nights_from(first_night(), 2 * (i / cabins.len()) as u64, 2);
    Booking { accommodation_id: cabins[i % cabins.len()], check_in, check_out }
}

/// How many check-in days the contested stays choose from, per cabin.
pub const CONTESTED_DAYS: u64 = 10;

/// Heavily conflicting: a pseudo-random two-night stay starting on one of the first
/// [`CONTESTED_DAYS`] nights of one of `cabins` (a handful), so at most a few succeed and the
/// rest meet the lock (`processing_or_unavailable`) or the night slots (`date_overlap`).
pub fn contested(cabins: &[i64], i: usize) -> Booking {
    let h = mix(i as u64);
    let (check_in, check_out) = nights_from(first_night(), (h >> 32) % CONTESTED_DAYS, 2);
    Booking { accommodation_id: cabins[(h % cabins.len() as u64) as usize], check_in, check_out }
}

/// SplitMix64's finaliser: a cheap, well-spread hash of an index.
pub fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn spread_stays_never_share_a_night() {
        let cabins = [1, 2, 3];
        let mut nights = HashSet::new();
        for i in 0..300 {
            let b = spread(&cabins, i);
            let mut night = b.check_in;
            while night < b.check_out {
                assert!(nights.insert((b.accommodation_id, night)), "stay {i}");
                night = night + Days::new(1);
            }
        }
    }

    #[test]
    fn contested_stays_stay_in_their_window() {
        let cabins = [7, 8];
        for i in 0..1000 {
            let b = contested(&cabins, i);
            assert!(cabins.contains(&b.accommodation_id));
            assert!(b.check_in < first_night() + Days::new(CONTESTED_DAYS));
        }
    }
}
