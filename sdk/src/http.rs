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
use wstd::http::error::ErrorCode;
use wstd::http::{Client, Request as WasiRequest, Uri};
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
        let mut query = form_urlencoded::Serializer::new(String::new());
        let encoded = query.extend_pairs(pairs).finish();
        if !encoded.is_empty() {
            let separator = if self.url.contains('?') { '&' } else { '?' };
            self.url = format!("{}{separator}{encoded}", self.url);
        }
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
    pub fn send(self) -> Result<Response, ChannelError> {
        let uri: Uri = self
            .url
            .parse()
            .map_err(|e| ChannelError::Provider(format!("invalid request URL: {e}")))?;
        // For error messages: the authority without any `user:password@`.
        let host = uri.authority().and_then(|a| a.as_str().rsplit('@').next()).map(str::to_owned);
        let (Some(_), Some(host)) = (uri.scheme(), host) else {
            return Err(ChannelError::Provider("invalid request URL: it needs a scheme and a host".into()));
        };
        let mut builder = WasiRequest::builder().method(self.method.clone()).uri(uri);
        for (name, value) in &self.headers {
            builder = builder.header(name, value);
        }
        // Without a length the body goes chunked, which some servers refuse (411).
        if !(self.body.is_empty() && matches!(self.method, Method::GET | Method::HEAD)) {
            builder = builder.header("content-length", self.body.len());
        }
        let request = builder
            .body(self.body)
            .map_err(|e| ChannelError::Provider(format!("invalid request to {host}: {e}")))?;

        wstd::runtime::block_on(async {
            let response =
                Client::new().send(request).await.map_err(|e| request_failed(&host, e))?;
            let status = response.status().as_u16();
            let headers = response
                .headers()
                .iter()
                .map(|(name, value)| {
                    (name.to_string(), String::from_utf8_lossy(value.as_bytes()).into_owned())
                })
                .collect();
            let body = response
                .into_body()
                .bytes_contents()
                .await
                .map_err(|e| request_failed(&host, e))?
                .to_vec();
            Ok(Response { status, headers, body })
        })
    }
}

fn request_failed(host: &str, error: wstd::http::Error) -> ChannelError {
    match error.downcast_ref::<ErrorCode>() {
        Some(ErrorCode::HttpRequestDenied) => {
            ChannelError::Provider(format!("request to {host} denied by the host (not an allowed outbound host)"))
        }
        _ => ChannelError::Transient(format!("request to {host} failed: {error:#}")),
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
    fn basic_auth_encodes_user_and_password() {
        let request = post("https://wa.test/v1/users/login").basic_auth("admin", "s3cret:pw");
        assert_eq!(request.headers, [("authorization".to_string(), "Basic YWRtaW46czNjcmV0OnB3".to_string())]);
    }
}
