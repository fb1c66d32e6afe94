//! The payment link of a hold: a Checkout Pro preference for the deposit, created once per
//! reservation (stored, reused, and sent with an idempotency key derived from the code).

use super::api::{self, MpError};
use super::records;
use crate::booking;
use crate::error::{ApiError, ApiResult};
use crate::http::Response;
use crate::ports::{Db, Env};
use crate::store::{self, ts, Reservation};
use chrono::{DateTime, FixedOffset, Utc};
use reservas_domain::{ReservationCode, Status};
use serde_json::{json, Value};

/// The webhook's path, for `notification_url`.
const WEBHOOK_PATH: &str = "/api/v1/mercadopago/webhook";

/// A stored link.
#[derive(Debug, Clone)]
pub struct Link {
    pub preference_id: String,
    pub init_point: String,
}

#[derive(Debug, thiserror::Error)]
enum LinkError {
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error(transparent)]
    MercadoPago(#[from] MpError),
}

/// The payment link for a hold that has just been created, when Mercado Pago is configured
/// and answers within [`api::PREFERENCE_TIMEOUT`]. Any failure leaves the hold as it is, without
/// a link: `GET /reservations/{code}/payment-link` creates it later.
pub async fn attach_payment_link<E: Env>(env: &E, code: &ReservationCode) -> Option<String> {
    env.config().mercadopago_access_token.as_ref()?;
    match ensure_link(env, code).await {
        Ok((link, _)) => Some(link.init_point),
        Err(e) => {
            tracing::warn!(code = %code, error = %e, "hold created without a payment link");
            None
        }
    }
}

/// `GET /api/v1/reservations/{code}/payment-link`.
pub async fn get<E: Env>(env: &E, code: &str) -> ApiResult<Response> {
    if env.config().mercadopago_access_token.is_none() {
        return Err(ApiError::NotFound("online payment is not configured".into()));
    }
    let code = booking::parse_code(code)?;
    match ensure_link(env, &code).await {
        Ok((link, r)) => Ok(Response::json(
            200,
            &json!({
                "code": r.code,
                "payment_url": link.init_point,
                "preference_id": link.preference_id,
                "deposit_amount": r.deposit,
                "expires_at": r.expires_at.map(ts),
            }),
        )),
        Err(LinkError::Api(e)) => Err(e),
        Err(LinkError::MercadoPago(e)) => {
            tracing::warn!(code = %code, error = %e, "payment link not created");
            Ok(Response::json(
                503,
                &json!({
                    "error": "service_unavailable",
                    "detail": "Mercado Pago did not answer; try again in a moment",
                }),
            ))
        }
    }
}

/// The stored link of a live hold, or a new one created and stored.
async fn ensure_link<E: Env>(env: &E, code: &ReservationCode) -> Result<(Link, Reservation), LinkError> {
    let conn = env.db().connect().await.map_err(ApiError::from)?;
    let now = env.clock().now();
    let r = store::find_reservation(&conn, code)
        .await?
        .ok_or_else(|| ApiError::NotFound("reservation not found".into()))?;
    match r.status_at(now) {
        Status::PreReserved => {}
        Status::Expired => return Err(ApiError::Expired.into()),
        other => return Err(ApiError::InvalidState(format!("the reservation is {}", other.as_str())).into()),
    }
    if let Some((preference_id, init_point)) = records::find_link(&conn, r.id).await? {
        return Ok((Link { preference_id, init_point }, r));
    }
    let accommodation = store::find_accommodation(&conn, r.accommodation_id).await?;
    let name = accommodation.map(|a| a.name).unwrap_or_else(|| "Alojamiento".into());
    let body = preference_body(&env.config().base_url, &r, &name, now);
    let preference = api::create_preference(env, &body, &idempotency_key(code)).await?;
    records::save_link(&conn, r.id, &preference.id, &preference.init_point, now).await?;
    // Two creations may race: the first stored wins, and both answer with it.
    let (preference_id, init_point) =
        records::find_link(&conn, r.id).await?.unwrap_or((preference.id, preference.init_point));
    tracing::info!(code = %code, preference_id = %preference_id, "payment link created");
    Ok((Link { preference_id, init_point }, r))
}

/// One key per reservation: a retried creation returns the first preference.
pub fn idempotency_key(code: &ReservationCode) -> String {
    format!("reservas-preference-{code}")
}

/// Times as Mercado Pago's examples write them: milliseconds and Argentina's offset.
fn mp_time(t: DateTime<Utc>) -> String {
    let argentina = FixedOffset::west_opt(3 * 3600).expect("a valid offset");
    t.with_timezone(&argentina).format("%Y-%m-%dT%H:%M:%S%.3f%:z").to_string()
}

/// The Checkout Pro preference of a hold's deposit. Mercado Pago only accepts public HTTPS
/// URLs for `notification_url` and `back_urls`: with a plain-HTTP `BASE_URL` (development) they
/// are left out and the webhook is configured in Mercado Pago's panel instead.
pub fn preference_body(base_url: &str, r: &Reservation, accommodation: &str, now: DateTime<Utc>) -> Value {
    // Deposits are whole pesos; a JSON number is what the API takes.
    let unit_price = if r.deposit.0 % 100 == 0 { json!(r.deposit.0 / 100) } else { json!(r.deposit.0 as f64 / 100.0) };
    let title = format!("Seña {accommodation}, {} al {}", r.stay.check_in(), r.stay.check_out());
    let mut body = json!({
        "items": [{
            "id": r.code,
            "title": title.chars().take(250).collect::<String>(),
            "description": format!("Reserva {}: {} noches", r.code, r.stay.nights()),
            "quantity": 1,
            "unit_price": unit_price,
            "currency_id": "ARS",
        }],
        "external_reference": r.code,
        "expires": true,
        "expiration_date_from": mp_time(now),
        "expiration_date_to": r.expires_at.map(mp_time),
        "metadata": { "reservation_code": r.code },
    });
    if base_url.starts_with("https://") {
        body["notification_url"] = json!(format!("{base_url}{WEBHOOK_PATH}"));
        let back = format!("{base_url}/api/v1/reservations/{}", r.code);
        body["back_urls"] = json!({ "success": back, "pending": back, "failure": back });
    }
    body
}
