//! The SQL. Every statement is one statement (Spin runs only the first of a string) and plain
//! SQLite, so embedded SQLite, a libSQL server and Spin's sqlite run the same text.

use crate::error::{ApiError, ApiResult};
use crate::ports::{Conn, DbError, Row, Value};
use chrono::{DateTime, NaiveDate, Utc};
use reservas_domain::pricing::{Multiplier, Percent, Rates};
use reservas_domain::{Cents, Channel, ReservationCode, Status, Stay};
use std::future::Future;

/// RFC 3339 UTC with milliseconds: fixed width, so text order is time order.
pub fn ts(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

pub fn parse_ts(text: &str) -> Result<DateTime<Utc>, DbError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| DbError::Decode(format!("timestamp {text:?}: {e}")))
}

fn parse_day(text: &str) -> Result<NaiveDate, DbError> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|e| DbError::Decode(format!("date {text:?}: {e}")))
}

/// Runs `work` inside `BEGIN IMMEDIATE` .. `COMMIT` on `conn`: the write lock is taken up
/// front, so concurrent writers queue on the busy timeout instead of failing mid-way. Any
/// error rolls back.
pub async fn transaction<C: Conn, T>(conn: &C, work: impl Future<Output = ApiResult<T>>) -> ApiResult<T> {
    conn.execute("BEGIN IMMEDIATE", &[]).await?;
    match work.await {
        Ok(value) => match conn.execute("COMMIT", &[]).await {
            Ok(_) => Ok(value),
            Err(e) => {
                let _ = conn.execute("ROLLBACK", &[]).await;
                Err(e.into())
            }
        },
        Err(e) => {
            let _ = conn.execute("ROLLBACK", &[]).await;
            Err(e)
        }
    }
}

/// Adds `by` to a stored counter. Called inside the transaction of the event it counts.
pub async fn bump<C: Conn>(conn: &C, name: &str, labels: &str, by: i64) -> Result<(), DbError> {
    if by == 0 {
        return Ok(());
    }
    conn.execute(
        "INSERT INTO metric_counters (name, labels, value) VALUES (?1, ?2, ?3) \
         ON CONFLICT (name, labels) DO UPDATE SET value = value + excluded.value",
        &[name.into(), labels.into(), Value::Integer(by)],
    )
    .await
    .map(|_| ())
}

pub fn channel_label(channel: Channel) -> String {
    format!("channel={}", channel.as_str())
}

pub async fn counters<C: Conn>(conn: &C) -> Result<Vec<(String, String, i64)>, DbError> {
    conn.query("SELECT name, labels, value FROM metric_counters ORDER BY name, labels", &[])
        .await?
        .iter()
        .map(|r| Ok((r.text(0)?, r.text(1)?, r.int(2)?)))
        .collect()
}

// ---------------------------------------------------------------- accommodations

#[derive(Debug, Clone)]
pub struct Accommodation {
    pub id: i64,
    pub name: String,
    pub capacity: i64,
    pub rates: Rates,
    pub active: bool,
    pub created_at: String,
    pub updated_at: String,
}

const ACCOMMODATION_COLUMNS: &str =
    "id, name, capacity, base_price_cents, weekend_multiplier_bp, deposit_percent, active, created_at, updated_at";

fn accommodation(row: &Row) -> Result<Accommodation, DbError> {
    let bad = |what: &str| DbError::Decode(format!("accommodation {what}"));
    Ok(Accommodation {
        id: row.int(0)?,
        name: row.text(1)?,
        capacity: row.int(2)?,
        rates: Rates {
            base_price: Cents(row.int(3)?),
            weekend_multiplier: u32::try_from(row.int(4)?)
                .ok()
                .and_then(Multiplier::from_basis_points)
                .ok_or_else(|| bad("multiplier"))?,
            deposit_percent: Percent::new(row.int(5)?).ok_or_else(|| bad("deposit"))?,
        },
        active: row.int(6)? != 0,
        created_at: row.text(7)?,
        updated_at: row.text(8)?,
    })
}

pub struct NewAccommodation {
    pub name: String,
    pub capacity: i64,
    pub rates: Rates,
    pub active: bool,
}

pub async fn insert_accommodation<C: Conn>(
    conn: &C,
    new: &NewAccommodation,
    now: DateTime<Utc>,
) -> ApiResult<Accommodation> {
    let rows = conn
        .query(
            &format!(
                "INSERT INTO accommodations (name, capacity, base_price_cents, weekend_multiplier_bp, deposit_percent, active, created_at, updated_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7) RETURNING {ACCOMMODATION_COLUMNS}"
            ),
            &[
                new.name.as_str().into(),
                Value::Integer(new.capacity),
                Value::Integer(new.rates.base_price.0),
                Value::Integer(i64::from(new.rates.weekend_multiplier.basis_points())),
                Value::Integer(i64::from(new.rates.deposit_percent.value())),
                Value::Integer(i64::from(new.active)),
                ts(now).into(),
            ],
        )
        .await?;
    let row = rows.first().ok_or_else(|| anyhow::anyhow!("insert returned no row"))?;
    Ok(accommodation(row)?)
}

