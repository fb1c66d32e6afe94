//! The back office over real HTTP: admin listings and CSV export, admin security (JWT
//! tampering, CSRF, login rate limits), and guest email through the outbox against a local
//! fake email API.

use chrono::Duration;
use futures::future::join_all;
use reservas_app::ports::Clock;
use reservas_domain::auth::Claims;
use reservas_tests::fake_email::FakeEmail;
use reservas_tests::{day, next_weekday, Reply, Settings, TestApp, ADMIN_EMAIL, JOBS_TOKEN};
use serde_json::{json, Value as Json};
use std::collections::{HashMap, HashSet};

const JWT_SECRET: &str = "test-secret-that-is-long-enough-for-hs256";
const EMAIL_KEY: &str = "test-email-key";

// ---------------------------------------------------------------- helpers

struct Session {
    token: String,
    csrf: String,
}

async fn login(app: &TestApp) -> Session {
    let reply = app.post_json("/api/v1/admin/login", &json!({ "email": ADMIN_EMAIL })).await;
    reply.assert_status(200);
    let body = reply.json();
    Session {
        token: body["access_token"].as_str().expect("token").to_owned(),
        csrf: body["csrf_token"].as_str().expect("csrf").to_owned(),
    }
}

async fn admin_get(app: &TestApp, token: &str, path: &str) -> Reply {
    app.send(app.client.get(app.url(path)).bearer_auth(token)).await
}

fn email_settings(fake: &FakeEmail) -> Settings {
    Settings::default()
        .with("EMAIL_API_URL", &fake.url)
        .with("EMAIL_API_KEY", EMAIL_KEY)
        .with("EMAIL_FROM", "Reservas <reservas@example.com>")
        .with("OUTBOX_BACKOFF_BASE_SECONDS", "60")
        .with("OUTBOX_MAX_ATTEMPTS", "3")
}

/// A hold with the given contact details; returns its code.
async fn hold_for(app: &TestApp, cabin: i64, from: i64, to: i64, contact: &[(&str, Json)]) -> String {
    let mut body = TestApp::hold_body(cabin, &day(app, from), &day(app, to));
    for (field, value) in contact {
        body[*field] = value.clone();
    }
    let reply = app.post_json("/api/v1/reservations/pre-reserve", &body).await;
    reply.assert_status(201);
    reply.json()["code"].as_str().expect("code").to_owned()
}

async fn cancel(app: &TestApp, code: &str) {
    app.post_json(&format!("/api/v1/reservations/{code}/cancel"), &json!({})).await.assert_status(200);
}

async fn listing(app: &TestApp, token: &str, query: String) -> Json {
    let reply = admin_get(app, token, &format!("/api/v1/admin/reservations{query}")).await;
    reply.assert_status(200);
    reply.json()
}

/// Days from today to the first Wednesday at least `after` days away: a weekday night, so
/// prices carry no weekend multiplier.
fn wednesday(app: &TestApp, after: i64) -> i64 {
    let date = next_weekday(app, chrono::Weekday::Wed, after);
    (date - reservas_domain::stay::today_in_argentina(app.clock.now())).num_days()
}

