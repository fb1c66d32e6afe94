//! Calendars: iCal export, feeds and snapshot sync (issue 4).
//!
//! - Export (`GET /ical/export/{token}.ics`): the accommodation's live holds, confirmed stays
//!   and imported blocks as all-day events; a per-platform token leaves out the blocks imported
//!   from that platform. A token that does not verify is 404, like a missing one.
//! - Import (`POST /ical/import`): a posted body (snapshot per accommodation and platform) or
//!   a configured feed synced now; see [`sync`] for the snapshot rules and conflicts.
//! - The tick pulls every feed whose last attempt is older than [`FEED_INTERVAL`]; health is
//!   degraded by stale feeds and open conflicts.

pub mod feeds;
pub mod sync;

use crate::error::{ApiError, ApiResult};
use crate::http::{Request, Response};
use crate::input::{check_text, JsonBody};
use crate::paging::Page;
use crate::ports::{Conn, Db, Env, Value};
use crate::routes::Endpoint;
use crate::store::{self, ts};
use chrono::{DateTime, Days, Utc};
use feeds::{check_feed_url, Feed, FEED_COLUMNS};
use reservas_domain::ical::{parse_feed, write_calendar, ExportEvent, ExportToken, Platform};
use reservas_domain::stay::today_in_argentina;
use reservas_domain::Stay;
use serde_json::{json, Map, Value as Json};
use std::time::Duration;
use sync::Source;

/// How often the tick pulls each feed. Platforms themselves poll every few minutes to hours;
/// this keeps well inside the 20-minute staleness target without hammering them every minute.
pub const FEED_INTERVAL: Duration = Duration::from_secs(5 * 60);

/// Exports start this many days back: recent stays stay visible in subscribed calendars.
const EXPORT_HISTORY_DAYS: u64 = 30;

/// Serves this module's endpoints (see `routes::ROUTES`).
pub async fn dispatch<E: Env>(env: &E, req: &Request, endpoint: Endpoint, params: &[String]) -> ApiResult<Response> {
    let param = params.first().map(String::as_str).unwrap_or_default();
    if endpoint == Endpoint::IcalExport {
        return export(env, param).await;
    }
    crate::admin::admin_claims(env, req.header("authorization"))?;
    let (status, body) = match endpoint {
        Endpoint::IcalImport => (200, import(env, &req.body).await?),
        Endpoint::RotateIcalToken => (200, rotate(env, param).await?),
        Endpoint::ListFeeds => (200, list_feeds(env, param).await?),
        Endpoint::CreateFeed => (201, create_feed(env, param, &req.body).await?),
        Endpoint::DeleteFeed => (200, delete_feed(env, param).await?),
        Endpoint::AdminConflicts => (200, list_conflicts(env, &req.query_pairs()).await?),
        other => return Err(ApiError::NotFound(format!("{other:?} is not a calendar endpoint"))),
    };
    Ok(Response::json(status, &body))
}

// ---------------------------------------------------------------- export

async fn token_version<C: Conn>(conn: &C, accommodation_id: i64) -> ApiResult<i64> {
    let rows = conn
        .query(
            "SELECT version FROM ical_export_tokens WHERE accommodation_id = ?1",
            &[Value::Integer(accommodation_id)],
        )
        .await?;
    Ok(rows.first().map(|r| r.int(0)).transpose()?.unwrap_or(0))
}

fn export_url(config: &crate::Config, token: &str) -> String {
    format!("{}/ical/export/{token}.ics", config.base_url)
}

