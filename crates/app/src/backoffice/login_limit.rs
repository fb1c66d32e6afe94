//! Admin login rate limits, per email and per client, over a sliding 15-minute window kept in
//! the database (so every instance and every Spin component sees the same counts).
//!
//! An attempt is recorded *before* the credentials are checked, inside the same
//! `BEGIN IMMEDIATE` transaction that counts the window: a burst of concurrent guesses cannot
//! all squeeze in under the limit. A successful login deletes its own record, so only
//! failures stay. The limits apply to known and unknown emails alike and the 429 reads the
//! same for both, so the limit reveals nothing about which emails exist.

use crate::config::Config;
use crate::error::{ApiError, ApiResult};
use crate::http::Request;
use crate::ports::{Conn, Value};
use crate::store::{self, ts};
use chrono::{DateTime, Duration, Utc};
use reservas_domain::metrics as m;
use reservas_domain::secret::{hex, hmac_sha256};
use std::net::IpAddr;

/// The window the limits count over.
pub fn window() -> Duration {
    Duration::minutes(15)
}

/// Reads one `X-Forwarded-For` hop: an address, possibly with a port (`1.2.3.4:80`,
/// `[::1]:80`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim().trim_matches('"');
    if let Ok(ip) = hop.parse() {
        return Some(ip);
    }
    if let Some(rest) = hop.strip_prefix('[') {
        return rest.split_once(']').and_then(|(ip, _)| ip.parse().ok());
    }
    hop.rsplit_once(':').and_then(|(ip, port)| port.parse::<u16>().ok().and(ip.parse().ok()))
}

/// The client behind a request: the socket peer, unless the peer is a trusted proxy; then
/// the `X-Forwarded-For` chain is read from the right (each proxy appends who connected to
/// it), skipping trusted proxies, and the first address not trusted is the client. Hops left
/// of it were written by the client itself and are ignored.
pub fn client_of(req: &Request, trusted: &[IpAddr]) -> Option<IpAddr> {
    let peer = req.peer?;
    if !trusted.contains(&peer) {
        return Some(peer);
    }
    let hops: Vec<&str> = req
        .headers
        .iter()
        .filter(|(name, _)| name.eq_ignore_ascii_case("x-forwarded-for"))
        .flat_map(|(_, value)| value.split(','))
        .collect();
    let mut nearest = peer;
    for hop in hops.iter().rev() {
        match parse_hop(hop) {
            Some(ip) if trusted.contains(&ip) => nearest = ip,
            Some(ip) => return Some(ip),
            // A trusted proxy never writes garbage: the client did. The nearest address we
            // can vouch for stands in for it.
            None => return Some(nearest),
        }
    }
    Some(nearest)
}

fn key(config: &Config, scope: &str, value: &str) -> String {
    hex(&hmac_sha256(config.jwt_secret.as_bytes(), format!("login:{scope}:{value}").as_bytes()))
}

/// An attempt that counts against the limits until [`succeeded`] clears it.
#[derive(Debug)]
pub struct Attempt(i64);

/// Records an attempt for `email` from `client`, or refuses it with `rate_limited` when the
/// email or the client already has its allowance of failures in the window. A refused
/// attempt is not recorded (the window ends on time).
pub async fn begin<C: Conn>(
    conn: &C,
    config: &Config,
    email: &str,
    client: Option<IpAddr>,
    now: DateTime<Utc>,
) -> ApiResult<Attempt> {
    let email_key = key(config, "email", email);
    let client_key = key(config, "client", &client.map_or_else(|| "unknown".to_owned(), |ip| ip.to_string()));
    let since = ts(now - window());
    let recorded = store::transaction(conn, async {
        let counts = conn
            .query(
                "SELECT (SELECT count(*) FROM login_failures WHERE email_key = ?1 AND at > ?3), \
                 (SELECT count(*) FROM login_failures WHERE client_key = ?2 AND at > ?3)",
                &[email_key.as_str().into(), client_key.as_str().into(), since.as_str().into()],
            )
            .await?;
        let row = counts.first().ok_or_else(|| anyhow::anyhow!("no count row"))?;
        let (by_email, by_client) = (row.int(0)?, row.int(1)?);
        if by_email >= i64::from(config.login_max_failures_per_email)
            || by_client >= i64::from(config.login_max_failures_per_client)
        {
            store::bump(conn, m::ADMIN_LOGIN_RATE_LIMITED, "", 1).await?;
            return Ok(None);
        }
        let rows = conn
            .query(
                "INSERT INTO login_failures (email_key, client_key, at) VALUES (?1, ?2, ?3) RETURNING id",
                &[email_key.as_str().into(), client_key.as_str().into(), ts(now).into()],
            )
            .await?;
        Ok(Some(rows.first().ok_or_else(|| anyhow::anyhow!("insert returned no id"))?.int(0)?))
    })
    .await?;
    recorded.map(Attempt).ok_or(ApiError::RateLimited)
}

/// The attempt succeeded: it no longer counts.
pub async fn succeeded<C: Conn>(conn: &C, attempt: Attempt) -> ApiResult<()> {
    conn.execute("DELETE FROM login_failures WHERE id = ?1", &[Value::Integer(attempt.0)]).await?;
    Ok(())
}

/// Forgets failures older than the window. Run by the periodic tick.
pub async fn prune<C: Conn>(conn: &C, now: DateTime<Utc>) -> ApiResult<u64> {
    Ok(conn.execute("DELETE FROM login_failures WHERE at <= ?1", &[ts(now - window()).into()]).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(peer: &str, forwarded: &[&str]) -> Request {
        Request {
            peer: Some(peer.parse().unwrap()),
            headers: forwarded.iter().map(|v| ("x-forwarded-for".to_owned(), (*v).to_owned())).collect(),
            ..Request::default()
        }
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn the_peer_is_the_client_unless_it_is_a_trusted_proxy() {
        let req = request("203.0.113.9", &["198.51.100.1"]);
        assert_eq!(client_of(&req, &[]), Some(ip("203.0.113.9")));
        assert_eq!(client_of(&req, &[ip("10.0.0.1")]), Some(ip("203.0.113.9")));
    }

    #[test]
    fn behind_trusted_proxies_the_last_untrusted_hop_is_the_client() {
        let trusted = [ip("10.0.0.1"), ip("10.0.0.2")];
        // The client forged "1.1.1.1"; the first proxy appended the real address.
        let req = request("10.0.0.1", &["1.1.1.1, 198.51.100.7", "10.0.0.2"]);
        assert_eq!(client_of(&req, &trusted), Some(ip("198.51.100.7")));
    }

    #[test]
    fn hops_with_ports_and_garbage() {
        let trusted = [ip("10.0.0.1")];
        assert_eq!(client_of(&request("10.0.0.1", &["198.51.100.7:4711"]), &trusted), Some(ip("198.51.100.7")));
        assert_eq!(client_of(&request("10.0.0.1", &["[2001:db8::1]:443"]), &trusted), Some(ip("2001:db8::1")));
        assert_eq!(client_of(&request("10.0.0.1", &["not-an-ip"]), &trusted), Some(ip("10.0.0.1")));
        assert_eq!(client_of(&request("10.0.0.1", &[]), &trusted), Some(ip("10.0.0.1")));
    }
}
