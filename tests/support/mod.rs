//! `TestApp`: the native host on a random port over a fresh database file, with a clock the
//! test moves, and helpers that speak the HTTP contract.

pub mod fake_email;
pub mod fake_graph;
pub mod fake_mercadopago;
pub mod fake_server;
pub mod feed_server;
pub mod redis_server;
pub mod scenarios;

use chrono::Duration;
use reservas::clock::NativeClock;
use reservas::server::RunningServer;
use reservas::NativeEnv;
use reservas_app::ports::{Conn, Db, Value};
use reservas_app::Config;
use serde_json::{json, Value as Json};
use std::sync::Arc;

pub const ADMIN_EMAIL: &str = "admin@example.com";
pub const JOBS_TOKEN: &str = "test-jobs-token";

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub clock: NativeClock,
    pub env: Arc<NativeEnv>,
    server: Option<RunningServer>,
    _dir: tempfile::TempDir,
}

/// A response with its JSON body already read.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
}

impl Reply {
    pub fn json(&self) -> Json {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    #[track_caller]
    pub fn assert_status(&self, status: u16) -> &Reply {
        assert_eq!(self.status, status, "body: {}", self.text);
        self
    }

    /// Asserts the contract's error shape.
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "body: {}", self.text);
        let body = self.json();
        assert_eq!(body["error"], code, "body: {}", self.text);
        assert!(body["detail"].as_str().is_some_and(|d| !d.is_empty()), "detail missing: {}", self.text);
    }
}

/// Settings for one test app; `with` adds environment variables.
#[derive(Default, Clone)]
pub struct Settings {
    vars: Vec<(String, String)>,
}

