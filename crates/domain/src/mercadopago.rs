//! Mercado Pago, as its webhook and payments API really behave: the `x-signature` check (what
//! is signed is a manifest built from the query string and headers, never the body), the two
//! notification forms (webhook and legacy IPN), the payment as `GET /v1/payments/{id}` returns
//! it, and the order of its states. Pure: no I/O, time is a parameter.

use crate::money::Cents;
use crate::secret::{constant_time_eq, hex, hmac_sha256};
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::fmt;

// ---------------------------------------------------------------- signature

/// The parts of an `x-signature` header that matter (`ts=<ts>,v1=<hex>`); other parts are
/// ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureHeader {
    /// As sent: milliseconds in current examples, seconds in older ones.
    pub ts: String,
    /// The HMAC, lowercase hex.
    pub v1: String,
}

/// Why a notification's signature was refused. Every case answers 403 `invalid_signature`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the x-signature header is missing")]
    Missing,
    #[error("the x-signature header is malformed")]
    Malformed,
    #[error("the signature does not match")]
    Mismatch,
}

impl SignatureHeader {
    /// Parses `ts=..,v1=..`: parts separated by `,`, key and value by `=`, spaces around either
    /// tolerated, unknown parts ignored. A missing, empty or repeated `ts` or `v1`, a `ts` that is
    /// not a number or a `v1` that is not 64 hex digits is malformed.
    pub fn parse(header: &str) -> Result<SignatureHeader, SignatureError> {
        let mut ts: Option<&str> = None;
        let mut v1: Option<&str> = None;
        for part in header.split(',') {
            let Some((key, value)) = part.split_once('=') else {
                continue;
            };
            let slot = match key.trim().to_ascii_lowercase().as_str() {
                "ts" => &mut ts,
                "v1" => &mut v1,
                _ => continue,
            };
            if slot.replace(value.trim()).is_some() {
                return Err(SignatureError::Malformed);
            }
        }
        let ts = ts.filter(|t| (1..=20).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_digit()));
        let v1 = v1.filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()));
        match (ts, v1) {
            (Some(ts), Some(v1)) => Ok(SignatureHeader { ts: ts.to_owned(), v1: v1.to_ascii_lowercase() }),
            _ => Err(SignatureError::Malformed),
        }
    }

    /// When the notification was signed: `ts` read as milliseconds when it is too large to be
    /// seconds (both units occur), `None` when out of range.
    pub fn signed_at(&self) -> Option<DateTime<Utc>> {
        let n: i64 = self.ts.parse().ok()?;
        if n >= 100_000_000_000 {
            DateTime::from_timestamp_millis(n)
        } else {
            DateTime::from_timestamp(n, 0)
        }
    }
}

/// The signed text: `id:<data.id>;request-id:<x-request-id>;ts:<ts>;`, each pair ending with
/// `;`, and the `id` and `request-id` pairs left out when absent (or empty). `ts` always stays.
pub fn manifest(data_id: Option<&str>, request_id: Option<&str>, ts: &str) -> String {
    let mut text = String::new();
    if let Some(id) = data_id.filter(|v| !v.is_empty()) {
        text.push_str(&format!("id:{id};"));
    }
    if let Some(rid) = request_id.filter(|v| !v.is_empty()) {
        text.push_str(&format!("request-id:{rid};"));
    }
    text.push_str(&format!("ts:{ts};"));
    text
}

/// The `v1` a sender holding `secret` would put on that manifest.
pub fn sign(secret: &[u8], data_id: Option<&str>, request_id: Option<&str>, ts: &str) -> String {
    hex(&hmac_sha256(secret, manifest(data_id, request_id, ts).as_bytes()))
}

/// Checks an `x-signature` header against the manifest built from what arrived: `data.id` from
/// the query string and the `x-request-id` header, each as received. Mercado Pago's docs also
/// say an alphanumeric `data.id` is signed lower-cased while the SDKs sign it as received; both
/// readings are accepted (payment ids are numeric, so for payments they coincide). Constant
/// time.
pub fn verify(
    secret: &[u8],
    header: Option<&str>,
    data_id: Option<&str>,
    request_id: Option<&str>,
) -> Result<SignatureHeader, SignatureError> {
    let header = SignatureHeader::parse(header.ok_or(SignatureError::Missing)?)?;
    let lowered = data_id.filter(|id| id.bytes().any(|b| b.is_ascii_uppercase())).map(str::to_ascii_lowercase);
    let candidates = std::iter::once(data_id).chain(lowered.as_deref().map(Some));
    let mut matched = false;
    for id in candidates {
        let expected = sign(secret, id, request_id, &header.ts);
        matched |= constant_time_eq(expected.as_bytes(), header.v1.as_bytes());
    }
    if matched {
        Ok(header)
    } else {
        Err(SignatureError::Mismatch)
    }
}