pub async fn find_accommodation<C: Conn>(conn: &C, id: i64) -> ApiResult<Option<Accommodation>> {
    let rows = conn
        .query(&format!("SELECT {ACCOMMODATION_COLUMNS} FROM accommodations WHERE id = ?1"), &[Value::Integer(id)])
        .await?;
    Ok(rows.first().map(accommodation).transpose()?)
}

/// An accommodation guests can book.
pub async fn bookable_accommodation<C: Conn>(conn: &C, id: i64) -> ApiResult<Accommodation> {
    match find_accommodation(conn, id).await? {
        Some(a) if a.active => Ok(a),
        _ => Err(ApiError::AccommodationNotFound),
    }
}

pub async fn list_accommodations<C: Conn>(conn: &C) -> ApiResult<Vec<Accommodation>> {
    let rows = conn.query(&format!("SELECT {ACCOMMODATION_COLUMNS} FROM accommodations ORDER BY id"), &[]).await?;
    Ok(rows.iter().map(accommodation).collect::<Result<_, _>>()?)
}

pub async fn update_accommodation<C: Conn>(
    conn: &C,
    a: &Accommodation,
    now: DateTime<Utc>,
) -> ApiResult<Accommodation> {
    let rows = conn
        .query(
            &format!(
                "UPDATE accommodations SET name = ?2, capacity = ?3, base_price_cents = ?4, weekend_multiplier_bp = ?5, \
                 deposit_percent = ?6, active = ?7, updated_at = ?8 WHERE id = ?1 RETURNING {ACCOMMODATION_COLUMNS}"
            ),
            &[
                Value::Integer(a.id),
                a.name.as_str().into(),
                Value::Integer(a.capacity),
                Value::Integer(a.rates.base_price.0),
                Value::Integer(i64::from(a.rates.weekend_multiplier.basis_points())),
                Value::Integer(i64::from(a.rates.deposit_percent.value())),
                Value::Integer(i64::from(a.active)),
                ts(now).into(),
            ],
        )
        .await?;
    let row = rows.first().ok_or(ApiError::AccommodationNotFound)?;
    Ok(accommodation(row)?)
}

// ---------------------------------------------------------------- reservations

#[derive(Debug, Clone)]
pub struct Reservation {
    pub id: i64,
    pub code: String,
    pub accommodation_id: i64,
    pub stay: Stay,
    pub guests: i64,
    pub channel: String,
    pub status: Status,
    pub contact_name: Option<String>,
    pub contact_phone: Option<String>,
    pub contact_email: Option<String>,
    pub total: Cents,
    pub deposit: Cents,
    pub created_at: String,
    pub expires_at: Option<DateTime<Utc>>,
    pub confirmed_at: Option<String>,
    pub cancelled_at: Option<String>,
}

impl Reservation {
    /// The status as anyone should see it at `now`: a hold past its expiry is expired even
    /// before a job or a write has marked it.
    pub fn status_at(&self, now: DateTime<Utc>) -> Status {
        match (self.status, self.expires_at) {
            (Status::PreReserved, Some(expiry)) if expiry <= now => Status::Expired,
            (status, _) => status,
        }
    }

    pub fn lock_value(&self) -> Option<String> {
        self.expires_at.map(|e| lock_value(e, &self.code))
    }
}

/// What the key-value lock holds: the holder's expiry by the app's clock, then its code.
pub fn lock_value(expires_at: DateTime<Utc>, code: &str) -> String {
    format!("{}:{code}", expires_at.timestamp_millis())
}

const RESERVATION_COLUMNS: &str = "id, code, accommodation_id, check_in, check_out, guests, channel, status, \
     contact_name, contact_phone, contact_email, total_cents, deposit_cents, created_at, expires_at, confirmed_at, cancelled_at";

