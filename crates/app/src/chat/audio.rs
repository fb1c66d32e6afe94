//! Voice notes: the two-step Graph API media download, the Whisper sidecar (OpenAI-compatible
//! `/v1/audio/transcriptions` or whisper.cpp's `/inference`, by `WHISPER_API`), and
//! `POST /api/v1/audio/transcribe`. Every failure is an [`AudioError`] the conversation turns
//! into the friendly `audio_unclear` reply; none is ever an error to the guest.

use crate::error::{ApiError, ApiResult};
use crate::http::{Request, Response};
use crate::ports::{Env, Http, HttpError, OutboundRequest};
use reservas_domain::whatsapp::parse_transcription;
use serde_json::json;
use std::time::Duration;

/// WhatsApp voice notes are at most 16 MB.
const MAX_MEDIA_BYTES: usize = 16 * 1024 * 1024;
/// Each of the two media requests.
const MEDIA_TIMEOUT: Duration = Duration::from_secs(5);
/// The transcription endpoint's own limit on waiting for the sidecar.
const ENDPOINT_TIMEOUT: Duration = Duration::from_secs(30);

/// Why there is no usable transcript.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AudioError {
    #[error("WHISPER_URL is not set")]
    NotConfigured,
    #[error("WhatsApp media is not configured (WHATSAPP_ACCESS_TOKEN)")]
    MediaNotConfigured,
    #[error("timed out")]
    Timeout,
    #[error("media download failed: {0}")]
    Media(String),
    #[error("transcription failed: {0}")]
    Whisper(String),
}

/// A transcript and how sure the sidecar was (0..1).
#[derive(Debug, Clone, PartialEq)]
pub struct Transcript {
    pub text: String,
    pub confidence: f64,
}

fn http_error(e: HttpError, what: fn(String) -> AudioError) -> AudioError {
    match e {
        HttpError::Timeout => AudioError::Timeout,
        other => what(other.to_string()),
    }
}

/// Downloads a WhatsApp media object: `GET {base}/{media_id}` → `{url, mime_type}`, then
/// `GET url`, both with the Bearer token. Returns the bytes and their MIME type.
pub async fn fetch_media<E: Env>(env: &E, media_id: &str) -> Result<(Vec<u8>, Option<String>), AudioError> {
    let config = env.config();
    let token = config.whatsapp_access_token.as_deref().ok_or(AudioError::MediaNotConfigured)?;
    if media_id.is_empty() || !media_id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        return Err(AudioError::Media("malformed media id".into()));
    }
    let base = config.whatsapp_api_base.trim_end_matches('/');
    let meta = env
        .http()
        .send(
            OutboundRequest::new("GET", format!("{base}/{media_id}"))
                .bearer(token)
                .timeout(MEDIA_TIMEOUT)
                .max_response_bytes(64 * 1024),
        )
        .await
        .map_err(|e| http_error(e, AudioError::Media))?;
    if !meta.is_success() {
        return Err(AudioError::Media(format!("media lookup answered HTTP {}", meta.status)));
    }
    let meta = meta.json().unwrap_or_default();
    let url = meta["url"].as_str().ok_or_else(|| AudioError::Media("media lookup without url".into()))?;
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(AudioError::Media("media url is not http(s)".into()));
    }
    let mime = meta["mime_type"].as_str().map(str::to_owned);
    let bytes = env
        .http()
        .send(OutboundRequest::new("GET", url).bearer(token).timeout(MEDIA_TIMEOUT).max_response_bytes(MAX_MEDIA_BYTES))
        .await
        .map_err(|e| http_error(e, AudioError::Media))?;
    if !bytes.is_success() {
        return Err(AudioError::Media(format!("media download answered HTTP {}", bytes.status)));
    }
    let mime = mime.or_else(|| bytes.header("content-type").map(str::to_owned));
    Ok((bytes.body, mime))
}

/// A file name whose extension tells the sidecar the container.
fn file_name(mime: Option<&str>) -> &'static str {
    let mime = mime.unwrap_or("").to_ascii_lowercase();
    let essence = mime.split(';').next().unwrap_or("").trim();
    match essence {
        "audio/mpeg" | "audio/mp3" => "audio.mp3",
        "audio/mp4" | "audio/m4a" | "audio/x-m4a" | "audio/aac" => "audio.m4a",
        "audio/wav" | "audio/x-wav" | "audio/wave" => "audio.wav",
        "audio/webm" => "audio.webm",
        "audio/amr" => "audio.amr",
        _ => "audio.ogg",
    }
}