fn codes(listing: &Json) -> Vec<String> {
    listing["items"].as_array().expect("items").iter().map(|i| i["code"].as_str().unwrap().to_owned()).collect()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// Outbox rows as (kind, status) for a reservation, read from the database.
async fn outbox_of(app: &TestApp, code: &str) -> Vec<(String, String)> {
    app.query(
        "SELECT o.kind, o.status FROM outbox o JOIN reservations r ON r.id = o.reservation_id WHERE r.code = ?1 ORDER BY o.id",
        &[code.into()],
    )
    .await
    .into_iter()
    .map(|row| match (&row[0], &row[1]) {
        (reservas_app::ports::Value::Text(k), reservas_app::ports::Value::Text(s)) => (k.clone(), s.clone()),
        other => panic!("unexpected row {other:?}"),
    })
    .collect()
}

fn subjects_for(fake: &FakeEmail, code: &str) -> Vec<String> {
    fake.sent()
        .iter()
        .filter_map(|r| r.body["subject"].as_str().filter(|s| s.contains(code)).map(str::to_owned))
        .collect()
}

// ---------------------------------------------------------------- listings

#[tokio::test]
async fn the_listing_filters_by_status_accommodation_channel_and_stay_dates() {
    let app = TestApp::spawn().await;
    let admin = login(&app).await;
    let lago = app.create_accommodation(20_000_00, 4).await;
    let bosque = app.create_accommodation(30_000_00, 6).await;
    let held = hold_for(&app, lago, 10, 12, &[]).await;
    let confirmed = hold_for(&app, lago, 20, 23, &[("channel", json!("whatsapp"))]).await;
    app.confirm(&confirmed, &admin.token).await.assert_status(200);
    let cancelled = hold_for(&app, bosque, 10, 11, &[("channel", json!("phone"))]).await;
    cancel(&app, &cancelled).await;

    let list = |query: String| listing(&app, &admin.token, query);
    let all = list(String::new()).await;
    assert_eq!(all["total"], 3);
    assert_eq!(sorted(codes(&all)), sorted(vec![held.clone(), confirmed.clone(), cancelled.clone()]));
    assert_eq!(codes(&list("?status=confirmed".into()).await), vec![confirmed.clone()]);
    assert_eq!(
        sorted(codes(&list("?status=confirmed,cancelled".into()).await)),
        sorted(vec![confirmed.clone(), cancelled.clone()])
    );
    assert_eq!(codes(&list(format!("?accommodation_id={bosque}")).await), vec![cancelled.clone()]);
    assert_eq!(codes(&list("?channel=whatsapp".into()).await), vec![confirmed.clone()]);
    assert_eq!(list(format!("?channel=whatsapp&accommodation_id={bosque}")).await["total"], 0, "filters combine");
    // Stay range: a stay is in when it has a night in [stay_from, stay_to].
    let q = format!("?stay_from={}&stay_to={}", day(&app, 11), day(&app, 19));
    assert_eq!(sorted(codes(&list(q).await)), sorted(vec![held.clone()]));
    let q = format!("?stay_from={}&stay_to={}", day(&app, 22), day(&app, 40));
    assert_eq!(codes(&list(q).await), vec![confirmed.clone()]);
    // A check-out day is not a night of the stay.
    assert_eq!(list(format!("?stay_from={}", day(&app, 23))).await["total"], 0);
}

#[tokio::test]
async fn items_carry_exact_amounts_contacts_and_flags() {
    let app = TestApp::spawn().await;
    let admin = login(&app).await;
    let cabin = app.create_accommodation(48_000_00, 4).await;
    let wed = wednesday(&app, 10);
    let code = hold_for(&app, cabin, wed, wed + 1, &[]).await;
    let listing = admin_get(&app, &admin.token, "/api/v1/admin/reservations").await.json();
    let item = &listing["items"][0];
    assert_eq!(item["code"], code.as_str());
    assert_eq!(item["total_price"], "48000.00");
    assert_eq!(item["deposit_amount"], "14400.00");
    assert_eq!(item["contact_email"], "ana@example.com");
    assert_eq!(item["contact_phone"], "+5491122334455");
    assert_eq!(item["accommodation_name"], "Cabaña de prueba");
    assert_eq!(item["flags"], json!([]));
    assert_eq!(listing["next_cursor"], Json::Null);

    let single = admin_get(&app, &admin.token, &format!("/api/v1/admin/reservations/{code}")).await;
    single.assert_status(200);
    let single = single.json();
    assert_eq!(single["flags"], json!([]));
    assert_eq!(single["total_price"], "48000.00");
    assert_eq!(single["messages"][0]["kind"], "hold_created");
    admin_get(&app, &admin.token, "/api/v1/admin/reservations/0000000000000").await.assert_error(404, "not_found");
}

#[tokio::test]
async fn pages_follow_the_cursor_without_repeats_and_end_with_null() {
    let app = TestApp::spawn().await;
    let admin = login(&app).await;
    let cabin = app.create_accommodation(10_000_00, 4).await;
    let mut expected = Vec::new();
    for i in 0..5 {
        expected.push(hold_for(&app, cabin, 10 + 2 * i, 11 + 2 * i, &[]).await);
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/admin/reservations?limit=2&sort=check_in&cursor={c}"),
            None => "/api/v1/admin/reservations?limit=2&sort=check_in".to_owned(),
        };
        let page = admin_get(&app, &admin.token, &path).await.json();
        assert_eq!(page["total"], 5);
        pages += 1;
        seen.extend(codes(&page));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, expected, "sorted by check-in, every reservation once");
    admin_get(&app, &admin.token, "/api/v1/admin/reservations?limit=201").await.assert_error(422, "validation_error");
    admin_get(&app, &admin.token, "/api/v1/admin/reservations?cursor=zz").await.assert_error(422, "validation_error");
}

#[tokio::test]
async fn sorting_by_total_both_ways() {
    let app = TestApp::spawn().await;
    let admin = login(&app).await;
    let cabin = app.create_accommodation(10_000_00, 4).await;
    let short = hold_for(&app, cabin, 10, 11, &[]).await;
    let long = hold_for(&app, cabin, 20, 25, &[]).await;
    let medium = hold_for(&app, cabin, 30, 33, &[]).await;
    let up = admin_get(&app, &admin.token, "/api/v1/admin/reservations?sort=total_price").await.json();
    assert_eq!(codes(&up), vec![short.clone(), medium.clone(), long.clone()]);
    let down = admin_get(&app, &admin.token, "/api/v1/admin/reservations?sort=-total_price").await.json();
    assert_eq!(codes(&down), vec![long, medium, short]);
    admin_get(&app, &admin.token, "/api/v1/admin/reservations?sort=contact_email; DROP TABLE reservations")
        .await
        .assert_error(422, "validation_error");
}

#[tokio::test]
async fn free_text_finds_name_phone_email_and_code() {
    let app = TestApp::spawn().await;
    let admin = login(&app).await;
    let cabin = app.create_accommodation(10_000_00, 4).await;
    let ana = hold_for(&app, cabin, 10, 11, &[]).await;
    let bruno = hold_for(
        &app,
        cabin,
        20,
        21,
        &[
            ("contact_name", json!("Bruno Díaz")),
            ("contact_phone", json!("+54 9 351 555-0101")),
            ("contact_email", json!("bruno@correo.com.ar")),
        ],
    )
    .await;
    let search = |q: String| {
        let token = admin.token.clone();
        let app = &app;
        async move {
            let url = format!("/api/v1/admin/reservations?q={}", url_encode(&q));
            codes(&admin_get(app, &token, &url).await.json())
        }
    };
    assert_eq!(search("bruno".into()).await, vec![bruno.clone()]);
    assert_eq!(search("PÉREZ".to_lowercase()).await, vec![ana.clone()]);
    assert_eq!(search("correo.com".into()).await, vec![bruno.clone()]);
    assert_eq!(search("351 555-0101".into()).await, vec![bruno.clone()], "phones match however they are typed");
    assert_eq!(search(ana[3..9].to_lowercase()).await, vec![ana.clone()]);
    assert_eq!(search("%".into()).await, Vec::<String>::new(), "wildcards are literal");
}

fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn created_range_and_expired_holds_are_judged_by_the_clock() {
    let app = TestApp::spawn().await;
    let admin = login(&app).await;
    let cabin = app.create_accommodation(10_000_00, 4).await;
    let early = hold_for(&app, cabin, 10, 11, &[]).await;
    let boundary = app.clock.now() + Duration::hours(1);
    app.advance(Duration::hours(2));
    let late = hold_for(&app, cabin, 20, 21, &[]).await;
    let at = boundary.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let before = admin_get(&app, &admin.token, &format!("/api/v1/admin/reservations?created_to={at}")).await.json();
    assert_eq!(codes(&before), vec![early.clone()]);
    let after = admin_get(&app, &admin.token, &format!("/api/v1/admin/reservations?created_from={at}")).await.json();
    assert_eq!(codes(&after), vec![late.clone()]);
    // The early hold has expired (30 minutes) though no tick ran: the listing says so.
    let expired = admin_get(&app, &admin.token, "/api/v1/admin/reservations?status=expired").await.json();
    assert_eq!(codes(&expired), vec![early.clone()]);
    assert_eq!(expired["items"][0]["status"], "expired");
    let live = admin_get(&app, &admin.token, "/api/v1/admin/reservations?status=pre_reserved").await.json();
    assert_eq!(codes(&live), vec![late]);
}

#[tokio::test]
async fn listings_need_an_admin_and_valid_filters() {
    let app = TestApp::spawn().await;
    for path in [
        "/api/v1/admin/reservations",
        "/api/v1/admin/reservations/export.csv",
        "/api/v1/admin/reservations/0000000000000",
        "/api/v1/admin/outbox",
    ] {
        app.get(path).await.assert_error(401, "unauthorized");
    }
    let admin = login(&app).await;
    for query in ["status=lost", "channel=fax", "accommodation_id=x", "created_from=ayer", "sort=nope"] {
        let reply = admin_get(&app, &admin.token, &format!("/api/v1/admin/reservations?{query}")).await;
        assert_eq!(reply.status, 422, "{query}: {}", reply.text);
    }
    admin_get(&app, &admin.token, "/api/v1/admin/reservations?stay_from=2027-02-30")
        .await
        .assert_error(422, "invalid_dates");
    admin_get(&app, &admin.token, "/api/v1/admin/outbox?status=lost").await.assert_error(422, "validation_error");
}

// ---------------------------------------------------------------- CSV

async fn export(app: &TestApp, token: &str, query: &str) -> Reply {
    let reply = admin_get(app, token, &format!("/api/v1/admin/reservations/export.csv{query}")).await;
    reply.assert_status(200);
    reply
}

#[tokio::test]
async fn the_csv_is_rfc4180_with_a_header_and_neutralised_formulas() {
    let app = TestApp::spawn().await;
    let admin = login(&app).await;
    let cabin = app.create_accommodation(48_000_00, 4).await;
    let evil = "=HYPERLINK(\"http://evil.example\",\"click\")";
    let code = hold_for(
        &app,
        cabin,
        10,
        12,
        &[("contact_name", json!(evil)), ("contact_email", json!("-raro,\"x\"@example.com"))],
    )
    .await;
    for (i, name) in ["-2+3", "+cmd", "@SUM(A1)", "Ñandú, \"el\" bueno"].into_iter().enumerate() {
        let from = 20 + 2 * i as i64;
        hold_for(&app, cabin, from, from + 1, &[("contact_name", json!(name))]).await;
    }
    let reply = export(&app, &admin.token, "?sort=check_in").await;
    assert!(reply.headers["content-type"].to_str().unwrap().starts_with("text/csv; charset=utf-8"));
    assert!(reply.headers["content-disposition"].to_str().unwrap().starts_with("attachment; filename="));
    let text = &reply.text;
    assert!(text.starts_with("code,status,accommodation_id,accommodation_name,check_in,"));
    assert!(text.ends_with("\r\n"));
    assert_eq!(text.matches('\n').count(), text.matches("\r\n").count(), "every line ends with CRLF");
    assert_eq!(text.matches("\r\n").count(), 6, "a header and five records");
    let first = text.split("\r\n").nth(1).unwrap();
    assert!(first.starts_with(&code));
    assert!(first.contains(",\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"click\"\")\","), "{first}");
    assert!(first.contains(",'+5491122334455,"), "phones are neutralised too: {first}");
    assert!(first.contains(",\"'-raro,\"\"x\"\"@example.com\","), "{first}");

    // Python's csv module reads back exactly the neutralised values, cell by cell.
    let rows = python_csv(text).await;
    let listing = admin_get(&app, &admin.token, "/api/v1/admin/reservations?sort=check_in").await.json();
    let header = &rows[0];
    assert_eq!(header.len(), 19);
    assert_eq!(rows.len(), 6);
    for (row, item) in rows[1..].iter().zip(listing["items"].as_array().unwrap()) {
        assert_eq!(row.len(), header.len());
        let cell = |name: &str| row[header.iter().position(|h| h == name).unwrap()].clone();
        let neutral = |v: &str| {
            if v.starts_with(['=', '+', '-', '@', '\t', '\r']) {
                format!("'{v}")
            } else {
                v.to_owned()
            }
        };
        for field in ["code", "status", "check_in", "check_out", "contact_name", "contact_phone", "contact_email"] {
            assert_eq!(cell(field), neutral(item[field].as_str().unwrap()), "{field}");
        }
        assert_eq!(cell("total_price"), item["total_price"].as_str().unwrap());
        assert_eq!(cell("nights"), item["nights"].to_string());
    }
    assert_eq!(rows[1][header.iter().position(|h| h == "contact_name").unwrap()], format!("'{evil}"));
}

