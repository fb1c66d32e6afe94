//! The SQL of payments: payment rows and their history, notifications waiting for a fetch,
//! payment links, reservation flags. One statement per call, plain SQLite (see `store`).

use crate::error::ApiResult;
use crate::ports::{Conn, DbError, Row, Value};
use crate::store::{parse_ts, ts};
use chrono::{DateTime, Duration, Utc};
use reservas_domain::mercadopago::{NotificationForm, PaymentId, PaymentSnapshot, Version};
use reservas_domain::Cents;

// ---------------------------------------------------------------- resolution

/// What the service did with an approved payment's money.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// It confirmed the reservation (on time, or late with every night still free).
    Confirmed,
    /// The reservation was already confirmed (by an admin or another payment).
    AlreadyConfirmed,
    /// Less than the deposit (or not ARS): recorded, reservation untouched.
    Partial,
    /// `external_reference` names no reservation of ours.
    Orphan,
    /// Paid for a stay that can no longer be had (nights taken after expiry, cancelled).
    NeedsRefund,
    /// Money that needed an admin went back to the payer (refund or chargeback).
    Refunded,
}

/// Every resolution, for filters.
pub const RESOLUTIONS: &[Resolution] = &[
    Resolution::Confirmed,
    Resolution::AlreadyConfirmed,
    Resolution::Partial,
    Resolution::Orphan,
    Resolution::NeedsRefund,
    Resolution::Refunded,
];

impl Resolution {
    pub fn as_str(self) -> &'static str {
        match self {
            Resolution::Confirmed => "confirmed",
            Resolution::AlreadyConfirmed => "already_confirmed",
            Resolution::Partial => "partial",
            Resolution::Orphan => "orphan",
            Resolution::NeedsRefund => "needs_refund",
            Resolution::Refunded => "refunded",
        }
    }

    pub fn parse(text: &str) -> Option<Resolution> {
        RESOLUTIONS.iter().copied().find(|r| r.as_str() == text)
    }
}

// ---------------------------------------------------------------- payments

/// The stored state of one payment.
#[derive(Debug, Clone)]
pub struct StoredPayment {
    pub id: i64,
    pub version: Version,
    pub resolution: Option<Resolution>,
}

fn opt_ts(t: Option<DateTime<Utc>>) -> Value {
    t.map(ts).into()
}

pub async fn find_payment<C: Conn>(conn: &C, id: &PaymentId) -> ApiResult<Option<StoredPayment>> {
    let rows = conn
        .query(
            "SELECT id, date_last_updated, status_rank, resolution FROM payments WHERE mp_payment_id = ?1",
            &[id.as_str().into()],
        )
        .await?;
    let Some(row) = rows.first() else { return Ok(None) };
    let resolution = row.opt_text(3)?;
    Ok(Some(StoredPayment {
        id: row.int(0)?,
        version: Version {
            last_updated: row.opt_text(1)?.as_deref().map(parse_ts).transpose()?,
            rank: u8::try_from(row.int(2)?).map_err(|_| DbError::Decode("status_rank".into()))?,
        },
        resolution: resolution
            .map(|r| Resolution::parse(&r).ok_or_else(|| DbError::Decode(format!("resolution {r:?}"))))
            .transpose()?,
    }))
}

fn snapshot_params(s: &PaymentSnapshot, raw: &str, now: DateTime<Utc>) -> Vec<Value> {
    vec![
        s.id.as_str().into(),
        s.external_reference.as_deref().into(),
        s.status_text.as_str().into(),
        s.status_detail.as_deref().into(),
        Value::Integer(i64::from(s.status.rank())),
        s.amount.map(|a| a.0).into(),
        s.currency.as_deref().into(),
        opt_ts(s.date_created),
        opt_ts(s.date_approved),
        opt_ts(s.version().last_updated),
        raw.into(),
        ts(now).into(),
    ]
}

/// Inserts a payment seen for the first time; returns its row id.
pub async fn insert_payment<C: Conn>(
    conn: &C,
    s: &PaymentSnapshot,
    reservation_id: Option<i64>,
    raw: &str,
    now: DateTime<Utc>,
) -> ApiResult<i64> {
    let mut params = snapshot_params(s, raw, now);
    params.push(reservation_id.into());
    let rows = conn
        .query(
            "INSERT INTO payments (mp_payment_id, external_reference, status, status_detail, status_rank, amount_cents, \
             currency, date_created, date_approved, date_last_updated, raw, received_at, updated_at, reservation_id) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12, ?13) RETURNING id",
            &params,
        )
        .await?;
    Ok(rows.first().ok_or_else(|| anyhow::anyhow!("insert returned no id"))?.int(0)?)
}

