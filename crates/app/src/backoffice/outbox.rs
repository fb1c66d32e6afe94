//! Delivering the outbox: claim due messages under a lease (so two ticks never send the same
//! message at once), send each outside any transaction, then record the outcome; failures
//! wait an exponential backoff, and after the last attempt a message is a dead letter the
//! admin sees. Also the expiry reminders, the outbox listing and the admin's resend.

use super::email::{self, EmailOutcome};
use crate::booking::parse_code;
use crate::error::{ApiError, ApiResult};
use crate::notify::{self, Queued};
use crate::paging::Page;
use crate::ports::{Conn, DbError, Env, Row, Value};
use crate::store::{self, parse_ts, ts};
use chrono::{DateTime, Duration as Span, NaiveDate, Utc};
use reservas_domain::metrics as m;
use reservas_domain::outbox::{after_failure, AfterFailure, DeliveryStatus, MessageKind};
use reservas_domain::templates::{self, Facts};
use reservas_domain::{Cents, Status};
use serde_json::{json, Value as Json};

/// Messages claimed per transaction: the write lock is held for one short UPDATE, and a
/// batch is sent well within its lease.
const BATCH: i64 = 10;
/// At most this many batches per tick, so one tick stays bounded even with a large backlog.
const MAX_BATCHES: usize = 10;
/// How long a claim keeps other ticks off a message: longer than a batch of sends at their
/// timeout. A tick that dies mid-batch leaves its messages to the next tick after this.
const LEASE_SECONDS: i64 = 300;
/// Reminders queued per transaction.
const REMINDER_BATCH: i64 = 100;

fn seconds(d: std::time::Duration) -> Span {
    Span::seconds(i64::try_from(d.as_secs()).unwrap_or(i64::MAX / 1000))
}

/// A claimed message, ready to send.
#[derive(Debug, Clone)]
struct Claimed {
    id: i64,
    reservation_id: Option<i64>,
    channel: String,
    kind: String,
    recipient: String,
    idempotency_key: String,
    attempts: u32,
    content: Option<email::Content>,
}

impl Claimed {
    fn attempt<'a>(&'a self, owner: &'a str) -> Attempt<'a> {
        Attempt { id: self.id, channel: &self.channel, attempts: self.attempts, owner }
    }
}

fn claimed(row: &Row) -> Result<Claimed, DbError> {
    let content = match (row.opt_text(7)?, row.opt_text(8)?) {
        (Some(subject), Some(text)) => Some(email::Content { subject, text, html: row.opt_text(9)? }),
        _ => None,
    };
    Ok(Claimed {
        id: row.int(0)?,
        reservation_id: row.opt_int(1)?,
        channel: row.text(2)?,
        kind: row.text(3)?,
        recipient: row.text(4)?,
        idempotency_key: row.text(5)?,
        attempts: u32::try_from(row.int(6)?).unwrap_or(u32::MAX),
        content,
    })
}

/// Every channel's claim: up to `batch` due messages of `channel` (of one `recipient` when
/// given) taken for `owner` in one statement, answering the `returning` columns, oldest
/// first. A row is due when pending, past its `next_attempt_at`, and not under another
/// sender's live lease; the attempt is counted at the claim, so a message that kills its
/// sender is still bounded.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn claim_due<C: Conn>(
    conn: &C,
    channel: &str,
    recipient: Option<&str>,
    owner: &str,
    lease: Span,
    batch: i64,
    returning: &str,
    now: DateTime<Utc>,
) -> ApiResult<Vec<Row>> {
    let sql = format!(
        "UPDATE outbox SET lease_owner = ?1, lease_until = ?2, attempts = attempts + 1 WHERE id IN \
         (SELECT id FROM outbox WHERE status = 'pending' AND channel = ?3 AND next_attempt_at <= ?4 \
         AND (lease_until IS NULL OR lease_until <= ?4) AND (?5 IS NULL OR recipient = ?5) \
         ORDER BY id LIMIT ?6) RETURNING {returning}"
    );
    let params =
        [owner.into(), ts(now + lease).into(), channel.into(), ts(now).into(), recipient.into(), Value::Integer(batch)];
    let mut rows = store::transaction(conn, async { Ok(conn.query(&sql, &params).await?) }).await?;
    rows.sort_by_key(|r| r.int(0).unwrap_or_default());
    Ok(rows)
}

