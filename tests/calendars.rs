//! Calendars over real HTTP: the RFC 5545 export (read back by the `icalendar` crate and by
//! Python's `icalendar`), export tokens, imports of realistic Airbnb / Booking.com / Vrbo feeds,
//! snapshot semantics, conflicts, concurrency with bookings, and feeds that misbehave.

use chrono::Duration;
use futures::future::join_all;
use reservas_app::ports::Value;
use reservas_tests::feed_server::{Behavior, FeedServer};
use reservas_tests::scenarios::assert_no_night_twice;
use reservas_tests::{day, Reply, TestApp};
use serde_json::{json, Value as Json};

// ---------------------------------------------------------------- helpers

async fn admin_get(app: &TestApp, path: &str) -> Reply {
    let token = app.admin_token().await;
    app.send(app.client.get(app.url(path)).bearer_auth(token)).await
}

async fn admin_delete(app: &TestApp, path: &str) -> Reply {
    let token = app.admin_token().await;
    app.send(app.client.delete(app.url(path)).bearer_auth(token)).await
}

/// `YYYYMMDD`, `days` from today in Argentina.
fn ymd(app: &TestApp, days: i64) -> String {
    day(app, days).replace('-', "")
}

/// Folds a line at 75 octets the way feeds do (ASCII input).
fn fold(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    let mut limit = 75;
    while rest.len() > limit {
        out.push_str(&rest[..limit]);
        out.push_str("\r\n ");
        rest = &rest[limit..];
        limit = 74;
    }
    out + rest
}

async fn create_cabin(app: &TestApp, name: &str) -> i64 {
    let reply = app
        .admin_post("/api/v1/admin/accommodations", &json!({ "name": name, "capacity": 4, "base_price": "30000.00" }))
        .await;
    reply.assert_status(201);
    reply.json()["id"].as_i64().unwrap()
}

async fn import(app: &TestApp, cabin: i64, platform: &str, ics: &str) -> Json {
    let reply = app
        .admin_post("/api/v1/ical/import", &json!({ "accommodation_id": cabin, "platform": platform, "ics": ics }))
        .await;
    reply.assert_status(200);
    reply.json()
}

async fn taken(app: &TestApp, cabin: i64, from: i64, to: i64) -> Vec<String> {
    let reply = app
        .get(&format!("/api/v1/accommodations/{cabin}/availability?from={}&to={}", day(app, from), day(app, to)))
        .await;
    reply.assert_status(200);
    reply.json()["taken"].as_array().unwrap().iter().map(|d| d.as_str().unwrap().to_owned()).collect()
}

fn days(app: &TestApp, range: std::ops::Range<i64>) -> Vec<String> {
    range.map(|d| day(app, d)).collect()
}

/// The reservation id and dates that hold an imported UID.
async fn block_of(app: &TestApp, uid: &str) -> Vec<(i64, String, String)> {
    app.query(
        "SELECT r.id, r.check_in, r.check_out FROM ical_events e JOIN ical_blocks b ON b.event_id = e.id \
         JOIN reservations r ON r.id = b.reservation_id WHERE e.uid = ?1 AND r.status = 'blocked' ORDER BY r.id",
        &[Value::Text(uid.into())],
    )
    .await
    .into_iter()
    .map(|row| match &row[..] {
        [Value::Integer(id), Value::Text(a), Value::Text(b)] => (*id, a.clone(), b.clone()),
        other => panic!("{other:?}"),
    })
    .collect()
}

async fn export_url_of(app: &TestApp, cabin: i64) -> (String, Json) {
    let view = admin_get(app, &format!("/api/v1/admin/accommodations/{cabin}")).await;
    view.assert_status(200);
    let body = view.json();
    (body["ical_export_url"].as_str().expect("ical_export_url").to_owned(), body["ical_export_urls"].clone())
}

/// The path of an export URL (the URL carries BASE_URL, which is not the test server).
fn path_of(url: &str) -> String {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    after_scheme[after_scheme.find('/').unwrap()..].to_owned()
}

// ---------------------------------------------------------------- realistic feeds

fn airbnb_feed(app: &TestApp, window_start: i64, window_end: i64) -> String {
    let description = "DESCRIPTION:Reservation URL: https://www.airbnb.com/hosting/reservations/details/HMABCDEFGH\\nPhone Number (Last 4 Digits): 4455";
    [
        "BEGIN:VCALENDAR",
        "PRODID:-//Airbnb Inc//Hosting Calendar 1.0//EN",
        "CALSCALE:GREGORIAN",
        "VERSION:2.0",
        "BEGIN:VEVENT",
        &format!("DTEND;VALUE=DATE:{}", ymd(app, 12)),
        &format!("DTSTART;VALUE=DATE:{}", ymd(app, 10)),
        "UID:1418fb94e984-3b0a5d3e2c5f7e12a1b1a0d1e5c6f7a8@airbnb.com",
        &fold(description),
        "SUMMARY:Reserved",
        "END:VEVENT",
        "BEGIN:VEVENT",
        &format!("DTEND;VALUE=DATE:{}", ymd(app, window_end)),
        &format!("DTSTART;VALUE=DATE:{}", ymd(app, window_start)),
        "UID:7f5e1a0b9c2d-44aa0b1c2d3e4f5a6b7c8d9e0f1a2b3c@airbnb.com",
        "SUMMARY:Airbnb (Not available)",
        "END:VEVENT",
        "END:VCALENDAR",
        "",
    ]
    .join("\r\n")
}

