//! The reservation contract over real HTTP: pre-reserve, confirm, cancel, get, availability,
//! quote, expiry, and every error code.

use chrono::{Duration, Weekday};
use reservas_app::ports::Value;
use reservas_tests::{day, next_weekday, TestApp};
use serde_json::json;

#[tokio::test]
async fn a_hold_answers_code_amounts_and_expiry() {
    let app = TestApp::spawn().await;
    let cabin = app.create_accommodation(48_000_00, 4).await;
    let reply = app.pre_reserve(cabin, &day(&app, 10), &day(&app, 13)).await;
    reply.assert_status(201);
    let body = reply.json();
    assert_eq!(body["status"], "pre_reserved");
    assert_eq!(body["nights"], 3);
    let code = body["code"].as_str().unwrap();
    assert_eq!(code.len(), 13, "65 random bits in Crockford base32");
    let expires: chrono::DateTime<chrono::Utc> = body["expires_at"].as_str().unwrap().parse().unwrap();
    let expected = reservas_app::ports::Clock::now(&app.clock) + Duration::minutes(30);
    assert!((expires - expected).num_seconds().abs() <= 2, "expires_at {expires} vs {expected}");
    assert!(body["total_price"].as_str().unwrap().ends_with(".00"));
    assert!(reply.headers.get("x-request-id").is_some());
    // The reservation and exactly its three nights are in the database.
    let slots = app
        .scalar(
            "SELECT count(*) FROM night_slots s JOIN reservations r ON r.id = s.reservation_id WHERE r.code = ?1",
            &[Value::Text(code.into())],
        )
        .await;
    assert_eq!(slots, 3);
}

#[tokio::test]
async fn codes_are_unique_and_unguessable_in_shape() {
    let app = TestApp::spawn().await;
    let cabin = app.create_accommodation(10_000_00, 4).await;
    let mut codes = std::collections::HashSet::new();
    for i in 0..20 {
        codes.insert(app.hold(cabin, &day(&app, 10 + 2 * i), &day(&app, 11 + 2 * i)).await);
    }
    assert_eq!(codes.len(), 20);
}

#[tokio::test]
async fn overlapping_holds_get_date_overlap_and_are_counted() {
    let app = TestApp::spawn().await;
    let cabin = app.create_accommodation(12_000_00, 4).await;
    app.hold(cabin, &day(&app, 5), &day(&app, 8)).await;
    app.pre_reserve(cabin, &day(&app, 7), &day(&app, 9)).await.assert_error(409, "date_overlap");
    app.pre_reserve(cabin, &day(&app, 3), &day(&app, 6)).await.assert_error(409, "date_overlap");
    assert_eq!(app.metric("reservations_date_overlap_total{channel=\"web\"}").await, 2.0);
    assert_eq!(app.metric("reservations_created_total{channel=\"web\"}").await, 1.0);
}

#[tokio::test]
async fn back_to_back_stays_are_allowed() {
    let app = TestApp::spawn().await;
    let cabin = app.create_accommodation(12_000_00, 4).await;
    app.hold(cabin, &day(&app, 5), &day(&app, 8)).await;
    app.hold(cabin, &day(&app, 8), &day(&app, 10)).await;
    app.hold(cabin, &day(&app, 2), &day(&app, 5)).await;
}

#[tokio::test]
async fn the_same_stay_while_held_is_turned_away_by_the_lock() {
    let app = TestApp::spawn().await;
    let cabin = app.create_accommodation(12_000_00, 4).await;
    app.hold(cabin, &day(&app, 5), &day(&app, 8)).await;
    app.pre_reserve(cabin, &day(&app, 5), &day(&app, 8)).await.assert_error(409, "processing_or_unavailable");
    assert_eq!(app.metric("reservations_lock_failed_total{channel=\"web\"}").await, 1.0);
}

