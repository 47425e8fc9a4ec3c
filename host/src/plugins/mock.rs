//! `plugin call --mock FILE`: the plugin's imports replaced by test doubles, for the test kit
//! (`switchboard-testkit`) and for trying a plugin without a provider.
//!
//! The file says how the provider answers and what the channel's state holds before the call:
//!
//! ```json
//! {
//!   "http": [{
//!     "method": "POST", "url": "https://api.telegram.org/bot1:x/sendMessage",
//!     "headers": {"content-type": "application/json"}, "json": {"chat_id": 42}, "times": 1,
//!     "respond": {"status": 200, "headers": {"retry-after": "3"}, "body": {"ok": true}}
//!   }],
//!   "state": {"cursor": "17"},
//!   "smtp": {"refuse": "550 mailbox unavailable"}
//! }
//! ```
//!
//! A request is answered by the first rule that matches all it names: `method` (any case),
//! `url` (exact; a trailing `*` makes it a prefix), every header in `headers` (name in any case,
//! value exact), `body` (exact), each of `body_contains`, and `json` (the body is JSON holding
//! at least these members, recursively; arrays and other values compare whole). A rule with
//! `times` answers that many requests of this call, then lets later rules match: each `plugin
//! call` is one call, so every count starts at 0 (the test kit's counts restart with each of
//! its calls for the same reason). A request no rule matches
//! gets no answer (the plugin sees a refused connection) and is reported with `"rule": null`.
//! Outbound rules apply first, as in a server: a host the plugin did not declare is denied and
//! never reaches the rules. Mail is accepted (recorded) unless `smtp.refuse` gives a reason.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::runtime::doubles::{DoubleMail, DoubleRequest, DoubleResponse, ImportDoubles};
use crate::runtime::{ChannelStateBackend, StateError};

