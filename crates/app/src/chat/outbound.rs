//! WhatsApp messages out: queued in the outbox (channel `whatsapp`) in the transaction that
//! decides them, delivered to the Graph API under a lease like email (the tick retries with
//! backoff), right away for a conversation's fresh replies, and never outside Meta's 24-hour
//! window (we have no approved templates: such a message is a dead letter the admin sees).

pub use crate::backoffice::outbox::Delivery;
use crate::backoffice::outbox::{claim_due, Attempt, Sent};
use crate::error::ApiResult;
use crate::notify::Queued;
use crate::ports::{Conn, Db, Env, Http, OutboundRequest, Row, Value};
use crate::store::{parse_ts, ts};
use chrono::{DateTime, Duration as Span, NaiveDate, Utc};
use reservas_domain::outbox::{verdict, MessageKind, ProviderVerdict};
use reservas_domain::whatsapp::{mask_phone, message_body, Button};
use reservas_domain::Cents;
use std::time::Duration;

pub const CHANNEL: &str = "whatsapp";
/// The outbox kind of a conversation reply (booking events use their `MessageKind`).
pub const REPLY_KIND: &str = "reply";
/// The tick's timeout per message.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// Meta's customer-service window after the guest's last message.
pub const WINDOW_HOURS: i64 = 24;
const LEASE_SECONDS: i64 = 120;
const BATCH: i64 = 20;
pub const MAX_BATCHES: usize = 10;
const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// Where and as whom messages go out.
#[derive(Debug, Clone)]
pub struct Settings {
    pub url: String,
    pub token: String,
}

impl Settings {
    /// `None` without `WHATSAPP_ACCESS_TOKEN` or `WHATSAPP_PHONE_ID`: messages then wait.
    pub fn from_config(config: &crate::Config) -> Option<Settings> {
        let token = config.whatsapp_access_token.clone()?;
        let phone_id = config.whatsapp_phone_id.as_deref()?;
        let base = config.whatsapp_api_base.trim_end_matches('/');
        Some(Settings { url: format!("{base}/{phone_id}/messages"), token })
    }
}

/// Whether a booking event is told on WhatsApp. The hold itself is announced by the
/// conversation (with its payment link), and a payment by the confirmation that follows.
fn told_on_whatsapp(kind: MessageKind) -> bool {
    matches!(kind, MessageKind::Confirmed | MessageKind::ExpiryReminder | MessageKind::Expired | MessageKind::Cancelled)
}

/// Queues the WhatsApp message of a booking event for a reservation made on WhatsApp (inside
/// the event's transaction; see `notify`). Its text is rendered at the first attempt.
pub async fn queue_event<C: Conn>(
    conn: &C,
    reservation_id: i64,
    kind: MessageKind,
    now: DateTime<Utc>,
) -> ApiResult<Vec<Queued>> {
    if !told_on_whatsapp(kind) {
        return Ok(Vec::new());
    }
    let rows = conn
        .query("SELECT channel, contact_phone FROM reservations WHERE id = ?1", &[Value::Integer(reservation_id)])
        .await?;
    let Some(row) = rows.first() else { return Ok(Vec::new()) };
    if row.text(0)? != CHANNEL {
        return Ok(Vec::new());
    }
    let phone: String = row.opt_text(1)?.unwrap_or_default().chars().filter(char::is_ascii_digit).collect();
    if phone.is_empty() {
        return Ok(Vec::new());
    }
    let key = format!("reservas-wa-{}", crate::random::hex_id());
    let id = insert(conn, Some(reservation_id), kind.as_str(), &phone, &key, None, now).await?;
    Ok(vec![Queued { id, channel: CHANNEL }])
}

/// Queues reply number `n` to inbox message `inbox_id` (the key makes a second queueing of
/// the same reply impossible).
pub async fn queue_reply<C: Conn>(
    conn: &C,
    phone: &str,
    inbox_id: i64,
    n: usize,
    text: &str,
    buttons: &[Button],
    now: DateTime<Utc>,
) -> ApiResult<i64> {
    let payload = message_body(phone, text, buttons).to_string();
    let key = format!("wa-reply-{inbox_id}-{n}");
    insert(conn, None, REPLY_KIND, phone, &key, Some(&payload), now).await
}

