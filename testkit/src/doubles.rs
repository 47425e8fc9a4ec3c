//! Rules for the provider's answers.

use serde_json::{Map, Value, json};

/// One rule: which requests it answers, and how. Unnamed parts match anything.
///
/// ```
/// use switchboard_testkit::Http;
/// use serde_json::json;
/// let rule = Http::post("https://api.line.me/v2/bot/message/push")
///     .header("authorization", "Bearer t")
///     .json(json!({"to": "U1"}))
///     .times(1)
///     .respond(429, "")
///     .respond_header("retry-after", "5");
/// # let _ = rule;
/// ```
#[derive(Debug, Clone)]
pub struct Http {
    rule: Map<String, Value>,
    respond: Map<String, Value>,
}

impl Http {
    /// Requests with this method to this URL (exact; a trailing `*` makes it a prefix).
    pub fn request(method: &str, url: &str) -> Self {
        let mut rule = Map::new();
        rule.insert("method".into(), json!(method));
        rule.insert("url".into(), json!(url));
        Self { rule, respond: Map::new() }
    }

    /// `GET url`.
    pub fn get(url: &str) -> Self {
        Self::request("GET", url)
    }

    /// `POST url`.
    pub fn post(url: &str) -> Self {
        Self::request("POST", url)
    }

    /// `DELETE url`.
    pub fn delete(url: &str) -> Self {
        Self::request("DELETE", url)
    }

    /// Any method, to this URL.
    pub fn any(url: &str) -> Self {
        let mut rule = Map::new();
        rule.insert("url".into(), json!(url));
        Self { rule, respond: Map::new() }
    }

    /// Only requests with this header (name in any case, value exact).
    pub fn header(mut self, name: &str, value: &str) -> Self {
        let headers = self.rule.entry("headers").or_insert_with(|| json!({}));
        headers[name] = json!(value);
        self
    }

    /// Only requests with exactly this body.
    pub fn body(mut self, body: &str) -> Self {
        self.rule.insert("body".into(), json!(body));
        self
    }

    /// Only requests whose body contains `part` (may be given several times).
    pub fn body_contains(mut self, part: &str) -> Self {
        let parts = self.rule.entry("body_contains").or_insert_with(|| json!([]));
        parts.as_array_mut().expect("a list").push(json!(part));
        self
    }

    /// Only requests whose body is JSON holding at least these members (recursively).
    pub fn json(mut self, subset: Value) -> Self {
        self.rule.insert("json".into(), subset);
        self
    }

    /// Answers this many requests, then lets later rules match.
    ///
    /// The count is per call, not per test: each call ([`Plugin::send`](crate::Plugin::send),
    /// [`Plugin::webhook`](crate::Plugin::webhook), …) is a fresh run that starts every rule's
    /// count at zero, so `times(1)` answers the first matching request of *every* call. For
    /// different answers in a later call, change the rules between calls
    /// ([`Plugin::clear_rules`](crate::Plugin::clear_rules), then [`Plugin::on`](crate::Plugin::on)).
    pub fn times(mut self, count: u32) -> Self {
        self.rule.insert("times".into(), json!(count));
        self
    }

    /// Answers with this status and raw body.
    pub fn respond(mut self, status: u16, body: &str) -> Self {
        self.respond.insert("status".into(), json!(status));
        self.respond.insert("body".into(), json!(body));
        self
    }

    /// Answers with this status and JSON body (`content-type: application/json`).
    pub fn respond_json(mut self, status: u16, body: Value) -> Self {
        self.respond.insert("status".into(), json!(status));
        self.respond.insert("body".into(), body);
        self
    }

    /// Adds a header to the answer.
    pub fn respond_header(mut self, name: &str, value: &str) -> Self {
        let headers = self.respond.entry("headers").or_insert_with(|| json!({}));
        headers[name] = json!(value);
        self
    }

    /// The rule as `plugin call --mock` reads it.
    pub(crate) fn to_json(&self) -> Value {
        let mut rule = self.rule.clone();
        rule.insert("respond".into(), Value::Object(self.respond.clone()));
        Value::Object(rule)
    }
}
