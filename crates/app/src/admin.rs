//! Admin access and accommodation management.

use crate::backoffice::login_limit;
use crate::error::{ApiError, ApiResult};
use crate::http::Request;
use crate::input::{parse_email, JsonBody};
use crate::ports::{Db, Env};
use crate::store::{self, Accommodation, NewAccommodation};
use reservas_domain::auth::{Claims, TokenError};
use reservas_domain::pricing::{Multiplier, Percent, Rates};
use reservas_domain::secret::bearer_token;
use reservas_domain::Cents;
use serde_json::{json, Value};

/// The admin behind the request's Bearer token, if it carries a valid one.
pub fn admin_claims<E: Env>(env: &E, authorization: Option<&str>) -> ApiResult<Claims> {
    let token = authorization
        .and_then(bearer_token)
        .ok_or_else(|| ApiError::Unauthorized("an admin Bearer token is required".into()))?;
    let now = env.clock().now().timestamp();
    let claims = Claims::decode(token, env.config().jwt_secret.as_bytes(), now).map_err(|e| match e {
        TokenError::Expired => ApiError::Unauthorized("the token has expired".into()),
        TokenError::Invalid => ApiError::Unauthorized("invalid token".into()),
    })?;
    // A token outlives a change of the allowed list only until this check.
    if !env.config().admin_allowed_emails.contains(&claims.sub) {
        return Err(ApiError::Forbidden("this account is not an admin".into()));
    }
    Ok(claims)
}

/// Logs an admin in. Rate-limited per email and per client (see `backoffice::login_limit`):
/// the attempt is recorded before the credentials are checked and cleared when they pass.
pub async fn login<E: Env>(env: &E, req: &Request) -> ApiResult<Value> {
    let body = JsonBody::parse(&req.body)?;
    let email = parse_email(body.required_str("email")?)
        .map_err(|_| ApiError::Validation("email must be an email address".into()))?;
    let password = body.optional_str("password")?;
    let config = env.config();
    let conn = env.db().connect().await?;
    let client = login_limit::client_of(req, &config.trusted_proxies);
    let attempt = login_limit::begin(&conn, config, &email, client, env.clock().now()).await?;
    // One answer for every failure, so nobody learns which emails exist.
    let refused = || ApiError::Unauthorized("invalid credentials".into());
    let allowed = config.admin_allowed_emails.contains(&email);
    let password_ok = match (&config.admin_password_hash, password) {
        (Some(hash), Some(password)) => verify_password(hash, password),
        (Some(_), None) => config.is_development(),
        (None, _) => config.is_development(),
    };
    if !allowed || !password_ok {
        tracing::info!("admin login refused");
        return Err(refused());
    }
    login_limit::succeeded(&conn, attempt).await?;
    let now = env.clock().now().timestamp();
    let lifetime = config.jwt_expiration.as_secs() as i64;
    let claims = Claims::new(&email, crate::random::hex_id(), now, lifetime);
    let secret = config.jwt_secret.as_bytes();
    tracing::info!("admin login");
    Ok(json!({
        "access_token": claims.encode(secret),
        "token_type": "bearer",
        "expires_in": lifetime,
        "csrf_token": claims.csrf_token(secret),
    }))
}

