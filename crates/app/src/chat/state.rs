//! Where a guest's dialogue state lives: the key-value store, key `conv:<phone>`, expiring a
//! day after the guest's last message (as the product's shape fixes: conversation state in
//! Spin's key-value store, Redis in production).
//!
//! The value carries its own deadline by the app's clock (the store's TTL is wall-clock and
//! best effort), so a test that moves the clock sees the state expire too. The state is soft:
//! if the store is unreachable the bot goes on without memory (each message understood on its
//! own, the guest asked again for what is missing) and health reports the store degraded.
//! Everything that must not be lost (the message being answered, the replies, holds, the
//! hand-off flag) is in the database.

use super::conversation::State;
use crate::ports::Kv;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// A conversation's state is forgotten after this long without a message.
pub const TTL_HOURS: i64 = 24;

fn key(phone: &str) -> String {
    format!("conv:{phone}")
}

#[derive(Serialize, Deserialize)]
struct Stored {
    expires_ms: i64,
    state: State,
}

/// The guest's state, or a fresh one when there is none, it expired, or the store fails.
pub async fn load<K: Kv>(kv: &K, phone: &str, now: DateTime<Utc>) -> State {
    match kv.get(&key(phone)).await {
        Ok(Some(json)) => serde_json::from_str::<Stored>(&json)
            .ok()
            .filter(|s| s.expires_ms > now.timestamp_millis())
            .map(|s| s.state)
            .unwrap_or_default(),
        Ok(None) => State::default(),
        Err(e) => {
            tracing::warn!(error = %e, "conversation state unavailable; answering without it");
            State::default()
        }
    }
}

/// Saves the guest's state for another day. A failure is logged, not raised: the turn's
/// durable effects are in the database, and a forgotten state only costs a question.
pub async fn save<K: Kv>(kv: &K, phone: &str, state: &State, now: DateTime<Utc>) {
    let ttl = Duration::hours(TTL_HOURS);
    let stored = Stored { expires_ms: (now + ttl).timestamp_millis(), state: state.clone() };
    let Ok(json) = serde_json::to_string(&stored) else { return };
    let wall_ttl = ttl.to_std().unwrap_or_default();
    if let Err(e) = kv.set(&key(phone), &json, Some(wall_ttl)).await {
        tracing::warn!(error = %e, "conversation state not saved");
    }
}

/// Forgets the guest's state (an admin handed the conversation back to the bot).
pub async fn forget<K: Kv>(kv: &K, phone: &str) {
    if let Err(e) = kv.delete(&key(phone)).await {
        tracing::warn!(error = %e, "conversation state not cleared; it expires on its own");
    }
}