/// Reads a reservation from the first 17 columns of `row`, in the order of
/// `RESERVATION_COLUMNS` (queries with more columns append theirs after).
pub fn reservation_from_row(row: &Row) -> Result<Reservation, DbError> {
    let stay = Stay::between(parse_day(&row.text(3)?)?, parse_day(&row.text(4)?)?)
        .map_err(|e| DbError::Decode(e.to_string()))?;
    let status = row.text(7)?;
    Ok(Reservation {
        id: row.int(0)?,
        code: row.text(1)?,
        accommodation_id: row.int(2)?,
        stay,
        guests: row.int(5)?,
        channel: row.text(6)?,
        status: Status::parse(&status).ok_or_else(|| DbError::Decode(format!("status {status:?}")))?,
        contact_name: row.opt_text(8)?,
        contact_phone: row.opt_text(9)?,
        contact_email: row.opt_text(10)?,
        total: Cents(row.int(11)?),
        deposit: Cents(row.int(12)?),
        created_at: row.text(13)?,
        expires_at: row.opt_text(14)?.as_deref().map(parse_ts).transpose()?,
        confirmed_at: row.opt_text(15)?,
        cancelled_at: row.opt_text(16)?,
    })
}

pub async fn find_reservation<C: Conn>(conn: &C, code: &ReservationCode) -> ApiResult<Option<Reservation>> {
    let rows = conn
        .query(&format!("SELECT {RESERVATION_COLUMNS} FROM reservations WHERE code = ?1"), &[code.as_str().into()])
        .await?;
    Ok(rows.first().map(reservation_from_row).transpose()?)
}

pub struct NewHold<'a> {
    pub code: &'a ReservationCode,
    pub accommodation_id: i64,
    pub stay: &'a Stay,
    pub guests: i64,
    pub channel: Channel,
    pub contact_name: &'a str,
    pub contact_phone: &'a str,
    pub contact_email: Option<&'a str>,
    pub total: Cents,
    pub deposit: Cents,
    pub expires_at: DateTime<Utc>,
}

/// Whether any night of `stay` is held by a reservation (expired holds excluded, as they are
/// released before this is asked within the same transaction).
pub async fn any_night_taken<C: Conn>(conn: &C, accommodation_id: i64, stay: &Stay) -> ApiResult<bool> {
    let rows = conn
        .query(
            "SELECT 1 FROM night_slots WHERE accommodation_id = ?1 AND night >= ?2 AND night < ?3 LIMIT 1",
            &[
                Value::Integer(accommodation_id),
                stay.check_in().to_string().into(),
                stay.check_out().to_string().into(),
            ],
        )
        .await?;
    Ok(!rows.is_empty())
}

/// Inserts the hold and claims its nights. Call inside a transaction after the overlap check;
/// the UNIQUE key on night_slots is the last word if anything slipped past it.
pub async fn insert_hold<C: Conn>(conn: &C, hold: &NewHold<'_>, now: DateTime<Utc>) -> ApiResult<i64> {
    let rows = conn
        .query(
            "INSERT INTO reservations (code, accommodation_id, check_in, check_out, guests, channel, status, \
             contact_name, contact_phone, contact_email, total_cents, deposit_cents, created_at, expires_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'pre_reserved', ?7, ?8, ?9, ?10, ?11, ?12, ?13) RETURNING id",
            &[
                hold.code.as_str().into(),
                Value::Integer(hold.accommodation_id),
                hold.stay.check_in().to_string().into(),
                hold.stay.check_out().to_string().into(),
                Value::Integer(hold.guests),
                hold.channel.as_str().into(),
                hold.contact_name.into(),
                hold.contact_phone.into(),
                hold.contact_email.into(),
                Value::Integer(hold.total.0),
                Value::Integer(hold.deposit.0),
                ts(now).into(),
                ts(hold.expires_at).into(),
            ],
        )
        .await?;
    let id = rows.first().ok_or_else(|| anyhow::anyhow!("insert returned no id"))?.int(0)?;
    claim_nights(conn, hold.accommodation_id, id, hold.stay).await?;
    Ok(id)
}

/// One statement claims every night of the stay (a recursive CTE lists them), so a claim is
/// all or nothing even outside a transaction.
pub async fn claim_nights<C: Conn>(conn: &C, accommodation_id: i64, reservation_id: i64, stay: &Stay) -> ApiResult<()> {
    conn.execute(
        "INSERT INTO night_slots (accommodation_id, night, reservation_id) \
         WITH RECURSIVE nights(night) AS (SELECT ?2 UNION ALL SELECT date(night, '+1 day') FROM nights WHERE date(night, '+1 day') < ?3) \
         SELECT ?1, night, ?4 FROM nights",
        &[
            Value::Integer(accommodation_id),
            stay.check_in().to_string().into(),
            stay.check_out().to_string().into(),
            Value::Integer(reservation_id),
        ],
    )
    .await?;
    Ok(())
}

pub async fn release_nights<C: Conn>(conn: &C, reservation_id: i64) -> ApiResult<()> {
    conn.execute("DELETE FROM night_slots WHERE reservation_id = ?1", &[Value::Integer(reservation_id)]).await?;
    Ok(())
}

