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

/// An outbound HTTP request (Mercado Pago, the Graph API, email, calendar feeds, Whisper).
#[derive(Debug, Clone)]
pub struct OutboundRequest {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The whole exchange, connect to last byte.
    pub timeout: Duration,
    /// A response body longer than this is refused with [`HttpError::TooLarge`].
    pub max_response_bytes: usize,
}

impl OutboundRequest {
    pub fn new(method: &str, url: impl Into<String>) -> OutboundRequest {
        OutboundRequest {
            method: method.to_owned(),
            url: url.into(),
            headers: Vec::new(),
            body: Vec::new(),
            timeout: Duration::from_secs(10),
            max_response_bytes: 5 * 1024 * 1024,
        }
    }

    pub fn header(mut self, name: &str, value: impl Into<String>) -> OutboundRequest {
        self.headers.push((name.to_ascii_lowercase(), value.into()));
        self
    }

    pub fn bearer(self, token: &str) -> OutboundRequest {
        self.header("authorization", format!("Bearer {token}"))
    }

    pub fn json(self, value: &serde_json::Value) -> OutboundRequest {
        let mut req = self.header("content-type", "application/json");
        req.body = serde_json::to_vec(value).unwrap_or_default();
        req
    }

    pub fn body(mut self, content_type: &str, body: Vec<u8>) -> OutboundRequest {
        self = self.header("content-type", content_type);
        self.body = body;
        self
    }

    pub fn timeout(mut self, timeout: Duration) -> OutboundRequest {
        self.timeout = timeout;
        self
    }

    pub fn max_response_bytes(mut self, max: usize) -> OutboundRequest {
        self.max_response_bytes = max;
        self
    }
}

#[derive(Debug, Clone)]
pub struct OutboundResponse {
    pub status: u16,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl OutboundResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

/// Why an outbound call produced no response. Callers decide what a failure means (retry
/// later, degrade, report); none of these is ever a 500 to our own client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    #[error("timed out")]
    Timeout,
    #[error("response larger than allowed")]
    TooLarge,
    #[error("connection failed: {0}")]
    Connect(String),
    #[error("not allowed: {0}")]
    NotAllowed(String),
    #[error("{0}")]
    Other(String),
}

/// Outbound HTTP, with a timeout and a response-size limit on every call.
#[cfg_attr(not(target_arch = "wasm32"), async_trait::async_trait)]
#[cfg_attr(target_arch = "wasm32", async_trait::async_trait(?Send))]
pub trait Http: MaybeSendSync {
    async fn send(&self, request: OutboundRequest) -> Result<OutboundResponse, HttpError>;
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
    type Http: Http;
    fn db(&self) -> &Self::Db;
    fn kv(&self) -> &Self::Kv;
    fn http(&self) -> &Self::Http;
    fn clock(&self) -> &dyn Clock;
    fn host(&self) -> &dyn HostInfo;
    fn config(&self) -> &crate::config::Config;
}

/// The ports bundled: both hosts' `Env` is this with their own implementations.
pub struct Ports<D, K, O, C, H> {
    pub db: D,
    pub kv: K,
    pub http: O,
    pub clock: C,
    pub host: H,
    pub config: crate::config::Config,
}

impl<D: Db, K: Kv, O: Http, C: Clock, H: HostInfo> Env for Ports<D, K, O, C, H> {
    type Db = D;
    type Kv = K;
    type Http = O;
    fn db(&self) -> &D {
        &self.db
    }
    fn kv(&self) -> &K {
        &self.kv
    }
    fn http(&self) -> &O {
        &self.http
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
