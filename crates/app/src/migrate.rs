//! Applies `migrations/` (embedded at build time, so every host runs the same schema).

use crate::error::ApiResult;
use crate::ports::{Conn, Value};
use crate::store;
use chrono::{DateTime, Utc};

/// (version, name, SQL), in order.
pub const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "booking_core", include_str!("../../../migrations/0001_booking_core.sql")),
    (2, "payments", include_str!("../../../migrations/0002_payments.sql")),
    (3, "calendars", include_str!("../../../migrations/0003_calendars.sql")),
    (4, "backoffice", include_str!("../../../migrations/0004_backoffice.sql")),
    (5, "whatsapp", include_str!("../../../migrations/0005_whatsapp.sql")),
];

/// Splits a migration into single statements: Spin's sqlite runs only the first statement of
/// a string. Statements end with `;` at the end of a line; `--` comment lines are dropped.
pub fn statements(sql: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in sql.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with("--") || trimmed.is_empty() {
            continue;
        }
        current.push_str(line);
        current.push('\n');
        if trimmed.ends_with(';') {
            out.push(current.trim().trim_end_matches(';').to_owned());
            current.clear();
        }
    }
    if !current.trim().is_empty() {
        out.push(current.trim().to_owned());
    }
    out
}

/// Applies every migration not yet applied; safe to run concurrently and repeatedly. Returns
/// the versions it applied.
pub async fn run<C: Conn>(conn: &C, now: DateTime<Utc>) -> ApiResult<Vec<i64>> {
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)",
        &[],
    )
    .await?;
    let mut applied = Vec::new();
    for (version, name, sql) in MIGRATIONS {
        let done = store::transaction(conn, async {
            let present =
                conn.query("SELECT 1 FROM schema_migrations WHERE version = ?1", &[Value::Integer(*version)]).await?;
            if !present.is_empty() {
                return Ok(false);
            }
            for statement in statements(sql) {
                conn.execute(&statement, &[]).await?;
            }
            conn.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
                &[Value::Integer(*version), (*name).into(), store::ts(now).into()],
            )
            .await?;
            Ok(true)
        })
        .await?;
        if done {
            applied.push(*version);
        }
    }
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_statements_and_drops_comments() {
        let sql = "-- a comment\nCREATE TABLE a (x INTEGER);\n\nCREATE INDEX i ON a (x)\n  WHERE x > 0;\n";
        assert_eq!(statements(sql), vec!["CREATE TABLE a (x INTEGER)", "CREATE INDEX i ON a (x)\n  WHERE x > 0"]);
    }

    #[test]
    fn every_migration_splits_into_single_statements() {
        for (_, _, sql) in MIGRATIONS {
            for s in statements(sql) {
                assert!(!s.contains(";\n"), "two statements in one: {s}");
            }
        }
    }
}
