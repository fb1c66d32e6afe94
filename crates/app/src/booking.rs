//! Booking use cases: quote, availability, hold, confirm, cancel, look up.

use crate::error::{ApiError, ApiResult};
use crate::input::{check_text, parse_email, parse_phone, JsonBody};
use crate::lock::{self, Acquired};
use crate::notify;
use crate::ports::{Conn, Db, Env};
use crate::store::{self, ts, Accommodation, NewHold, Reservation};
use chrono::{DateTime, NaiveDate, Utc};
use reservas_domain::metrics as m;
use reservas_domain::outbox::MessageKind;
use reservas_domain::reservation::lock_key;
use reservas_domain::stay::{add_days, parse_date, today_in_argentina};
use reservas_domain::{Channel, Quote, ReservationCode, Status, Stay};
use serde_json::{json, Value};

/// The longest window availability answers for at once.
const MAX_AVAILABILITY_DAYS: i64 = 366;

fn parse_stay<E: Env>(env: &E, check_in: &str, check_out: &str) -> ApiResult<Stay> {
    let today = today_in_argentina(env.clock().now());
    Ok(Stay::parse(check_in, check_out, today, env.config().max_nights)?)
}

fn check_guests(guests: i64, accommodation: &Accommodation) -> ApiResult<()> {
    if guests < 1 {
        return Err(ApiError::InvalidGuests("guests must be at least 1".into()));
    }
    if guests > accommodation.capacity {
        return Err(ApiError::InvalidGuests(format!("this accommodation sleeps at most {}", accommodation.capacity)));
    }
    Ok(())
}

/// Guests from JSON: a number that is not a positive whole number is `invalid_guests`; any
/// other type is a `validation_error`.
fn guests_from_json(value: Option<&Value>) -> ApiResult<i64> {
    match value {
        None => Err(ApiError::Validation("guests is required".into())),
        Some(Value::Number(n)) => match n.as_i64() {
            Some(g) if g >= 1 => Ok(g),
            _ => Err(ApiError::InvalidGuests("guests must be a whole number of at least 1".into())),
        },
        Some(_) => Err(ApiError::Validation("guests must be a number".into())),
    }
}

fn guests_from_query(value: Option<String>) -> ApiResult<i64> {
    let value = value.ok_or_else(|| ApiError::Validation("guests is required".into()))?;
    value
        .trim()
        .parse::<i64>()
        .map_err(|_| ApiError::InvalidGuests("guests must be a whole number of at least 1".into()))
}

fn quote_json(accommodation_id: i64, stay: &Stay, guests: i64, quote: &Quote) -> Value {
    json!({
        "accommodation_id": accommodation_id,
        "check_in": stay.check_in(),
        "check_out": stay.check_out(),
        "guests": guests,
        "nights": quote.nights,
        "nightly": quote.nightly,
        "total_price": quote.total_price,
        "deposit_amount": quote.deposit_amount,
    })
}

pub fn parse_accommodation_id(text: &str) -> ApiResult<i64> {
    text.parse::<i64>().ok().filter(|id| *id > 0).ok_or(ApiError::AccommodationNotFound)
}

pub async fn quote<E: Env>(env: &E, accommodation_id: &str, query: &[(String, String)]) -> ApiResult<Value> {
    let get = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let check_in = get("check_in").ok_or_else(|| ApiError::Validation("check_in is required".into()))?;
    let check_out = get("check_out").ok_or_else(|| ApiError::Validation("check_out is required".into()))?;
    let stay = parse_stay(env, &check_in, &check_out)?;
    let guests = guests_from_query(get("guests"))?;
    let id = parse_accommodation_id(accommodation_id)?;
    let conn = env.db().connect().await?;
    let accommodation = store::bookable_accommodation(&conn, id).await?;
    check_guests(guests, &accommodation)?;
    let now = env.clock().now();
    if !store::taken_nights(&conn, id, stay.check_in(), stay.check_out(), now).await?.is_empty() {
        return Err(ApiError::DateOverlap);
    }
    Ok(quote_json(id, &stay, guests, &accommodation.rates.quote(&stay)))
}

pub async fn availability<E: Env>(env: &E, accommodation_id: &str, query: &[(String, String)]) -> ApiResult<Value> {
    let get = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let from = parse_date(&get("from").ok_or_else(|| ApiError::Validation("from is required".into()))?)?;
    let to = parse_date(&get("to").ok_or_else(|| ApiError::Validation("to is required".into()))?)?;
    if to <= from {
        return Err(ApiError::InvalidDates("to must be after from".into()));
    }
    if (to - from).num_days() > MAX_AVAILABILITY_DAYS {
        return Err(ApiError::InvalidDates(format!("ask for at most {MAX_AVAILABILITY_DAYS} days at a time")));
    }
    let id = parse_accommodation_id(accommodation_id)?;
    let conn = env.db().connect().await?;
    store::bookable_accommodation(&conn, id).await?;
    let taken = store::taken_nights(&conn, id, from, to, env.clock().now()).await?;
    let free: Vec<NaiveDate> = (0..(to - from).num_days() as u64)
        .map(|i| add_days(from, i))
        .filter(|d| taken.binary_search(d).is_err())
        .collect();
    Ok(json!({ "accommodation_id": id, "from": from, "to": to, "taken": taken, "free": free }))
}

