//! A local fake of Meta's Graph API for WhatsApp, speaking its real shapes:
//! `POST /{phone_id}/messages` (records the message, answers `{messaging_product, contacts,
//! messages: [{id}]}`), `GET /{media_id}` (answers `{url, mime_type, sha256, file_size, id}`)
//! and `GET /media/{media_id}` (the bytes). Every request needs `Authorization: Bearer
//! <token>`; sends fail on demand.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{json, Value as Json};
use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

pub const PHONE_ID: &str = "109876543210";

#[derive(Default)]
struct State {
    token: String,
    /// Every message body accepted, in order.
    sent: Vec<Json>,
    /// Sends refused (status) while set.
    failing: Option<u16>,
    /// Media id -> (bytes, mime type).
    media: HashMap<String, (Vec<u8>, String)>,
    /// Every request as `METHOD path`.
    requests: Vec<String>,
}

pub struct FakeGraph {
    /// `WHATSAPP_API_BASE`.
    pub url: String,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeGraph {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The text a guest reads in a sent message: a text body or an interactive body.
pub fn text_of(message: &Json) -> String {
    message["text"]["body"]
        .as_str()
        .or_else(|| message["interactive"]["body"]["text"].as_str())
        .unwrap_or_default()
        .to_owned()
}

/// The ids of a sent message's reply buttons.
pub fn buttons_of(message: &Json) -> Vec<String> {
    message["interactive"]["action"]["buttons"]
        .as_array()
        .map(|b| b.iter().filter_map(|b| b["reply"]["id"].as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

impl FakeGraph {
    pub async fn start(token: &str) -> FakeGraph {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind fake graph");
        let addr = listener.local_addr().expect("addr");
        let state = Arc::new(Mutex::new(State { token: token.to_owned(), ..State::default() }));
        let shared = state.clone();
        let base = format!("http://{addr}");
        let task_base = base.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { continue };
                let state = shared.clone();
                let base = task_base.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| handle(state.clone(), base.clone(), req));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        FakeGraph { url: base, state, task }
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.state.lock().expect("fake graph state"))
    }

    /// Serves `bytes` as media `id`.
    pub fn add_media(&self, id: &str, bytes: Vec<u8>, mime: &str) {
        self.with(|s| s.media.insert(id.to_owned(), (bytes, mime.to_owned())));
    }

    /// Every message sent, in order.
    pub fn sent(&self) -> Vec<Json> {
        self.with(|s| s.sent.clone())
    }

    /// The messages sent to `phone`, in order.
    pub fn sent_to(&self, phone: &str) -> Vec<Json> {
        self.sent().into_iter().filter(|m| m["to"] == phone).collect()
    }

    /// Sends fail with `status` until called with `None`.
    pub fn fail_always(&self, status: Option<u16>) {
        self.with(|s| s.failing = status);
    }

    pub fn requests(&self) -> Vec<String> {
        self.with(|s| s.requests.clone())
    }
}

fn json_response(status: u16, body: Json) -> hyper::Response<Full<Bytes>> {
    let mut response = hyper::Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert("content-type", hyper::header::HeaderValue::from_static("application/json"));
    response
}

fn graph_error(message: &str, code: u32) -> Json {
    json!({ "error": { "message": message, "type": "OAuthException", "code": code, "fbtrace_id": "AbCdEf" } })
}

async fn handle(
    state: Arc<Mutex<State>>,
    base: String,
    req: hyper::Request<Incoming>,
) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
    let method = req.method().as_str().to_owned();
    let path = req.uri().path().to_owned();
    let auth = req.headers().get("authorization").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let body = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let mut s = state.lock().expect("state");
    s.requests.push(format!("{method} {path}"));
    if auth.as_deref() != Some(&format!("Bearer {}", s.token)) {
        return Ok(json_response(401, graph_error("Invalid OAuth access token.", 190)));
    }
    let messages_path = format!("/{PHONE_ID}/messages");
    if method == "POST" && path == messages_path {
        if let Some(status) = s.failing {
            return Ok(json_response(status, graph_error("failing on demand", 131000)));
        }
        let Ok(message) = serde_json::from_slice::<Json>(&body) else {
            return Ok(json_response(400, graph_error("Invalid JSON", 100)));
        };
        let well_formed = message["messaging_product"] == "whatsapp"
            && message["to"].as_str().is_some_and(|t| !t.is_empty())
            && match message["type"].as_str() {
                Some("text") => message["text"]["body"].as_str().is_some_and(|b| b.chars().count() <= 4096),
                Some("interactive") => message["interactive"]["action"]["buttons"].as_array().is_some_and(|b| {
                    !b.is_empty()
                        && b.len() <= 3
                        && b.iter().all(|b| b["reply"]["title"].as_str().is_some_and(|t| t.chars().count() <= 20))
                }),
                _ => false,
            };
        if !well_formed {
            return Ok(json_response(400, graph_error("(#100) Invalid parameter", 100)));
        }
        let to = message["to"].clone();
        s.sent.push(message);
        let id = format!("wamid.out.{}", s.sent.len());
        return Ok(json_response(
            200,
            json!({ "messaging_product": "whatsapp", "contacts": [{ "input": to, "wa_id": to }], "messages": [{ "id": id }] }),
        ));
    }
    if method == "GET" {
        if let Some(id) = path.strip_prefix("/media/") {
            return Ok(match s.media.get(id) {
                Some((bytes, mime)) => {
                    let mut response = hyper::Response::new(Full::new(Bytes::from(bytes.clone())));
                    response
                        .headers_mut()
                        .insert("content-type", hyper::header::HeaderValue::from_str(mime).expect("mime"));
                    response
                }
                None => json_response(404, graph_error("media not found", 100)),
            });
        }
        let id = path.trim_start_matches('/');
        if let Some((bytes, mime)) = s.media.get(id) {
            return Ok(json_response(
                200,
                json!({
                    "messaging_product": "whatsapp",
                    "url": format!("{base}/media/{id}"),
                    "mime_type": mime,
                    "sha256": "0000",
                    "file_size": bytes.len(),
                    "id": id,
                }),
            ));
        }
    }
    Ok(json_response(404, graph_error("Unknown path", 100)))
}
