//! The booking conversation: from what the guest said and what we remember, what to answer
//! and what to remember next. It asks for what is missing (dates, length, guests, which
//! cabin), quotes with per-night prices and the deposit, creates the hold only on an explicit
//! "Reservar" (tap or a bare yes after a quote), and offers another cabin or other dates when
//! the nights are gone. It states only what the system did: the hold text is written after
//! the hold exists, with its real expiry.

use super::texts;
use super::understand::{understand, Understood};
use crate::booking::{self, HoldRequest};
use crate::error::{ApiError, ApiResult};
use crate::ports::{Conn, Db, Env, Value};
use crate::store::{self, parse_ts, Accommodation};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use reservas_domain::nlu::Intent;
use reservas_domain::stay::today_in_argentina;
use reservas_domain::whatsapp::Button;
use reservas_domain::{Cents, Channel, Stay};
use serde::{Deserialize, Serialize};

/// What we remember of a conversation (stored as JSON; a day of silence forgets it).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct State {
    pub check_in: Option<NaiveDate>,
    pub check_out: Option<NaiveDate>,
    /// A length said before the check-in day ("3 noches").
    pub nights: Option<u32>,
    pub guests: Option<u32>,
    /// The cabin chosen or quoted.
    pub accommodation_id: Option<i64>,
    /// The live hold this conversation created.
    pub hold_code: Option<String>,
}

impl State {
    fn clear_dates(&mut self) {
        self.check_in = None;
        self.check_out = None;
        self.nights = None;
    }
}

/// What the guest sent, as the conversation sees it.
#[derive(Debug, Clone)]
pub enum Input {
    Text(String),
    Button(String),
    /// A voice note we could not transcribe well enough.
    AudioUnclear,
    /// An image, sticker, location...
    Unsupported,
}

/// One message to send: text and up to three buttons.
pub type Reply = (String, Vec<Button>);

/// What one turn decided.
#[derive(Debug, Clone)]
pub struct Turn {
    pub state: State,
    pub replies: Vec<Reply>,
    /// Hand the conversation to a human, for this reason.
    pub handoff: Option<&'static str>,
    /// For the inbox row: replied, audio_unclear, handed_off.
    pub outcome: &'static str,
}

impl Turn {
    fn say(state: State, text: String, buttons: Vec<Button>) -> Turn {
        Turn { state, replies: vec![(text, buttons)], handoff: None, outcome: "replied" }
    }
}

/// Who is writing.
#[derive(Debug, Clone, Copy)]
pub struct Guest<'a> {
    pub phone: &'a str,
    pub name: Option<&'a str>,
}

/// Answers one message.
pub async fn respond<E: Env>(
    env: &E,
    guest: Guest<'_>,
    mut state: State,
    input: Input,
    at: DateTime<Utc>,
) -> ApiResult<Turn> {
    match input {
        Input::AudioUnclear => {
            Ok(Turn { outcome: "audio_unclear", ..Turn::say(state, texts::audio_unclear(), Vec::new()) })
        }
        Input::Unsupported => Ok(Turn::say(state, texts::unsupported(), Vec::new())),
        Input::Button(id) => match id.as_str() {
            "reserve" => reserve(env, guest, state).await,
            "change_dates" => {
                state.clear_dates();
                state.accommodation_id = None;
                Ok(Turn::say(state, texts::change_dates(), Vec::new()))
            }
            "human" => Ok(handoff(state)),
            other => {
                if let Some(id) = other.strip_prefix("cabin:").and_then(|id| id.parse::<i64>().ok()) {
                    state.accommodation_id = Some(id);
                } else if let Some((id, check_in, check_out)) = parse_alternative(other) {
                    state.accommodation_id = Some(id);
                    state.check_in = Some(check_in);
                    state.check_out = Some(check_out);
                    state.nights = None;
                }
                advance(env, state, None).await
            }
        },
        Input::Text(text) => {
            let understood = understand(&text, at);
            text_turn(env, guest, state, understood).await
        }
    }
}