async fn claim<C: Conn>(conn: &C, owner: &str, now: DateTime<Utc>) -> ApiResult<Vec<Claimed>> {
    let returning =
        "id, reservation_id, channel, kind, recipient, idempotency_key, attempts, subject, body_text, body_html";
    let rows = claim_due(conn, "email", None, owner, Span::seconds(LEASE_SECONDS), BATCH, returning, now).await?;
    Ok(rows.iter().map(claimed).collect::<Result<_, _>>()?)
}

/// The facts a template needs, read at the first attempt.
async fn render<C: Conn>(conn: &C, message: &Claimed) -> ApiResult<email::Content> {
    let kind = MessageKind::parse(&message.kind)
        .ok_or_else(|| anyhow::anyhow!("outbox message {} has unknown kind {:?}", message.id, message.kind))?;
    let reservation_id =
        message.reservation_id.ok_or_else(|| anyhow::anyhow!("outbox message {} names no reservation", message.id))?;
    let rows = conn
        .query(
            "SELECT r.code, r.contact_name, a.name, r.check_in, r.check_out, r.guests, r.total_cents, r.deposit_cents, \
             r.expires_at FROM reservations r LEFT JOIN accommodations a ON a.id = r.accommodation_id WHERE r.id = ?1",
            &[Value::Integer(reservation_id)],
        )
        .await?;
    let row = rows.first().ok_or_else(|| anyhow::anyhow!("reservation {reservation_id} is gone"))?;
    let date = |i: usize| -> ApiResult<NaiveDate> {
        let text = row.text(i)?;
        Ok(NaiveDate::parse_from_str(&text, "%Y-%m-%d").map_err(|e| DbError::Decode(format!("{text:?}: {e}")))?)
    };
    let (code, name, accommodation) = (row.text(0)?, row.opt_text(1)?, row.opt_text(2)?);
    let (check_in, check_out) = (date(3)?, date(4)?);
    let payment_url = payment_url_of(conn, kind, reservation_id).await?;
    let facts = Facts {
        guest_name: name.as_deref(),
        code: &code,
        accommodation: accommodation.as_deref().unwrap_or("Tu alojamiento"),
        check_in,
        check_out,
        nights: u32::try_from((check_out - check_in).num_days()).unwrap_or(0),
        guests: row.int(5)?,
        total: Cents(row.int(6)?),
        deposit: Cents(row.int(7)?),
        expires_at: row.opt_text(8)?.as_deref().map(parse_ts).transpose()?,
        payment_url: payment_url.as_deref(),
    };
    let email = templates::render(kind, &facts);
    Ok(email::Content { subject: email.subject, text: email.text, html: Some(email.html) })
}

/// The deposit's payment link, for the messages that ask for the deposit. Links are created
/// right after the hold commits, so by the first delivery attempt it is usually there.
async fn payment_url_of<C: Conn>(conn: &C, kind: MessageKind, reservation_id: i64) -> ApiResult<Option<String>> {
    if !matches!(kind, MessageKind::HoldCreated | MessageKind::ExpiryReminder) {
        return Ok(None);
    }
    Ok(crate::payments::records::find_link(conn, reservation_id).await?.map(|(_, url)| url))
}

