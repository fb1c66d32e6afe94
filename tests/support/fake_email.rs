//! A local fake of a Resend-style email API: `POST <url>` with `{from, to, subject, text,
//! html}`, Bearer auth and an `Idempotency-Key`. It records every request it receives, fails
//! on demand, and, like the real thing, answers a repeated idempotency key with the original
//! result instead of sending again.

use crate::fake_server::{serve, FakeResponse, FakeServer};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use serde_json::{json, Value as Json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One request as the fake saw it.
#[derive(Debug, Clone)]
pub struct Received {
    pub idempotency_key: Option<String>,
    pub authorization: Option<String>,
    pub body: Json,
    /// The status the fake answered.
    pub status: u16,
    /// Whether the message was (or had already been) accepted for sending.
    pub accepted: bool,
}

#[derive(Default)]
struct State {
    received: Vec<Received>,
    /// Statuses to answer the next requests with, in order, without accepting them.
    failures: Vec<u16>,
    /// Every request fails with this status while set.
    failing: Option<u16>,
    /// Accept the next N messages but answer 500, as when a response is lost.
    lose_responses: usize,
    delay: Duration,
    /// Idempotency key -> the message id it was accepted under.
    accepted: HashMap<String, String>,
}

pub struct FakeEmail {
    pub url: String,
    state: Arc<Mutex<State>>,
    _server: FakeServer,
}

impl FakeEmail {
    pub async fn start() -> FakeEmail {
        let state = Arc::new(Mutex::new(State::default()));
        let server = serve(state.clone(), handle).await;
        let addr = server.addr;
        FakeEmail { url: format!("http://{addr}/emails"), state, _server: server }
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.state.lock().expect("fake email state"))
    }

    /// The next `statuses.len()` requests get these statuses and are not accepted.
    pub fn fail_next(&self, statuses: &[u16]) {
        self.with(|s| s.failures.extend_from_slice(statuses));
    }

    /// Every request fails with `status` until called with `None`.
    pub fn fail_always(&self, status: Option<u16>) {
        self.with(|s| s.failing = status);
    }

    /// The next `n` messages are accepted but answered with a 500, as if the response was
    /// lost on its way back.
    pub fn lose_responses(&self, n: usize) {
        self.with(|s| s.lose_responses = n);
    }

    /// Every answer waits this long (widens race windows).
    pub fn delay(&self, delay: Duration) {
        self.with(|s| s.delay = delay);
    }

    /// Every request received, in order.
    pub fn received(&self) -> Vec<Received> {
        self.with(|s| s.received.clone())
    }

    /// The messages actually sent: one per idempotency key accepted (replays excluded).
    pub fn sent(&self) -> Vec<Received> {
        let mut seen = std::collections::HashSet::new();
        self.received()
            .into_iter()
            .filter(|r| r.accepted && seen.insert(r.idempotency_key.clone().unwrap_or_default()))
            .collect()
    }
}

async fn handle(state: Arc<Mutex<State>>, req: hyper::Request<Incoming>) -> FakeResponse {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let (idempotency_key, authorization) = (header("idempotency-key"), header("authorization"));
    let body = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let body: Json = serde_json::from_slice(&body).unwrap_or(Json::Null);
    let delay = state.lock().expect("state").delay;
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let (status, answer) = {
        let mut s = state.lock().expect("state");
        let forced = if s.failures.is_empty() { s.failing } else { Some(s.failures.remove(0)) };
        let (status, answer, accepted) = if let Some(status) = forced {
            (status, json!({ "name": "fake_failure", "message": "failing on demand" }), false)
        } else if body["to"].as_array().is_none_or(Vec::is_empty) || body["subject"].as_str().is_none() {
            (422, json!({ "name": "validation_error", "message": "to and subject are required" }), false)
        } else {
            let next_id = format!("email-{}", s.accepted.len() + 1);
            let id =
                s.accepted.entry(idempotency_key.clone().unwrap_or_else(|| next_id.clone())).or_insert(next_id).clone();
            if s.lose_responses > 0 {
                s.lose_responses -= 1;
                (500, json!({ "name": "lost", "message": "the response was lost" }), true)
            } else {
                (200, json!({ "id": id }), true)
            }
        };
        s.received.push(Received { idempotency_key, authorization, body, status, accepted });
        (status, answer)
    };
    let mut response = hyper::Response::new(Full::new(Bytes::from(answer.to_string())));
    *response.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert("content-type", hyper::header::HeaderValue::from_static("application/json"));
    Ok(response)
}
