//! `POST /api/v1/nlu/analyze` over real HTTP: what the conversation understands, dates resolved
//! from the message's time (or the app's clock), nulls when not understood, and the contract's
//! errors for bad input.

use reservas_tests::TestApp;
use serde_json::json;

const PATH: &str = "/api/v1/nlu/analyze";
/// Tuesday 10 February 2026, 12:00 in Buenos Aires.
const TUESDAY: &str = "2026-02-10T15:00:00Z";

#[tokio::test]
async fn understands_intent_dates_and_guests() {
    let app = TestApp::spawn().await;
    let reply =
        app.post_json(PATH, &json!({ "text": "hola, hay lugar el finde para 4?", "received_at": TUESDAY })).await;
    reply.assert_status(200);
    let body = reply.json();
    assert_eq!(body["intent"], "availability");
    assert_eq!(body["check_in"], "2026-02-14");
    assert_eq!(body["check_out"], "2026-02-15");
    assert_eq!(body["guests"], 4);
    assert_eq!(body["nights"], 1);
    let confidence = body["confidence"].as_f64().expect("confidence is a number");
    assert!((0.0..=1.0).contains(&confidence));
    assert_eq!(body["received_at"], TUESDAY);
}

#[tokio::test]
async fn transcription_errors_are_read_and_reported() {
    let app = TestApp::spawn().await;
    let text = "Hola, tenés disponibilidad del mose al 15 de marzo para vos personas";
    let body = app.post_json(PATH, &json!({ "text": text, "received_at": TUESDAY })).await.json();
    assert_eq!((body["check_in"].as_str(), body["check_out"].as_str()), (Some("2026-03-12"), Some("2026-03-15")));
    assert_eq!(body["guests"], 2);
    let notes = body["notes"].as_array().expect("notes");
    assert!(notes.contains(&json!({ "kind": "misheard", "heard": "mose", "read_as": 12 })), "{notes:?}");
    assert!(body["confidence"].as_f64().unwrap() < 0.7);
}

#[tokio::test]
async fn what_is_not_understood_is_null() {
    let app = TestApp::spawn().await;
    let body = app.post_json(PATH, &json!({ "text": "asdf", "received_at": TUESDAY })).await.json();
    assert_eq!(body["intent"], "unknown");
    for field in ["check_in", "check_out", "guests", "service", "nights"] {
        assert!(body[field].is_null(), "{field}: {body}");
    }
    let body = app.post_json(PATH, &json!({ "text": "tenes wifi?" })).await.json();
    assert_eq!((body["intent"].as_str(), body["service"].as_str()), (Some("services"), Some("wifi")));
}

#[tokio::test]
async fn dates_resolve_from_the_app_clock_by_default() {
    let app = TestApp::spawn().await;
    let body = app.post_json(PATH, &json!({ "text": "hay lugar mañana?" })).await.json();
    assert_eq!(body["check_in"].as_str(), Some(reservas_tests::day(&app, 1).as_str()));
    app.advance(chrono::Duration::days(3));
    let body = app.post_json(PATH, &json!({ "text": "hay lugar mañana?" })).await.json();
    assert_eq!(body["check_in"].as_str(), Some(reservas_tests::day(&app, 1).as_str()));
}

#[tokio::test]
async fn a_received_at_with_an_offset_is_judged_in_argentina() {
    let app = TestApp::spawn().await;
    // 22:30 in Buenos Aires on the 10th is already the 11th in UTC: "mañana" is still the 11th.
    let body = app
        .post_json(PATH, &json!({ "text": "mañana tenes lugar?", "received_at": "2026-02-10T22:30:00-03:00" }))
        .await;
    assert_eq!(body.json()["check_in"], "2026-02-11");
}

#[tokio::test]
async fn bad_input_is_a_validation_error() {
    let app = TestApp::spawn().await;
    for body in [
        json!({}),
        json!({ "text": "" }),
        json!({ "text": "   " }),
        json!({ "text": 12 }),
        json!({ "text": "hola", "received_at": "ayer" }),
        json!({ "text": "hola", "received_at": 1760000000 }),
        json!({ "text": "x".repeat(4097) }),
    ] {
        app.post_json(PATH, &body).await.assert_error(422, "validation_error");
    }
    app.post_raw(PATH, "{not json").await.assert_error(400, "validation_error");
    app.post_raw(PATH, "[1, 2]").await.assert_error(422, "validation_error");
}

#[tokio::test]
async fn only_post_is_allowed() {
    let app = TestApp::spawn().await;
    app.get(PATH).await.assert_error(405, "method_not_allowed");
}
