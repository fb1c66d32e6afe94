//! The HTTP front of the native host: hyper in, `reservas_app::handle` inside, hyper out.

use crate::NativeEnv;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use reservas_app::http::{BoundedBody, MAX_BODY_BYTES};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// A server accepting connections until dropped or shut down.
pub struct RunningServer {
    pub addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl RunningServer {
    /// Stops accepting and waits for the accept loop to end (in-flight requests finish on
    /// their own tasks).
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        let _ = self.task.await;
    }
}

pub async fn start(env: Arc<NativeEnv>, listen: &str) -> anyhow::Result<RunningServer> {
    let listener = TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    let (shutdown, mut stop) = watch::channel(false);
    let task = tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = stop.changed() => break,
                accepted = listener.accept() => {
                    let Ok((stream, peer)) = accepted else { continue };
                    let _ = stream.set_nodelay(true);
                    let env = env.clone();
                    tokio::spawn(async move {
                        let service = service_fn(move |req| serve_one(env.clone(), peer, req));
                        let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
                    });
                }
            }
        }
    });
    Ok(RunningServer { addr, shutdown, task })
}

async fn read_body(mut body: Incoming) -> Vec<u8> {
    let mut buf = BoundedBody::default();
    while let Some(Ok(frame)) = body.frame().await {
        if let Some(data) = frame.data_ref() {
            if !buf.push(data) {
                break;
            }
        }
    }
    buf.into_bytes()
}

async fn serve_one(
    env: Arc<NativeEnv>,
    peer: SocketAddr,
    req: hyper::Request<Incoming>,
) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
    let (parts, body) = req.into_parts();
    let declared_too_large = parts
        .headers
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok())
        .is_some_and(|len| len > MAX_BODY_BYTES);
    let body = if declared_too_large { vec![0; MAX_BODY_BYTES + 1] } else { read_body(body).await };
    let request = reservas_app::Request {
        method: parts.method.as_str().to_owned(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        headers: parts
            .headers
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
            .collect(),
        body,
        peer: Some(peer.ip()),
    };
    let response = reservas_app::handle(env.as_ref(), request).await;
    let mut builder = hyper::Response::builder().status(response.status);
    for (name, value) in &response.headers {
        builder = builder.header(name, value);
    }
    let body = if parts.method == hyper::Method::HEAD { Vec::new() } else { response.body };
    Ok(builder.body(Full::new(Bytes::from(body))).unwrap_or_else(|_| {
        let mut fallback = hyper::Response::new(Full::new(Bytes::from_static(
            b"{\"error\":\"internal_error\",\"detail\":\"bad response\"}",
        )));
        *fallback.status_mut() = hyper::StatusCode::INTERNAL_SERVER_ERROR;
        fallback
    }))
}
