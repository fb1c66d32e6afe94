//! The plumbing every local fake provider shares: an HTTP/1 server on a free loopback port
//! that hands each request, with the fake's state, to the fake's handler. Dropping it stops
//! the server.

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

pub type FakeResponse = Result<hyper::Response<Full<Bytes>>, Infallible>;

pub struct FakeServer {
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves `handle(state, request)` for every request until dropped.
pub async fn serve<S, F, Fut>(state: Arc<Mutex<S>>, handle: F) -> FakeServer
where
    S: Send + 'static,
    F: Fn(Arc<Mutex<S>>, hyper::Request<Incoming>) -> Fut + Copy + Send + Sync + 'static,
    Fut: Future<Output = FakeResponse> + Send + 'static,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a fake provider");
    let addr = listener.local_addr().expect("addr");
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let state = state.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req| handle(state.clone(), req));
                let _ =
                    hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
            });
        }
    });
    FakeServer { addr, task }
}