async fn insert<C: Conn>(
    conn: &C,
    reservation_id: Option<i64>,
    kind: &str,
    phone: &str,
    key: &str,
    payload: Option<&str>,
    now: DateTime<Utc>,
) -> ApiResult<i64> {
    let rows = conn
        .query(
            "INSERT INTO outbox (reservation_id, channel, kind, recipient, idempotency_key, status, attempts, \
             next_attempt_at, body_text, created_at) VALUES (?1, 'whatsapp', ?2, ?3, ?4, 'pending', 0, ?5, ?6, ?5) \
             RETURNING id",
            &[reservation_id.into(), kind.into(), phone.into(), key.into(), ts(now).into(), payload.into()],
        )
        .await?;
    Ok(rows.first().ok_or_else(|| anyhow::anyhow!("outbox insert returned no id"))?.int(0)?)
}

/// Replies queued to `phone` since `since` (the per-guest rate limit).
pub async fn replies_since<C: Conn>(conn: &C, phone: &str, since: DateTime<Utc>) -> ApiResult<i64> {
    let rows = conn
        .query(
            "SELECT count(*) FROM outbox WHERE channel = 'whatsapp' AND recipient = ?1 AND kind = 'reply' \
             AND created_at > ?2",
            &[phone.into(), ts(since).into()],
        )
        .await?;
    Ok(rows.first().map(|r| r.int(0)).transpose()?.unwrap_or(0))
}

struct Claimed {
    id: i64,
    reservation_id: Option<i64>,
    kind: String,
    recipient: String,
    attempts: u32,
    payload: Option<String>,
}

impl Claimed {
    fn attempt<'a>(&'a self, owner: &'a str) -> Attempt<'a> {
        Attempt { id: self.id, channel: CHANNEL, attempts: self.attempts, owner }
    }
}

fn claimed(row: &Row) -> Result<Claimed, crate::ports::DbError> {
    Ok(Claimed {
        id: row.int(0)?,
        reservation_id: row.opt_int(1)?,
        kind: row.text(2)?,
        recipient: row.text(3)?,
        attempts: u32::try_from(row.int(4)?).unwrap_or(u32::MAX),
        payload: row.opt_text(5)?,
    })
}

/// Claims due WhatsApp messages (of one guest when `recipient` is given) under a lease.
async fn claim<C: Conn>(conn: &C, recipient: Option<&str>, owner: &str, now: DateTime<Utc>) -> ApiResult<Vec<Claimed>> {
    let returning = "id, reservation_id, kind, recipient, attempts, body_text";
    let lease = Span::seconds(LEASE_SECONDS);
    let rows = claim_due(conn, CHANNEL, recipient, owner, lease, BATCH, returning, now).await?;
    Ok(rows.iter().map(claimed).collect::<Result<_, _>>()?)
}

/// The text of a booking event's message, from the reservation as it is now.
async fn render<C: Conn>(conn: &C, message: &Claimed) -> ApiResult<Option<String>> {
    let kind = MessageKind::parse(&message.kind)
        .ok_or_else(|| anyhow::anyhow!("whatsapp message {} has unknown kind {:?}", message.id, message.kind))?;
    let reservation_id = message
        .reservation_id
        .ok_or_else(|| anyhow::anyhow!("whatsapp message {} names no reservation", message.id))?;
    let rows = conn
        .query(
            "SELECT r.code, a.name, r.check_in, r.check_out, r.deposit_cents, r.expires_at \
             FROM reservations r LEFT JOIN accommodations a ON a.id = r.accommodation_id WHERE r.id = ?1",
            &[Value::Integer(reservation_id)],
        )
        .await?;
    let row = rows.first().ok_or_else(|| anyhow::anyhow!("reservation {reservation_id} is gone"))?;
    let date = |i: usize| -> ApiResult<NaiveDate> {
        let text = row.text(i)?;
        NaiveDate::parse_from_str(&text, "%Y-%m-%d").map_err(|e| anyhow::anyhow!("date {text:?}: {e}").into())
    };
    let link = if kind == MessageKind::ExpiryReminder {
        crate::payments::records::find_link(conn, reservation_id).await?.map(|(_, url)| url)
    } else {
        None
    };
    Ok(super::texts::event(
        kind,
        &row.text(0)?,
        row.opt_text(1)?.as_deref().unwrap_or("tu alojamiento"),
        date(2)?,
        date(3)?,
        Cents(row.int(4)?),
        row.opt_text(5)?.as_deref().map(parse_ts).transpose()?,
        link.as_deref(),
    )
    .map(|text| message_body(&message.recipient, &text, &[]).to_string()))
}

/// When the guest last wrote to us.
async fn last_inbound<C: Conn>(conn: &C, phone: &str) -> ApiResult<Option<DateTime<Utc>>> {
    let rows =
        conn.query("SELECT last_inbound_at FROM whatsapp_conversations WHERE phone = ?1", &[phone.into()]).await?;
    Ok(rows.first().map(|r| r.opt_text(0)).transpose()?.flatten().as_deref().map(parse_ts).transpose()?)
}

