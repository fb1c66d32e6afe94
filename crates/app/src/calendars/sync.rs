//! Applying a feed's snapshot to the night slots.
//!
//! Per source (one configured feed, or the bodies posted for one platform) the stored events
//! are the last snapshot. A new snapshot:
//! - adds events with new UIDs: a `blocked` reservation (channel `ical`) claims their nights;
//! - moves events whose UID stays but whose dates changed: the same reservation row releases
//!   and re-claims its nights in one transaction (an Airbnb rolling window sliding by a day is
//!   a move, never a delete and a create);
//! - releases events whose UID is gone (the reservation becomes `cancelled`);
//! - leaves alone events skipped as unreadable but known from before (no guessing).
//!
//! Nights already held by someone else are never taken. When one of OUR holds or confirmed
//! stays holds them, the clash is recorded in `ical_conflicts` (counted, listed, in health);
//! the event still blocks its other nights, as one `blocked` reservation per free run. When
//! another imported event holds them (two platforms listing the same nights, usually one
//! echoing our export back), the first holder keeps them and no conflict is recorded. An event
//! that does not hold all its nights is re-planned at every sync, so it takes nights as soon as
//! they are freed and its conflicts close themselves when they no longer hold.

use crate::booking::release_expired_locks;
use crate::error::ApiResult;
use crate::ports::{Conn, Db, Env, Value};
use crate::store::{self, ts, ExpiredHold};
use chrono::{DateTime, NaiveDate, Utc};
use reservas_domain::ical::{EventKind, FeedEvent, ParsedFeed, Platform};
use reservas_domain::metrics as m;
use reservas_domain::stay::today_in_argentina;
use reservas_domain::Stay;
use serde::Serialize;
use serde_json::{json, Value as Json};
use std::collections::{HashMap, HashSet};

/// Events applied per transaction: bounds how long one sync holds the write lock, so bookings
/// keep flowing during a large import. Each event's change is atomic on its own.
const EVENTS_PER_TRANSACTION: usize = 100;

/// Where a snapshot comes from.
#[derive(Debug, Clone)]
pub struct Source {
    pub accommodation_id: i64,
    pub feed_id: Option<i64>,
    pub platform: Platform,
}

impl Source {
    pub fn feed(accommodation_id: i64, feed_id: i64, platform: Platform) -> Source {
        Source { accommodation_id, feed_id: Some(feed_id), platform }
    }

    pub fn body(accommodation_id: i64, platform: Platform) -> Source {
        Source { accommodation_id, feed_id: None, platform }
    }

    /// The key the snapshot is stored under.
    pub fn key(&self) -> String {
        match self.feed_id {
            Some(id) => format!("feed:{id}"),
            None => format!("import:{}", self.platform.as_str()),
        }
    }
}

/// What a sync did.
#[derive(Debug, Default, Clone, Serialize)]
pub struct SyncReport {
    pub added: usize,
    pub moved: usize,
    pub released: usize,
    pub unchanged: usize,
    /// Open conflicts of this source after the sync.
    pub conflicts: i64,
    pub skipped: Vec<Json>,
}

/// An event of the stored snapshot.
struct StoredEvent {
    id: i64,
    stay: Stay,
    kind: EventKind,
    complete: bool,
}

fn day(text: &str) -> ApiResult<NaiveDate> {
    Ok(NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|e| anyhow::anyhow!("stored date {text:?}: {e}"))?)
}

fn stay_of(check_in: &str, check_out: &str) -> ApiResult<Stay> {
    Ok(Stay::between(day(check_in)?, day(check_out)?).map_err(|e| anyhow::anyhow!("stored stay: {e}"))?)
}

async fn stored_events<C: Conn>(conn: &C, source: &Source) -> ApiResult<HashMap<String, StoredEvent>> {
    let rows = conn
        .query(
            "SELECT id, uid, check_in, check_out, kind, complete FROM ical_events WHERE accommodation_id = ?1 AND source = ?2",
            &[Value::Integer(source.accommodation_id), source.key().into()],
        )
        .await?;
    let mut events = HashMap::with_capacity(rows.len());
    for row in &rows {
        let kind = EventKind::parse(&row.text(4)?).unwrap_or(EventKind::Reserved);
        events.insert(
            row.text(1)?,
            StoredEvent {
                id: row.int(0)?,
                stay: stay_of(&row.text(2)?, &row.text(3)?)?,
                kind,
                complete: row.int(5)? == 1,
            },
        );
    }
    Ok(events)
}