#[tokio::test]
async fn invalid_dates_are_refused() {
    let app = TestApp::spawn().await;
    let cabin = app.create_accommodation(12_000_00, 4).await;
    let cases = [
        ("2027-02-30".to_owned(), "2027-03-02".to_owned()),
        ("mañana".to_owned(), day(&app, 3)),
        ("2027/03/01".to_owned(), day(&app, 3)),
        (day(&app, 5), day(&app, 5)),
        (day(&app, 6), day(&app, 5)),
        (day(&app, -1), day(&app, 2)),
        (day(&app, 5), day(&app, 36)),
    ];
    for (check_in, check_out) in cases {
        app.pre_reserve(cabin, &check_in, &check_out).await.assert_error(422, "invalid_dates");
    }
    // Check-in today is fine; exactly MAX_NIGHTS (30) nights too.
    app.hold(cabin, &day(&app, 0), &day(&app, 1)).await;
    app.hold(cabin, &day(&app, 40), &day(&app, 70)).await;
    assert_eq!(app.scalar("SELECT count(*) FROM reservations", &[]).await, 2);
}

#[tokio::test]
async fn invalid_guests_are_refused() {
    let app = TestApp::spawn().await;
    let cabin = app.create_accommodation(12_000_00, 4).await;
    for guests in [json!(0), json!(-2), json!(5), json!(2.5)] {
        let mut body = TestApp::hold_body(cabin, &day(&app, 5), &day(&app, 7));
        body["guests"] = guests;
        app.post_json("/api/v1/reservations/pre-reserve", &body).await.assert_error(422, "invalid_guests");
    }
}

#[tokio::test]
async fn missing_and_malformed_fields_are_validation_errors() {
    let app = TestApp::spawn().await;
    let cabin = app.create_accommodation(12_000_00, 4).await;
    let good = TestApp::hold_body(cabin, &day(&app, 5), &day(&app, 7));
    let edits: Vec<(&str, serde_json::Value)> = vec![
        ("accommodation_id", json!(null)),
        ("accommodation_id", json!("abc")),
        ("check_in", json!(20270305)),
        ("check_out", json!(null)),
        ("guests", json!("four")),
        ("channel", json!("carrier-pigeon")),
        ("channel", json!(null)),
        ("contact_name", json!("")),
        ("contact_name", json!(42)),
        ("contact_phone", json!("call me maybe")),
        ("contact_email", json!("not-an-email")),
    ];
    for (field, value) in edits {
        let mut body = good.clone();
        body[field] = value.clone();
        let reply = app.post_json("/api/v1/reservations/pre-reserve", &body).await;
        assert_eq!(reply.status, 422, "{field}={value}: {}", reply.text);
        assert_eq!(reply.json()["error"], "validation_error", "{field}={value}");
    }
    assert_eq!(app.scalar("SELECT count(*) FROM reservations", &[]).await, 0);
}

#[tokio::test]
async fn unparseable_and_oversized_bodies() {
    let app = TestApp::spawn().await;
    app.post_raw("/api/v1/reservations/pre-reserve", "{\"accommodation_id\": 1,")
        .await
        .assert_error(400, "validation_error");
    app.post_raw("/api/v1/reservations/pre-reserve", "[1, 2, 3]").await.assert_error(422, "validation_error");
    let huge = format!("{{\"contact_name\": \"{}\"}}", "x".repeat(2 * 1024 * 1024));
    app.post_raw("/api/v1/reservations/pre-reserve", huge).await.assert_error(413, "payload_too_large");
}

#[tokio::test]
async fn unknown_or_inactive_accommodations_are_not_found() {
    let app = TestApp::spawn().await;
    app.pre_reserve(999, &day(&app, 5), &day(&app, 7)).await.assert_error(404, "accommodation_not_found");
    let cabin = app.create_accommodation(12_000_00, 4).await;
    let token = app.admin_token().await;
    app.send(
        app.client
            .patch(app.url(&format!("/api/v1/admin/accommodations/{cabin}")))
            .bearer_auth(&token)
            .json(&json!({"active": false})),
    )
    .await
    .assert_status(200);
    app.pre_reserve(cabin, &day(&app, 5), &day(&app, 7)).await.assert_error(404, "accommodation_not_found");
    app.get(&format!("/api/v1/accommodations/999/quote?check_in={}&check_out={}&guests=2", day(&app, 5), day(&app, 7)))
        .await
        .assert_error(404, "accommodation_not_found");
}

#[tokio::test]
async fn unknown_routes_and_wrong_methods_answer_json() {
    let app = TestApp::spawn().await;
    app.get("/api/v1/nothing-here").await.assert_error(404, "not_found");
    app.send(app.client.delete(app.url("/api/v1/reservations/pre-reserve")))
        .await
        .assert_error(405, "method_not_allowed");
    app.get("/api/v1/reservations/NOTACODE").await.assert_error(404, "not_found");
}