/// Freezes the rendered content on the row, so every retry sends the very same message
/// under its idempotency key.
async fn freeze<C: Conn>(conn: &C, message: &Claimed, owner: &str, content: &email::Content) -> ApiResult<()> {
    conn.execute(
        "UPDATE outbox SET subject = ?3, body_text = ?4, body_html = ?5 WHERE id = ?1 AND lease_owner = ?2 AND subject IS NULL",
        &[
            Value::Integer(message.id),
            owner.into(),
            content.subject.as_str().into(),
            content.text.as_str().into(),
            content.html.clone().into(),
        ],
    )
    .await?;
    Ok(())
}

fn channel_label(channel: &str) -> String {
    format!("channel={channel}")
}

/// One delivery attempt by the holder of a message's lease: what every channel's sender
/// reports back through [`mark_sent`] and [`mark_failed`].
pub(crate) struct Attempt<'a> {
    pub id: i64,
    pub channel: &'a str,
    /// Attempts made before this one.
    pub attempts: u32,
    pub owner: &'a str,
}

/// Records a delivery, only while the lease is still ours (a message is sent at most once
/// as far as we can tell; the idempotency key covers a lost answer).
pub(crate) async fn mark_sent<C: Conn>(
    conn: &C,
    attempt: &Attempt<'_>,
    provider_id: Option<&str>,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    store::transaction(conn, async {
        let changed = conn
            .execute(
                "UPDATE outbox SET status = 'sent', sent_at = ?3, provider_message_id = ?4, last_error = NULL, \
                 lease_owner = NULL, lease_until = NULL WHERE id = ?1 AND lease_owner = ?2 AND status = 'pending'",
                &[Value::Integer(attempt.id), attempt.owner.into(), ts(now).into(), provider_id.into()],
            )
            .await?;
        store::bump(conn, m::OUTBOX_SENT, &channel_label(attempt.channel), i64::try_from(changed).unwrap_or(0)).await?;
        Ok(())
    })
    .await
}

/// Records a failed attempt: back off, or give up when the attempts are spent or the
/// provider refused the message itself. Returns whether the message is now dead.
pub(crate) async fn mark_failed<E: Env, C: Conn>(
    env: &E,
    conn: &C,
    attempt: &Attempt<'_>,
    error: &str,
    permanent: bool,
) -> ApiResult<bool> {
    let now = env.clock().now();
    let config = env.config();
    let error: String = error.chars().take(500).collect();
    let decision = after_failure(attempt.attempts, config.outbox_max_attempts, config.outbox_backoff_base, permanent);
    let (id, owner) = (Value::Integer(attempt.id), attempt.owner);
    store::transaction(conn, async {
        let label = channel_label(attempt.channel);
        let changed = match decision {
            AfterFailure::RetryIn(wait) => {
                conn.execute(
                    "UPDATE outbox SET next_attempt_at = ?3, last_error = ?4, lease_owner = NULL, lease_until = NULL \
                     WHERE id = ?1 AND lease_owner = ?2 AND status = 'pending'",
                    &[id.clone(), owner.into(), ts(now + seconds(wait)).into(), error.as_str().into()],
                )
                .await?
            }
            AfterFailure::Dead => {
                let changed = conn
                    .execute(
                        "UPDATE outbox SET status = 'dead', dead_at = ?3, last_error = ?4, lease_owner = NULL, \
                         lease_until = NULL WHERE id = ?1 AND lease_owner = ?2 AND status = 'pending'",
                        &[id.clone(), owner.into(), ts(now).into(), error.as_str().into()],
                    )
                    .await?;
                store::bump(conn, m::OUTBOX_DEAD, &label, i64::try_from(changed).unwrap_or(0)).await?;
                changed
            }
        };
        store::bump(conn, m::OUTBOX_FAILED_ATTEMPTS, &label, i64::try_from(changed).unwrap_or(0)).await?;
        Ok(())
    })
    .await?;
    Ok(decision == AfterFailure::Dead)
}

/// What one delivery run did.
#[derive(Debug, Default, Clone, Copy)]
pub struct Delivery {
    pub sent: usize,
    pub retrying: usize,
    pub dead: usize,
}

