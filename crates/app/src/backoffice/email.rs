//! Email over an HTTP API (Resend-style JSON: `{from, to, subject, text, html}`), through the
//! outbound HTTP port. Every message carries its idempotency key, so a retry after a lost
//! response is recognised by the provider instead of sent twice.

use crate::config::Config;
use crate::ports::{Env, Http, OutboundRequest};
use reservas_domain::outbox::{verdict, ProviderVerdict};
use serde_json::json;
use std::time::Duration;

/// The whole exchange with the provider, connect to last byte.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// Provider answers are small; anything larger is not an email API talking.
const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// Where and as whom email goes out.
#[derive(Debug, Clone)]
pub struct Settings {
    pub url: String,
    pub api_key: Option<String>,
    pub from: String,
}

impl Settings {
    /// `None` when `EMAIL_API_URL` is not set: email is then not configured and messages wait.
    pub fn from_config(config: &Config) -> Option<Settings> {
        let url = config.email_api_url.clone()?;
        let from = config.email_from.clone().unwrap_or_else(|| format!("Reservas <reservas@{}>", config.domain));
        Some(Settings { url, api_key: config.email_api_key.clone(), from })
    }
}

/// A rendered message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Content {
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
}

/// How one attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmailOutcome {
    Accepted { provider_id: Option<String> },
    Failed { error: String, permanent: bool },
}

pub fn request(settings: &Settings, to: &str, idempotency_key: &str, content: &Content) -> OutboundRequest {
    let mut body = json!({
        "from": settings.from,
        "to": [to],
        "subject": content.subject,
        "text": content.text,
    });
    if let Some(html) = &content.html {
        body["html"] = json!(html);
    }
    let mut request = OutboundRequest::new("POST", settings.url.as_str())
        .header("idempotency-key", idempotency_key)
        .json(&body)
        .timeout(SEND_TIMEOUT)
        .max_response_bytes(MAX_RESPONSE_BYTES);
    if let Some(key) = &settings.api_key {
        request = request.bearer(key);
    }
    request
}

/// Sends one message. Never an error to the caller: every failure is an outcome to record.
pub async fn send<E: Env>(
    env: &E,
    settings: &Settings,
    to: &str,
    idempotency_key: &str,
    content: &Content,
) -> EmailOutcome {
    match env.http().send(request(settings, to, idempotency_key, content)).await {
        Ok(response) => match verdict(response.status) {
            ProviderVerdict::Accepted => EmailOutcome::Accepted {
                provider_id: response
                    .json()
                    .and_then(|body| body.get("id").and_then(|id| id.as_str().map(str::to_owned))),
            },
            other => {
                let body = String::from_utf8_lossy(&response.body);
                EmailOutcome::Failed {
                    error: format!("HTTP {}: {}", response.status, body.chars().take(300).collect::<String>()),
                    permanent: other == ProviderVerdict::Permanent,
                }
            }
        },
        // Timeouts and refused connections heal; a disallowed or malformed URL is our own
        // configuration, and fixing it must find the messages still there. So: retry.
        Err(e) => EmailOutcome::Failed { error: e.to_string(), permanent: false },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_is_resend_shaped_and_carries_the_key() {
        let settings =
            Settings { url: "https://api.example/emails".into(), api_key: Some("k".into()), from: "a@b.c".into() };
        let content = Content { subject: "S".into(), text: "T".into(), html: Some("<p>T</p>".into()) };
        let req = request(&settings, "ana@example.com", "reservas-1", &content);
        assert_eq!(req.method, "POST");
        assert!(req.headers.contains(&("idempotency-key".into(), "reservas-1".into())));
        assert!(req.headers.contains(&("authorization".into(), "Bearer k".into())));
        let body: serde_json::Value = serde_json::from_slice(&req.body).unwrap();
        assert_eq!(body["to"][0], "ana@example.com");
        assert_eq!(body["from"], "a@b.c");
        assert_eq!(body["html"], "<p>T</p>");
    }
}