#[tokio::test]
async fn quote_prices_weekend_nights_with_the_multiplier() {
    let app = TestApp::spawn().await;
    let cabin = app.create_accommodation(10_000_00, 4).await;
    let friday = next_weekday(&app, Weekday::Fri, 1);
    let monday = friday + Duration::days(3);
    let reply =
        app.get(&format!("/api/v1/accommodations/{cabin}/quote?check_in={friday}&check_out={monday}&guests=2")).await;
    reply.assert_status(200);
    let q = reply.json();
    assert_eq!(q["nights"], 3);
    let prices: Vec<&str> = q["nightly"].as_array().unwrap().iter().map(|n| n["price"].as_str().unwrap()).collect();
    assert_eq!(prices, ["10000.00", "12000.00", "12000.00"]);
    assert_eq!(q["total_price"], "34000.00");
    assert_eq!(q["deposit_amount"], "10200.00");
    // Pre-reserve answers the same amounts.
    let hold = app.pre_reserve(cabin, &friday.to_string(), &monday.to_string()).await.json();
    assert_eq!(hold["total_price"], "34000.00");
    assert_eq!(hold["deposit_amount"], "10200.00");
}

#[tokio::test]
async fn deposit_is_rounded_to_whole_pesos_and_multipliers_are_exact() {
    let app = TestApp::spawn().await;
    let token = app.admin_token().await;
    let reply = app
        .send(app.client.post(app.url("/api/v1/admin/accommodations")).bearer_auth(&token).json(&json!({
            "name": "Depto", "capacity": 2, "base_price": "333.33", "weekend_multiplier": "1.5", "deposit_percent": 25
        })))
        .await;
    reply.assert_status(201);
    let cabin = reply.json()["id"].as_i64().unwrap();
    let saturday = next_weekday(&app, Weekday::Sat, 1);
    let monday = saturday + Duration::days(2);
    let q = app
        .get(&format!("/api/v1/accommodations/{cabin}/quote?check_in={saturday}&check_out={monday}&guests=1"))
        .await
        .json();
    // Two weekend nights at 333.33 × 1.5 = 499.995 -> 500.00 each; 25 % of 1000.00 = 250.
    assert_eq!(q["total_price"], "1000.00");
    assert_eq!(q["deposit_amount"], "250.00");
}

#[tokio::test]
async fn quote_has_the_same_errors_as_pre_reserve() {
    let app = TestApp::spawn().await;
    let cabin = app.create_accommodation(10_000_00, 4).await;
    let base = format!("/api/v1/accommodations/{cabin}/quote");
    app.get(&format!("{base}?check_in={}&check_out={}&guests=2", day(&app, 5), day(&app, 4)))
        .await
        .assert_error(422, "invalid_dates");
    app.get(&format!("{base}?check_in={}&check_out={}&guests=9", day(&app, 5), day(&app, 7)))
        .await
        .assert_error(422, "invalid_guests");
    app.get(&format!("{base}?check_in={}&check_out={}&guests=0", day(&app, 5), day(&app, 7)))
        .await
        .assert_error(422, "invalid_guests");
    app.get(&format!("{base}?check_in={}&guests=2", day(&app, 5))).await.assert_error(422, "validation_error");
    app.hold(cabin, &day(&app, 5), &day(&app, 7)).await;
    app.get(&format!("{base}?check_in={}&check_out={}&guests=2", day(&app, 6), day(&app, 8)))
        .await
        .assert_error(409, "date_overlap");
}

#[tokio::test]
async fn availability_lists_taken_and_free_nights() {
    let app = TestApp::spawn().await;
    let cabin = app.create_accommodation(10_000_00, 4).await;
    app.hold(cabin, &day(&app, 3), &day(&app, 5)).await;
    let reply = app
        .get(&format!("/api/v1/accommodations/{cabin}/availability?from={}&to={}", day(&app, 2), day(&app, 7)))
        .await;
    reply.assert_status(200);
    let body = reply.json();
    assert_eq!(body["taken"], json!([day(&app, 3), day(&app, 4)]));
    assert_eq!(body["free"], json!([day(&app, 2), day(&app, 5), day(&app, 6)]));
    app.get(&format!("/api/v1/accommodations/{cabin}/availability?from={}&to={}", day(&app, 7), day(&app, 2)))
        .await
        .assert_error(422, "invalid_dates");
    app.get(&format!("/api/v1/accommodations/{cabin}/availability?from=yesterday&to={}", day(&app, 2)))
        .await
        .assert_error(422, "invalid_dates");
}

