//! Configured feeds: which URLs may be pulled, fetching them (conditional, bounded), and
//! recording how each sync went.

use super::sync::{self, Source, SyncReport};
use crate::config::Config;
use crate::error::{ApiError, ApiResult};
use crate::ports::{Conn, Db, Env, Http, HttpError, OutboundRequest, Row, Value};
use crate::store::ts;
use chrono::{DateTime, Utc};
use reservas_domain::ical::{parse_feed, Platform};
use serde_json::{json, Value as Json};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

/// A feed download may take this long, connect to last byte.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
/// A feed larger than this is refused whole (real feeds are tens of kilobytes; a year of
/// daily events is well under 1 MiB).
pub const MAX_FEED_BYTES: usize = 10 * 1024 * 1024;

/// Checks a feed URL before it is stored and again before each fetch.
///
/// Development allows any `http` or `https` URL (tests serve feeds on loopback). Otherwise:
/// `https` only; no user name or password in the URL; the host may not be `localhost` (or
/// `*.localhost`), a single-label name, a `.local`, `.internal` or `.home.arpa` name, or an IP
/// literal that is loopback, private, link-local, CGNAT, unspecified, broadcast, multicast,
/// documentation or IPv6 unique-local (IPv4-mapped IPv6 is judged as IPv4). What a public name
/// resolves to is not checked here (the outbound port does not expose it); under Spin,
/// `allowed_outbound_hosts` is the last word on where a component may connect.
pub fn check_feed_url(config: &Config, text: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(text.trim()).map_err(|e| format!("url is not a URL: {e}"))?;
    let host = url.host().ok_or("url has no host")?;
    if config.is_development() {
        return match url.scheme() {
            "http" | "https" => Ok(url),
            other => Err(format!("url scheme {other:?} is not http or https")),
        };
    }
    if url.scheme() != "https" {
        return Err("url must be https".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("url must not carry credentials".into());
    }
    let refuse = |what: &str| Err(format!("url points at {what}, which is not a public address"));
    match host {
        url::Host::Domain(name) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            if name == "localhost" || name.ends_with(".localhost") {
                return refuse("localhost");
            }
            if !name.contains('.') {
                return refuse("a single-label host name");
            }
            if [".local", ".internal", ".home.arpa", ".lan"].iter().any(|s| name.ends_with(s)) {
                return refuse("a local host name");
            }
            Ok(url)
        }
        url::Host::Ipv4(ip) if !is_public(IpAddr::V4(ip)) => refuse("a non-public IPv4 address"),
        url::Host::Ipv6(ip) if !is_public(IpAddr::V6(ip)) => refuse("a non-public IPv6 address"),
        _ => Ok(url),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
        || (a == 198 && (18..20).contains(&b))
        || a >= 240)
}

fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_v4(v4);
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || v6 == Ipv6Addr::from([0u8; 16]))
        }
    }
}

/// A configured feed.
#[derive(Debug, Clone)]
pub struct Feed {
    pub id: i64,
    pub accommodation_id: i64,
    pub platform: Platform,
    pub url: String,
    pub label: Option<String>,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub last_attempt_at: Option<String>,
    pub last_success_at: Option<String>,
    pub last_error: Option<String>,
    pub last_error_at: Option<String>,
    pub events: i64,
    pub created_at: String,
}

pub const FEED_COLUMNS: &str = "id, accommodation_id, platform, url, label, etag, last_modified, last_attempt_at, \
     last_success_at, last_error, last_error_at, events, created_at";

pub fn feed(row: &Row) -> ApiResult<Feed> {
    let platform = row.text(2)?;
    Ok(Feed {
        id: row.int(0)?,
        accommodation_id: row.int(1)?,
        platform: Platform::parse(&platform).ok_or_else(|| anyhow::anyhow!("stored platform {platform:?}"))?,
        url: row.text(3)?,
        label: row.opt_text(4)?,
        etag: row.opt_text(5)?,
        last_modified: row.opt_text(6)?,
        last_attempt_at: row.opt_text(7)?,
        last_success_at: row.opt_text(8)?,
        last_error: row.opt_text(9)?,
        last_error_at: row.opt_text(10)?,
        events: row.int(11)?,
        created_at: row.text(12)?,
    })
}