/// A hold to create, already parsed (the JSON body of pre-reserve, or the WhatsApp
/// conversation).
pub struct HoldRequest {
    pub accommodation_id: i64,
    pub stay: Stay,
    pub guests: i64,
    pub channel: Channel,
    pub contact_name: String,
    pub contact_phone: String,
    pub contact_email: Option<String>,
}

fn parse_hold_request<E: Env>(env: &E, body: &[u8]) -> ApiResult<HoldRequest> {
    let body = JsonBody::parse(body)?;
    let accommodation_id = body.id("accommodation_id")?;
    let check_in = body.required_str("check_in")?;
    let check_out = body.required_str("check_out")?;
    let channel_text = body.required_str("channel")?;
    let channel = Channel::parse_client(channel_text)
        .ok_or_else(|| ApiError::Validation("channel must be one of whatsapp, web, admin, email, phone".into()))?;
    let contact_name = body.text("contact_name", 200)?;
    let contact_phone = parse_phone(body.required_str("contact_phone")?)?;
    let contact_email = body.optional_str("contact_email")?.map(parse_email).transpose()?;
    let guests = guests_from_json(body.raw("guests"))?;
    check_text("contact_name", &contact_name, 200)?;
    let stay = parse_stay(env, check_in, check_out)?;
    Ok(HoldRequest { accommodation_id, stay, guests, channel, contact_name, contact_phone, contact_email })
}

/// Creates a hold. The order matters: validate, take the key-value lock (sheds duplicates),
/// then one `BEGIN IMMEDIATE` transaction frees overdue holds on these nights, checks overlap,
/// inserts the reservation and claims its nights, and counts it.
pub async fn pre_reserve<E: Env>(env: &E, body: &[u8]) -> ApiResult<Value> {
    hold(env, parse_hold_request(env, body)?).await
}

/// Creates the hold `request` describes (see [`pre_reserve`]); answers pre-reserve's body.
pub async fn hold<E: Env>(env: &E, request: HoldRequest) -> ApiResult<Value> {
    let conn = env.db().connect().await?;
    let accommodation = store::bookable_accommodation(&conn, request.accommodation_id).await?;
    check_guests(request.guests, &accommodation)?;
    let quote = accommodation.rates.quote(&request.stay);
    let now = env.clock().now();
    let expires_at = now + env.config().hold;
    let code = crate::random::reservation_code();
    let channel_label = store::channel_label(request.channel);

    let key = lock_key(accommodation.id, request.stay.check_in(), request.stay.check_out());
    let held = match lock::acquire(env.kv(), env.clock(), key, store::lock_value(expires_at, code.as_str()), expires_at)
        .await
    {
        Acquired::Busy => {
            store::bump(&conn, m::RESERVATIONS_LOCK_FAILED, &channel_label, 1).await?;
            return Err(ApiError::ProcessingOrUnavailable);
        }
        Acquired::Held { key, value } => Some((key, value)),
        Acquired::Unavailable => None,
    };

    let hold = NewHold {
        code: &code,
        accommodation_id: accommodation.id,
        stay: &request.stay,
        guests: request.guests,
        channel: request.channel,
        contact_name: &request.contact_name,
        contact_phone: &request.contact_phone,
        contact_email: request.contact_email.as_deref(),
        total: quote.total_price,
        deposit: quote.deposit_amount,
        expires_at,
    };
    let outcome = store::transaction(&conn, async {
        let freed = store::expire_overdue(&conn, now, Some((accommodation.id, &request.stay)), i64::MAX).await?;
        if store::any_night_taken(&conn, accommodation.id, &request.stay).await? {
            return Err(ApiError::DateOverlap);
        }
        let id = store::insert_hold(&conn, &hold, now).await?;
        store::bump(&conn, m::RESERVATIONS_CREATED, &channel_label, 1).await?;
        notify::queue(&conn, id, MessageKind::HoldCreated, now).await?;
        Ok(freed)
    })
    .await;

    match outcome {
        Ok(freed) => {
            release_expired_locks(env, &freed).await;
            tracing::info!(code = %code, accommodation_id = accommodation.id, channel = request.channel.as_str(), "hold created");
            // After the commit: a slow or failing Mercado Pago costs the link, never the hold.
            let payment_url = crate::payments::attach_payment_link(env, &code).await;
            let mut body = json!({
                "code": code,
                "status": Status::PreReserved,
                "expires_at": ts(expires_at),
                "accommodation_id": accommodation.id,
                "check_in": request.stay.check_in(),
                "check_out": request.stay.check_out(),
                "guests": request.guests,
                "nights": quote.nights,
                "nightly": quote.nightly,
                "total_price": quote.total_price,
                "deposit_amount": quote.deposit_amount,
            });
            if let Some(url) = payment_url {
                body["payment_url"] = json!(url);
            }
            Ok(body)
        }
        Err(error) => {
            if let Some((key, value)) = &held {
                lock::release(env.kv(), key, value).await;
            }
            if matches!(error, ApiError::DateOverlap) {
                store::bump(&conn, m::RESERVATIONS_DATE_OVERLAP, &channel_label, 1).await?;
            }
            Err(error)
        }
    }
}