async fn text_turn<E: Env>(env: &E, guest: Guest<'_>, mut state: State, u: Understood) -> ApiResult<Turn> {
    match u.intent() {
        Intent::Human => return Ok(handoff(state)),
        Intent::Cancel if !u.has_entities() => return cancel(env, state).await,
        _ => {}
    }
    let had_entities = u.has_entities();
    merge(&mut state, &u);
    let quoted = state.accommodation_id.is_some() && state.check_out.is_some() && state.guests.is_some();
    if !had_entities && quoted && (u.affirm || u.intent() == Intent::Book) {
        return reserve(env, guest, state).await;
    }
    let greet = matches!(u.intent(), Intent::Greeting) || u.analysis.also.contains(&Intent::Greeting);
    if !had_entities {
        match u.intent() {
            Intent::Thanks => return Ok(Turn::say(state, texts::thanks(), Vec::new())),
            Intent::Services => return Ok(Turn::say(state, texts::services(), vec![texts::human_button()])),
            Intent::Unknown if state.check_in.is_none() && state.guests.is_none() => {
                return Ok(Turn::say(state, texts::not_understood(), vec![texts::human_button()]))
            }
            _ => {}
        }
    }
    advance(env, state, greet.then(|| texts::greeting(guest.name))).await
}

/// Folds what the message says into what we knew: new dates replace old ones (a guest
/// changing their mind), a new group size replaces the old one.
fn merge(state: &mut State, u: &Understood) {
    let a = &u.analysis;
    if let Some(check_in) = a.check_in {
        let changed = state.check_in != Some(check_in) || (a.check_out.is_some() && state.check_out != a.check_out);
        if changed {
            state.accommodation_id = None;
        }
        state.check_in = Some(check_in);
        state.check_out = a.check_out.or_else(|| a.nights.map(|n| check_in + Duration::days(i64::from(n))));
        if state.check_out.is_none() {
            // A length said earlier ("3 noches") completes a day said now.
            state.check_out = state.nights.map(|n| check_in + Duration::days(i64::from(n)));
        }
        state.nights = None;
    } else if let Some(nights) = a.nights.filter(|n| *n > 0) {
        match state.check_in {
            Some(check_in) => {
                state.check_out = Some(check_in + Duration::days(i64::from(nights)));
                state.accommodation_id = None;
            }
            None => state.nights = Some(nights),
        }
    } else if let (Some(check_out), Some(check_in)) = (a.check_out, state.check_in) {
        if check_out > check_in {
            state.check_out = Some(check_out);
        }
    }
    if let Some(guests) = a.guests.filter(|g| *g > 0) {
        state.guests = Some(guests);
    }
}

fn handoff(state: State) -> Turn {
    Turn {
        state,
        replies: vec![(texts::handed_off(), Vec::new())],
        handoff: Some("the guest asked for a person"),
        outcome: "handed_off",
    }
}

/// Cancels the live hold this conversation made (the cancellation's own WhatsApp message,
/// queued by `notify`, tells the guest), or says there is nothing to cancel.
async fn cancel<E: Env>(env: &E, mut state: State) -> ApiResult<Turn> {
    let code = state.hold_code.take();
    state = State { guests: state.guests, ..State::default() };
    if let Some(code) = code {
        match booking::cancel(env, &code, b"{}", false).await {
            Ok(_) => return Ok(Turn { state, replies: Vec::new(), handoff: None, outcome: "replied" }),
            Err(ApiError::InvalidState(_) | ApiError::NotFound(_) | ApiError::Expired) => {}
            Err(ApiError::Unauthorized(_)) => {
                // Confirmed: only an admin cancels those.
                return Ok(handoff(state));
            }
            Err(e) => return Err(e),
        }
    }
    Ok(Turn::say(state, texts::nothing_to_cancel(), Vec::new()))
}

/// The stay in `state`, checked as pre-reserve would (future, at least one night, at most
/// `MAX_NIGHTS`), or the turn that asks again.
fn checked_stay<E: Env>(env: &E, state: &mut State) -> Result<Stay, Turn> {
    let (Some(check_in), Some(check_out)) = (state.check_in, state.check_out) else {
        return Err(Turn::say(state.clone(), texts::ask_dates(None, state.guests), Vec::new()));
    };
    let today = today_in_argentina(env.clock().now());
    let reason = if check_in < today {
        Some("esa fecha ya pasó".to_owned())
    } else if check_out <= check_in {
        Some("la salida tiene que ser después de la entrada".to_owned())
    } else if (check_out - check_in).num_days() > i64::from(env.config().max_nights) {
        Some(format!("son más de {} noches", env.config().max_nights))
    } else {
        None
    };
    match reason {
        Some(reason) => {
            state.clear_dates();
            state.accommodation_id = None;
            Err(Turn::say(state.clone(), texts::invalid_dates(&reason), Vec::new()))
        }
        None => {
            Stay::between(check_in, check_out).map_err(|_| Turn::say(state.clone(), texts::not_understood(), vec![]))
        }
    }
}