#[tokio::test]
async fn confirm_needs_an_admin_and_happens_once() {
    let app = TestApp::spawn().await;
    let cabin = app.create_accommodation(10_000_00, 4).await;
    let code = app.hold(cabin, &day(&app, 3), &day(&app, 5)).await;
    app.send(app.client.post(app.url(&format!("/api/v1/reservations/{code}/confirm"))))
        .await
        .assert_error(401, "unauthorized");
    app.confirm(&code, "not-a-jwt").await.assert_error(401, "unauthorized");
    let token = app.admin_token().await;
    let reply = app.confirm(&code, &token).await;
    reply.assert_status(200);
    assert_eq!(reply.json()["status"], "confirmed");
    assert!(reply.json()["confirmed_at"].is_string());
    app.confirm(&code, &token).await.assert_error(409, "invalid_state");
    app.confirm("ZZZZZZZZZZZZZ", &token).await.assert_error(404, "not_found");
    let status = app.query("SELECT status FROM reservations WHERE code = ?1", &[Value::Text(code)]).await;
    assert_eq!(status[0][0], Value::Text("confirmed".into()));
    assert_eq!(app.metric("reservations_confirmed_total{source=\"admin\"}").await, 1.0);
}

#[tokio::test]
async fn confirming_an_expired_hold_answers_expired_and_frees_the_nights() {
    let app = TestApp::spawn().await;
    let cabin = app.create_accommodation(10_000_00, 4).await;
    let code = app.hold(cabin, &day(&app, 3), &day(&app, 5)).await;
    let token = app.admin_token().await;
    app.advance(Duration::minutes(31));
    app.confirm(&code, &token).await.assert_error(410, "expired");
    app.confirm(&code, &token).await.assert_error(410, "expired");
    assert_eq!(app.scalar("SELECT count(*) FROM night_slots", &[]).await, 0);
    // The tick finds nothing left to expire: the expiry was counted once, by the confirm.
    assert_eq!(app.tick().await.json()["expired_holds"], 0);
    assert_eq!(app.metric("prereservations_expired_total").await, 1.0);
}

#[tokio::test]
async fn an_expired_hold_is_free_at_read_time_before_any_job_runs() {
    let app = TestApp::spawn().await;
    let cabin = app.create_accommodation(10_000_00, 4).await;
    let code = app.hold(cabin, &day(&app, 3), &day(&app, 5)).await;
    app.advance(Duration::seconds(30 * 60 + 1));
    let availability = app
        .get(&format!("/api/v1/accommodations/{cabin}/availability?from={}&to={}", day(&app, 3), day(&app, 5)))
        .await
        .json();
    assert_eq!(availability["taken"], json!([]));
    assert_eq!(app.get(&format!("/api/v1/reservations/{code}")).await.json()["status"], "expired");
    // Same dates again: the stale lock and the stale nights both give way.
    let second = app.hold(cabin, &day(&app, 3), &day(&app, 5)).await;
    assert_ne!(second, code);
    assert_eq!(app.metric("prereservations_expired_total").await, 1.0);
    let stored = app.query("SELECT status FROM reservations WHERE code = ?1", &[Value::Text(code)]).await;
    assert_eq!(stored[0][0], Value::Text("expired".into()));
}

#[tokio::test]
async fn the_tick_expires_holds_once_and_counts_them() {
    let app = TestApp::spawn().await;
    let cabin = app.create_accommodation(10_000_00, 4).await;
    for i in 0..3 {
        app.hold(cabin, &day(&app, 3 + 2 * i), &day(&app, 4 + 2 * i)).await;
    }
    app.send(app.client.post(app.url("/api/v1/jobs/tick"))).await.assert_error(401, "unauthorized");
    app.send(app.client.post(app.url("/api/v1/jobs/tick")).bearer_auth("wrong"))
        .await
        .assert_error(401, "unauthorized");
    assert_eq!(app.tick().await.json()["expired_holds"], 0);
    app.advance(Duration::minutes(31));
    let reply = app.tick().await;
    reply.assert_status(200);
    assert_eq!(reply.json()["expired_holds"], 3);
    assert_eq!(app.tick().await.json()["expired_holds"], 0);
    assert_eq!(app.metric("prereservations_expired_total").await, 3.0);
    assert_eq!(app.scalar("SELECT count(*) FROM night_slots", &[]).await, 0);
    assert_eq!(app.scalar("SELECT count(*) FROM reservations WHERE status = 'expired'", &[]).await, 3);
}

