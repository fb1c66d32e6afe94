//! Outbound HTTP natively: reqwest with rustls, a timeout on the whole exchange and a cap on
//! the response body, read chunk by chunk so a huge answer is never buffered whole.

use reservas_app::ports::{Http, HttpError, OutboundRequest, OutboundResponse};

#[derive(Clone)]
pub struct NativeHttp {
    client: reqwest::Client,
}

impl NativeHttp {
    pub fn new() -> anyhow::Result<NativeHttp> {
        let client = reqwest::Client::builder()
            .user_agent(concat!("reservas/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::limited(3))
            .build()?;
        Ok(NativeHttp { client })
    }
}

fn classify(e: reqwest::Error) -> HttpError {
    if e.is_timeout() {
        HttpError::Timeout
    } else if e.is_connect() {
        HttpError::Connect(e.to_string())
    } else {
        HttpError::Other(e.to_string())
    }
}

#[async_trait::async_trait]
impl Http for NativeHttp {
    async fn send(&self, request: OutboundRequest) -> Result<OutboundResponse, HttpError> {
        let method = reqwest::Method::from_bytes(request.method.as_bytes())
            .map_err(|_| HttpError::Other(format!("bad method {}", request.method)))?;
        let mut builder = self.client.request(method, &request.url).timeout(request.timeout);
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        let exchange = async {
            let mut response = builder.body(request.body).send().await.map_err(classify)?;
            if response.content_length().is_some_and(|len| len > request.max_response_bytes as u64) {
                return Err(HttpError::TooLarge);
            }
            let status = response.status().as_u16();
            let headers = response
                .headers()
                .iter()
                .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
                .collect();
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(classify)? {
                if body.len() + chunk.len() > request.max_response_bytes {
                    return Err(HttpError::TooLarge);
                }
                body.extend_from_slice(&chunk);
            }
            Ok(OutboundResponse { status, headers, body })
        };
        // reqwest's timeout covers the body too; this outer bound also covers a server that
        // trickles bytes forever.
        tokio::time::timeout(request.timeout, exchange).await.map_err(|_| HttpError::Timeout)?
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn serve_once(response: Vec<u8>, delay: Duration) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf).await;
            tokio::time::sleep(delay).await;
            let _ = stream.write_all(&response).await;
        });
        format!("http://{addr}/")
    }

    #[tokio::test]
    async fn reads_a_response() {
        let url =
            serve_once(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nx-a: b\r\n\r\nok".to_vec(), Duration::ZERO).await;
        let r = NativeHttp::new().unwrap().send(OutboundRequest::new("GET", url)).await.unwrap();
        assert_eq!((r.status, r.body.as_slice(), r.header("X-A")), (200, &b"ok"[..], Some("b")));
    }

    #[tokio::test]
    async fn a_slow_server_times_out() {
        let url = serve_once(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok".to_vec(), Duration::from_secs(5)).await;
        let req = OutboundRequest::new("GET", url).timeout(Duration::from_millis(200));
        assert_eq!(NativeHttp::new().unwrap().send(req).await.unwrap_err(), HttpError::Timeout);
    }

    #[tokio::test]
    async fn a_huge_body_is_refused() {
        let mut response = b"HTTP/1.1 200 OK\r\n\r\n".to_vec();
        response.extend(vec![b'x'; 100_000]);
        let url = serve_once(response, Duration::ZERO).await;
        let req = OutboundRequest::new("GET", url).max_response_bytes(10_000);
        assert_eq!(NativeHttp::new().unwrap().send(req).await.unwrap_err(), HttpError::TooLarge);
    }

    #[tokio::test]
    async fn a_closed_port_is_a_connect_error() {
        let req = OutboundRequest::new("GET", "http://127.0.0.1:1/").timeout(Duration::from_secs(2));
        assert!(matches!(NativeHttp::new().unwrap().send(req).await, Err(HttpError::Connect(_))));
    }
}
