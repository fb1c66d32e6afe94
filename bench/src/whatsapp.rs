//! WhatsApp reply latency: the time from a webhook delivery to its reply queued (and, as the
//! webhook does, sent once to a local Graph API stand-in over loopback), measured as the
//! webhook's round trip. Text: a typical first message answered with a full quote. Audio: a
//! 5-second espeak-ng voice note transcribed by the REAL Whisper sidecar at `WHISPER_URL`
//! (the audio figure is printed only when `WHISPER_URL` is set).
//!
//! `BENCH_WA_TEXT` (default 200) and `BENCH_WA_AUDIO` (default 10) set the sample sizes.

use crate::load::percentile;
use anyhow::{Context, Result};
use chrono::{Datelike, Duration, Utc};
use reservas::clock::NativeClock;
use reservas_app::Config;
use serde_json::json;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const PHONE_ID: &str = "100000000000001";
const TOKEN: &str = "bench-token";

/// A minimal Graph API: `POST /{phone}/messages` → 200, `GET /{media}` → `{url}`, `GET
/// /media/{id}` → the note's bytes.
async fn graph(note: Arc<Vec<u8>>) -> Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let url = base.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else { continue };
            let (note, base) = (note.clone(), base.clone());
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 8192];
                // Read the head and whatever body Content-Length announces.
                loop {
                    let Ok(n) = stream.read(&mut chunk).await else { return };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..end]).to_lowercase();
                        let length = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:").map(|v| v.trim().parse().unwrap_or(0)))
                            .unwrap_or(0usize);
                        if buf.len() >= end + 4 + length {
                            break;
                        }
                    }
                }
                let head = String::from_utf8_lossy(&buf).to_string();
                let line = head.lines().next().unwrap_or_default().to_owned();
                let (content_type, body): (&str, Vec<u8>) = if line.starts_with("POST") {
                    (
                        "application/json",
                        br#"{"messaging_product":"whatsapp","messages":[{"id":"wamid.bench"}]}"#.to_vec(),
                    )
                } else if line.contains(" /media/") {
                    ("audio/ogg", note.to_vec())
                } else {
                    let id = line.split_whitespace().nth(1).unwrap_or("/").trim_start_matches('/').to_owned();
                    let meta =
                        json!({ "url": format!("{base}/media/{id}"), "mime_type": "audio/ogg; codecs=opus", "id": id });
                    ("application/json", meta.to_string().into_bytes())
                };
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes()).await;
                let _ = stream.write_all(&body).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    Ok(url)
}

/// Speaks about five seconds of Spanish into OGG/Opus (espeak-ng es-419, ffmpeg + libopus).
fn voice_note(dir: &Path, text: &str) -> Result<Vec<u8>> {
    let (wav, ogg) = (dir.join("bench-note.wav"), dir.join("bench-note.ogg"));
    let ok = std::process::Command::new("espeak-ng")
        .args(["-v", "es-419", "-s", "150", "-w"])
        .arg(&wav)
        .arg("--")
        .arg(text)
        .status()
        .context("espeak-ng")?
        .success();
    anyhow::ensure!(ok, "espeak-ng failed");
    let ok = std::process::Command::new("ffmpeg")
        .args(["-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-i"])
        .arg(&wav)
        .args(["-ac", "1", "-ar", "16000", "-c:a", "libopus", "-b:a", "24k", "-application", "voip"])
        .arg(&ogg)
        .status()
        .context("ffmpeg")?
        .success();
    anyhow::ensure!(ok, "ffmpeg failed");
    Ok(std::fs::read(ogg)?)
}

fn delivery(phone: &str, wamid: &str, kind: &str, content: serde_json::Value) -> String {
    let mut message =
        json!({ "from": phone, "id": wamid, "timestamp": Utc::now().timestamp().to_string(), "type": kind });
    message[kind] = content;
    json!({ "object": "whatsapp_business_account", "entry": [{ "id": "1", "changes": [{ "field": "messages",
        "value": { "messaging_product": "whatsapp", "contacts": [{ "profile": { "name": "Bench" }, "wa_id": phone }],
        "messages": [message] } }] }] })
    .to_string()
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok()).unwrap_or(default)
}

async fn count(env: &reservas::NativeEnv, sql: &str) -> Result<i64> {
    use reservas_app::ports::{Conn, Db};
    let conn = env.db.connect().await?;
    let rows = conn.query(sql, &[]).await?;
    Ok(rows.first().map(|r| r.int(0)).transpose()?.unwrap_or(0))
}