/// The accommodation's export URLs: `ical_export_url` (everything) and `ical_export_urls`
/// (one per platform it has feeds or imports from, each without that platform's blocks).
pub async fn export_links<C: Conn>(
    conn: &C,
    config: &crate::Config,
    accommodation_id: i64,
) -> ApiResult<(String, Json)> {
    let version = token_version(conn, accommodation_id).await?;
    let salt = &config.ics_salt;
    let all = export_url(config, &ExportToken::sign(salt, accommodation_id, version, None));
    let rows = conn
        .query(
            "SELECT platform FROM ical_feeds WHERE accommodation_id = ?1 UNION SELECT platform FROM ical_events WHERE accommodation_id = ?1 ORDER BY 1",
            &[Value::Integer(accommodation_id)],
        )
        .await?;
    let mut per_platform = Map::new();
    for row in &rows {
        if let Some(platform) = Platform::parse(&row.text(0)?) {
            let token = ExportToken::sign(salt, accommodation_id, version, Some(&platform));
            per_platform.insert(platform.as_str().to_owned(), json!(export_url(config, &token)));
        }
    }
    Ok((all, Json::Object(per_platform)))
}

/// Adds `ical_export_url` and `ical_export_urls` to an accommodation's admin view.
pub async fn with_export_links<E: Env>(env: &E, mut view: Json) -> ApiResult<Json> {
    let Some(id) = view["id"].as_i64() else { return Ok(view) };
    let conn = env.db().connect().await?;
    let (url, urls) = export_links(&conn, env.config(), id).await?;
    view["ical_export_url"] = json!(url);
    view["ical_export_urls"] = urls;
    Ok(view)
}

fn not_found() -> ApiError {
    ApiError::NotFound("no such calendar".into())
}

async fn export<E: Env>(env: &E, token: &str) -> ApiResult<Response> {
    let token = ExportToken::parse(token).ok_or_else(not_found)?;
    let conn = env.db().connect().await?;
    let accommodation = store::find_accommodation(&conn, token.accommodation_id).await?.ok_or_else(not_found)?;
    let version = token_version(&conn, accommodation.id).await?;
    if !token.verify(&env.config().ics_salt, version) {
        return Err(not_found());
    }
    let now = env.clock().now();
    let since = today_in_argentina(now).checked_sub_days(Days::new(EXPORT_HISTORY_DAYS)).unwrap_or_default();
    let rows = conn
        .query(
            "SELECT r.code, r.check_in, r.check_out, r.status, e.platform FROM reservations r \
             LEFT JOIN ical_blocks b ON b.reservation_id = r.id LEFT JOIN ical_events e ON e.id = b.event_id \
             WHERE r.accommodation_id = ?1 AND r.check_out >= ?2 \
             AND (r.status IN ('confirmed', 'blocked') OR (r.status = 'pre_reserved' AND r.expires_at > ?3)) \
             ORDER BY r.check_in, r.id",
            &[Value::Integer(accommodation.id), since.to_string().into(), ts(now).into()],
        )
        .await?;
    let domain = &env.config().domain;
    let mut events = Vec::with_capacity(rows.len());
    for row in &rows {
        let origin = row.opt_text(4)?;
        if token.platform.as_ref().is_some_and(|p| origin.as_deref() == Some(p.as_str())) {
            continue;
        }
        let (check_in, check_out) = (row.text(1)?, row.text(2)?);
        let stay = match (check_in.parse(), check_out.parse()) {
            (Ok(a), Ok(b)) => Stay::between(a, b).map_err(|e| anyhow::anyhow!("stored stay: {e}"))?,
            _ => return Err(anyhow::anyhow!("stored dates {check_in:?} {check_out:?}").into()),
        };
        let what = if row.text(3)? == "blocked" { "No disponible" } else { "Reservado" };
        events.push(ExportEvent {
            uid: format!("{}@{domain}", row.text(0)?),
            stay,
            summary: format!("{what} – {}", accommodation.name),
        });
    }
    let body = write_calendar(&accommodation.name, &events, now);
    let mut response = Response::text(200, "text/calendar; charset=utf-8", body);
    response.headers.push(("cache-control".into(), "no-cache".into()));
    response
        .headers
        .push(("content-disposition".into(), format!("inline; filename=\"reservas-{}.ics\"", accommodation.id)));
    Ok(response)
}

