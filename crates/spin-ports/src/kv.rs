//! [`Kv`] over Spin's key-value store `default` (spin:key-value@3.0.0) and the
//! `wasi:keyvalue/atomics` increment Spin links beside it (same store, same backend).
//!
//! What Spin gives: `get`, `set`, `delete`, `exists`, no TTL, no set-if-absent, and a
//! compare-and-swap that is unsafe on both backends (on the SQLite store a swap on a missing key
//! writes unconditionally; on Redis every swap reports failure even when it wrote). Only
//! `increment` is exact under concurrency, on the SQLite store and on Redis alike. So:
//!
//! - **TTL** is emulated: values are stored as `~{expires_ms}~{value}` (wall clock, ms since
//!   the epoch; empty for no expiry) and an expired value reads as absent. Nothing deletes it
//!   until the key is written or deleted again: expired entries stay in the store.
//! - **`incr`** is `wasi:keyvalue/atomics.increment`, exact. Counters are stored in the backend's
//!   own form (Redis: decimal text; Spin's SQLite store: 8 bytes, big-endian i64); `get` reads
//!   both as decimal text. A key written by `set` must not be `incr`ed (Spin's SQLite store
//!   fails on a value that is not 8 bytes long).
//! - **`set_nx`** is built on `increment` of a companion counter `{key}#nx`: the caller that gets
//!   1 owns the key and writes the (expiring) value. A caller that gets more than 1 loses, unless
//!   the lock it lost to is stale: either the value's expiry passed, or no value was ever written
//!   (its owner died between increment and write) for longer than the TTL, measured from a
//!   `{key}#nx-seen` marker the first such loser writes. A stale lock is recovered by exactly
//!   one caller (the one whose `increment` of `{key}#nx-recover#{token}`, the token naming that
//!   stale state, returns 1): it deletes the value, the marker and the counter, then claims
//!   afresh like anyone else.
//!
//! **The guarantee that remains** is load shedding, not mutual exclusion: while a lock is live
//! and its owner wrote it, every other claimant loses; but `delete_if_eq` is a read then a
//! delete (it can delete a value written in between), a leftover `#nx-seen` marker read in the
//! few milliseconds between a new owner's increment and its write can trigger a wrong recovery,
//! and expiry follows the instances' wall clocks. Two callers can therefore both win in narrow
//! races. The database decides every booking; this only keeps most duplicates away from it.
//! Recovery tokens (`#nx-recover#...`) are never deleted (one small key per recovered lock).

use crate::codec::{encode, fnv1a, Stored};
use async_trait::async_trait;
use reservas_app::ports::{Kv, KvError};
use spin_sdk::experimental::wasi::keyvalue::{atomics, store as wasi_store};
use spin_sdk::key_value::Store;
use std::cell::OnceCell;
use std::time::Duration;

const STORE: &str = "default";

/// The Spin key-value store `default` (`key_value_stores = ["default"]` in spin.toml; Redis
/// through runtime-config.toml, Spin's SQLite file otherwise). See the module docs for what
/// each operation guarantees.
#[derive(Default)]
pub struct SpinKv {
    store: OnceCell<Store>,
    bucket: OnceCell<wasi_store::Bucket>,
}

impl SpinKv {
    async fn store(&self) -> Result<&Store, KvError> {
        if let Some(store) = self.store.get() {
            return Ok(store);
        }
        let store = Store::open(STORE).await.map_err(kv_error)?;
        Ok(self.store.get_or_init(|| store))
    }

    fn bucket(&self) -> Result<&wasi_store::Bucket, KvError> {
        if let Some(bucket) = self.bucket.get() {
            return Ok(bucket);
        }
        let bucket = wasi_store::open(STORE).map_err(kv_error)?;
        Ok(self.bucket.get_or_init(|| bucket))
    }

    fn increment(&self, key: &str, by: i64) -> Result<i64, KvError> {
        atomics::increment(self.bucket()?, key, by).map_err(kv_error)
    }

