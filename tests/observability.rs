//! Metrics, health and request ids.

use reservas_tests::{day, Settings, TestApp};

#[tokio::test]
async fn metrics_expose_the_contract_counters_and_a_latency_histogram() {
    let app = TestApp::spawn().await;
    let cabin = app.create_accommodation(10_000_00, 4).await;
    app.hold(cabin, &day(&app, 3), &day(&app, 5)).await;
    let reply = app.get("/metrics").await;
    reply.assert_status(200);
    let content_type = reply.headers["content-type"].to_str().unwrap();
    assert!(content_type.starts_with("application/openmetrics-text"), "{content_type}");
    let text = &reply.text;
    for counter in [
        "reservations_created",
        "reservations_date_overlap",
        "reservations_lock_failed",
        "prereservations_expired",
        "prereservation_reminders_processed",
    ] {
        assert!(text.contains(&format!("# TYPE {counter} counter")), "{counter} missing:\n{text}");
    }
    assert!(!text.contains("_total_total"));
    assert!(text.contains("reservations_created_total{channel=\"web\"} 1"));
    assert!(text.contains("prereservations_expired_total 0"));
    assert!(text.contains("# TYPE http_request_duration_seconds histogram"));
    assert!(
        text.contains("http_request_duration_seconds_bucket{route=\"/api/v1/reservations/pre-reserve\",le=\"+Inf\"} 1")
    );
    assert!(text.contains("http_request_duration_seconds_count{route=\"/api/v1/reservations/pre-reserve\"} 1"));
    assert!(text.trim_end().ends_with("# EOF"));
}

#[tokio::test]
async fn counters_are_stored_so_two_hosts_on_one_database_agree() {
    let first = TestApp::spawn().await;
    let db = first.env.config.database_url.clone();
    let second = TestApp::spawn_with(Settings::default().with("DATABASE_URL", &db)).await;
    let cabin = first.create_accommodation(10_000_00, 4).await;
    first.hold(cabin, &day(&first, 3), &day(&first, 5)).await;
    second.hold(cabin, &day(&second, 7), &day(&second, 9)).await;
    second.pre_reserve(cabin, &day(&second, 4), &day(&second, 6)).await.assert_error(409, "date_overlap");
    for app in [&first, &second] {
        assert_eq!(app.metric("reservations_created_total{channel=\"web\"}").await, 2.0);
        assert_eq!(app.metric("reservations_date_overlap_total{channel=\"web\"}").await, 1.0);
    }
}

#[tokio::test]
async fn health_reports_every_check() {
    let app = TestApp::spawn().await;
    let reply = app.get("/api/v1/healthz").await;
    reply.assert_status(200);
    let body = reply.json();
    // The machine's disk and memory may legitimately degrade the total; nothing else here may.
    assert!(["healthy", "degraded"].contains(&body["status"].as_str().unwrap()), "{body}");
    for check in ["database", "kv", "disk", "memory", "ical", "whatsapp", "mercadopago"] {
        assert!(body["checks"][check]["status"].is_string(), "{check} missing: {body}");
    }
    assert_eq!(body["checks"]["database"]["status"], "healthy");
    assert_eq!(body["checks"]["kv"]["status"], "healthy");
    assert_eq!(body["checks"]["mercadopago"]["status"], "not_configured");
}

#[tokio::test]
async fn a_broken_database_makes_health_unhealthy_with_503() {
    let app = TestApp::spawn().await;
    app.query("DROP TABLE schema_migrations", &[]).await;
    let reply = app.get("/api/v1/healthz").await;
    reply.assert_status(503);
    let body = reply.json();
    assert_eq!(body["status"], "unhealthy");
    assert_eq!(body["checks"]["database"]["status"], "unhealthy");
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let app = TestApp::spawn().await;
    let a = app.get("/api/v1/healthz").await;
    let b = app.get("/api/v1/nowhere").await;
    let id_a = a.headers["x-request-id"].to_str().unwrap().to_owned();
    let id_b = b.headers["x-request-id"].to_str().unwrap().to_owned();
    assert_ne!(id_a, id_b);
    let echoed = app.send(app.client.get(app.url("/api/v1/healthz")).header("x-request-id", "abc-123")).await;
    assert_eq!(echoed.headers["x-request-id"], "abc-123");
    let junk = app.send(app.client.get(app.url("/api/v1/healthz")).header("x-request-id", "a b\"c")).await;
    assert_ne!(junk.headers["x-request-id"], "a b\"c");
}
