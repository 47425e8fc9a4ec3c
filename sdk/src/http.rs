//! Outbound HTTP for channel code, blocking.
//!
//! ```no_run
//! # use switchboard_sdk::{http, ChannelError};
//! # fn f() -> Result<(), ChannelError> {
//! let answer = http::post("https://api.example.com/send")
//!     .bearer_auth("token")
//!     .json(&serde_json::json!({"text": "hi"}))
//!     .send()?;
//! if answer.is_success() { /* answer.json::<T>()? */ }
//! # Ok(()) }
//! ```
//!
//! The host checks every request against the manifest's `outbound-hosts` and the operator's
//! allow list. Errors never carry the URL's path or query (bot tokens live there), only its host.

use serde::Serialize;
use serde::de::DeserializeOwned;
pub use wstd::http::Method;

use crate::ChannelError;

/// Starts a `GET` request.
pub fn get(url: impl Into<String>) -> Request {
    Request::new(Method::GET, url)
}

/// Starts a `POST` request.
pub fn post(url: impl Into<String>) -> Request {
    Request::new(Method::POST, url)
}

/// `url` with `pairs` appended to its query, percent-encoded as a form is (what
/// [`Request::query`] does; for a URL that is not requested, e.g. a login's redirect).
pub fn with_query<'a>(url: &str, pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let encoded = form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
    if encoded.is_empty() {
        return url.to_owned();
    }
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}{encoded}")
}

/// Whether `url` is an absolute `http://` or `https://` URL with a host (a setting's check).
pub fn is_web_url(url: &str) -> bool {
    Target::parse(url).is_ok_and(|target| matches!(target.scheme, wasi::Scheme::Http | wasi::Scheme::Https))
}

/// An outbound request, built step by step and sent with [`Request::send`].
/// Not `Debug`: its URL and headers hold credentials.
#[derive(Clone)]
pub struct Request {
    method: Method,
    url: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    /// Any method, e.g. `Method::DELETE` or `Method::PATCH`.
    pub fn new(method: Method, url: impl Into<String>) -> Self {
        Self { method, url: url.into(), headers: Vec::new(), body: Vec::new() }
    }

    /// With a request header.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// `Authorization: Bearer <token>`.
    pub fn bearer_auth(self, token: &str) -> Self {
        self.header("authorization", format!("Bearer {token}"))
    }

    /// `Authorization: Basic base64(user:password)`.
    pub fn basic_auth(self, user: &str, password: &str) -> Self {
        use base64::Engine as _;
        let credentials = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        self.header("authorization", format!("Basic {credentials}"))
    }