// ---------------------------------------------------------------- notifications

/// A Mercado Pago payment id: digits only (it is also a URL path segment when we fetch it).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PaymentId(String);

impl PaymentId {
    /// 1 to 20 ASCII digits, surrounding spaces ignored; a JSON number is read as its digits.
    pub fn parse(text: &str) -> Option<PaymentId> {
        let text = text.trim();
        ((1..=20).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit())).then(|| PaymentId(text.to_owned()))
    }

    fn from_json(value: &Value) -> Option<PaymentId> {
        match value {
            Value::String(s) => PaymentId::parse(s),
            Value::Number(n) => n.as_u64().and_then(|n| PaymentId::parse(&n.to_string())),
            _ => None,
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PaymentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How a notification was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotificationForm {
    /// `?data.id=..&type=payment`, body `{"action", "type", "data": {"id"}}`; signed.
    Webhook,
    /// Legacy IPN: `?topic=payment&id=..` or a body `{"resource", "topic"}`; may arrive unsigned.
    Ipn,
}

impl NotificationForm {
    pub fn as_str(self) -> &'static str {
        match self {
            NotificationForm::Webhook => "webhook",
            NotificationForm::Ipn => "ipn",
        }
    }
}

/// What a notification says. It carries no amount and no status: a payment notification only
/// ever means "fetch payment `id`".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub form: NotificationForm,
    /// `type` (webhook) or `topic` (IPN), as sent; empty when absent.
    pub topic: String,
    /// The payment to fetch; `None` for anything that is not about a payment (merchant orders,
    /// unknown topics) or names no usable id: such a notification is acknowledged and ignored.
    pub payment: Option<PaymentId>,
}

impl Notification {
    /// Reads either form from the query pairs and the raw body. Never fails: a body that is not
    /// JSON is treated as empty.
    pub fn parse(query: &[(String, String)], body: &[u8]) -> Notification {
        let body: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let q = |key: &str| query.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
        let body_str = |key: &str| body.get(key).and_then(Value::as_str);
        let kind = q("type").or_else(|| body_str("type"));
        let topic = q("topic").or_else(|| body_str("topic"));
        let legacy = kind.is_none() && (topic.is_some() || body.get("resource").is_some());
        if legacy {
            let topic = topic.unwrap_or_default();
            let payment = (topic == "payment")
                .then(|| {
                    q("id").and_then(PaymentId::parse).or_else(|| {
                        // `resource` is a URL ending in the id, or the id alone.
                        let resource = body.get("resource")?;
                        PaymentId::from_json(resource).or_else(|| {
                            let path = resource.as_str()?.split(['?', '#']).next()?;
                            PaymentId::parse(path.trim_end_matches('/').rsplit('/').next()?)
                        })
                    })
                })
                .flatten();
            return Notification { form: NotificationForm::Ipn, topic: topic.to_owned(), payment };
        }
        // Some deliveries carry only `action` ("payment.updated"): that names the topic too.
        let action_says_payment = body_str("action").is_some_and(|a| a.starts_with("payment."));
        let is_payment = kind.map_or(action_says_payment, |k| k == "payment");
        let payment = is_payment
            .then(|| {
                q("data.id")
                    .and_then(PaymentId::parse)
                    .or_else(|| body.pointer("/data/id").and_then(PaymentId::from_json))
            })
            .flatten();
        let topic = kind.unwrap_or(if action_says_payment { "payment" } else { "" });
        Notification { form: NotificationForm::Webhook, topic: topic.to_owned(), payment }
    }
}

// ---------------------------------------------------------------- payment statuses

/// A payment's `status`. Unknown values are kept as `Other` (never an error: Mercado Pago adds
/// states over time).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PaymentStatus {
    Pending,
    InProcess,
    Authorized,
    Approved,
    Rejected,
    Cancelled,
    InMediation,
    Refunded,
    ChargedBack,
    Other,
}