enum Work<'a> {
    Add(&'a FeedEvent),
    Replan { id: i64, event: &'a FeedEvent, moved: bool },
    Release { id: i64, uid: String },
}

/// Applies `feed` as the new snapshot of `source`.
pub async fn apply<E: Env>(env: &E, source: &Source, feed: &ParsedFeed) -> ApiResult<SyncReport> {
    let conn = env.db().connect().await?;
    let mut report = SyncReport {
        skipped: feed.skipped.iter().map(|s| json!({ "uid": s.uid, "reason": s.reason })).collect(),
        ..SyncReport::default()
    };
    let today = today_in_argentina(env.clock().now());
    let mut stored = stored_events(&conn, source).await?;
    let mut work = Vec::new();
    for event in &feed.events {
        match stored.remove(&event.uid) {
            // Already over: nothing to block; a block we hold from before stays as history.
            Some(_) if event.stay.check_out() <= today => report.unchanged += 1,
            None if event.stay.check_out() <= today => {}
            None => work.push(Work::Add(event)),
            Some(s) if s.stay == event.stay && s.kind == event.kind && s.complete => report.unchanged += 1,
            Some(s) => work.push(Work::Replan { id: s.id, event, moved: s.stay != event.stay }),
        }
    }
    // Known UIDs the feed still lists but we could not read keep their blocks.
    let kept: HashSet<&str> = feed.skipped.iter().filter_map(|s| s.uid.as_deref()).collect();
    for (uid, s) in stored {
        if !kept.contains(uid.as_str()) {
            work.push(Work::Release { id: s.id, uid });
        }
    }

    for chunk in work.chunks(EVENTS_PER_TRANSACTION) {
        let now = env.clock().now();
        let (freed, counts) = store::transaction(&conn, async {
            let mut freed = Vec::new();
            let mut counts = (0, 0, 0);
            for item in chunk {
                match item {
                    Work::Add(event) => {
                        plan_event(&conn, source, None, event, now, &mut freed).await?;
                        counts.0 += 1;
                    }
                    Work::Replan { id, event, moved } => {
                        plan_event(&conn, source, Some(*id), event, now, &mut freed).await?;
                        if *moved {
                            counts.1 += 1;
                        }
                    }
                    Work::Release { id, uid } => {
                        release_event(&conn, source, *id, uid, now, "the event is gone from the feed").await?;
                        counts.2 += 1;
                    }
                }
            }
            Ok((freed, counts))
        })
        .await?;
        release_expired_locks(env, &freed).await;
        report.added += counts.0;
        report.moved += counts.1;
        report.released += counts.2;
    }
    report.unchanged += work.iter().filter(|w| matches!(w, Work::Replan { moved: false, .. })).count();
    report.conflicts = conn
        .query(
            "SELECT count(*) FROM ical_conflicts WHERE accommodation_id = ?1 AND source = ?2 AND status = 'open'",
            &[Value::Integer(source.accommodation_id), source.key().into()],
        )
        .await?
        .first()
        .map(|r| r.int(0))
        .transpose()?
        .unwrap_or(0);
    Ok(report)
}

/// One of our own reservations holding some of an event's nights.
struct Ours {
    id: i64,
    code: String,
    stay: Stay,
}

/// Gives an event the free nights of its range, in one transaction with the caller: frees
/// overdue holds on those nights, releases the event's current blocks, claims every free run
/// (reusing the event's reservation rows, so a moved event keeps its reservation), and
/// records or closes its conflicts with our own stays.
async fn plan_event<C: Conn>(
    conn: &C,
    source: &Source,
    id: Option<i64>,
    event: &FeedEvent,
    now: DateTime<Utc>,
    freed: &mut Vec<ExpiredHold>,
) -> ApiResult<()> {
    let acc = source.accommodation_id;
    let stay = &event.stay;
    freed.extend(store::expire_overdue(conn, now, Some((acc, stay)), i64::MAX).await?);
    let dates = [stay.check_in().to_string(), stay.check_out().to_string()];
    let event_id = match id {
        Some(id) => {
            conn.execute(
                "UPDATE ical_events SET check_in = ?2, check_out = ?3, kind = ?4, updated_at = ?5 WHERE id = ?1",
                &[
                    Value::Integer(id),
                    dates[0].as_str().into(),
                    dates[1].as_str().into(),
                    event.kind.as_str().into(),
                    ts(now).into(),
                ],
            )
            .await?;
            id
        }
        None => conn
            .query(
                "INSERT INTO ical_events (accommodation_id, source, feed_id, platform, uid, check_in, check_out, kind, complete, created_at, updated_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 0, ?9, ?9) RETURNING id",
                &[
                    Value::Integer(acc),
                    source.key().into(),
                    source.feed_id.into(),
                    source.platform.as_str().into(),
                    event.uid.as_str().into(),
                    dates[0].as_str().into(),
                    dates[1].as_str().into(),
                    event.kind.as_str().into(),
                    ts(now).into(),
                ],
            )
            .await?
            .first()
            .ok_or_else(|| anyhow::anyhow!("insert returned no id"))?
            .int(0)?,
    };
    let blocks = block_ids(conn, event_id).await?;
    for block in &blocks {
        store::release_nights(conn, *block).await?;
    }

    // Who holds the event's nights now.
    let rows = conn
        .query(
            "SELECT s.night, r.id, r.code, r.channel, r.check_in, r.check_out FROM night_slots s \
             JOIN reservations r ON r.id = s.reservation_id \
             WHERE s.accommodation_id = ?1 AND s.night >= ?2 AND s.night < ?3 ORDER BY s.night",
            &[Value::Integer(acc), dates[0].as_str().into(), dates[1].as_str().into()],
        )
        .await?;
    let mut taken = HashSet::with_capacity(rows.len());
    let mut ours: Vec<Ours> = Vec::new();
    for row in &rows {
        taken.insert(day(&row.text(0)?)?);
        let id = row.int(1)?;
        if row.text(3)? != "ical" && !ours.iter().any(|o| o.id == id) {
            ours.push(Ours { id, code: row.text(2)?, stay: stay_of(&row.text(4)?, &row.text(5)?)? });
        }
    }
    let runs = free_runs(stay, &taken);

    for (i, run) in runs.iter().enumerate() {
        let reservation_id = match blocks.get(i) {
            Some(&rid) => {
                conn.execute(
                    "UPDATE reservations SET check_in = ?2, check_out = ?3, status = 'blocked' WHERE id = ?1",
                    &[Value::Integer(rid), run.check_in().to_string().into(), run.check_out().to_string().into()],
                )
                .await?;
                rid
            }
            None => {
                let rid = insert_block(conn, acc, run, now).await?;
                conn.execute(
                    "INSERT INTO ical_blocks (reservation_id, event_id) VALUES (?1, ?2)",
                    &[Value::Integer(rid), Value::Integer(event_id)],
                )
                .await?;
                rid
            }
        };
        store::claim_nights(conn, acc, reservation_id, run).await?;
    }
    for &rid in blocks.iter().skip(runs.len()) {
        retire_block(conn, rid, now, "ical: its nights are held by another reservation").await?;
    }
    conn.execute(
        "UPDATE ical_events SET complete = ?2 WHERE id = ?1",
        &[Value::Integer(event_id), Value::Integer(i64::from(taken.is_empty()))],
    )
    .await?;
    record_conflicts(conn, source, event, &ours, now).await
}

/// The maximal runs of consecutive nights of `stay` not in `taken`.
fn free_runs(stay: &Stay, taken: &HashSet<NaiveDate>) -> Vec<Stay> {
    let mut runs = Vec::new();
    let mut start: Option<NaiveDate> = None;
    for night in stay.each_night() {
        match (taken.contains(&night), start) {
            (false, None) => start = Some(night),
            (true, Some(s)) => {
                runs.extend(Stay::between(s, night).ok());
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        runs.extend(Stay::between(s, stay.check_out()).ok());
    }
    runs
}

async fn block_ids<C: Conn>(conn: &C, event_id: i64) -> ApiResult<Vec<i64>> {
    conn.query(
        "SELECT reservation_id FROM ical_blocks WHERE event_id = ?1 ORDER BY reservation_id",
        &[Value::Integer(event_id)],
    )
    .await?
    .iter()
    .map(|r| Ok(r.int(0)?))
    .collect()
}

/// A `blocked` reservation of channel `ical`: no guest, no money, a code for its export UID.
async fn insert_block<C: Conn>(conn: &C, accommodation_id: i64, run: &Stay, now: DateTime<Utc>) -> ApiResult<i64> {
    let code = crate::random::reservation_code();
    let rows = conn
        .query(
            "INSERT INTO reservations (code, accommodation_id, check_in, check_out, guests, channel, status, total_cents, deposit_cents, created_at) \
             VALUES (?1, ?2, ?3, ?4, 1, 'ical', 'blocked', 0, 0, ?5) RETURNING id",
            &[
                code.as_str().into(),
                Value::Integer(accommodation_id),
                run.check_in().to_string().into(),
                run.check_out().to_string().into(),
                ts(now).into(),
            ],
        )
        .await?;
    Ok(rows.first().ok_or_else(|| anyhow::anyhow!("insert returned no id"))?.int(0)?)
}

/// Frees a block's nights and ends it (`cancelled`, with the reason).
async fn retire_block<C: Conn>(conn: &C, reservation_id: i64, now: DateTime<Utc>, reason: &str) -> ApiResult<()> {
    store::release_nights(conn, reservation_id).await?;
    conn.execute(
        "UPDATE reservations SET status = 'cancelled', cancelled_at = ?2, cancel_reason = ?3 WHERE id = ?1 AND status = 'blocked'",
        &[Value::Integer(reservation_id), ts(now).into(), reason.into()],
    )
    .await?;
    conn.execute("DELETE FROM ical_blocks WHERE reservation_id = ?1", &[Value::Integer(reservation_id)]).await?;
    Ok(())
}

/// Releases an event: its blocks end, its open conflicts close, its snapshot row goes.
pub async fn release_event<C: Conn>(
    conn: &C,
    source: &Source,
    event_id: i64,
    uid: &str,
    now: DateTime<Utc>,
    why: &str,
) -> ApiResult<()> {
    for rid in block_ids(conn, event_id).await? {
        retire_block(conn, rid, now, &format!("ical: {why}")).await?;
    }
    conn.execute(
        "UPDATE ical_conflicts SET status = 'resolved', resolved_at = ?4, resolution = ?5 \
         WHERE accommodation_id = ?1 AND source = ?2 AND uid = ?3 AND status = 'open'",
        &[Value::Integer(source.accommodation_id), source.key().into(), uid.into(), ts(now).into(), why.into()],
    )
    .await?;
    conn.execute("DELETE FROM ical_events WHERE id = ?1", &[Value::Integer(event_id)]).await?;
    Ok(())
}

/// Opens a conflict for each of our reservations the event clashes with (counted once, when
/// first seen), refreshes the ones still there, and closes the ones that no longer hold.
///
/// A closure-type event (`Not available`, `CLOSED`, `Blocked`) with exactly the dates of one of
/// our stays is most likely that platform showing our own export back to us: it is recorded
/// like any clash but marked `likely_echo`, and it is neither counted in
/// `ical_conflicts_total` nor turns health degraded. Nothing is hidden from the listing.
async fn record_conflicts<C: Conn>(
    conn: &C,
    source: &Source,
    event: &FeedEvent,
    ours: &[Ours],
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let key = source.key();
    let acc = Value::Integer(source.accommodation_id);
    let open = conn
        .query(
            "SELECT id, reservation_id FROM ical_conflicts WHERE accommodation_id = ?1 AND source = ?2 AND uid = ?3 AND status = 'open'",
            &[acc.clone(), key.as_str().into(), event.uid.as_str().into()],
        )
        .await?;
    let mut open_by_reservation = HashMap::new();
    for row in &open {
        open_by_reservation.insert(row.int(1)?, row.int(0)?);
    }
    let mut counted = 0;
    for o in ours {
        let dates = [event.stay.check_in().to_string(), event.stay.check_out().to_string()];
        if let Some(conflict_id) = open_by_reservation.remove(&o.id) {
            conn.execute(
                "UPDATE ical_conflicts SET last_seen_at = ?2, check_in = ?3, check_out = ?4 WHERE id = ?1",
                &[Value::Integer(conflict_id), ts(now).into(), dates[0].as_str().into(), dates[1].as_str().into()],
            )
            .await?;
            continue;
        }
        let echo = event.kind == EventKind::Unavailable && o.stay == event.stay;
        conn.execute(
            "INSERT INTO ical_conflicts (accommodation_id, source, feed_id, platform, uid, check_in, check_out, reservation_id, \
             reservation_code, likely_echo, status, detected_at, last_seen_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 'open', ?11, ?11)",
            &[
                acc.clone(),
                key.as_str().into(),
                source.feed_id.into(),
                source.platform.as_str().into(),
                event.uid.as_str().into(),
                dates[0].as_str().into(),
                dates[1].as_str().into(),
                Value::Integer(o.id),
                o.code.as_str().into(),
                Value::Integer(i64::from(echo)),
                ts(now).into(),
            ],
        )
        .await?;
        tracing::warn!(
            accommodation_id = source.accommodation_id,
            source = %key,
            code = %o.code,
            likely_echo = echo,
            "calendar conflict: an imported event clashes with our reservation"
        );
        if !echo {
            counted += 1;
        }
    }
    for conflict_id in open_by_reservation.into_values() {
        conn.execute(
            "UPDATE ical_conflicts SET status = 'resolved', resolved_at = ?2, resolution = ?3 WHERE id = ?1",
            &[Value::Integer(conflict_id), ts(now).into(), "no longer overlapping".into()],
        )
        .await?;
    }
    store::bump(conn, m::ICAL_CONFLICTS, "", counted).await?;
    Ok(())
}

/// Releases every event of a source (its feed is being deleted).
pub async fn release_source<C: Conn>(conn: &C, source: &Source, now: DateTime<Utc>) -> ApiResult<usize> {
    let rows = conn
        .query(
            "SELECT id, uid FROM ical_events WHERE accommodation_id = ?1 AND source = ?2",
            &[Value::Integer(source.accommodation_id), source.key().into()],
        )
        .await?;
    for row in &rows {
        release_event(conn, source, row.int(0)?, &row.text(1)?, now, "the feed was deleted").await?;
    }
    // Conflicts whose event was already gone are closed too.
    conn.execute(
        "UPDATE ical_conflicts SET status = 'resolved', resolved_at = ?3, resolution = 'the feed was deleted' \
         WHERE accommodation_id = ?1 AND source = ?2 AND status = 'open'",
        &[Value::Integer(source.accommodation_id), source.key().into(), ts(now).into()],
    )
    .await?;
    Ok(rows.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn free_runs_split_around_taken_nights() {
        let stay = Stay::between(d("2027-03-01"), d("2027-03-08")).unwrap();
        let taken: HashSet<NaiveDate> = [d("2027-03-03"), d("2027-03-04"), d("2027-03-07")].into();
        let runs = free_runs(&stay, &taken);
        let pairs: Vec<(NaiveDate, NaiveDate)> = runs.iter().map(|r| (r.check_in(), r.check_out())).collect();
        assert_eq!(pairs, vec![(d("2027-03-01"), d("2027-03-03")), (d("2027-03-05"), d("2027-03-07"))]);
        assert_eq!(free_runs(&stay, &HashSet::new()), vec![stay]);
        let all: HashSet<NaiveDate> = stay.each_night().collect();
        assert!(free_runs(&stay, &all).is_empty());
    }
}
