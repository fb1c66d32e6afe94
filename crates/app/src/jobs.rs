//! The periodic work, run by `POST /api/v1/jobs/tick` (Spin cron, the native timer, or any
//! external scheduler). Each job reports what it did.

use crate::error::{ApiError, ApiResult};
use crate::ports::Env;
use reservas_domain::secret::{bearer_token, constant_time_eq};
use serde_json::{json, Value};

/// The tick needs `Bearer <JOBS_TOKEN>`. Without a configured token (development only; the
/// configuration refuses it in production) anyone on the loopback may run it.
pub fn authorize<E: Env>(env: &E, authorization: Option<&str>) -> ApiResult<()> {
    let Some(expected) = &env.config().jobs_token else {
        return Ok(());
    };
    let presented = authorization
        .and_then(bearer_token)
        .ok_or_else(|| ApiError::Unauthorized("the jobs token is required".into()))?;
    if constant_time_eq(presented.as_bytes(), expected.as_bytes()) {
        Ok(())
    } else {
        Err(ApiError::Unauthorized("invalid jobs token".into()))
    }
}

/// Runs every job once.
pub async fn tick<E: Env>(env: &E) -> ApiResult<Value> {
    let started = env.clock().now();
    let expired = crate::booking::expire_holds(env).await?;
    if expired > 0 {
        tracing::info!(expired, "holds expired");
    }
    // Each job runs even if another failed: one broken integration must not stop expiry.
    let report = |result: ApiResult<Value>| {
        result.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "periodic job failed");
            json!({ "error": e.to_string() })
        })
    };
    Ok(json!({
        "ran_at": crate::store::ts(started),
        "expired_holds": expired,
        "payments": report(crate::payments::tick(env).await),
        "calendars": report(crate::calendars::tick(env).await),
        "backoffice": report(crate::backoffice::tick(env).await),
        "chat": report(crate::chat::tick(env).await),
    }))
}