/// LF-only, as Booking.com's exports have been seen to be.
fn booking_feed(app: &TestApp) -> String {
    [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//booking.com//Booking.com Calendar//EN",
        "METHOD:PUBLISH",
        "BEGIN:VEVENT",
        "UID:a1b2c3d4e5f60718293a4b5c6d7e8f90@booking.com",
        &format!("DTSTART;VALUE=DATE:{}", ymd(app, 20)),
        &format!("DTEND;VALUE=DATE:{}", ymd(app, 23)),
        "SUMMARY:CLOSED - Not available",
        "DTSTAMP:20270101T000000Z",
        "END:VEVENT",
        "BEGIN:VEVENT",
        "UID:0f9e8d7c6b5a49382716051a2b3c4d5e@booking.com",
        &format!("DTSTART;VALUE=DATE:{}", ymd(app, 25)),
        &format!("DTEND;VALUE=DATE:{}", ymd(app, 26)),
        "SUMMARY:CLOSED - Not available",
        "END:VEVENT",
        "END:VCALENDAR",
        "",
    ]
    .join("\n")
}

/// Vrbo: UUID UIDs, `Reserved - <name>` and `Blocked`, a DURATION, date-times, one bad event
/// and a garbage line.
fn vrbo_feed(app: &TestApp) -> String {
    [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//HomeAway.com, Inc.//EN",
        "BEGIN:VEVENT",
        "UID:5b0e2c84-6a8f-4a0b-9a53-2f1e0c7d9b11",
        &format!("DTSTART;VALUE=DATE:{}", ymd(app, 40)),
        "DURATION:P3D",
        "SUMMARY:Reserved - Jane D.",
        "END:VEVENT",
        "BEGIN:VEVENT",
        "UID:9c1d3e5f-7a9b-4c2d-8e0f-1a3b5c7d9e2f",
        &format!("DTSTART:{}T150000Z", ymd(app, 50)),
        &format!("DTEND:{}T110000Z", ymd(app, 52)),
        "SUMMARY:Blocked",
        "END:VEVENT",
        "this line is not iCalendar at all",
        "BEGIN:VEVENT",
        "UID:00000000-bad0-4bad-8bad-000000000bad",
        "SUMMARY:Reserved - no dates",
        "END:VEVENT",
        "END:VCALENDAR",
        "",
    ]
    .join("\r\n")
}

fn calendar(events: &[(&str, i64, i64, &str)], app: &TestApp) -> String {
    let mut out = String::from("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n");
    for (uid, from, to, summary) in events {
        out += &format!(
            "BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTART;VALUE=DATE:{}\r\nDTEND;VALUE=DATE:{}\r\nSUMMARY:{summary}\r\nEND:VEVENT\r\n",
            ymd(app, *from),
            ymd(app, *to)
        );
    }
    out + "END:VCALENDAR\r\n"
}

// ---------------------------------------------------------------- export

const LONG_NAME: &str = "Cabaña «Ñandú» del Bosque Petrificado, Villa La Angostura; Neuquén — vista al lago";

#[tokio::test]
async fn the_export_is_rfc5545_and_two_independent_parsers_read_it_back() {
    let app = TestApp::spawn().await;
    let cabin = create_cabin(&app, LONG_NAME).await;
    let held = app.hold(cabin, &day(&app, 5), &day(&app, 8)).await;
    let confirmed = app.hold(cabin, &day(&app, 10), &day(&app, 12)).await;
    app.confirm(&confirmed, &app.admin_token().await).await.assert_status(200);
    let expired = app.hold(cabin, &day(&app, 14), &day(&app, 15)).await;
    app.send(app.client.post(app.url(&format!("/api/v1/reservations/{expired}/cancel"))).json(&json!({}))).await;
    import(&app, cabin, "booking", &booking_feed(&app)).await;

    let (url, _) = export_url_of(&app, cabin).await;
    let reply = app.get(&path_of(&url)).await;
    reply.assert_status(200);
    assert_eq!(reply.headers["content-type"], "text/calendar; charset=utf-8");
    let text = reply.text;

    // Line by line: CRLF only, at most 75 octets, continuation lines start with one space, and
    // no line splits a UTF-8 character (every physical line is valid UTF-8 on its own; `text`
    // being a String already proves the whole is).
    assert!(text.ends_with("END:VCALENDAR\r\n"));
    let bytes = text.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'\n' {
            assert_eq!(bytes[i - 1], b'\r', "bare LF at byte {i}");
        }
        if *b == b'\r' {
            assert_eq!(bytes.get(i + 1), Some(&b'\n'), "bare CR at byte {i}");
        }
    }
    let physical: Vec<&[u8]> = bytes.split(|b| *b == b'\n').map(|l| l.strip_suffix(b"\r").unwrap_or(l)).collect();
    let mut folded = 0;
    for line in &physical {
        assert!(line.len() <= 75, "line of {} octets: {:?}", line.len(), String::from_utf8_lossy(line));
        assert!(std::str::from_utf8(line).is_ok(), "a line splits a character: {line:?}");
        if line.first() == Some(&b' ') {
            folded += 1;
        }
    }
    assert!(folded >= 5, "the accented name must fold in the calendar name and in every summary");
    for required in ["VERSION:2.0\r\n", "PRODID:", "BEGIN:VEVENT\r\n", "DTSTAMP:", "DTSTART;VALUE=DATE:"] {
        assert!(text.contains(required), "{required:?} missing");
    }
    // No guest data.
    for private in ["Ana", "Pérez", "2233", "ana@example.com"] {
        assert!(!text.contains(private), "{private} leaked into the export");
    }
    assert!(text.contains(&format!("UID:{held}@localhost\r\n")));
    assert!(text.contains(&format!("UID:{confirmed}@localhost\r\n")));
    assert!(!text.contains(&expired), "a cancelled hold is not exported");

    // 1. The icalendar crate.
    let unfolded = icalendar::parser::unfold(&text);
    let parsed = icalendar::parser::read_calendar(&unfolded).expect("the icalendar crate reads the export");
    let name = parsed.properties.iter().find(|p| p.name == "X-WR-CALNAME").unwrap();
    assert_eq!(name.val.as_str(), LONG_NAME, "TEXT escaping round-trips");
    let mut events: Vec<(String, String, String, String)> = parsed
        .components
        .iter()
        .filter(|c| c.name == "VEVENT")
        .map(|c| {
            let get = |n: &str| c.find_prop(n).unwrap().val.as_str().to_owned();
            (get("UID"), get("DTSTART"), get("DTEND"), get("SUMMARY"))
        })
        .collect();
    events.sort_by(|a, b| a.1.cmp(&b.1));
    let expected_dates = [(5, 8), (10, 12), (20, 23), (25, 26)];
    assert_eq!(events.len(), expected_dates.len(), "{events:?}");
    for (event, (from, to)) in events.iter().zip(expected_dates) {
        assert_eq!((event.1.as_str(), event.2.as_str()), (ymd(&app, from).as_str(), ymd(&app, to).as_str()));
        assert!(event.3.ends_with(LONG_NAME), "{}", event.3);
    }
    assert!(events[0].3.starts_with("Reservado"));
    assert!(events[2].3.starts_with("No disponible"));

    // 2. Python's icalendar package, an independent implementation.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("export.ics");
    std::fs::write(&file, &text).unwrap();
    let script = r#"
