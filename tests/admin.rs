//! Admin login and accommodation management.

use reservas_tests::{Settings, TestApp, ADMIN_EMAIL};
use serde_json::json;

#[tokio::test]
async fn login_gives_a_bearer_token_and_a_session_csrf_token() {
    let app = TestApp::spawn().await;
    let first = app.post_json("/api/v1/admin/login", &json!({ "email": "Admin@Example.com" })).await;
    first.assert_status(200);
    let body = first.json();
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 12 * 3600);
    let second = app.post_json("/api/v1/admin/login", &json!({ "email": ADMIN_EMAIL })).await.json();
    assert_ne!(body["csrf_token"], second["csrf_token"], "CSRF tokens are per session");
    let header: serde_json::Value = {
        let token = body["access_token"].as_str().unwrap();
        let head = token.split('.').next().unwrap();
        let decoded = base64_url_decode(head);
        serde_json::from_slice(&decoded).unwrap()
    };
    assert_eq!(header["alg"], "HS256");
}

fn base64_url_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut bits = 0u32;
    let mut count = 0;
    let mut out = Vec::new();
    for c in text.bytes() {
        let v = ALPHABET.iter().position(|a| *a == c).unwrap() as u32;
        bits = (bits << 6) | v;
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
        }
    }
    out
}

#[tokio::test]
async fn unknown_emails_get_the_same_answer_as_wrong_passwords() {
    let app = TestApp::spawn().await;
    let unknown = app.post_json("/api/v1/admin/login", &json!({ "email": "intruder@example.com" })).await;
    unknown.assert_error(401, "unauthorized");
    assert_eq!(unknown.json()["detail"], "invalid credentials");
    app.post_json("/api/v1/admin/login", &json!({ "email": "not an email" }))
        .await
        .assert_error(422, "validation_error");
    app.post_raw("/api/v1/admin/login", "{").await.assert_error(400, "validation_error");
}

// argon2id hash of "correct horse battery staple" (m=19456, t=2, p=1), made with Python's
// argon2-cffi so the check does not only agree with itself.
const PASSWORD_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$Yj8BhGKTrangh+2iJMsFhQ$mNFNcMyfIpEVYlYN8BxWsSlnZok+jsqj36EyIYCXqRM";

#[tokio::test]
async fn outside_development_a_password_is_required() {
    let app = TestApp::spawn_with(
        Settings::default().with("ENVIRONMENT", "production").with("ADMIN_PASSWORD_HASH", PASSWORD_HASH),
    )
    .await;
    app.post_json("/api/v1/admin/login", &json!({ "email": ADMIN_EMAIL })).await.assert_error(401, "unauthorized");
    app.post_json("/api/v1/admin/login", &json!({ "email": ADMIN_EMAIL, "password": "wrong" }))
        .await
        .assert_error(401, "unauthorized");
    let reply = app
        .post_json("/api/v1/admin/login", &json!({ "email": ADMIN_EMAIL, "password": "correct horse battery staple" }))
        .await;
    reply.assert_status(200);
    app.post_json(
        "/api/v1/admin/login",
        &json!({ "email": "other@example.com", "password": "correct horse battery staple" }),
    )
    .await
    .assert_error(401, "unauthorized");
}

