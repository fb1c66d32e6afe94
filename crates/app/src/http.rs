//! Plain request/response values: each host converts its own types to these and back.

/// Bodies above this are refused with 413 (the contract's 1 MiB). Hosts should stop reading
/// at `MAX_BODY_BYTES + 1` so a huge body is never buffered whole.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Collects a request body up to `MAX_BODY_BYTES + 1` bytes: enough for the app to see that a
/// body is too large without ever buffering a huge one. Hosts feed it frame by frame.
#[derive(Debug, Default)]
pub struct BoundedBody(Vec<u8>);

impl BoundedBody {
    /// Appends a chunk; false once the limit is passed (stop reading).
    pub fn push(&mut self, chunk: &[u8]) -> bool {
        let room = MAX_BODY_BYTES + 1 - self.0.len();
        self.0.extend_from_slice(&chunk[..chunk.len().min(room)]);
        self.0.len() <= MAX_BODY_BYTES
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }
}

#[derive(Debug, Clone, Default)]
pub struct Request {
    pub method: String,
    /// The path without the query string, e.g. `/api/v1/reservations/ABC`.
    pub path: String,
    /// The raw query string without `?`, if any.
    pub query: Option<String>,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The socket peer's address, when the host knows it.
    pub peer: Option<std::net::IpAddr>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Query parameters, percent-decoded, in order.
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        self.query
            .as_deref()
            .map(|q| url::form_urlencoded::parse(q.as_bytes()).into_owned().collect())
            .unwrap_or_default()
    }

    pub fn query_param(&self, name: &str) -> Option<String> {
        self.query_pairs().into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }
}

#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn json(status: u16, value: &serde_json::Value) -> Response {
        Response {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: serde_json::to_vec(value).unwrap_or_default(),
        }
    }

    pub fn text(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Response {
        Response { status, headers: vec![("content-type".into(), content_type.into())], body: body.into() }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_body_stops_one_byte_past_the_limit() {
        let mut body = BoundedBody::default();
        assert!(body.push(&vec![b'a'; MAX_BODY_BYTES]));
        assert!(!body.push(b"bc"));
        assert_eq!(body.into_bytes().len(), MAX_BODY_BYTES + 1);
    }

    #[test]
    fn query_pairs_are_decoded() {
        let req = Request { query: Some("a=1&b=hola%20mundo&c=x+y".into()), ..Request::default() };
        assert_eq!(req.query_param("b").as_deref(), Some("hola mundo"));
        assert_eq!(req.query_param("c").as_deref(), Some("x y"));
        assert_eq!(req.query_param("z"), None);
    }
}