import json, sys
import icalendar
cal = icalendar.Calendar.from_ical(open(sys.argv[1], "rb").read())
events = [{"uid": str(e.get("UID")), "start": e.decoded("DTSTART").isoformat(),
           "end": e.decoded("DTEND").isoformat(), "summary": str(e.get("SUMMARY")),
           "stamp": e.decoded("DTSTAMP").isoformat()} for e in cal.walk("VEVENT")]
print(json.dumps({"name": str(cal.get("X-WR-CALNAME")), "version": str(cal.get("VERSION")), "events": events}))
"#;
    let output = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&file)
        .output()
        .expect("python3 is required (with `pip install icalendar`; .ci/run installs it)");
    assert!(
        output.status.success(),
        "Python's icalendar could not read the export (install it with `pip install icalendar`): {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let py: Json = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(py["version"], "2.0");
    // X-WR-CALNAME is not an RFC 5545 property, so a generic parser may not know its value is
    // TEXT and leave it escaped; SUMMARY (below) is TEXT to every parser and must round-trip.
    let py_name = py["name"].as_str().unwrap().replace("\\,", ",").replace("\\;", ";");
    assert_eq!(py_name, LONG_NAME);
    let mut py_events: Vec<&Json> = py["events"].as_array().unwrap().iter().collect();
    py_events.sort_by_key(|e| e["start"].as_str().unwrap().to_owned());
    assert_eq!(py_events.len(), 4);
    for (event, (from, to)) in py_events.iter().zip(expected_dates) {
        assert_eq!(event["start"], day(&app, from));
        assert_eq!(event["end"], day(&app, to));
        assert!(event["summary"].as_str().unwrap().ends_with(LONG_NAME));
        assert!(event["uid"].as_str().unwrap().ends_with("@localhost"));
    }
    assert_eq!(py_events[0]["uid"], format!("{held}@localhost"));
}

#[tokio::test]
async fn uids_are_stable_across_exports() {
    let app = TestApp::spawn().await;
    let cabin = create_cabin(&app, "Cabaña").await;
    app.hold(cabin, &day(&app, 5), &day(&app, 8)).await;
    let (url, _) = export_url_of(&app, cabin).await;
    let uids = |text: &str| text.lines().filter(|l| l.starts_with("UID:")).map(str::to_owned).collect::<Vec<_>>();
    let first = uids(&app.get(&path_of(&url)).await.text);
    app.advance(Duration::minutes(5));
    let second = uids(&app.get(&path_of(&url)).await.text);
    assert_eq!(first.len(), 1);
    assert_eq!(first, second);
}

#[tokio::test]
async fn a_wrong_token_is_404_and_rotation_invalidates_the_old_url() {
    let app = TestApp::spawn().await;
    let cabin = create_cabin(&app, "Cabaña").await;
    let other = create_cabin(&app, "Otra").await;
    let (url, _) = export_url_of(&app, cabin).await;
    let path = path_of(&url);
    app.get(&path).await.assert_status(200);
    app.get(&path.replacen("/ical/", "/api/v1/ical/", 1)).await.assert_status(200);

    let token = path.trim_start_matches("/ical/export/").trim_end_matches(".ics").to_owned();
    let mac = token.split('-').next_back().unwrap().to_owned();
    let mut flipped = mac.clone().into_bytes();
    flipped[0] = if flipped[0] == b'a' { b'b' } else { b'a' };
    let flipped = String::from_utf8(flipped).unwrap();
    for bad in [
        format!("{cabin}-{flipped}"),
        format!("{other}-{mac}"),
        format!("{cabin}-airbnb-{mac}"),
        "nonsense".to_owned(),
        format!("999999-{mac}"),
    ] {
        app.get(&format!("/ical/export/{bad}.ics")).await.assert_error(404, "not_found");
    }

    let rotated = app.admin_post(&format!("/api/v1/admin/accommodations/{cabin}/ical/rotate"), &json!({})).await;
    rotated.assert_status(200);
    let new_url = rotated.json()["ical_export_url"].as_str().unwrap().to_owned();
    assert_ne!(new_url, url);
    app.get(&path).await.assert_error(404, "not_found");
    app.get(&path_of(&new_url)).await.assert_status(200);
    assert_eq!(export_url_of(&app, cabin).await.0, new_url, "the admin view shows the current URL");
    // Only admins rotate.
    app.send(app.client.post(app.url(&format!("/api/v1/admin/accommodations/{cabin}/ical/rotate"))))
        .await
        .assert_error(401, "unauthorized");
}

