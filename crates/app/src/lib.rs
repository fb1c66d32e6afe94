//! Use cases and the HTTP API over ports. Runtime-agnostic: the native host and the Spin
//! components both call [`handle`]; the periodic work is [`jobs::tick`].

pub mod admin;
pub mod backoffice;
pub mod booking;
pub mod calendars;
pub mod chat;
pub mod config;
pub mod error;
pub mod http;
pub mod input;
pub mod jobs;
pub mod lock;
pub mod migrate;
pub mod notify;
pub mod observe;
pub mod paging;
pub mod payments;
pub mod ports;
pub mod random;
pub mod routes;
pub mod store;

pub use config::Config;
pub use error::{ApiError, ApiResult};
pub use http::{Request, Response};
pub use ports::Env;

use routes::{Endpoint, Miss};
use serde_json::Value;
use tracing::Instrument;

/// A client-supplied request id is kept when it is short and plain; otherwise we make one.
fn request_id(req: &Request) -> String {
    req.header("x-request-id")
        .filter(|id| {
            !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        })
        .map(str::to_owned)
        .unwrap_or_else(random::hex_id)
}

/// Serves one request. Never panics on input; every failure is a contract error with a JSON
/// body, and every response carries `x-request-id`.
pub async fn handle<E: Env>(env: &E, req: Request) -> Response {
    let id = request_id(&req);
    let span = tracing::info_span!("request", request_id = %id, method = %req.method, path = %req.path);
    async move {
        let started = std::time::Instant::now();
        let matched = routes::match_route(&req.method, &req.path);
        let mut response = match &matched {
            _ if req.body.len() > http::MAX_BODY_BYTES => ApiError::PayloadTooLarge.to_response(),
            Err(Miss::NotFound) => ApiError::NotFound("no such route".into()).to_response(),
            Err(Miss::MethodNotAllowed) => ApiError::MethodNotAllowed.to_response(),
            Ok(m) => match dispatch(env, &req, m.route.endpoint, &m.params).await {
                Ok(response) => response,
                Err(error) => {
                    if let ApiError::Unexpected(e) = &error {
                        tracing::error!(error = format!("{e:#}"), "unexpected error");
                    }
                    error.to_response()
                }
            },
        };
        let elapsed = started.elapsed().as_secs_f64();
        if let Ok(m) = &matched {
            observe::observe_latency(env.kv(), m.route.pattern, elapsed).await;
        }
        tracing::info!(status = response.status, duration_ms = elapsed * 1e3, "request served");
        response.headers.push(("x-request-id".into(), id));
        response
    }
    .instrument(span)
    .await
}

fn ok(status: u16, value: Value) -> ApiResult<Response> {
    Ok(Response::json(status, &value))
}

async fn dispatch<E: Env>(env: &E, req: &Request, endpoint: Endpoint, params: &[String]) -> ApiResult<Response> {
    let param = || params.first().map(String::as_str).unwrap_or_default();
    let authorization = req.header("authorization");
    let is_admin = || authorization.is_some() && admin::admin_claims(env, authorization).is_ok();
    match endpoint {
        Endpoint::PreReserve => ok(201, booking::pre_reserve(env, &req.body).await?),
        Endpoint::GetReservation => ok(200, booking::get(env, param(), is_admin()).await?),
        Endpoint::Confirm => {
            let claims = admin::admin_claims(env, authorization)?;
            ok(200, booking::confirm(env, param(), booking::ConfirmedBy::Admin(claims.sub)).await?)
        }
        Endpoint::Cancel => ok(200, booking::cancel(env, param(), &req.body, is_admin()).await?),
        Endpoint::Availability => ok(200, booking::availability(env, param(), &req.query_pairs()).await?),
        Endpoint::Quote => ok(200, booking::quote(env, param(), &req.query_pairs()).await?),
        Endpoint::Login => ok(200, admin::login(env, req).await?),
        Endpoint::CreateAccommodation => {
            admin::admin_claims(env, authorization)?;
            ok(201, admin::create_accommodation(env, &req.body).await?)
        }
        Endpoint::ListAccommodations => {
            admin::admin_claims(env, authorization)?;
            ok(200, admin::list_accommodations(env).await?)
        }
        Endpoint::GetAccommodation => {
            admin::admin_claims(env, authorization)?;
            ok(200, admin::get_accommodation(env, param()).await?)
        }
        Endpoint::UpdateAccommodation => {
            admin::admin_claims(env, authorization)?;
            ok(200, admin::update_accommodation(env, param(), &req.body).await?)
        }
        Endpoint::Migrate => {
            jobs::authorize(env, authorization).or_else(|_| admin::admin_claims(env, authorization).map(|_| ()))?;
            let conn = <E::Db as ports::Db>::connect(env.db()).await?;
            let applied = migrate::run(&conn, env.clock().now()).await?;
            ok(200, serde_json::json!({ "applied": applied }))
        }
        Endpoint::Tick => {
            jobs::authorize(env, authorization)?;
            ok(200, jobs::tick(env).await?)
        }
        Endpoint::Health => {
            let (status, body) = observe::health(env).await;
            ok(status, body)
        }
        Endpoint::Metrics => Ok(Response::text(
            200,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            observe::metrics(env).await?,
        )),
        Endpoint::MercadoPagoWebhook | Endpoint::PaymentLink | Endpoint::AdminPayments => {
            payments::dispatch(env, req, endpoint, params).await
        }
        Endpoint::IcalExport
        | Endpoint::IcalImport
        | Endpoint::RotateIcalToken
        | Endpoint::ListFeeds
        | Endpoint::CreateFeed
        | Endpoint::DeleteFeed
        | Endpoint::AdminConflicts => calendars::dispatch(env, req, endpoint, params).await,
        Endpoint::AdminReservations
        | Endpoint::AdminReservation
        | Endpoint::ExportReservationsCsv
        | Endpoint::ResendEmail
        | Endpoint::AdminOutbox => backoffice::dispatch(env, req, endpoint, params).await,
        Endpoint::WhatsappVerify
        | Endpoint::WhatsappWebhook
        | Endpoint::NluAnalyze
        | Endpoint::AudioTranscribe
        | Endpoint::AdminConversations
        | Endpoint::ReleaseConversation => chat::dispatch(env, req, endpoint, params).await,
    }
}
