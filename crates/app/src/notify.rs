//! What the guest is told, queued in the transaction of the event that causes it (the outbox
//! of the back office delivers it later, with retries). Every booking event passes through
//! [`queue`], so no message depends on a request surviving past its commit.

use crate::error::ApiResult;
use crate::ports::{Conn, Value};
use crate::store::ts;
use chrono::{DateTime, Utc};
use reservas_domain::outbox::MessageKind;

/// Queues the messages for `event` about reservation `reservation_id`. Call it inside the
/// transaction that records the event: the message commits with the event or not at all.
pub async fn queue<C: Conn>(conn: &C, reservation_id: i64, event: MessageKind, now: DateTime<Utc>) -> ApiResult<()> {
    queue_all(conn, reservation_id, event, now).await.map(|_| ())
}

/// Every channel's message for `kind`: the email (see [`queue_messages`]) and, for a
/// reservation made on WhatsApp, the WhatsApp message (see [`crate::chat::outbound::queue_event`]).
pub async fn queue_all<C: Conn>(
    conn: &C,
    reservation_id: i64,
    kind: MessageKind,
    now: DateTime<Utc>,
) -> ApiResult<Vec<Queued>> {
    let mut queued = queue_messages(conn, reservation_id, kind, now, None).await?;
    queued.extend(crate::chat::outbound::queue_event(conn, reservation_id, kind, now).await?);
    Ok(queued)
}

/// A message just written to the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queued {
    pub id: i64,
    pub channel: &'static str,
}

/// Writes one outbox row per channel the guest can be reached on (email today; WhatsApp
/// joins with the conversation) and returns them; none when the reservation has no contact
/// for any channel. `requested_by` names the admin when the message is a resend.
pub async fn queue_messages<C: Conn>(
    conn: &C,
    reservation_id: i64,
    kind: MessageKind,
    now: DateTime<Utc>,
    requested_by: Option<&str>,
) -> ApiResult<Vec<Queued>> {
    let rows =
        conn.query("SELECT contact_email FROM reservations WHERE id = ?1", &[Value::Integer(reservation_id)]).await?;
    let Some(email) = rows.first().map(|r| r.opt_text(0)).transpose()?.flatten().filter(|e| !e.trim().is_empty())
    else {
        return Ok(Vec::new());
    };
    let key = format!("reservas-{}", crate::random::hex_id());
    let inserted = conn
        .query(
            "INSERT INTO outbox (reservation_id, channel, kind, recipient, idempotency_key, status, attempts, \
             next_attempt_at, requested_by, created_at) VALUES (?1, 'email', ?2, ?3, ?4, 'pending', 0, ?5, ?6, ?5) \
             RETURNING id",
            &[
                Value::Integer(reservation_id),
                kind.as_str().into(),
                email.into(),
                key.into(),
                ts(now).into(),
                requested_by.into(),
            ],
        )
        .await?;
    let id = inserted.first().ok_or_else(|| anyhow::anyhow!("outbox insert returned no id"))?.int(0)?;
    Ok(vec![Queued { id, channel: "email" }])
}
