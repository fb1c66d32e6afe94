//! WhatsApp Cloud API rules with no I/O: the webhook's signature, what a delivery carries,
//! the shape of outgoing messages within Meta's limits, masking guests' numbers for logs, and
//! how sure a transcription is.

use crate::secret::{constant_time_eq, hex, hmac_sha256};
use serde_json::{json, Value};

/// The longest text body Meta accepts.
pub const MAX_TEXT_CHARS: usize = 4096;
/// The longest interactive body Meta accepts.
pub const MAX_INTERACTIVE_BODY_CHARS: usize = 1024;
/// At most this many reply buttons per message.
pub const MAX_BUTTONS: usize = 3;
/// A reply button's title is at most this many characters.
pub const MAX_BUTTON_TITLE_CHARS: usize = 20;
/// A reply button's id is at most this many characters.
pub const MAX_BUTTON_ID_CHARS: usize = 256;

/// Checks `X-Hub-Signature-256: sha256=<hex>`: HMAC-SHA256 of the raw body under the app
/// secret, compared in constant time. A missing prefix or malformed hex is a mismatch.
pub fn signature_valid(app_secret: &str, raw_body: &[u8], header: Option<&str>) -> bool {
    let Some(presented) = header.map(str::trim).and_then(|h| h.strip_prefix("sha256=")) else {
        return false;
    };
    let expected = hex(&hmac_sha256(app_secret.as_bytes(), raw_body));
    constant_time_eq(presented.trim().to_ascii_lowercase().as_bytes(), expected.as_bytes())
}

/// A phone number for logs: the country prefix and the last two digits only
/// (`5491122334455` → `54*********55`).
pub fn mask_phone(phone: &str) -> String {
    let digits: Vec<char> = phone.chars().filter(char::is_ascii_digit).collect();
    if digits.len() <= 4 {
        return "*".repeat(digits.len());
    }
    let keep_tail = 2;
    let keep_head = 2;
    digits
        .iter()
        .enumerate()
        .map(|(i, c)| if i < keep_head || i >= digits.len() - keep_tail { *c } else { '*' })
        .collect()
}

/// What a guest sent, as the webhook carries it.
#[derive(Debug, Clone, PartialEq)]
pub enum Content {
    /// A typed message.
    Text(String),
    /// A voice note or audio file, to be downloaded by its media id.
    Audio { media_id: String, mime_type: Option<String> },
    /// A tap on one of our reply buttons: its id and title.
    Button { id: String, title: String },
    /// Anything else (images, stickers, locations...): acknowledged, answered with a hint.
    Other(String),
}

impl Content {
    /// How the inbox stores the kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Content::Text(_) => "text",
            Content::Audio { .. } => "audio",
            Content::Button { .. } => "button",
            Content::Other(_) => "other",
        }
    }
}

/// One inbound message of a delivery.
#[derive(Debug, Clone, PartialEq)]
pub struct Inbound {
    /// Meta's message id (`wamid...`): the dedupe key.
    pub wamid: String,
    /// The guest's WhatsApp id (their number, digits only).
    pub from: String,
    /// The profile name from `contacts`, when given.
    pub name: Option<String>,
    /// The message's own Unix timestamp (seconds), when given.
    pub timestamp: Option<i64>,
    pub content: Content,
}

/// What one webhook delivery carries: every message of every entry and change, and how many
/// status receipts it had (acknowledged, nothing else).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Delivery {
    pub messages: Vec<Inbound>,
    pub statuses: usize,
}

