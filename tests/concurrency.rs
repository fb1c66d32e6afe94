//! Concurrency proven with concurrent requests, on the default in-memory key-value store.

use reservas_tests::{scenarios, TestApp};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_overlapping_pre_reserves_never_hold_a_night_twice() {
    let app = TestApp::spawn().await;
    let outcome = scenarios::overlapping_burst(&app, 100).await;
    assert!(outcome.overlap + outcome.lock_failed > 0, "the burst was meant to conflict");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_contested_night_has_exactly_one_winner() {
    let app = TestApp::spawn().await;
    scenarios::one_contested_night(&app, 100).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_confirms_confirm_once() {
    let app = TestApp::spawn().await;
    for n in [2, 5, 20] {
        scenarios::racing_confirms(&app, n).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn identical_requests_are_shed_by_the_lock_and_one_wins() {
    let app = TestApp::spawn().await;
    let cabin = app.create_accommodation(10_000_00, 4).await;
    let from = reservas_tests::day(&app, 12);
    let to = reservas_tests::day(&app, 14);
    let replies = futures::future::join_all((0..50).map(|_| app.pre_reserve(cabin, &from, &to))).await;
    assert_eq!(replies.iter().filter(|r| r.status == 201).count(), 1);
    for r in replies.iter().filter(|r| r.status != 201) {
        assert_eq!(r.status, 409, "{}", r.text);
        let code = r.json()["error"].as_str().unwrap().to_owned();
        assert!(code == "processing_or_unavailable" || code == "date_overlap", "{code}");
    }
    scenarios::assert_no_night_twice(&app, cabin).await;
}