#[tokio::test]
async fn a_platform_never_receives_its_own_blocks_back() {
    let app = TestApp::spawn().await;
    let server = FeedServer::start().await;
    let cabin = create_cabin(&app, "Cabaña").await;
    server.serve("/airbnb.ics", calendar(&[("a1@airbnb.com", 10, 12, "Reserved")], &app));
    server.serve("/booking.ics", calendar(&[("b1@booking.com", 20, 22, "CLOSED - Not available")], &app));
    for (platform, path) in [("airbnb", "/airbnb.ics"), ("booking.com", "/booking.ics")] {
        let feed = app
            .admin_post(
                &format!("/api/v1/admin/accommodations/{cabin}/feeds"),
                &json!({ "platform": platform, "url": server.url(path), "label": platform }),
            )
            .await;
        feed.assert_status(201);
        let id = feed.json()["id"].as_i64().unwrap();
        app.admin_post("/api/v1/ical/import", &json!({ "feed_id": id })).await.assert_status(200);
    }
    let ours = app.hold(cabin, &day(&app, 30), &day(&app, 31)).await;
    let (all, per_platform) = export_url_of(&app, cabin).await;
    let exported = |text: &str| {
        text.lines().filter_map(|l| l.strip_prefix("DTSTART;VALUE=DATE:")).map(str::to_owned).collect::<Vec<_>>()
    };
    let everything = exported(&app.get(&path_of(&all)).await.text);
    assert_eq!(everything, vec![ymd(&app, 10), ymd(&app, 20), ymd(&app, 30)]);
    let to_airbnb = app.get(&path_of(per_platform["airbnb"].as_str().unwrap())).await;
    to_airbnb.assert_status(200);
    assert_eq!(exported(&to_airbnb.text), vec![ymd(&app, 20), ymd(&app, 30)]);
    let to_booking = app.get(&path_of(per_platform["booking"].as_str().unwrap())).await;
    assert_eq!(exported(&to_booking.text), vec![ymd(&app, 10), ymd(&app, 30)]);
    assert!(to_booking.text.contains(&ours));
}

// ---------------------------------------------------------------- import

#[tokio::test]
async fn realistic_feeds_of_each_platform_block_their_nights() {
    let app = TestApp::spawn().await;
    let cabin = create_cabin(&app, "Cabaña").await;

    let airbnb = import(&app, cabin, "airbnb", &airbnb_feed(&app, 300, 330)).await;
    assert_eq!((airbnb["added"].as_i64(), airbnb["skipped"].as_array().unwrap().len()), (Some(2), 0), "{airbnb}");
    let booking = import(&app, cabin, "booking", &booking_feed(&app)).await;
    assert_eq!(booking["added"], 2, "{booking}");
    let vrbo = import(&app, cabin, "vrbo", &vrbo_feed(&app)).await;
    assert_eq!(vrbo["added"], 2, "{vrbo}");
    let skipped = vrbo["skipped"].as_array().unwrap();
    assert_eq!(skipped.len(), 2, "{vrbo}");
    assert!(skipped.iter().any(
        |s| s["uid"] == "00000000-bad0-4bad-8bad-000000000bad" && s["reason"].as_str().unwrap().contains("DTSTART")
    ));
    assert!(skipped.iter().any(|s| s["reason"].as_str().unwrap().contains("unreadable")));

    let expected: Vec<String> =
        [10..12, 20..23, 25..26, 40..43, 50..52].into_iter().flat_map(|r| days(&app, r)).collect();
    assert_eq!(taken(&app, cabin, 0, 60).await, expected);
    assert_eq!(taken(&app, cabin, 300, 331).await, days(&app, 300..330));
    // A guest cannot book an imported night.
    app.pre_reserve(cabin, &day(&app, 41), &day(&app, 44)).await.assert_error(409, "date_overlap");
    // Blocks are reservations of channel ical with status blocked; no guest data of the feeds.
    let blocks = app
        .scalar(
            "SELECT count(*) FROM reservations WHERE accommodation_id = ?1 AND channel = 'ical' AND status = 'blocked' AND contact_name IS NULL",
            &[Value::Integer(cabin)],
        )
        .await;
    assert_eq!(blocks, 6);
    let names = app
        .scalar(
            "SELECT count(*) FROM ical_events WHERE uid LIKE '%Jane%' OR kind NOT IN ('reserved','unavailable')",
            &[],
        )
        .await;
    assert_eq!(names, 0);
    assert_no_night_twice(&app, cabin).await;
    // The same feed again changes nothing.
    let again = import(&app, cabin, "vrbo", &vrbo_feed(&app)).await;
    assert_eq!((again["added"].as_i64(), again["unchanged"].as_i64()), (Some(0), Some(2)), "{again}");
}