/// Replaces a payment's state with a newer snapshot (the caller has checked it is newer).
pub async fn update_payment<C: Conn>(conn: &C, s: &PaymentSnapshot, raw: &str, now: DateTime<Utc>) -> ApiResult<()> {
    conn.execute(
        "UPDATE payments SET external_reference = coalesce(external_reference, ?2), status = ?3, status_detail = ?4, \
         status_rank = ?5, amount_cents = ?6, currency = ?7, date_created = ?8, date_approved = ?9, \
         date_last_updated = ?10, raw = ?11, updated_at = ?12 WHERE mp_payment_id = ?1",
        &snapshot_params(s, raw, now),
    )
    .await?;
    Ok(())
}

pub async fn set_resolution<C: Conn>(conn: &C, payment_row: i64, resolution: Resolution) -> ApiResult<()> {
    conn.execute(
        "UPDATE payments SET resolution = ?2 WHERE id = ?1",
        &[Value::Integer(payment_row), resolution.as_str().into()],
    )
    .await?;
    Ok(())
}

/// Records a state in the payment's history. Returns `(inserted, first time in this status)`;
/// a duplicate (same status and date) inserts nothing.
pub async fn record_change<C: Conn>(
    conn: &C,
    s: &PaymentSnapshot,
    applied: bool,
    raw: &str,
    now: DateTime<Utc>,
) -> ApiResult<(bool, bool)> {
    let seen_before = !conn
        .query(
            "SELECT 1 FROM payment_status_changes WHERE mp_payment_id = ?1 AND status = ?2 LIMIT 1",
            &[s.id.as_str().into(), s.status_text.as_str().into()],
        )
        .await?
        .is_empty();
    let inserted = conn
        .execute(
            "INSERT INTO payment_status_changes (mp_payment_id, status, status_detail, date_last_updated, amount_cents, \
             applied, raw, recorded_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) \
             ON CONFLICT (mp_payment_id, status, date_last_updated) DO NOTHING",
            &[
                s.id.as_str().into(),
                s.status_text.as_str().into(),
                s.status_detail.as_deref().into(),
                s.version().last_updated.map(ts).unwrap_or_default().into(),
                s.amount.map(|a| a.0).into(),
                Value::Integer(i64::from(applied)),
                raw.into(),
                ts(now).into(),
            ],
        )
        .await?
        == 1;
    Ok((inserted, inserted && !seen_before))
}

/// One line of the admin's payments listing.
pub struct PaymentLine {
    pub payment_id: String,
    pub status: String,
    pub status_detail: Option<String>,
    pub resolution: Option<String>,
    pub amount: Option<Cents>,
    pub currency: Option<String>,
    pub external_reference: Option<String>,
    pub reservation_code: Option<String>,
    pub reservation_status: Option<String>,
    pub date_created: Option<String>,
    pub date_approved: Option<String>,
    pub date_last_updated: Option<String>,
    pub received_at: String,
    pub updated_at: String,
}

fn payment_line(row: &Row) -> Result<PaymentLine, DbError> {
    Ok(PaymentLine {
        payment_id: row.text(0)?,
        status: row.text(1)?,
        status_detail: row.opt_text(2)?,
        resolution: row.opt_text(3)?,
        amount: row.opt_int(4)?.map(Cents),
        currency: row.opt_text(5)?,
        external_reference: row.opt_text(6)?,
        reservation_code: row.opt_text(7)?,
        reservation_status: row.opt_text(8)?,
        date_created: row.opt_text(9)?,
        date_approved: row.opt_text(10)?,
        date_last_updated: row.opt_text(11)?,
        received_at: row.text(12)?,
        updated_at: row.text(13)?,
    })
}