/// A cabin that fits, with its total for the stay.
struct Fit {
    accommodation: Accommodation,
    total: Cents,
}

async fn fitting<C: Conn>(conn: &C, stay: &Stay, guests: u32, now: DateTime<Utc>) -> ApiResult<Vec<Fit>> {
    let mut fits = Vec::new();
    for a in store::list_accommodations(conn).await? {
        if !a.active || a.capacity < i64::from(guests) {
            continue;
        }
        if store::taken_nights(conn, a.id, stay.check_in(), stay.check_out(), now).await?.is_empty() {
            let total = a.rates.quote(stay).total_price;
            fits.push(Fit { accommodation: a, total });
        }
    }
    fits.sort_by_key(|f| (f.total.0, f.accommodation.id));
    Ok(fits)
}

/// Asks for what is missing, or quotes, or offers a choice or alternatives.
async fn advance<E: Env>(env: &E, mut state: State, greet: Option<String>) -> ApiResult<Turn> {
    let Some(check_in) = state.check_in else {
        return Ok(Turn::say(state.clone(), texts::ask_dates(greet, state.guests), Vec::new()));
    };
    let lead = greet.unwrap_or_default();
    if state.check_out.is_none() {
        return Ok(Turn::say(state, format!("{lead}{}", texts::ask_check_out(check_in)), Vec::new()));
    }
    let stay = match checked_stay(env, &mut state) {
        Ok(stay) => stay,
        Err(turn) => return Ok(turn),
    };
    let Some(guests) = state.guests else {
        return Ok(Turn::say(state, format!("{lead}{}", texts::ask_guests(stay.check_in(), stay.check_out())), vec![]));
    };
    let conn = env.db().connect().await?;
    let now = env.clock().now();
    let largest = store::list_accommodations(&conn).await?.iter().filter(|a| a.active).map(|a| a.capacity).max();
    if largest.is_none_or(|max| max < i64::from(guests)) {
        state.guests = None;
        return Ok(Turn::say(state, texts::too_many_guests(largest.unwrap_or(0)), vec![texts::human_button()]));
    }
    let fits = fitting(&conn, &stay, guests, now).await?;
    let chosen = state.accommodation_id.and_then(|id| fits.iter().find(|f| f.accommodation.id == id));
    match (chosen, fits.as_slice()) {
        (Some(fit), _) | (None, [fit]) => {
            state.accommodation_id = Some(fit.accommodation.id);
            let a = &fit.accommodation;
            let quote = a.rates.quote(&stay);
            let text = texts::quote(
                &a.name,
                &quote,
                stay.check_in(),
                stay.check_out(),
                guests,
                a.rates.deposit_percent.value(),
            );
            Ok(Turn::say(state, format!("{lead}{text}"), texts::quote_buttons()))
        }
        (None, []) => {
            state.accommodation_id = None;
            let alternatives = alternatives(env, &conn, &stay, guests).await?;
            Ok(no_room(state, &stay, guests, &alternatives, &lead))
        }
        (None, several) => {
            state.accommodation_id = None;
            Ok(choice(state, several, &stay, guests, &lead))
        }
    }
}

fn choice(state: State, fits: &[Fit], stay: &Stay, guests: u32, lead: &str) -> Turn {
    let shown = &fits[..fits.len().min(3)];
    let options: Vec<(String, i64, Cents)> =
        shown.iter().map(|f| (f.accommodation.name.clone(), f.accommodation.capacity, f.total)).collect();
    let buttons =
        shown.iter().map(|f| Button::new(format!("cabin:{}", f.accommodation.id), &f.accommodation.name)).collect();
    let text = texts::choose(&options, stay.check_in(), stay.check_out(), guests);
    Turn::say(state, format!("{lead}{text}"), buttons)
}

