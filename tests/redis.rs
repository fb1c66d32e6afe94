//! The same guarantees with a real redis-server as the key-value store, including Redis
//! dying mid-run.

use futures::future::join_all;
use reservas_tests::redis_server::RedisServer;
use reservas_tests::{day, scenarios, Settings, TestApp};

async fn app_on(redis: &RedisServer) -> TestApp {
    TestApp::spawn_with(Settings::default().with("REDIS_URL", &redis.url())).await
}

fn redis_cli(redis: &RedisServer, args: &[&str]) -> String {
    let out = std::process::Command::new("redis-cli")
        .args(["-p", &redis.port.to_string()])
        .args(args)
        .output()
        .expect("redis-cli");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_lock_lives_in_redis_for_the_hold_lifetime_and_goes_on_cancel() {
    let redis = RedisServer::start();
    let app = app_on(&redis).await;
    let health = app.get("/api/v1/healthz").await.json();
    assert_eq!(health["checks"]["kv"]["status"], "healthy", "{health}");
    let cabin = app.create_accommodation(10_000_00, 4).await;
    let (from, to) = (day(&app, 5), day(&app, 7));
    let code = app.hold(cabin, &from, &to).await;
    let key = format!("lock:acc:{cabin}:{from}:{to}");
    assert!(redis_cli(&redis, &["GET", &key]).ends_with(&code), "lock value names the hold");
    let ttl_ms: i64 = redis_cli(&redis, &["PTTL", &key]).parse().unwrap();
    assert!((1_790_000..=1_800_000).contains(&ttl_ms), "TTL is the hold's lifetime: {ttl_ms}");
    app.pre_reserve(cabin, &from, &to).await.assert_error(409, "processing_or_unavailable");
    app.post_json(&format!("/api/v1/reservations/{code}/cancel"), &serde_json::json!({})).await.assert_status(200);
    assert_eq!(redis_cli(&redis, &["EXISTS", &key]), "0", "cancel releases the lock at once");
    app.hold(cabin, &from, &to).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn overlapping_burst_with_redis_never_double_books() {
    let redis = RedisServer::start();
    let app = app_on(&redis).await;
    scenarios::overlapping_burst(&app, 100).await;
    scenarios::one_contested_night(&app, 100).await;
    scenarios::racing_confirms(&app, 20).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_down_from_the_start_degrades_health_but_not_bookings() {
    let mut redis = RedisServer::start();
    redis.stop();
    let app = app_on(&redis).await;
    let cabin = app.create_accommodation(10_000_00, 4).await;
    app.hold(cabin, &day(&app, 5), &day(&app, 7)).await;
    app.pre_reserve(cabin, &day(&app, 6), &day(&app, 8)).await.assert_error(409, "date_overlap");
    // Without the lock the identical request reaches the database, which still refuses it.
    app.pre_reserve(cabin, &day(&app, 5), &day(&app, 7)).await.assert_error(409, "date_overlap");
    let health = app.get("/api/v1/healthz").await;
    health.assert_status(200);
    let body = health.json();
    assert_eq!(body["status"], "degraded");
    assert_eq!(body["checks"]["kv"]["status"], "degraded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_stopped_mid_run_gives_no_wrong_answer() {
    let mut redis = RedisServer::start();
    let app = app_on(&redis).await;
    let cabin = app.create_accommodation(10_000_00, 4).await;
    let burst = |offset: i64| {
        let app = &app;
        join_all((0..40).map(move |i| async move {
            let start = 10 + offset + (i * 5) % 25;
            app.pre_reserve(cabin, &day(app, start), &day(app, start + 1 + i % 3)).await
        }))
    };
    let before = burst(0).await;
    redis.stop();
    let during = burst(3).await;
    for reply in before.iter().chain(&during) {
        assert!(
            reply.status == 201
                || (reply.status == 409
                    && ["date_overlap", "processing_or_unavailable"]
                        .contains(&reply.json()["error"].as_str().unwrap())),
            "{} {}",
            reply.status,
            reply.text
        );
    }
    scenarios::assert_no_night_twice(&app, cabin).await;
    assert_eq!(app.get("/api/v1/healthz").await.json()["checks"]["kv"]["status"], "degraded");
    redis.restart();
    // Health recovers once Redis is back (the client reconnects on its own).
    let mut healthy = false;
    for _ in 0..50 {
        if app.get("/api/v1/healthz").await.json()["checks"]["kv"]["status"] == "healthy" {
            healthy = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(healthy, "kv did not recover after Redis came back");
    app.hold(cabin, &day(&app, 60), &day(&app, 61)).await;
}