fn text_of(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Reads a delivery. Unknown fields, objects and message types are tolerated; a message
/// without an id or a sender is skipped (it cannot be deduplicated or answered).
pub fn parse_delivery(body: &Value) -> Delivery {
    let mut delivery = Delivery::default();
    let empty = Vec::new();
    for entry in body["entry"].as_array().unwrap_or(&empty) {
        for change in entry["changes"].as_array().unwrap_or(&empty) {
            let value = &change["value"];
            delivery.statuses += value["statuses"].as_array().map_or(0, Vec::len);
            let contacts = value["contacts"].as_array().unwrap_or(&empty);
            for message in value["messages"].as_array().unwrap_or(&empty) {
                let (Some(wamid), Some(from)) = (message["id"].as_str(), message["from"].as_str().map(str::to_owned))
                else {
                    continue;
                };
                let from: String = from.chars().filter(char::is_ascii_digit).collect();
                if wamid.is_empty() || from.is_empty() {
                    continue;
                }
                let name = contacts
                    .iter()
                    .find(|c| c["wa_id"].as_str().is_some_and(|w| w == from))
                    .or_else(|| (contacts.len() == 1).then(|| &contacts[0]))
                    .and_then(|c| c["profile"]["name"].as_str())
                    .map(str::to_owned);
                let timestamp = text_of(&message["timestamp"]).and_then(|t| t.parse::<i64>().ok());
                let kind = message["type"].as_str().unwrap_or("unknown");
                let content = match kind {
                    "text" => Content::Text(message["text"]["body"].as_str().unwrap_or_default().to_owned()),
                    "audio" => match message["audio"]["id"].as_str() {
                        Some(id) => Content::Audio {
                            media_id: id.to_owned(),
                            mime_type: message["audio"]["mime_type"].as_str().map(str::to_owned),
                        },
                        None => Content::Other("audio".into()),
                    },
                    "interactive" => {
                        let reply = &message["interactive"]["button_reply"];
                        let reply = if reply.is_object() { reply } else { &message["interactive"]["list_reply"] };
                        match reply["id"].as_str() {
                            Some(id) => Content::Button {
                                id: id.to_owned(),
                                title: reply["title"].as_str().unwrap_or_default().to_owned(),
                            },
                            None => Content::Other("interactive".into()),
                        }
                    }
                    // A tap on a quick-reply button of a template.
                    "button" => Content::Button {
                        id: message["button"]["payload"].as_str().unwrap_or_default().to_owned(),
                        title: message["button"]["text"].as_str().unwrap_or_default().to_owned(),
                    },
                    other => Content::Other(other.to_owned()),
                };
                delivery.messages.push(Inbound { wamid: wamid.to_owned(), from, name, timestamp, content });
            }
        }
    }
    delivery
}

/// A reply button: an id we read back when tapped, and a short title.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Button {
    pub id: String,
    pub title: String,
}

impl Button {
    /// A button with its title cut to Meta's 20 characters.
    pub fn new(id: impl Into<String>, title: &str) -> Button {
        Button { id: truncate(&id.into(), MAX_BUTTON_ID_CHARS), title: truncate(title, MAX_BUTTON_TITLE_CHARS) }
    }
}

/// Cuts `text` to `max` characters (never inside a character), marking the cut with `…`.
pub fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// The Graph API body of a message to `to`: plain text, or text with up to three reply
/// buttons (extra buttons are dropped; titles and the body are cut to Meta's limits).
pub fn message_body(to: &str, text: &str, buttons: &[Button]) -> Value {
    if buttons.is_empty() {
        return json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to,
            "type": "text",
            "text": { "preview_url": true, "body": truncate(text, MAX_TEXT_CHARS) },
        });
    }
    let buttons: Vec<Value> = buttons
        .iter()
        .take(MAX_BUTTONS)
        .map(|b| {
            json!({ "type": "reply", "reply": {
                "id": truncate(&b.id, MAX_BUTTON_ID_CHARS),
                "title": truncate(&b.title, MAX_BUTTON_TITLE_CHARS),
            }})
        })
        .collect();
    json!({
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "interactive",
        "interactive": {
            "type": "button",
            "body": { "text": truncate(text, MAX_INTERACTIVE_BODY_CHARS) },
            "action": { "buttons": buttons },
        },
    })
}

/// One segment of a verbose transcription, as Whisper servers report it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Segment {
    pub start: f64,
    pub end: f64,
    pub avg_logprob: f64,
    pub no_speech_prob: f64,
    pub compression_ratio: f64,
}