/// Releases the locks of holds that have just expired.
pub async fn release_expired_locks<E: Env>(env: &E, expired: &[store::ExpiredHold]) {
    for hold in expired {
        let key = lock_key(hold.accommodation_id, hold.stay.check_in(), hold.stay.check_out());
        lock::release(env.kv(), &key, &hold.lock_value).await;
    }
}

pub fn parse_code(text: &str) -> ApiResult<ReservationCode> {
    ReservationCode::parse(text).ok_or_else(|| ApiError::NotFound("reservation not found".into()))
}

/// Who confirmed a reservation: an admin, or an approved payment.
#[derive(Debug, Clone)]
pub enum ConfirmedBy {
    Admin(String),
    Payment(String),
}

impl ConfirmedBy {
    fn stored(&self) -> String {
        match self {
            ConfirmedBy::Admin(email) => format!("admin:{email}"),
            ConfirmedBy::Payment(id) => format!("payment:{id}"),
        }
    }

    fn source_label(&self) -> &'static str {
        match self {
            ConfirmedBy::Admin(_) => "source=admin",
            ConfirmedBy::Payment(_) => "source=payment",
        }
    }
}

/// What confirming a hold inside a transaction found.
pub enum ConfirmOutcome {
    Confirmed(Reservation),
    /// The hold had expired (this call recorded the expiry and freed its nights).
    Expired(Reservation),
}

/// The one conditional transition from a live hold to `confirmed`, for admins and payments
/// alike. Call inside a `BEGIN IMMEDIATE` transaction: concurrent confirms serialise on the
/// write lock and only the one that moves the row out of `pre_reserved` wins; the rest get
/// `invalid_state`.
pub async fn confirm_in_tx<C: Conn>(
    conn: &C,
    code: &ReservationCode,
    now: DateTime<Utc>,
    by: &ConfirmedBy,
) -> ApiResult<ConfirmOutcome> {
    let reservation =
        store::find_reservation(conn, code).await?.ok_or_else(|| ApiError::NotFound("reservation not found".into()))?;
    match reservation.status_at(now) {
        Status::PreReserved => {
            if !store::mark_confirmed(conn, reservation.id, now, &by.stored()).await? {
                return Err(ApiError::InvalidState("the reservation is no longer a live hold".into()));
            }
            store::bump(conn, m::RESERVATIONS_CONFIRMED, by.source_label(), 1).await?;
            notify::queue(conn, reservation.id, MessageKind::Confirmed, now).await?;
            Ok(ConfirmOutcome::Confirmed(reservation))
        }
        Status::Expired if reservation.status == Status::PreReserved => {
            // Record the expiry this request noticed, so it is counted once and its nights are
            // free at once.
            store::expire_overdue(conn, now, Some((reservation.accommodation_id, &reservation.stay)), i64::MAX).await?;
            Ok(ConfirmOutcome::Expired(reservation))
        }
        Status::Expired => Err(ApiError::Expired),
        other => Err(ApiError::InvalidState(format!("the reservation is {}", other.as_str()))),
    }
}

/// Confirms a live hold on an admin's word.
pub async fn confirm<E: Env>(env: &E, code: &str, by: ConfirmedBy) -> ApiResult<Value> {
    let code = parse_code(code)?;
    let conn = env.db().connect().await?;
    let now = env.clock().now();
    let outcome = store::transaction(&conn, confirm_in_tx(&conn, &code, now, &by)).await?;
    match outcome {
        ConfirmOutcome::Confirmed(r) => {
            tracing::info!(code = %r.code, "reservation confirmed");
            Ok(json!({ "code": r.code, "status": Status::Confirmed, "confirmed_at": ts(now) }))
        }
        ConfirmOutcome::Expired(r) => {
            release_lock_of(env, &r).await;
            Err(ApiError::Expired)
        }
    }
}

