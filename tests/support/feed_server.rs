//! A local calendar-feed server for the sync tests: serves given bodies with an ETag and a
//! Last-Modified (answering 304 to a matching conditional request), and on demand answers 500,
//! never answers, or streams 50 MB of garbage. It records every request it gets.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What a path answers.
#[derive(Debug, Clone)]
pub enum Behavior {
    /// 200 with this body, `ETag` and `Last-Modified`; 304 when the request's `If-None-Match`
    /// or `If-Modified-Since` matches them.
    Ics { body: String, etag: String, last_modified: String },
    /// This status with a short HTML body.
    Status(u16),
    /// Reads the request and never answers.
    Hang,
    /// 200 and `bytes` bytes of non-calendar garbage, without a Content-Length.
    Garbage { bytes: usize },
}

/// A request as the server saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub path: String,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct State {
    paths: HashMap<String, Behavior>,
    requests: Vec<Recorded>,
    version: u64,
}

pub struct FeedServer {
    pub addr: std::net::SocketAddr,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FeedServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FeedServer {
    pub async fn start() -> FeedServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind feed server");
        let addr = listener.local_addr().expect("addr");
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, shared.clone()));
            }
        });
        FeedServer { addr, state, task }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Serves `body` at `path` with a fresh ETag and Last-Modified.
    pub fn serve(&self, path: &str, body: impl Into<String>) {
        let mut state = self.state.lock().expect("state");
        state.version += 1;
        let version = state.version;
        let behavior = Behavior::Ics {
            body: body.into(),
            etag: format!("\"v{version}\""),
            last_modified: format!("Mon, 01 Mar 2027 12:{:02}:{:02} GMT", (version / 60) % 60, version % 60),
        };
        state.paths.insert(path.to_owned(), behavior);
    }

    pub fn set(&self, path: &str, behavior: Behavior) {
        self.state.lock().expect("state").paths.insert(path.to_owned(), behavior);
    }

    /// The requests made for `path`, in order.
    pub fn requests(&self, path: &str) -> Vec<Recorded> {
        self.state.lock().expect("state").requests.iter().filter(|r| r.path == path).cloned().collect()
    }
}

async fn serve(mut stream: TcpStream, state: Arc<Mutex<State>>) {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
        if head.len() > 64 * 1024 {
            return;
        }
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    let mut lines = text.split("\r\n");
    let path = lines.next().and_then(|l| l.split(' ').nth(1)).unwrap_or("/").to_owned();
    let headers: Vec<(String, String)> = lines
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let recorded = Recorded { path: path.clone(), headers };
    let behavior = {
        let mut state = state.lock().expect("state");
        state.requests.push(recorded.clone());
        state.paths.get(&path).cloned()
    };
    let respond = |status: &str, extra: &str, body: &[u8]| {
        let mut out =
            format!("HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n{extra}\r\n", body.len())
                .into_bytes();
        out.extend_from_slice(body);
        out
    };
    let bytes = match behavior {
        None => respond("404 Not Found", "content-type: text/html\r\n", b"<html>not found</html>"),
        Some(Behavior::Ics { body, etag, last_modified }) => {
            let fresh = recorded.header("if-none-match") == Some(etag.as_str())
                || recorded.header("if-modified-since") == Some(last_modified.as_str());
            let validators = format!("etag: {etag}\r\nlast-modified: {last_modified}\r\n");
            if fresh {
                respond("304 Not Modified", &validators, b"")
            } else {
                respond(
                    "200 OK",
                    &format!("content-type: text/calendar; charset=utf-8\r\n{validators}"),
                    body.as_bytes(),
                )
            }
        }
        Some(Behavior::Status(code)) => {
            respond(&format!("{code} Error"), "content-type: text/html\r\n", b"<html><body>oops</body></html>")
        }
        Some(Behavior::Hang) => {
            tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
            return;
        }
        Some(Behavior::Garbage { bytes }) => {
            let head = "HTTP/1.1 200 OK\r\ncontent-type: text/calendar\r\nconnection: close\r\n\r\n";
            if stream.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            let chunk: Vec<u8> = (0..64 * 1024).map(|i| b"#@!garbage\x00\xff"[i % 12]).collect();
            let mut sent = 0;
            while sent < bytes {
                let n = chunk.len().min(bytes - sent);
                if stream.write_all(&chunk[..n]).await.is_err() {
                    return; // the client gave up, as it should
                }
                sent += n;
            }
            let _ = stream.shutdown().await;
            return;
        }
    };
    let _ = stream.write_all(&bytes).await;
    let _ = stream.shutdown().await;
}