impl Segment {
    /// Whisper's own rules for a segment not to trust: no speech (`no_speech_prob > 0.6` with
    /// `avg_logprob < -1`) or a repetition loop (`compression_ratio > 2.4`).
    pub fn is_suspect(&self) -> bool {
        (self.no_speech_prob > 0.6 && self.avg_logprob < -1.0) || self.compression_ratio > 2.4
    }
}

/// Phrases Whisper is known to invent from silence or noise in Spanish.
const HALLUCINATIONS: &[&str] =
    &["amara.org", "subtítulos", "subtitulos", "gracias por ver", "suscríbete", "suscribete"];

/// How sure a transcription is, from 0 to 1. With segments: `exp` of the duration-weighted
/// mean `avg_logprob`, scaled down by the share of the audio in suspect segments (see
/// [`Segment::is_suspect`]). Without them (plain `json`): a heuristic on the text alone.
/// Empty text and Whisper's known hallucinations are (nearly) 0.
pub fn transcript_confidence(text: &str, segments: &[Segment]) -> f64 {
    let trimmed = text.trim();
    let letters = trimmed.chars().filter(|c| c.is_alphabetic()).count();
    if letters == 0 {
        return 0.0;
    }
    let lower = trimmed.to_lowercase();
    if HALLUCINATIONS.iter().any(|h| lower.contains(h)) {
        return 0.05;
    }
    if !segments.is_empty() {
        let weight = |s: &Segment| (s.end - s.start).max(0.1);
        let total: f64 = segments.iter().map(weight).sum();
        let good: Vec<&Segment> = segments.iter().filter(|s| !s.is_suspect()).collect();
        let good_total: f64 = good.iter().map(|s| weight(s)).sum();
        if good.is_empty() || good_total <= 0.0 {
            return 0.0;
        }
        let mean = good.iter().map(|s| s.avg_logprob.min(0.0) * weight(s)).sum::<f64>() / good_total;
        return (mean.exp() * good_total / total).clamp(0.0, 1.0);
    }
    // Plain text: mostly letters and a few words reads as speech; symbols and one stray
    // syllable do not.
    let chars = trimmed.chars().filter(|c| !c.is_whitespace()).count().max(1);
    let letter_share = letters as f64 / chars as f64;
    let words = trimmed.split_whitespace().filter(|w| w.chars().any(char::is_alphabetic)).count();
    let base = match words {
        0 => 0.0,
        1 => 0.55,
        2 => 0.7,
        _ => 0.8,
    };
    (base * letter_share.min(1.0)).clamp(0.0, 1.0)
}

