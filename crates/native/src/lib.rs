//! The native host: the app's ports over libSQL, Redis or memory, the system clock; every
//! route in one process, and the periodic tick on a timer.

pub mod clock;
pub mod db;
pub mod host;
pub mod http;
pub mod kv;
pub mod server;

use clock::NativeClock;
use db::NativeDb;
use host::NativeHost;
use http::NativeHttp;
use kv::NativeKv;
use reservas_app::ports::{Clock, Db, Ports};
use reservas_app::Config;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// The native host's ports.
pub type NativeEnv = Ports<NativeDb, NativeKv, NativeHttp, NativeClock, NativeHost>;

/// Opens the database (creating the file and applying migrations) and the key-value store
/// named by the configuration.
pub async fn open_env(config: Config, clock: NativeClock) -> anyhow::Result<NativeEnv> {
    let db = NativeDb::open(&config.database_url, config.database_auth_token.as_deref()).await?;
    let conn = db.connect().await?;
    let applied =
        reservas_app::migrate::run(&conn, clock.now()).await.map_err(|e| anyhow::anyhow!("migrations: {e}"))?;
    drop(conn);
    if !applied.is_empty() {
        tracing::info!(?applied, "migrations applied");
    }
    let kv = NativeKv::from_url(config.redis_url.as_deref())?;
    let data_dir = match db.location() {
        db::DbLocation::File(path) => path.parent().filter(|p| !p.as_os_str().is_empty()).map(PathBuf::from),
        db::DbLocation::Remote(_) => None,
    }
    .unwrap_or_else(|| PathBuf::from("."));
    Ok(Ports { db, kv, http: NativeHttp::new()?, clock, host: NativeHost::new(data_dir), config })
}

/// Runs the periodic tick every `interval` until the task is dropped. A failed tick is logged
/// and retried at the next interval.
pub fn spawn_ticker(env: Arc<NativeEnv>, interval: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut timer = tokio::time::interval(interval);
        timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            timer.tick().await;
            if let Err(e) = reservas_app::jobs::tick(env.as_ref()).await {
                tracing::warn!(error = %e, "periodic tick failed");
            }
        }
    })
}

/// JSON logs on stdout; `RUST_LOG` filters (default `info`).
pub fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let _ = tracing_subscriber::fmt()
        .json()
        .with_current_span(true)
        .with_span_list(false)
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .try_init();
}
