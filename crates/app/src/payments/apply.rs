//! Recording a fetched payment and doing what it means, in one `BEGIN IMMEDIATE` transaction.
//!
//! Idempotency comes from the database, not from the notification: the payment row is keyed
//! by Mercado Pago's id (UNIQUE), each state by (id, status, date_last_updated), and a snapshot
//! replaces the stored state only when it is newer. Effects (confirming, flagging) run only on
//! such a forward move, and an approval's effect only while the payment has no resolution yet,
//! so 50 concurrent deliveries of one approval, serialised on the write lock, apply it once.

use super::records::{self, Resolution};
use crate::booking::{self, ConfirmOutcome, ConfirmedBy};
use crate::error::{ApiError, ApiResult};
use crate::notify;
use crate::ports::{Conn, Db, Env, Value};
use crate::store::{self, ts, ExpiredHold, Reservation};
use chrono::{DateTime, Utc};
use reservas_domain::mercadopago::{PaymentSnapshot, PaymentStatus};
use reservas_domain::metrics as m;
use reservas_domain::outbox::MessageKind;
use reservas_domain::{ReservationCode, Status};

/// What recording one snapshot did.
#[derive(Debug, Default)]
pub struct Applied {
    /// The snapshot became the payment's current state (false: a duplicate or an older one).
    pub moved: bool,
    /// The resolution this call decided, if any.
    pub resolution: Option<Resolution>,
    /// A flag this call raised on the reservation.
    pub flagged: Option<String>,
}

/// Holds whose key-value locks are stale once the transaction commits.
#[derive(Default)]
struct Stale {
    reservation: Option<Reservation>,
    expired: Vec<ExpiredHold>,
}

/// Records `snapshot` (fetched after delivery number `through`, which it marks processed) and
/// applies its effects.
pub async fn record<E: Env>(
    env: &E,
    snapshot: &PaymentSnapshot,
    raw: &serde_json::Value,
    through: i64,
) -> ApiResult<Applied> {
    let conn = env.db().connect().await?;
    let now = env.clock().now();
    let raw = raw.to_string();
    let mut stale = Stale::default();
    let applied = store::transaction(&conn, async {
        let applied = apply(&conn, snapshot, &raw, now, &mut stale).await?;
        records::mark_processed(&conn, &snapshot.id, through, now).await?;
        Ok(applied)
    })
    .await?;
    if let Some(r) = &stale.reservation {
        booking::release_lock_of(env, r).await;
    }
    booking::release_expired_locks(env, &stale.expired).await;
    if applied.moved {
        tracing::info!(
            payment_id = %snapshot.id,
            status = %snapshot.status_text,
            resolution = applied.resolution.map(Resolution::as_str),
            flagged = applied.flagged.as_deref(),
            "payment recorded"
        );
    }
    Ok(applied)
}

async fn apply<C: Conn>(
    conn: &C,
    snapshot: &PaymentSnapshot,
    raw: &str,
    now: DateTime<Utc>,
    stale: &mut Stale,
) -> ApiResult<Applied> {
    let stored = records::find_payment(conn, &snapshot.id).await?;
    let moved = stored.as_ref().is_none_or(|s| snapshot.version().supersedes(&s.version));
    let (_, first_in_status) = records::record_change(conn, snapshot, moved, raw, now).await?;
    if first_in_status {
        store::bump(conn, m::PAYMENTS_RECEIVED, &format!("status={}", snapshot.status.as_str()), 1).await?;
    }
    if !moved {
        return Ok(Applied::default());
    }
    let code = snapshot.external_reference.as_deref().and_then(ReservationCode::parse);
    let reservation = match &code {
        Some(code) => store::find_reservation(conn, code).await?,
        None => None,
    };
    let (row, resolution) = match stored {
        None => (records::insert_payment(conn, snapshot, reservation.as_ref().map(|r| r.id), raw, now).await?, None),
        Some(s) => {
            records::update_payment(conn, snapshot, raw, now).await?;
            (s.id, s.resolution)
        }
    };
    let mut applied = Applied { moved: true, ..Applied::default() };
    match snapshot.status {
        PaymentStatus::Approved if resolution.is_none() => {
            let decided = match reservation {
                None => Resolution::Orphan,
                Some(r) => approve(conn, snapshot, r, now, stale).await?,
            };
            records::set_resolution(conn, row, decided).await?;
            applied.resolution = Some(decided);
        }
        status if status.reverses_money() => {
            let confirmed = reservation.as_ref().filter(|r| r.status == Status::Confirmed);
            match (resolution, confirmed) {
                (Some(Resolution::Confirmed | Resolution::AlreadyConfirmed | Resolution::Partial), Some(r)) => {
                    // Not cancelled on our own: the stay may have been paid some other way.
                    let flag = format!("payment_{}", status.as_str());
                    let detail = format!("Mercado Pago payment {} is {}", snapshot.id, status.as_str());
                    records::add_flag(conn, r.id, &flag, Some(&detail), now).await?;
                    applied.flagged = Some(flag);
                }
                (Some(Resolution::NeedsRefund | Resolution::Orphan | Resolution::Partial), _)
                    if matches!(status, PaymentStatus::Refunded | PaymentStatus::ChargedBack) =>
                {
                    records::set_resolution(conn, row, Resolution::Refunded).await?;
                    applied.resolution = Some(Resolution::Refunded);
                }
                _ => {}
            }
        }
        _ => {}
    }
    Ok(applied)
}