#[tokio::test]
async fn a_snapshot_adds_moves_and_releases() {
    let app = TestApp::spawn().await;
    let cabin = create_cabin(&app, "Cabaña").await;
    let first =
        import(&app, cabin, "airbnb", &calendar(&[("a@x", 10, 12, "Reserved"), ("b@x", 20, 25, "Reserved")], &app))
            .await;
    assert_eq!(first["added"], 2);
    let a_before = block_of(&app, "a@x").await;
    let b_before = block_of(&app, "b@x").await;

    let second =
        import(&app, cabin, "airbnb", &calendar(&[("a@x", 14, 17, "Reserved"), ("c@x", 30, 31, "Reserved")], &app))
            .await;
    assert_eq!(
        (second["added"].as_i64(), second["moved"].as_i64(), second["released"].as_i64(), second["unchanged"].as_i64()),
        (Some(1), Some(1), Some(1), Some(0)),
        "{second}"
    );
    let a_after = block_of(&app, "a@x").await;
    assert_eq!(a_after.len(), 1);
    assert_eq!(a_after[0].0, a_before[0].0, "a moved block keeps its reservation");
    assert_eq!((a_after[0].1.as_str(), a_after[0].2.as_str()), (day(&app, 14).as_str(), day(&app, 17).as_str()));
    assert!(block_of(&app, "b@x").await.is_empty());
    let b_status = app.query("SELECT status FROM reservations WHERE id = ?1", &[Value::Integer(b_before[0].0)]).await;
    assert_eq!(b_status[0][0], Value::Text("cancelled".into()));
    let expected: Vec<String> = [14..17, 30..31].into_iter().flat_map(|r| days(&app, r)).collect();
    assert_eq!(taken(&app, cabin, 0, 40).await, expected);
    // Another platform's snapshot is separate: importing it leaves airbnb's alone.
    import(&app, cabin, "vrbo", &calendar(&[], &app)).await;
    assert_eq!(taken(&app, cabin, 0, 40).await, expected);
    // An empty calendar from the same platform releases everything it had.
    let empty = import(&app, cabin, "airbnb", &calendar(&[], &app)).await;
    assert_eq!(empty["released"], 2);
    assert!(taken(&app, cabin, 0, 40).await.is_empty());
    assert_no_night_twice(&app, cabin).await;
}

#[tokio::test]
async fn airbnbs_rolling_window_slides_without_churn() {
    let app = TestApp::spawn().await;
    let cabin = create_cabin(&app, "Cabaña").await;
    let window = "7f5e1a0b9c2d-44aa0b1c2d3e4f5a6b7c8d9e0f1a2b3c@airbnb.com";
    // A stay on fixed dates, and the "Not available" window from 180 to 365 days ahead, which
    // Airbnb slides by a day every day under the same UID.
    let feed = |app: &TestApp, elapsed: i64| {
        calendar(
            &[
                ("stay@airbnb.com", 10 - elapsed, 12 - elapsed, "Reserved"),
                (window, 180, 365, "Airbnb (Not available)"),
            ],
            app,
        )
    };
    import(&app, cabin, "airbnb", &feed(&app, 0)).await;
    let before = block_of(&app, window).await;
    let stay_before = block_of(&app, "stay@airbnb.com").await;
    let rows_before = app.scalar("SELECT count(*) FROM reservations", &[]).await;
    for elapsed in 1..=3 {
        app.advance(Duration::days(1));
        let report = import(&app, cabin, "airbnb", &feed(&app, elapsed)).await;
        assert_eq!(
            (
                report["moved"].as_i64(),
                report["unchanged"].as_i64(),
                report["added"].as_i64(),
                report["released"].as_i64()
            ),
            (Some(1), Some(1), Some(0), Some(0)),
            "{report}"
        );
    }
    let after = block_of(&app, window).await;
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].0, before[0].0, "moved, not recreated");
    assert_eq!((after[0].1.clone(), after[0].2.clone()), (day(&app, 180), day(&app, 365)));
    assert_eq!(block_of(&app, "stay@airbnb.com").await, stay_before, "the stay did not move");
    assert_eq!(app.scalar("SELECT count(*) FROM reservations", &[]).await, rows_before, "no new reservations");
    assert_no_night_twice(&app, cabin).await;
}

#[tokio::test]
async fn import_needs_an_admin_and_a_calendar() {
    let app = TestApp::spawn().await;
    let cabin = create_cabin(&app, "Cabaña").await;
    let body = json!({ "accommodation_id": cabin, "ics": calendar(&[("a@x", 10, 12, "Reserved")], &app) });
    app.post_json("/api/v1/ical/import", &body).await.assert_error(401, "unauthorized");
    import(&app, cabin, "other", &calendar(&[("a@x", 10, 12, "Reserved")], &app)).await;
    for junk in ["", "<html>503 Service Unavailable</html>", "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a@x\r\n"] {
        let reply = app
            .admin_post("/api/v1/ical/import", &json!({ "accommodation_id": cabin, "platform": "other", "ics": junk }))
            .await;
        reply.assert_error(422, "validation_error");
    }
    assert_eq!(taken(&app, cabin, 0, 20).await, days(&app, 10..12), "an unreadable body changes nothing");
    app.admin_post("/api/v1/ical/import", &json!({ "accommodation_id": 9999, "ics": calendar(&[], &app) }))
        .await
        .assert_error(404, "accommodation_not_found");
}

// ---------------------------------------------------------------- conflicts

