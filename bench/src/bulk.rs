//! Bulk loading straight through SQL: cabins, and reservations with their night slots in big
//! transactions (recursive CTEs, so each batch is two statements).

use crate::plan::first_night;
use anyhow::{anyhow, Result};
use chrono::Utc;
use reservas_app::ports::{Conn, Value};
use reservas_app::store::{self, ts};
use std::ops::Range;

/// Reservations per transaction.
pub const BATCH: i64 = 50_000;

/// Days between the check-ins of one cabin's consecutive bulk stays (two nights each), so
/// every cabin keeps a free two-night gap between stays.
pub const BULK_PERIOD_DAYS: i64 = 4;

/// Creates `count` cabins for four guests in one statement; returns their ids in order.
pub async fn accommodations<C: Conn>(conn: &C, count: usize) -> Result<Vec<i64>> {
    let rows = conn
        .query(
            "INSERT INTO accommodations (name, capacity, base_price_cents, created_at, updated_at) \
             WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < ?1) \
             SELECT 'Bulk cabin ' || n, 4, 5000000, ?2, ?2 FROM seq RETURNING id",
            &[Value::Integer(count as i64), ts(Utc::now()).into()],
        )
        .await?;
    let mut ids = rows.iter().map(|r| r.int(0)).collect::<Result<Vec<_>, _>>()?;
    ids.sort_unstable();
    Ok(ids)
}

/// Inserts bulk reservations number `rows` (ids `row + 1`; the table must hold no others in
/// that id range) over the cabins `first_cabin .. first_cabin + cabins`, round-robin: row `r`
/// is the `r / cabins`-th stay of its cabin, two nights starting [`BULK_PERIOD_DAYS`] apart
/// from [`first_night`]. Half are confirmed, half live holds; every one claims its nights.
pub async fn reservations<C: Conn>(conn: &C, first_cabin: i64, cabins: i64, rows: Range<i64>) -> Result<()> {
    let now = ts(Utc::now());
    let first_night = first_night().to_string();
    let mut start = rows.start;
    while start < rows.end {
        let end = (start + BATCH).min(rows.end);
        store::transaction(conn, async {
            conn.execute(
                "INSERT INTO reservations (id, code, accommodation_id, check_in, check_out, guests, channel, status, \
                 contact_name, contact_phone, total_cents, deposit_cents, created_at, expires_at, confirmed_at) \
                 WITH RECURSIVE seq(r) AS (SELECT ?1 UNION ALL SELECT r + 1 FROM seq WHERE r + 1 < ?2) \
                 SELECT r + 1, hex(randomblob(8)), ?3 + r % ?4, \
                 date(?6, '+' || (?7 * (r / ?4)) || ' days'), date(?6, '+' || (?7 * (r / ?4) + 2) || ' days'), \
                 2, 'web', CASE WHEN r % 2 = 0 THEN 'confirmed' ELSE 'pre_reserved' END, \
                 'Bulk Guest', '+5491155550000', 10000000, 3000000, ?5, \
                 CASE WHEN r % 2 = 0 THEN NULL ELSE '2099-01-01T00:00:00.000Z' END, \
                 CASE WHEN r % 2 = 0 THEN ?5 ELSE NULL END FROM seq",
                &[
                    Value::Integer(start),
                    Value::Integer(end),
                    Value::Integer(first_cabin),
                    Value::Integer(cabins),
                    now.as_str().into(),
                    first_night.as_str().into(),
                    Value::Integer(BULK_PERIOD_DAYS),
                ],
            )
            .await?;
            conn.execute(
                "INSERT INTO night_slots (accommodation_id, night, reservation_id) \
                 SELECT r.accommodation_id, date(r.check_in, '+' || k.n || ' days'), r.id \
                 FROM reservations r, (SELECT 0 AS n UNION ALL SELECT 1) k \
                 WHERE r.id > ?1 AND r.id <= ?2 ORDER BY 1, 2",
                &[Value::Integer(start), Value::Integer(end)],
            )
            .await?;
            Ok(())
        })
        .await
        .map_err(|e| anyhow!("bulk rows {start}..{end}: {e}"))?;
        start = end;
    }
    Ok(())
}
