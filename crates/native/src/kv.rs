//! The `Kv` port natively: in process memory (the default) or Redis.
//!
//! Redis is an optimisation (locks that shed load, dedupe keys, counters), never the judge:
//! every Redis call is bounded by [`REDIS_TIMEOUT`] and fails as a `KvError` instead of
//! hanging, and a Redis that is down at start or stops mid-run only makes calls fail until it
//! is back.

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use reservas_app::ports::{Kv, KvError};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The longest any single Redis call may take, connecting included.
pub const REDIS_TIMEOUT: Duration = Duration::from_millis(300);

/// After a failed connection attempt, calls fail at once for this long instead of each one
/// trying (and waiting) again.
pub const REDIS_RECONNECT_BACKOFF: Duration = Duration::from_secs(1);

/// Deletes KEYS[1] only while it holds ARGV[1].
const DELETE_IF_EQ: &str =
    "if redis.call('get',KEYS[1])==ARGV[1] then return redis.call('del',KEYS[1]) else return 0 end";

/// Full sweeps of expired keys happen once every this many writes.
const SWEEP_EVERY: u64 = 1024;

// ------------------------------------------------------------------------------------------
// Memory

#[derive(Default)]
struct MemoryState {
    map: HashMap<String, (String, Option<Instant>)>,
    writes: u64,
}

impl MemoryState {
    /// The live entry for `key`, dropping it if it has expired.
    fn live(&mut self, key: &str, now: Instant) -> Option<&mut (String, Option<Instant>)> {
        if self.map.get(key).is_some_and(|(_, exp)| exp.is_some_and(|e| e <= now)) {
            self.map.remove(key);
        }
        self.map.get_mut(key)
    }

    fn wrote(&mut self, now: Instant) {
        self.writes += 1;
        if self.writes.is_multiple_of(SWEEP_EVERY) {
            self.map.retain(|_, (_, exp)| exp.is_none_or(|e| e > now));
        }
    }
}

/// In-process key-value store with wall-clock TTLs. For a single native process only.
#[derive(Default)]
pub struct MemoryKv {
    state: Mutex<MemoryState>,
}

impl MemoryKv {
    pub fn new() -> MemoryKv {
        MemoryKv::default()
    }

    fn with<T>(&self, f: impl FnOnce(&mut MemoryState, Instant) -> T) -> Result<T, KvError> {
        let mut state = self.state.lock().map_err(|_| KvError("memory store poisoned".into()))?;
        Ok(f(&mut state, Instant::now()))
    }
}

#[async_trait]
impl Kv for MemoryKv {
    async fn get(&self, key: &str) -> Result<Option<String>, KvError> {
        self.with(|s, now| s.live(key, now).map(|(v, _)| v.clone()))
    }

    async fn set(&self, key: &str, value: &str, ttl: Option<Duration>) -> Result<(), KvError> {
        self.with(|s, now| {
            s.map.insert(key.to_owned(), (value.to_owned(), ttl.map(|t| now + t)));
            s.wrote(now);
        })
    }

    async fn set_nx(&self, key: &str, value: &str, ttl: Duration) -> Result<bool, KvError> {
        self.with(|s, now| {
            if s.live(key, now).is_some() {
                return false;
            }
            s.map.insert(key.to_owned(), (value.to_owned(), Some(now + ttl)));
            s.wrote(now);
            true
        })
    }

    async fn delete_if_eq(&self, key: &str, expected: &str) -> Result<bool, KvError> {
        self.with(|s, now| {
            if s.live(key, now).is_some_and(|(v, _)| v == expected) {
                s.map.remove(key);
                true
            } else {
                false
            }
        })
    }

    async fn delete(&self, key: &str) -> Result<(), KvError> {
        self.with(|s, _| {
            s.map.remove(key);
        })
    }

