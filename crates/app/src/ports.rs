//! The narrow ports the use cases run over. The native host and the Spin components each
//! implement them; nothing in this crate knows which one it runs on.
//!
//! Async methods are `Send` on native targets (the host runs on a multi-threaded runtime) and
//! not on wasm32 (a Spin instance is single-threaded and its SDK futures are not `Send`).

use chrono::{DateTime, Utc};
use std::time::Duration;

/// `Send + Sync` natively, nothing on wasm32.
#[cfg(not(target_arch = "wasm32"))]
pub trait MaybeSendSync: Send + Sync {}
#[cfg(not(target_arch = "wasm32"))]
impl<T: Send + Sync + ?Sized> MaybeSendSync for T {}
/// `Send + Sync` natively, nothing on wasm32.
#[cfg(target_arch = "wasm32")]
pub trait MaybeSendSync {}
#[cfg(target_arch = "wasm32")]
impl<T: ?Sized> MaybeSendSync for T {}

/// A SQL value, the common subset of libSQL and Spin's sqlite.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Integer(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Integer(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_owned())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

/// One result row.
#[derive(Debug, Clone, PartialEq)]
pub struct Row(pub Vec<Value>);

impl Row {
    pub fn int(&self, i: usize) -> Result<i64, DbError> {
        match self.0.get(i) {
            Some(Value::Integer(v)) => Ok(*v),
            other => Err(DbError::Decode(format!("column {i}: expected integer, got {other:?}"))),
        }
    }
    pub fn opt_int(&self, i: usize) -> Result<Option<i64>, DbError> {
        match self.0.get(i) {
            Some(Value::Null) => Ok(None),
            _ => self.int(i).map(Some),
        }
    }
    pub fn text(&self, i: usize) -> Result<String, DbError> {
        match self.0.get(i) {
            Some(Value::Text(v)) => Ok(v.clone()),
            other => Err(DbError::Decode(format!("column {i}: expected text, got {other:?}"))),
        }
    }
    pub fn opt_text(&self, i: usize) -> Result<Option<String>, DbError> {
        match self.0.get(i) {
            Some(Value::Null) => Ok(None),
            _ => self.text(i).map(Some),
        }
    }
    pub fn real(&self, i: usize) -> Result<f64, DbError> {
        match self.0.get(i) {
            Some(Value::Real(v)) => Ok(*v),
            Some(Value::Integer(v)) => Ok(*v as f64),
            other => Err(DbError::Decode(format!("column {i}: expected real, got {other:?}"))),
        }
    }
}

/// Storage failures, classified once from the backend's error text (both libSQL and Spin's
/// sqlite only give us SQLite's message).
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("unique constraint failed: {0}")]
    Unique(String),
    #[error("database is locked")]
    Busy,
    #[error("row decode: {0}")]
    Decode(String),
    #[error("database: {0}")]
    Other(String),
}

impl DbError {
    /// Classifies a SQLite error message. The one place that matches on error text.
    pub fn from_sqlite_message(message: &str) -> DbError {
        if let Some(rest) = message.split("UNIQUE constraint failed: ").nth(1) {
            DbError::Unique(rest.trim().to_owned())
        } else if message.contains("database is locked") || message.contains("SQLITE_BUSY") {
            DbError::Busy
        } else {
            DbError::Other(message.to_owned())
        }
    }
}

/// One database connection, owned by one request. `BEGIN IMMEDIATE` .. `COMMIT` on it is a
/// real transaction; dropping it without `COMMIT` rolls back.
#[cfg_attr(not(target_arch = "wasm32"), async_trait::async_trait)]
#[cfg_attr(target_arch = "wasm32", async_trait::async_trait(?Send))]
pub trait Conn: MaybeSendSync {
    /// Runs ONE statement and returns the number of rows it changed.
    async fn execute(&self, sql: &str, params: &[Value]) -> Result<u64, DbError>;
    /// Runs ONE statement and returns its rows.
    async fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError>;
}

/// Opens connections.
#[cfg_attr(not(target_arch = "wasm32"), async_trait::async_trait)]
#[cfg_attr(target_arch = "wasm32", async_trait::async_trait(?Send))]
pub trait Db: MaybeSendSync {
    type Conn: Conn;
    async fn connect(&self) -> Result<Self::Conn, DbError>;
}

/// The key-value store could not be reached or answered nonsense. Callers degrade: the
/// database alone decides every booking.
#[derive(Debug, thiserror::Error)]
#[error("key-value store: {0}")]
pub struct KvError(pub String);

/// The key-value store (Redis natively or under Spin's runtime config, in-memory natively by
/// default). TTLs are wall-clock and best effort; logic that must follow the app's `Clock`
/// stores its own deadline in the value.
#[cfg_attr(not(target_arch = "wasm32"), async_trait::async_trait)]
#[cfg_attr(target_arch = "wasm32", async_trait::async_trait(?Send))]
pub trait Kv: MaybeSendSync {
    async fn get(&self, key: &str) -> Result<Option<String>, KvError>;
    async fn set(&self, key: &str, value: &str, ttl: Option<Duration>) -> Result<(), KvError>;
    /// Sets `key` only if it is absent; true when this call set it.
    async fn set_nx(&self, key: &str, value: &str, ttl: Duration) -> Result<bool, KvError>;
    /// Deletes `key` only while it still holds `expected`; true when deleted.
    async fn delete_if_eq(&self, key: &str, expected: &str) -> Result<bool, KvError>;
    async fn delete(&self, key: &str) -> Result<(), KvError>;
    /// Atomically adds `by` and returns the new value (missing counts as 0).
    async fn incr(&self, key: &str, by: i64) -> Result<i64, KvError>;
    async fn ping(&self) -> Result<(), KvError>;
    /// Which backend this is, for health ("redis", "memory", "spin").
    fn backend(&self) -> &'static str;
}

/// The time source. Tests move it instead of sleeping.
pub trait Clock: MaybeSendSync {
    fn now(&self) -> DateTime<Utc>;
}

/// Facts about the machine for health; a host that cannot tell answers `None`.
pub trait HostInfo: MaybeSendSync {
    /// (available bytes, total bytes) on the volume holding the data.
    fn disk(&self) -> Option<(u64, u64)>;
    /// (available bytes, total bytes) of memory.
    fn memory(&self) -> Option<(u64, u64)>;
}

/// Everything a request handler may touch.
pub trait Env: MaybeSendSync {
    type Db: Db;
    type Kv: Kv;
    fn db(&self) -> &Self::Db;
    fn kv(&self) -> &Self::Kv;
    fn clock(&self) -> &dyn Clock;
    fn host(&self) -> &dyn HostInfo;
    fn config(&self) -> &crate::config::Config;
}

/// The ports bundled: both hosts' `Env` is this with their own implementations.
pub struct Ports<D, K, C, H> {
    pub db: D,
    pub kv: K,
    pub clock: C,
    pub host: H,
    pub config: crate::config::Config,
}

impl<D: Db, K: Kv, C: Clock, H: HostInfo> Env for Ports<D, K, C, H> {
    type Db = D;
    type Kv = K;
    fn db(&self) -> &D {
        &self.db
    }
    fn kv(&self) -> &K {
        &self.kv
    }
    fn clock(&self) -> &dyn Clock {
        &self.clock
    }
    fn host(&self) -> &dyn HostInfo {
        &self.host
    }
    fn config(&self) -> &crate::config::Config {
        &self.config
    }
}
