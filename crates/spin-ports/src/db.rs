//! [`Db`]/[`Conn`] over `spin_sdk::sqlite` (spin:sqlite@3.1.0, the async API of spin-sdk 6).
//!
//! Spin facts this relies on (see the architecture notes):
//! - one `execute` runs only the FIRST statement of its string, silently: callers send one
//!   statement per call (the port's contract already says so);
//! - errors (constraint violations included) surface when the result is consumed, not from
//!   `execute` itself, so every result is collected here;
//! - every error arrives as `Io(String)` with SQLite's text: all of them go through
//!   [`DbError::from_sqlite_message`];
//! - `Connection::open_default()` is one SQLite connection for the request: `BEGIN IMMEDIATE`
//!   .. `COMMIT` on it is a real transaction, and one left open rolls back at the end.

use async_trait::async_trait;
use reservas_app::ports::{Conn, Db, DbError, Row, Value};
use spin_sdk::sqlite::{Connection, Error as SqliteError, Value as SqliteValue};

/// Opens the `default` database of `sqlite_databases` (Spin's local file, or libSQL through
/// runtime-config.toml).
#[derive(Debug, Clone, Copy, Default)]
pub struct SpinDb;

/// One Spin SQLite connection.
pub struct SpinConn(Connection);

#[async_trait(?Send)]
impl Db for SpinDb {
    type Conn = SpinConn;
    async fn connect(&self) -> Result<SpinConn, DbError> {
        Connection::open_default().await.map(SpinConn).map_err(db_error)
    }
}

#[async_trait(?Send)]
impl Conn for SpinConn {
    async fn execute(&self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        let result = self.0.execute(sql, params.iter().map(to_sqlite)).await.map_err(db_error)?;
        // Consume the rows (RETURNING, or a stray SELECT) and the completion future: the
        // statement's error, if any, is only reported there.
        result.collect().await.map_err(db_error)?;
        // sqlite3_changes(): the same number libSQL's `execute` reports natively.
        Ok(self.0.changes().await)
    }

    async fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        let result = self.0.execute(sql, params.iter().map(to_sqlite)).await.map_err(db_error)?;
        let rows = result.collect().await.map_err(db_error)?;
        Ok(rows.into_iter().map(|row| Row(row.values.into_iter().map(from_sqlite).collect())).collect())
    }
}

fn to_sqlite(value: &Value) -> SqliteValue {
    match value {
        Value::Null => SqliteValue::Null,
        Value::Integer(v) => SqliteValue::Integer(*v),
        Value::Real(v) => SqliteValue::Real(*v),
        Value::Text(v) => SqliteValue::Text(v.clone()),
        Value::Blob(v) => SqliteValue::Blob(v.clone()),
    }
}

fn from_sqlite(value: SqliteValue) -> Value {
    match value {
        SqliteValue::Null => Value::Null,
        SqliteValue::Integer(v) => Value::Integer(v),
        SqliteValue::Real(v) => Value::Real(v),
        SqliteValue::Text(v) => Value::Text(v),
        SqliteValue::Blob(v) => Value::Blob(v),
    }
}

/// Every Spin sqlite error, classified by its text in the app's one place.
fn db_error(err: SqliteError) -> DbError {
    match err {
        SqliteError::Io(message) => DbError::from_sqlite_message(&message),
        other => DbError::from_sqlite_message(&format!("{other:?}")),
    }
}