impl Feed {
    pub fn source(&self) -> Source {
        Source::feed(self.accommodation_id, self.id, self.platform.clone())
    }

    pub fn view(&self) -> Json {
        json!({
            "id": self.id,
            "accommodation_id": self.accommodation_id,
            "platform": self.platform.as_str(),
            "url": self.url,
            "label": self.label,
            "last_attempt_at": self.last_attempt_at,
            "last_success_at": self.last_success_at,
            "last_error": self.last_error,
            "last_error_at": self.last_error_at,
            "events": self.events,
            "created_at": self.created_at,
        })
    }
}

pub async fn find<C: Conn>(conn: &C, id: i64) -> ApiResult<Option<Feed>> {
    let rows =
        conn.query(&format!("SELECT {FEED_COLUMNS} FROM ical_feeds WHERE id = ?1"), &[Value::Integer(id)]).await?;
    rows.first().map(feed).transpose()
}

/// What a download brought.
enum Fetched {
    NotModified,
    Body { text: String, etag: Option<String>, last_modified: Option<String> },
}

fn describe(e: &HttpError) -> String {
    match e {
        HttpError::Timeout => format!("timed out after {} s", FETCH_TIMEOUT.as_secs()),
        HttpError::TooLarge => format!("larger than {} MiB", MAX_FEED_BYTES / (1024 * 1024)),
        HttpError::Connect(_) => "connection failed".into(),
        HttpError::NotAllowed(why) => format!("not allowed: {why}"),
        HttpError::Other(_) => "download failed".into(),
    }
}

async fn fetch<E: Env>(env: &E, feed: &Feed, conditional: bool) -> Result<Fetched, String> {
    let url = check_feed_url(env.config(), &feed.url)?;
    let mut request = OutboundRequest::new("GET", url.as_str())
        .timeout(FETCH_TIMEOUT)
        .max_response_bytes(MAX_FEED_BYTES)
        .header("accept", "text/calendar, text/plain;q=0.9, */*;q=0.5");
    if let (true, Some(etag)) = (conditional, &feed.etag) {
        request = request.header("if-none-match", etag.as_str());
    }
    if let (true, Some(modified)) = (conditional, &feed.last_modified) {
        request = request.header("if-modified-since", modified.as_str());
    }
    let response = env.http().send(request).await.map_err(|e| describe(&e))?;
    match response.status {
        304 => Ok(Fetched::NotModified),
        s if (200..300).contains(&s) => Ok(Fetched::Body {
            text: String::from_utf8_lossy(&response.body).into_owned(),
            etag: response.header("etag").map(str::to_owned),
            last_modified: response.header("last-modified").map(str::to_owned),
        }),
        s => Err(format!("HTTP {s}")),
    }
}

async fn record_error<C: Conn>(conn: &C, feed_id: i64, now: DateTime<Utc>, error: &str) -> ApiResult<()> {
    conn.execute(
        "UPDATE ical_feeds SET last_attempt_at = ?2, last_error = ?3, last_error_at = ?2 WHERE id = ?1",
        &[Value::Integer(feed_id), ts(now).into(), error.into()],
    )
    .await?;
    Ok(())
}

/// Why a feed sync changed nothing.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("{0}")]
    Feed(String),
    #[error(transparent)]
    Api(#[from] ApiError),
}

