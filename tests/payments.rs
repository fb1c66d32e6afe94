//! Mercado Pago deposits over real HTTP, against a local fake of Mercado Pago's API: payment
//! links, the webhook's signature (vectors computed here with hmac/sha2, not with the app's
//! code), idempotency under concurrent, duplicate and out-of-order deliveries, late and partial
//! payments, refunds, and an API outage recovered by the tick.

use chrono::{DateTime, Duration, Utc};
use futures::future::join_all;
use hmac::{KeyInit, Mac};
use reservas_app::ports::{Clock, Db, Value};
use reservas_tests::fake_mercadopago::{payment, FakeMercadoPago};
use reservas_tests::{day, Reply, Settings, TestApp};
use serde_json::{json, Value as Json};

const TOKEN: &str = "TEST-6295877106812064-042916-access-token";
const SECRET: &str = "webhook-secret-from-the-panel";
const BASE_URL: &str = "https://reservas.example.com";
const WEBHOOK: &str = "/api/v1/mercadopago/webhook";

/// HMAC-SHA256 of the manifest, lowercase hex, written from providers.md alone.
fn sign(secret: &str, data_id: Option<&str>, request_id: Option<&str>, ts: &str) -> String {
    let mut manifest = String::new();
    if let Some(id) = data_id {
        manifest += &format!("id:{id};");
    }
    if let Some(rid) = request_id {
        manifest += &format!("request-id:{rid};");
    }
    manifest += &format!("ts:{ts};");
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(manifest.as_bytes());
    mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

struct Env {
    app: TestApp,
    mp: FakeMercadoPago,
    cabin: i64,
}

async fn spawn_with(extra: &[(&str, &str)]) -> Env {
    let mp = FakeMercadoPago::start(TOKEN).await;
    let mut settings = Settings::default()
        .with("MERCADOPAGO_ACCESS_TOKEN", TOKEN)
        .with("MERCADOPAGO_API_BASE", &mp.url)
        .with("MERCADOPAGO_WEBHOOK_SECRET", SECRET)
        .with("BASE_URL", BASE_URL);
    for (k, v) in extra {
        settings = settings.with(k, v);
    }
    let app = TestApp::spawn_with(settings).await;
    let cabin = app.create_accommodation(10_000_00, 4).await;
    Env { app, mp, cabin }
}

async fn spawn() -> Env {
    spawn_with(&[]).await
}

/// A hold: (code, deposit in pesos).
async fn hold(env: &Env, from: i64, to: i64) -> (String, f64) {
    let reply = env.app.pre_reserve(env.cabin, &day(&env.app, from), &day(&env.app, to)).await;
    reply.assert_status(201);
    let body = reply.json();
    (body["code"].as_str().unwrap().to_owned(), body["deposit_amount"].as_str().unwrap().parse().unwrap())
}

fn now(env: &Env) -> DateTime<Utc> {
    env.app.clock.now()
}

/// A webhook-form delivery exactly as Mercado Pago sends it, signed with `SECRET`.
async fn deliver(env: &Env, payment_id: u64) -> Reply {
    let id = payment_id.to_string();
    let request_id = format!("req-{}", reservas_app::random::hex_id());
    let ts = now(env).timestamp_millis().to_string();
    let signature = format!("ts={ts},v1={}", sign(SECRET, Some(&id), Some(&request_id), &ts));
    post(
        env,
        &format!("?data.id={id}&type=payment"),
        &[("x-signature", &signature), ("x-request-id", &request_id)],
        &id,
    )
    .await
}

async fn post(env: &Env, query: &str, headers: &[(&str, &str)], data_id: &str) -> Reply {
    let body = json!({
        "action": "payment.updated", "api_version": "v1", "data": { "id": data_id },
        "date_created": "2026-03-01T02:02:02Z", "id": "11223344", "live_mode": false,
        "type": "payment", "user_id": 724484980
    });
    post_body(env, query, headers, body.to_string()).await
}

async fn post_body(env: &Env, query: &str, headers: &[(&str, &str)], body: String) -> Reply {
    let mut req =
        env.app.client.post(env.app.url(&format!("{WEBHOOK}{query}"))).header("content-type", "application/json");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    env.app.send(req.body(body)).await
}

async fn status_of(env: &Env, code: &str) -> String {
    env.app.get(&format!("/api/v1/reservations/{code}")).await.json()["status"].as_str().unwrap().to_owned()
}

async fn count(env: &Env, sql: &str, params: &[Value]) -> i64 {
    env.app.scalar(sql, params).await
}

async fn admin_payments(env: &Env, query: &str) -> Json {
    let token = env.app.admin_token().await;
    let reply = env
        .app
        .send(env.app.client.get(env.app.url(&format!("/api/v1/admin/payments{query}"))).bearer_auth(token))
        .await;
    reply.assert_status(200);
    reply.json()
}

async fn flags(env: &Env, code: &str) -> Vec<String> {
    let id = env.app.scalar("SELECT id FROM reservations WHERE code = ?1", &[Value::Text(code.into())]).await;
    let conn = env.app.env.db.connect().await.unwrap();
    reservas_app::payments::flags_of(&conn, id).await.unwrap()
}

/// Header pairs of one delivery.
type Headers = Vec<(String, String)>;
type NamedHeaders = Vec<(&'static str, String)>;

fn text(v: &str) -> Value {
    Value::Text(v.into())
}

// ---------------------------------------------------------------- signature

#[tokio::test]
async fn signature_vectors_decide_between_200_and_403() {
    let env = spawn().await;
    let (code, deposit) = hold(&env, 10, 12).await;
    env.mp.set_payment(payment(123456, "pending", &code, deposit, now(&env)));
    let rid = "bb56a2f1-6aae-46ac-982e-9dcd3581d08e";
    let ts = "1742505638683";
    let good = sign(SECRET, Some("123456"), Some(rid), ts);
    let q = "?data.id=123456&type=payment";
    let refused: Vec<(&str, Headers, &str)> = vec![
        (
            "wrong secret",
            vec![
                ("x-signature".into(), format!("ts={ts},v1={}", sign("other", Some("123456"), Some(rid), ts))),
                ("x-request-id".into(), rid.into()),
            ],
            q,
        ),
        (
            "tampered data.id",
            vec![("x-signature".into(), format!("ts={ts},v1={good}")), ("x-request-id".into(), rid.into())],
            "?data.id=123457&type=payment",
        ),
        ("missing x-request-id", vec![("x-signature".into(), format!("ts={ts},v1={good}"))], q),
        (
            "other ts",
            vec![("x-signature".into(), format!("ts=1742505638684,v1={good}")), ("x-request-id".into(), rid.into())],
            q,
        ),
        ("malformed: no v1", vec![("x-signature".into(), format!("ts={ts}")), ("x-request-id".into(), rid.into())], q),
        (
            "malformed: garbage",
            vec![("x-signature".into(), "sha256=abc".into()), ("x-request-id".into(), rid.into())],
            q,
        ),
        (
            "malformed: short hex",
            vec![("x-signature".into(), format!("ts={ts},v1={}", &good[..40])), ("x-request-id".into(), rid.into())],
            q,
        ),
        ("no signature at all", vec![("x-request-id".into(), rid.into())], q),
    ];
    for (case, headers, query) in &refused {
        let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let reply = post(&env, query, &headers, "123456").await;
        reply.assert_error(403, "invalid_signature");
        assert_eq!(reply.json()["detail"], "Invalid signature", "{case}");
    }
    assert!(env.mp.requests("GET", "/v1/payments/123456").is_empty(), "a refused delivery never triggers a fetch");
    assert_eq!(
        env.app.metric("webhook_signature_failures_total{provider=\"mercadopago\"}").await,
        refused.len() as f64
    );

    let accepted: Vec<(&str, String, NamedHeaders)> = vec![
        ("valid", q.into(), vec![("x-signature", format!("ts={ts},v1={good}")), ("x-request-id", rid.into())]),
        (
            "spaces and extra parts",
            q.into(),
            vec![("x-signature", format!(" ts = {ts} , v2=ignored , v1= {good} ,junk")), ("x-request-id", rid.into())],
        ),
        (
            "no x-request-id: the pair is left out",
            q.into(),
            vec![("x-signature", format!("ts={ts},v1={}", sign(SECRET, Some("123456"), None, ts)))],
        ),
        (
            "no data.id in the query: the pair is left out",
            "?type=payment".into(),
            vec![
                ("x-signature", format!("ts=1742505638,v1={}", sign(SECRET, None, Some(rid), "1742505638"))),
                ("x-request-id", rid.into()),
            ],
        ),
    ];
    for (case, query, headers) in &accepted {
        let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let reply = post(&env, query, &headers, "123456").await;
        assert_eq!(reply.status, 200, "{case}: {}", reply.text);
        assert_eq!(reply.json()["status"], "processed", "{case}");
    }
    assert_eq!(env.mp.requests("GET", "/v1/payments/123456").len(), accepted.len());
}

#[tokio::test]
async fn legacy_ipn_and_other_topics_are_acknowledged_and_never_500() {
    let env = spawn().await;
    let (code, deposit) = hold(&env, 10, 12).await;
    env.mp.set_payment(payment(777, "approved", &code, deposit, now(&env)));
    // Legacy IPN arrives unsigned: a trigger to fetch, accepted even with a secret configured.
    let reply = post_body(&env, "?topic=payment&id=777", &[], String::new()).await;
    reply.assert_status(200);
    assert_eq!(reply.json()["status"], "processed");
    assert_eq!(status_of(&env, &code).await, "confirmed");
    // ... but a wrong signature on it is still refused.
    post_body(&env, "?topic=payment&id=777", &[("x-signature", &format!("ts=1,v1={}", "0".repeat(64)))], String::new())
        .await
        .assert_error(403, "invalid_signature");
    // The body form of IPN, signed correctly without an id pair.
    let sig = format!("ts=5,v1={}", sign(SECRET, None, None, "5"));
    let body = json!({"resource": "https://api.mercadolibre.com/collections/notifications/777", "topic": "payment"});
    assert_eq!(post_body(&env, "", &[("x-signature", &sig)], body.to_string()).await.json()["status"], "processed");
    // Merchant orders, unknown topics, junk: 200, ignored, no fetch.
    let fetches = env.mp.received().len();
    let ignored = [
        ("?topic=merchant_order&id=555", String::new()),
        ("?type=merchant_order&data.id=555", json!({"type": "merchant_order", "data": {"id": "555"}}).to_string()),
        ("?type=subscription_preapproval&data.id=abc", "{not json".into()),
        ("?type=payment&data.id=../../admin", String::new()),
    ];
    for (query, body) in ignored {
        let data_id = query.split("data.id=").nth(1);
        let sig = format!("ts=9,v1={}", sign(SECRET, data_id, None, "9"));
        let reply = post_body(&env, query, &[("x-signature", &sig)], body).await;
        reply.assert_status(200);
        assert_eq!(reply.json()["status"], "ignored", "{query}");
    }
    assert_eq!(env.mp.received().len(), fetches);
}

#[tokio::test]
async fn without_a_secret_notifications_are_accepted_and_health_says_unsigned() {
    let mp = FakeMercadoPago::start(TOKEN).await;
    let app = TestApp::spawn_with(
        Settings::default().with("MERCADOPAGO_ACCESS_TOKEN", TOKEN).with("MERCADOPAGO_API_BASE", &mp.url),
    )
    .await;
    let cabin = app.create_accommodation(10_000_00, 4).await;
    let body = app.pre_reserve(cabin, &day(&app, 10), &day(&app, 12)).await.json();
    let code = body["code"].as_str().unwrap();
    mp.set_payment(payment(
        42,
        "approved",
        code,
        body["deposit_amount"].as_str().unwrap().parse().unwrap(),
        app.clock.now(),
    ));
    let reply =
        app.post_raw(&format!("{WEBHOOK}?data.id=42&type=payment"), r#"{"type":"payment","data":{"id":"42"}}"#).await;
    assert_eq!(reply.json()["status"], "processed");
    let health = app.get("/healthz").await.json();
    assert_eq!(health["checks"]["mercadopago"]["status"], "degraded");
    assert_eq!(health["checks"]["mercadopago"]["detail"], "webhook unsigned: MERCADOPAGO_WEBHOOK_SECRET not set");
}

#[tokio::test]
async fn health_reports_a_signed_webhook_as_healthy() {
    let env = spawn().await;
    let check = env.app.get("/healthz").await.json()["checks"]["mercadopago"].clone();
    assert_eq!(check["status"], "healthy", "{check}");
    assert_eq!(check["detail"], "signed");
    assert_eq!(check["notifications_waiting"], 0);
}

// ---------------------------------------------------------------- payment link

#[tokio::test]
async fn the_happy_path_from_hold_to_confirmed() {
    let env = spawn().await;
    let reply = env.app.pre_reserve(env.cabin, &day(&env.app, 10), &day(&env.app, 12)).await;
    reply.assert_status(201);
    let hold = reply.json();
    let code = hold["code"].as_str().unwrap();
    let deposit: f64 = hold["deposit_amount"].as_str().unwrap().parse().unwrap();

    // The preference, as Mercado Pago received it.
    let created = env.mp.requests("POST", "/checkout/preferences");
    assert_eq!(created.len(), 1);
    let pref = &created[0];
    assert_eq!(pref.header("authorization"), Some(format!("Bearer {TOKEN}").as_str()));
    assert_eq!(pref.header("x-idempotency-key"), Some(format!("reservas-preference-{code}").as_str()));
    let item = &pref.body["items"][0];
    assert_eq!((item["currency_id"].as_str(), item["quantity"].as_u64()), (Some("ARS"), Some(1)));
    assert_eq!(item["unit_price"].as_f64(), Some(deposit));
    assert_eq!(pref.body["external_reference"], code);
    assert_eq!(pref.body["notification_url"], format!("{BASE_URL}{WEBHOOK}"));
    assert_eq!(pref.body["expires"], true);
    let expiry = |v: &Json| DateTime::parse_from_rfc3339(v.as_str().unwrap()).unwrap().with_timezone(&Utc);
    assert_eq!(
        expiry(&pref.body["expiration_date_to"]),
        expiry(&hold["expires_at"]),
        "the link lives as long as the hold"
    );
    let payment_url = hold["payment_url"].as_str().expect("payment_url in the 201");
    assert!(payment_url.starts_with("https://www.mercadopago.com.ar/checkout/"), "{payment_url}");

    // Asking again reuses the stored preference.
    let link = env.app.get(&format!("/api/v1/reservations/{code}/payment-link")).await;
    link.assert_status(200);
    assert_eq!(link.json()["payment_url"], payment_url);
    assert_eq!(env.mp.requests("POST", "/checkout/preferences").len(), 1);

    // The guest pays; Mercado Pago notifies; we fetch and confirm.
    env.mp.set_payment(payment(9001, "approved", code, deposit, now(&env)));
    let reply = deliver(&env, 9001).await;
    reply.assert_status(200);
    assert_eq!(reply.json()["status"], "processed");
    let fetches = env.mp.requests("GET", "/v1/payments/9001");
    assert_eq!(fetches.len(), 1);
    assert_eq!(fetches[0].header("authorization"), Some(format!("Bearer {TOKEN}").as_str()));
    assert_eq!(status_of(&env, code).await, "confirmed");
    let by = env.app.query("SELECT confirmed_by FROM reservations WHERE code = ?1", &[text(code)]).await;
    assert_eq!(by[0][0], text("payment:9001"));
    assert_eq!(env.app.metric("reservations_confirmed_total{source=\"payment\"}").await, 1.0);
    assert_eq!(env.app.metric("payments_received_total{status=\"approved\"}").await, 1.0);
    let listing = admin_payments(&env, "?status=approved").await;
    assert_eq!(listing["total"], 1);
    let item = &listing["items"][0];
    assert_eq!((item["payment_id"].as_str(), item["resolution"].as_str()), (Some("9001"), Some("confirmed")));
    assert_eq!(item["reservation_code"], code);
    assert_eq!(item["amount"], hold["deposit_amount"]);
    // Too late for a link now.
    env.app.get(&format!("/api/v1/reservations/{code}/payment-link")).await.assert_error(409, "invalid_state");
}

#[tokio::test]
async fn a_slow_mercado_pago_costs_the_link_not_the_hold() {
    let env = spawn().await;
    env.mp.delay(std::time::Duration::from_secs(5));
    let started = std::time::Instant::now();
    let reply = env.app.pre_reserve(env.cabin, &day(&env.app, 10), &day(&env.app, 12)).await;
    let took = started.elapsed();
    reply.assert_status(201);
    assert!(reply.json().get("payment_url").is_none(), "{}", reply.text);
    assert!(took < std::time::Duration::from_millis(4500), "the hold waited {took:?}");
    let code = reply.json()["code"].as_str().unwrap().to_owned();

    // Mercado Pago is back: the link is created on demand, with the same idempotency key, so
    // the preference its slow first answer created is the one the guest gets.
    env.mp.delay(std::time::Duration::ZERO);
    let link = env.app.get(&format!("/api/v1/reservations/{code}/payment-link")).await;
    link.assert_status(200);
    let posts = env.mp.requests("POST", "/checkout/preferences");
    assert_eq!(posts.len(), 2);
    assert_eq!(posts[0].header("x-idempotency-key"), posts[1].header("x-idempotency-key"));
    assert_eq!(env.mp.created_preferences(), 1);
    let again = env.app.get(&format!("/api/v1/reservations/{code}/payment-link")).await.json();
    assert_eq!(again["payment_url"], link.json()["payment_url"]);
    assert_eq!(again["preference_id"], link.json()["preference_id"]);
    assert_eq!(env.mp.requests("POST", "/checkout/preferences").len(), 2, "the stored link is reused");
}

#[tokio::test]
async fn payment_link_errors() {
    let env = spawn().await;
    env.mp.fail_always(Some(500));
    let (code, _) = hold(&env, 10, 12).await;
    let reply = env.app.get(&format!("/api/v1/reservations/{code}/payment-link")).await;
    reply.assert_error(503, "service_unavailable");
    env.app.get("/api/v1/reservations/ZZZZZZZZZZZZZ/payment-link").await.assert_error(404, "not_found");
    env.mp.fail_always(None);
    env.app.advance(Duration::minutes(31));
    env.app.get(&format!("/api/v1/reservations/{code}/payment-link")).await.assert_error(410, "expired");

    let plain = TestApp::spawn().await;
    let cabin = plain.create_accommodation(10_000_00, 4).await;
    let reply = plain.pre_reserve(cabin, &day(&plain, 10), &day(&plain, 12)).await;
    assert!(reply.json().get("payment_url").is_none(), "no Mercado Pago, no link");
    let code = reply.json()["code"].as_str().unwrap().to_owned();
    plain.get(&format!("/api/v1/reservations/{code}/payment-link")).await.assert_error(404, "not_found");
}

// ---------------------------------------------------------------- idempotency

#[tokio::test]
async fn fifty_concurrent_deliveries_apply_once() {
    let env = spawn().await;
    let (code, deposit) = hold(&env, 10, 12).await;
    env.mp.set_payment(payment(5050, "approved", &code, deposit, now(&env)));
    let replies = join_all((0..50).map(|_| deliver(&env, 5050))).await;
    for reply in &replies {
        reply.assert_status(200);
    }
    assert_eq!(count(&env, "SELECT count(*) FROM payments WHERE mp_payment_id = '5050'", &[]).await, 1);
    assert_eq!(count(&env, "SELECT count(*) FROM payment_status_changes WHERE mp_payment_id = '5050'", &[]).await, 1);
    assert_eq!(status_of(&env, &code).await, "confirmed");
    assert_eq!(env.app.metric("reservations_confirmed_total{source=\"payment\"}").await, 1.0);
    assert_eq!(env.app.metric("payments_received_total{status=\"approved\"}").await, 1.0);
    assert_eq!(
        count(
            &env,
            "SELECT count(*) FROM payment_notifications WHERE received_count = 50 AND processed_through = 50",
            &[]
        )
        .await,
        1
    );
}

/// A deterministic shuffle (no RNG crate needed).
fn shuffle<T>(items: &mut [T], mut seed: u64) {
    for i in (1..items.len()).rev() {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        items.swap(i, (seed >> 33) as usize % (i + 1));
    }
}

#[tokio::test]
async fn a_hundred_shuffled_deliveries_end_in_the_latest_status() {
    let env = spawn().await;
    let (code, deposit) = hold(&env, 10, 12).await;
    let t0 = now(&env) - Duration::minutes(3);
    let history =
        [("pending", t0), ("in_process", t0 + Duration::seconds(40)), ("approved", t0 + Duration::seconds(90))];
    let mut snapshots: Vec<Json> =
        (0..100).map(|i| history[i % 3]).map(|(s, t)| payment(6060, s, &code, deposit, t)).collect();
    shuffle(&mut snapshots, 7);
    env.mp.script_payment(6060, snapshots);
    for chunk in 0..4 {
        let replies = join_all((0..25).map(|_| deliver(&env, 6060))).await;
        for reply in replies {
            assert_eq!(reply.status, 200, "chunk {chunk}: {}", reply.text);
        }
    }
    let stored =
        env.app.query("SELECT status, date_last_updated FROM payments WHERE mp_payment_id = '6060'", &[]).await;
    assert_eq!(stored[0][0], text("approved"));
    let latest = (t0 + Duration::seconds(90)).format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
    assert_eq!(stored[0][1], text(&latest));
    assert_eq!(count(&env, "SELECT count(*) FROM payment_status_changes WHERE mp_payment_id = '6060'", &[]).await, 3);
    assert_eq!(status_of(&env, &code).await, "confirmed");
    assert_eq!(env.app.metric("reservations_confirmed_total{source=\"payment\"}").await, 1.0);
    for status in ["pending", "in_process", "approved"] {
        assert_eq!(env.app.metric(&format!("payments_received_total{{status=\"{status}\"}}")).await, 1.0, "{status}");
    }
}

#[tokio::test]
async fn shuffled_deliveries_ending_in_a_refund_never_leave_a_silent_confirmation() {
    let env = spawn().await;
    let (code, deposit) = hold(&env, 10, 12).await;
    let t0 = now(&env) - Duration::hours(2);
    let history = [
        ("pending", t0),
        ("approved", t0 + Duration::minutes(1)),
        ("refunded", t0 + Duration::minutes(90)),
        ("in_process", t0 + Duration::seconds(30)),
    ];
    let mut snapshots: Vec<Json> =
        (0..100).map(|i| history[i % 4]).map(|(s, t)| payment(6161, s, &code, deposit, t)).collect();
    shuffle(&mut snapshots, 11);
    env.mp.script_payment(6161, snapshots);
    for _ in 0..4 {
        join_all((0..25).map(|_| deliver(&env, 6161))).await.iter().for_each(|r| assert_eq!(r.status, 200));
    }
    let stored = env.app.query("SELECT status FROM payments WHERE mp_payment_id = '6161'", &[]).await;
    assert_eq!(stored[0][0], text("refunded"));
    // Whether the approval was applied depends on which snapshot won the race; either way a
    // confirmed stay paid by a refunded payment is flagged.
    let confirmed = status_of(&env, &code).await == "confirmed";
    assert_eq!(flags(&env, &code).await.contains(&"payment_refunded".to_owned()), confirmed);
}

#[tokio::test]
async fn an_older_pending_after_approved_never_moves_back() {
    let env = spawn().await;
    let (code, deposit) = hold(&env, 10, 12).await;
    let t = now(&env);
    env.mp.set_payment(payment(7070, "approved", &code, deposit, t));
    deliver(&env, 7070).await.assert_status(200);
    env.mp.set_payment(payment(7070, "pending", &code, deposit, t - Duration::minutes(2)));
    deliver(&env, 7070).await.assert_status(200);
    let stored = env.app.query("SELECT status FROM payments WHERE mp_payment_id = '7070'", &[]).await;
    assert_eq!(stored[0][0], text("approved"));
    let late = count(
        &env,
        "SELECT applied FROM payment_status_changes WHERE mp_payment_id = '7070' AND status = 'pending'",
        &[],
    )
    .await;
    assert_eq!(late, 0, "kept in the history, not applied");
    assert_eq!(status_of(&env, &code).await, "confirmed");
}

// ---------------------------------------------------------------- late, partial, refunds

#[tokio::test]
async fn a_late_payment_with_the_nights_still_free_confirms() {
    let env = spawn().await;
    let (code, deposit) = hold(&env, 10, 13).await;
    env.app.advance(Duration::minutes(45));
    env.app.tick().await.assert_status(200);
    assert_eq!(status_of(&env, &code).await, "expired");
    assert_eq!(count(&env, "SELECT count(*) FROM night_slots", &[]).await, 0);
    env.mp.set_payment(payment(8080, "approved", &code, deposit, now(&env)));
    deliver(&env, 8080).await.assert_status(200);
    assert_eq!(status_of(&env, &code).await, "confirmed");
    let slots = count(
        &env,
        "SELECT count(*) FROM night_slots s JOIN reservations r ON r.id = s.reservation_id WHERE r.code = ?1",
        &[text(&code)],
    )
    .await;
    assert_eq!(slots, 3, "the nights are held again");
    assert_eq!(env.app.metric("reservations_confirmed_total{source=\"payment\"}").await, 1.0);
    // And the nights are really taken again.
    env.app.pre_reserve(env.cabin, &day(&env.app, 11), &day(&env.app, 12)).await.assert_error(409, "date_overlap");
}

#[tokio::test]
async fn a_late_payment_before_any_job_noticed_the_expiry_also_confirms() {
    let env = spawn().await;
    let (code, deposit) = hold(&env, 10, 12).await;
    env.app.advance(Duration::minutes(31));
    env.mp.set_payment(payment(8181, "approved", &code, deposit, now(&env)));
    deliver(&env, 8181).await.assert_status(200);
    assert_eq!(status_of(&env, &code).await, "confirmed");
    assert_eq!(env.app.metric("prereservations_expired_total").await, 1.0, "the expiry is still counted, once");
    assert_eq!(env.app.tick().await.json()["expired_holds"], 0);
}

#[tokio::test]
async fn a_late_payment_whose_nights_were_taken_needs_a_refund() {
    let env = spawn().await;
    let (late, deposit) = hold(&env, 10, 13).await;
    env.app.advance(Duration::minutes(31));
    let (other, _) = hold(&env, 11, 12).await;
    env.mp.set_payment(payment(9090, "approved", &late, deposit, now(&env)));
    deliver(&env, 9090).await.assert_status(200);
    assert_eq!(status_of(&env, &late).await, "expired");
    assert_eq!(status_of(&env, &other).await, "pre_reserved");
    let holders = env
        .app
        .query(
            "SELECT DISTINCT r.code FROM night_slots s JOIN reservations r ON r.id = s.reservation_id WHERE s.accommodation_id = ?1",
            &[Value::Integer(env.cabin)],
        )
        .await;
    assert_eq!(holders, vec![vec![text(&other)]], "the other guest's nights are untouched");
    let listing = admin_payments(&env, "?status=needs_refund").await;
    assert_eq!(listing["total"], 1);
    assert_eq!(listing["items"][0]["payment_id"], "9090");
    assert_eq!(listing["items"][0]["reservation_code"], late.as_str());
    assert_eq!(listing["items"][0]["status"], "approved");
    assert_eq!(env.app.metric("reservations_confirmed_total{source=\"payment\"}").await, 0.0);
    // When the admin refunds it, it leaves the needs_refund list.
    env.mp.set_payment(payment(9090, "refunded", &late, deposit, now(&env) + Duration::hours(1)));
    deliver(&env, 9090).await.assert_status(200);
    assert_eq!(admin_payments(&env, "?status=needs_refund").await["total"], 0);
    assert_eq!(admin_payments(&env, "?status=refunded").await["total"], 1);
}

#[tokio::test]
async fn a_payment_for_a_cancelled_hold_needs_a_refund() {
    let env = spawn().await;
    let (code, deposit) = hold(&env, 10, 12).await;
    env.app.post_json(&format!("/api/v1/reservations/{code}/cancel"), &json!({})).await.assert_status(200);
    env.mp.set_payment(payment(1212, "approved", &code, deposit, now(&env)));
    deliver(&env, 1212).await.assert_status(200);
    assert_eq!(status_of(&env, &code).await, "cancelled");
    assert_eq!(admin_payments(&env, "?status=needs_refund").await["items"][0]["payment_id"], "1212");
}

#[tokio::test]
async fn a_partial_payment_is_recorded_and_leaves_the_hold_alone() {
    let env = spawn().await;
    let (code, deposit) = hold(&env, 10, 12).await;
    env.mp.set_payment(payment(1111, "approved", &code, deposit - 1.0, now(&env)));
    deliver(&env, 1111).await.assert_status(200);
    assert_eq!(status_of(&env, &code).await, "pre_reserved");
    let listing = admin_payments(&env, "?status=partial").await;
    assert_eq!(listing["total"], 1);
    assert_eq!(listing["items"][0]["amount"], format!("{:.2}", deposit - 1.0));
    assert_eq!(env.app.metric("reservations_confirmed_total{source=\"payment\"}").await, 0.0);
}

#[tokio::test]
async fn an_unknown_external_reference_is_an_orphan_for_the_admin() {
    let env = spawn().await;
    env.mp.set_payment(payment(2222, "approved", "NOT-OURS-123", 5000.0, now(&env)));
    deliver(&env, 2222).await.assert_status(200);
    let listing = admin_payments(&env, "?status=orphan").await;
    assert_eq!(listing["total"], 1);
    assert_eq!(listing["items"][0]["external_reference"], "NOT-OURS-123");
    assert_eq!(listing["items"][0]["reservation_code"], Json::Null);
}

#[tokio::test]
async fn a_refund_or_chargeback_after_confirmation_flags_the_reservation() {
    let env = spawn().await;
    for (id, (status, flag)) in
        [(3333_u64, ("refunded", "payment_refunded")), (4444, ("charged_back", "payment_charged_back"))]
    {
        let from = if id == 3333 { 10 } else { 20 };
        let (code, deposit) = hold(&env, from, from + 2).await;
        let t = now(&env);
        env.mp.set_payment(payment(id, "approved", &code, deposit, t));
        deliver(&env, id).await.assert_status(200);
        env.mp.set_payment(payment(id, status, &code, deposit, t + Duration::days(1)));
        deliver(&env, id).await.assert_status(200);
        assert_eq!(status_of(&env, &code).await, "confirmed", "not silently cancelled");
        assert_eq!(flags(&env, &code).await, vec![flag.to_owned()]);
        let admin = admin_payments(&env, &format!("?status={status}")).await;
        assert_eq!(admin["items"][0]["reservation_code"], code.as_str());
        deliver(&env, id).await.assert_status(200);
        assert_eq!(flags(&env, &code).await.len(), 1, "raised once");
    }
}

// ---------------------------------------------------------------- outage

#[tokio::test]
async fn an_api_outage_is_stored_and_recovered_by_the_tick() {
    let env = spawn().await;
    let (code, deposit) = hold(&env, 10, 12).await;
    env.mp.set_payment(payment(5555, "approved", &code, deposit, now(&env)));
    env.mp.fail_always(Some(503));
    let reply = deliver(&env, 5555).await;
    reply.assert_status(200);
    assert_eq!(reply.json()["status"], "queued");
    assert_eq!(count(&env, "SELECT count(*) FROM payments", &[]).await, 0);
    let check = env.app.get("/healthz").await.json()["checks"]["mercadopago"].clone();
    assert_eq!((check["status"].as_str(), check["notifications_waiting"].as_i64()), (Some("degraded"), Some(1)));

    // Still down at the first retry: backoff grows, nothing lost.
    env.app.advance(Duration::seconds(61));
    let tick = env.app.tick().await.json();
    assert_eq!((tick["payments"]["due"].as_i64(), tick["payments"]["failed"].as_i64()), (Some(1), Some(1)));
    // Up again; the next tick before the backoff has passed does nothing, after it processes.
    env.mp.fail_always(None);
    assert_eq!(env.app.tick().await.json()["payments"]["due"], 0);
    env.app.advance(Duration::seconds(121));
    let tick = env.app.tick().await.json();
    assert_eq!(tick["payments"]["processed"], 1, "{tick}");
    // The hold was still live when paid (the clock moved 3 minutes of its 30).
    assert_eq!(status_of(&env, &code).await, "confirmed");
    assert_eq!(env.app.get("/healthz").await.json()["checks"]["mercadopago"]["status"], "healthy");
    assert_eq!(env.app.tick().await.json()["payments"]["due"], 0);
}

#[tokio::test]
async fn a_stored_notification_whose_request_died_is_picked_up_by_the_tick() {
    let env = spawn().await;
    let (code, deposit) = hold(&env, 10, 12).await;
    env.mp.set_payment(payment(6666, "approved", &code, deposit, now(&env)));
    // As if a request had stored the delivery and died before fetching.
    env.app
        .query(
            "INSERT INTO payment_notifications (mp_payment_id, form, received_count, first_received_at, last_received_at, next_attempt_at) \
             VALUES ('6666', 'webhook', 1, '2020-01-01T00:00:00.000Z', '2020-01-01T00:00:00.000Z', '2020-01-01T00:01:00.000Z')",
            &[],
        )
        .await;
    assert_eq!(env.app.tick().await.json()["payments"]["processed"], 1);
    assert_eq!(status_of(&env, &code).await, "confirmed");
}

// ---------------------------------------------------------------- admin listing

#[tokio::test]
async fn the_admin_payments_listing_pages_and_validates() {
    let env = spawn().await;
    env.app.get("/api/v1/admin/payments").await.assert_error(401, "unauthorized");
    for id in [1_u64, 2, 3] {
        env.mp.set_payment(payment(id, "pending", "UNKNOWN", 100.0, now(&env)));
        deliver(&env, id).await.assert_status(200);
    }
    let first = admin_payments(&env, "?limit=2").await;
    assert_eq!((first["total"].as_i64(), first["items"].as_array().unwrap().len()), (Some(3), 2));
    let next = first["next_cursor"].as_str().unwrap();
    let last = admin_payments(&env, &format!("?limit=2&cursor={next}")).await;
    assert_eq!(last["items"].as_array().unwrap().len(), 1);
    assert_eq!(last["next_cursor"], Json::Null);
    assert_eq!(admin_payments(&env, "?status=pending").await["total"], 3);
    assert_eq!(admin_payments(&env, "?status=orphan").await["total"], 0, "only an approved payment is an orphan");
    let token = env.app.admin_token().await;
    env.app
        .send(env.app.client.get(env.app.url("/api/v1/admin/payments?status=bogus")).bearer_auth(token))
        .await
        .assert_error(422, "validation_error");
}