    async fn incr(&self, key: &str, by: i64) -> Result<i64, KvError> {
        self.with(|s, now| {
            // Like INCRBY: keeps an existing TTL, fails on a non-integer or on overflow.
            let next = match s.live(key, now) {
                Some((v, _)) => {
                    let current: i64 = v.parse().map_err(|_| KvError(format!("value of {key} is not an integer")))?;
                    let next =
                        current.checked_add(by).ok_or_else(|| KvError(format!("increment of {key} overflows")))?;
                    *v = next.to_string();
                    next
                }
                None => {
                    s.map.insert(key.to_owned(), (by.to_string(), None));
                    by
                }
            };
            s.wrote(now);
            Ok(next)
        })?
    }

    async fn ping(&self) -> Result<(), KvError> {
        self.with(|_, _| ())
    }

    fn backend(&self) -> &'static str {
        "memory"
    }
}

// ------------------------------------------------------------------------------------------
// Redis

struct Connecting {
    /// When the last connection attempt started (cleared on success).
    last_attempt: Option<Instant>,
}

/// Redis through a lazily built `ConnectionManager` (which reconnects by itself once built).
/// Construction never touches the network.
pub struct RedisKv {
    client: redis::Client,
    manager: Mutex<Option<ConnectionManager>>,
    connecting: tokio::sync::Mutex<Connecting>,
    delete_if_eq: redis::Script,
    timeout: Duration,
}

impl std::fmt::Debug for RedisKv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisKv").field("addr", &self.client.get_connection_info().addr).finish()
    }
}

fn redis_err(e: redis::RedisError) -> KvError {
    KvError(format!("redis: {e}"))
}

fn px(ttl: Duration) -> u64 {
    // PX 0 is an error in Redis; the shortest TTL is one millisecond.
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}

impl RedisKv {
    /// Parses `url` (`redis://[user:pass@]host[:port][/db]`). Does not connect: the connection
    /// is made on first use and retried on later calls while Redis is unreachable.
    pub fn new(url: &str) -> Result<RedisKv, KvError> {
        RedisKv::with_timeout(url, REDIS_TIMEOUT)
    }

    /// As [`RedisKv::new`], with another per-call timeout.
    pub fn with_timeout(url: &str, timeout: Duration) -> Result<RedisKv, KvError> {
        let client = redis::Client::open(url).map_err(redis_err)?;
        Ok(RedisKv {
            client,
            manager: Mutex::new(None),
            connecting: tokio::sync::Mutex::new(Connecting { last_attempt: None }),
            delete_if_eq: redis::Script::new(DELETE_IF_EQ),
            timeout,
        })
    }

    fn cached(&self) -> Option<ConnectionManager> {
        self.manager.lock().ok().and_then(|m| m.clone())
    }

    /// The shared manager, connecting first if needed. Only one caller connects at a time;
    /// after an attempt, others fail fast for [`REDIS_RECONNECT_BACKOFF`].
    async fn manager(&self) -> Result<ConnectionManager, KvError> {
        if let Some(m) = self.cached() {
            return Ok(m);
        }
        let mut connecting = self.connecting.lock().await;
        if let Some(m) = self.cached() {
            return Ok(m);
        }
        if let Some(at) = connecting.last_attempt {
            if at.elapsed() < REDIS_RECONNECT_BACKOFF {
                return Err(KvError("redis unreachable (will retry shortly)".into()));
            }
        }
        // Recorded before trying, so an attempt cut short by the caller's timeout counts too.
        connecting.last_attempt = Some(Instant::now());
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(self.timeout)
            .set_response_timeout(self.timeout)
            .set_number_of_retries(0);
        let manager =
            tokio::time::timeout(self.timeout, ConnectionManager::new_with_config(self.client.clone(), config))
                .await
                .map_err(|_| KvError("redis: connection timed out".into()))?
                .map_err(redis_err)?;
        if let Ok(mut slot) = self.manager.lock() {
            *slot = Some(manager.clone());
        }
        connecting.last_attempt = None;
        Ok(manager)
    }