    /// Appends query parameters to the URL, percent-encoded.
    pub fn query<'a>(mut self, pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        self.url = with_query(&self.url, pairs);
        self
    }

    /// A JSON body, with its content type.
    pub fn json(self, body: &impl Serialize) -> Self {
        // Only maps with non-string keys fail to serialize: a bug in the plugin.
        let body = serde_json::to_vec(body).expect("request body serializes to JSON");
        self.body("application/json", body)
    }

    /// An `application/x-www-form-urlencoded` body (OAuth token endpoints).
    pub fn form<'a>(self, fields: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
        self.body("application/x-www-form-urlencoded", body)
    }

    /// A body of any type.
    pub fn body(self, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        let mut request = self.header("content-type", content_type);
        request.body = body.into();
        request
    }

    /// Sends the request and reads the whole answer. Any HTTP status is an answer; failing to
    /// get one is [`ChannelError::Transient`], except a request the host refused to let out,
    /// which is [`ChannelError::Provider`] (retrying cannot help).
    ///
    /// Made with the `wasi:http` calls themselves, blocking (a call is sequential anyway): an
    /// async client's executor, `http`'s typed headers and `anyhow` doubled the code Cranelift
    /// compiles for each plugin at a cold start.
    pub fn send(self) -> Result<Response, ChannelError> {
        let target = Target::parse(&self.url)?;
        let host = target.host();
        let invalid = |what: &str| ChannelError::Provider(format!("invalid request to {host}: {what}"));
        let mut headers: Vec<(String, Vec<u8>)> = self.headers.iter().map(|(name, value)| (name.to_ascii_lowercase(), value.clone().into_bytes())).collect();
        // Without a length the body goes chunked, which some servers refuse (411).
        if !(self.body.is_empty() && matches!(self.method, Method::GET | Method::HEAD)) {
            headers.push(("content-length".into(), self.body.len().to_string().into_bytes()));
        }
        let fields = wasi::Fields::from_list(&headers).map_err(|e| invalid(&format!("a header is refused ({e:?})")))?;
        let request = wasi::OutgoingRequest::new(fields);
        request.set_method(&wasi_method(&self.method)).map_err(|()| invalid(&format!("method {}", self.method)))?;
        request.set_scheme(Some(&target.scheme)).map_err(|()| invalid("scheme"))?;
        request.set_authority(Some(target.authority)).map_err(|()| invalid("host"))?;
        request.set_path_with_query(Some(target.path_and_query)).map_err(|()| invalid("path or query"))?;
        let body = request.body().expect("a new request's body is taken once");

        // The request starts before its body is written: the host reads the body as it sends it.
        let answer = wasip2::http::outgoing_handler::handle(request, None).map_err(|code| request_failed(&host, &code))?;
        let written = write_all(&body, &self.body);
        let finished = wasi::OutgoingBody::finish(body, None);
        answer.subscribe().block();
        let response = match answer.get() {
            Some(Ok(Ok(response))) => response,
            Some(Ok(Err(code))) => return Err(request_failed(&host, &code)),
            // Ready after the block above, and taken once.
            Some(Err(())) | None => unreachable!("a response is ready once"),
        };
        // A body not sent whole fails the request even if the provider answered (as the async
        // client did): the answer would be to a request it never got.
        if let Err(code) = finished {
            return Err(request_failed(&host, &code));
        }
        written.map_err(|reason| ChannelError::Transient(format!("request to {host} failed: {reason}")))?;
        let status = response.status();
        let headers = response
            .headers()
            .entries()
            .into_iter()
            .map(|(name, value)| (name.to_ascii_lowercase(), String::from_utf8_lossy(&value).into_owned()))
            .collect();
        let body = read_all(&response).map_err(|reason| ChannelError::Transient(format!("request to {host} failed reading the answer: {reason}")))?;
        Ok(Response { status, headers, body })
    }
}

/// The `wasi:http` types the request is made of.
mod wasi {
    pub use wasip2::http::types::{Fields, Method, OutgoingBody, OutgoingRequest, Scheme};
}

/// A request URL's parts, as `wasi:http` takes them.
struct Target<'u> {
    scheme: wasi::Scheme,
    /// `host[:port]`, with any `user:password@` (kept for the request, never shown).
    authority: &'u str,
    path_and_query: &'u str,
}

impl<'u> Target<'u> {
    fn parse(url: &'u str) -> Result<Self, ChannelError> {
        let refused = |why: &str| ChannelError::Provider(format!("invalid request URL: {why}"));
        if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(refused("it contains spaces or control characters"));
        }
        let (scheme, rest) = url.split_once("://").ok_or_else(|| refused("it needs a scheme and a host"))?;
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "https" => wasi::Scheme::Https,
            "http" => wasi::Scheme::Http,
            other => wasi::Scheme::Other(other.to_owned()),
        };
        // A fragment is the client's own: never sent.
        let rest = rest.split('#').next().unwrap_or_default();
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, path_and_query) = rest.split_at(end);
        if authority.rsplit('@').next().unwrap_or_default().is_empty() {
            return Err(refused("it needs a scheme and a host"));
        }
        let path_and_query = if path_and_query.is_empty() { "/" } else { path_and_query };
        Ok(Self { scheme, authority, path_and_query })
    }

    /// For error messages: the authority without any `user:password@`.
    fn host(&self) -> String {
        self.authority.rsplit('@').next().unwrap_or_default().to_owned()
    }
}

fn wasi_method(method: &Method) -> wasi::Method {
    match *method {
        Method::GET => wasi::Method::Get,
        Method::POST => wasi::Method::Post,
        Method::PUT => wasi::Method::Put,
        Method::DELETE => wasi::Method::Delete,
        Method::PATCH => wasi::Method::Patch,
        Method::HEAD => wasi::Method::Head,
        Method::OPTIONS => wasi::Method::Options,
        _ => wasi::Method::Other(method.as_str().to_owned()),
    }
}

