//! The SQL of the conversation: inbound messages (deduplicated on `wamid`), their leases,
//! and the per-guest conversation row (24-hour window, hand-off). The dialogue state itself
//! lives in the key-value store (`super::state`).

use crate::error::ApiResult;
use crate::ports::{Conn, Row, Value};
use crate::store::{self, parse_ts, ts};
use chrono::{DateTime, Duration, Utc};
use reservas_domain::whatsapp::{Content, Inbound};

/// How long a processor keeps other processors off a guest's messages.
pub const LEASE_SECONDS: i64 = 120;

/// Stores a delivery's messages. Returns the guests (numbers) with at least one message new
/// to us, in order of first appearance; redelivered messages insert nothing.
pub async fn store_delivery<C: Conn>(conn: &C, messages: &[Inbound], now: DateTime<Utc>) -> ApiResult<Vec<String>> {
    store::transaction(conn, async {
        let mut fresh: Vec<String> = Vec::new();
        for m in messages {
            let (body, media_id, mime) = match &m.content {
                Content::Text(t) => (Some(t.chars().take(4096).collect::<String>()), None, None),
                Content::Audio { media_id, mime_type } => (None, Some(media_id.clone()), mime_type.clone()),
                Content::Button { id, .. } => (Some(id.chars().take(256).collect()), None, None),
                Content::Other(kind) => (Some(kind.chars().take(64).collect()), None, None),
            };
            let sent_at = m.timestamp.and_then(|t| DateTime::from_timestamp(t, 0)).unwrap_or(now);
            let name: Option<String> = m.name.as_deref().map(|n| n.chars().take(200).collect());
            let inserted = conn
                .query(
                    "INSERT INTO whatsapp_inbox (wamid, phone, kind, body, media_id, mime_type, profile_name, sent_at, \
                     received_at, status) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'pending') \
                     ON CONFLICT (wamid) DO NOTHING RETURNING id",
                    &[
                        m.wamid.chars().take(256).collect::<String>().into(),
                        m.from.as_str().into(),
                        m.content.kind().into(),
                        body.into(),
                        media_id.into(),
                        mime.into(),
                        name.clone().into(),
                        ts(sent_at).into(),
                        ts(now).into(),
                    ],
                )
                .await?;
            if inserted.is_empty() {
                continue;
            }
            conn.execute(
                "INSERT INTO whatsapp_conversations (phone, profile_name, last_inbound_at, created_at, updated_at) \
                 VALUES (?1, ?2, ?3, ?3, ?3) ON CONFLICT (phone) DO UPDATE SET \
                 profile_name = coalesce(excluded.profile_name, profile_name), \
                 last_inbound_at = max(coalesce(last_inbound_at, ''), excluded.last_inbound_at), updated_at = excluded.updated_at",
                &[m.from.as_str().into(), name.into(), ts(now).into()],
            )
            .await?;
            if !fresh.contains(&m.from) {
                fresh.push(m.from.clone());
            }
        }
        Ok(fresh)
    })
    .await
}

/// An inbound message claimed for processing.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: i64,
    pub phone: String,
    pub kind: String,
    pub body: Option<String>,
    pub media_id: Option<String>,
    pub mime_type: Option<String>,
    pub profile_name: Option<String>,
    pub sent_at: DateTime<Utc>,
    pub attempts: i64,
}

fn claimed(row: &Row) -> ApiResult<Claimed> {
    Ok(Claimed {
        id: row.int(0)?,
        phone: row.text(1)?,
        kind: row.text(2)?,
        body: row.opt_text(3)?,
        media_id: row.opt_text(4)?,
        mime_type: row.opt_text(5)?,
        profile_name: row.opt_text(6)?,
        sent_at: parse_ts(&row.text(7)?)?,
        attempts: row.int(8)?,
    })
}

/// Claims the oldest pending message of `phone`, unless another processor holds a live lease
/// on one of that guest's messages (a guest's messages are answered one at a time, in order).
pub async fn claim_next<C: Conn>(conn: &C, phone: &str, owner: &str, now: DateTime<Utc>) -> ApiResult<Option<Claimed>> {
    let rows = conn
        .query(
            "UPDATE whatsapp_inbox SET lease_owner = ?2, lease_until = ?3, attempts = attempts + 1 \
             WHERE id = (SELECT id FROM whatsapp_inbox WHERE phone = ?1 AND status = 'pending' ORDER BY id LIMIT 1) \
             AND NOT EXISTS (SELECT 1 FROM whatsapp_inbox WHERE phone = ?1 AND status = 'pending' \
             AND lease_until > ?4 AND lease_owner <> ?2) \
             RETURNING id, phone, kind, body, media_id, mime_type, profile_name, sent_at, attempts",
            &[phone.into(), owner.into(), ts(now + Duration::seconds(LEASE_SECONDS)).into(), ts(now).into()],
        )
        .await?;
    rows.first().map(claimed).transpose()
}

