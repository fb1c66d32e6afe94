//! Metrics exposition and health. Counters are read from the database (they move in the
//! transactions of the events they count); the latency histogram lives in the key-value store
//! (its increments are exact across instances and cost no database write per request).

use crate::error::ApiResult;
use crate::ports::{Db, Env, Kv};
use crate::routes::ROUTES;
use crate::store;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use reservas_domain::metrics::{COUNTERS, LATENCY_BUCKETS};
use serde_json::{json, Value};
use std::fmt::Write;

type Labels = Vec<(String, String)>;

fn parse_labels(stored: &str) -> Labels {
    stored.split(',').filter_map(|pair| pair.split_once('=')).map(|(k, v)| (k.to_owned(), v.to_owned())).collect()
}

fn histogram_key(pattern: &str, part: &str) -> String {
    format!("metrics:latency:{pattern}:{part}")
}

/// Records one request's latency under its route pattern. Failures are ignored: metrics must
/// never fail a request.
pub async fn observe_latency<K: Kv>(kv: &K, pattern: &str, seconds: f64) {
    let bucket = LATENCY_BUCKETS.iter().position(|b| seconds <= *b).unwrap_or(LATENCY_BUCKETS.len());
    let micros = (seconds * 1e6).round() as i64;
    for (part, by) in [(bucket.to_string(), 1), ("count".to_owned(), 1), ("sum_us".to_owned(), micros)] {
        if kv.incr(&histogram_key(pattern, &part), by).await.is_err() {
            return;
        }
    }
}

pub async fn metrics<E: Env>(env: &E) -> ApiResult<String> {
    let conn = env.db().connect().await?;
    let stored = store::counters(&conn).await?;
    let mut registry = Registry::default();
    for spec in COUNTERS {
        let samples = stored.iter().filter(|(n, _, _)| n == spec.name);
        let count = |value: &i64| u64::try_from(*value).unwrap_or(0);
        if let Some((label, values)) = spec.label {
            let family = Family::<Labels, Counter>::default();
            for value in values {
                let _ = family.get_or_create(&vec![(label.to_owned(), (*value).to_owned())]);
            }
            for (_, labels, value) in samples {
                family.get_or_create(&parse_labels(labels)).inc_by(count(value));
            }
            registry.register(spec.name, spec.help, family);
        } else {
            let counter = Counter::<u64>::default();
            counter.inc_by(samples.map(|(_, _, v)| count(v)).sum());
            registry.register(spec.name, spec.help, counter);
        }
    }
    let mut text = String::new();
    encode(&mut text, &registry).map_err(|e| anyhow::anyhow!("encoding metrics: {e}"))?;
    let text = text.trim_end().trim_end_matches("# EOF").to_owned();
    Ok(text + &latency_histogram(env.kv()).await + "# EOF\n")
}

/// The histogram family, written by hand because its values come from the store rather than
/// from an in-process `Histogram`.
async fn latency_histogram<K: Kv>(kv: &K) -> String {
    let mut out = String::from(
        "# HELP http_request_duration_seconds Request latency by route.\n# TYPE http_request_duration_seconds histogram\n",
    );
    let mut patterns: Vec<&str> = ROUTES.iter().map(|r| r.pattern).collect();
    patterns.dedup();
    for pattern in patterns {
        let read = |part: String| async move {
            kv.get(&histogram_key(pattern, &part)).await.ok().flatten().and_then(|v| v.parse::<i64>().ok()).unwrap_or(0)
        };
        let count = read("count".into()).await;
        if count == 0 {
            continue;
        }
        let mut cumulative = 0;
        for (i, bound) in LATENCY_BUCKETS.iter().enumerate() {
            cumulative += read(i.to_string()).await;
            let _ = writeln!(
                out,
                "http_request_duration_seconds_bucket{{route=\"{pattern}\",le=\"{bound:?}\"}} {cumulative}"
            );
        }
        let _ = writeln!(out, "http_request_duration_seconds_bucket{{route=\"{pattern}\",le=\"+Inf\"}} {count}");
        let sum = read("sum_us".into()).await as f64 / 1e6;
        let _ = writeln!(out, "http_request_duration_seconds_sum{{route=\"{pattern}\"}} {sum:?}");
        let _ = writeln!(out, "http_request_duration_seconds_count{{route=\"{pattern}\"}} {count}");
    }
    out
}

/// A check's verdict; the overall status is the worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Healthy,
    Degraded,
    Unhealthy,
}

impl Level {
    fn as_str(self) -> &'static str {
        match self {
            Level::Healthy => "healthy",
            Level::Degraded => "degraded",
            Level::Unhealthy => "unhealthy",
        }
    }
}

pub fn check(level: Level, detail: impl Into<String>) -> (Level, Value) {
    (level, json!({ "status": level.as_str(), "detail": detail.into() }))
}

pub fn not_configured(what: &str) -> (Level, Value) {
    (Level::Healthy, json!({ "status": "not_configured", "detail": format!("{what} is not configured") }))
}

const MIB: u64 = 1024 * 1024;

/// `(status code, body)`: 503 when unhealthy.
pub async fn health<E: Env>(env: &E) -> (u16, Value) {
    let database = match env.db().connect().await {
        Ok(conn) => match conn_check(&conn).await {
            Ok(()) => check(Level::Healthy, "reachable"),
            Err(e) => check(Level::Unhealthy, format!("query failed: {e}")),
        },
        Err(e) => check(Level::Unhealthy, format!("cannot connect: {e}")),
    };
    let kv = match env.kv().ping().await {
        Ok(()) => check(Level::Healthy, format!("{} reachable", env.kv().backend())),
        Err(e) => check(
            Level::Degraded,
            format!("{} unreachable ({e}); bookings go on from the database alone", env.kv().backend()),
        ),
    };
    let disk = match env.host().disk() {
        Some((free, _)) if free < 50 * MIB => check(Level::Unhealthy, format!("{} MiB free", free / MIB)),
        Some((free, total)) if free < 512 * MIB || free * 20 < total => {
            check(Level::Degraded, format!("{} MiB free", free / MIB))
        }
        Some((free, _)) => check(Level::Healthy, format!("{} MiB free", free / MIB)),
        None => check(Level::Healthy, "not measurable on this host"),
    };
    let memory = match env.host().memory() {
        Some((available, total)) if available * 20 < total => {
            check(Level::Degraded, format!("{} MiB available", available / MIB))
        }
        Some((available, _)) => check(Level::Healthy, format!("{} MiB available", available / MIB)),
        None => check(Level::Healthy, "not measurable on this host"),
    };
    let checks = [
        ("database", database),
        ("kv", kv),
        ("disk", disk),
        ("memory", memory),
        ("ical", crate::calendars::health(env).await),
        ("whatsapp", crate::chat::health(env).await),
        ("mercadopago", crate::payments::health(env).await),
        ("email", crate::backoffice::health(env).await),
    ];
    let worst = checks.iter().map(|(_, (level, _))| *level).max().unwrap_or(Level::Healthy);
    let body = json!({
        "status": worst.as_str(),
        "checks": checks.iter().map(|(name, (_, v))| (name.to_string(), v.clone())).collect::<serde_json::Map<_, _>>(),
    });
    (if worst == Level::Unhealthy { 503 } else { 200 }, body)
}

async fn conn_check<C: crate::ports::Conn>(conn: &C) -> Result<(), crate::ports::DbError> {
    conn.query("SELECT count(*) FROM schema_migrations", &[]).await.map(|_| ())
}
