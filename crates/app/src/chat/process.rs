//! Answering stored messages, one guest at a time and in order: claim the oldest pending
//! message of a guest (a lease keeps other processors off that guest), work out the turn,
//! then in ONE transaction mark the message done, save the conversation and queue the
//! replies. A crash anywhere leaves the message pending for the tick; a redelivery never
//! reaches here (the inbox's UNIQUE `wamid` stopped it).
//!
//! Text costs milliseconds and is answered inside the webhook request. A voice note is
//! transcribed inline only while the request's time budget allows; otherwise it waits for
//! the tick, and so do the guest's later messages (order matters).

use super::audio::{self, AudioError};
use super::conversation::{self, Guest, Input, Turn};
use super::inbox::{self, Claimed};
use super::{outbound, state};
use crate::error::ApiResult;
use crate::ports::{Db, Env};
use crate::store;
use chrono::Duration;
use reservas_domain::whatsapp::mask_phone;
use std::time::{Duration as StdDuration, Instant};

/// Replies per guest per rolling minute and hour: a loop with another bot stops here.
pub const REPLIES_PER_MINUTE: i64 = 8;
pub const REPLIES_PER_HOUR: i64 = 60;
/// A message whose processing failed this many times gets an apology and is let go.
const MAX_ATTEMPTS: i64 = 5;
/// A voice note is only started with at least this much of the budget left.
const MIN_AUDIO_BUDGET: StdDuration = StdDuration::from_secs(4);
/// The longest a single transcription may take.
const MAX_TRANSCRIPTION: StdDuration = StdDuration::from_secs(25);

enum Handled {
    Done,
    /// Left pending for later (a voice note that does not fit the budget).
    Deferred,
}

/// Answers `phone`'s pending messages until `deadline`. Returns how many were answered.
pub async fn process_phone<E: Env>(env: &E, phone: &str, deadline: Instant) -> ApiResult<usize> {
    let conn = env.db().connect().await?;
    let owner = crate::random::hex_id();
    let mut done = 0;
    while Instant::now() < deadline {
        let Some(message) = inbox::claim_next(&conn, phone, &owner, env.clock().now()).await? else { break };
        match handle(env, &conn, &message, &owner, deadline).await {
            Ok(Handled::Done) => done += 1,
            Ok(Handled::Deferred) => {
                inbox::release(&conn, message.id, &owner).await?;
                break;
            }
            Err(e) => {
                tracing::warn!(message_id = message.id, from = %mask_phone(phone), attempts = message.attempts, error = %e, "whatsapp message not answered");
                if message.attempts >= MAX_ATTEMPTS {
                    let turn = Turn {
                        state: state::load(env.kv(), phone, env.clock().now()).await,
                        replies: vec![(super::texts::failed(), Vec::new())],
                        handoff: None,
                        outcome: "failed",
                    };
                    commit(env, &conn, &message, &owner, &turn, None).await?;
                } else {
                    inbox::release(&conn, message.id, &owner).await?;
                }
                break;
            }
        }
    }
    Ok(done)
}

async fn handle<E: Env, C: crate::ports::Conn>(
    env: &E,
    conn: &C,
    message: &Claimed,
    owner: &str,
    deadline: Instant,
) -> ApiResult<Handled> {
    let now = env.clock().now();
    let conversation = inbox::conversation(conn, &message.phone).await?;
    let state = state::load(env.kv(), &message.phone, now).await;
    let silent = |outcome: &'static str| Turn { state: state.clone(), replies: Vec::new(), handoff: None, outcome };
    if conversation.handed_off {
        commit(env, conn, message, owner, &silent("silenced"), None).await?;
        return Ok(Handled::Done);
    }
    let minute = outbound::replies_since(conn, &message.phone, now - Duration::minutes(1)).await?;
    let hour = outbound::replies_since(conn, &message.phone, now - Duration::hours(1)).await?;
    if minute >= REPLIES_PER_MINUTE || hour >= REPLIES_PER_HOUR {
        tracing::warn!(from = %mask_phone(&message.phone), minute, hour, "whatsapp replies rate-limited");
        commit(env, conn, message, owner, &silent("rate_limited"), None).await?;
        return Ok(Handled::Done);
    }
    let mut transcript: Option<(String, f64)> = None;
    let input = match message.kind.as_str() {
        "text" => Input::Text(message.body.clone().unwrap_or_default()),
        "button" => Input::Button(message.body.clone().unwrap_or_default()),
        "audio" => {
            let left = deadline.saturating_duration_since(Instant::now());
            if left < MIN_AUDIO_BUDGET {
                return Ok(Handled::Deferred);
            }
            match voice_note(env, message, left.saturating_sub(StdDuration::from_millis(500))).await {
                Ok(t) => {
                    let clear = !t.text.is_empty() && t.confidence >= env.config().audio_min_confidence;
                    tracing::info!(message_id = message.id, confidence = t.confidence, clear, "voice note transcribed");
                    transcript = Some((t.text.clone(), t.confidence));
                    if clear {
                        Input::Text(t.text)
                    } else {
                        Input::AudioUnclear
                    }
                }
                Err(e) => {
                    tracing::warn!(message_id = message.id, error = %e, "voice note not transcribed");
                    Input::AudioUnclear
                }
            }
        }
        _ => Input::Unsupported,
    };
    let guest = Guest { phone: &message.phone, name: message.profile_name.as_deref() };
    let turn = conversation::respond(env, guest, state, input, message.sent_at).await?;
    commit(env, conn, message, owner, &turn, transcript.as_ref().map(|(t, c)| (t.as_str(), *c))).await?;
    tracing::info!(message_id = message.id, from = %mask_phone(&message.phone), outcome = turn.outcome, replies = turn.replies.len(), "whatsapp message answered");
    Ok(Handled::Done)
}

async fn voice_note<E: Env>(env: &E, message: &Claimed, budget: StdDuration) -> Result<audio::Transcript, AudioError> {
    let started = Instant::now();
    let media_id = message.media_id.as_deref().unwrap_or_default();
    let (bytes, mime) = audio::fetch_media(env, media_id).await?;
    let left = budget.saturating_sub(started.elapsed()).min(MAX_TRANSCRIPTION);
    if left.is_zero() {
        return Err(AudioError::Timeout);
    }
    audio::transcribe(env, &bytes, mime.as_deref().or(message.mime_type.as_deref()), left).await
}

/// The turn's effects, all or nothing: the message done, the state saved, the replies queued.
async fn commit<E: Env, C: crate::ports::Conn>(
    env: &E,
    conn: &C,
    message: &Claimed,
    owner: &str,
    turn: &Turn,
    transcript: Option<(&str, f64)>,
) -> ApiResult<()> {
    let now = env.clock().now();
    let outcome = store::transaction(conn, async {
        if !inbox::finish(conn, message, owner, turn.outcome, transcript, now).await? {
            // Another processor took the message over: it answers, we do not.
            return Err(crate::error::ApiError::InvalidState("lease lost".into()));
        }
        inbox::save(conn, &message.phone, turn.handoff, now).await?;
        for (n, (text, buttons)) in turn.replies.iter().enumerate() {
            outbound::queue_reply(conn, &message.phone, message.id, n, text, buttons, now).await?;
        }
        // Last, while this processor still holds the guest's lease: the next message (claimed
        // only after this transaction commits) reads the new state.
        state::save(env.kv(), &message.phone, &turn.state, now).await;
        Ok(())
    })
    .await;
    match outcome {
        Err(crate::error::ApiError::InvalidState(_)) => Ok(()),
        other => other,
    }
}