async fn rotate<E: Env>(env: &E, id: &str) -> ApiResult<Json> {
    let id = crate::booking::parse_accommodation_id(id)?;
    let conn = env.db().connect().await?;
    store::find_accommodation(&conn, id).await?.ok_or(ApiError::AccommodationNotFound)?;
    conn.execute(
        "INSERT INTO ical_export_tokens (accommodation_id, version, rotated_at) VALUES (?1, 1, ?2) \
         ON CONFLICT (accommodation_id) DO UPDATE SET version = version + 1, rotated_at = excluded.rotated_at",
        &[Value::Integer(id), ts(env.clock().now()).into()],
    )
    .await?;
    tracing::info!(accommodation_id = id, "export token rotated");
    let (url, urls) = export_links(&conn, env.config(), id).await?;
    Ok(json!({ "accommodation_id": id, "ical_export_url": url, "ical_export_urls": urls }))
}

// ---------------------------------------------------------------- import

async fn import<E: Env>(env: &E, body: &[u8]) -> ApiResult<Json> {
    let body = JsonBody::parse(body)?;
    if body.raw("feed_id").is_some() {
        let feed_id = body.id("feed_id")?;
        let conn = env.db().connect().await?;
        let feed = feeds::find(&conn, feed_id).await?.ok_or_else(|| ApiError::NotFound("feed not found".into()))?;
        return match feeds::sync_feed(env, &feed).await {
            Ok(report) => Ok(serde_json::to_value(report).map_err(anyhow::Error::from)?),
            Err(feeds::SyncError::Feed(why)) => {
                Err(ApiError::Validation(format!("feed {feed_id} was not synced (nothing changed): {why}")))
            }
            Err(feeds::SyncError::Api(e)) => Err(e),
        };
    }
    let accommodation_id = body.id("accommodation_id")?;
    let ics = body.required_str("ics")?;
    let platform = match body.optional_str("platform")? {
        None => Platform::other(),
        Some(p) => Platform::parse(p)
            .ok_or_else(|| ApiError::Validation("platform must be a short name like airbnb, booking, vrbo".into()))?,
    };
    let conn = env.db().connect().await?;
    store::find_accommodation(&conn, accommodation_id).await?.ok_or(ApiError::AccommodationNotFound)?;
    let parsed = parse_feed(ics).map_err(|e| ApiError::Validation(format!("ics: {e}; nothing changed")))?;
    let report = sync::apply(env, &Source::body(accommodation_id, platform), &parsed).await?;
    Ok(serde_json::to_value(report).map_err(anyhow::Error::from)?)
}

// ---------------------------------------------------------------- feeds

async fn list_feeds<E: Env>(env: &E, accommodation_id: &str) -> ApiResult<Json> {
    let id = crate::booking::parse_accommodation_id(accommodation_id)?;
    let conn = env.db().connect().await?;
    store::find_accommodation(&conn, id).await?.ok_or(ApiError::AccommodationNotFound)?;
    let rows = conn
        .query(
            &format!("SELECT {FEED_COLUMNS} FROM ical_feeds WHERE accommodation_id = ?1 ORDER BY id"),
            &[Value::Integer(id)],
        )
        .await?;
    let items = rows.iter().map(|r| feeds::feed(r).map(|f| f.view())).collect::<ApiResult<Vec<_>>>()?;
    Ok(json!({ "total": items.len(), "items": items, "next_cursor": null }))
}

