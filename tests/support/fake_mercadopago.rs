//! A local fake of Mercado Pago's API, speaking its real JSON shapes:
//! `POST /checkout/preferences` (Checkout Pro; answers `{id, init_point, ...}` and, like the
//! real API, returns the first preference again for a repeated `X-Idempotency-Key`) and
//! `GET /v1/payments/{id}` (the full payment object). It checks the Bearer token, records every
//! request, and adds latency or failures on demand. A payment's answers can be scripted: each
//! fetch then takes the next snapshot (as reads racing with Mercado Pago's own updates do).

use crate::fake_server::{serve, FakeResponse, FakeServer};
use bytes::Bytes;
use chrono::{DateTime, FixedOffset, Utc};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use serde_json::{json, Value as Json};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One request as the fake saw it.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub path: String,
    /// Header names in lower case.
    pub headers: HashMap<String, String>,
    pub body: Json,
    /// The status the fake answered (0 while the answer is still being delayed).
    pub status: u16,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }
}

#[derive(Default)]
struct State {
    token: String,
    received: Vec<Received>,
    /// Payment id -> its current JSON.
    payments: HashMap<String, Json>,
    /// Payment id -> snapshots served one per fetch before falling back to `payments`.
    scripts: HashMap<String, VecDeque<Json>>,
    /// Idempotency key -> the preference created under it.
    preferences: HashMap<String, Json>,
    created_preferences: usize,
    /// Statuses to answer the next requests with, in order.
    failures: Vec<u16>,
    /// Every request fails with this status while set.
    failing: Option<u16>,
    delay: Duration,
}

pub struct FakeMercadoPago {
    /// The API base (`MERCADOPAGO_API_BASE`).
    pub url: String,
    state: Arc<Mutex<State>>,
    _server: FakeServer,
}

/// A time as Mercado Pago writes it: milliseconds and a UTC-4 offset.
pub fn mp_time(t: DateTime<Utc>) -> String {
    let offset = FixedOffset::west_opt(4 * 3600).expect("offset");
    t.with_timezone(&offset).format("%Y-%m-%dT%H:%M:%S%.3f%:z").to_string()
}

fn status_detail(status: &str) -> &'static str {
    match status {
        "approved" => "accredited",
        "pending" => "pending_waiting_payment",
        "in_process" => "pending_contingency",
        "authorized" => "pending_capture",
        "rejected" => "cc_rejected_other_reason",
        "cancelled" => "expired",
        "refunded" => "refunded",
        "charged_back" => "settled",
        "in_mediation" => "in_process",
        _ => "",
    }
}

/// A payment object as `GET /v1/payments/{id}` returns it (the fields Mercado Pago documents,
/// trimmed of the ones nobody reads).
pub fn payment(id: u64, status: &str, external_reference: &str, amount: f64, last_updated: DateTime<Utc>) -> Json {
    let created = last_updated - chrono::Duration::minutes(5);
    let approved = matches!(status, "approved" | "refunded" | "charged_back" | "in_mediation");
    json!({
        "id": id,
        "date_created": mp_time(created),
        "date_approved": if approved { Json::from(mp_time(created + chrono::Duration::seconds(30))) } else { Json::Null },
        "date_last_updated": mp_time(last_updated),
        "date_of_expiration": null,
        "money_release_date": if approved { Json::from(mp_time(created + chrono::Duration::days(14))) } else { Json::Null },
        "operation_type": "regular_payment",
        "issuer_id": "310",
        "payment_method_id": "visa",
        "payment_type_id": "credit_card",
        "status": status,
        "status_detail": status_detail(status),
        "currency_id": "ARS",
        "description": "Seña de reserva",
        "live_mode": false,
        "sponsor_id": null,
        "authorization_code": null,
        "collector_id": 724484980,
        "payer": {
            "type": null,
            "id": "123456789",
            "email": "test_user_80507629@testuser.com",
            "identification": { "type": "DNI", "number": "32659430" },
            "entity_type": null
        },
        "metadata": {},
        "additional_info": { "items": [] },
        "order": {},
        "external_reference": external_reference,
        "transaction_amount": amount,
        "transaction_amount_refunded": if status == "refunded" { amount } else { 0.0 },
        "coupon_amount": 0,
        "transaction_details": {
            "net_received_amount": amount * 0.94,
            "total_paid_amount": amount,
            "overpaid_amount": 0,
            "installment_amount": amount
        },
        "fee_details": [],
        "captured": true,
        "binary_mode": false,
        "call_for_authorize_id": null,
        "statement_descriptor": "MERCADOPAGO",
        "installments": 1,
        "card": {},
        "notification_url": null,
        "refunds": [],
        "processing_mode": "aggregator",
        "point_of_interaction": {}
    })
}