/// One attempt's result, whatever the channel: the provider's message id, or the error and
/// whether retrying is pointless.
pub(crate) type Sent = Result<Option<String>, (String, bool)>;

impl Delivery {
    /// Records an attempt through the lease holder's transitions and counts it. Returns
    /// whether the message is now dead.
    pub(crate) async fn record<E: Env, C: Conn>(
        &mut self,
        env: &E,
        conn: &C,
        attempt: &Attempt<'_>,
        sent: &Sent,
    ) -> ApiResult<bool> {
        match sent {
            Ok(provider_id) => {
                mark_sent(conn, attempt, provider_id.as_deref(), env.clock().now()).await?;
                self.sent += 1;
                Ok(false)
            }
            Err((error, permanent)) => {
                let dead = mark_failed(env, conn, attempt, error, *permanent).await?;
                if dead {
                    self.dead += 1;
                } else {
                    self.retrying += 1;
                }
                Ok(dead)
            }
        }
    }
}

/// Delivers the due email messages. Without an email API configured nothing is claimed:
/// messages wait, they are not lost.
pub async fn deliver_email<E: Env>(env: &E) -> ApiResult<Option<Delivery>> {
    let Some(settings) = email::Settings::from_config(env.config()) else {
        return Ok(None);
    };
    let conn = <E::Db as crate::ports::Db>::connect(env.db()).await?;
    let owner = crate::random::hex_id();
    let mut report = Delivery::default();
    for _ in 0..MAX_BATCHES {
        let batch = claim(&conn, &owner, env.clock().now()).await?;
        for message in &batch {
            let content = match &message.content {
                Some(content) => content.clone(),
                None => match render(&conn, message).await {
                    Ok(content) => {
                        freeze(&conn, message, &owner, &content).await?;
                        content
                    }
                    Err(e) => {
                        tracing::error!(message_id = message.id, error = %e, "outbox message cannot be rendered");
                        report
                            .record(env, &conn, &message.attempt(&owner), &Err((format!("cannot render: {e}"), true)))
                            .await?;
                        continue;
                    }
                },
            };
            let sent = match email::send(env, &settings, &message.recipient, &message.idempotency_key, &content).await {
                EmailOutcome::Accepted { provider_id } => Ok(provider_id),
                EmailOutcome::Failed { error, permanent } => Err((error, permanent)),
            };
            let dead = report.record(env, &conn, &message.attempt(&owner), &sent).await?;
            match &sent {
                Ok(_) => tracing::info!(message_id = message.id, kind = %message.kind, "email sent"),
                Err((error, _)) => {
                    tracing::warn!(message_id = message.id, attempts = message.attempts, dead, error = %error, "email failed")
                }
            }
        }
        if (batch.len() as i64) < BATCH {
            break;
        }
    }
    Ok(Some(report))
}

/// Queues the one expiry reminder of every live hold within `reminder_before` of its expiry
/// (holds shorter than that window included). The `hold_reminders` key makes it once per
/// hold whichever tick gets there first; the counter moves in the same transaction and
/// counts the reminders actually queued (a hold with no reachable contact gets none).
pub async fn queue_reminders<E: Env>(env: &E) -> ApiResult<usize> {
    let conn = <E::Db as crate::ports::Db>::connect(env.db()).await?;
    let window = seconds(env.config().reminder_before);
    let mut queued = 0;
    loop {
        let now = env.clock().now();
        let (holds, reminded) = store::transaction(&conn, async {
            let rows = conn
                .query(
                    "INSERT INTO hold_reminders (reservation_id, queued_at) SELECT id, ?1 FROM reservations \
                     WHERE status = 'pre_reserved' AND expires_at > ?1 AND expires_at <= ?2 \
                     AND id NOT IN (SELECT reservation_id FROM hold_reminders) ORDER BY expires_at LIMIT ?3 \
                     RETURNING reservation_id",
                    &[ts(now).into(), ts(now + window).into(), Value::Integer(REMINDER_BATCH)],
                )
                .await?;
            let mut reminded = 0;
            for row in &rows {
                let id = row.int(0)?;
                let messages = notify::queue_all(&conn, id, MessageKind::ExpiryReminder, now).await?;
                if !messages.is_empty() {
                    conn.execute(
                        "UPDATE hold_reminders SET messages = ?2 WHERE reservation_id = ?1",
                        &[Value::Integer(id), Value::Integer(messages.len() as i64)],
                    )
                    .await?;
                    reminded += 1;
                }
            }
            store::bump(&conn, m::PRERESERVATION_REMINDERS_PROCESSED, "", reminded).await?;
            Ok((rows.len(), reminded))
        })
        .await?;
        queued += usize::try_from(reminded).unwrap_or(0);
        if (holds as i64) < REMINDER_BATCH {
            return Ok(queued);
        }
    }
}