/// Payments whose status or resolution is `status` (all when `None`), newest first; and how
/// many match in all.
pub async fn list_payments<C: Conn>(
    conn: &C,
    status: Option<&str>,
    limit: i64,
    offset: i64,
) -> ApiResult<(Vec<PaymentLine>, i64)> {
    const FILTER: &str = "(?1 IS NULL OR p.status = ?1 OR p.resolution = ?1)";
    let rows = conn
        .query(
            &format!(
                "SELECT p.mp_payment_id, p.status, p.status_detail, p.resolution, p.amount_cents, p.currency, \
                 p.external_reference, r.code, r.status, p.date_created, p.date_approved, p.date_last_updated, \
                 p.received_at, p.updated_at FROM payments p LEFT JOIN reservations r ON r.id = p.reservation_id \
                 WHERE {FILTER} ORDER BY p.id DESC LIMIT ?2 OFFSET ?3"
            ),
            &[status.into(), Value::Integer(limit), Value::Integer(offset)],
        )
        .await?;
    let total = conn.query(&format!("SELECT count(*) FROM payments p WHERE {FILTER}"), &[status.into()]).await?;
    let total = total.first().map(|r| r.int(0)).transpose()?.unwrap_or(0);
    Ok((rows.iter().map(payment_line).collect::<Result<_, _>>()?, total))
}

// ---------------------------------------------------------------- notifications

/// After this many failed fetches in a row a notification is given up (reported by health);
/// a new delivery of it starts over.
pub const MAX_ATTEMPTS: i64 = 40;
/// A stored notification whose request died before fetching is picked up by the tick after
/// this long.
const PICKUP_GRACE_SECONDS: i64 = 60;

/// Wait before retry `attempt` (1-based): a minute, doubling, at most an hour.
pub fn backoff(attempt: i64) -> Duration {
    let exponent = u32::try_from((attempt - 1).clamp(0, 6)).unwrap_or(6);
    Duration::seconds((60_i64 << exponent).min(3600))
}

/// Stores a delivery before anything else is tried; returns its sequence number (a fetch that
/// starts after delivery `n` has seen whatever delivery `n` announced).
pub async fn note_delivery<C: Conn>(
    conn: &C,
    id: &PaymentId,
    form: NotificationForm,
    now: DateTime<Utc>,
) -> ApiResult<i64> {
    let rows = conn
        .query(
            "INSERT INTO payment_notifications (mp_payment_id, form, received_count, first_received_at, last_received_at, next_attempt_at) \
             VALUES (?1, ?2, 1, ?3, ?3, ?4) \
             ON CONFLICT (mp_payment_id) DO UPDATE SET received_count = received_count + 1, \
             last_received_at = excluded.last_received_at, \
             attempts = CASE WHEN attempts >= ?5 THEN 0 ELSE attempts END, \
             next_attempt_at = CASE WHEN next_attempt_at IS NULL OR attempts >= ?5 THEN excluded.next_attempt_at ELSE next_attempt_at END \
             RETURNING received_count",
            &[
                id.as_str().into(),
                form.as_str().into(),
                ts(now).into(),
                ts(now + Duration::seconds(PICKUP_GRACE_SECONDS)).into(),
                Value::Integer(MAX_ATTEMPTS),
            ],
        )
        .await?;
    Ok(rows.first().ok_or_else(|| anyhow::anyhow!("upsert returned no row"))?.int(0)?)
}

/// Marks deliveries up to `through` as processed (inside the transaction that recorded the
/// payment). Later deliveries stay waiting.
pub async fn mark_processed<C: Conn>(conn: &C, id: &PaymentId, through: i64, now: DateTime<Utc>) -> ApiResult<()> {
    conn.execute(
        "UPDATE payment_notifications SET processed_through = max(processed_through, ?2), processed_at = ?3, \
         attempts = CASE WHEN received_count <= max(processed_through, ?2) THEN 0 ELSE attempts END, \
         last_error = CASE WHEN received_count <= max(processed_through, ?2) THEN NULL ELSE last_error END, \
         next_attempt_at = CASE WHEN received_count <= max(processed_through, ?2) THEN NULL ELSE next_attempt_at END \
         WHERE mp_payment_id = ?1",
        &[id.as_str().into(), Value::Integer(through), ts(now).into()],
    )
    .await?;
    Ok(())
}

/// A fetch failed: try again after the backoff.
pub async fn schedule_retry<C: Conn>(conn: &C, id: &PaymentId, error: &str, now: DateTime<Utc>) -> ApiResult<i64> {
    let rows = conn
        .query(
            "UPDATE payment_notifications SET attempts = attempts + 1, last_error = ?2 \
             WHERE mp_payment_id = ?1 RETURNING attempts",
            &[id.as_str().into(), error.chars().take(500).collect::<String>().into()],
        )
        .await?;
    let attempts = rows.first().map(|r| r.int(0)).transpose()?.unwrap_or(1);
    conn.execute(
        "UPDATE payment_notifications SET next_attempt_at = ?2 WHERE mp_payment_id = ?1",
        &[id.as_str().into(), ts(now + backoff(attempts)).into()],
    )
    .await?;
    Ok(attempts)
}