pub async fn section(dir: &Path, figures: &mut crate::Figures) -> Result<()> {
    let whisper = std::env::var("WHISPER_URL").ok().filter(|u| !u.trim().is_empty());
    // Mid-month dates 20 to 40 days out, so every request gets a full quote.
    let mut check_in = Utc::now().date_naive() + Duration::days(20);
    while check_in.day() > 18 {
        check_in += Duration::days(1);
    }
    let month = reservas_domain::templates::MONTHS[check_in.month0() as usize];
    let note = match &whisper {
        Some(_) => {
            voice_note(dir, &format!("Hola, quiero reservar del quince al dieciocho de {month} para cuatro personas"))?
        }
        None => Vec::new(),
    };
    let graph_url = graph(Arc::new(note)).await?;
    let database = dir.join("whatsapp.db");
    let database = database.to_str().context("database path is not UTF-8")?.to_owned();
    let mut vars = vec![
        ("ENVIRONMENT", "development".to_owned()),
        ("DATABASE_URL", database),
        ("ADMIN_ALLOWED_EMAILS", crate::host::ADMIN_EMAIL.to_owned()),
        ("WHATSAPP_ACCESS_TOKEN", TOKEN.to_owned()),
        ("WHATSAPP_PHONE_ID", PHONE_ID.to_owned()),
        ("WHATSAPP_API_BASE", graph_url),
    ];
    if let Some(url) = &whisper {
        vars.push(("WHISPER_URL", url.clone()));
    }
    let config = Config::from_lookup(|name| vars.iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone()))?;
    let env = Arc::new(reservas::open_env(config, NativeClock::new()).await?);
    let server = reservas::server::start(env.clone(), "127.0.0.1:0").await?;
    let webhook = format!("http://{}/api/v1/whatsapp/webhook", server.addr);
    let client = reqwest::Client::builder().no_proxy().build()?;
    reservas_app::admin::seed(env.as_ref()).await?;

    // Five guests: one of the two demo cabins fits, so the answer is a quote.
    let text = format!("hola! hay lugar del {} al {} de {month} para 5?", check_in.day(), check_in.day() + 3);
    let samples = env_number("BENCH_WA_TEXT", 200);
    let mut text_times = Vec::with_capacity(samples);
    for i in 0..samples {
        let body = delivery(&format!("54911{:08}", i), &format!("wamid.text.{i}"), "text", json!({ "body": text }));
        let started = Instant::now();
        let response = client.post(&webhook).header("content-type", "application/json").body(body).send().await?;
        anyhow::ensure!(response.status().is_success(), "webhook answered {}", response.status());
        text_times.push(started.elapsed());
    }
    let ms = |samples: &[std::time::Duration], p: f64| percentile(samples, p).as_secs_f64() * 1e3;
    let quotes =
        count(&env, "SELECT count(*) FROM outbox WHERE channel = 'whatsapp' AND body_text LIKE '%Hay lugar%'").await?;
    eprintln!(
        "whatsapp text reply: {samples} deliveries, {quotes} quotes, p50 {:.1} ms, p95 {:.1} ms",
        ms(&text_times, 50.0),
        ms(&text_times, 95.0)
    );
    anyhow::ensure!(quotes as usize == samples, "every text delivery should have been answered with a quote");
    figures.add("whatsapp_text_reply_p50_ms", ms(&text_times, 50.0), 3);
    figures.add("whatsapp_text_reply_p95_ms", ms(&text_times, 95.0), 3);

    if whisper.is_some() {
        let samples = env_number("BENCH_WA_AUDIO", 10);
        let mut audio_times = Vec::with_capacity(samples);
        for i in 0..samples {
            let content = json!({ "id": format!("MEDIA{i}"), "mime_type": "audio/ogg; codecs=opus", "voice": true });
            let body = delivery(&format!("54922{:08}", i), &format!("wamid.audio.{i}"), "audio", content);
            let started = Instant::now();
            let response = client.post(&webhook).header("content-type", "application/json").body(body).send().await?;
            anyhow::ensure!(response.status().is_success(), "webhook answered {}", response.status());
            audio_times.push(started.elapsed());
        }
        let understood =
            count(&env, "SELECT count(*) FROM whatsapp_inbox WHERE kind = 'audio' AND outcome = 'replied'").await?;
        eprintln!(
            "whatsapp voice-note reply (real sidecar): {samples} notes, {understood} understood, p50 {:.1} ms, p95 {:.1} ms",
            ms(&audio_times, 50.0),
            ms(&audio_times, 95.0)
        );
        figures.add("whatsapp_audio_reply_p50_ms", ms(&audio_times, 50.0), 3);
        figures.add("whatsapp_audio_reply_p95_ms", ms(&audio_times, 95.0), 3);
        figures.add("whatsapp_audio_understood_share", understood as f64 / samples.max(1) as f64, 3);
    } else {
        eprintln!("whatsapp voice-note reply: skipped (set WHISPER_URL to a running sidecar)");
    }
    server.shutdown().await;
    Ok(())
}