/// A message as the admin sees it.
fn message_view(row: &Row) -> Result<Json, DbError> {
    let status = row.text(6)?;
    Ok(json!({
        "id": row.int(0)?,
        "reservation_code": row.opt_text(1)?,
        "channel": row.text(2)?,
        "kind": row.text(3)?,
        "recipient": row.text(4)?,
        "subject": row.opt_text(5)?,
        "status": status,
        "attempts": row.int(7)?,
        "next_attempt_at": if status == "pending" { row.opt_text(8)? } else { None },
        "last_error": row.opt_text(9)?,
        "requested_by": row.opt_text(10)?,
        "created_at": row.text(11)?,
        "sent_at": row.opt_text(12)?,
        "dead_at": row.opt_text(13)?,
    }))
}

const MESSAGE_COLUMNS: &str = "o.id, r.code, o.channel, o.kind, o.recipient, o.subject, o.status, o.attempts, \
     o.next_attempt_at, o.last_error, o.requested_by, o.created_at, o.sent_at, o.dead_at";

/// The messages of one reservation, oldest first.
pub async fn messages_of<C: Conn>(conn: &C, reservation_id: i64) -> ApiResult<Vec<Json>> {
    let rows = conn
        .query(
            &format!(
                "SELECT {MESSAGE_COLUMNS} FROM outbox o LEFT JOIN reservations r ON r.id = o.reservation_id \
                 WHERE o.reservation_id = ?1 ORDER BY o.id"
            ),
            &[Value::Integer(reservation_id)],
        )
        .await?;
    Ok(rows.iter().map(message_view).collect::<Result<_, _>>()?)
}

/// `GET /admin/outbox?status=pending|sent|dead`: newest first, paginated.
pub async fn list<C: Conn>(conn: &C, query: &[(String, String)]) -> ApiResult<Json> {
    let page = Page::parse(query)?;
    let status = match query.iter().find(|(k, _)| k == "status").map(|(_, v)| v.trim()).filter(|v| !v.is_empty()) {
        None => None,
        Some(s) => Some(
            DeliveryStatus::parse(s)
                .ok_or_else(|| ApiError::Validation("status must be one of pending, sent, dead".into()))?,
        ),
    };
    let (clause, mut params): (&str, Vec<Value>) = match status {
        Some(s) => ("WHERE o.status = ?", vec![s.as_str().into()]),
        None => ("", Vec::new()),
    };
    let total = conn.query(&format!("SELECT count(*) FROM outbox o {clause}"), &params).await?;
    let total = total.first().map(|r| r.int(0)).transpose()?.unwrap_or(0);
    params.push(Value::Integer(page.limit));
    params.push(Value::Integer(page.offset));
    let rows = conn
        .query(
            &format!(
                "SELECT {MESSAGE_COLUMNS} FROM outbox o LEFT JOIN reservations r ON r.id = o.reservation_id \
                 {clause} ORDER BY o.id DESC LIMIT ? OFFSET ?"
            ),
            &params,
        )
        .await?;
    let items = rows.iter().map(message_view).collect::<Result<Vec<_>, _>>()?;
    Ok(page.respond(items, total))
}