/// Releases the key-value lock a hold took, if it still holds it.
pub async fn release_lock_of<E: Env>(env: &E, r: &Reservation) {
    if let Some(value) = r.lock_value() {
        let key = lock_key(r.accommodation_id, r.stay.check_in(), r.stay.check_out());
        lock::release(env.kv(), &key, &value).await;
    }
}

/// Cancels a live hold (anyone with the code) or a confirmed stay (admins only); the nights
/// are freed in the same transaction.
pub async fn cancel<E: Env>(env: &E, code: &str, body: &[u8], is_admin: bool) -> ApiResult<Value> {
    let code = parse_code(code)?;
    let body = JsonBody::parse(body)?;
    let reason = body.optional_str("reason")?.map(str::trim).filter(|r| !r.is_empty()).map(str::to_owned);
    if let Some(r) = &reason {
        check_text("reason", r, 500)?;
    }
    let conn = env.db().connect().await?;
    let now = env.clock().now();
    let result = store::transaction(&conn, async {
        let reservation = store::find_reservation(&conn, &code)
            .await?
            .ok_or_else(|| ApiError::NotFound("reservation not found".into()))?;
        match reservation.status_at(now) {
            Status::PreReserved => {}
            Status::Confirmed if is_admin => {}
            Status::Confirmed => {
                return Err(ApiError::Unauthorized("cancelling a confirmed reservation needs an admin token".into()))
            }
            Status::Expired if reservation.status == Status::PreReserved => {
                store::expire_overdue(&conn, now, Some((reservation.accommodation_id, &reservation.stay)), i64::MAX)
                    .await?;
                return Ok(Err(reservation));
            }
            other => return Err(ApiError::InvalidState(format!("the reservation is {}", other.as_str()))),
        }
        if !store::mark_cancelled(&conn, reservation.id, now, reason.as_deref()).await? {
            return Err(ApiError::InvalidState("the reservation changed meanwhile".into()));
        }
        store::release_nights(&conn, reservation.id).await?;
        store::bump(&conn, m::RESERVATIONS_CANCELLED, "", 1).await?;
        notify::queue(&conn, reservation.id, MessageKind::Cancelled, now).await?;
        Ok(Ok(reservation))
    })
    .await?;
    match result {
        Ok(r) => {
            release_lock_of(env, &r).await;
            tracing::info!(code = %r.code, "reservation cancelled");
            Ok(json!({ "code": r.code, "status": Status::Cancelled, "cancelled_at": ts(now) }))
        }
        Err(expired) => {
            release_lock_of(env, &expired).await;
            Err(ApiError::InvalidState("the hold has already expired".into()))
        }
    }
}

/// The public view; contact details only for admins.
pub async fn get<E: Env>(env: &E, code: &str, is_admin: bool) -> ApiResult<Value> {
    let code = parse_code(code)?;
    let conn = env.db().connect().await?;
    let r = store::find_reservation(&conn, &code)
        .await?
        .ok_or_else(|| ApiError::NotFound("reservation not found".into()))?;
    Ok(reservation_view(&r, env.clock().now(), is_admin))
}

pub fn reservation_view(r: &Reservation, now: DateTime<Utc>, with_contact: bool) -> Value {
    let mut view = json!({
        "code": r.code,
        "status": r.status_at(now),
        "accommodation_id": r.accommodation_id,
        "check_in": r.stay.check_in(),
        "check_out": r.stay.check_out(),
        "nights": r.stay.nights(),
        "guests": r.guests,
        "channel": r.channel,
        "total_price": r.total,
        "deposit_amount": r.deposit,
        "created_at": r.created_at,
        "expires_at": r.expires_at.map(ts),
        "confirmed_at": r.confirmed_at,
        "cancelled_at": r.cancelled_at,
    });
    if with_contact {
        view["contact_name"] = json!(r.contact_name);
        view["contact_phone"] = json!(r.contact_phone);
        view["contact_email"] = json!(r.contact_email);
    }
    view
}

/// The periodic expiry: marks every overdue hold, in bounded batches so the write lock is
/// never held long.
pub async fn expire_holds<E: Env>(env: &E) -> ApiResult<usize> {
    const BATCH: i64 = 200;
    let conn = env.db().connect().await?;
    let mut total = 0;
    loop {
        let now = env.clock().now();
        let expired = store::transaction(&conn, store::expire_overdue(&conn, now, None, BATCH)).await?;
        release_expired_locks(env, &expired).await;
        total += expired.len();
        if (expired.len() as i64) < BATCH {
            return Ok(total);
        }
    }
}
