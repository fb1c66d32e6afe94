//! Outbound HTTP under Spin (wasi:http through spin-sdk). The timeout is passed to the host as
//! connect, first-byte and between-bytes limits (a host that does not support one ignores it);
//! the body is read frame by frame up to the request's cap.

use bytes::Bytes;
use http_body_util::BodyExt;
use reservas_app::ports::{Http, HttpError, OutboundRequest, OutboundResponse};
use spin_sdk::http::FullBody;
use spin_sdk::wasip3::http::types::{ErrorCode, RequestOptions};
use spin_sdk::wasip3::http_compat::RequestOptionsExtension;

#[derive(Debug, Clone, Copy, Default)]
pub struct SpinHttp;

fn options(timeout: std::time::Duration) -> RequestOptions {
    let nanos = u64::try_from(timeout.as_nanos()).unwrap_or(u64::MAX);
    let options = RequestOptions::new();
    let _ = options.set_connect_timeout(Some(nanos));
    let _ = options.set_first_byte_timeout(Some(nanos));
    let _ = options.set_between_bytes_timeout(Some(nanos));
    options
}

fn classify(code: ErrorCode) -> HttpError {
    match code {
        ErrorCode::ConnectionTimeout | ErrorCode::ConnectionReadTimeout | ErrorCode::ConnectionWriteTimeout => {
            HttpError::Timeout
        }
        ErrorCode::HttpResponseTimeout => HttpError::Timeout,
        ErrorCode::DestinationNotFound | ErrorCode::DestinationUnavailable | ErrorCode::ConnectionRefused => {
            HttpError::Connect(format!("{code:?}"))
        }
        ErrorCode::HttpRequestDenied => HttpError::NotAllowed("not in allowed_outbound_hosts".into()),
        other => HttpError::Other(format!("{other:?}")),
    }
}

#[async_trait::async_trait(?Send)]
impl Http for SpinHttp {
    async fn send(&self, request: OutboundRequest) -> Result<OutboundResponse, HttpError> {
        let mut builder = http::Request::builder().method(request.method.as_str()).uri(&request.url);
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        let mut outgoing = builder
            .body(FullBody::new(Bytes::from(request.body)))
            .map_err(|e| HttpError::Other(format!("bad request: {e}")))?;
        outgoing.extensions_mut().insert(RequestOptionsExtension(options(request.timeout)));
        let response = spin_sdk::http::send(outgoing).await.map_err(classify)?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
            .collect();
        let mut body = response.into_body();
        let mut bytes = Vec::new();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| HttpError::Other(format!("reading the response: {e:?}")))?;
            if let Ok(data) = frame.into_data() {
                if bytes.len() + data.len() > request.max_response_bytes {
                    return Err(HttpError::TooLarge);
                }
                bytes.extend_from_slice(&data);
            }
        }
        Ok(OutboundResponse { status, headers, body: bytes })
    }
}
