//! What a fake provider received, one type for every fake: each request as the provider saw
//! it, in order, and the calls of one method and path.

use std::collections::BTreeMap;
use std::time::SystemTime;

use serde_json::Value;

/// One request a fake received.
#[derive(Debug, Clone, Default)]
pub struct Recorded {
    pub method: String,
    /// As the fake names it: Graph below the version (`me/messages`), Telegram the Bot API
    /// method (`sendMessage`), otherwise the URL path.
    pub path: String,
    pub query: BTreeMap<String, String>,
    /// The `Authorization` header as sent.
    pub authorization: Option<String>,
    /// Other headers a test checks, by lower-case name (e.g. `x-line-retry-key`).
    pub headers: BTreeMap<String, String>,
    /// The body as JSON (a form body as an object; `null` when there was none).
    pub body: Value,
    /// What the fake decoded beyond the wire format: Telegram's bot token (`token`), X's OAuth
    /// 1.0a parameters (`oauth_*`).
    pub details: BTreeMap<String, String>,
    /// The status the fake answered (0 when the fake does not say).
    pub status: u16,
    /// When the request reached the fake, by its clock (tests time retries with it, not with
    /// when they happened to look); set on recording unless the fake set it.
    pub arrived: Option<SystemTime>,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }
}

/// The requests a fake received, in order.
#[derive(Debug, Clone, Default)]
pub struct Recorder(Vec<Recorded>);

impl Recorder {
    pub fn record(&mut self, mut request: Recorded) {
        request.arrived.get_or_insert_with(SystemTime::now);
        self.0.push(request);
    }

    pub fn all(&self) -> Vec<Recorded> {
        self.0.clone()
    }

    /// The requests with this method (`""`: any) and path.
    pub fn calls(&self, method: &str, path: &str) -> Vec<Recorded> {
        self.0.iter().filter(|r| (method.is_empty() || r.method == method) && r.path == path).cloned().collect()
    }
}