#[tokio::test]
async fn conflicts_are_recorded_counted_listed_and_resolve_themselves() {
    let app = TestApp::spawn().await;
    let cabin = create_cabin(&app, "Cabaña").await;
    let code = app.hold(cabin, &day(&app, 12), &day(&app, 14)).await;
    let feed = calendar(&[("clash@airbnb.com", 10, 16, "Reserved")], &app);

    let report = import(&app, cabin, "airbnb", &feed).await;
    assert_eq!(report["conflicts"], 1, "{report}");
    // Ours is untouched; the event blocks the nights around it.
    let hold = app.get(&format!("/api/v1/reservations/{code}")).await.json();
    assert_eq!(hold["status"], "pre_reserved");
    assert_eq!(taken(&app, cabin, 0, 20).await, days(&app, 10..16));
    assert_eq!(block_of(&app, "clash@airbnb.com").await.len(), 2, "one block per free run");
    assert_eq!(app.metric("ical_conflicts_total").await, 1.0);
    let open = admin_get(&app, "/api/v1/admin/conflicts?status=open").await;
    open.assert_status(200);
    let body = open.json();
    assert_eq!(body["total"], 1);
    let item = &body["items"][0];
    assert_eq!(item["reservation_code"], code.as_str());
    assert_eq!(item["uid"], "clash@airbnb.com");
    assert_eq!(
        (item["check_in"].as_str(), item["check_out"].as_str()),
        (Some(day(&app, 10).as_str()), Some(day(&app, 16).as_str()))
    );
    assert_eq!(item["platform"], "airbnb");
    let health = app.get("/healthz").await.json();
    assert_eq!(health["checks"]["ical"]["status"], "degraded", "{health}");

    // Seen again: still one conflict, not counted twice.
    import(&app, cabin, "airbnb", &feed).await;
    assert_eq!(app.metric("ical_conflicts_total").await, 1.0);
    assert_eq!(admin_get(&app, "/api/v1/admin/conflicts").await.json()["total"], 1);

    // Our hold is cancelled: the next sync closes the conflict and the event takes the nights.
    app.send(app.client.post(app.url(&format!("/api/v1/reservations/{code}/cancel"))).json(&json!({})))
        .await
        .assert_status(200);
    let report = import(&app, cabin, "airbnb", &feed).await;
    assert_eq!(report["conflicts"], 0, "{report}");
    assert_eq!(block_of(&app, "clash@airbnb.com").await.len(), 1);
    assert_eq!(taken(&app, cabin, 0, 20).await, days(&app, 10..16));
    assert_eq!(admin_get(&app, "/api/v1/admin/conflicts?status=open").await.json()["total"], 0);
    let resolved = admin_get(&app, "/api/v1/admin/conflicts?status=resolved").await.json();
    assert_eq!(resolved["total"], 1);
    assert!(resolved["items"][0]["resolved_at"].is_string());
    // No conflict is open and no feed is configured (this was a posted body).
    assert_eq!(app.get("/healthz").await.json()["checks"]["ical"]["status"], "not_configured");
    admin_get(&app, "/api/v1/admin/conflicts?status=maybe").await.assert_error(422, "validation_error");
    assert_no_night_twice(&app, cabin).await;
}

#[tokio::test]
async fn a_conflict_closes_when_the_event_moves_away_and_confirmed_stays_count_too() {
    let app = TestApp::spawn().await;
    let cabin = create_cabin(&app, "Cabaña").await;
    let code = app.hold(cabin, &day(&app, 12), &day(&app, 14)).await;
    app.confirm(&code, &app.admin_token().await).await.assert_status(200);
    import(&app, cabin, "vrbo", &calendar(&[("v1", 13, 15, "Reserved - Jane")], &app)).await;
    assert_eq!(admin_get(&app, "/api/v1/admin/conflicts?status=open").await.json()["total"], 1);
    let moved = import(&app, cabin, "vrbo", &calendar(&[("v1", 20, 22, "Reserved - Jane")], &app)).await;
    assert_eq!((moved["moved"].as_i64(), moved["conflicts"].as_i64()), (Some(1), Some(0)), "{moved}");
    let resolved = admin_get(&app, "/api/v1/admin/conflicts?status=resolved").await.json();
    assert_eq!(resolved["items"][0]["resolution"], "no longer overlapping");
    assert_eq!(app.get(&format!("/api/v1/reservations/{code}")).await.json()["status"], "confirmed");
}

#[tokio::test]
async fn an_echo_of_our_own_export_is_listed_but_does_not_degrade_health() {
    let app = TestApp::spawn().await;
    let cabin = create_cabin(&app, "Cabaña").await;
    app.hold(cabin, &day(&app, 12), &day(&app, 14)).await;
    import(&app, cabin, "airbnb", &calendar(&[("echo@airbnb.com", 12, 14, "Airbnb (Not available)")], &app)).await;
    let open = admin_get(&app, "/api/v1/admin/conflicts?status=open").await.json();
    assert_eq!(open["total"], 1);
    assert_eq!(open["items"][0]["likely_echo"], true);
    assert_eq!(app.metric("ical_conflicts_total").await, 0.0);
    let ical = &app.get("/healthz").await.json()["checks"]["ical"];
    assert_eq!(ical["status"], "healthy", "{ical}");
    assert!(ical["detail"].as_str().unwrap().contains("echo"));
}

#[tokio::test]
async fn two_feeds_listing_the_same_nights_share_them_without_a_conflict() {
    let app = TestApp::spawn().await;
    let cabin = create_cabin(&app, "Cabaña").await;
    import(&app, cabin, "airbnb", &calendar(&[("a@airbnb.com", 10, 14, "Reserved")], &app)).await;
    let booking =
        import(&app, cabin, "booking", &calendar(&[("b@booking.com", 12, 16, "CLOSED - Not available")], &app)).await;
    assert_eq!(booking["conflicts"], 0);
    assert_eq!(taken(&app, cabin, 0, 20).await, days(&app, 10..16));
    // Airbnb's stay is cancelled there: its nights pass to Booking.com's block at its next sync.
    import(&app, cabin, "airbnb", &calendar(&[], &app)).await;
    assert_eq!(taken(&app, cabin, 0, 20).await, days(&app, 14..16));
    import(&app, cabin, "booking", &calendar(&[("b@booking.com", 12, 16, "CLOSED - Not available")], &app)).await;
    assert_eq!(taken(&app, cabin, 0, 20).await, days(&app, 12..16));
    assert_eq!(admin_get(&app, "/api/v1/admin/conflicts").await.json()["total"], 0);
    assert_no_night_twice(&app, cabin).await;
}

#[tokio::test]
async fn an_expired_hold_never_blocks_an_import() {
    let app = TestApp::spawn().await;
    let cabin = create_cabin(&app, "Cabaña").await;
    let code = app.hold(cabin, &day(&app, 12), &day(&app, 14)).await;
    app.advance(Duration::minutes(31));
    let report = import(&app, cabin, "airbnb", &calendar(&[("a@x", 10, 16, "Reserved")], &app)).await;
    assert_eq!(report["conflicts"], 0, "{report}");
    assert_eq!(block_of(&app, "a@x").await.len(), 1);
    assert_eq!(app.get(&format!("/api/v1/reservations/{code}")).await.json()["status"], "expired");
    assert_eq!(app.metric("prereservations_expired_total").await, 1.0);
    assert_no_night_twice(&app, cabin).await;
}