/// Writes `bytes` as the request's body (the stream takes at most 4096 bytes a call).
fn write_all(body: &wasi::OutgoingBody, bytes: &[u8]) -> Result<(), String> {
    let stream = body.write().expect("a new body's stream is taken once");
    for chunk in bytes.chunks(4096) {
        stream.blocking_write_and_flush(chunk).map_err(|e| stream_error(&e))?;
    }
    Ok(())
}

/// The answer's whole body.
fn read_all(response: &wasip2::http::types::IncomingResponse) -> Result<Vec<u8>, String> {
    let body = response.consume().expect("an answer's body is taken once");
    let stream = body.stream().expect("a body's stream is taken once");
    let mut bytes = Vec::new();
    loop {
        match stream.blocking_read(64 * 1024) {
            Ok(chunk) => bytes.extend_from_slice(&chunk),
            Err(wasip2::io::streams::StreamError::Closed) => break,
            Err(e) => return Err(stream_error(&e)),
        }
    }
    // The stream is the body's child: gone before the body is.
    drop(stream);
    drop(wasip2::http::types::IncomingBody::finish(body));
    Ok(bytes)
}

fn stream_error(error: &wasip2::io::streams::StreamError) -> String {
    match error {
        wasip2::io::streams::StreamError::LastOperationFailed(e) => e.to_debug_string(),
        wasip2::io::streams::StreamError::Closed => "the connection closed".into(),
    }
}

fn request_failed(host: &str, code: &wasip2::http::types::ErrorCode) -> ChannelError {
    match code {
        wasip2::http::types::ErrorCode::HttpRequestDenied => {
            ChannelError::Provider(format!("request to {host} denied by the host (not an allowed outbound host)"))
        }
        other => ChannelError::Transient(format!("request to {host} failed: {other}")),
    }
}

/// A provider's answer, read in full.
#[derive(Debug, Clone)]
pub struct Response {
    /// The HTTP status code.
    pub status: u16,
    /// Header names in lowercase.
    pub headers: Vec<(String, String)>,
    /// The whole body.
    pub body: Vec<u8>,
}

impl Response {
    /// 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The first header of that name, case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        crate::types::find_header(&self.headers, name)
    }

    /// The body parsed as JSON. An answer that is not what the provider documents is
    /// [`ChannelError::Provider`].
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, ChannelError> {
        serde_json::from_slice(&self.body).map_err(|e| {
            ChannelError::Provider(format!("unexpected answer (HTTP {}): {e}", self.status))
        })
    }

    /// The body as text, invalid UTF-8 replaced.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_parameters_are_encoded_and_appended() {
        let request = get("https://graph.test/v1/123").query([("fields", "a,b"), ("name", "x y&z")]);
        assert_eq!(request.url, "https://graph.test/v1/123?fields=a%2Cb&name=x+y%26z");
        let again = request.query([("limit", "5")]).query([]);
        assert!(again.url.ends_with("&limit=5"), "{}", again.url);
    }

    #[test]
    fn urls_split_into_what_wasi_http_takes() {
        let target = Target::parse("https://user:pw@graph.test:8443/v21.0/me?fields=id#top").unwrap();
        assert!(matches!(target.scheme, wasi::Scheme::Https));
        assert_eq!((target.authority, target.path_and_query, target.host().as_str()), ("user:pw@graph.test:8443", "/v21.0/me?fields=id", "graph.test:8443"));
        assert_eq!(Target::parse("http://127.0.0.1:9?a=1").unwrap().path_and_query, "?a=1");
        assert_eq!(Target::parse("HTTP://x").unwrap().path_and_query, "/");
        for bad in ["graph.test/v1", "https://", "https:///path", "https://user@/x", "https://a b/", "https://a/\n"] {
            assert!(matches!(Target::parse(bad), Err(ChannelError::Provider(_))), "{bad}");
        }
        assert!(is_web_url("https://graph.facebook.com") && is_web_url("http://127.0.0.1:9/"));
        assert!(!is_web_url("ftp://x") && !is_web_url("graph.facebook.com") && !is_web_url("https://"));
    }

    #[test]
    fn basic_auth_encodes_user_and_password() {
        let request = post("https://wa.test/v1/users/login").basic_auth("admin", "s3cret:pw");
        assert_eq!(request.headers, [("authorization".to_string(), "Basic YWRtaW46czNjcmV0OnB3".to_string())]);
    }
}
