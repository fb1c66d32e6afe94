//! The WhatsApp conversation: webhook, understanding (NLU), voice notes, the booking flow
//! (issue 6).

use crate::error::{ApiError, ApiResult};
use crate::http::{Request, Response};
use crate::ports::Env;
use crate::routes::Endpoint;
use serde_json::{json, Value};

/// Serves this module's endpoints (see `routes::ROUTES`).
pub async fn dispatch<E: Env>(env: &E, req: &Request, endpoint: Endpoint, params: &[String]) -> ApiResult<Response> {
    let _ = (env, req, params);
    Err(ApiError::NotFound(format!("{endpoint:?} is not built yet")))
}

/// This module's part of the periodic tick: what it did.
pub async fn tick<E: Env>(env: &E) -> ApiResult<Value> {
    let _ = env;
    Ok(json!({}))
}

/// This module's health check: (level, detail JSON).
pub async fn health<E: Env>(env: &E) -> (crate::observe::Level, Value) {
    let _ = env;
    crate::observe::not_configured("WhatsApp")
}