/// An approved payment for reservation `r`: confirm it if the amount covers the deposit and
/// the stay can still be had. The guest hears once: "confirmed" when it confirms (that message
/// acknowledges the payment), "payment received" otherwise.
async fn approve<C: Conn>(
    conn: &C,
    snapshot: &PaymentSnapshot,
    r: Reservation,
    now: DateTime<Utc>,
    stale: &mut Stale,
) -> ApiResult<Resolution> {
    let id = r.id;
    let resolution = decide_approved(conn, snapshot, r, now, stale).await?;
    if resolution != Resolution::Confirmed {
        notify::queue(conn, id, MessageKind::PaymentReceived, now).await?;
    }
    Ok(resolution)
}

async fn decide_approved<C: Conn>(
    conn: &C,
    snapshot: &PaymentSnapshot,
    r: Reservation,
    now: DateTime<Utc>,
    stale: &mut Stale,
) -> ApiResult<Resolution> {
    if !snapshot.covers(r.deposit) {
        return Ok(Resolution::Partial);
    }
    match r.status {
        Status::PreReserved => {
            let code = booking::parse_code(&r.code)?;
            let by = ConfirmedBy::Payment(snapshot.id.to_string());
            match booking::confirm_in_tx(conn, &code, now, &by).await {
                Ok(ConfirmOutcome::Confirmed(_)) => Ok(Resolution::Confirmed),
                Ok(ConfirmOutcome::Expired(expired)) => {
                    let resolution = reclaim(conn, snapshot, &expired, now, stale).await?;
                    stale.reservation = Some(expired);
                    Ok(resolution)
                }
                // The row was read in this same transaction, so these cannot happen; if they
                // did, the money must still land somewhere an admin sees it.
                Err(ApiError::InvalidState(_) | ApiError::Expired | ApiError::NotFound(_)) => {
                    Ok(Resolution::NeedsRefund)
                }
                Err(other) => Err(other),
            }
        }
        Status::Expired => reclaim(conn, snapshot, &r, now, stale).await,
        Status::Confirmed => Ok(Resolution::AlreadyConfirmed),
        Status::Cancelled | Status::Blocked => Ok(Resolution::NeedsRefund),
    }
}

/// A payment approved after its hold expired: the hold comes back, confirmed, only if every
/// night is still free; otherwise the money needs a refund and the other guest keeps the
/// nights.
async fn reclaim<C: Conn>(
    conn: &C,
    snapshot: &PaymentSnapshot,
    r: &Reservation,
    now: DateTime<Utc>,
    stale: &mut Stale,
) -> ApiResult<Resolution> {
    // Overdue holds of others on these nights do not count against the payer.
    let freed = store::expire_overdue(conn, now, Some((r.accommodation_id, &r.stay)), i64::MAX).await?;
    stale.expired.extend(freed);
    if store::any_night_taken(conn, r.accommodation_id, &r.stay).await? {
        return Ok(Resolution::NeedsRefund);
    }
    let changed = conn
        .execute(
            // The same record as `booking::ConfirmedBy::Payment` writes.
            "UPDATE reservations SET status = 'confirmed', confirmed_at = ?2, confirmed_by = ?3 \
             WHERE id = ?1 AND status = 'expired'",
            &[Value::Integer(r.id), ts(now).into(), format!("payment:{}", snapshot.id).into()],
        )
        .await?;
    if changed != 1 {
        return Ok(Resolution::NeedsRefund);
    }
    store::claim_nights(conn, r.accommodation_id, r.id, &r.stay).await?;
    store::bump(conn, m::RESERVATIONS_CONFIRMED, "source=payment", 1).await?;
    notify::queue(conn, r.id, MessageKind::Confirmed, now).await?;
    Ok(Resolution::Confirmed)
}