async fn create_feed<E: Env>(env: &E, accommodation_id: &str, body: &[u8]) -> ApiResult<Json> {
    let id = crate::booking::parse_accommodation_id(accommodation_id)?;
    let body = JsonBody::parse(body)?;
    let platform = Platform::parse(body.required_str("platform")?)
        .ok_or_else(|| ApiError::Validation("platform must be a short name like airbnb, booking, vrbo".into()))?;
    let url_text = body.required_str("url")?;
    if url_text.len() > 2000 {
        return Err(ApiError::Validation("url is longer than 2000 characters".into()));
    }
    let url = check_feed_url(env.config(), url_text).map_err(ApiError::Validation)?;
    let label = body.optional_str("label")?.map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned);
    if let Some(l) = &label {
        check_text("label", l, 200)?;
    }
    let conn = env.db().connect().await?;
    store::find_accommodation(&conn, id).await?.ok_or(ApiError::AccommodationNotFound)?;
    let rows = conn
        .query(
            &format!(
                "INSERT INTO ical_feeds (accommodation_id, platform, url, label, created_at) VALUES (?1, ?2, ?3, ?4, ?5) \
                 RETURNING {FEED_COLUMNS}"
            ),
            &[
                Value::Integer(id),
                platform.as_str().into(),
                url.as_str().into(),
                label.into(),
                ts(env.clock().now()).into(),
            ],
        )
        .await?;
    let feed = feeds::feed(rows.first().ok_or_else(|| anyhow::anyhow!("insert returned no row"))?)?;
    tracing::info!(feed_id = feed.id, accommodation_id = id, platform = feed.platform.as_str(), "calendar feed added");
    Ok(feed.view())
}

/// Deleting a feed releases its blocks (nothing would ever update or release them again) and
/// closes its open conflicts.
async fn delete_feed<E: Env>(env: &E, feed_id: &str) -> ApiResult<Json> {
    let not_found = || ApiError::NotFound("feed not found".into());
    let feed_id = feed_id.parse::<i64>().ok().filter(|i| *i > 0).ok_or_else(not_found)?;
    let conn = env.db().connect().await?;
    let now = env.clock().now();
    let released = store::transaction(&conn, async {
        let feed = feeds::find(&conn, feed_id).await?.ok_or_else(not_found)?;
        let released = sync::release_source(&conn, &feed.source(), now).await?;
        conn.execute("DELETE FROM ical_feeds WHERE id = ?1", &[Value::Integer(feed_id)]).await?;
        Ok(released)
    })
    .await?;
    tracing::info!(feed_id, released, "calendar feed deleted");
    Ok(json!({ "id": feed_id, "deleted": true, "released": released }))
}

// ---------------------------------------------------------------- conflicts

async fn list_conflicts<E: Env>(env: &E, query: &[(String, String)]) -> ApiResult<Json> {
    let page = Page::parse(query)?;
    let status = query.iter().find(|(k, _)| k == "status").map(|(_, v)| v.as_str()).filter(|v| !v.is_empty());
    if status.is_some_and(|s| s != "open" && s != "resolved") {
        return Err(ApiError::Validation("status must be open or resolved".into()));
    }
    let filter: Value = status.into();
    let conn = env.db().connect().await?;
    let total = conn
        .query("SELECT count(*) FROM ical_conflicts WHERE ?1 IS NULL OR status = ?1", std::slice::from_ref(&filter))
        .await?
        .first()
        .map(|r| r.int(0))
        .transpose()?
        .unwrap_or(0);
    let rows = conn
        .query(
            "SELECT id, accommodation_id, feed_id, platform, uid, check_in, check_out, reservation_code, likely_echo, status, \
             detected_at, last_seen_at, resolved_at, resolution FROM ical_conflicts WHERE ?1 IS NULL OR status = ?1 \
             ORDER BY id LIMIT ?2 OFFSET ?3",
            &[filter, Value::Integer(page.limit), Value::Integer(page.offset)],
        )
        .await?;
    let items = rows
        .iter()
        .map(|r| {
            Ok(json!({
                "id": r.int(0)?,
                "accommodation_id": r.int(1)?,
                "feed_id": r.opt_int(2)?,
                "platform": r.text(3)?,
                "uid": r.text(4)?,
                "check_in": r.text(5)?,
                "check_out": r.text(6)?,
                "reservation_code": r.text(7)?,
                "likely_echo": r.int(8)? == 1,
                "status": r.text(9)?,
                "detected_at": r.text(10)?,
                "last_seen_at": r.text(11)?,
                "resolved_at": r.opt_text(12)?,
                "resolution": r.opt_text(13)?,
            }))
        })
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(page.respond(items, total))
}

// ---------------------------------------------------------------- tick and health