impl Settings {
    pub fn with(mut self, name: &str, value: &str) -> Settings {
        self.vars.push((name.into(), value.into()));
        self
    }
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        TestApp::spawn_with(Settings::default()).await
    }

    pub async fn spawn_with(settings: Settings) -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        let db_path = dir.path().join("reservas.db");
        let mut vars: Vec<(String, String)> = vec![
            ("ENVIRONMENT".into(), "development".into()),
            ("DATABASE_URL".into(), db_path.display().to_string()),
            ("ADMIN_ALLOWED_EMAILS".into(), ADMIN_EMAIL.into()),
            ("JOBS_TOKEN".into(), JOBS_TOKEN.into()),
            ("JWT_SECRET".into(), "test-secret-that-is-long-enough-for-hs256".into()),
        ];
        vars.extend(settings.vars);
        let config = Config::from_lookup(|name| vars.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
            .expect("test configuration");
        let clock = NativeClock::new();
        let env = Arc::new(reservas::open_env(config, clock.clone()).await.expect("open native env"));
        let server = reservas::server::start(env.clone(), "127.0.0.1:0").await.expect("start server");
        TestApp {
            base: format!("http://{}", server.addr),
            client: reqwest::Client::builder().pool_max_idle_per_host(64).build().expect("client"),
            clock,
            env,
            server: Some(server),
            _dir: dir,
        }
    }

    pub async fn stop(&mut self) {
        if let Some(server) = self.server.take() {
            server.shutdown().await;
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn send(&self, req: reqwest::RequestBuilder) -> Reply {
        let response = req.send().await.expect("request");
        Reply {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            text: response.text().await.expect("body"),
        }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(self.client.get(self.url(path))).await
    }

    pub async fn post_json(&self, path: &str, body: &Json) -> Reply {
        self.send(self.client.post(self.url(path)).json(body)).await
    }

    pub async fn post_raw(&self, path: &str, body: impl Into<reqwest::Body>) -> Reply {
        self.send(self.client.post(self.url(path)).header("content-type", "application/json").body(body)).await
    }

    pub async fn admin_token(&self) -> String {
        let reply = self.post_json("/api/v1/admin/login", &json!({ "email": ADMIN_EMAIL })).await;
        reply.assert_status(200);
        reply.json()["access_token"].as_str().expect("token").to_owned()
    }

    pub async fn admin_post(&self, path: &str, body: &Json) -> Reply {
        let token = self.admin_token().await;
        self.send(self.client.post(self.url(path)).bearer_auth(token).json(body)).await
    }

    /// Creates a cabin for `capacity` guests at `base_price` cents a night; returns its id.
    pub async fn create_accommodation(&self, base_price_cents: i64, capacity: i64) -> i64 {
        let price = format!("{}.{:02}", base_price_cents / 100, base_price_cents % 100);
        let reply = self
            .admin_post(
                "/api/v1/admin/accommodations",
                &json!({ "name": "Cabaña de prueba", "capacity": capacity, "base_price": price }),
            )
            .await;
        reply.assert_status(201);
        reply.json()["id"].as_i64().expect("id")
    }

    pub fn hold_body(accommodation_id: i64, check_in: &str, check_out: &str) -> Json {
        json!({
            "accommodation_id": accommodation_id,
            "check_in": check_in,
            "check_out": check_out,
            "guests": 2,
            "channel": "web",
            "contact_name": "Ana Pérez",
            "contact_phone": "+54 9 11 2233-4455",
            "contact_email": "ana@example.com",
        })
    }

    pub async fn pre_reserve(&self, accommodation_id: i64, check_in: &str, check_out: &str) -> Reply {
        self.post_json("/api/v1/reservations/pre-reserve", &TestApp::hold_body(accommodation_id, check_in, check_out))
            .await
    }

    /// Pre-reserves and returns the code, asserting success.
    pub async fn hold(&self, accommodation_id: i64, check_in: &str, check_out: &str) -> String {
        let reply = self.pre_reserve(accommodation_id, check_in, check_out).await;
        reply.assert_status(201);
        reply.json()["code"].as_str().expect("code").to_owned()
    }

    pub async fn confirm(&self, code: &str, token: &str) -> Reply {
        self.send(self.client.post(self.url(&format!("/api/v1/reservations/{code}/confirm"))).bearer_auth(token)).await
    }

    pub async fn tick(&self) -> Reply {
        self.send(self.client.post(self.url("/api/v1/jobs/tick")).bearer_auth(JOBS_TOKEN)).await
    }

    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }

    /// Runs a query on the test's database file, independent of the server's connections.
    pub async fn query(&self, sql: &str, params: &[Value]) -> Vec<Vec<Value>> {
        let conn = self.env.db.connect().await.expect("connect");
        conn.query(sql, params).await.expect("query").into_iter().map(|r| r.0).collect()
    }

    pub async fn scalar(&self, sql: &str, params: &[Value]) -> i64 {
        match self.query(sql, params).await.first().and_then(|r| r.first()) {
            Some(Value::Integer(v)) => *v,
            other => panic!("expected one integer, got {other:?}"),
        }
    }

    /// The value of one Prometheus sample (0 when absent), read from `/metrics`.
    pub async fn metric(&self, sample: &str) -> f64 {
        let reply = self.get("/metrics").await;
        reply.assert_status(200);
        reply
            .text
            .lines()
            .find_map(|line| line.strip_prefix(sample).and_then(|rest| rest.strip_prefix(' ')))
            .map(|v| v.trim().parse().expect("number"))
            .unwrap_or(0.0)
    }
}

/// A date `days` from today in Argentina, as `YYYY-MM-DD`.
pub fn day(app: &TestApp, days: i64) -> String {
    use reservas_app::ports::Clock;
    let today = reservas_domain::stay::today_in_argentina(app.clock.now());
    (today + Duration::days(days)).format("%Y-%m-%d").to_string()
}

/// The next date, at least `after` days from today, that falls on `weekday`.
pub fn next_weekday(app: &TestApp, weekday: chrono::Weekday, after: i64) -> chrono::NaiveDate {
    use chrono::Datelike;
    use reservas_app::ports::Clock;
    let mut date = reservas_domain::stay::today_in_argentina(app.clock.now()) + Duration::days(after);
    while date.weekday() != weekday {
        date += Duration::days(1);
    }
    date
}