/// Parses a Whisper server's JSON answer (`json` or `verbose_json`): the text and its
/// confidence.
pub fn parse_transcription(body: &Value) -> Option<(String, f64)> {
    let text = body["text"].as_str()?.trim().to_owned();
    let segments: Vec<Segment> = body["segments"]
        .as_array()
        .map(|segments| {
            segments
                .iter()
                .filter_map(|s| {
                    Some(Segment {
                        start: s["start"].as_f64().unwrap_or(0.0),
                        end: s["end"].as_f64().unwrap_or(0.0),
                        avg_logprob: s["avg_logprob"].as_f64()?,
                        no_speech_prob: s["no_speech_prob"].as_f64().unwrap_or(0.0),
                        compression_ratio: s["compression_ratio"].as_f64().unwrap_or(1.0),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let confidence = transcript_confidence(&text, &segments);
    Some((text, confidence))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_over_the_raw_body() {
        let body = br#"{"object":"whatsapp_business_account"}"#;
        let good = format!("sha256={}", hex(&hmac_sha256(b"secret", body)));
        assert!(signature_valid("secret", body, Some(&good)));
        assert!(signature_valid("secret", body, Some(&good.to_uppercase().replace("SHA256=", "sha256="))));
        assert!(!signature_valid("other", body, Some(&good)));
        assert!(!signature_valid("secret", b"{}", Some(&good)));
        assert!(!signature_valid("secret", body, Some(good.trim_start_matches("sha256="))));
        assert!(!signature_valid("secret", body, None));
        assert!(!signature_valid("secret", body, Some("sha256=zz")));
    }

    #[test]
    fn phones_are_masked() {
        assert_eq!(mask_phone("5491122334455"), "54*********55");
        assert_eq!(mask_phone("+54 9 11"), "54*11");
        assert_eq!(mask_phone("123"), "***");
    }

    #[test]
    fn every_message_of_every_entry_is_read() {
        let body = json!({"object":"whatsapp_business_account","entry":[
            {"id":"1","changes":[{"field":"messages","value":{
                "contacts":[{"profile":{"name":"Ana"},"wa_id":"5491100000001"},{"profile":{"name":"Beto"},"wa_id":"5491100000002"}],
                "messages":[
                    {"from":"5491100000001","id":"wamid.A","timestamp":"1760000000","type":"text","text":{"body":"hola"}},
                    {"from":"5491100000002","id":"wamid.B","timestamp":"1760000001","type":"audio","audio":{"id":"M1","mime_type":"audio/ogg; codecs=opus","voice":true}}
                ]}}]},
            {"id":"2","changes":[
                {"field":"messages","value":{"statuses":[{"id":"wamid.X","status":"read"}]}},
                {"field":"messages","value":{"messages":[
                    {"from":"5491100000001","id":"wamid.C","type":"interactive","interactive":{"type":"button_reply","button_reply":{"id":"reserve","title":"Reservar"}}},
                    {"from":"5491100000001","type":"text","text":{"body":"no id"}}
                ]}}]}
        ]});
        let d = parse_delivery(&body);
        assert_eq!(d.statuses, 1);
        assert_eq!(d.messages.len(), 3);
        assert_eq!(d.messages[0].name.as_deref(), Some("Ana"));
        assert_eq!(d.messages[1].name.as_deref(), Some("Beto"));
        assert_eq!(d.messages[0].timestamp, Some(1760000000));
        assert!(matches!(&d.messages[1].content, Content::Audio { media_id, .. } if media_id == "M1"));
        assert_eq!(d.messages[2].content, Content::Button { id: "reserve".into(), title: "Reservar".into() });
    }

    #[test]
    fn messages_respect_meta_limits() {
        let long = "a".repeat(5000);
        let body = message_body("549", &long, &[]);
        assert_eq!(body["text"]["body"].as_str().unwrap().chars().count(), MAX_TEXT_CHARS);
        let buttons: Vec<Button> =
            (0..5).map(|i| Button::new(format!("b{i}"), "Un título bastante largo para un botón")).collect();
        let body = message_body("549", "hola", &buttons);
        let sent = body["interactive"]["action"]["buttons"].as_array().unwrap();
        assert_eq!(sent.len(), 3);
        assert!(sent.iter().all(|b| b["reply"]["title"].as_str().unwrap().chars().count() <= 20));
    }

    #[test]
    fn confidence_from_segments_and_heuristics() {
        let good = [Segment { start: 0.0, end: 3.0, avg_logprob: -0.2, no_speech_prob: 0.01, compression_ratio: 1.0 }];
        assert!(transcript_confidence("hola quiero reservar", &good) > 0.75);
        let bad = [Segment { start: 0.0, end: 3.0, avg_logprob: -1.5, no_speech_prob: 0.7, compression_ratio: 1.0 }];
        assert_eq!(transcript_confidence("eh", &bad), 0.0);
        let mixed = [good[0], bad[0]];
        assert!((transcript_confidence("hola", &mixed) - (-0.2f64).exp() / 2.0).abs() < 1e-9);
        assert_eq!(transcript_confidence("  ", &[]), 0.0);
        assert!(transcript_confidence("Subtítulos realizados por la comunidad de Amara.org", &[]) < 0.1);
        assert!(transcript_confidence("hola, quiero reservar el finde", &[]) >= 0.7);
        let (text, c) = parse_transcription(&json!({"text": " hola "})).unwrap();
        assert_eq!(text, "hola");
        assert!(c > 0.5);
    }
}
