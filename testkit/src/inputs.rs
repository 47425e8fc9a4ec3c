//! What a test hands the plugin: a provider's webhook request, a message to send.

use serde_json::{Map, Value, json};

/// A webhook request as the provider sends it.
#[derive(Debug, Clone)]
pub struct Request {
    method: String,
    path: String,
    query: String,
    headers: Map<String, Value>,
    body: Value,
}

impl Request {
    /// A request with this method to this path (below the channel's webhook URL).
    pub fn new(method: &str, path: &str) -> Self {
        Self { method: method.into(), path: path.into(), query: String::new(), headers: Map::new(), body: Value::Null }
    }

    /// `POST path`.
    pub fn post(path: &str) -> Self {
        Self::new("POST", path)
    }

    /// `GET path` (a verification challenge).
    pub fn get(path: &str) -> Self {
        Self::new("GET", path)
    }

    /// The query string, without `?`.
    pub fn query(mut self, query: &str) -> Self {
        self.query = query.into();
        self
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.insert(name.to_ascii_lowercase(), json!(value));
        self
    }

    /// The raw body.
    pub fn body(mut self, body: &str) -> Self {
        self.body = json!(body);
        self
    }

    /// A JSON body (and `content-type: application/json` unless set).
    pub fn json(mut self, body: Value) -> Self {
        self.headers.entry("content-type").or_insert_with(|| json!("application/json"));
        self.body = json!(body.to_string());
        self
    }

    pub(crate) fn into_json(self) -> Value {
        json!({ "method": self.method, "path": self.path, "query": self.query, "headers": self.headers, "body": self.body })
    }
}

/// A message the host asks the plugin to send.
#[derive(Debug, Clone)]
pub struct Message(Map<String, Value>);

impl Message {
    /// Text to a recipient (the provider's id of the customer or chat).
    pub fn text(recipient: &str, text: &str) -> Self {
        let mut message = Map::new();
        message.insert("recipient".into(), json!(recipient));
        message.insert("text".into(), json!(text));
        Self(message)
    }

    /// A file by URL (`image`, `video`, `audio`, `document` or `sticker`).
    pub fn media(recipient: &str, kind: &str, url: &str) -> Self {
        let mut message = Map::new();
        message.insert("recipient".into(), json!(recipient));
        message.insert("media".into(), json!({ "kind": kind, "url": url }));
        Self(message)
    }

    /// A provider template with its parameters.
    pub fn template(recipient: &str, name: &str, language: &str, params: &[&str]) -> Self {
        let mut message = Map::new();
        message.insert("recipient".into(), json!(recipient));
        message.insert("template".into(), json!({ "name": name, "language": language, "params": params }));
        Self(message)
    }

    /// Interactive content: built with the SDK's builders
    /// (`InteractiveContent::reply_buttons("Sudah sampai?", [ChoiceOption::new("yes", "Sudah"), …])`),
    /// or as the API takes it (`json!({"body", "reply_buttons": [{"id", "title"}]})`, or
    /// `quick_replies`, `list`, `url_buttons`, `cards`). Checked against the plugin's declared
    /// limits and sent as the host sends it: natively for a kind the plugin draws
    /// (`send-interactive`), as text with numbered options otherwise (`send`).
    pub fn interactive(recipient: &str, content: impl Into<Value>) -> Self {
        let mut message = Map::new();
        message.insert("recipient".into(), json!(recipient));
        message.insert("interactive".into(), content.into());
        Self(message)
    }

    /// The host's id of the message, its idempotency key (default `1`).
    pub fn message_id(mut self, id: &str) -> Self {
        self.0.insert("message_id".into(), json!(id));
        self
    }

    /// The messaging window the host computed: `unrestricted` (default), `open`, `human-agent` or `closed`.
    pub fn window(mut self, window: &str) -> Self {
        self.0.insert("window".into(), json!(window));
        self
    }

    /// The provider's id of the message this one answers.
    pub fn reply_to(mut self, provider_message_id: &str) -> Self {
        self.0.insert("reply_to".into(), json!(provider_message_id));
        self
    }

    /// The customer's last message in the conversation, received now, with its properties
    /// (a reply token, a quote token) as the plugin's webhook reported them.
    pub fn last_inbound(mut self, provider_message_id: &str, properties: &[(&str, &str)]) -> Self {
        let properties: Map<String, Value> = properties.iter().map(|(k, v)| (k.to_string(), json!(v))).collect();
        self.0.insert("last_inbound".into(), json!({ "provider_message_id": provider_message_id, "properties": properties }));
        self
    }

    /// How many tries came before this one.
    pub fn attempt(mut self, attempt: u32) -> Self {
        self.0.insert("attempt".into(), json!(attempt));
        self
    }

    pub(crate) fn into_json(self) -> Value {
        Value::Object(self.0)
    }
}