    /// Runs one command (or script) with the whole call, connecting included, bounded by the
    /// timeout.
    async fn call<T, F, Fut>(&self, f: F) -> Result<T, KvError>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: std::future::Future<Output = redis::RedisResult<T>>,
    {
        tokio::time::timeout(self.timeout, async {
            let manager = self.manager().await?;
            f(manager).await.map_err(redis_err)
        })
        .await
        .map_err(|_| KvError("redis: timed out".into()))?
    }
}

#[async_trait]
impl Kv for RedisKv {
    async fn get(&self, key: &str) -> Result<Option<String>, KvError> {
        self.call(|mut c| async move { redis::cmd("GET").arg(key).query_async(&mut c).await }).await
    }

    async fn set(&self, key: &str, value: &str, ttl: Option<Duration>) -> Result<(), KvError> {
        self.call(|mut c| async move {
            let mut cmd = redis::cmd("SET");
            cmd.arg(key).arg(value);
            if let Some(ttl) = ttl {
                cmd.arg("PX").arg(px(ttl));
            }
            cmd.query_async::<()>(&mut c).await
        })
        .await
    }

    async fn set_nx(&self, key: &str, value: &str, ttl: Duration) -> Result<bool, KvError> {
        let reply: Option<String> = self
            .call(|mut c| async move {
                redis::cmd("SET").arg(key).arg(value).arg("NX").arg("PX").arg(px(ttl)).query_async(&mut c).await
            })
            .await?;
        Ok(reply.is_some())
    }

    async fn delete_if_eq(&self, key: &str, expected: &str) -> Result<bool, KvError> {
        let deleted: i64 = self
            .call(|mut c| async move { self.delete_if_eq.key(key).arg(expected).invoke_async(&mut c).await })
            .await?;
        Ok(deleted > 0)
    }

    async fn delete(&self, key: &str) -> Result<(), KvError> {
        self.call(|mut c| async move { redis::cmd("DEL").arg(key).query_async::<()>(&mut c).await }).await
    }

    async fn incr(&self, key: &str, by: i64) -> Result<i64, KvError> {
        self.call(|mut c| async move { redis::cmd("INCRBY").arg(key).arg(by).query_async(&mut c).await }).await
    }

    async fn ping(&self) -> Result<(), KvError> {
        let pong: String = self.call(|mut c| async move { redis::cmd("PING").query_async(&mut c).await }).await?;
        if pong == "PONG" {
            Ok(())
        } else {
            Err(KvError(format!("redis: unexpected PING reply {pong:?}")))
        }
    }

    fn backend(&self) -> &'static str {
        "redis"
    }
}

// ------------------------------------------------------------------------------------------
// Either

/// The key-value store the native host was configured with.
pub enum NativeKv {
    Memory(MemoryKv),
    Redis(RedisKv),
}

impl NativeKv {
    /// `REDIS_URL` (or a KV URL): absent, empty, `memory` or `memory://` gives the in-memory
    /// store; `redis://...` gives Redis (not contacted until first use).
    pub fn from_url(url: Option<&str>) -> Result<NativeKv, KvError> {
        match url.map(str::trim) {
            None | Some("") | Some("memory") | Some("memory://") => Ok(NativeKv::Memory(MemoryKv::new())),
            Some(url) => RedisKv::new(url).map(NativeKv::Redis),
        }
    }
}

