//! The key-value lock in front of a booking. It only sheds bursts of identical requests: the
//! database's night-slot table decides every booking, so any failure here lets the request
//! through to the database.

use crate::ports::{Clock, Kv};
use chrono::{DateTime, Utc};
use std::time::Duration;

pub enum Acquired {
    /// This request holds the lock; release it with the value if the booking fails.
    Held { key: String, value: String },
    /// Someone else holds it.
    Busy,
    /// The store could not be reached: go on without a lock.
    Unavailable,
}

/// Tries to take `key` until `expires_at`. A lock whose recorded expiry (by the app's clock)
/// has passed is stale — its hold expired — and is taken over.
pub async fn acquire<K: Kv>(
    kv: &K,
    clock: &dyn Clock,
    key: String,
    value: String,
    expires_at: DateTime<Utc>,
) -> Acquired {
    let ttl = (expires_at - clock.now()).to_std().unwrap_or(Duration::from_millis(1)).max(Duration::from_millis(1));
    for _ in 0..2 {
        match kv.set_nx(&key, &value, ttl).await {
            Ok(true) => return Acquired::Held { key, value },
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(error = %e, "lock store unavailable; the database alone decides");
                return Acquired::Unavailable;
            }
        }
        match kv.get(&key).await {
            Ok(Some(current)) if is_stale(&current, clock.now()) => {
                if kv.delete_if_eq(&key, &current).await.is_err() {
                    return Acquired::Unavailable;
                }
            }
            // Vanished between the two calls: try once more.
            Ok(None) => {}
            Ok(Some(_)) => return Acquired::Busy,
            Err(_) => return Acquired::Unavailable,
        }
    }
    Acquired::Busy
}

/// Releases a lock this request or its hold owns; a no-op if someone else owns it now.
pub async fn release<K: Kv>(kv: &K, key: &str, value: &str) {
    if let Err(e) = kv.delete_if_eq(key, value).await {
        tracing::warn!(error = %e, "could not release lock; it will expire on its own");
    }
}

fn is_stale(value: &str, now: DateTime<Utc>) -> bool {
    value.split_once(':').and_then(|(ms, _)| ms.parse::<i64>().ok()).is_none_or(|ms| ms <= now.timestamp_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staleness_follows_the_recorded_expiry() {
        let now = DateTime::from_timestamp_millis(10_000).unwrap();
        assert!(is_stale("9999:ABC", now));
        assert!(is_stale("10000:ABC", now));
        assert!(!is_stale("10001:ABC", now));
        assert!(is_stale("garbage", now));
    }
}