/// A hold that has just been marked expired; its lock may need releasing.
#[derive(Debug, Clone)]
pub struct ExpiredHold {
    pub accommodation_id: i64,
    pub stay: Stay,
    pub lock_value: String,
}

/// Marks overdue holds expired, frees their nights and counts them, inside the caller's
/// transaction. `scope` limits it to the holds touching one stay (a booking) or takes up to
/// `limit` of any (the tick). Each hold is counted exactly once: only the statement that moves
/// it out of `pre_reserved` sees it.
pub async fn expire_overdue<C: Conn>(
    conn: &C,
    now: DateTime<Utc>,
    scope: Option<(i64, &Stay)>,
    limit: i64,
) -> ApiResult<Vec<ExpiredHold>> {
    let now_text: Value = ts(now).into();
    let rows = match scope {
        Some((accommodation_id, stay)) => {
            conn.query(
                "UPDATE reservations SET status = 'expired', expired_at = ?1 \
                 WHERE status = 'pre_reserved' AND expires_at <= ?1 AND id IN \
                 (SELECT DISTINCT reservation_id FROM night_slots WHERE accommodation_id = ?2 AND night >= ?3 AND night < ?4) \
                 RETURNING id, accommodation_id, check_in, check_out, expires_at, code",
                &[
                    now_text,
                    Value::Integer(accommodation_id),
                    stay.check_in().to_string().into(),
                    stay.check_out().to_string().into(),
                ],
            )
            .await?
        }
        None => {
            conn.query(
                "UPDATE reservations SET status = 'expired', expired_at = ?1 \
                 WHERE id IN (SELECT id FROM reservations WHERE status = 'pre_reserved' AND expires_at <= ?1 ORDER BY expires_at LIMIT ?2) \
                 RETURNING id, accommodation_id, check_in, check_out, expires_at, code",
                &[now_text, Value::Integer(limit)],
            )
            .await?
        }
    };
    let mut expired = Vec::with_capacity(rows.len());
    for row in &rows {
        release_nights(conn, row.int(0)?).await?;
        crate::notify::queue(conn, row.int(0)?, reservas_domain::outbox::MessageKind::Expired, now).await?;
        let stay = Stay::between(parse_day(&row.text(2)?)?, parse_day(&row.text(3)?)?)
            .map_err(|e| DbError::Decode(e.to_string()))?;
        expired.push(ExpiredHold {
            accommodation_id: row.int(1)?,
            stay,
            lock_value: lock_value(parse_ts(&row.text(4)?)?, &row.text(5)?),
        });
    }
    bump(conn, reservas_domain::metrics::PRERESERVATIONS_EXPIRED, "", expired.len() as i64).await?;
    Ok(expired)
}

pub async fn mark_confirmed<C: Conn>(conn: &C, id: i64, now: DateTime<Utc>, by: &str) -> ApiResult<bool> {
    let changed = conn
        .execute(
            "UPDATE reservations SET status = 'confirmed', confirmed_at = ?2, confirmed_by = ?3 WHERE id = ?1 AND status = 'pre_reserved'",
            &[Value::Integer(id), ts(now).into(), by.into()],
        )
        .await?;
    Ok(changed == 1)
}

pub async fn mark_cancelled<C: Conn>(conn: &C, id: i64, now: DateTime<Utc>, reason: Option<&str>) -> ApiResult<bool> {
    let changed = conn
        .execute(
            "UPDATE reservations SET status = 'cancelled', cancelled_at = ?2, cancel_reason = ?3 \
             WHERE id = ?1 AND status IN ('pre_reserved', 'confirmed')",
            &[Value::Integer(id), ts(now).into(), reason.into()],
        )
        .await?;
    Ok(changed == 1)
}

/// The taken nights of `[from, to)`: nights held by a live hold, a confirmed stay or a block.
/// Holds past their expiry count as free even if no one has marked them yet.
pub async fn taken_nights<C: Conn>(
    conn: &C,
    accommodation_id: i64,
    from: NaiveDate,
    to: NaiveDate,
    now: DateTime<Utc>,
) -> ApiResult<Vec<NaiveDate>> {
    let rows = conn
        .query(
            "SELECT s.night FROM night_slots s JOIN reservations r ON r.id = s.reservation_id \
             WHERE s.accommodation_id = ?1 AND s.night >= ?2 AND s.night < ?3 \
             AND NOT (r.status = 'pre_reserved' AND r.expires_at <= ?4) ORDER BY s.night",
            &[Value::Integer(accommodation_id), from.to_string().into(), to.to_string().into(), ts(now).into()],
        )
        .await?;
    Ok(rows.iter().map(|r| r.text(0).and_then(|t| parse_day(&t))).collect::<Result<_, _>>()?)
}