#[async_trait]
impl Kv for NativeKv {
    async fn get(&self, key: &str) -> Result<Option<String>, KvError> {
        match self {
            NativeKv::Memory(k) => k.get(key).await,
            NativeKv::Redis(k) => k.get(key).await,
        }
    }
    async fn set(&self, key: &str, value: &str, ttl: Option<Duration>) -> Result<(), KvError> {
        match self {
            NativeKv::Memory(k) => k.set(key, value, ttl).await,
            NativeKv::Redis(k) => k.set(key, value, ttl).await,
        }
    }
    async fn set_nx(&self, key: &str, value: &str, ttl: Duration) -> Result<bool, KvError> {
        match self {
            NativeKv::Memory(k) => k.set_nx(key, value, ttl).await,
            NativeKv::Redis(k) => k.set_nx(key, value, ttl).await,
        }
    }
    async fn delete_if_eq(&self, key: &str, expected: &str) -> Result<bool, KvError> {
        match self {
            NativeKv::Memory(k) => k.delete_if_eq(key, expected).await,
            NativeKv::Redis(k) => k.delete_if_eq(key, expected).await,
        }
    }
    async fn delete(&self, key: &str) -> Result<(), KvError> {
        match self {
            NativeKv::Memory(k) => k.delete(key).await,
            NativeKv::Redis(k) => k.delete(key).await,
        }
    }
    async fn incr(&self, key: &str, by: i64) -> Result<i64, KvError> {
        match self {
            NativeKv::Memory(k) => k.incr(key, by).await,
            NativeKv::Redis(k) => k.incr(key, by).await,
        }
    }
    async fn ping(&self) -> Result<(), KvError> {
        match self {
            NativeKv::Memory(k) => k.ping().await,
            NativeKv::Redis(k) => k.ping().await,
        }
    }
    fn backend(&self) -> &'static str {
        match self {
            NativeKv::Memory(k) => k.backend(),
            NativeKv::Redis(k) => k.backend(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn exercise(kv: &dyn Kv, prefix: &str) {
        let k = |s: &str| format!("{prefix}{s}");
        kv.delete(&k("a")).await.unwrap();
        kv.delete(&k("n")).await.unwrap();
        kv.delete(&k("ttl")).await.unwrap();
        assert_eq!(kv.get(&k("a")).await.unwrap(), None);
        assert!(kv.set_nx(&k("a"), "one", Duration::from_secs(30)).await.unwrap());
        assert!(!kv.set_nx(&k("a"), "two", Duration::from_secs(30)).await.unwrap());
        assert_eq!(kv.get(&k("a")).await.unwrap().as_deref(), Some("one"));
        assert!(!kv.delete_if_eq(&k("a"), "two").await.unwrap());
        assert!(kv.delete_if_eq(&k("a"), "one").await.unwrap());
        assert!(!kv.delete_if_eq(&k("a"), "one").await.unwrap());
        assert_eq!(kv.get(&k("a")).await.unwrap(), None);

        assert_eq!(kv.incr(&k("n"), 5).await.unwrap(), 5);
        assert_eq!(kv.incr(&k("n"), -2).await.unwrap(), 3);
        kv.set(&k("a"), "x", None).await.unwrap();
        assert!(kv.incr(&k("a"), 1).await.is_err());

        // TTLs expire: set_nx succeeds again once the first holder's TTL ran out.
        assert!(kv.set_nx(&k("ttl"), "1", Duration::from_millis(50)).await.unwrap());
        kv.set(&k("a"), "short", Some(Duration::from_millis(50))).await.unwrap();
        tokio::time::sleep(Duration::from_millis(120)).await;
        assert_eq!(kv.get(&k("a")).await.unwrap(), None);
        assert!(kv.set_nx(&k("ttl"), "2", Duration::from_millis(50)).await.unwrap());
        // A zero TTL is clamped, not an error.
        kv.set(&k("a"), "z", Some(Duration::ZERO)).await.unwrap();
        kv.ping().await.unwrap();
        for key in ["a", "n", "ttl"] {
            kv.delete(&k(key)).await.unwrap();
        }
    }

    #[tokio::test]
    async fn memory_kv_semantics() {
        let kv = MemoryKv::new();
        exercise(&kv, "").await;
        assert_eq!(kv.backend(), "memory");
    }

    #[tokio::test]
    async fn memory_kv_purges_expired_keys() {
        let kv = MemoryKv::new();
        for i in 0..SWEEP_EVERY - 1 {
            kv.set(&format!("k{i}"), "v", Some(Duration::from_millis(1))).await.unwrap();
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
        kv.set("last", "v", None).await.unwrap();
        assert_eq!(kv.state.lock().unwrap().map.len(), 1);
    }

    #[tokio::test]
    async fn memory_incr_keeps_ttl() {
        let kv = MemoryKv::new();
        kv.set("c", "1", Some(Duration::from_millis(50))).await.unwrap();
        assert_eq!(kv.incr("c", 1).await.unwrap(), 2);
        tokio::time::sleep(Duration::from_millis(80)).await;
        assert_eq!(kv.get("c").await.unwrap(), None);
    }

    #[test]
    fn from_url_picks_backend() {
        assert_eq!(NativeKv::from_url(None).unwrap().backend(), "memory");
        assert_eq!(NativeKv::from_url(Some("")).unwrap().backend(), "memory");
        assert_eq!(NativeKv::from_url(Some("redis://127.0.0.1:6379")).unwrap().backend(), "redis");
        assert!(NativeKv::from_url(Some("nonsense")).is_err());
    }

    #[tokio::test]
    async fn redis_down_fails_fast() {
        let kv = RedisKv::new("redis://127.0.0.1:1").unwrap();
        for _ in 0..3 {
            let started = Instant::now();
            assert!(kv.ping().await.is_err());
            assert!(kv.set_nx("k", "v", Duration::from_secs(1)).await.is_err());
            assert!(started.elapsed() < Duration::from_secs(1), "{:?}", started.elapsed());
        }
    }

    #[tokio::test]
    async fn redis_unroutable_times_out() {
        // A blackholed address: the connect never answers, the timeout decides.
        let kv = RedisKv::new("redis://10.255.255.1:6379").unwrap();
        let started = Instant::now();
        assert!(kv.get("k").await.is_err());
        assert!(started.elapsed() < Duration::from_secs(1), "{:?}", started.elapsed());
    }

    #[tokio::test]
    async fn redis_kv_semantics() {
        let Ok(url) = std::env::var("REDIS_URL") else {
            eprintln!("REDIS_URL not set: skipping the RedisKv test against a live server");
            return;
        };
        let kv = RedisKv::new(&url).unwrap();
        exercise(&kv, "reservas-test:kv:").await;
        assert_eq!(kv.backend(), "redis");
    }

    /// Redis stopping mid-run and coming back: calls fail fast while it is down, then work
    /// again without rebuilding the store. Starts and stops its own `redis-server`, so it runs
    /// only when `REDIS_RESTART_TEST_PORT` names a free port (and redis-server is installed).
    async fn wait_up(kv: &RedisKv) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while kv.ping().await.is_err() {
            assert!(Instant::now() < deadline, "redis never came back");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn redis_stop_and_restart() {
        let Ok(port) = std::env::var("REDIS_RESTART_TEST_PORT") else {
            eprintln!("REDIS_RESTART_TEST_PORT not set: skipping the Redis restart test");
            return;
        };
        let start = || {
            let ok = std::process::Command::new("redis-server")
                .args(["--port", &port, "--daemonize", "yes", "--save", "", "--appendonly", "no"])
                .status()
                .expect("redis-server")
                .success();
            assert!(ok);
        };
        let stop = || {
            let _ = std::process::Command::new("redis-cli").args(["-p", &port, "shutdown", "nosave"]).status();
        };
        // Down at start: creating the store works, calls fail fast.
        let kv = RedisKv::new(&format!("redis://127.0.0.1:{port}")).unwrap();
        let t = Instant::now();
        assert!(kv.ping().await.is_err());
        assert!(t.elapsed() < Duration::from_secs(1));
        start();
        wait_up(&kv).await;
        assert_eq!(kv.incr("restart-test", 1).await.unwrap(), 1);
        stop();
        tokio::time::sleep(Duration::from_millis(200)).await;
        for _ in 0..5 {
            let t = Instant::now();
            assert!(kv.incr("restart-test", 1).await.is_err());
            assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
        }
        start();
        wait_up(&kv).await;
        assert_eq!(kv.incr("restart-test", 1).await.unwrap(), 1);
        stop();
    }
}
