//! The native host, in process, on a fresh database file and in-memory key-value store.

use anyhow::{bail, Context, Result};
use reservas::clock::NativeClock;
use reservas::server::{self, RunningServer};
use reservas::NativeEnv;
use reservas_app::Config;
use serde_json::{json, Value};
use std::path::Path;
use std::sync::Arc;

pub const ADMIN_EMAIL: &str = "bench@example.com";

pub struct Host {
    pub env: Arc<NativeEnv>,
    pub client: reqwest::Client,
    base: String,
    server: RunningServer,
}

/// Starts every route on 127.0.0.1 (a free port) over `database`: development settings, holds
/// that outlive the run, no Redis (in-memory key-value), no periodic tick.
pub async fn start(database: &Path) -> Result<Host> {
    let database = database.to_str().context("database path is not UTF-8")?;
    let vars = [
        ("ENVIRONMENT", "development"),
        ("DATABASE_URL", database),
        ("HOLD_SECONDS", "31536000"),
        ("MAX_NIGHTS", "30"),
        ("ADMIN_ALLOWED_EMAILS", ADMIN_EMAIL),
    ];
    let config = Config::from_lookup(|name| vars.iter().find(|(n, _)| *n == name).map(|(_, v)| (*v).to_owned()))?;
    let env = Arc::new(reservas::open_env(config, NativeClock::new()).await?);
    let server = server::start(env.clone(), "127.0.0.1:0").await?;
    let client = reqwest::Client::builder().no_proxy().build()?;
    Ok(Host { env, client, base: format!("http://{}/api/v1", server.addr), server })
}

impl Host {
    /// The URL of an API path (`/reservations/pre-reserve`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Result<Value> {
        let mut request = self.client.post(self.url(path)).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await?;
        let status = response.status();
        let body: Value = response.json().await?;
        if !status.is_success() {
            bail!("POST {path} answered {status}: {body}");
        }
        Ok(body)
    }

    pub async fn admin_token(&self) -> Result<String> {
        let body = self.post("/admin/login", None, json!({ "email": ADMIN_EMAIL })).await?;
        body["access_token"].as_str().map(str::to_owned).context("login answered no access_token")
    }

    /// Creates `count` cabins for four guests through the admin API; returns their ids.
    pub async fn create_accommodations(&self, token: &str, count: usize) -> Result<Vec<i64>> {
        let mut ids = Vec::with_capacity(count);
        for n in 0..count {
            let body = json!({ "name": format!("Bench cabin {n}"), "capacity": 4, "base_price": 50000 });
            let created = self.post("/admin/accommodations", Some(token), body).await?;
            ids.push(created["id"].as_i64().context("created cabin has no id")?);
        }
        Ok(ids)
    }

    pub async fn stop(self) {
        self.server.shutdown().await;
    }
}