fn verify_password(hash: &str, password: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    PasswordHash::new(hash)
        .is_ok_and(|parsed| argon2::Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
}

pub fn accommodation_view(a: &Accommodation) -> Value {
    json!({
        "id": a.id,
        "name": a.name,
        "capacity": a.capacity,
        "base_price": a.rates.base_price,
        "weekend_multiplier": a.rates.weekend_multiplier,
        "deposit_percent": a.rates.deposit_percent.value(),
        "active": a.active,
        "created_at": a.created_at,
        "updated_at": a.updated_at,
    })
}

fn capacity(body: &JsonBody) -> ApiResult<Option<i64>> {
    match body.raw("capacity") {
        None => Ok(None),
        Some(v) => v
            .as_i64()
            .filter(|c| (1..=1000).contains(c))
            .map(Some)
            .ok_or_else(|| ApiError::Validation("capacity must be a whole number from 1 to 1000".into())),
    }
}

fn base_price(body: &JsonBody) -> ApiResult<Option<Cents>> {
    body.raw("base_price")
        .map(|v| {
            Cents::from_json(v)
                .map_err(|_| ApiError::Validation("base_price must be an amount like 48000 or \"48000.00\"".into()))
        })
        .transpose()
}

fn multiplier(body: &JsonBody) -> ApiResult<Option<Multiplier>> {
    body.raw("weekend_multiplier")
        .map(|v| {
            Multiplier::from_json(v).ok_or_else(|| {
                ApiError::Validation("weekend_multiplier must be a number above 0 and at most 10".into())
            })
        })
        .transpose()
}

fn deposit_percent(body: &JsonBody) -> ApiResult<Option<Percent>> {
    body.raw("deposit_percent")
        .map(|v| {
            v.as_i64()
                .and_then(Percent::new)
                .ok_or_else(|| ApiError::Validation("deposit_percent must be a whole number from 0 to 100".into()))
        })
        .transpose()
}

pub async fn create_accommodation<E: Env>(env: &E, body: &[u8]) -> ApiResult<Value> {
    let body = JsonBody::parse(body)?;
    let new = NewAccommodation {
        name: body.text("name", 200)?,
        capacity: capacity(&body)?.ok_or_else(|| ApiError::Validation("capacity is required".into()))?,
        rates: Rates {
            base_price: base_price(&body)?.ok_or_else(|| ApiError::Validation("base_price is required".into()))?,
            weekend_multiplier: multiplier(&body)?.unwrap_or(Multiplier::DEFAULT_WEEKEND),
            deposit_percent: deposit_percent(&body)?.unwrap_or(Percent::DEFAULT_DEPOSIT),
        },
        active: body.optional_bool("active")?.unwrap_or(true),
    };
    let conn = env.db().connect().await?;
    let created = store::insert_accommodation(&conn, &new, env.clock().now()).await?;
    crate::calendars::with_export_links(env, accommodation_view(&created)).await
}

pub async fn list_accommodations<E: Env>(env: &E) -> ApiResult<Value> {
    let conn = env.db().connect().await?;
    let mut items: Vec<Value> = Vec::new();
    for a in store::list_accommodations(&conn).await? {
        items.push(crate::calendars::with_export_links(env, accommodation_view(&a)).await?);
    }
    Ok(json!({ "total": items.len(), "items": items, "next_cursor": null }))
}

fn parse_id(text: &str) -> ApiResult<i64> {
    text.parse::<i64>().ok().filter(|id| *id > 0).ok_or_else(|| ApiError::NotFound("accommodation not found".into()))
}

pub async fn get_accommodation<E: Env>(env: &E, id: &str) -> ApiResult<Value> {
    let id = parse_id(id)?;
    let conn = env.db().connect().await?;
    let found = store::find_accommodation(&conn, id)
        .await?
        .ok_or_else(|| ApiError::NotFound("accommodation not found".into()))?;
    crate::calendars::with_export_links(env, accommodation_view(&found)).await
}

pub async fn update_accommodation<E: Env>(env: &E, id: &str, body: &[u8]) -> ApiResult<Value> {
    let id = parse_id(id)?;
    let body = JsonBody::parse(body)?;
    let name = if body.has("name") { Some(body.text("name", 200)?) } else { None };
    let (capacity, base_price, multiplier, deposit, active) = (
        capacity(&body)?,
        base_price(&body)?,
        multiplier(&body)?,
        deposit_percent(&body)?,
        body.optional_bool("active")?,
    );
    let conn = env.db().connect().await?;
    let updated = store::transaction(&conn, async {
        let mut a = store::find_accommodation(&conn, id)
            .await?
            .ok_or_else(|| ApiError::NotFound("accommodation not found".into()))?;
        a.name = name.unwrap_or(a.name);
        a.capacity = capacity.unwrap_or(a.capacity);
        a.rates.base_price = base_price.unwrap_or(a.rates.base_price);
        a.rates.weekend_multiplier = multiplier.unwrap_or(a.rates.weekend_multiplier);
        a.rates.deposit_percent = deposit.unwrap_or(a.rates.deposit_percent);
        a.active = active.unwrap_or(a.active);
        store::update_accommodation(&conn, &a, env.clock().now()).await
    })
    .await?;
    crate::calendars::with_export_links(env, accommodation_view(&updated)).await
}

/// The demo set for first-time users: two cabins, created only if there are none.
pub async fn seed<E: Env>(env: &E) -> ApiResult<Vec<Value>> {
    let conn = env.db().connect().await?;
    if !store::list_accommodations(&conn).await?.is_empty() {
        return Ok(Vec::new());
    }
    let cabins = [("Cabaña del Bosque", 4, 48_000_00), ("Cabaña del Lago", 6, 65_000_00)];
    let mut created = Vec::new();
    for (name, capacity, price) in cabins {
        let new = NewAccommodation {
            name: name.into(),
            capacity,
            rates: Rates {
                base_price: Cents(price),
                weekend_multiplier: Multiplier::DEFAULT_WEEKEND,
                deposit_percent: Percent::DEFAULT_DEPOSIT,
            },
            active: true,
        };
        created.push(accommodation_view(&store::insert_accommodation(&conn, &new, env.clock().now()).await?));
    }
    Ok(created)
}