/// Parses CSV text with Python's csv module (as a spreadsheet import would) and returns the
/// rows.
async fn python_csv(text: &str) -> Vec<Vec<String>> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("export.csv");
    std::fs::write(&path, text).unwrap();
    let script = "import csv, json, sys\n\
                  with open(sys.argv[1], newline='', encoding='utf-8') as f:\n    \
                  print(json.dumps(list(csv.reader(f, strict=True))))";
    let output = tokio::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&path)
        .output()
        .await
        .expect("python3 is needed for the CSV round-trip check (.ci/run installs it)");
    assert!(output.status.success(), "python: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("rows")
}

#[tokio::test]
async fn the_csv_takes_the_listing_filters() {
    let app = TestApp::spawn().await;
    let admin = login(&app).await;
    let cabin = app.create_accommodation(10_000_00, 4).await;
    let kept = hold_for(&app, cabin, 10, 11, &[]).await;
    let gone = hold_for(&app, cabin, 20, 21, &[]).await;
    cancel(&app, &gone).await;
    let text = export(&app, &admin.token, "?status=pre_reserved").await.text;
    assert_eq!(text.matches("\r\n").count(), 2);
    assert!(text.contains(&kept) && !text.contains(&gone));
    let empty = export(&app, &admin.token, "?status=confirmed").await.text;
    assert_eq!(empty.matches("\r\n").count(), 1, "just the header");
}

// ---------------------------------------------------------------- admin security