/// The email that matters for a reservation in `status`: what the guest should have in hand
/// now. Blocks imported from calendars have no guest.
fn relevant_kind(status: Status) -> Option<MessageKind> {
    match status {
        Status::PreReserved => Some(MessageKind::HoldCreated),
        Status::Confirmed => Some(MessageKind::Confirmed),
        Status::Cancelled => Some(MessageKind::Cancelled),
        Status::Expired => Some(MessageKind::Expired),
        Status::Blocked => None,
    }
}

/// `POST /admin/actions/resend-email/{code}`: queues again the email that matches the
/// reservation's status as of now (hold, confirmation, cancellation or expiry), as a new
/// message with its own idempotency key. When that email is still waiting in the outbox it is
/// made due now and answered instead, so a double click sends one email.
pub async fn resend<E: Env>(env: &E, code: &str, admin: &str) -> ApiResult<Json> {
    let code = parse_code(code)?;
    let conn = <E::Db as crate::ports::Db>::connect(env.db()).await?;
    let now = env.clock().now();
    store::transaction(&conn, async {
        let reservation = store::find_reservation(&conn, &code)
            .await?
            .ok_or_else(|| ApiError::NotFound("reservation not found".into()))?;
        let status = reservation.status_at(now);
        let kind = relevant_kind(status)
            .ok_or_else(|| ApiError::InvalidState("calendar blocks have no guest to write to".into()))?;
        if reservation.contact_email.as_deref().is_none_or(|e| e.trim().is_empty()) {
            return Err(ApiError::InvalidState("the reservation has no email address".into()));
        }
        // A message already waiting (perhaps retrying through an outage) is made due now
        // rather than doubled.
        let waiting = conn
            .query(
                "UPDATE outbox SET next_attempt_at = min(next_attempt_at, ?3) WHERE id = (SELECT id FROM outbox \
                 WHERE reservation_id = ?1 AND kind = ?2 AND channel = 'email' AND status = 'pending' \
                 ORDER BY id DESC LIMIT 1) RETURNING id",
                &[Value::Integer(reservation.id), kind.as_str().into(), ts(now).into()],
            )
            .await?;
        let (id, already) = match waiting.first() {
            Some(row) => (row.int(0)?, true),
            None => {
                let queued: Vec<Queued> = notify::queue_messages(&conn, reservation.id, kind, now, Some(admin)).await?;
                let first = queued.first().ok_or_else(|| ApiError::InvalidState("nothing to send".into()))?;
                (first.id, false)
            }
        };
        tracing::info!(code = %reservation.code, kind = kind.as_str(), already, "email re-queued by an admin");
        Ok(json!({
            "code": reservation.code,
            "status": status,
            "message": { "id": id, "kind": kind.as_str(), "channel": "email", "status": "pending" },
            "already_queued": already,
        }))
    })
    .await
}

/// Numbers for health: (pending, pending for longer than `stuck_after`, dead since `since`).
pub async fn health_figures<C: Conn>(
    conn: &C,
    now: DateTime<Utc>,
    stuck_after: Span,
    since: Span,
) -> ApiResult<(i64, i64, i64)> {
    let rows = conn
        .query(
            "SELECT (SELECT count(*) FROM outbox WHERE status = 'pending'), \
             (SELECT count(*) FROM outbox WHERE status = 'pending' AND created_at <= ?1), \
             (SELECT count(*) FROM outbox WHERE status = 'dead' AND dead_at > ?2)",
            &[ts(now - stuck_after).into(), ts(now - since).into()],
        )
        .await?;
    let row = rows.first().ok_or_else(|| anyhow::anyhow!("no health row"))?;
    Ok((row.int(0)?, row.int(1)?, row.int(2)?))
}