/// Pulls one feed and applies it. A download or parse failure changes no block and is recorded
/// as the feed's `last_error`; the validators (ETag, Last-Modified) are stored only after the
/// snapshot is applied, so a failed apply is retried in full.
pub async fn sync_feed<E: Env>(env: &E, feed: &Feed) -> Result<SyncReport, SyncError> {
    let conn = env.db().connect().await.map_err(ApiError::from)?;
    let started = env.clock().now();
    // An event that does not hold all its nights (a conflict, or nights another feed held) is
    // re-planned at every sync, which needs the body: no conditional request for such a feed.
    let partial = conn
        .query(
            "SELECT 1 FROM ical_events WHERE accommodation_id = ?1 AND source = ?2 AND complete = 0 LIMIT 1",
            &[Value::Integer(feed.accommodation_id), feed.source().key().into()],
        )
        .await
        .map_err(ApiError::from)?;
    let fetched = fetch(env, feed, partial.is_empty()).await;
    let now = env.clock().now().max(started);
    let (text, etag, last_modified) = match fetched {
        Err(error) => {
            record_error(&conn, feed.id, now, &error).await?;
            tracing::warn!(feed_id = feed.id, %error, "calendar feed download failed");
            return Err(SyncError::Feed(error));
        }
        Ok(Fetched::NotModified) => {
            conn.execute(
                "UPDATE ical_feeds SET last_attempt_at = ?2, last_success_at = ?2, last_error = NULL WHERE id = ?1",
                &[Value::Integer(feed.id), ts(now).into()],
            )
            .await
            .map_err(ApiError::from)?;
            return Ok(SyncReport { unchanged: feed.events.max(0) as usize, ..SyncReport::default() });
        }
        Ok(Fetched::Body { text, etag, last_modified }) => (text, etag, last_modified),
    };
    let parsed = match parse_feed(&text) {
        Ok(parsed) => parsed,
        Err(e) => {
            let error = e.to_string();
            record_error(&conn, feed.id, now, &error).await?;
            tracing::warn!(feed_id = feed.id, %error, "calendar feed unreadable");
            return Err(SyncError::Feed(error));
        }
    };
    let report = sync::apply(env, &feed.source(), &parsed).await?;
    conn.execute(
        "UPDATE ical_feeds SET last_attempt_at = ?2, last_success_at = ?2, last_error = NULL, etag = ?3, last_modified = ?4, \
         events = ?5 WHERE id = ?1",
        &[
            Value::Integer(feed.id),
            ts(now).into(),
            etag.into(),
            last_modified.into(),
            Value::Integer(parsed.events.len() as i64),
        ],
    )
    .await
    .map_err(ApiError::from)?;
    tracing::info!(
        feed_id = feed.id,
        added = report.added,
        moved = report.moved,
        released = report.released,
        conflicts = report.conflicts,
        "calendar feed synced"
    );
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(environment: &'static str) -> Config {
        Config::from_lookup(move |name| match name {
            "ENVIRONMENT" => Some(environment.into()),
            "JWT_SECRET" => Some("x".repeat(40)),
            "ADMIN_PASSWORD_HASH" => Some("hash".into()),
            "JOBS_TOKEN" => Some("token".into()),
            _ => None,
        })
        .unwrap()
    }

    #[test]
    fn development_allows_any_http_url() {
        let dev = config("development");
        assert!(check_feed_url(&dev, "http://127.0.0.1:8080/feed.ics").is_ok());
        assert!(check_feed_url(&dev, "https://www.airbnb.com/calendar/ical/1.ics?s=abc").is_ok());
        assert!(check_feed_url(&dev, "ftp://example.com/feed.ics").is_err());
        assert!(check_feed_url(&dev, "not a url").is_err());
    }

    #[test]
    fn production_allows_only_public_https() {
        let prod = config("production");
        for good in [
            "https://www.airbnb.com/calendar/ical/123.ics?s=abc",
            "https://admin.booking.com/hotel/hoteladmin/ical.html?t=x",
            "https://8.8.8.8/feed.ics",
            "https://[2606:4700::1111]/feed.ics",
        ] {
            assert!(check_feed_url(&prod, good).is_ok(), "{good}");
        }
        for bad in [
            "http://www.airbnb.com/calendar.ics",
            "https://localhost/feed.ics",
            "https://api.localhost/feed.ics",
            "https://intranet/feed.ics",
            "https://nas.local/feed.ics",
            "https://127.0.0.1/feed.ics",
            "https://2130706433/feed.ics",
            "https://0x7f.1/feed.ics",
            "https://10.1.2.3/feed.ics",
            "https://172.16.0.1/feed.ics",
            "https://192.168.1.1/feed.ics",
            "https://169.254.169.254/latest/meta-data",
            "https://100.64.0.1/feed.ics",
            "https://0.0.0.0/feed.ics",
            "https://[::1]/feed.ics",
            "https://[fd00::1]/feed.ics",
            "https://[fe80::1]/feed.ics",
            "https://[::ffff:127.0.0.1]/feed.ics",
            "https://user:pass@example.com/feed.ics",
        ] {
            assert!(check_feed_url(&prod, bad).is_err(), "{bad}");
        }
    }
}
