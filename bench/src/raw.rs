//! The raw baseline: the hold transaction of `booking::pre_reserve` (crates/app/src/store.rs),
//! statement for statement, straight on libSQL/SQLite with no HTTP, JSON, lock or pool, on a
//! file with the same schema and the same PRAGMAs as the native host.

use crate::load::{self, Outcome};
use crate::plan::Booking;
use anyhow::Result;
use chrono::{Duration, Utc};
use libsql::{params, Connection, Database};
use reservas::db::{NativeDb, BUSY_TIMEOUT_MS};
use reservas_app::ports::Db;
use reservas_app::store::ts;
use reservas_domain::metrics::RESERVATIONS_CREATED;
use std::path::{Path, PathBuf};

const EXPIRE_OVERDUE: &str = "UPDATE reservations SET status = 'expired', expired_at = ?1 \
     WHERE status = 'pre_reserved' AND expires_at <= ?1 AND id IN \
     (SELECT DISTINCT reservation_id FROM night_slots WHERE accommodation_id = ?2 AND night >= ?3 AND night < ?4) \
     RETURNING id, accommodation_id, check_in, check_out, expires_at, code";

const ANY_NIGHT_TAKEN: &str =
    "SELECT 1 FROM night_slots WHERE accommodation_id = ?1 AND night >= ?2 AND night < ?3 LIMIT 1";

const INSERT_HOLD: &str =
    "INSERT INTO reservations (code, accommodation_id, check_in, check_out, guests, channel, status, \
     contact_name, contact_phone, contact_email, total_cents, deposit_cents, created_at, expires_at) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'pre_reserved', ?7, ?8, ?9, ?10, ?11, ?12, ?13) RETURNING id";

const CLAIM_NIGHTS: &str = "INSERT INTO night_slots (accommodation_id, night, reservation_id) \
     WITH RECURSIVE nights(night) AS (SELECT ?2 UNION ALL SELECT date(night, '+1 day') FROM nights WHERE date(night, '+1 day') < ?3) \
     SELECT ?1, night, ?4 FROM nights";

const BUMP: &str = "INSERT INTO metric_counters (name, labels, value) VALUES (?1, ?2, ?3) \
     ON CONFLICT (name, labels) DO UPDATE SET value = value + excluded.value";

/// A database file prepared like the host's: migrated and holding `cabins` accommodations.
pub struct Baseline {
    path: PathBuf,
    db: Database,
    pub cabins: Vec<i64>,
}

impl Baseline {
    pub async fn create(path: &Path, cabins: usize) -> Result<Baseline> {
        // The host's own opener and migrator: WAL and the same schema.
        let native = NativeDb::open_file(path).await?;
        let conn = native.connect().await?;
        reservas_app::migrate::run(&conn, Utc::now()).await.map_err(|e| anyhow::anyhow!("migrations: {e}"))?;
        let cabins = crate::bulk::accommodations(&conn, cabins).await?;
        drop(conn);
        drop(native);
        let db = libsql::Builder::new_local(path).build().await?;
        Ok(Baseline { path: path.to_owned(), db, cabins })
    }

    /// Holds `total` stays (`booking(i)`) from `concurrency` threads, one connection each.
    pub async fn run(
        &self,
        concurrency: usize,
        total: usize,
        booking: impl Fn(usize) -> Booking + Sync,
    ) -> Result<Outcome> {
        let mut conns = Vec::with_capacity(concurrency);
        for _ in 0..concurrency.max(1) {
            conns.push(self.connect().await?);
        }
        let outcome = tokio::task::block_in_place(|| {
            load::threads(conns, total, |conn, i| match futures::executor::block_on(hold(conn, &booking(i))) {
                Ok(true) => Ok(201),
                Ok(false) => Ok(409),
                Err(e) => Err(e.to_string()),
            })
        });
        Ok(outcome)
    }

    /// A connection with the PRAGMAs `NativeDb` sets on each of its connections.
    async fn connect(&self) -> Result<Connection> {
        let conn = self.db.connect()?;
        for pragma in [
            format!("PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}"),
            "PRAGMA foreign_keys = ON".to_owned(),
            "PRAGMA synchronous = FULL".to_owned(),
        ] {
            drain(&conn, &pragma, ()).await?;
        }
        let mut rows = conn.query("PRAGMA journal_mode", ()).await?;
        let mode: String = match rows.next().await? {
            Some(row) => row.get(0)?,
            None => String::new(),
        };
        anyhow::ensure!(mode.eq_ignore_ascii_case("wal"), "{} is not in WAL mode ({mode})", self.path.display());
        Ok(conn)
    }
}

async fn drain(conn: &Connection, sql: &str, params: impl libsql::params::IntoParams) -> libsql::Result<usize> {
    let mut rows = conn.query(sql, params).await?;
    let mut n = 0;
    while rows.next().await?.is_some() {
        n += 1;
    }
    Ok(n)
}

/// One hold transaction; `Ok(false)` when a night was already taken (rolled back).
async fn hold(conn: &Connection, booking: &Booking) -> libsql::Result<bool> {
    conn.execute("BEGIN IMMEDIATE", ()).await?;
    let result = hold_statements(conn, booking).await;
    let result = match result {
        Ok(true) => conn.execute("COMMIT", ()).await.map(|_| true),
        other => other,
    };
    if !matches!(result, Ok(true)) {
        let _ = conn.execute("ROLLBACK", ()).await;
    }
    result
}

async fn hold_statements(conn: &Connection, b: &Booking) -> libsql::Result<bool> {
    let now = Utc::now();
    let (check_in, check_out) = (b.check_in.to_string(), b.check_out.to_string());
    drain(conn, EXPIRE_OVERDUE, params![ts(now), b.accommodation_id, check_in.as_str(), check_out.as_str()]).await?;
    let taken =
        drain(conn, ANY_NIGHT_TAKEN, params![b.accommodation_id, check_in.as_str(), check_out.as_str()]).await?;
    if taken > 0 {
        return Ok(false);
    }
    let code = reservas_app::random::reservation_code();
    let mut rows = conn
        .query(
            INSERT_HOLD,
            params![
                code.as_str(),
                b.accommodation_id,
                check_in.as_str(),
                check_out.as_str(),
                2,
                "web",
                "Bench Guest",
                "+5491155550000",
                libsql::Value::Null,
                10_000_000,
                3_000_000,
                ts(now),
                ts(now + Duration::days(365))
            ],
        )
        .await?;
    let id: i64 = match rows.next().await? {
        Some(row) => row.get(0)?,
        None => return Err(libsql::Error::QueryReturnedNoRows),
    };
    drop(rows);
    conn.execute(CLAIM_NIGHTS, params![b.accommodation_id, check_in.as_str(), check_out.as_str(), id]).await?;
    conn.execute(BUMP, params![RESERVATIONS_CREATED, "channel=web", 1]).await?;
    Ok(true)
}