#[tokio::test]
async fn concurrent_import_and_pre_reserve_never_double_book() {
    let app = TestApp::spawn().await;
    for round in 0..4 {
        let cabin = create_cabin(&app, "Cabaña").await;
        let feed = calendar(&[(&format!("race-{round}@airbnb.com"), 20, 30, "Reserved")], &app);
        let app = &app;
        let holds = (0..10).map(|i| async move {
            let start = 16 + (i * 3) % 16;
            app.pre_reserve(cabin, &day(app, start), &day(app, start + 2)).await
        });
        let importing = async {
            app.admin_post(
                "/api/v1/ical/import",
                &json!({ "accommodation_id": cabin, "platform": "airbnb", "ics": feed }),
            )
            .await
        };
        let (imported, replies) = tokio::join!(importing, join_all(holds));
        imported.assert_status(200);
        for reply in &replies {
            match (reply.status, reply.json()["error"].as_str()) {
                (201, _) | (409, Some("date_overlap" | "processing_or_unavailable")) => {}
                other => panic!("unexpected answer {other:?}: {}", reply.text),
            }
        }
        assert_no_night_twice(app, cabin).await;
        // Every live hold inside the event's range won the race, and each is an open conflict.
        let holds_inside = app
            .scalar(
                "SELECT count(*) FROM reservations WHERE accommodation_id = ?1 AND status = 'pre_reserved' AND check_in < ?2 AND check_out > ?3",
                &[Value::Integer(cabin), Value::Text(day(app, 30)), Value::Text(day(app, 20))],
            )
            .await;
        let open = app
            .scalar(
                "SELECT count(*) FROM ical_conflicts WHERE accommodation_id = ?1 AND status = 'open'",
                &[Value::Integer(cabin)],
            )
            .await;
        assert_eq!(open, holds_inside, "round {round}");
    }
}

// ---------------------------------------------------------------- feeds and the tick

async fn add_feed(app: &TestApp, cabin: i64, platform: &str, url: &str) -> i64 {
    let reply = app
        .admin_post(
            &format!("/api/v1/admin/accommodations/{cabin}/feeds"),
            &json!({ "platform": platform, "url": url }),
        )
        .await;
    reply.assert_status(201);
    reply.json()["id"].as_i64().unwrap()
}

async fn feed_view(app: &TestApp, cabin: i64, id: i64) -> Json {
    let list = admin_get(app, &format!("/api/v1/admin/accommodations/{cabin}/feeds")).await;
    list.assert_status(200);
    list.json()["items"].as_array().unwrap().iter().find(|f| f["id"] == id).cloned().expect("feed listed")
}

#[tokio::test]
async fn the_tick_pulls_feeds_with_conditional_requests() {
    let app = TestApp::spawn().await;
    let server = FeedServer::start().await;
    let cabin = create_cabin(&app, "Cabaña").await;
    assert_eq!(app.get("/healthz").await.json()["checks"]["ical"]["status"], "not_configured");
    server.serve("/a.ics", airbnb_feed(&app, 200, 230));
    let id = add_feed(&app, cabin, "airbnb", &server.url("/a.ics")).await;

    let tick = app.tick().await;
    tick.assert_status(200);
    assert_eq!(tick.json()["calendars"]["feeds_synced"], 1, "{}", tick.text);
    let view = feed_view(&app, cabin, id).await;
    assert_eq!(view["events"], 2);
    assert!(view["last_success_at"].is_string());
    assert_eq!(view["last_error"], Json::Null);
    assert_eq!(taken(&app, cabin, 10, 12).await, days(&app, 10..12));

    // Not due again until the interval passes.
    assert_eq!(app.tick().await.json()["calendars"]["feeds_due"], 0);
    app.advance(Duration::minutes(5));
    app.tick().await.assert_status(200);
    let requests = server.requests("/a.ics");
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[1].header("if-none-match"), Some("\"v1\""));
    assert!(requests[1].header("if-modified-since").is_some());
    assert_eq!(feed_view(&app, cabin, id).await["events"], 2, "a 304 keeps the snapshot");

    // The feed changes on the platform: the next pull sees it.
    server.serve("/a.ics", calendar(&[("new@airbnb.com", 3, 5, "Reserved")], &app));
    app.advance(Duration::minutes(5));
    app.tick().await.assert_status(200);
    assert_eq!(taken(&app, cabin, 0, 20).await, days(&app, 3..5));
    assert_eq!(app.get("/healthz").await.json()["checks"]["ical"]["status"], "healthy");
}

