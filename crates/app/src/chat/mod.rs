//! The WhatsApp conversation: webhook, understanding (NLU), voice notes, the booking flow
//! (issue 6).
//!
//! - [`webhook`]: verification, signature, store-then-answer within a time budget.
//! - [`inbox`]: inbound messages (UNIQUE `wamid`), leases, the conversation row.
//! - [`process`]: one guest at a time, in order; rate limit; voice notes.
//! - [`conversation`]: the booking dialogue; [`texts`]: what the bot says.
//! - [`audio`]: media download, the Whisper sidecar, `POST /audio/transcribe`.
//! - [`outbound`]: the outbox's WhatsApp channel and the Graph API.
//! - [`handoff`]: conversations waiting for a person.

mod analyze;
pub mod audio;
pub mod conversation;
pub mod handoff;
pub mod inbox;
pub mod outbound;
pub mod process;
pub mod state;
pub mod texts;
pub mod understand;
pub mod webhook;

use crate::error::{ApiError, ApiResult};
use crate::http::{Request, Response};
use crate::observe::{check, not_configured, Level};
use crate::ports::{Db, Env};
use crate::routes::Endpoint;
use chrono::Duration;
use serde_json::{json, Value};
use std::time::Instant;

/// The tick's budget for voice notes and other messages left pending.
const TICK_BUDGET: std::time::Duration = std::time::Duration::from_secs(40);
/// Guests whose waiting messages one tick takes up.
const TICK_GUESTS: i64 = 50;
/// Health turns degraded when a reply waits longer than this.
const STUCK_AFTER_MINUTES: i64 = 5;

/// Serves this module's endpoints (see `routes::ROUTES`).
pub async fn dispatch<E: Env>(env: &E, req: &Request, endpoint: Endpoint, params: &[String]) -> ApiResult<Response> {
    let param = params.first().map(String::as_str).unwrap_or_default();
    match endpoint {
        Endpoint::WhatsappVerify => webhook::verify(env, req).await,
        Endpoint::WhatsappWebhook => webhook::receive(env, req).await,
        Endpoint::AudioTranscribe => audio::endpoint(env, req).await,
        Endpoint::NluAnalyze => analyze::endpoint(env, req).await,
        Endpoint::AdminConversations => {
            crate::admin::admin_claims(env, req.header("authorization"))?;
            let conn = env.db().connect().await?;
            Ok(Response::json(200, &handoff::list(&conn, &req.query_pairs()).await?))
        }
        Endpoint::ReleaseConversation => {
            let claims = crate::admin::admin_claims(env, req.header("authorization"))?;
            crate::backoffice::require_csrf(env, req, &claims)?;
            let conn = env.db().connect().await?;
            let released = handoff::release(&conn, param, &claims.sub, env.clock().now()).await?;
            if let Some(phone) = released["phone"].as_str() {
                state::forget(env.kv(), phone).await;
            }
            Ok(Response::json(200, &released))
        }
        other => Err(ApiError::NotFound(format!("{other:?} is not built yet"))),
    }
}

/// This module's part of the periodic tick: answer messages left pending (voice notes that
/// did not fit a webhook's budget, crashed processors), then deliver due WhatsApp messages.
pub async fn tick<E: Env>(env: &E) -> ApiResult<Value> {
    let deadline = Instant::now() + TICK_BUDGET;
    let conn = env.db().connect().await?;
    let mut answered = 0;
    for phone in inbox::waiting_phones(&conn, env.clock().now(), TICK_GUESTS).await? {
        match process::process_phone(env, &phone, deadline).await {
            Ok(n) => answered += n,
            Err(e) => tracing::warn!(error = %e, "whatsapp messages not answered by the tick"),
        }
    }
    let delivery = outbound::deliver(env, None, outbound::SEND_TIMEOUT, outbound::MAX_BATCHES).await?;
    Ok(json!({
        "answered": answered,
        "whatsapp": match delivery {
            None => json!("not_configured"),
            Some(d) => json!({ "sent": d.sent, "retrying": d.retrying, "dead": d.dead }),
        },
    }))
}

/// This module's health check: `not_configured` without a token and phone id; degraded when
/// deliveries are unsigned, replies wait too long or died recently, or messages wait to be
/// answered.
pub async fn health<E: Env>(env: &E) -> (Level, Value) {
    let config = env.config();
    if outbound::Settings::from_config(config).is_none() {
        return not_configured("WhatsApp");
    }
    let mut level = Level::Healthy;
    let mut details = Vec::new();
    if config.whatsapp_app_secret.is_none() {
        level = Level::Degraded;
        details.push("webhook unsigned: WHATSAPP_APP_SECRET not set".to_owned());
    } else {
        details.push("signed".to_owned());
    }
    if config.whisper_url.is_none() {
        details.push("WHISPER_URL not set: voice notes get a please-write reply".to_owned());
    }
    let now = env.clock().now();
    let figures = async {
        let conn = env.db().connect().await?;
        let backlog =
            outbound::backlog(&conn, now, Duration::minutes(STUCK_AFTER_MINUTES), Duration::hours(24)).await?;
        let waiting = inbox::pending_since(&conn, now - Duration::minutes(STUCK_AFTER_MINUTES)).await?;
        ApiResult::Ok((backlog, waiting))
    }
    .await;
    match figures {
        Ok(((pending, stuck, dead), waiting)) => {
            if stuck > 0 {
                level = Level::Degraded;
                details.push(format!("{stuck} replies waiting more than {STUCK_AFTER_MINUTES} minutes"));
            }
            if dead > 0 {
                level = Level::Degraded;
                details.push(format!("{dead} replies given up on in the last 24 h"));
            }
            if waiting > 0 {
                level = Level::Degraded;
                details.push(format!("{waiting} messages not answered for {STUCK_AFTER_MINUTES} minutes"));
            }
            details.push(format!("{pending} pending"));
        }
        Err(e) => {
            level = Level::Degraded;
            details.push(format!("cannot read the outbox: {e}"));
        }
    }
    check(level, details.join("; "))
}