    /// The stored value, decoded, and whether it has expired at `now_ms`.
    async fn read(&self, key: &str, now_ms: i64) -> Result<Option<(Stored, bool)>, KvError> {
        let raw = self.store().await?.get(key).await.map_err(kv_error)?;
        Ok(raw.map(|raw| {
            let stored = Stored::decode(&raw);
            let expired = stored.expires_ms.is_some_and(|e| e <= now_ms);
            (stored, expired)
        }))
    }

    /// Deletes the value, then its companions; the counter goes last, so nobody can claim the
    /// key while an old value is still there.
    async fn delete_all(&self, key: &str) -> Result<(), KvError> {
        let store = self.store().await?;
        for k in [key.to_owned(), seen_key(key), counter_key(key)] {
            store.delete(&k).await.map_err(kv_error)?;
        }
        Ok(())
    }
}

#[async_trait(?Send)]
impl Kv for SpinKv {
    async fn get(&self, key: &str) -> Result<Option<String>, KvError> {
        Ok(match self.read(key, now_ms()).await? {
            Some((stored, false)) => Some(stored.value),
            _ => None,
        })
    }

    async fn set(&self, key: &str, value: &str, ttl: Option<Duration>) -> Result<(), KvError> {
        let expires_ms = ttl.map(|ttl| now_ms().saturating_add(millis(ttl)));
        self.store().await?.set(key, encode(value, expires_ms)).await.map_err(kv_error)
    }

    async fn set_nx(&self, key: &str, value: &str, ttl: Duration) -> Result<bool, KvError> {
        let ticket = self.increment(&counter_key(key), 1)?;
        let now = now_ms();
        let expires_ms = now.saturating_add(millis(ttl));
        let current = self.read(key, now).await?;
        if let Some((_, false)) = current {
            return Ok(false); // a live value: taken
        }
        let store = self.store().await?;
        if ticket == 1 {
            // Ours. Clear a marker left by an earlier episode, then write.
            store.delete(seen_key(key)).await.map_err(kv_error)?;
            store.set(key, encode(value, Some(expires_ms))).await.map_err(kv_error)?;
            return Ok(true);
        }
        // Taken by someone: live but not yet written, or stale.
        let token = match current {
            Some((stored, _expired)) => {
                format!("x{}-{:016x}", stored.expires_ms.unwrap_or(0), fnv1a(&stored.value))
            }
            None => {
                let seen = store
                    .get(seen_key(key))
                    .await
                    .map_err(kv_error)?
                    .and_then(|raw| String::from_utf8(raw).ok())
                    .and_then(|s| s.parse::<i64>().ok());
                match seen {
                    None => {
                        store.set(seen_key(key), now.to_string()).await.map_err(kv_error)?;
                        return Ok(false);
                    }
                    Some(since) if now.saturating_sub(since) < millis(ttl) => return Ok(false),
                    Some(since) => format!("o{since}"),
                }
            }
        };
        // Exactly one caller recovers a given stale state.
        if self.increment(&format!("{key}#nx-recover#{token}"), 1)? != 1 {
            return Ok(false);
        }
        tracing::warn!(key, "recovering a stale key-value lock");
        self.delete_all(key).await?;
        if self.increment(&counter_key(key), 1)? != 1 {
            return Ok(false); // a newcomer claimed it first: theirs
        }
        store.set(key, encode(value, Some(expires_ms))).await.map_err(kv_error)?;
        Ok(true)
    }

    async fn delete_if_eq(&self, key: &str, expected: &str) -> Result<bool, KvError> {
        match self.read(key, now_ms()).await? {
            Some((stored, false)) if stored.value == expected => {
                self.delete_all(key).await?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn delete(&self, key: &str) -> Result<(), KvError> {
        self.delete_all(key).await
    }

    async fn incr(&self, key: &str, by: i64) -> Result<i64, KvError> {
        self.increment(key, by)
    }

    async fn ping(&self) -> Result<(), KvError> {
        self.store().await?.exists("reservas:ping").await.map(|_| ()).map_err(kv_error)
    }

    fn backend(&self) -> &'static str {
        "spin"
    }
}

fn counter_key(key: &str) -> String {
    format!("{key}#nx")
}

fn seen_key(key: &str) -> String {
    format!("{key}#nx-seen")
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn kv_error(err: impl std::fmt::Debug) -> KvError {
    KvError(format!("{err:?}"))
}