/// Gives a claimed message back untouched (it waits for the tick).
pub async fn release<C: Conn>(conn: &C, id: i64, owner: &str) -> ApiResult<()> {
    conn.execute(
        "UPDATE whatsapp_inbox SET lease_owner = NULL, lease_until = NULL WHERE id = ?1 AND lease_owner = ?2",
        &[Value::Integer(id), owner.into()],
    )
    .await?;
    Ok(())
}

/// Guests with a message waiting and nobody working on it (for the tick).
pub async fn waiting_phones<C: Conn>(conn: &C, now: DateTime<Utc>, limit: i64) -> ApiResult<Vec<String>> {
    let rows = conn
        .query(
            "SELECT phone FROM whatsapp_inbox WHERE status = 'pending' GROUP BY phone \
             HAVING max(coalesce(lease_until, '')) <= ?1 ORDER BY min(id) LIMIT ?2",
            &[ts(now).into(), Value::Integer(limit)],
        )
        .await?;
    rows.iter().map(|r| Ok(r.text(0)?)).collect()
}

/// Messages still pending that arrived before `before` (for health).
pub async fn pending_since<C: Conn>(conn: &C, before: DateTime<Utc>) -> ApiResult<i64> {
    let rows = conn
        .query(
            "SELECT count(*) FROM whatsapp_inbox WHERE status = 'pending' AND received_at <= ?1",
            &[ts(before).into()],
        )
        .await?;
    Ok(rows.first().map(|r| r.int(0)).transpose()?.unwrap_or(0))
}

/// Marks a claimed message done, inside the caller's transaction. False when the lease was
/// lost (another processor took over): the caller must roll back.
pub async fn finish<C: Conn>(
    conn: &C,
    message: &Claimed,
    owner: &str,
    outcome: &str,
    transcript: Option<(&str, f64)>,
    now: DateTime<Utc>,
) -> ApiResult<bool> {
    let changed = conn
        .execute(
            "UPDATE whatsapp_inbox SET status = 'done', outcome = ?3, transcript = ?4, confidence = ?5, \
             processed_at = ?6, lease_owner = NULL, lease_until = NULL \
             WHERE id = ?1 AND lease_owner = ?2 AND status = 'pending'",
            &[
                Value::Integer(message.id),
                owner.into(),
                outcome.into(),
                transcript.map(|(t, _)| t).into(),
                transcript.map_or(Value::Null, |(_, c)| Value::Real(c)),
                ts(now).into(),
            ],
        )
        .await?;
    Ok(changed == 1)
}

/// What the database knows of a guest's conversation.
#[derive(Debug, Clone, Default)]
pub struct Conversation {
    pub handed_off: bool,
    pub profile_name: Option<String>,
}

pub async fn conversation<C: Conn>(conn: &C, phone: &str) -> ApiResult<Conversation> {
    let rows = conn
        .query("SELECT handoff_at, profile_name FROM whatsapp_conversations WHERE phone = ?1", &[phone.into()])
        .await?;
    let Some(row) = rows.first() else { return Ok(Conversation::default()) };
    Ok(Conversation { handed_off: row.opt_text(0)?.is_some(), profile_name: row.opt_text(1)? })
}

/// Records the turn on the guest's row (and raises the hand-off flag when asked), inside the
/// caller's transaction.
pub async fn save<C: Conn>(conn: &C, phone: &str, handoff: Option<&str>, now: DateTime<Utc>) -> ApiResult<()> {
    conn.execute(
        "INSERT INTO whatsapp_conversations (phone, handoff_at, handoff_reason, created_at, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?4) ON CONFLICT (phone) DO UPDATE SET \
         handoff_at = coalesce(handoff_at, excluded.handoff_at), \
         handoff_reason = coalesce(excluded.handoff_reason, handoff_reason), updated_at = excluded.updated_at",
        &[phone.into(), handoff.map(|_| ts(now)).into(), handoff.into(), ts(now).into()],
    )
    .await?;
    Ok(())
}