/// The file's contents.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct MockScript {
    pub http: Vec<HttpRule>,
    pub state: BTreeMap<String, String>,
    pub smtp: SmtpRule,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct SmtpRule {
    /// The server's refusal for every message; none: every message is accepted.
    pub refuse: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpRule {
    pub method: Option<String>,
    pub url: Option<String>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    pub body: Option<String>,
    #[serde(default)]
    pub body_contains: Vec<String>,
    pub json: Option<Value>,
    /// How many requests the rule answers (none: any number).
    pub times: Option<u32>,
    #[serde(default)]
    pub respond: Respond,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Respond {
    pub status: u16,
    pub headers: BTreeMap<String, String>,
    /// A string is the raw body; anything else is sent as JSON (with `content-type:
    /// application/json` unless the rule gives one).
    pub body: Value,
}

impl Default for Respond {
    fn default() -> Self {
        Self { status: 200, headers: BTreeMap::new(), body: Value::Null }
    }
}

impl MockScript {
    /// Parses the file, and refuses a rule that could never be answered.
    pub fn parse(text: &str) -> Result<Self, String> {
        let script: Self = serde_json::from_str(text).map_err(|e| format!("the mock file is not valid: {e}"))?;
        for (index, rule) in script.http.iter().enumerate() {
            if !(100..=599).contains(&rule.respond.status) {
                return Err(format!("http[{index}].respond.status {} is not an HTTP status", rule.respond.status));
            }
        }
        Ok(script)
    }
}

impl HttpRule {
    fn matches(&self, request: &DoubleRequest) -> bool {
        if self.method.as_ref().is_some_and(|m| !m.eq_ignore_ascii_case(&request.method)) {
            return false;
        }
        if let Some(url) = &self.url {
            let matched = match url.strip_suffix('*') {
                Some(prefix) => request.url.starts_with(prefix),
                None => request.url == *url,
            };
            if !matched {
                return false;
            }
        }
        let header_ok = |(name, value): (&String, &String)| request.headers.iter().any(|(n, v)| n.eq_ignore_ascii_case(name) && v == value);
        if !self.headers.iter().all(header_ok) {
            return false;
        }
        let body = String::from_utf8_lossy(&request.body);
        if self.body.as_ref().is_some_and(|b| *b != body) || !self.body_contains.iter().all(|part| body.contains(part.as_str())) {
            return false;
        }
        match &self.json {
            None => true,
            Some(wanted) => serde_json::from_slice::<Value>(&request.body).is_ok_and(|sent| contains(&sent, wanted)),
        }
    }

    fn response(&self) -> DoubleResponse {
        let mut headers: Vec<(String, String)> = self.respond.headers.iter().map(|(k, v)| (k.to_ascii_lowercase(), v.clone())).collect();
        let body = match &self.respond.body {
            Value::Null => Vec::new(),
            Value::String(raw) => raw.clone().into_bytes(),
            other => {
                if !headers.iter().any(|(k, _)| k == "content-type") {
                    headers.push(("content-type".into(), "application/json".into()));
                }
                other.to_string().into_bytes()
            }
        };
        DoubleResponse { status: self.respond.status, headers, body }
    }
}

/// Whether `sent` holds everything `wanted` has: objects by member (recursively), the rest whole.
fn contains(sent: &Value, wanted: &Value) -> bool {
    match (sent, wanted) {
        (Value::Object(sent), Value::Object(wanted)) => wanted.iter().all(|(k, w)| sent.get(k).is_some_and(|s| contains(s, w))),
        _ => sent == wanted,
    }
}

/// The doubles of one call: answers from the script, and everything the plugin did, recorded.
pub struct Recorder {
    rules: Vec<HttpRule>,
    smtp_refusal: Option<String>,
    seen: Mutex<Seen>,
}

#[derive(Default)]
struct Seen {
    uses: Vec<u32>,
    requests: Vec<Value>,
    mail: Vec<Value>,
    logs: Vec<Value>,
}

impl Recorder {
    pub fn new(rules: Vec<HttpRule>, smtp_refusal: Option<String>) -> Self {
        let uses = vec![0; rules.len()];
        Self { rules, smtp_refusal, seen: Mutex::new(Seen { uses, ..Seen::default() }) }
    }

    /// Requests (with the rule that answered, or `null`), mail and log lines, in order.
    pub fn report(&self) -> (Value, Value, Value) {
        let seen = self.seen.lock().expect("recorder lock");
        (Value::Array(seen.requests.clone()), Value::Array(seen.mail.clone()), Value::Array(seen.logs.clone()))
    }
}

/// A body as text when it is UTF-8, else as base64 under another name.
fn body_fields(body: &[u8], into: &mut Map<String, Value>, name: &str) {
    match std::str::from_utf8(body) {
        Ok(text) => into.insert(name.into(), json!(text)),
        Err(_) => into.insert(format!("{name}_base64"), json!(base64::engine::general_purpose::STANDARD.encode(body))),
    };
}

impl ImportDoubles for Recorder {
    fn http(&self, request: DoubleRequest) -> Result<DoubleResponse, String> {
        let mut seen = self.seen.lock().expect("recorder lock");
        let rule = (0..self.rules.len()).find(|&i| self.rules[i].times.is_none_or(|t| seen.uses[i] < t) && self.rules[i].matches(&request));
        let mut headers = Map::new();
        for (name, value) in &request.headers {
            let joined = match headers.get(name).and_then(Value::as_str) {
                Some(before) => format!("{before}, {value}"),
                None => value.clone(),
            };
            headers.insert(name.clone(), json!(joined));
        }
        let mut record = Map::new();
        record.insert("method".into(), json!(request.method));
        record.insert("url".into(), json!(request.url));
        record.insert("headers".into(), Value::Object(headers));
        body_fields(&request.body, &mut record, "body");
        record.insert("rule".into(), json!(rule));
        seen.requests.push(Value::Object(record));
        match rule {
            Some(index) => {
                seen.uses[index] += 1;
                Ok(self.rules[index].response())
            }
            None => Err(format!("no mock rule matches {} {}", request.method, request.url)),
        }
    }

    fn smtp(&self, mail: DoubleMail) -> Result<(), String> {
        let mut record = Map::new();
        record.insert("server".into(), json!(mail.server));
        record.insert("from".into(), json!(mail.envelope_from));
        record.insert("to".into(), json!(mail.recipients));
        body_fields(&mail.message, &mut record, "message");
        record.insert("accepted".into(), json!(self.smtp_refusal.is_none()));
        self.seen.lock().expect("recorder lock").mail.push(Value::Object(record));
        match &self.smtp_refusal {
            Some(reason) => Err(reason.clone()),
            None => Ok(()),
        }
    }

    fn log(&self, level: &'static str, message: &str) {
        self.seen.lock().expect("recorder lock").logs.push(json!({ "level": level, "message": message }));
    }
}

/// The channel's state for one `plugin call`, seeded from the script and reported after it.
pub struct MemoryState(pub Arc<Mutex<BTreeMap<String, String>>>);

#[async_trait::async_trait]
impl ChannelStateBackend for MemoryState {
    async fn get(&self, _channel: &str, key: &str) -> Result<Option<String>, StateError> {
        Ok(self.0.lock().expect("state lock").get(key).cloned())
    }
    async fn set(&self, _channel: &str, key: &str, value: &str) -> Result<(), StateError> {
        self.0.lock().expect("state lock").insert(key.into(), value.into());
        Ok(())
    }
    async fn remove(&self, _channel: &str, key: &str) -> Result<(), StateError> {
        self.0.lock().expect("state lock").remove(key);
        Ok(())
    }
    async fn keys(&self, _channel: &str, prefix: &str) -> Result<Vec<String>, StateError> {
        Ok(self.0.lock().expect("state lock").keys().filter(|k| k.starts_with(prefix)).cloned().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: &str, url: &str, headers: &[(&str, &str)], body: &str) -> DoubleRequest {
        DoubleRequest {
            method: method.into(),
            url: url.into(),
            headers: headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            body: body.as_bytes().to_vec(),
        }
    }

    fn recorder(script: Value) -> Recorder {
        let script = MockScript::parse(&script.to_string()).unwrap();
        Recorder::new(script.http, script.smtp.refuse)
    }

    #[test]
    fn rules_match_on_method_url_headers_and_body() {
        let mock = recorder(json!({"http": [
            {"method": "post", "url": "https://api.example/send", "headers": {"Authorization": "Bearer t"}, "json": {"to": {"id": 7}},
             "respond": {"status": 201, "body": {"id": "m1"}}},
            {"url": "https://api.example/*", "body_contains": ["hello", "world"], "respond": {"status": 202, "body": "plain"}}
        ]}));
        let sent = mock.http(request("POST", "https://api.example/send", &[("authorization", "Bearer t")], r#"{"to":{"id":7,"name":"x"},"text":"a"}"#)).unwrap();
        assert_eq!((sent.status, sent.body.as_slice()), (201, br#"{"id":"m1"}"#.as_slice()));
        assert!(sent.headers.contains(&("content-type".into(), "application/json".into())));
        // Wrong header value, other JSON: falls to the prefix rule only when its body words are there.
        let second = mock.http(request("POST", "https://api.example/send", &[("authorization", "Bearer u")], "hello world")).unwrap();
        assert_eq!((second.status, second.body.as_slice()), (202, b"plain".as_slice()));
        assert!(mock.http(request("GET", "https://api.example/send", &[("authorization", "Bearer t")], "")).is_err(), "no rule for a GET without the words");
        assert!(mock.http(request("POST", "https://other.example/send", &[], "hello world")).is_err());
        let (requests, _, _) = mock.report();
        let rules: Vec<Value> = requests.as_array().unwrap().iter().map(|r| r["rule"].clone()).collect();
        assert_eq!(rules, vec![json!(0), json!(1), Value::Null, Value::Null]);
        assert_eq!(requests[0]["headers"]["authorization"], "Bearer t");
    }

    #[test]
    fn a_rule_with_times_gives_way_to_the_next() {
        let mock = recorder(json!({"http": [
            {"url": "https://api.example/x", "times": 1, "respond": {"status": 429, "headers": {"Retry-After": "3"}}},
            {"url": "https://api.example/x", "respond": {"status": 200}}
        ]}));
        let first = mock.http(request("GET", "https://api.example/x", &[], "")).unwrap();
        assert_eq!(first.status, 429);
        assert_eq!(first.headers, vec![("retry-after".to_string(), "3".to_string())]);
        assert_eq!(mock.http(request("GET", "https://api.example/x", &[], "")).unwrap().status, 200);
        assert_eq!(mock.http(request("GET", "https://api.example/x", &[], "")).unwrap().status, 200);
    }

    #[test]
    fn mail_is_recorded_and_refused_when_told() {
        let mock = recorder(json!({"smtp": {"refuse": "550 no such user"}}));
        let mail = DoubleMail { server: "smtp.example:587".into(), envelope_from: "a@example".into(), recipients: vec!["b@example".into()], message: b"Subject: hi\r\n\r\nbody".to_vec() };
        assert_eq!(mock.smtp(mail), Err("550 no such user".into()));
        let (_, mail, _) = mock.report();
        assert_eq!(mail[0]["to"], json!(["b@example"]));
        assert_eq!(mail[0]["accepted"], json!(false));
        assert!(mail[0]["message"].as_str().unwrap().starts_with("Subject: hi"));
    }

    #[test]
    fn a_bad_script_says_what_is_wrong() {
        assert!(MockScript::parse(r#"{"http": [{"urll": "x"}]}"#).unwrap_err().contains("urll"));
        assert!(MockScript::parse(r#"{"http": [{"respond": {"status": 42}}]}"#).unwrap_err().contains("http[0].respond.status 42"));
    }
}
