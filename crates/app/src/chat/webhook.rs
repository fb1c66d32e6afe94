//! `GET|POST /api/v1/whatsapp/webhook`: Meta's verification handshake, and deliveries.
//!
//! A delivery is checked (`X-Hub-Signature-256` over the raw body), every message of every
//! entry and change is stored first (deduplicated on `wamid` by the database), then the new
//! messages are answered within a time budget and their replies sent right away with a short
//! timeout. Whatever does not fit (a slow voice note, a Graph API hiccup) is left to the tick:
//! the answer to Meta is 200 as soon as the messages are stored, so Meta never retries
//! because of our own slowness. Nothing runs after the response (Spin would not allow it).

use super::{outbound, process};
use crate::error::{ApiError, ApiResult};
use crate::http::{Request, Response};
use crate::ports::{Db, Env};
use crate::store;
use reservas_domain::metrics as m;
use reservas_domain::secret::constant_time_eq;
use reservas_domain::whatsapp::{parse_delivery, signature_valid};
use serde_json::json;
use std::time::{Duration, Instant};

/// How long a delivery may spend answering before it answers Meta.
pub const WEBHOOK_BUDGET: Duration = Duration::from_secs(10);
/// Each immediate send's timeout (the tick retries what fails).
pub const IMMEDIATE_SEND_TIMEOUT: Duration = Duration::from_secs(3);

/// `GET`: answers `hub.challenge` as plain text when `hub.verify_token` matches.
pub async fn verify<E: Env>(env: &E, req: &Request) -> ApiResult<Response> {
    let forbidden = || ApiError::Forbidden("verification failed".into());
    let expected = env.config().whatsapp_verify_token.as_deref().ok_or_else(forbidden)?;
    let mode = req.query_param("hub.mode");
    let token = req.query_param("hub.verify_token").unwrap_or_default();
    let challenge = req.query_param("hub.challenge").unwrap_or_default();
    if mode.as_deref() != Some("subscribe") || !constant_time_eq(token.as_bytes(), expected.as_bytes()) {
        return Err(forbidden());
    }
    if challenge.is_empty() || challenge.len() > 256 || !challenge.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ApiError::Validation("hub.challenge is missing or malformed".into()));
    }
    Ok(Response::text(200, "text/plain; charset=utf-8", challenge))
}

fn invalid_signature() -> Response {
    Response::json(403, &json!({ "error": "invalid_signature", "detail": "Invalid signature" }))
}

/// `POST`: a delivery.
pub async fn receive<E: Env>(env: &E, req: &Request) -> ApiResult<Response> {
    let started = Instant::now();
    let config = env.config();
    let signed = match &config.whatsapp_app_secret {
        Some(secret) => signature_valid(secret, &req.body, req.header("x-hub-signature-256")),
        // Unsigned deliveries only in development, and health says so.
        None => config.is_development(),
    };
    let conn = env.db().connect().await?;
    if !signed {
        store::bump(&conn, m::WEBHOOK_SIGNATURE_FAILURES, "provider=whatsapp", 1).await?;
        tracing::warn!("whatsapp delivery refused: invalid signature");
        return Ok(invalid_signature());
    }
    let Ok(body) = serde_json::from_slice::<serde_json::Value>(&req.body) else {
        // Signed but unreadable: retrying cannot help, so it is acknowledged.
        return Ok(Response::json(200, &json!({ "status": "ignored", "reason": "not JSON" })));
    };
    if body["object"].as_str().is_some_and(|o| o != "whatsapp_business_account") {
        return Ok(Response::json(200, &json!({ "status": "ignored", "reason": "not a WhatsApp Business delivery" })));
    }
    let delivery = parse_delivery(&body);
    let now = env.clock().now();
    // Stored before anything else: from here on, a crash loses nothing.
    let fresh = super::inbox::store_delivery(&conn, &delivery.messages, now).await?;
    let deadline = started + WEBHOOK_BUDGET;
    let mut answered = 0;
    for phone in &fresh {
        match process::process_phone(env, phone, deadline).await {
            Ok(n) => answered += n,
            Err(e) => tracing::warn!(error = %e, "whatsapp messages left for the tick"),
        }
    }
    for phone in &fresh {
        if Instant::now() >= deadline {
            break;
        }
        if let Err(e) = outbound::deliver(env, Some(phone), IMMEDIATE_SEND_TIMEOUT, 1).await {
            tracing::warn!(error = %e, "whatsapp replies left for the tick");
        }
    }
    Ok(Response::json(
        200,
        &json!({
            "status": "ok",
            "messages": delivery.messages.len(),
            "new_messages_from": fresh.len(),
            "answered": answered,
            "statuses": delivery.statuses,
        }),
    ))
}