#[tokio::test]
async fn tampered_tokens_are_refused() {
    let app = TestApp::spawn().await;
    let token = login(&app).await.token;
    let list = |t: String| {
        let app = &app;
        async move { admin_get(app, &t, "/api/v1/admin/reservations").await }
    };
    list(token.clone()).await.assert_status(200);
    let parts: Vec<&str> = token.split('.').collect();
    // alg none, no signature.
    list(format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{}.", parts[1])).await.assert_error(401, "unauthorized");
    // RS256 in the header over the same payload and signature.
    list(format!("eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.{}.{}", parts[1], parts[2]))
        .await
        .assert_error(401, "unauthorized");
    let now = app.clock.now().timestamp();
    // Signed with another key.
    let claims = Claims::new(ADMIN_EMAIL, "s1".into(), now, 3600);
    list(claims.encode(b"another-secret-that-is-long-enough!!")).await.assert_error(401, "unauthorized");
    // Right key, wrong audience or issuer.
    let mut wrong_aud = claims.clone();
    wrong_aud.aud = "someone-else".into();
    list(wrong_aud.encode(JWT_SECRET.as_bytes())).await.assert_error(401, "unauthorized");
    let mut wrong_iss = claims.clone();
    wrong_iss.iss = "someone-else".into();
    list(wrong_iss.encode(JWT_SECRET.as_bytes())).await.assert_error(401, "unauthorized");
    // The control: the same claims, properly signed, pass.
    list(claims.encode(JWT_SECRET.as_bytes())).await.assert_status(200);
    // Expired by the app's clock.
    app.advance(Duration::hours(13));
    list(token).await.assert_error(401, "unauthorized");
}

async fn resend(app: &TestApp, code: &str, token: Option<&str>, csrf: Option<&str>) -> Reply {
    let mut req = app.client.post(app.url(&format!("/api/v1/admin/actions/resend-email/{code}")));
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    if let Some(csrf) = csrf {
        req = req.header("x-csrf-token", csrf);
    }
    app.send(req).await
}

#[tokio::test]
async fn actions_need_the_csrf_token_of_the_same_session() {
    let app = TestApp::spawn().await;
    let cabin = app.create_accommodation(10_000_00, 4).await;
    let code = hold_for(&app, cabin, 10, 11, &[]).await;
    let mine = login(&app).await;
    let other = login(&app).await;
    resend(&app, &code, None, Some(&mine.csrf)).await.assert_error(401, "unauthorized");
    resend(&app, &code, Some(&mine.token), None).await.assert_error(403, "forbidden");
    resend(&app, &code, Some(&mine.token), Some("0123456789abcdef")).await.assert_error(403, "forbidden");
    resend(&app, &code, Some(&mine.token), Some(&other.csrf)).await.assert_error(403, "forbidden");
    assert_eq!(outbox_of(&app, &code).await.len(), 1, "refused actions queue nothing");
    resend(&app, &code, Some(&mine.token), Some(&mine.csrf)).await.assert_status(202);
    resend(&app, &code, Some(&other.token), Some(&other.csrf)).await.assert_status(202);
}

// argon2id hash of "correct horse battery staple" (see tests/admin.rs).
const PASSWORD_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$Yj8BhGKTrangh+2iJMsFhQ$mNFNcMyfIpEVYlYN8BxWsSlnZok+jsqj36EyIYCXqRM";

async fn try_login(app: &TestApp, email: &str, password: &str, forwarded: Option<&str>) -> Reply {
    let mut req =
        app.client.post(app.url("/api/v1/admin/login")).json(&json!({ "email": email, "password": password }));
    if let Some(ip) = forwarded {
        req = req.header("x-forwarded-for", ip);
    }
    app.send(req).await
}

#[tokio::test]
async fn login_failures_are_limited_per_email_even_for_the_right_password() {
    let app = TestApp::spawn_with(
        Settings::default()
            .with("ENVIRONMENT", "production")
            .with("ADMIN_PASSWORD_HASH", PASSWORD_HASH)
            .with("LOGIN_MAX_FAILURES_PER_EMAIL", "3")
            .with("LOGIN_MAX_FAILURES_PER_CLIENT", "100"),
    )
    .await;
    let right = "correct horse battery staple";
    try_login(&app, ADMIN_EMAIL, right, None).await.assert_status(200);
    for _ in 0..3 {
        try_login(&app, ADMIN_EMAIL, "guess", None).await.assert_error(401, "unauthorized");
    }
    let limited = try_login(&app, ADMIN_EMAIL, right, None).await;
    limited.assert_error(429, "rate_limited");
    // An unknown email is limited alike, with the very same answer.
    for _ in 0..3 {
        try_login(&app, "nobody@example.com", "guess", None).await.assert_error(401, "unauthorized");
    }
    let unknown = try_login(&app, "nobody@example.com", "guess", None).await;
    assert_eq!(unknown.status, 429);
    assert_eq!(unknown.text, limited.text, "the limit reveals nothing about which emails exist");
    // Another email from the same client is not affected; the window passes.
    try_login(&app, "other@example.com", "guess", None).await.assert_error(401, "unauthorized");
    app.advance(Duration::minutes(16));
    try_login(&app, ADMIN_EMAIL, right, None).await.assert_status(200);
    assert_eq!(app.metric("admin_login_rate_limited_total").await, 2.0);
}

#[tokio::test]
async fn login_failures_are_limited_per_client_and_forwarded_for_is_not_trusted_by_default() {
    let app = TestApp::spawn_with(
        Settings::default().with("LOGIN_MAX_FAILURES_PER_EMAIL", "100").with("LOGIN_MAX_FAILURES_PER_CLIENT", "3"),
    )
    .await;
    for i in 0..3 {
        // A forged X-Forwarded-For does not make a new client.
        let reply = try_login(&app, &format!("intruder{i}@example.com"), "x", Some(&format!("198.51.100.{i}"))).await;
        reply.assert_error(401, "unauthorized");
    }
    try_login(&app, "intruder9@example.com", "x", Some("198.51.100.99")).await.assert_error(429, "rate_limited");
    // Even the real admin is turned away from this client until the window passes.
    try_login(&app, ADMIN_EMAIL, "", None).await.assert_error(429, "rate_limited");
    app.advance(Duration::minutes(16));
    try_login(&app, ADMIN_EMAIL, "", None).await.assert_status(200);
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_client_is_limited() {
    let app = TestApp::spawn_with(
        Settings::default()
            .with("LOGIN_MAX_FAILURES_PER_EMAIL", "100")
            .with("LOGIN_MAX_FAILURES_PER_CLIENT", "2")
            .with("TRUSTED_PROXIES", "127.0.0.1"),
    )
    .await;
    for i in 0..2 {
        try_login(&app, &format!("x{i}@example.com"), "x", Some("198.51.100.7"))
            .await
            .assert_error(401, "unauthorized");
    }
    try_login(&app, "x9@example.com", "x", Some("198.51.100.7")).await.assert_error(429, "rate_limited");
    // The client cannot escape by prepending a forged hop: the proxy's own hop is read.
    try_login(&app, "x9@example.com", "x", Some("203.0.113.1, 198.51.100.7")).await.assert_error(429, "rate_limited");
    // A different client behind the same proxy is not limited.
    try_login(&app, "x9@example.com", "x", Some("198.51.100.8")).await.assert_error(401, "unauthorized");
}

#[tokio::test]
async fn a_burst_of_concurrent_failures_cannot_exceed_the_limit() {
    let app = TestApp::spawn_with(
        Settings::default().with("LOGIN_MAX_FAILURES_PER_EMAIL", "5").with("LOGIN_MAX_FAILURES_PER_CLIENT", "100"),
    )
    .await;
    let replies = join_all((0..20).map(|_| try_login(&app, "intruder@example.com", "x", None))).await;
    let refused = replies.iter().filter(|r| r.status == 401).count();
    let limited = replies.iter().filter(|r| r.status == 429).count();
    assert_eq!((refused, limited), (5, 15));
}

// ---------------------------------------------------------------- outbox and email

#[tokio::test]
async fn guest_emails_go_out_through_the_outbox_once() {
    let fake = FakeEmail::start().await;
    let app = TestApp::spawn_with(email_settings(&fake)).await;
    let admin = login(&app).await;
    let cabin = app.create_accommodation(48_000_00, 4).await;
    let code = hold_for(&app, cabin, 10, 13, &[]).await;
    // Written with the hold, sent only by the tick.
    assert_eq!(outbox_of(&app, &code).await, vec![("hold_created".into(), "pending".into())]);
    assert!(fake.received().is_empty());
    let tick = app.tick().await.json();
    assert_eq!(tick["backoffice"]["email"]["sent"], 1, "{tick}");
    let sent = fake.sent();
    assert_eq!(sent.len(), 1);
    let email = &sent[0];
    assert_eq!(email.authorization.as_deref(), Some(&*format!("Bearer {EMAIL_KEY}")));
    assert!(email.idempotency_key.as_deref().is_some_and(|k| !k.is_empty()));
    assert_eq!(email.body["to"], json!(["ana@example.com"]));
    assert_eq!(email.body["from"], "Reservas <reservas@example.com>");
    assert!(email.body["subject"].as_str().unwrap().contains(&code));
    let text = email.body["text"].as_str().unwrap();
    assert!(text.starts_with("Hola Ana,"), "{text}");
    assert!(text.contains("Seña: $ "), "{text}");
    assert!(email.body["html"].as_str().unwrap().contains("<p>"));
    app.tick().await.assert_status(200);
    assert_eq!(fake.received().len(), 1, "a sent message is never sent again");

    let outbox = admin_get(&app, &admin.token, "/api/v1/admin/outbox?status=sent").await.json();
    assert_eq!(outbox["total"], 1);
    assert_eq!(outbox["items"][0]["reservation_code"], code.as_str());
    assert_eq!(outbox["items"][0]["kind"], "hold_created");
    assert_eq!(outbox["items"][0]["attempts"], 1);
    assert_eq!(app.metric("outbox_messages_sent_total{channel=\"email\"}").await, 1.0);
}

#[tokio::test]
async fn every_guest_event_queues_its_email() {
    let fake = FakeEmail::start().await;
    let app = TestApp::spawn_with(email_settings(&fake)).await;
    let admin = login(&app).await;
    let cabin = app.create_accommodation(10_000_00, 4).await;
    let confirmed = hold_for(&app, cabin, 10, 11, &[]).await;
    app.confirm(&confirmed, &admin.token).await.assert_status(200);
    let cancelled = hold_for(&app, cabin, 20, 21, &[]).await;
    cancel(&app, &cancelled).await;
    let expired = hold_for(&app, cabin, 30, 31, &[]).await;
    let silent = hold_for(&app, cabin, 40, 41, &[("contact_email", Json::Null)]).await;
    app.advance(Duration::minutes(31));
    app.tick().await.assert_status(200);
    let kinds = |rows: Vec<(String, String)>| rows.into_iter().map(|(k, _)| k).collect::<Vec<_>>();
    assert_eq!(kinds(outbox_of(&app, &confirmed).await), vec!["hold_created", "confirmed"]);
    assert_eq!(kinds(outbox_of(&app, &cancelled).await), vec!["hold_created", "cancelled"]);
    // No reminder for the expired hold: the first tick came after its expiry.
    assert_eq!(kinds(outbox_of(&app, &expired).await), vec!["hold_created", "expired"]);
    assert!(outbox_of(&app, &silent).await.is_empty(), "no email address, no email");
    assert_eq!(fake.sent().len(), 6);
    assert!(subjects_for(&fake, &confirmed).iter().any(|s| s.contains("confirmada")));
    assert!(subjects_for(&fake, &cancelled).iter().any(|s| s.contains("cancelada")));
    assert!(subjects_for(&fake, &expired).iter().any(|s| s.contains("venció")));
}

#[tokio::test]
async fn failed_deliveries_back_off_exponentially_then_succeed_with_the_same_key() {
    let fake = FakeEmail::start().await;
    let app = TestApp::spawn_with(email_settings(&fake)).await;
    let cabin = app.create_accommodation(10_000_00, 4).await;
    let code = hold_for(&app, cabin, 10, 11, &[]).await;
    fake.fail_next(&[503, 429]);
    app.tick().await.assert_status(200);
    assert_eq!(fake.received().len(), 1);
    let (attempts, next): (i64, String) = {
        let row = app.query("SELECT attempts, next_attempt_at FROM outbox", &[]).await.remove(0);
        match (&row[0], &row[1]) {
            (reservas_app::ports::Value::Integer(a), reservas_app::ports::Value::Text(n)) => (*a, n.clone()),
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(attempts, 1);
    let next = chrono::DateTime::parse_from_rfc3339(&next).unwrap().with_timezone(&chrono::Utc);
    let early = app.clock.now() + Duration::seconds(60) - next;
    assert!(early >= Duration::zero() && early < Duration::seconds(2), "retry due after the base wait: {next}");
    // Not due yet: nothing is sent.
    app.advance(Duration::seconds(59));
    app.tick().await;
    assert_eq!(fake.received().len(), 1);
    app.advance(Duration::seconds(1));
    app.tick().await;
    assert_eq!(fake.received().len(), 2, "retried after the base wait");
    // The second wait doubles.
    app.advance(Duration::seconds(119));
    app.tick().await;
    assert_eq!(fake.received().len(), 2);
    app.advance(Duration::seconds(1));
    app.tick().await;
    let received = fake.received();
    assert_eq!(received.len(), 3);
    assert_eq!(fake.sent().len(), 1);
    let keys: HashSet<_> = received.iter().map(|r| r.idempotency_key.clone()).collect();
    assert_eq!(keys.len(), 1, "every attempt carries the same idempotency key");
    assert_eq!(outbox_of(&app, &code).await, vec![("hold_created".into(), "sent".into())]);
    assert_eq!(app.metric("outbox_failed_attempts_total{channel=\"email\"}").await, 2.0);
}

#[tokio::test]
async fn a_lost_response_is_retried_under_the_same_key_and_sent_once() {
    let fake = FakeEmail::start().await;
    let app = TestApp::spawn_with(email_settings(&fake)).await;
    let cabin = app.create_accommodation(10_000_00, 4).await;
    hold_for(&app, cabin, 10, 11, &[]).await;
    fake.lose_responses(1);
    app.tick().await;
    app.advance(Duration::seconds(60));
    app.tick().await;
    assert_eq!(fake.received().len(), 2);
    assert_eq!(fake.sent().len(), 1, "the provider recognised the retry");
    assert_eq!(app.scalar("SELECT count(*) FROM outbox WHERE status = 'sent'", &[]).await, 1);
}

#[tokio::test]
async fn after_the_last_attempt_a_message_is_a_dead_letter_the_admin_sees() {
    let fake = FakeEmail::start().await;
    let app = TestApp::spawn_with(email_settings(&fake)).await;
    let admin = login(&app).await;
    let cabin = app.create_accommodation(10_000_00, 4).await;
    let code = hold_for(&app, cabin, 10, 11, &[]).await;
    fake.fail_always(Some(500));
    for _ in 0..5 {
        app.tick().await.assert_status(200);
        app.advance(Duration::minutes(2));
    }
    assert_eq!(fake.received().len(), 3, "OUTBOX_MAX_ATTEMPTS attempts, then no more");
    let dead = admin_get(&app, &admin.token, "/api/v1/admin/outbox?status=dead").await.json();
    assert_eq!(dead["total"], 1);
    let letter = &dead["items"][0];
    assert_eq!(letter["reservation_code"], code.as_str());
    assert_eq!(letter["attempts"], 3);
    assert!(letter["last_error"].as_str().unwrap().contains("500"));
    assert_eq!(letter["next_attempt_at"], Json::Null);
    let pending = admin_get(&app, &admin.token, "/api/v1/admin/outbox?status=pending").await.json();
    assert_eq!(pending["total"], 0);
    let reservation = admin_get(&app, &admin.token, &format!("/api/v1/admin/reservations/{code}")).await.json();
    assert_eq!(reservation["flags"], json!(["email_failed"]));
    let health = app.get("/healthz").await.json();
    assert_eq!(health["checks"]["email"]["status"], "degraded", "{health}");
    assert_eq!(app.metric("outbox_messages_dead_total{channel=\"email\"}").await, 1.0);

    // The provider is back; the admin re-sends and the flag clears once it is delivered.
    fake.fail_always(None);
    resend(&app, &code, Some(&admin.token), Some(&admin.csrf)).await.assert_status(202);
    app.tick().await;
    let reservation = admin_get(&app, &admin.token, &format!("/api/v1/admin/reservations/{code}")).await.json();
    assert_eq!(reservation["flags"], json!([]));
}

#[tokio::test]
async fn a_refused_message_is_dead_at_once() {
    let fake = FakeEmail::start().await;
    let app = TestApp::spawn_with(email_settings(&fake)).await;
    let cabin = app.create_accommodation(10_000_00, 4).await;
    hold_for(&app, cabin, 10, 11, &[]).await;
    fake.fail_next(&[422]);
    app.tick().await;
    assert_eq!(app.scalar("SELECT count(*) FROM outbox WHERE status = 'dead' AND attempts = 1", &[]).await, 1);
}

#[tokio::test]
async fn concurrent_ticks_never_send_a_message_twice() {
    let fake = FakeEmail::start().await;
    let app = TestApp::spawn_with(email_settings(&fake)).await;
    let cabin = app.create_accommodation(10_000_00, 4).await;
    let mut codes = Vec::new();
    for i in 0..25 {
        codes.push(hold_for(&app, cabin, 10 + 2 * i, 11 + 2 * i, &[]).await);
    }
    // Slow answers keep the ticks overlapping.
    fake.delay(std::time::Duration::from_millis(40));
    let ticks =
        join_all((0..6).map(|_| app.send(app.client.post(app.url("/api/v1/jobs/tick")).bearer_auth(JOBS_TOKEN)))).await;
    for tick in &ticks {
        tick.assert_status(200);
    }
    let received = fake.received();
    let mut per_key: HashMap<String, usize> = HashMap::new();
    for r in &received {
        *per_key.entry(r.idempotency_key.clone().unwrap()).or_default() += 1;
    }
    assert_eq!(per_key.len(), 25, "every message went out");
    assert!(per_key.values().all(|n| *n == 1), "no message was sent twice: {per_key:?}");
    assert_eq!(received.len(), 25);
    assert_eq!(app.scalar("SELECT count(*) FROM outbox WHERE status = 'sent'", &[]).await, 25);
    assert_eq!(app.metric("outbox_messages_sent_total{channel=\"email\"}").await, 25.0);
}

#[tokio::test]
async fn without_an_email_api_messages_wait_and_are_not_lost() {
    let app = TestApp::spawn().await;
    let cabin = app.create_accommodation(10_000_00, 4).await;
    hold_for(&app, cabin, 10, 11, &[]).await;
    let tick = app.tick().await.json();
    assert_eq!(tick["backoffice"]["email"], "not_configured");
    assert_eq!(app.scalar("SELECT count(*) FROM outbox WHERE status = 'pending' AND attempts = 0", &[]).await, 1);
    let health = app.get("/healthz").await.json();
    assert_eq!(health["checks"]["email"]["status"], "not_configured");
}

#[tokio::test]
async fn a_provider_outage_delays_and_the_backlog_shows_in_health() {
    let fake = FakeEmail::start().await;
    let app = TestApp::spawn_with(email_settings(&fake).with("OUTBOX_MAX_ATTEMPTS", "8")).await;
    let cabin = app.create_accommodation(10_000_00, 4).await;
    hold_for(&app, cabin, 10, 11, &[]).await;
    fake.fail_always(Some(503));
    app.tick().await;
    assert_eq!(app.get("/healthz").await.json()["checks"]["email"]["status"], "healthy", "one failure is no backlog");
    for _ in 0..4 {
        app.advance(Duration::minutes(5));
        app.tick().await;
    }
    let health = app.get("/healthz").await.json();
    assert_eq!(health["checks"]["email"]["status"], "degraded", "{health}");
    fake.fail_always(None);
    app.advance(Duration::hours(1));
    app.tick().await;
    // Nothing was lost in the outage: the hold's email, its reminder and (the hold expired
    // meanwhile) the expiry notice all went out.
    assert_eq!(fake.sent().len(), 3);
    assert_eq!(app.scalar("SELECT count(*) FROM outbox WHERE status != 'sent'", &[]).await, 0);
    assert_eq!(app.get("/healthz").await.json()["checks"]["email"]["status"], "healthy");
}

// ---------------------------------------------------------------- reminders

#[tokio::test]
async fn a_hold_gets_exactly_one_reminder_inside_the_window() {
    let fake = FakeEmail::start().await;
    let app = TestApp::spawn_with(email_settings(&fake).with("REMINDER_MINUTES_BEFORE", "10")).await;
    let cabin = app.create_accommodation(10_000_00, 4).await;
    let code = hold_for(&app, cabin, 10, 11, &[]).await;
    app.tick().await;
    assert_eq!(app.metric("prereservation_reminders_processed_total").await, 0.0, "30 minutes left: too early");
    app.advance(Duration::minutes(21));
    let tick = app.tick().await.json();
    assert_eq!(tick["backoffice"]["reminders_queued"], 1, "{tick}");
    for _ in 0..3 {
        app.advance(Duration::minutes(2));
        app.tick().await;
    }
    assert_eq!(app.metric("prereservation_reminders_processed_total").await, 1.0);
    let reminders: Vec<_> = subjects_for(&fake, &code).into_iter().filter(|s| s.contains("vence pronto")).collect();
    assert_eq!(reminders.len(), 1);
    // Once expired, no reminder is ever queued for it.
    app.advance(Duration::minutes(10));
    app.tick().await;
    assert_eq!(app.metric("prereservation_reminders_processed_total").await, 1.0);
}

#[tokio::test]
async fn a_hold_shorter_than_the_window_is_reminded_at_the_first_tick() {
    let fake = FakeEmail::start().await;
    let app =
        TestApp::spawn_with(email_settings(&fake).with("HOLD_SECONDS", "300").with("REMINDER_MINUTES_BEFORE", "10"))
            .await;
    let cabin = app.create_accommodation(10_000_00, 4).await;
    hold_for(&app, cabin, 10, 11, &[]).await;
    hold_for(&app, cabin, 20, 21, &[("contact_email", Json::Null)]).await;
    let ticks = join_all((0..4).map(|_| app.tick())).await;
    let queued: i64 = ticks.iter().map(|t| t.json()["backoffice"]["reminders_queued"].as_i64().unwrap()).sum();
    assert_eq!(queued, 1, "one reminder, whichever concurrent tick got there; none without an address");
    assert_eq!(app.metric("prereservation_reminders_processed_total").await, 1.0);
    assert_eq!(app.scalar("SELECT count(*) FROM hold_reminders", &[]).await, 2, "both holds were considered once");
}

// ---------------------------------------------------------------- resend

#[tokio::test]
async fn resend_queues_the_email_that_matches_the_status_once_per_click() {
    let fake = FakeEmail::start().await;
    let app = TestApp::spawn_with(email_settings(&fake)).await;
    let admin = login(&app).await;
    let cabin = app.create_accommodation(10_000_00, 4).await;
    let code = hold_for(&app, cabin, 10, 11, &[]).await;
    app.confirm(&code, &admin.token).await.assert_status(200);
    app.tick().await;
    assert_eq!(fake.sent().len(), 2);

    let first = resend(&app, &code, Some(&admin.token), Some(&admin.csrf)).await;
    first.assert_status(202);
    let first = first.json();
    assert_eq!(first["message"]["kind"], "confirmed");
    assert_eq!(first["already_queued"], false);
    // A second click before delivery does not double the email.
    let second = resend(&app, &code, Some(&admin.token), Some(&admin.csrf)).await.json();
    assert_eq!(second["already_queued"], true);
    assert_eq!(second["message"]["id"], first["message"]["id"]);
    app.tick().await;
    let sent = fake.sent();
    assert_eq!(sent.len(), 3);
    assert!(sent[2].body["subject"].as_str().unwrap().contains("confirmada"));
    assert_ne!(sent[2].idempotency_key, sent[1].idempotency_key, "a resend is a new message");
    let requested_by = app.query("SELECT requested_by FROM outbox ORDER BY id DESC LIMIT 1", &[]).await;
    assert_eq!(requested_by[0][0], reservas_app::ports::Value::Text(ADMIN_EMAIL.into()));

    let unknown = resend(&app, "0000000000000", Some(&admin.token), Some(&admin.csrf)).await;
    unknown.assert_error(404, "not_found");
    let silent = hold_for(&app, cabin, 20, 21, &[("contact_email", Json::Null)]).await;
    resend(&app, &silent, Some(&admin.token), Some(&admin.csrf)).await.assert_error(409, "invalid_state");
}

#[tokio::test]
async fn the_outbox_listing_pages_newest_first() {
    let app = TestApp::spawn().await;
    let admin = login(&app).await;
    let cabin = app.create_accommodation(10_000_00, 4).await;
    for i in 0..3 {
        hold_for(&app, cabin, 10 + 2 * i, 11 + 2 * i, &[]).await;
    }
    let page = admin_get(&app, &admin.token, "/api/v1/admin/outbox?limit=2").await.json();
    assert_eq!(page["total"], 3);
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    assert!(page["items"][0]["id"].as_i64() > page["items"][1]["id"].as_i64());
    let cursor = page["next_cursor"].as_str().unwrap();
    let last = admin_get(&app, &admin.token, &format!("/api/v1/admin/outbox?limit=2&cursor={cursor}")).await.json();
    assert_eq!(last["items"].as_array().unwrap().len(), 1);
    assert_eq!(last["next_cursor"], Json::Null);
    assert_eq!(last["items"][0]["status"], "pending");
}
