//! The admin's reservation listing, its CSV export and the single admin view. One filter
//! parser and one SQL builder serve all three, so the export is exactly what the listing
//! shows.

use crate::booking::{parse_code, reservation_view};
use crate::error::{ApiError, ApiResult};
use crate::paging::Page;
use crate::ports::{Conn, DbError, Row, Value};
use crate::store::{self, ts, Reservation};
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use reservas_domain::stay::{argentina_offset, parse_date};
use reservas_domain::{csv, Channel, Status};
use serde_json::{json, Value as Json};

/// The most rows one export carries. An export is built in memory (the app's `Response`
/// holds its body whole), so it is bounded; a small owner has far fewer reservations.
pub const MAX_EXPORT_ROWS: i64 = 20_000;

/// The longest free-text search accepted.
const MAX_QUERY_CHARS: usize = 200;

/// Sortable columns, by their name in the API.
const SORTS: &[(&str, &str)] = &[
    ("created_at", "r.created_at"),
    ("check_in", "r.check_in"),
    ("check_out", "r.check_out"),
    ("status", "r.status"),
    ("total_price", "r.total_cents"),
    ("code", "r.code"),
    ("contact_name", "r.contact_name"),
    ("accommodation_id", "r.accommodation_id"),
];

/// What the admin asked to see. Every field narrows the result.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filters {
    statuses: Vec<Status>,
    accommodation_id: Option<i64>,
    channels: Vec<String>,
    /// Stays with at least one night in `[stay_from, stay_to]` (both inclusive).
    stay_from: Option<NaiveDate>,
    stay_to: Option<NaiveDate>,
    /// Created at or after / before (RFC 3339 text, comparable as text).
    created_from: Option<String>,
    created_before: Option<String>,
    q: Option<String>,
    sort_column: &'static str,
    descending: bool,
}

fn list_of(value: &str) -> impl Iterator<Item = &str> {
    value.split(',').map(str::trim).filter(|v| !v.is_empty())
}

/// A created-range bound: a date is a whole day in Argentina; an RFC 3339 instant is exact.
/// `end` turns a date into the start of the next day (so the day is included).
fn created_bound(name: &str, value: &str, end: bool) -> ApiResult<String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(value) {
        return Ok(ts(t.with_timezone(&Utc)));
    }
    let date = parse_date(value)
        .map_err(|_| ApiError::InvalidDates(format!("{name} must be a date (YYYY-MM-DD) or an RFC 3339 time")))?;
    let day = if end { date.succ_opt().unwrap_or(date) } else { date };
    let start = day
        .and_time(NaiveTime::MIN)
        .and_local_timezone(argentina_offset())
        .single()
        .ok_or_else(|| ApiError::InvalidDates(format!("{name} is out of range")))?;
    Ok(ts(start.with_timezone(&Utc)))
}