#[tokio::test]
async fn a_failing_feed_changes_nothing_and_turns_health_degraded_when_stale() {
    let app = TestApp::spawn().await;
    let server = FeedServer::start().await;
    let cabin = create_cabin(&app, "Cabaña").await;
    server.serve("/f.ics", calendar(&[("a@booking.com", 10, 12, "CLOSED - Not available")], &app));
    let id = add_feed(&app, cabin, "booking", &server.url("/f.ics")).await;
    app.admin_post("/api/v1/ical/import", &json!({ "feed_id": id })).await.assert_status(200);
    // Captured now: moving the clock below may cross midnight in Argentina.
    let blocked = days(&app, 10..12);

    let cases = [
        (Behavior::Status(500), "HTTP 500"),
        (Behavior::Garbage { bytes: 50 * 1024 * 1024 }, "larger than 10 MiB"),
        (Behavior::Garbage { bytes: 1024 }, "not an iCalendar feed"),
        (
            Behavior::Ics {
                body: "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\n".into(),
                etag: "\"t\"".into(),
                last_modified: "x".into(),
            },
            "cut short",
        ),
    ];
    for (behavior, error) in cases {
        server.set("/f.ics", behavior);
        let reply = app.admin_post("/api/v1/ical/import", &json!({ "feed_id": id })).await;
        reply.assert_error(422, "validation_error");
        assert!(reply.json()["detail"].as_str().unwrap().contains(error), "{}", reply.text);
        assert_eq!(taken(&app, cabin, 0, 20).await, blocked, "{error}: nothing changed");
        let view = feed_view(&app, cabin, id).await;
        assert!(view["last_error"].as_str().unwrap().contains(error), "{view}");
    }
    assert_eq!(app.get("/healthz").await.json()["checks"]["ical"]["status"], "healthy", "not stale yet");
    app.advance(Duration::minutes(21));
    app.tick().await.assert_status(200);
    let ical = &app.get("/healthz").await.json()["checks"]["ical"];
    assert_eq!(ical["status"], "degraded", "{ical}");
    assert!(ical["detail"].as_str().unwrap().contains(&format!("feed {id}")), "{ical}");
    assert_eq!(taken(&app, cabin, -1, 20).await, blocked);
}

#[tokio::test]
async fn a_feed_that_never_answers_times_out_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let server = FeedServer::start().await;
    let cabin = create_cabin(&app, "Cabaña").await;
    server.serve("/slow.ics", calendar(&[("a@x", 10, 12, "Reserved")], &app));
    let id = add_feed(&app, cabin, "vrbo", &server.url("/slow.ics")).await;
    app.admin_post("/api/v1/ical/import", &json!({ "feed_id": id })).await.assert_status(200);
    server.set("/slow.ics", Behavior::Hang);
    let started = std::time::Instant::now();
    let reply = app.admin_post("/api/v1/ical/import", &json!({ "feed_id": id })).await;
    reply.assert_error(422, "validation_error");
    assert!(reply.json()["detail"].as_str().unwrap().contains("timed out"), "{}", reply.text);
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    assert_eq!(taken(&app, cabin, 0, 20).await, days(&app, 10..12));
}

#[tokio::test]
async fn feeds_are_managed_by_admins_and_deleting_one_releases_its_blocks() {
    let app = TestApp::spawn().await;
    let server = FeedServer::start().await;
    let cabin = create_cabin(&app, "Cabaña").await;
    server.serve("/v.ics", calendar(&[("v@vrbo", 10, 12, "Blocked")], &app));
    let path = format!("/api/v1/admin/accommodations/{cabin}/feeds");
    app.send(app.client.get(app.url(&path))).await.assert_error(401, "unauthorized");
    for bad in [
        json!({ "platform": "airbnb" }),
        json!({ "platform": "airbnb", "url": "ftp://example.com/x.ics" }),
        json!({ "platform": "air bnb", "url": server.url("/v.ics") }),
    ] {
        app.admin_post(&path, &bad).await.assert_error(422, "validation_error");
    }
    app.admin_post(
        "/api/v1/admin/accommodations/9999/feeds",
        &json!({ "platform": "vrbo", "url": server.url("/v.ics") }),
    )
    .await
    .assert_error(404, "accommodation_not_found");
    let id = add_feed(&app, cabin, "vrbo", &server.url("/v.ics")).await;
    let (_, urls) = export_url_of(&app, cabin).await;
    assert!(urls["vrbo"].is_string(), "a per-platform export URL for each feed's platform: {urls}");
    app.admin_post("/api/v1/ical/import", &json!({ "feed_id": id })).await.assert_status(200);
    assert_eq!(taken(&app, cabin, 0, 20).await, days(&app, 10..12));

    admin_delete(&app, &format!("/api/v1/admin/feeds/{id}")).await.assert_status(200);
    assert!(taken(&app, cabin, 0, 20).await.is_empty());
    assert!(admin_get(&app, &path).await.json()["items"].as_array().unwrap().is_empty());
    admin_delete(&app, &format!("/api/v1/admin/feeds/{id}")).await.assert_error(404, "not_found");
    app.admin_post("/api/v1/ical/import", &json!({ "feed_id": id })).await.assert_error(404, "not_found");
    assert_no_night_twice(&app, cabin).await;
}

#[tokio::test]
async fn an_unchanged_feed_still_resolves_its_conflicts_at_the_next_pull() {
    let app = TestApp::spawn().await;
    let server = FeedServer::start().await;
    let cabin = create_cabin(&app, "Cabaña").await;
    let code = app.hold(cabin, &day(&app, 12), &day(&app, 14)).await;
    server.serve("/c.ics", calendar(&[("clash@airbnb.com", 10, 16, "Reserved")], &app));
    let id = add_feed(&app, cabin, "airbnb", &server.url("/c.ics")).await;
    let report = app.admin_post("/api/v1/ical/import", &json!({ "feed_id": id })).await;
    assert_eq!(report.json()["conflicts"], 1, "{}", report.text);
    app.send(app.client.post(app.url(&format!("/api/v1/reservations/{code}/cancel"))).json(&json!({})))
        .await
        .assert_status(200);
    // The feed has not changed (it would answer 304), yet the conflict is re-checked.
    let report = app.admin_post("/api/v1/ical/import", &json!({ "feed_id": id })).await;
    assert_eq!(report.json()["conflicts"], 0, "{}", report.text);
    assert_eq!(server.requests("/c.ics")[1].header("if-none-match"), None);
    assert_eq!(block_of(&app, "clash@airbnb.com").await.len(), 1);
    // Now complete, the next pull is conditional again.
    app.admin_post("/api/v1/ical/import", &json!({ "feed_id": id })).await.assert_status(200);
    assert!(server.requests("/c.ics")[2].header("if-none-match").is_some());
}