#[tokio::test]
async fn expired_and_tampered_tokens_are_refused() {
    let app = TestApp::spawn().await;
    let token = app.admin_token().await;
    let list = |t: String| app.send(app.client.get(app.url("/api/v1/admin/accommodations")).bearer_auth(t));
    list(token.clone()).await.assert_status(200);
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    parts[2] = parts[2].chars().rev().collect();
    list(parts.join(".")).await.assert_error(401, "unauthorized");
    // alg none with the same claims.
    let payload = token.split('.').nth(1).unwrap();
    list(format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{payload}.")).await.assert_error(401, "unauthorized");
    app.advance(chrono::Duration::hours(13));
    list(token).await.assert_error(401, "unauthorized");
}

#[tokio::test]
async fn accommodations_are_created_listed_read_and_updated() {
    let app = TestApp::spawn().await;
    let token = app.admin_token().await;
    let anonymous =
        app.post_json("/api/v1/admin/accommodations", &json!({ "name": "X", "capacity": 2, "base_price": 1 })).await;
    anonymous.assert_error(401, "unauthorized");

    let created = app
        .send(app.client.post(app.url("/api/v1/admin/accommodations")).bearer_auth(&token).json(&json!({
            "name": "Cabaña Los Álamos", "capacity": 5, "base_price": 55000
        })))
        .await;
    created.assert_status(201);
    let cabin = created.json();
    assert_eq!(cabin["base_price"], "55000.00");
    assert_eq!(cabin["weekend_multiplier"], "1.2");
    assert_eq!(cabin["deposit_percent"], 30);
    assert_eq!(cabin["active"], true);
    let id = cabin["id"].as_i64().unwrap();

    let patched = app
        .send(app.client.patch(app.url(&format!("/api/v1/admin/accommodations/{id}"))).bearer_auth(&token).json(
            &json!({
                "base_price": "60000.50", "weekend_multiplier": 1.5, "deposit_percent": 50
            }),
        ))
        .await;
    patched.assert_status(200);
    let patched = patched.json();
    assert_eq!(patched["base_price"], "60000.50");
    assert_eq!(patched["weekend_multiplier"], "1.5");
    assert_eq!(patched["name"], "Cabaña Los Álamos");

    let fetched = app
        .send(app.client.get(app.url(&format!("/api/v1/admin/accommodations/{id}"))).bearer_auth(&token))
        .await
        .json();
    assert_eq!(fetched["deposit_percent"], 50);
    let list = app.send(app.client.get(app.url("/api/v1/admin/accommodations")).bearer_auth(&token)).await.json();
    assert_eq!(list["total"], 1);
    assert_eq!(list["items"][0]["id"], id);
    app.send(app.client.get(app.url("/api/v1/admin/accommodations/77")).bearer_auth(&token))
        .await
        .assert_error(404, "not_found");
}

#[tokio::test]
async fn bad_accommodation_fields_are_validation_errors_and_change_nothing() {
    let app = TestApp::spawn().await;
    let token = app.admin_token().await;
    let id = app.create_accommodation(10_000_00, 4).await;
    let bad_creates = [
        json!({ "capacity": 2, "base_price": 1 }),
        json!({ "name": "X", "capacity": 0, "base_price": 1 }),
        json!({ "name": "X", "capacity": 2, "base_price": -5 }),
        json!({ "name": "X", "capacity": 2, "base_price": "12.345" }),
        json!({ "name": "X", "capacity": 2, "base_price": 1, "weekend_multiplier": 0 }),
        json!({ "name": "X", "capacity": 2, "base_price": 1, "deposit_percent": 120 }),
        json!({ "name": "X", "capacity": "two", "base_price": 1 }),
    ];
    for body in bad_creates {
        let reply =
            app.send(app.client.post(app.url("/api/v1/admin/accommodations")).bearer_auth(&token).json(&body)).await;
        assert_eq!(reply.status, 422, "{body}: {}", reply.text);
    }
    let reply = app
        .send(
            app.client
                .patch(app.url(&format!("/api/v1/admin/accommodations/{id}")))
                .bearer_auth(&token)
                .json(&json!({ "capacity": -1 })),
        )
        .await;
    reply.assert_error(422, "validation_error");
    let fetched = app
        .send(app.client.get(app.url(&format!("/api/v1/admin/accommodations/{id}"))).bearer_auth(&token))
        .await
        .json();
    assert_eq!(fetched["capacity"], 4);
    assert_eq!(app.scalar("SELECT count(*) FROM accommodations", &[]).await, 1);
}

#[tokio::test]
async fn a_valid_token_for_an_account_no_longer_allowed_is_forbidden() {
    let app = TestApp::spawn().await;
    let now = chrono::Utc::now().timestamp();
    let claims = reservas_domain::auth::Claims::new("former@example.com", "s".into(), now, 3600);
    let token = claims.encode(b"test-secret-that-is-long-enough-for-hs256");
    app.send(app.client.get(app.url("/api/v1/admin/accommodations")).bearer_auth(token))
        .await
        .assert_error(403, "forbidden");
}