/// Notifications whose retry is due, oldest first: (payment id, deliveries so far).
pub async fn due_notifications<C: Conn>(conn: &C, now: DateTime<Utc>, limit: i64) -> ApiResult<Vec<(PaymentId, i64)>> {
    let rows = conn
        .query(
            "SELECT mp_payment_id, received_count FROM payment_notifications \
             WHERE received_count > processed_through AND attempts < ?2 AND next_attempt_at <= ?1 \
             ORDER BY next_attempt_at LIMIT ?3",
            &[ts(now).into(), Value::Integer(MAX_ATTEMPTS), Value::Integer(limit)],
        )
        .await?;
    let mut due = Vec::with_capacity(rows.len());
    for row in &rows {
        let text = row.text(0)?;
        let id = PaymentId::parse(&text).ok_or_else(|| DbError::Decode(format!("payment id {text:?}")))?;
        due.push((id, row.int(1)?));
    }
    Ok(due)
}

/// (waiting for a retry after a failed fetch, given up).
pub async fn waiting_notifications<C: Conn>(conn: &C) -> ApiResult<(i64, i64)> {
    let rows = conn
        .query(
            "SELECT coalesce(sum(attempts > 0 AND attempts < ?1), 0), coalesce(sum(attempts >= ?1), 0) \
             FROM payment_notifications WHERE received_count > processed_through",
            &[Value::Integer(MAX_ATTEMPTS)],
        )
        .await?;
    let row = rows.first().ok_or_else(|| anyhow::anyhow!("count returned no row"))?;
    Ok((row.int(0)?, row.int(1)?))
}

// ---------------------------------------------------------------- links

/// A reservation's stored Checkout Pro preference: (preference id, init point).
pub async fn find_link<C: Conn>(conn: &C, reservation_id: i64) -> ApiResult<Option<(String, String)>> {
    let rows = conn
        .query(
            "SELECT preference_id, init_point FROM payment_links WHERE reservation_id = ?1",
            &[Value::Integer(reservation_id)],
        )
        .await?;
    Ok(rows.first().map(|r| Ok::<_, DbError>((r.text(0)?, r.text(1)?))).transpose()?)
}

/// Stores a preference unless one is stored already (the first one stays).
pub async fn save_link<C: Conn>(
    conn: &C,
    reservation_id: i64,
    preference_id: &str,
    init_point: &str,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    conn.execute(
        "INSERT INTO payment_links (reservation_id, preference_id, init_point, created_at) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT (reservation_id) DO NOTHING",
        &[Value::Integer(reservation_id), preference_id.into(), init_point.into(), ts(now).into()],
    )
    .await?;
    Ok(())
}

// ---------------------------------------------------------------- flags

/// Raises `flag` on a reservation for the admin; raising it again changes nothing.
pub async fn add_flag<C: Conn>(
    conn: &C,
    reservation_id: i64,
    flag: &str,
    detail: Option<&str>,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    conn.execute(
        "INSERT INTO reservation_flags (reservation_id, flag, detail, created_at) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT (reservation_id, flag) DO NOTHING",
        &[Value::Integer(reservation_id), flag.into(), detail.into(), ts(now).into()],
    )
    .await?;
    Ok(())
}

/// The reservation's unresolved flags, oldest first.
pub async fn flags_of<C: Conn>(conn: &C, reservation_id: i64) -> ApiResult<Vec<String>> {
    let rows = conn
        .query(
            "SELECT flag FROM reservation_flags WHERE reservation_id = ?1 AND resolved_at IS NULL ORDER BY created_at, flag",
            &[Value::Integer(reservation_id)],
        )
        .await?;
    Ok(rows.iter().map(|r| r.text(0)).collect::<Result<_, _>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_a_minute_up_to_an_hour() {
        let secs: Vec<i64> = (1..=9).map(|a| backoff(a).num_seconds()).collect();
        assert_eq!(secs, vec![60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]);
        assert_eq!(backoff(0).num_seconds(), 60);
    }

    #[test]
    fn resolutions_round_trip() {
        for r in RESOLUTIONS {
            assert_eq!(Resolution::parse(r.as_str()), Some(*r));
        }
        assert_eq!(Resolution::parse("approved"), None);
    }
}