#[tokio::test]
async fn hold_lifetime_is_configurable() {
    let app = TestApp::spawn_with(reservas_tests::Settings::default().with("HOLD_SECONDS", "60")).await;
    let cabin = app.create_accommodation(10_000_00, 4).await;
    let code = app.hold(cabin, &day(&app, 3), &day(&app, 5)).await;
    app.advance(Duration::seconds(59));
    assert_eq!(app.get(&format!("/api/v1/reservations/{code}")).await.json()["status"], "pre_reserved");
    app.advance(Duration::seconds(2));
    assert_eq!(app.get(&format!("/api/v1/reservations/{code}")).await.json()["status"], "expired");
}

#[tokio::test]
async fn a_guest_with_the_code_cancels_a_hold_and_the_nights_free_at_once() {
    let app = TestApp::spawn().await;
    let cabin = app.create_accommodation(10_000_00, 4).await;
    let code = app.hold(cabin, &day(&app, 3), &day(&app, 6)).await;
    let reply =
        app.post_json(&format!("/api/v1/reservations/{code}/cancel"), &json!({"reason": "cambio de planes"})).await;
    reply.assert_status(200);
    assert_eq!(reply.json()["status"], "cancelled");
    assert_eq!(app.scalar("SELECT count(*) FROM night_slots", &[]).await, 0);
    // The very same stay can be held again right away (lock released, nights free).
    app.hold(cabin, &day(&app, 3), &day(&app, 6)).await;
    app.post_json(&format!("/api/v1/reservations/{code}/cancel"), &json!({})).await.assert_error(409, "invalid_state");
    app.post_json("/api/v1/reservations/ZZZZZZZZZZZZZ/cancel", &json!({})).await.assert_error(404, "not_found");
}

#[tokio::test]
async fn cancelling_a_confirmed_stay_needs_an_admin() {
    let app = TestApp::spawn().await;
    let cabin = app.create_accommodation(10_000_00, 4).await;
    let code = app.hold(cabin, &day(&app, 3), &day(&app, 6)).await;
    let token = app.admin_token().await;
    app.confirm(&code, &token).await.assert_status(200);
    app.post_json(&format!("/api/v1/reservations/{code}/cancel"), &json!({})).await.assert_error(401, "unauthorized");
    assert_eq!(app.scalar("SELECT count(*) FROM night_slots", &[]).await, 3);
    app.send(
        app.client.post(app.url(&format!("/api/v1/reservations/{code}/cancel"))).bearer_auth(&token).json(&json!({})),
    )
    .await
    .assert_status(200);
    assert_eq!(app.scalar("SELECT count(*) FROM night_slots", &[]).await, 0);
}

#[tokio::test]
async fn the_public_view_hides_contact_details_from_non_admins() {
    let app = TestApp::spawn().await;
    let cabin = app.create_accommodation(10_000_00, 4).await;
    let code = app.hold(cabin, &day(&app, 3), &day(&app, 6)).await;
    let public = app.get(&format!("/api/v1/reservations/{code}")).await;
    public.assert_status(200);
    let body = public.json();
    for field in [
        "code",
        "status",
        "accommodation_id",
        "check_in",
        "check_out",
        "nights",
        "guests",
        "total_price",
        "deposit_amount",
        "expires_at",
        "confirmed_at",
        "cancelled_at",
    ] {
        assert!(body.get(field).is_some(), "{field} missing: {body}");
    }
    assert!(body.get("contact_phone").is_none() && body.get("contact_email").is_none());
    // Codes are read forgivingly (lower case).
    app.get(&format!("/api/v1/reservations/{}", code.to_lowercase())).await.assert_status(200);
    let token = app.admin_token().await;
    let admin =
        app.send(app.client.get(app.url(&format!("/api/v1/reservations/{code}"))).bearer_auth(token)).await.json();
    assert_eq!(admin["contact_phone"], "+5491122334455");
    assert_eq!(admin["contact_email"], "ana@example.com");
}
