//! `POST /api/v1/nlu/analyze {text, received_at?}`: the conversation's understanding of one
//! message (`reservas_domain::nlu::analyze`), exposed for tests and for other channels.

use crate::error::{ApiError, ApiResult};
use crate::http::{Request, Response};
use crate::input::JsonBody;
use crate::ports::Env;
use chrono::{DateTime, Utc};
use reservas_domain::nlu;
use serde_json::json;

/// WhatsApp's own limit on a text message.
const MAX_TEXT_CHARS: usize = 4096;

fn received_at(body: &JsonBody) -> ApiResult<Option<DateTime<Utc>>> {
    let Some(text) = body.optional_str("received_at")? else {
        return Ok(None);
    };
    DateTime::parse_from_rfc3339(text.trim())
        .map(|t| Some(t.with_timezone(&Utc)))
        .map_err(|_| ApiError::Validation("received_at must be an RFC 3339 time".into()))
}

/// Parses the request, analyzes the text, answers the analysis (null fields: not understood).
pub async fn endpoint<E: Env>(env: &E, req: &Request) -> ApiResult<Response> {
    let body = JsonBody::parse(&req.body)?;
    let text = body.required_str("text")?;
    if text.trim().is_empty() {
        return Err(ApiError::Validation("text must not be empty".into()));
    }
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(ApiError::Validation(format!("text is longer than {MAX_TEXT_CHARS} characters")));
    }
    let at = received_at(&body)?.unwrap_or_else(|| env.clock().now());
    let a = nlu::analyze(text, at);
    Ok(Response::json(
        200,
        &json!({
            "intent": a.intent,
            "check_in": a.check_in,
            "check_out": a.check_out,
            "guests": a.guests,
            "confidence": a.confidence,
            "nights": a.nights,
            "service": a.service,
            "services": a.services,
            "also": a.also,
            "notes": a.notes,
            "received_at": at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        }),
    ))
}
