//! The cron component for the spin-trigger-cron plugin (`[[trigger.cron]]` in spin.toml).
//!
//! The plugin runs WASI 0.2 components that export `handle-cron-event` (world
//! `fermyon:spin-cron/spin-cron@2.0.0`, kept in `wit/`). Each event POSTs
//! `{base_url}/api/v1/jobs/tick` with `Authorization: Bearer {jobs_token}`: the periodic work
//! lives in the jobs component, and this one only knocks on its door.
//!
//! Configuration comes from Spin variables `base_url` and `jobs_token`, through
//! `fermyon:spin/variables@2.0.0` (every Spin since 2.0 links it, so it works whatever Spin the
//! plugin was built on). Outgoing HTTP is `wasi:http/outgoing-handler@0.2.0` (the `wasi` crate).

#![cfg(target_arch = "wasm32")]

wit_bindgen::generate!({
    world: "cron",
    path: "wit",
    generate_all,
});

use fermyon::spin::variables;
use wasi::http::outgoing_handler;
use wasi::http::types::{Fields, Method, OutgoingBody, OutgoingRequest, RequestOptions, Scheme};

const TICK_PATH: &str = "/api/v1/jobs/tick";
/// How much of an error answer is kept for the log.
const MAX_ERROR_BODY: u64 = 2048;

struct Cron;

impl Guest for Cron {
    fn handle_cron_event(metadata: Metadata) -> Result<(), Error> {
        match tick() {
            Ok(status) => {
                log("info", metadata.timestamp, &format!("tick answered {status}"));
                Ok(())
            }
            Err(message) => {
                log("error", metadata.timestamp, &message);
                Err(Error::Other(message))
            }
        }
    }
}

export!(Cron);

fn variable(name: &str) -> Result<Option<String>, String> {
    match variables::get(name) {
        Ok(v) if v.trim().is_empty() => Ok(None),
        Ok(v) => Ok(Some(v.trim().to_owned())),
        Err(variables::Error::Undefined(_)) => Ok(None),
        Err(_) => Err(format!("variable {name}: the variables provider failed")),
    }
}

/// Calls the tick route once and returns its status; anything but 2xx is an error.
fn tick() -> Result<u16, String> {
    let base_url = variable("base_url")?.unwrap_or_else(|| "http://127.0.0.1:3000".to_owned());
    let token = variable("jobs_token")?;
    let target = Target::parse(&base_url)?;

    let mut headers = vec![("content-length".to_owned(), b"0".to_vec())];
    if let Some(token) = token {
        headers.push(("authorization".to_owned(), format!("Bearer {token}").into_bytes()));
    }
    let fields = Fields::from_list(&headers).map_err(|e| format!("request headers: {e:?}"))?;
    let request = OutgoingRequest::new(fields);
    let path = format!("{}{TICK_PATH}", target.prefix);
    request
        .set_method(&Method::Post)
        .and_then(|()| request.set_scheme(Some(&target.scheme)))
        .and_then(|()| request.set_authority(Some(&target.authority)))
        .and_then(|()| request.set_path_with_query(Some(&path)))
        .map_err(|()| format!("invalid tick URL {base_url}{TICK_PATH}"))?;
    let body = request.body().map_err(|()| "request body taken twice".to_owned())?;
    OutgoingBody::finish(body, None).map_err(|e| format!("request body: {e:?}"))?;

    // The tick bounds its own work; these only stop a hung server from pinning the instance.
    let options = RequestOptions::new();
    let _ = options.set_connect_timeout(Some(5_000_000_000));
    let _ = options.set_first_byte_timeout(Some(55_000_000_000));

    let pending =
        outgoing_handler::handle(request, Some(options)).map_err(|e| format!("POST {base_url}{TICK_PATH}: {e:?}"))?;
    pending.subscribe().block();
    let response = pending
        .get()
        .ok_or("no response after waiting")?
        .map_err(|()| "response taken twice".to_owned())?
        .map_err(|e| format!("POST {base_url}{TICK_PATH}: {e:?}"))?;
    let status = response.status();
    if (200..300).contains(&status) {
        return Ok(status);
    }
    let detail = response
        .consume()
        .ok()
        .and_then(|body| {
            let stream = body.stream().ok()?;
            let bytes = stream.blocking_read(MAX_ERROR_BODY).ok()?;
            Some(String::from_utf8_lossy(&bytes).into_owned())
        })
        .unwrap_or_default();
    Err(format!("POST {base_url}{TICK_PATH} answered {status}: {detail}"))
}

/// `base_url` split for WASI HTTP: scheme, authority, and a path prefix without trailing `/`.
struct Target {
    scheme: Scheme,
    authority: String,
    prefix: String,
}

impl Target {
    fn parse(base_url: &str) -> Result<Target, String> {
        let invalid = || format!("base_url is not an http(s) URL: {base_url:?}");
        let (scheme, rest) = base_url.split_once("://").ok_or_else(invalid)?;
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "http" => Scheme::Http,
            "https" => Scheme::Https,
            _ => return Err(invalid()),
        };
        let (authority, prefix) = match rest.find('/') {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        if authority.is_empty() {
            return Err(invalid());
        }
        Ok(Target { scheme, authority: authority.to_owned(), prefix: prefix.trim_end_matches('/').to_owned() })
    }
}

/// One JSON line on stdout, like the HTTP components' logs.
fn log(level: &str, timestamp: u64, message: &str) {
    let message: String = message
        .chars()
        .map(|c| match c {
            '"' => "\\\"".to_owned(),
            '\\' => "\\\\".to_owned(),
            c if (c as u32) < 0x20 => format!("\\u{:04x}", c as u32),
            c => c.to_string(),
        })
        .collect();
    println!(r#"{{"level":"{level}","target":"reservas_cron","event_timestamp":{timestamp},"message":"{message}"}}"#);
}