/// Pulls every feed not attempted within [`FEED_INTERVAL`], oldest attempt first. A feed that
/// fails is recorded and retried at the next interval; one feed never stops the others.
pub async fn tick<E: Env>(env: &E) -> ApiResult<Json> {
    let conn = env.db().connect().await?;
    let now = env.clock().now();
    let due_before = now - chrono::Duration::from_std(FEED_INTERVAL).unwrap_or_default();
    let rows = conn
        .query(
            &format!(
                "SELECT {FEED_COLUMNS} FROM ical_feeds WHERE last_attempt_at IS NULL OR last_attempt_at <= ?1 \
                 ORDER BY last_attempt_at IS NOT NULL, last_attempt_at, id"
            ),
            &[ts(due_before).into()],
        )
        .await?;
    let due = rows.iter().map(feeds::feed).collect::<ApiResult<Vec<Feed>>>()?;
    let (mut synced, mut failed) = (0, Vec::new());
    for feed in &due {
        match feeds::sync_feed(env, feed).await {
            Ok(_) => synced += 1,
            Err(e) => failed.push(json!({ "feed_id": feed.id, "error": e.to_string() })),
        }
    }
    Ok(json!({ "feeds_due": due.len(), "feeds_synced": synced, "feeds_failed": failed }))
}

fn older_than(stamp: Option<&str>, limit: DateTime<Utc>) -> bool {
    stamp.and_then(|s| store::parse_ts(s).ok()).is_none_or(|t| t < limit)
}

/// Degraded when an active feed has had no successful sync within `ICAL_MAX_STALENESS_MINUTES`
/// (the feeds are named in the detail) or when a conflict with our own stays is open;
/// not configured when there are no feeds.
pub async fn health<E: Env>(env: &E) -> (crate::observe::Level, Json) {
    use crate::observe::{check, not_configured, Level};
    let result: ApiResult<(Level, Json)> = async {
        let conn = env.db().connect().await?;
        let rows = conn
            .query("SELECT id, platform, label, last_success_at, created_at FROM ical_feeds ORDER BY id", &[])
            .await?;
        let counts = conn
            .query(
                "SELECT coalesce(sum(likely_echo = 0), 0), coalesce(sum(likely_echo = 1), 0) FROM ical_conflicts WHERE status = 'open'",
                &[],
            )
            .await?;
        let (clashes, echoes) = counts.first().map(|r| Ok::<_, ApiError>((r.int(0)?, r.int(1)?))).transpose()?.unwrap_or((0, 0));
        if rows.is_empty() && clashes == 0 && echoes == 0 {
            return Ok(not_configured("calendar sync"));
        }
        let staleness = env.config().ical_max_staleness;
        let limit = env.clock().now() - chrono::Duration::from_std(staleness).unwrap_or_default();
        let mut stale = Vec::new();
        for row in &rows {
            let last_success = row.opt_text(3)?;
            // A feed added moments ago is not stale before it had the chance to sync.
            if older_than(last_success.as_deref(), limit) && older_than(Some(&row.text(4)?), limit) {
                let name = row.opt_text(2)?.unwrap_or_else(|| row.text(1).unwrap_or_default());
                stale.push(format!("feed {} ({name}) last synced {}", row.int(0)?, last_success.as_deref().unwrap_or("never")));
            }
        }
        let mut problems = Vec::new();
        if !stale.is_empty() {
            problems.push(format!(
                "{} stale (no successful sync in {} minutes): {}",
                stale.len(),
                staleness.as_secs() / 60,
                stale.join("; ")
            ));
        }
        if clashes > 0 {
            problems.push(format!("{clashes} open calendar conflict(s) with our reservations"));
        }
        let echo_note = if echoes > 0 { format!("; {echoes} open likely echo(es) of our export") } else { String::new() };
        Ok(if problems.is_empty() {
            check(Level::Healthy, format!("{} feed(s) in sync{echo_note}", rows.len()))
        } else {
            check(Level::Degraded, format!("{}{echo_note}", problems.join("; ")))
        })
    }
    .await;
    result.unwrap_or_else(|e| check(Level::Degraded, format!("calendar state unreadable: {e}")))
}