/// A `multipart/form-data` body: text fields, then the file. Returns (content type, body).
/// Written by hand: it is a dozen lines, and the one decoder crate we use (multer) only
/// reads.
pub fn multipart(fields: &[(&str, &str)], file: (&str, &str, &[u8])) -> (String, Vec<u8>) {
    let boundary = format!("reservas-{}", crate::random::hex_id());
    let mut body = Vec::with_capacity(file.2.len() + 512);
    for (name, value) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes(),
        );
    }
    let (name, content_type, bytes) = file;
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: {content_type}\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// Sends audio to the sidecar and reads the transcript and its confidence.
pub async fn transcribe<E: Env>(
    env: &E,
    audio: &[u8],
    mime: Option<&str>,
    timeout: Duration,
) -> Result<Transcript, AudioError> {
    let config = env.config();
    let base = config.whisper_url.as_deref().ok_or(AudioError::NotConfigured)?.trim_end_matches('/');
    let whispercpp = config.whisper_api.eq_ignore_ascii_case("whispercpp");
    let (url, fields): (String, Vec<(&str, &str)>) = if whispercpp {
        let url = if base.ends_with("/inference") { base.to_owned() } else { format!("{base}/inference") };
        (url, vec![("language", "es"), ("response_format", "json"), ("temperature", "0")])
    } else {
        let url = if base.ends_with("/v1/audio/transcriptions") {
            base.to_owned()
        } else {
            format!("{base}/v1/audio/transcriptions")
        };
        let model = config.audio_model.as_str();
        // `model_name` too: faster-whisper-server 0.0.3 reads that field instead of `model`.
        (url, vec![("model", model), ("model_name", model), ("language", "es"), ("response_format", "verbose_json")])
    };
    let content_type = mime.filter(|m| m.starts_with("audio/")).unwrap_or("audio/ogg");
    let (form_type, body) = multipart(&fields, (file_name(mime), content_type, audio));
    let response = env
        .http()
        .send(OutboundRequest::new("POST", url).body(&form_type, body).timeout(timeout).max_response_bytes(1024 * 1024))
        .await
        .map_err(|e| http_error(e, AudioError::Whisper))?;
    if !response.is_success() {
        return Err(AudioError::Whisper(format!("HTTP {}", response.status)));
    }
    let body = response.json().ok_or_else(|| AudioError::Whisper("answer is not JSON".into()))?;
    let (text, confidence) =
        parse_transcription(&body).ok_or_else(|| AudioError::Whisper("answer has no text".into()))?;
    Ok(Transcript { text, confidence })
}

/// The audio of a transcription request: the `file` part of a multipart form, or the raw
/// body with its content type.
async fn uploaded(req: &Request) -> ApiResult<(Vec<u8>, Option<String>)> {
    let content_type = req.header("content-type").unwrap_or("").to_owned();
    if content_type.to_ascii_lowercase().starts_with("multipart/form-data") {
        let boundary = multer::parse_boundary(&content_type)
            .map_err(|_| ApiError::Validation("multipart body without a boundary".into()))?;
        let body = bytes::Bytes::from(req.body.clone());
        let stream = futures_util::stream::once(async move { Ok::<_, std::io::Error>(body) });
        let mut form = multer::Multipart::new(stream, boundary);
        while let Some(field) =
            form.next_field().await.map_err(|e| ApiError::Validation(format!("malformed multipart body: {e}")))?
        {
            if field.name() == Some("file") {
                let mime = field.content_type().map(|m| m.to_string());
                let data =
                    field.bytes().await.map_err(|e| ApiError::Validation(format!("malformed multipart body: {e}")))?;
                return Ok((data.to_vec(), mime));
            }
        }
        return Err(ApiError::Validation("the multipart form has no `file` part".into()));
    }
    let mime = (!content_type.is_empty()).then_some(content_type);
    Ok((req.body.clone(), mime))
}

/// `POST /api/v1/audio/transcribe`: multipart `file` or a raw audio body →
/// `{text, confidence, intent, entities, clear}` (`clear`: at least `AUDIO_MIN_CONFIDENCE`).
/// Open in development; in production it needs an admin token (it spends the sidecar's CPU).
pub async fn endpoint<E: Env>(env: &E, req: &Request) -> ApiResult<Response> {
    if !env.config().is_development() {
        crate::admin::admin_claims(env, req.header("authorization"))?;
    }
    let (audio, mime) = uploaded(req).await?;
    if audio.is_empty() {
        return Err(ApiError::Validation("no audio: send a multipart `file` or the raw audio as the body".into()));
    }
    match transcribe(env, &audio, mime.as_deref(), ENDPOINT_TIMEOUT).await {
        Ok(t) => {
            let understood = super::understand::understand(&t.text, env.clock().now());
            Ok(Response::json(
                200,
                &json!({
                    "text": t.text,
                    "confidence": (t.confidence * 1000.0).round() / 1000.0,
                    "clear": !t.text.is_empty() && t.confidence >= env.config().audio_min_confidence,
                    "intent": understood.intent_name(),
                    "entities": understood.entities(),
                }),
            ))
        }
        Err(e) => {
            tracing::warn!(error = %e, "transcription failed");
            Ok(Response::json(503, &json!({ "error": "audio_unclear", "detail": format!("no transcript: {e}") })))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_multipart_body_is_well_formed() {
        let (content_type, body) = multipart(&[("language", "es")], ("audio.ogg", "audio/ogg", b"OggS..."));
        let boundary = content_type.strip_prefix("multipart/form-data; boundary=").unwrap();
        let text = String::from_utf8_lossy(&body);
        assert!(text.starts_with(&format!("--{boundary}\r\n")));
        assert!(text.contains("name=\"language\"\r\n\r\nes\r\n"));
        assert!(text.contains("filename=\"audio.ogg\"\r\nContent-Type: audio/ogg\r\n\r\nOggS...\r\n"));
        assert!(text.ends_with(&format!("--{boundary}--\r\n")));
    }

    #[test]
    fn file_names_follow_the_mime_type() {
        assert_eq!(file_name(Some("audio/ogg; codecs=opus")), "audio.ogg");
        assert_eq!(file_name(Some("audio/mpeg")), "audio.mp3");
        assert_eq!(file_name(None), "audio.ogg");
    }
}