impl Filters {
    pub fn parse(query: &[(String, String)]) -> ApiResult<Filters> {
        let get = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.trim()).filter(|v| !v.is_empty());
        let mut filters = Filters { sort_column: "r.created_at", descending: true, ..Filters::default() };
        if let Some(statuses) = get("status") {
            for s in list_of(statuses) {
                filters.statuses.push(Status::parse(s).ok_or_else(|| {
                    ApiError::Validation(format!(
                        "status must be among pre_reserved, confirmed, cancelled, expired, blocked; got {s:?}"
                    ))
                })?);
            }
        }
        if let Some(id) = get("accommodation_id") {
            filters.accommodation_id = Some(
                id.parse::<i64>()
                    .ok()
                    .filter(|i| *i > 0)
                    .ok_or_else(|| ApiError::Validation("accommodation_id must be a positive integer".into()))?,
            );
        }
        if let Some(channels) = get("channel") {
            for c in list_of(channels) {
                let channel = Channel::parse_stored(c).ok_or_else(|| {
                    ApiError::Validation(format!(
                        "channel must be among whatsapp, web, admin, email, phone, ical; got {c:?}"
                    ))
                })?;
                filters.channels.push(channel.as_str().to_owned());
            }
        }
        let date = |name: &str| -> ApiResult<Option<NaiveDate>> {
            get(name)
                .map(|v| {
                    parse_date(v).map_err(|_| ApiError::InvalidDates(format!("{name} must be a date (YYYY-MM-DD)")))
                })
                .transpose()
        };
        filters.stay_from = date("stay_from")?.or(date("from")?);
        filters.stay_to = date("stay_to")?.or(date("to")?);
        if let (Some(from), Some(to)) = (filters.stay_from, filters.stay_to) {
            if to < from {
                return Err(ApiError::InvalidDates("stay_to must not be before stay_from".into()));
            }
        }
        filters.created_from = get("created_from").map(|v| created_bound("created_from", v, false)).transpose()?;
        filters.created_before = get("created_to").map(|v| created_bound("created_to", v, true)).transpose()?;
        if let Some(q) = get("q") {
            if q.chars().count() > MAX_QUERY_CHARS {
                return Err(ApiError::Validation(format!("q is longer than {MAX_QUERY_CHARS} characters")));
            }
            filters.q = Some(q.to_owned());
        }
        if let Some(sort) = get("sort") {
            let (name, descending) = match sort.strip_prefix('-') {
                Some(name) => (name, true),
                None => (sort.strip_prefix('+').unwrap_or(sort), false),
            };
            filters.sort_column = SORTS.iter().find(|(n, _)| *n == name).map(|(_, c)| *c).ok_or_else(|| {
                let names: Vec<&str> = SORTS.iter().map(|(n, _)| *n).collect();
                ApiError::Validation(format!("sort must be one of {} (prefix - for descending)", names.join(", ")))
            })?;
            filters.descending = descending;
        }
        Ok(filters)
    }

    /// The WHERE clause (positional `?` parameters) and its parameters. Statuses are judged at
    /// `now`: a hold past its expiry is `expired` even before a job has marked it.
    fn where_clause(&self, now: DateTime<Utc>) -> (String, Vec<Value>) {
        let mut clauses: Vec<String> = Vec::new();
        let mut params: Vec<Value> = Vec::new();
        if !self.statuses.is_empty() {
            let mut any = Vec::new();
            for status in &self.statuses {
                match status {
                    Status::PreReserved => {
                        any.push("(r.status = 'pre_reserved' AND r.expires_at > ?)".to_owned());
                        params.push(ts(now).into());
                    }
                    Status::Expired => {
                        any.push(
                            "(r.status = 'expired' OR (r.status = 'pre_reserved' AND r.expires_at <= ?))".to_owned(),
                        );
                        params.push(ts(now).into());
                    }
                    other => {
                        any.push("r.status = ?".to_owned());
                        params.push(other.as_str().into());
                    }
                }
            }
            clauses.push(format!("({})", any.join(" OR ")));
        }
        if let Some(id) = self.accommodation_id {
            clauses.push("r.accommodation_id = ?".into());
            params.push(Value::Integer(id));
        }
        if !self.channels.is_empty() {
            clauses.push(format!("r.channel IN ({})", vec!["?"; self.channels.len()].join(", ")));
            params.extend(self.channels.iter().map(|c| Value::from(c.as_str())));
        }
        if let Some(from) = self.stay_from {
            clauses.push("r.check_out > ?".into());
            params.push(from.to_string().into());
        }
        if let Some(to) = self.stay_to {
            clauses.push("r.check_in <= ?".into());
            params.push(to.to_string().into());
        }
        if let Some(from) = &self.created_from {
            clauses.push("r.created_at >= ?".into());
            params.push(from.as_str().into());
        }
        if let Some(before) = &self.created_before {
            clauses.push("r.created_at < ?".into());
            params.push(before.as_str().into());
        }
        if let Some(q) = &self.q {
            let pattern = format!("%{}%", escape_like(q));
            let mut any = ["r.contact_name", "r.contact_email", "r.contact_phone", "r.code"]
                .iter()
                .map(|column| format!("{column} LIKE ? ESCAPE '\\'"))
                .collect::<Vec<_>>();
            params.extend(std::iter::repeat_n(Value::from(pattern), any.len()));
            // Phones are stored as `+` and digits: "11 2233-4455" finds "+5491122334455".
            if let Some(digits) = phone_digits(q) {
                any.push("r.contact_phone LIKE ?".into());
                params.push(format!("%{digits}%").into());
            }
            clauses.push(format!("({})", any.join(" OR ")));
        }
        let clause = if clauses.is_empty() { String::new() } else { format!("WHERE {}", clauses.join(" AND ")) };
        (clause, params)
    }

    fn order_by(&self) -> String {
        let direction = if self.descending { "DESC" } else { "ASC" };
        format!("ORDER BY {} {direction}, r.id {direction}", self.sort_column)
    }
}