/// Delivers due WhatsApp messages: all of them (the tick), or one guest's fresh replies
/// right after they were queued (`recipient`, with a short `timeout` and one batch).
/// `None` when WhatsApp is not configured: messages wait.
pub async fn deliver<E: Env>(
    env: &E,
    recipient: Option<&str>,
    timeout: Duration,
    max_batches: usize,
) -> ApiResult<Option<Delivery>> {
    let Some(settings) = Settings::from_config(env.config()) else {
        return Ok(None);
    };
    let conn = env.db().connect().await?;
    let owner = crate::random::hex_id();
    let mut report = Delivery::default();
    for _ in 0..max_batches.max(1) {
        let batch = claim(&conn, recipient, &owner, env.clock().now()).await?;
        for message in &batch {
            let sent = attempt(env, &conn, &settings, message, &owner, timeout).await;
            let dead = report.record(env, &conn, &message.attempt(&owner), &sent).await?;
            let to = mask_phone(&message.recipient);
            match &sent {
                Ok(_) => tracing::info!(message_id = message.id, to = %to, kind = %message.kind, "whatsapp sent"),
                Err((error, _)) => {
                    tracing::warn!(message_id = message.id, to = %to, dead, error = %error, "whatsapp failed")
                }
            }
        }
        if (batch.len() as i64) < BATCH {
            break;
        }
    }
    Ok(Some(report))
}

/// One attempt: the window, the content (rendered and frozen at the first attempt), the
/// Graph API call. `Err((error, permanent))` on failure.
async fn attempt<E: Env, C: Conn>(
    env: &E,
    conn: &C,
    settings: &Settings,
    message: &Claimed,
    owner: &str,
    timeout: Duration,
) -> Sent {
    let now = env.clock().now();
    let open = last_inbound(conn, &message.recipient)
        .await
        .map_err(|e| (e.to_string(), false))?
        .is_some_and(|at| now - at < Span::hours(WINDOW_HOURS));
    if !open {
        return Err(("outside the 24-hour customer-service window (no approved template configured)".into(), true));
    }
    let payload = match &message.payload {
        Some(p) => p.clone(),
        None => match render(conn, message).await {
            Ok(Some(p)) => {
                let frozen = conn
                    .execute(
                        "UPDATE outbox SET body_text = ?3 WHERE id = ?1 AND lease_owner = ?2 AND body_text IS NULL",
                        &[Value::Integer(message.id), owner.into(), p.as_str().into()],
                    )
                    .await;
                frozen.map_err(|e| (e.to_string(), false))?;
                p
            }
            Ok(None) => return Err(("nothing to say on WhatsApp for this event".into(), true)),
            Err(e) => return Err((format!("cannot render: {e}"), true)),
        },
    };
    let request = OutboundRequest::new("POST", settings.url.as_str())
        .bearer(&settings.token)
        .body("application/json", payload.into_bytes())
        .timeout(timeout)
        .max_response_bytes(MAX_RESPONSE_BYTES);
    match env.http().send(request).await {
        Ok(response) => match verdict(response.status) {
            ProviderVerdict::Accepted => {
                Ok(response.json().and_then(|b| b["messages"][0]["id"].as_str().map(str::to_owned)))
            }
            other => {
                let body = String::from_utf8_lossy(&response.body);
                // Meta's "re-engagement" error: the window closed on its side.
                let permanent = other == ProviderVerdict::Permanent || body.contains("131047");
                Err((format!("HTTP {}: {}", response.status, body.chars().take(300).collect::<String>()), permanent))
            }
        },
        Err(e) => Err((e.to_string(), false)),
    }
}

/// For health: (pending, pending for longer than `stuck_after`, dead since `since`).
pub async fn backlog<C: Conn>(
    conn: &C,
    now: DateTime<Utc>,
    stuck_after: Span,
    since: Span,
) -> ApiResult<(i64, i64, i64)> {
    let rows = conn
        .query(
            "SELECT (SELECT count(*) FROM outbox WHERE channel = 'whatsapp' AND status = 'pending'), \
             (SELECT count(*) FROM outbox WHERE channel = 'whatsapp' AND status = 'pending' AND created_at <= ?1), \
             (SELECT count(*) FROM outbox WHERE channel = 'whatsapp' AND status = 'dead' AND dead_at > ?2)",
            &[ts(now - stuck_after).into(), ts(now - since).into()],
        )
        .await?;
    let row = rows.first().ok_or_else(|| anyhow::anyhow!("no backlog row"))?;
    Ok((row.int(0)?, row.int(1)?, row.int(2)?))
}