/// Every status, for metrics labels and admin filters.
pub const PAYMENT_STATUSES: &[PaymentStatus] = &[
    PaymentStatus::Pending,
    PaymentStatus::InProcess,
    PaymentStatus::Authorized,
    PaymentStatus::Approved,
    PaymentStatus::Rejected,
    PaymentStatus::Cancelled,
    PaymentStatus::InMediation,
    PaymentStatus::Refunded,
    PaymentStatus::ChargedBack,
    PaymentStatus::Other,
];

impl PaymentStatus {
    pub fn parse(text: &str) -> PaymentStatus {
        PAYMENT_STATUSES
            .iter()
            .copied()
            .find(|s| *s != PaymentStatus::Other && s.as_str() == text)
            .unwrap_or(PaymentStatus::Other)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PaymentStatus::Pending => "pending",
            PaymentStatus::InProcess => "in_process",
            PaymentStatus::Authorized => "authorized",
            PaymentStatus::Approved => "approved",
            PaymentStatus::Rejected => "rejected",
            PaymentStatus::Cancelled => "cancelled",
            PaymentStatus::InMediation => "in_mediation",
            PaymentStatus::Refunded => "refunded",
            PaymentStatus::ChargedBack => "charged_back",
            PaymentStatus::Other => "other",
        }
    }

    /// How far along its life a payment in this status is. Used to order two snapshots when
    /// their `date_last_updated` cannot (equal or missing): a payment only moves up this scale
    /// (pending → in process → authorized → approved / rejected / cancelled → in mediation →
    /// refunded / charged back).
    pub fn rank(self) -> u8 {
        match self {
            PaymentStatus::Other | PaymentStatus::Pending => 0,
            PaymentStatus::InProcess => 1,
            PaymentStatus::Authorized => 2,
            PaymentStatus::Approved | PaymentStatus::Rejected | PaymentStatus::Cancelled => 3,
            PaymentStatus::InMediation => 4,
            PaymentStatus::Refunded | PaymentStatus::ChargedBack => 5,
        }
    }

    /// Money that was received and then taken back: after a confirmation the reservation needs
    /// an admin's eye.
    pub fn reverses_money(self) -> bool {
        matches!(self, PaymentStatus::Refunded | PaymentStatus::ChargedBack | PaymentStatus::Cancelled)
    }
}

/// Where a snapshot sits in a payment's history: by `date_last_updated`, then by status rank.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Version {
    pub last_updated: Option<DateTime<Utc>>,
    pub rank: u8,
}

impl Version {
    /// Whether a snapshot at `self` replaces one at `current`. A later `date_last_updated`
    /// wins; when the dates are equal or either is missing, only a higher rank does. Equal
    /// versions never replace each other, so a duplicate applies nothing.
    pub fn supersedes(&self, current: &Version) -> bool {
        match (self.last_updated, current.last_updated) {
            (Some(a), Some(b)) if a != b => a > b,
            _ => self.rank > current.rank,
        }
    }
}

/// Why a payments API answer cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SnapshotError {
    #[error("the payment has no usable id")]
    MissingId,
    #[error("asked for payment {asked}, got {got}")]
    WrongId { asked: String, got: String },
    #[error("the payment has no status")]
    MissingStatus,
}

/// A payment as `GET /v1/payments/{id}` describes it: the fields the service acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentSnapshot {
    pub id: PaymentId,
    pub status: PaymentStatus,
    /// The status text as sent (kept for unknown statuses).
    pub status_text: String,
    pub status_detail: Option<String>,
    /// Our reservation code, when the payment came from one of our preferences.
    pub external_reference: Option<String>,
    /// `transaction_amount`; `None` when absent or not an exact two-decimal amount.
    pub amount: Option<Cents>,
    pub currency: Option<String>,
    pub date_created: Option<DateTime<Utc>>,
    pub date_approved: Option<DateTime<Utc>>,
    pub date_last_updated: Option<DateTime<Utc>>,
}

fn date(value: Option<&Value>) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(value?.as_str()?).ok().map(|d| d.with_timezone(&Utc))
}

fn text(value: Option<&Value>) -> Option<String> {
    value?.as_str().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned)
}

