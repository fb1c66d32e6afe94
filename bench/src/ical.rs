//! Calendar figures: importing a 5 000-event feed (posted to `POST /ical/import`, so parsing,
//! the snapshot and every night claim are in the time) and exporting an accommodation with
//! 5 000 stays (`GET /ical/export/{token}.ics`, median of a few requests).

use crate::host;
use anyhow::{ensure, Context, Result};
use chrono::{Days, Utc};
use reservas_app::ports::{Conn, Db};
use serde_json::{json, Value};
use std::path::Path;
use std::time::Instant;

/// Events in the imported feed and stays in the exported accommodation.
pub const EVENTS: usize = 5_000;
/// Export requests; the median is reported.
const EXPORT_RUNS: usize = 5;

/// A feed shaped like Airbnb's: two-night stays three days apart (about 700 KB as JSON, under
/// the 1 MiB body limit of the import endpoint).
fn feed(events: usize) -> String {
    let first = Utc::now().date_naive() + Days::new(2);
    let mut out = String::from("BEGIN:VCALENDAR\r\nPRODID:-//Airbnb Inc//Hosting Calendar 1.0//EN\r\nVERSION:2.0\r\n");
    for i in 0..events as u64 {
        let start = first + Days::new(3 * i);
        let end = start + Days::new(2);
        out += &format!(
            "BEGIN:VEVENT\r\nDTEND;VALUE=DATE:{}\r\nDTSTART;VALUE=DATE:{}\r\nUID:{i:012x}-bench@airbnb.com\r\n\
             SUMMARY:Reserved\r\nEND:VEVENT\r\n",
            end.format("%Y%m%d"),
            start.format("%Y%m%d"),
        );
    }
    out + "END:VCALENDAR\r\n"
}

async fn post(host: &host::Host, token: &str, path: &str, body: Value) -> Result<Value> {
    let response = host.client.post(host.url(path)).bearer_auth(token).json(&body).send().await?;
    let status = response.status();
    let body: Value = response.json().await?;
    ensure!(status.is_success(), "POST {path} answered {status}: {body}");
    Ok(body)
}

/// Adds `ical_import_5000_ms`, `ical_reimport_5000_ms` (the same feed again: nothing to do)
/// and `ical_export_5000_ms`.
pub async fn section(dir: &Path, figures: &mut crate::Figures) -> Result<()> {
    let host = host::start(&dir.join("ical.db")).await?;
    let token = host.admin_token().await?;
    let cabins = host.create_accommodations(&token, 1).await?;
    let body = json!({ "accommodation_id": cabins[0], "platform": "airbnb", "ics": feed(EVENTS) });

    let began = Instant::now();
    let report = post(&host, &token, "/ical/import", body.clone()).await?;
    let import_ms = began.elapsed().as_secs_f64() * 1e3;
    ensure!(report["added"] == EVENTS, "the import added {} events, not {EVENTS}", report["added"]);
    let began = Instant::now();
    let again = post(&host, &token, "/ical/import", body).await?;
    let reimport_ms = began.elapsed().as_secs_f64() * 1e3;
    ensure!(again["unchanged"] == EVENTS, "the re-import left {} unchanged", again["unchanged"]);
    eprintln!("ical import of {EVENTS} events: {import_ms:.1} ms; again, unchanged: {reimport_ms:.1} ms");

    // An accommodation with EVENTS stays of our own (bulk-loaded, half confirmed, half holds).
    let conn = host.env.db.connect().await?;
    let stays = crate::bulk::accommodations(&conn, 1).await?;
    let first_id = conn.query("SELECT coalesce(max(id), 0) FROM reservations", &[]).await?[0].int(0)?;
    crate::bulk::reservations(&conn, stays[0], 1, first_id..first_id + EVENTS as i64).await?;
    let view = host
        .client
        .get(host.url(&format!("/admin/accommodations/{}", stays[0])))
        .bearer_auth(&token)
        .send()
        .await?
        .json::<Value>()
        .await?;
    let url = view["ical_export_url"].as_str().context("no ical_export_url")?;
    let path = &url[url.find("/ical/export/").context("export URL shape")?..];
    let mut times = Vec::with_capacity(EXPORT_RUNS);
    for _ in 0..EXPORT_RUNS {
        let began = Instant::now();
        let response = host.client.get(host.url(path)).send().await?;
        ensure!(response.status().is_success(), "export answered {}", response.status());
        let text = response.text().await?;
        times.push(began.elapsed().as_secs_f64() * 1e3);
        ensure!(text.matches("BEGIN:VEVENT").count() == EVENTS, "the export does not hold {EVENTS} events");
    }
    times.sort_by(f64::total_cmp);
    let export_ms = times[times.len() / 2];
    eprintln!("ical export of {EVENTS} stays: {export_ms:.1} ms (median of {EXPORT_RUNS})");

    figures.add("ical_import_5000_ms", import_ms, 1);
    figures.add("ical_reimport_5000_ms", reimport_ms, 1);
    figures.add("ical_export_5000_ms", export_ms, 1);
    host.stop().await;
    Ok(())
}
