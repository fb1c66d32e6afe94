//! The clock, host facts, environment and request/response conversion under Spin.

use crate::{SpinDb, SpinHttp, SpinKv};
use bytes::Bytes;
use http_body_util::BodyExt;
use reservas_app::config::{ConfigError, VARIABLES};
use reservas_app::http::BoundedBody;
use reservas_app::ports::{Clock, HostInfo, Ports};
use reservas_app::Config;
use spin_sdk::http::{FullBody, HeaderMap, HeaderName, HeaderValue, IntoResponse, StatusCode};

/// Wall-clock time from the host.
#[derive(Debug, Clone, Copy, Default)]
pub struct SpinClock;

impl Clock for SpinClock {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::Utc::now()
    }
}

/// A Spin component cannot see the machine: both answers are `None`.
#[derive(Debug, Clone, Copy, Default)]
pub struct SpinHost;

impl HostInfo for SpinHost {
    fn disk(&self) -> Option<(u64, u64)> {
        None
    }
    fn memory(&self) -> Option<(u64, u64)> {
        None
    }
}

/// Everything a request handler may touch, under Spin.
pub type SpinEnv = Ports<SpinDb, SpinKv, SpinHttp, SpinClock, SpinHost>;

/// Builds the ports for this request (a Spin instance lives for one request), reading the
/// configuration from Spin variables: every name of [`VARIABLES`] in lower case. A variable
/// the component does not map, or leaves empty, counts as unset.
pub async fn load_env() -> Result<SpinEnv, ConfigError> {
    Ok(Ports {
        db: SpinDb,
        kv: SpinKv::default(),
        http: SpinHttp,
        clock: SpinClock,
        host: SpinHost,
        config: load_config().await?,
    })
}

/// [`Config::from_lookup`] over Spin variables. `from_lookup` is synchronous and the
/// variables API is not, so every name is fetched first.
pub async fn load_config() -> Result<Config, ConfigError> {
    use spin_sdk::variables::Error;
    let mut values = Vec::with_capacity(VARIABLES.len());
    for name in VARIABLES {
        let value = match spin_sdk::variables::get(name.to_ascii_lowercase()).await {
            Ok(v) => Some(v),
            Err(Error::Undefined(_)) => None,
            // The provider's text may quote a secret store's reply: name the variable only.
            Err(_) => return Err(ConfigError(format!("{}: the variables provider failed", name.to_ascii_lowercase()))),
        };
        values.push((*name, value));
    }
    Config::from_lookup(|name| values.iter().find(|(n, _)| *n == name).and_then(|(_, v)| v.clone()))
}

/// The response type every component returns.
pub type SpinResponse = (StatusCode, HeaderMap, FullBody<Bytes>);

/// Serves one request: Spin request -> [`reservas_app::Request`] -> [`reservas_app::handle`]
/// with the Spin ports -> Spin response. Configuration errors answer 500
/// `{"error":"configuration","detail":...}` (the detail names variables, never their values).
pub async fn serve(req: spin_sdk::http::Request) -> anyhow::Result<impl IntoResponse> {
    init_logging();
    let request = app_request(req).await?;
    let response = match load_env().await {
        Ok(env) => reservas_app::handle(&env, request).await,
        Err(err) => {
            tracing::error!(error = %err, method = %request.method, path = %request.path, "configuration");
            reservas_app::Response::json(500, &serde_json::json!({ "error": "configuration", "detail": err.0 }))
        }
    };
    Ok(spin_response(response))
}

/// Converts the Spin request. The body is read through [`BoundedBody`], so a huge body is
/// never buffered whole; the app answers 413.
pub async fn app_request(req: spin_sdk::http::Request) -> anyhow::Result<reservas_app::Request> {
    let (parts, mut body) = req.into_parts();
    let headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .map(|(k, v)| (k.as_str().to_ascii_lowercase(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
        .collect();
    // Spin sets `spin-client-addr` to the socket peer, `ip:port`.
    let peer = headers.iter().find(|(k, _)| k == "spin-client-addr").and_then(|(_, v)| {
        v.parse::<std::net::SocketAddr>().map(|a| a.ip()).or_else(|_| v.parse::<std::net::IpAddr>()).ok()
    });
    let mut buf = BoundedBody::default();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| anyhow::anyhow!("reading the request body: {e:?}"))?;
        if let Ok(data) = frame.into_data() {
            if !buf.push(&data) {
                break;
            }
        }
    }
    Ok(reservas_app::Request {
        method: parts.method.as_str().to_owned(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        headers,
        body: buf.into_bytes(),
        peer,
    })
}

/// Converts the app's response. A header the `http` crate refuses is dropped and logged.
pub fn spin_response(response: reservas_app::Response) -> SpinResponse {
    let status = StatusCode::from_u16(response.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut headers = HeaderMap::new();
    for (name, value) in &response.headers {
        match (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(value)) {
            (Ok(n), Ok(v)) => {
                headers.append(n, v);
            }
            _ => tracing::warn!(header = %name, "dropped an invalid response header"),
        }
    }
    (status, headers, FullBody::new(Bytes::from(response.body)))
}

/// JSON lines on stdout (Spin keeps each component's stdout in its log), each with the app's
/// `request` span (request id, method, path). Once per instance, i.e. once per request.
fn init_logging() {
    let _ = tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::INFO)
        .with_current_span(true)
        .with_span_list(false)
        .with_writer(std::io::stdout)
        .try_init();
}
