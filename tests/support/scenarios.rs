//! Concurrency scenarios run against every key-value backend (memory and a real Redis).

use crate::{day, TestApp};
use futures::future::join_all;
use reservas_app::ports::Value;

/// What a burst of concurrent pre-reserves ended with.
pub struct BurstOutcome {
    pub created: usize,
    pub overlap: usize,
    pub lock_failed: usize,
}

/// Fires `n` concurrent pre-reserves of overlapping ranges inside a 20-night window of one
/// cabin, then checks the database: no night held twice, winners never overlap, every
/// response a contract answer, and the counters equal the responses.
pub async fn overlapping_burst(app: &TestApp, n: usize) -> BurstOutcome {
    let cabin = app.create_accommodation(10_000_00, 4).await;
    // Deterministic spread of ranges: lengths 1..=5 starting anywhere in the window.
    let ranges: Vec<(i64, i64)> = (0..n as i64)
        .map(|i| {
            let start = 10 + (i * 7) % 20;
            (start, start + 1 + (i * 3) % 5)
        })
        .collect();
    let replies =
        join_all(ranges.iter().map(|&(a, b)| async move { app.pre_reserve(cabin, &day(app, a), &day(app, b)).await }))
            .await;
    let mut outcome = BurstOutcome { created: 0, overlap: 0, lock_failed: 0 };
    for reply in &replies {
        match (reply.status, reply.json()["error"].as_str()) {
            (201, _) => outcome.created += 1,
            (409, Some("date_overlap")) => outcome.overlap += 1,
            (409, Some("processing_or_unavailable")) => outcome.lock_failed += 1,
            other => panic!("unexpected answer {other:?}: {}", reply.text),
        }
    }
    assert!(outcome.created >= 1);
    assert_no_night_twice(app, cabin).await;
    let live = app
        .scalar(
            "SELECT count(*) FROM reservations WHERE accommodation_id = ?1 AND status = 'pre_reserved'",
            &[Value::Integer(cabin)],
        )
        .await;
    assert_eq!(live as usize, outcome.created, "every 201 is one stored hold");
    assert_eq!(app.metric("reservations_created_total{channel=\"web\"}").await as usize, outcome.created);
    assert_eq!(app.metric("reservations_date_overlap_total{channel=\"web\"}").await as usize, outcome.overlap);
    assert_eq!(app.metric("reservations_lock_failed_total{channel=\"web\"}").await as usize, outcome.lock_failed);
    outcome
}

/// Each night of the cabin is held by at most one live reservation, the slots are exactly the
/// nights of the live reservations, and no two live reservations overlap.
pub async fn assert_no_night_twice(app: &TestApp, cabin: i64) {
    let overlapping_pairs = app
        .scalar(
            "SELECT count(*) FROM reservations a JOIN reservations b ON a.id < b.id AND a.accommodation_id = b.accommodation_id \
             WHERE a.accommodation_id = ?1 AND a.status IN ('pre_reserved','confirmed','blocked') AND b.status IN ('pre_reserved','confirmed','blocked') \
             AND a.check_in < b.check_out AND b.check_in < a.check_out",
            &[Value::Integer(cabin)],
        )
        .await;
    assert_eq!(overlapping_pairs, 0, "two live reservations share a night");
    let slots =
        app.scalar("SELECT count(*) FROM night_slots WHERE accommodation_id = ?1", &[Value::Integer(cabin)]).await;
    let nights = app
        .scalar(
            "SELECT CAST(coalesce(sum(julianday(check_out) - julianday(check_in)), 0) AS INTEGER) FROM reservations \
             WHERE accommodation_id = ?1 AND status IN ('pre_reserved','confirmed','blocked')",
            &[Value::Integer(cabin)],
        )
        .await;
    assert_eq!(slots, nights, "night slots and live reservations disagree");
    let slots_of_dead = app
        .scalar(
            "SELECT count(*) FROM night_slots s JOIN reservations r ON r.id = s.reservation_id WHERE r.status NOT IN ('pre_reserved','confirmed','blocked')",
            &[],
        )
        .await;
    assert_eq!(slots_of_dead, 0, "a released reservation still holds nights");
}

/// `n` requests with n different ranges that all contain one night: the lock cannot help
/// (the keys differ), so the database alone must pick exactly one winner.
pub async fn one_contested_night(app: &TestApp, n: i64) {
    let cabin = app.create_accommodation(10_000_00, 4).await;
    let contested = 40;
    let replies = join_all((0..n).map(|i| async move {
        let start = contested - (i % 20);
        let end = contested + 1 + i / 20;
        app.pre_reserve(cabin, &day(app, start), &day(app, end)).await
    }))
    .await;
    let winners = replies.iter().filter(|r| r.status == 201).count();
    assert_eq!(winners, 1, "exactly one winner for the contested night");
    for r in replies.iter().filter(|r| r.status != 201) {
        r.assert_error(409, "date_overlap");
    }
    let holders = app
        .scalar(
            "SELECT count(*) FROM night_slots WHERE accommodation_id = ?1 AND night = ?2",
            &[Value::Integer(cabin), Value::Text(day(app, contested))],
        )
        .await;
    assert_eq!(holders, 1);
    assert_no_night_twice(app, cabin).await;
}

/// `n` concurrent confirms of one hold: exactly one `confirmed`, the rest `invalid_state`.
pub async fn racing_confirms(app: &TestApp, n: usize) {
    let cabin = app.create_accommodation(10_000_00, 4).await;
    let code = app.hold(cabin, &day(app, 3), &day(app, 5)).await;
    let token = app.admin_token().await;
    let replies = join_all((0..n).map(|_| app.confirm(&code, &token))).await;
    let confirmed = replies.iter().filter(|r| r.status == 200).count();
    assert_eq!(confirmed, 1, "{n} racing confirms");
    for r in replies.iter().filter(|r| r.status != 200) {
        r.assert_error(409, "invalid_state");
    }
}