impl PaymentSnapshot {
    /// Reads the payments API's JSON for payment `asked`.
    pub fn from_json(asked: &PaymentId, json: &Value) -> Result<PaymentSnapshot, SnapshotError> {
        let id = json.get("id").and_then(PaymentId::from_json).ok_or(SnapshotError::MissingId)?;
        if &id != asked {
            return Err(SnapshotError::WrongId { asked: asked.to_string(), got: id.to_string() });
        }
        let status_text = text(json.get("status")).ok_or(SnapshotError::MissingStatus)?;
        Ok(PaymentSnapshot {
            id,
            status: PaymentStatus::parse(&status_text),
            status_text,
            status_detail: text(json.get("status_detail")),
            external_reference: text(json.get("external_reference")),
            amount: json.get("transaction_amount").and_then(|v| Cents::from_json(v).ok()),
            currency: text(json.get("currency_id")),
            date_created: date(json.get("date_created")),
            date_approved: date(json.get("date_approved")),
            date_last_updated: date(json.get("date_last_updated")),
        })
    }

    /// This snapshot's place in the payment's history. Without `date_last_updated` the latest
    /// date the payment carries stands in.
    pub fn version(&self) -> Version {
        Version {
            last_updated: self.date_last_updated.or(self.date_approved).or(self.date_created),
            rank: self.status.rank(),
        }
    }

