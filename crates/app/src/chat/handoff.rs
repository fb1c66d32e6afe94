//! Conversations handed to a human: the admin's listing and the release that gives the
//! conversation back to the bot.

use crate::error::{ApiError, ApiResult};
use crate::paging::Page;
use crate::ports::{Conn, Row, Value};
use crate::store::ts;
use chrono::{DateTime, Utc};
use serde_json::{json, Value as Json};

fn view(row: &Row) -> ApiResult<Json> {
    Ok(json!({
        // The admin writes back to the guest: the full number is theirs to see.
        "phone": row.text(0)?,
        "name": row.opt_text(1)?,
        "flagged_at": row.opt_text(2)?,
        "reason": row.opt_text(3)?,
        "last_inbound_at": row.opt_text(4)?,
        "last_message": row.opt_text(5)?,
        "messages_waiting": row.int(6)?,
    }))
}

/// `GET /admin/conversations`: flagged conversations, oldest flag first (the longest
/// waiting guest on top), paginated.
pub async fn list<C: Conn>(conn: &C, query: &[(String, String)]) -> ApiResult<Json> {
    let page = Page::parse(query)?;
    let total = conn.query("SELECT count(*) FROM whatsapp_conversations WHERE handoff_at IS NOT NULL", &[]).await?;
    let total = total.first().map(|r| r.int(0)).transpose()?.unwrap_or(0);
    let rows = conn
        .query(
            "SELECT c.phone, c.profile_name, c.handoff_at, c.handoff_reason, c.last_inbound_at, \
             (SELECT coalesce(i.transcript, i.body) FROM whatsapp_inbox i WHERE i.phone = c.phone \
              AND i.kind IN ('text', 'audio') ORDER BY i.id DESC LIMIT 1), \
             (SELECT count(*) FROM whatsapp_inbox i WHERE i.phone = c.phone AND i.outcome = 'silenced' \
              AND i.received_at >= c.handoff_at) \
             FROM whatsapp_conversations c WHERE c.handoff_at IS NOT NULL ORDER BY c.handoff_at, c.phone \
             LIMIT ?1 OFFSET ?2",
            &[Value::Integer(page.limit), Value::Integer(page.offset)],
        )
        .await?;
    let items = rows.iter().map(view).collect::<ApiResult<Vec<_>>>()?;
    Ok(page.respond(items, total))
}

/// `POST /admin/actions/release-conversation/{phone}`: the bot answers this guest again,
/// starting from a clean state.
pub async fn release<C: Conn>(conn: &C, phone: &str, admin: &str, now: DateTime<Utc>) -> ApiResult<Json> {
    let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
    if digits.len() < 6 || digits.len() > 20 || phone.chars().any(|c| !(c.is_ascii_digit() || "+ -".contains(c))) {
        return Err(ApiError::NotFound("no conversation with that number".into()));
    }
    let released = conn
        .query(
            "UPDATE whatsapp_conversations SET handoff_at = NULL, handoff_reason = NULL, released_at = ?2, \
             released_by = ?3, updated_at = ?2 \
             WHERE phone = ?1 AND handoff_at IS NOT NULL RETURNING phone",
            &[digits.as_str().into(), ts(now).into(), admin.into()],
        )
        .await?;
    if released.is_empty() {
        let known =
            conn.query("SELECT 1 FROM whatsapp_conversations WHERE phone = ?1", &[digits.as_str().into()]).await?;
        return Err(if known.is_empty() {
            ApiError::NotFound("no conversation with that number".into())
        } else {
            ApiError::InvalidState("the conversation is not waiting for a person".into())
        });
    }
    tracing::info!(by = %admin, "conversation released to the bot");
    Ok(json!({ "phone": digits, "status": "released", "released_at": ts(now) }))
}