fn no_room(state: State, stay: &Stay, guests: u32, alternatives: &[(i64, String, Stay)], lead: &str) -> Turn {
    let listed: Vec<(String, NaiveDate, NaiveDate)> =
        alternatives.iter().map(|(_, name, s)| (name.clone(), s.check_in(), s.check_out())).collect();
    let mut buttons: Vec<Button> = alternatives
        .iter()
        .map(|(id, _, s)| {
            Button::new(
                format!("alt:{id}:{}:{}", s.check_in(), s.check_out()),
                &format!("{} al {}", texts::day_month(s.check_in()), texts::day_month(s.check_out())),
            )
        })
        .collect();
    buttons.push(texts::human_button());
    let text = texts::no_room(stay.check_in(), stay.check_out(), guests, &listed);
    Turn::say(state, format!("{lead}{text}"), buttons)
}

fn parse_alternative(id: &str) -> Option<(i64, NaiveDate, NaiveDate)> {
    let mut parts = id.strip_prefix("alt:")?.split(':');
    let accommodation = parts.next()?.parse().ok()?;
    let check_in = NaiveDate::parse_from_str(parts.next()?, "%Y-%m-%d").ok()?;
    let check_out = NaiveDate::parse_from_str(parts.next()?, "%Y-%m-%d").ok()?;
    Some((accommodation, check_in, check_out))
}

/// The same number of nights, as close as possible to the asked dates (later first, then
/// earlier but not past), in any cabin that fits the group: up to two, on different dates.
async fn alternatives<E: Env, C: Conn>(
    env: &E,
    conn: &C,
    stay: &Stay,
    guests: u32,
) -> ApiResult<Vec<(i64, String, Stay)>> {
    let now = env.clock().now();
    let today = today_in_argentina(now);
    let nights = i64::from(stay.nights());
    let mut found: Vec<(i64, String, Stay)> = Vec::new();
    for shift in (1..=21).flat_map(|d| [d, -d]) {
        let check_in = stay.check_in() + Duration::days(shift);
        if check_in < today {
            continue;
        }
        let Ok(candidate) = Stay::between(check_in, check_in + Duration::days(nights)) else { continue };
        if let Some(fit) = fitting(conn, &candidate, guests, now).await?.into_iter().next() {
            found.push((fit.accommodation.id, fit.accommodation.name, candidate));
            if found.len() == 2 {
                break;
            }
        }
    }
    Ok(found)
}

/// A live hold by this guest for exactly this stay (a retried message must not hold twice).
async fn existing_hold<C: Conn>(
    conn: &C,
    phone: &str,
    accommodation_id: i64,
    stay: &Stay,
    now: DateTime<Utc>,
) -> ApiResult<Option<(String, Cents, DateTime<Utc>)>> {
    let rows = conn
        .query(
            "SELECT code, deposit_cents, expires_at FROM reservations WHERE channel = 'whatsapp' AND contact_phone = ?1 \
             AND accommodation_id = ?2 AND check_in = ?3 AND check_out = ?4 AND status = 'pre_reserved' \
             AND expires_at > ?5 ORDER BY id DESC LIMIT 1",
            &[
                format!("+{phone}").into(),
                Value::Integer(accommodation_id),
                stay.check_in().to_string().into(),
                stay.check_out().to_string().into(),
                store::ts(now).into(),
            ],
        )
        .await?;
    let Some(row) = rows.first() else { return Ok(None) };
    Ok(Some((row.text(0)?, Cents(row.int(1)?), parse_ts(&row.text(2)?)?)))
}

/// A contact name the reservation can store: the profile name without control characters,
/// or a neutral one.
fn contact_name(name: Option<&str>) -> String {
    let clean: String = name.unwrap_or("").chars().filter(|c| !c.is_control()).take(100).collect();
    let clean = clean.trim();
    if clean.is_empty() {
        "Huésped de WhatsApp".to_owned()
    } else {
        clean.to_owned()
    }
}