/// Escapes `%`, `_` and the escape character itself for `LIKE ... ESCAPE '\'`.
fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The digits of a search that looks like a phone number (digits and the separators people
/// type), when there are enough of them to mean something.
fn phone_digits(q: &str) -> Option<String> {
    let looks_like_phone = q.chars().all(|c| c.is_ascii_digit() || " +-.()".contains(c));
    let digits: String = q.chars().filter(char::is_ascii_digit).collect();
    (looks_like_phone && digits.len() >= 3 && digits != q).then_some(digits)
}

/// A reservation as the admin sees it: the reservation, its cabin's name, whether one of its
/// messages became a dead letter.
pub struct AdminRow {
    pub reservation: Reservation,
    pub accommodation_name: Option<String>,
    pub email_failed: bool,
}

const ADMIN_COLUMNS: &str = "r.id, r.code, r.accommodation_id, r.check_in, r.check_out, r.guests, r.channel, \
     r.status, r.contact_name, r.contact_phone, r.contact_email, r.total_cents, r.deposit_cents, r.created_at, \
     r.expires_at, r.confirmed_at, r.cancelled_at, a.name, \
     EXISTS (SELECT 1 FROM outbox o WHERE o.reservation_id = r.id AND o.status = 'dead' AND NOT EXISTS \
     (SELECT 1 FROM outbox s WHERE s.reservation_id = r.id AND s.kind = o.kind AND s.status = 'sent' AND s.id > o.id))";

const ADMIN_FROM: &str = "FROM reservations r LEFT JOIN accommodations a ON a.id = r.accommodation_id";

fn admin_row(row: &Row) -> Result<AdminRow, DbError> {
    Ok(AdminRow {
        reservation: store::reservation_from_row(row)?,
        accommodation_name: row.opt_text(17)?,
        email_failed: row.int(18)? != 0,
    })
}

/// The reservation's flags: what the payments record about it (refunds, chargebacks, ...)
/// and what the back office knows (a message that could not be delivered).
async fn flags<C: Conn>(conn: &C, row: &AdminRow) -> ApiResult<Vec<String>> {
    let mut flags = crate::payments::flags_of(conn, row.reservation.id).await?;
    if row.email_failed {
        flags.push("email_failed".to_owned());
    }
    flags.sort();
    flags.dedup();
    Ok(flags)
}

fn admin_view(row: &AdminRow, flags: Vec<String>, now: DateTime<Utc>) -> Json {
    let mut view = reservation_view(&row.reservation, now, true);
    view["accommodation_name"] = json!(row.accommodation_name);
    view["flags"] = json!(flags);
    view
}

async fn select<C: Conn>(
    conn: &C,
    filters: &Filters,
    now: DateTime<Utc>,
    limit: i64,
    offset: i64,
) -> ApiResult<Vec<AdminRow>> {
    let (clause, mut params) = filters.where_clause(now);
    params.push(Value::Integer(limit));
    params.push(Value::Integer(offset));
    let sql = format!("SELECT {ADMIN_COLUMNS} {ADMIN_FROM} {clause} {} LIMIT ? OFFSET ?", filters.order_by());
    Ok(conn.query(&sql, &params).await?.iter().map(admin_row).collect::<Result<_, _>>()?)
}

async fn count<C: Conn>(conn: &C, filters: &Filters, now: DateTime<Utc>) -> ApiResult<i64> {
    let (clause, params) = filters.where_clause(now);
    let rows = conn.query(&format!("SELECT count(*) FROM reservations r {clause}"), &params).await?;
    Ok(rows.first().map(|r| r.int(0)).transpose()?.unwrap_or(0))
}

/// `GET /admin/reservations`: one page of the filtered, sorted reservations and the total.
pub async fn list<C: Conn>(conn: &C, query: &[(String, String)], now: DateTime<Utc>) -> ApiResult<Json> {
    let filters = Filters::parse(query)?;
    let page = Page::parse(query)?;
    let total = count(conn, &filters, now).await?;
    let rows = select(conn, &filters, now, page.limit, page.offset).await?;
    let mut items = Vec::with_capacity(rows.len());
    for row in &rows {
        items.push(admin_view(row, flags(conn, row).await?, now));
    }
    Ok(page.respond(items, total))
}

/// `GET /admin/reservations/{code}`: the admin view of one reservation, with its messages.
pub async fn get<C: Conn>(conn: &C, code: &str, now: DateTime<Utc>) -> ApiResult<Json> {
    let code = parse_code(code)?;
    let rows =
        conn.query(&format!("SELECT {ADMIN_COLUMNS} {ADMIN_FROM} WHERE r.code = ?1"), &[code.as_str().into()]).await?;
    let row =
        rows.first().map(admin_row).transpose()?.ok_or_else(|| ApiError::NotFound("reservation not found".into()))?;
    let mut view = admin_view(&row, flags(conn, &row).await?, now);
    view["messages"] = Json::Array(super::outbox::messages_of(conn, row.reservation.id).await?);
    Ok(view)
}

/// The export's columns, in order.
pub const CSV_HEADER: &[&str] = &[
    "code",
    "status",
    "accommodation_id",
    "accommodation_name",
    "check_in",
    "check_out",
    "nights",
    "guests",
    "channel",
    "contact_name",
    "contact_phone",
    "contact_email",
    "total_price",
    "deposit_amount",
    "created_at",
    "expires_at",
    "confirmed_at",
    "cancelled_at",
    "flags",
];

/// `GET /admin/reservations/export.csv`: every reservation the same filters select, as
/// RFC 4180 CSV (UTF-8, header row, CRLF), every cell neutralised against formula injection.
/// Built whole in one buffer sized up front; past [`MAX_EXPORT_ROWS`] it asks for narrower
/// filters rather than cut the file silently.
pub async fn export_csv<C: Conn>(conn: &C, query: &[(String, String)], now: DateTime<Utc>) -> ApiResult<String> {
    let filters = Filters::parse(query)?;
    let rows = select(conn, &filters, now, MAX_EXPORT_ROWS + 1, 0).await?;
    if rows.len() as i64 > MAX_EXPORT_ROWS {
        return Err(ApiError::Validation(format!(
            "the export is limited to {MAX_EXPORT_ROWS} reservations; narrow the filters (for example a date range)"
        )));
    }
    let mut out = String::with_capacity(256 * (rows.len() + 1));
    csv::push_record(&mut out, CSV_HEADER);
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    for row in &rows {
        let r = &row.reservation;
        let record = [
            r.code.clone(),
            r.status_at(now).as_str().to_owned(),
            r.accommodation_id.to_string(),
            text(&row.accommodation_name),
            r.stay.check_in().to_string(),
            r.stay.check_out().to_string(),
            r.stay.nights().to_string(),
            r.guests.to_string(),
            r.channel.clone(),
            text(&r.contact_name),
            text(&r.contact_phone),
            text(&r.contact_email),
            r.total.to_string(),
            r.deposit.to_string(),
            r.created_at.clone(),
            r.expires_at.map(ts).unwrap_or_default(),
            text(&r.confirmed_at),
            text(&r.cancelled_at),
            flags(conn, row).await?.join(" "),
        ];
        csv::push_record(&mut out, &record);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
    }

    #[test]
    fn no_filters_sort_newest_first() {
        let f = Filters::parse(&q(&[])).unwrap();
        assert_eq!(f.where_clause(Utc::now()).0, "");
        assert_eq!(f.order_by(), "ORDER BY r.created_at DESC, r.id DESC");
    }

    #[test]
    fn bad_filters_are_refused() {
        assert!(Filters::parse(&q(&[("status", "lost")])).is_err());
        assert!(Filters::parse(&q(&[("channel", "fax")])).is_err());
        assert!(Filters::parse(&q(&[("accommodation_id", "x")])).is_err());
        assert!(Filters::parse(&q(&[("stay_from", "2027-02-30")])).is_err());
        assert!(Filters::parse(&q(&[("stay_from", "2027-03-10"), ("stay_to", "2027-03-01")])).is_err());
        assert!(Filters::parse(&q(&[("sort", "password")])).is_err());
        assert!(Filters::parse(&q(&[("created_from", "yesterday")])).is_err());
    }

    #[test]
    fn sorting_takes_a_known_column_and_a_direction() {
        let f = Filters::parse(&q(&[("sort", "check_in")])).unwrap();
        assert_eq!(f.order_by(), "ORDER BY r.check_in ASC, r.id ASC");
        let f = Filters::parse(&q(&[("sort", "-total_price")])).unwrap();
        assert_eq!(f.order_by(), "ORDER BY r.total_cents DESC, r.id DESC");
    }

    #[test]
    fn a_created_date_is_a_whole_argentine_day() {
        assert_eq!(created_bound("x", "2027-03-05", false).unwrap(), "2027-03-05T03:00:00.000Z");
        assert_eq!(created_bound("x", "2027-03-05", true).unwrap(), "2027-03-06T03:00:00.000Z");
        assert_eq!(created_bound("x", "2027-03-05T10:00:00-03:00", false).unwrap(), "2027-03-05T13:00:00.000Z");
    }

    #[test]
    fn parameters_match_placeholders() {
        let f = Filters::parse(&q(&[
            ("status", "pre_reserved,expired,confirmed"),
            ("channel", "web,whatsapp"),
            ("accommodation_id", "3"),
            ("stay_from", "2027-03-01"),
            ("stay_to", "2027-03-31"),
            ("created_from", "2027-01-01"),
            ("created_to", "2027-01-31"),
            ("q", "11 2233-4455"),
        ]))
        .unwrap();
        let (clause, params) = f.where_clause(Utc::now());
        assert_eq!(clause.matches('?').count(), params.len());
    }

    #[test]
    fn like_wildcards_in_searches_are_literal() {
        assert_eq!(escape_like("50%_a\\b"), "50\\%\\_a\\\\b");
        assert_eq!(phone_digits("11 2233-4455").as_deref(), Some("1122334455"));
        assert_eq!(phone_digits("1122334455"), None);
        assert_eq!(phone_digits("ana"), None);
    }
}
