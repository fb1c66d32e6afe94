//! Mercado Pago deposits (issue 3): the payment link of a hold, the webhook, the payment
//! records and what they do to reservations, the tick's retries, the admin's listing.
//!
//! - [`link`]: a Checkout Pro preference per hold, created at pre-reserve (short timeout) or
//!   on demand, stored and reused.
//! - [`webhook`]: signature, notification form, store-then-fetch; retries from the tick.
//! - [`apply`]: one transaction per fetched snapshot; forward-only states, effects once.
//! - [`records`]: the SQL.

pub mod api;
pub mod apply;
pub mod link;
pub mod records;
pub mod webhook;

pub use link::attach_payment_link;
pub use records::{add_flag, flags_of};

use crate::error::{ApiError, ApiResult};
use crate::http::{Request, Response};
use crate::observe::{self, Level};
use crate::paging::Page;
use crate::ports::{Db, Env};
use crate::routes::Endpoint;
use records::{PaymentLine, RESOLUTIONS};
use reservas_domain::mercadopago::PAYMENT_STATUSES;
use serde_json::{json, Value};

/// Serves this module's endpoints (see `routes::ROUTES`).
pub async fn dispatch<E: Env>(env: &E, req: &Request, endpoint: Endpoint, params: &[String]) -> ApiResult<Response> {
    let param = params.first().map(String::as_str).unwrap_or_default();
    match endpoint {
        Endpoint::MercadoPagoWebhook => webhook::handle(env, req).await,
        Endpoint::PaymentLink => link::get(env, param).await,
        Endpoint::AdminPayments => {
            crate::admin::admin_claims(env, req.header("authorization"))?;
            Ok(Response::json(200, &list(env, &req.query_pairs()).await?))
        }
        other => Err(ApiError::NotFound(format!("{other:?} is not a payments route"))),
    }
}

/// This module's part of the periodic tick: retries notifications whose fetch failed.
pub async fn tick<E: Env>(env: &E) -> ApiResult<Value> {
    webhook::retry_due(env).await
}

/// Not configured without an access token; degraded when the webhook is unsigned (no secret)
/// or notifications are waiting because Mercado Pago's API failed.
pub async fn health<E: Env>(env: &E) -> (Level, Value) {
    let config = env.config();
    if config.mercadopago_access_token.is_none() {
        return observe::not_configured("Mercado Pago");
    }
    let mut level = Level::Healthy;
    let mut details = Vec::new();
    if config.mercadopago_webhook_secret.is_some() {
        details.push("signed".to_owned());
    } else {
        level = Level::Degraded;
        details.push("webhook unsigned: MERCADOPAGO_WEBHOOK_SECRET not set".to_owned());
    }
    let counts = match env.db().connect().await {
        Ok(conn) => records::waiting_notifications(&conn).await,
        Err(e) => Err(e.into()),
    };
    let (waiting, abandoned) = match counts {
        Ok(counts) => counts,
        Err(e) => {
            details.push(format!("cannot read notifications: {e}"));
            return with_counts(observe::check(Level::Degraded, details.join("; ")), None);
        }
    };
    if waiting > 0 {
        level = Level::Degraded;
        details.push(format!("{waiting} notification(s) waiting for retry"));
    }
    if abandoned > 0 {
        level = Level::Degraded;
        details.push(format!("{abandoned} notification(s) given up until Mercado Pago sends them again"));
    }
    with_counts(observe::check(level, details.join("; ")), Some((waiting, abandoned)))
}

fn with_counts((level, mut body): (Level, Value), counts: Option<(i64, i64)>) -> (Level, Value) {
    if let Some((waiting, abandoned)) = counts {
        body["notifications_waiting"] = json!(waiting);
        body["notifications_given_up"] = json!(abandoned);
    }
    (level, body)
}

fn line_view(p: PaymentLine) -> Value {
    json!({
        "payment_id": p.payment_id,
        "status": p.status,
        "status_detail": p.status_detail,
        "resolution": p.resolution,
        "amount": p.amount,
        "currency": p.currency,
        "external_reference": p.external_reference,
        "reservation_code": p.reservation_code,
        "reservation_status": p.reservation_status,
        "date_created": p.date_created,
        "date_approved": p.date_approved,
        "date_last_updated": p.date_last_updated,
        "received_at": p.received_at,
        "updated_at": p.updated_at,
    })
}

/// `GET /api/v1/admin/payments?status=`: `status` is a Mercado Pago status (`approved`, ...)
/// or a resolution (`needs_refund`, `orphan`, `partial`, ...).
async fn list<E: Env>(env: &E, query: &[(String, String)]) -> ApiResult<Value> {
    let page = Page::parse(query)?;
    let status = query.iter().find(|(k, _)| k == "status").map(|(_, v)| v.trim()).filter(|v| !v.is_empty());
    if let Some(s) = status {
        let known = PAYMENT_STATUSES.iter().map(|p| p.as_str()).chain(RESOLUTIONS.iter().map(|r| r.as_str()));
        if !known.clone().any(|k| k == s) {
            let names: Vec<&str> = known.collect();
            return Err(ApiError::Validation(format!("status must be one of {}", names.join(", "))));
        }
    }
    let conn = env.db().connect().await?;
    let (lines, total) = records::list_payments(&conn, status, page.limit, page.offset).await?;
    Ok(page.respond(lines.into_iter().map(line_view).collect(), total))
}