impl FakeMercadoPago {
    /// Starts the fake; requests must carry `Authorization: Bearer <token>`.
    pub async fn start(token: &str) -> FakeMercadoPago {
        let state = Arc::new(Mutex::new(State { token: token.to_owned(), ..State::default() }));
        let server = serve(state.clone(), handle).await;
        let addr = server.addr;
        FakeMercadoPago { url: format!("http://{addr}"), state, _server: server }
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.state.lock().expect("fake mercado pago state"))
    }

    /// Sets what `GET /v1/payments/{id}` answers from now on.
    pub fn set_payment(&self, payment: Json) {
        let id = payment["id"].to_string();
        self.with(|s| s.payments.insert(id, payment));
    }

    /// The next fetches of this payment answer these snapshots, one each, in order.
    pub fn script_payment(&self, id: u64, snapshots: Vec<Json>) {
        self.with(|s| s.scripts.insert(id.to_string(), snapshots.into()));
    }

    /// The next `statuses.len()` requests get these statuses.
    pub fn fail_next(&self, statuses: &[u16]) {
        self.with(|s| s.failures.extend_from_slice(statuses));
    }

    /// Every request fails with `status` until called with `None`.
    pub fn fail_always(&self, status: Option<u16>) {
        self.with(|s| s.failing = status);
    }

    /// Every answer waits this long.
    pub fn delay(&self, delay: Duration) {
        self.with(|s| s.delay = delay);
    }

    /// Every request received, in order.
    pub fn received(&self) -> Vec<Received> {
        self.with(|s| s.received.clone())
    }

    /// The requests to `method path`.
    pub fn requests(&self, method: &str, path: &str) -> Vec<Received> {
        self.received().into_iter().filter(|r| r.method == method && r.path == path).collect()
    }

    /// How many distinct preferences were created (repeated idempotency keys excluded).
    pub fn created_preferences(&self) -> usize {
        self.with(|s| s.created_preferences)
    }
}

fn mp_error(status: u16, error: &str, message: &str) -> Json {
    json!({ "message": message, "error": error, "status": status, "cause": [] })
}

fn answer(state: &mut State, method: &str, path: &str, headers: &HashMap<String, String>, body: &Json) -> (u16, Json) {
    if headers.get("authorization").map(String::as_str) != Some(&format!("Bearer {}", state.token)) {
        return (401, mp_error(401, "unauthorized", "invalid access token"));
    }
    let forced = if state.failures.is_empty() { state.failing } else { Some(state.failures.remove(0)) };
    if let Some(status) = forced {
        return (status, mp_error(status, "internal_error", "failing on demand"));
    }
    match (method, path) {
        ("POST", "/checkout/preferences") => {
            let items_ok = body["items"].as_array().is_some_and(|items| {
                !items.is_empty()
                    && items
                        .iter()
                        .all(|i| i["title"].is_string() && i["quantity"].is_u64() && i["unit_price"].is_number())
            });
            if !items_ok {
                return (400, mp_error(400, "invalid_items", "items needs title, quantity and unit_price"));
            }
            let key = headers
                .get("x-idempotency-key")
                .cloned()
                .unwrap_or_else(|| format!("none-{}", state.created_preferences));
            if let Some(existing) = state.preferences.get(&key) {
                return (201, existing.clone());
            }
            state.created_preferences += 1;
            let id =
                format!("724484980-{:08x}-fake-{:04}", state.created_preferences * 7919, state.created_preferences);
            let mut preference = body.clone();
            preference["id"] = json!(id);
            preference["init_point"] =
                json!(format!("https://www.mercadopago.com.ar/checkout/v1/redirect?pref_id={id}"));
            preference["sandbox_init_point"] =
                json!(format!("https://sandbox.mercadopago.com.ar/checkout/v1/redirect?pref_id={id}"));
            preference["collector_id"] = json!(724484980);
            preference["client_id"] = json!("6295877106812064");
            preference["operation_type"] = json!("regular_payment");
            preference["date_created"] = json!(mp_time(Utc::now()));
            state.preferences.insert(key, preference.clone());
            (201, preference)
        }
        ("GET", p) if p.starts_with("/v1/payments/") => {
            let id = &p["/v1/payments/".len()..];
            if let Some(next) = state.scripts.get_mut(id).and_then(VecDeque::pop_front) {
                return (200, next);
            }
            match state.payments.get(id) {
                Some(payment) => (200, payment.clone()),
                None => (404, mp_error(404, "not_found", "Payment not found")),
            }
        }
        _ => (404, mp_error(404, "not_found", "resource not found")),
    }
}

async fn handle(state: Arc<Mutex<State>>, req: hyper::Request<Incoming>) -> FakeResponse {
    let method = req.method().as_str().to_owned();
    let path = req.uri().path().to_owned();
    let headers: HashMap<String, String> = req
        .headers()
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_ascii_lowercase(), v.to_str().ok()?.to_owned())))
        .collect();
    let body = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let body: Json = serde_json::from_slice(&body).unwrap_or(Json::Null);
    // Recorded on arrival (a slow answer still shows the request at once); the status is
    // filled in when the answer is ready.
    let (delay, index) = {
        let mut s = state.lock().expect("state");
        s.received.push(Received {
            method: method.clone(),
            path: path.clone(),
            headers: headers.clone(),
            body: body.clone(),
            status: 0,
        });
        (s.delay, s.received.len() - 1)
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let (status, answer) = {
        let mut s = state.lock().expect("state");
        let (status, answer) = answer(&mut s, &method, &path, &headers, &body);
        s.received[index].status = status;
        (status, answer)
    };
    let mut response = hyper::Response::new(Full::new(Bytes::from(answer.to_string())));
    *response.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert("content-type", hyper::header::HeaderValue::from_static("application/json"));
    Ok(response)
}
