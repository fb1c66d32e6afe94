//! The Mercado Pago API over the outbound HTTP port: create a Checkout Pro preference, fetch a
//! payment. Every call has a short timeout and a response cap; failures are values, never
//! panics, and the callers decide what they mean (retry later, answer without a link).

use crate::ports::{Env, Http, HttpError, OutboundRequest, OutboundResponse};
use reservas_domain::mercadopago::{PaymentId, PaymentSnapshot};
use serde_json::Value;
use std::time::Duration;

/// A guest waits for the hold's answer while its link is created: a slow Mercado Pago costs
/// the link (fetched again later), never the hold.
pub const PREFERENCE_TIMEOUT: Duration = Duration::from_secs(3);
/// Mercado Pago waits 22 s for the webhook's answer; the fetch must fit well inside it.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(8);
const MAX_RESPONSE_BYTES: usize = 512 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum MpError {
    #[error("Mercado Pago is not configured (MERCADOPAGO_ACCESS_TOKEN)")]
    NotConfigured,
    #[error("Mercado Pago unreachable: {0}")]
    Unreachable(HttpError),
    #[error("Mercado Pago answered {status}: {body}")]
    Status { status: u16, body: String },
    #[error("Mercado Pago answered something unusable: {0}")]
    Invalid(String),
}

impl MpError {
    /// Whether Mercado Pago itself is failing (down, slow, 5xx, throttling), as opposed to
    /// refusing this one request.
    pub fn is_outage(&self) -> bool {
        match self {
            MpError::Unreachable(_) => true,
            MpError::Status { status, .. } => *status >= 500 || *status == 429,
            MpError::NotConfigured | MpError::Invalid(_) => false,
        }
    }
}

/// A created preference: its id and the checkout link for the guest.
#[derive(Debug, Clone)]
pub struct Preference {
    pub id: String,
    pub init_point: String,
}

fn token<E: Env>(env: &E) -> Result<&str, MpError> {
    env.config().mercadopago_access_token.as_deref().ok_or(MpError::NotConfigured)
}

fn url<E: Env>(env: &E, path: &str) -> String {
    format!("{}{path}", env.config().mercadopago_api_base.trim_end_matches('/'))
}

fn snippet(body: &[u8]) -> String {
    String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned()
}

async fn send<E: Env>(env: &E, request: OutboundRequest) -> Result<Value, MpError> {
    let response: OutboundResponse = env.http().send(request).await.map_err(MpError::Unreachable)?;
    if !response.is_success() {
        return Err(MpError::Status { status: response.status, body: snippet(&response.body) });
    }
    response.json().ok_or_else(|| MpError::Invalid(format!("not JSON: {}", snippet(&response.body))))
}

/// `POST /checkout/preferences`. The idempotency key makes a retried creation return the first
/// preference instead of a second one.
pub async fn create_preference<E: Env>(env: &E, body: &Value, idempotency_key: &str) -> Result<Preference, MpError> {
    let request = OutboundRequest::new("POST", url(env, "/checkout/preferences"))
        .bearer(token(env)?)
        .header("x-idempotency-key", idempotency_key)
        .json(body)
        .timeout(PREFERENCE_TIMEOUT)
        .max_response_bytes(MAX_RESPONSE_BYTES);
    let json = send(env, request).await?;
    let field = |name: &str| json.get(name).and_then(Value::as_str).filter(|v| !v.is_empty()).map(str::to_owned);
    let id = field("id").ok_or_else(|| MpError::Invalid("preference without id".into()))?;
    let init_point = field("init_point")
        .filter(|link| link.starts_with("https://") || link.starts_with("http://"))
        .ok_or_else(|| MpError::Invalid("preference without init_point".into()))?;
    Ok(Preference { id, init_point })
}

/// `GET /v1/payments/{id}`: the payment's real state (a notification carries none), with the
/// raw JSON kept for the money trail.
pub async fn fetch_payment<E: Env>(env: &E, id: &PaymentId) -> Result<(PaymentSnapshot, Value), MpError> {
    let request = OutboundRequest::new("GET", url(env, &format!("/v1/payments/{id}")))
        .bearer(token(env)?)
        .timeout(FETCH_TIMEOUT)
        .max_response_bytes(MAX_RESPONSE_BYTES);
    let json = send(env, request).await?;
    let snapshot = PaymentSnapshot::from_json(id, &json).map_err(|e| MpError::Invalid(e.to_string()))?;
    Ok((snapshot, json))
}