/// Creates the hold (the booking core's own logic, channel `whatsapp`) and says so, with the
/// link and the real expiry; or offers something else when the nights were just taken.
async fn reserve<E: Env>(env: &E, guest: Guest<'_>, mut state: State) -> ApiResult<Turn> {
    let (Some(accommodation_id), Some(guests)) = (state.accommodation_id, state.guests) else {
        return advance(env, state, None).await;
    };
    if state.check_out.is_none() {
        return advance(env, state, None).await;
    }
    let stay = match checked_stay(env, &mut state) {
        Ok(stay) => stay,
        Err(turn) => return Ok(turn),
    };
    let conn = env.db().connect().await?;
    let now = env.clock().now();
    let Some(accommodation) = store::find_accommodation(&conn, accommodation_id).await?.filter(|a| a.active) else {
        state.accommodation_id = None;
        return advance(env, state, None).await;
    };
    if let Some((code, deposit, expires_at)) = existing_hold(&conn, guest.phone, accommodation_id, &stay, now).await? {
        let id = store::find_reservation(&conn, &booking::parse_code(&code)?).await?.map(|r| r.id);
        let link = match id {
            Some(id) => crate::payments::records::find_link(&conn, id).await?.map(|(_, url)| url),
            None => None,
        };
        let text = texts::held(
            &accommodation.name,
            &code,
            stay.check_in(),
            stay.check_out(),
            deposit,
            expires_at,
            link.as_deref(),
        );
        state.hold_code = Some(code);
        return Ok(Turn::say(state, text, Vec::new()));
    }
    // Another live hold of this conversation (other dates or cabin) is released first: a
    // guest who changed their mind keeps one hold, not two.
    if let Some(previous) = state.hold_code.take() {
        match booking::cancel(env, &previous, b"{}", false).await {
            Ok(_) | Err(ApiError::InvalidState(_) | ApiError::NotFound(_) | ApiError::Expired) => {}
            Err(ApiError::Unauthorized(_)) => {} // confirmed: it stays, the new one is a second stay
            Err(e) => return Err(e),
        }
    }
    let request = HoldRequest {
        accommodation_id,
        stay,
        guests: i64::from(guests),
        channel: Channel::Whatsapp,
        contact_name: contact_name(guest.name),
        contact_phone: format!("+{}", guest.phone),
        contact_email: None,
    };
    match booking::hold(env, request).await {
        Ok(body) => {
            let code = body["code"].as_str().unwrap_or_default().to_owned();
            let deposit = body["deposit_amount"].as_str().and_then(|d| Cents::parse(d).ok()).unwrap_or(Cents(0));
            let expires_at = body["expires_at"]
                .as_str()
                .and_then(|e| parse_ts(e).ok())
                .unwrap_or_else(|| now + Duration::seconds(env.config().hold.as_secs() as i64));
            let text = texts::held(
                &accommodation.name,
                &code,
                stay.check_in(),
                stay.check_out(),
                deposit,
                expires_at,
                body["payment_url"].as_str(),
            );
            state.hold_code = Some(code);
            Ok(Turn::say(state, text, Vec::new()))
        }
        Err(ApiError::DateOverlap | ApiError::ProcessingOrUnavailable) => {
            state.accommodation_id = None;
            let lead = format!("{}\n", texts::lost_race(&accommodation.name));
            let others = fitting(&conn, &stay, guests, env.clock().now()).await?;
            if others.is_empty() {
                let alternatives = alternatives(env, &conn, &stay, guests).await?;
                Ok(no_room(state, &stay, guests, &alternatives, &lead))
            } else {
                Ok(choice(state, &others, &stay, guests, &lead))
            }
        }
        Err(ApiError::InvalidGuests(_)) => {
            state.accommodation_id = None;
            advance(env, state, None).await
        }
        Err(ApiError::InvalidDates(reason)) => {
            state.clear_dates();
            Ok(Turn::say(state, texts::invalid_dates(&reason), Vec::new()))
        }
        Err(ApiError::AccommodationNotFound) => {
            state.accommodation_id = None;
            advance(env, state, None).await
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alternative_buttons_round_trip() {
        let id = "alt:3:2027-03-05:2027-03-08";
        let (acc, a, b) = parse_alternative(id).unwrap();
        assert_eq!((acc, a.to_string(), b.to_string()), (3, "2027-03-05".into(), "2027-03-08".into()));
        assert!(parse_alternative("alt:x:2027-03-05:2027-03-08").is_none());
    }

    #[test]
    fn contact_names_are_clean() {
        assert_eq!(contact_name(Some("Ana\u{0}\n Pérez")), "Ana Pérez");
        assert_eq!(contact_name(Some("   ")), "Huésped de WhatsApp");
    }
}
