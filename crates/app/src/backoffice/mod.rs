//! Back office: admin listings, CSV export, outbox and email (issue 5).

pub mod email;
pub mod listing;
pub mod login_limit;
pub mod outbox;

use crate::admin::admin_claims;
use crate::error::{ApiError, ApiResult};
use crate::http::{Request, Response};
use crate::observe::{check, not_configured, Level};
use crate::ports::{Db, Env};
use crate::routes::Endpoint;
use chrono::Duration;
use reservas_domain::auth::Claims;
use serde_json::{json, Value};

/// A message waiting longer than this means delivery is not keeping up (or the provider is
/// down): health turns degraded.
const STUCK_AFTER_MINUTES: i64 = 15;
/// Dead letters this recent keep health degraded; older ones are history the admin has seen
/// in the outbox listing.
const DEAD_LETTER_HOURS: i64 = 24;

/// Actions under `/admin/actions/*` also need `x-csrf-token` equal to the CSRF token of the
/// very session whose Bearer token came with the request.
pub(crate) fn require_csrf<E: Env>(env: &E, req: &Request, claims: &Claims) -> ApiResult<()> {
    let presented = req
        .header("x-csrf-token")
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::Forbidden("this action needs the x-csrf-token header of your session".into()))?;
    if claims.csrf_matches(env.config().jwt_secret.as_bytes(), presented) {
        Ok(())
    } else {
        Err(ApiError::Forbidden("the x-csrf-token does not belong to this session".into()))
    }
}

fn csv_response(body: String, now: chrono::DateTime<chrono::Utc>) -> Response {
    let mut response = Response::text(200, "text/csv; charset=utf-8; header=present", body);
    let name = format!("reservas-{}.csv", now.format("%Y%m%d-%H%M%S"));
    response.headers.push(("content-disposition".into(), format!("attachment; filename=\"{name}\"")));
    // Guests' contact details: no shared cache may keep them.
    response.headers.push(("cache-control".into(), "no-store".into()));
    response
}

/// Serves this module's endpoints (see `routes::ROUTES`). Every one needs an admin Bearer
/// token; actions also need the session's CSRF token.
pub async fn dispatch<E: Env>(env: &E, req: &Request, endpoint: Endpoint, params: &[String]) -> ApiResult<Response> {
    let claims = admin_claims(env, req.header("authorization"))?;
    let param = params.first().map(String::as_str).unwrap_or_default();
    let now = env.clock().now();
    let query = req.query_pairs();
    let json = |status: u16, value: Value| Ok(Response::json(status, &value));
    match endpoint {
        Endpoint::AdminReservations => json(200, listing::list(&env.db().connect().await?, &query, now).await?),
        Endpoint::AdminReservation => json(200, listing::get(&env.db().connect().await?, param, now).await?),
        Endpoint::ExportReservationsCsv => {
            let body = listing::export_csv(&env.db().connect().await?, &query, now).await?;
            Ok(csv_response(body, now))
        }
        Endpoint::ResendEmail => {
            require_csrf(env, req, &claims)?;
            json(202, outbox::resend(env, param, &claims.sub).await?)
        }
        Endpoint::AdminOutbox => json(200, outbox::list(&env.db().connect().await?, &query).await?),
        other => Err(ApiError::NotFound(format!("{other:?} is not a back-office endpoint"))),
    }
}

/// This module's part of the periodic tick: queue due reminders, deliver due messages,
/// forget old login failures. Each part runs even if another failed.
pub async fn tick<E: Env>(env: &E) -> ApiResult<Value> {
    let report = |result: ApiResult<Value>| {
        result.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "back-office job failed");
            json!({ "error": e.to_string() })
        })
    };
    let reminders = report(outbox::queue_reminders(env).await.map(|n| json!(n)));
    let email = report(outbox::deliver_email(env).await.map(|delivery| match delivery {
        None => json!("not_configured"),
        Some(d) => json!({ "sent": d.sent, "retrying": d.retrying, "dead": d.dead }),
    }));
    let pruned =
        report(async { Ok(json!(login_limit::prune(&env.db().connect().await?, env.clock().now()).await?)) }.await);
    Ok(json!({ "reminders_queued": reminders, "email": email, "login_failures_pruned": pruned }))
}

/// This module's health check: (level, detail JSON). `not_configured` without
/// `EMAIL_API_URL`; degraded with recent dead letters or messages waiting too long.
pub async fn health<E: Env>(env: &E) -> (Level, Value) {
    let figures = async {
        let conn = env.db().connect().await?;
        outbox::health_figures(
            &conn,
            env.clock().now(),
            Duration::minutes(STUCK_AFTER_MINUTES),
            Duration::hours(DEAD_LETTER_HOURS),
        )
        .await
    }
    .await;
    let (pending, stuck, dead) = match figures {
        Ok(f) => f,
        Err(e) => return check(Level::Degraded, format!("cannot read the outbox: {e}")),
    };
    if env.config().email_api_url.is_none() {
        let (level, mut value) = not_configured("email");
        if pending > 0 {
            value["detail"] = json!(format!("EMAIL_API_URL is not set; {pending} messages wait in the outbox"));
        }
        return (level, value);
    }
    if dead > 0 {
        check(Level::Degraded, format!("{dead} dead letters in the last {DEAD_LETTER_HOURS} h; {pending} pending"))
    } else if stuck > 0 {
        check(Level::Degraded, format!("{stuck} messages waiting more than {STUCK_AFTER_MINUTES} minutes"))
    } else {
        check(Level::Healthy, format!("{pending} pending"))
    }
}
