//! `POST /api/v1/mercadopago/webhook` and the tick's retries.
//!
//! A delivery is checked (signature), understood (which payment), stored (so it is never
//! lost), and only then is the payment fetched and recorded. If Mercado Pago's API fails, the
//! stored delivery waits for the periodic tick and the webhook still answers 200: a 5xx would
//! make Mercado Pago retry for days without helping.

use super::api::{self, MpError};
use super::{apply, records};
use crate::error::ApiResult;
use crate::http::{Request, Response};
use crate::ports::{Db, Env};
use crate::store;
use reservas_domain::mercadopago::{verify, Notification, NotificationForm, PaymentId};
use reservas_domain::metrics as m;
use serde_json::{json, Value};

/// Retries per tick: each is one fetch with its own timeout.
const TICK_BATCH: i64 = 20;

fn invalid_signature() -> Response {
    Response::json(403, &json!({ "error": "invalid_signature", "detail": "Invalid signature" }))
}

fn acknowledged(outcome: &str) -> Response {
    Response::json(200, &json!({ "status": outcome }))
}

/// Counting a refused delivery is best effort: the 403 never depends on it.
async fn count_signature_failure<E: Env>(env: &E) {
    if let Ok(conn) = env.db().connect().await {
        if let Err(e) = store::bump(&conn, m::WEBHOOK_SIGNATURE_FAILURES, "provider=mercadopago", 1).await {
            tracing::warn!(error = %e, "could not count a signature failure");
        }
    }
}

pub async fn handle<E: Env>(env: &E, req: &Request) -> ApiResult<Response> {
    let query = req.query_pairs();
    let notification = Notification::parse(&query, &req.body);
    if let Some(secret) = &env.config().mercadopago_webhook_secret {
        let header = req.header("x-signature");
        // Webhook deliveries are always signed; legacy IPN ones may come unsigned, and are
        // checked when they do carry a signature.
        if notification.form == NotificationForm::Webhook || header.is_some() {
            let data_id = query.iter().find(|(k, _)| k == "data.id").map(|(_, v)| v.as_str());
            if let Err(reason) = verify(secret.as_bytes(), header, data_id, req.header("x-request-id")) {
                tracing::warn!(%reason, form = notification.form.as_str(), "mercado pago notification refused");
                count_signature_failure(env).await;
                return Ok(invalid_signature());
            }
        }
    }
    let Some(payment_id) = notification.payment else {
        tracing::info!(topic = %notification.topic, form = notification.form.as_str(), "notification ignored");
        return Ok(acknowledged("ignored"));
    };
    let conn = env.db().connect().await?;
    let delivery = records::note_delivery(&conn, &payment_id, notification.form, env.clock().now()).await?;
    drop(conn);
    let outcome = process(env, &payment_id, delivery).await?;
    Ok(acknowledged(outcome.as_str()))
}

/// What became of one fetch attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Processed,
    /// Stored; the tick retries it.
    Queued {
        outage: bool,
    },
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Processed => "processed",
            Outcome::Queued { .. } => "queued",
        }
    }
}

/// Fetches payment `id` and records it, marking deliveries up to `delivery` processed; on any
/// failure the stored delivery is scheduled for a retry instead.
async fn process<E: Env>(env: &E, id: &PaymentId, delivery: i64) -> ApiResult<Outcome> {
    let failure = match api::fetch_payment(env, id).await {
        Ok((snapshot, raw)) => match apply::record(env, &snapshot, &raw, delivery).await {
            Ok(_) => return Ok(Outcome::Processed),
            Err(e) => {
                tracing::error!(payment_id = %id, error = %e, "recording a payment failed; will retry");
                (format!("recording failed: {e}"), false)
            }
        },
        Err(e) => {
            tracing::warn!(payment_id = %id, error = %e, "fetching a payment failed; will retry");
            let outage = e.is_outage() || matches!(e, MpError::NotConfigured);
            (e.to_string(), outage)
        }
    };
    let conn = env.db().connect().await?;
    let attempts = records::schedule_retry(&conn, id, &failure.0, env.clock().now()).await?;
    if attempts >= records::MAX_ATTEMPTS {
        tracing::error!(payment_id = %id, attempts, "giving up on a payment notification until it is delivered again");
    }
    Ok(Outcome::Queued { outage: failure.1 })
}

/// The tick: retries due notifications, oldest first. When Mercado Pago is down the rest wait
/// for the next tick rather than each burning a timeout.
pub async fn retry_due<E: Env>(env: &E) -> ApiResult<Value> {
    let conn = env.db().connect().await?;
    let due = records::due_notifications(&conn, env.clock().now(), TICK_BATCH).await?;
    drop(conn);
    let (mut processed, mut waiting) = (0, 0);
    for (id, delivery) in &due {
        match process(env, id, *delivery).await? {
            Outcome::Processed => processed += 1,
            Outcome::Queued { outage } => {
                waiting += 1;
                if outage {
                    break;
                }
            }
        }
    }
    if !due.is_empty() {
        tracing::info!(due = due.len(), processed, waiting, "payment notifications retried");
    }
    Ok(json!({ "due": due.len(), "processed": processed, "failed": waiting }))
}