    /// Whether the amount pays a deposit of `deposit`: ARS, and at least that much.
    pub fn covers(&self, deposit: Cents) -> bool {
        self.currency.as_deref() == Some("ARS") && self.amount.is_some_and(|a| a >= deposit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SECRET: &[u8] = b"your-webhook-secret";
    const REQUEST_ID: &str = "bb56a2f1-6aae-46ac-982e-9dcd3581d08e";
    // Computed independently: printf '<manifest>' | openssl dgst -sha256 -hmac your-webhook-secret
    const FULL: &str = "d5d5c00b3ea97ad48e3bbc56721b6bf8e61a59ff82153c2ae0d2a3a9f7816ac2";
    const NO_ID: &str = "4ab8e06e99a5d9ab5b5da6f203ad2311c4c05a1338e897714325316c3228c78a";
    const TS_ONLY: &str = "7dfdf589238abfc18792fdedc511b409e799dab09a320105209942fd9665daec";

    fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
    }

    #[test]
    fn the_manifest_leaves_out_absent_pairs_and_always_keeps_ts() {
        assert_eq!(manifest(Some("123456"), Some("r"), "1"), "id:123456;request-id:r;ts:1;");
        assert_eq!(manifest(None, Some("r"), "1"), "request-id:r;ts:1;");
        assert_eq!(manifest(Some(""), None, "1"), "ts:1;");
    }

    #[test]
    fn signatures_match_vectors_computed_with_openssl() {
        assert_eq!(sign(SECRET, Some("123456"), Some(REQUEST_ID), "1742505638683"), FULL);
        assert_eq!(sign(SECRET, None, Some(REQUEST_ID), "1742505638683"), NO_ID);
        assert_eq!(sign(SECRET, None, None, "1742505638"), TS_ONLY);
        let header = format!("ts=1742505638683,v1={FULL}");
        assert!(verify(SECRET, Some(&header), Some("123456"), Some(REQUEST_ID)).is_ok());
        let header = format!("ts=1742505638683,v1={NO_ID}");
        assert!(verify(SECRET, Some(&header), None, Some(REQUEST_ID)).is_ok());
    }

    #[test]
    fn anything_else_is_refused() {
        let header = format!("ts=1742505638683,v1={FULL}");
        let check = |secret: &[u8], h: Option<&str>, id: Option<&str>, rid: Option<&str>| verify(secret, h, id, rid);
        assert_eq!(check(b"other", Some(&header), Some("123456"), Some(REQUEST_ID)), Err(SignatureError::Mismatch));
        assert_eq!(check(SECRET, Some(&header), Some("123457"), Some(REQUEST_ID)), Err(SignatureError::Mismatch));
        assert_eq!(check(SECRET, Some(&header), Some("123456"), None), Err(SignatureError::Mismatch));
        assert_eq!(check(SECRET, Some(&header), None, Some(REQUEST_ID)), Err(SignatureError::Mismatch));
        assert_eq!(check(SECRET, None, Some("123456"), Some(REQUEST_ID)), Err(SignatureError::Missing));
        let later = format!("ts=1742505638684,v1={FULL}");
        assert_eq!(check(SECRET, Some(&later), Some("123456"), Some(REQUEST_ID)), Err(SignatureError::Mismatch));
    }

    #[test]
    fn the_header_tolerates_spaces_case_and_unknown_parts() {
        let header = format!(" ts = 1742505638683 , v2=abc, junk, V1= {} ", FULL.to_uppercase());
        let parsed = SignatureHeader::parse(&header).unwrap();
        assert_eq!(parsed, SignatureHeader { ts: "1742505638683".into(), v1: FULL.into() });
        assert!(verify(SECRET, Some(&header), Some("123456"), Some(REQUEST_ID)).is_ok());
    }

    #[test]
    fn malformed_headers_are_refused() {
        let v1 = FULL;
        for bad in [
            String::new(),
            "garbage".into(),
            format!("v1={v1}"),
            "ts=1742505638683".into(),
            format!("ts=,v1={v1}"),
            format!("ts=abc,v1={v1}"),
            format!("ts=1,v1={}", &v1[..63]),
            format!("ts=1,v1={}zz", &v1[..62]),
            format!("ts=1,ts=2,v1={v1}"),
            format!("ts=1,v1={v1},v1={v1}"),
        ] {
            assert_eq!(SignatureHeader::parse(&bad), Err(SignatureError::Malformed), "{bad}");
        }
    }

    #[test]
    fn an_uppercase_data_id_is_accepted_as_sent_or_lower_cased() {
        let as_sent = sign(SECRET, Some("AbC1"), None, "5");
        let lowered = sign(SECRET, Some("abc1"), None, "5");
        for v1 in [as_sent, lowered] {
            assert!(verify(SECRET, Some(&format!("ts=5,v1={v1}")), Some("AbC1"), None).is_ok());
        }
    }

    #[test]
    fn ts_is_read_in_milliseconds_or_seconds() {
        let ms = SignatureHeader { ts: "1742505638683".into(), v1: String::new() };
        let s = SignatureHeader { ts: "1742505638".into(), v1: String::new() };
        assert_eq!(ms.signed_at().unwrap().timestamp(), 1_742_505_638);
        assert_eq!(s.signed_at().unwrap().timestamp(), 1_742_505_638);
    }

    #[test]
    fn webhook_notifications_name_the_payment_in_the_query_or_the_body() {
        let body = br#"{"action":"payment.updated","api_version":"v1","data":{"id":"123456"},
            "date_created":"2021-11-01T02:02:02Z","id":"999","live_mode":false,"type":"payment","user_id":724484980}"#;
        let n = Notification::parse(&q(&[("data.id", "123456"), ("type", "payment")]), body);
        assert_eq!((n.form, n.payment.unwrap().as_str()), (NotificationForm::Webhook, "123456"));
        let n = Notification::parse(&[], body);
        assert_eq!(n.payment.unwrap().as_str(), "123456", "the body's data.id, never its own id");
        let n = Notification::parse(&[], br#"{"action":"payment.created","data":{"id":77}}"#);
        assert_eq!(n.payment.unwrap().as_str(), "77");
    }

    #[test]
    fn legacy_ipn_notifications_are_understood() {
        let n = Notification::parse(&q(&[("topic", "payment"), ("id", "42")]), b"");
        assert_eq!((n.form, n.payment.unwrap().as_str()), (NotificationForm::Ipn, "42"));
        let body = br#"{"resource":"https://api.mercadolibre.com/collections/notifications/43","topic":"payment"}"#;
        assert_eq!(Notification::parse(&[], body).payment.unwrap().as_str(), "43");
        let n = Notification::parse(&[], br#"{"resource":"44","topic":"payment"}"#);
        assert_eq!(n.payment.unwrap().as_str(), "44");
    }

    #[test]
    fn other_topics_and_junk_are_ignored_not_errors() {
        type Case = (Vec<(String, String)>, &'static [u8]);
        let cases: Vec<Case> = vec![
            (q(&[("topic", "merchant_order"), ("id", "1")]), b""),
            (q(&[("type", "merchant_order"), ("data.id", "1")]), b""),
            (q(&[("type", "payment"), ("data.id", "../../admin")]), b""),
            (q(&[("type", "payment")]), b"not json at all"),
            (vec![], b""),
            (vec![], br#"{"type":"subscription_preapproval","data":{"id":"1"}}"#),
            (vec![], b"[1,2,3]"),
        ];
        for (query, body) in cases {
            assert_eq!(
                Notification::parse(&query, body).payment,
                None,
                "{query:?} {:?}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn a_later_date_wins_and_equal_dates_fall_back_to_rank() {
        let at = |s: &str| Some(DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc));
        let v = |d: Option<DateTime<Utc>>, s: PaymentStatus| Version { last_updated: d, rank: s.rank() };
        let approved = v(at("2026-03-01T10:00:05.000-04:00"), PaymentStatus::Approved);
        let older_pending = v(at("2026-03-01T10:00:00.000-04:00"), PaymentStatus::Pending);
        let refunded = v(at("2026-03-02T10:00:00.000-04:00"), PaymentStatus::Refunded);
        assert!(approved.supersedes(&older_pending));
        assert!(!older_pending.supersedes(&approved), "never backwards");
        assert!(refunded.supersedes(&approved));
        assert!(!approved.supersedes(&approved), "a duplicate applies nothing");
        let undated_pending = v(None, PaymentStatus::Pending);
        assert!(!undated_pending.supersedes(&approved));
        assert!(v(None, PaymentStatus::Approved).supersedes(&undated_pending));
    }

    fn payment_json(status: &str, amount: Value) -> Value {
        json!({
            "id": 123456, "status": status, "status_detail": "accredited", "external_reference": "7K3MQ9XH4TR8B",
            "transaction_amount": amount, "currency_id": "ARS", "date_created": "2026-03-01T10:00:00.000-04:00",
            "date_approved": "2026-03-01T10:00:05.000-04:00", "date_last_updated": "2026-03-01T10:00:06.000-04:00",
        })
    }

    #[test]
    fn snapshots_read_the_fields_that_matter() {
        let id = PaymentId::parse("123456").unwrap();
        let s = PaymentSnapshot::from_json(&id, &payment_json("approved", json!(14400.5))).unwrap();
        assert_eq!(s.status, PaymentStatus::Approved);
        assert_eq!(s.amount, Some(Cents(14_400_50)));
        assert_eq!(s.external_reference.as_deref(), Some("7K3MQ9XH4TR8B"));
        assert_eq!(s.version().last_updated.unwrap().to_rfc3339(), "2026-03-01T14:00:06+00:00");
        assert!(s.covers(Cents(14_400_50)) && !s.covers(Cents(14_400_51)));
        let odd = PaymentSnapshot::from_json(&id, &payment_json("in_limbo", json!(1.234))).unwrap();
        assert_eq!((odd.status, odd.status_text.as_str(), odd.amount), (PaymentStatus::Other, "in_limbo", None));
        assert!(!odd.covers(Cents(0)), "an amount we cannot read pays nothing");
    }

    #[test]
    fn snapshots_of_another_payment_or_without_status_are_refused() {
        let other = PaymentId::parse("1").unwrap();
        assert!(matches!(
            PaymentSnapshot::from_json(&other, &payment_json("approved", json!(1))),
            Err(SnapshotError::WrongId { .. })
        ));
        let id = PaymentId::parse("123456").unwrap();
        assert_eq!(PaymentSnapshot::from_json(&id, &json!({"id": "123456"})), Err(SnapshotError::MissingStatus));
        assert_eq!(PaymentSnapshot::from_json(&id, &json!({"status": "approved"})), Err(SnapshotError::MissingId));
    }

    #[test]
    fn statuses_round_trip() {
        for s in PAYMENT_STATUSES.iter().filter(|s| **s != PaymentStatus::Other) {
            assert_eq!(PaymentStatus::parse(s.as_str()), *s);
        }
        assert_eq!(PaymentStatus::parse("other"), PaymentStatus::Other);
        assert!(PaymentStatus::ChargedBack.reverses_money() && !PaymentStatus::Approved.reverses_money());
    }

    #[test]
    fn the_metric_labels_are_exactly_the_statuses() {
        let spec = crate::metrics::COUNTERS.iter().find(|c| c.name == crate::metrics::PAYMENTS_RECEIVED).unwrap();
        let labels: Vec<&str> = PAYMENT_STATUSES.iter().map(|s| s.as_str()).collect();
        assert_eq!(spec.label, Some(("status", labels.as_slice())));
    }
}
