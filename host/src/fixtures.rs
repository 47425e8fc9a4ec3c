//! Webhook fixtures: the file format `plugin check --fixtures` replays and `plugin call
//! handle-webhook --input` takes, and what `serve --record-webhooks DIR` writes.
//!
//! ```json
//! {"request": {"method": "POST", "path": "", "query": "", "headers": {…}, "body": "…"},
//!  "settings"?: {…}, "webhook_secret"?: "…", "expect": "accept" | "refuse",
//!  "recorded"?: {"plugin", "plugin_version", "channel", "at", "answer"}}
//! ```
//!
//! A fixture is a delivery in the format of the plugin's own provider (`plugin new` writes two of
//! its example provider, with a `note` saying so; other members are not read). `plugin check`
//! names one that is not as it expects with what the plugin answered (`plugins::check`).
//!
//! Secrets never go into a recording: wherever the channel's webhook secret or the value of one
//! of its secret settings appears (path, query, a header, the body), the recording holds
//! `{{webhook_secret}}` or `{{setting:KEY}}` instead, and a replay puts the replaying
//! channel's values back. So a delivery authenticated by a secret token (Telegram's header, a
//! secret in the URL) replays against any secret; one signed with a MAC of the body (LINE,
//! Meta) replays when the replaying channel has the same signing secret (`--setting`), which
//! stays with the author and out of the file. Bodies are kept as they came: they hold
//! customers' messages, which is why recording is the operator's choice, off by default.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Map, Value, json};

use crate::runtime::types::{ChannelContext, Field, FieldKind, HttpRequest};

const SECRET_PLACEHOLDER: &str = "{{webhook_secret}}";

/// Secrets shorter than this are not searched for (a one-letter value would blank the file).
const SHORTEST_SECRET: usize = 6;

/// The request a fixture (or a bare request) describes, with the channel's secrets put back.
/// A string body is raw; any other JSON is sent as its text.
pub fn request_of(fixture_or_request: &Value, ctx: &ChannelContext) -> HttpRequest {
    let r = fixture_or_request.get("request").unwrap_or(fixture_or_request);
    let text = |v: &Value| fill(v.as_str().unwrap_or_default(), ctx);
    HttpRequest {
        method: r["method"].as_str().unwrap_or("POST").to_owned(),
        path: text(&r["path"]),
        query: text(&r["query"]),
        headers: r["headers"]
            .as_object()
            .map(|h| h.iter().map(|(k, v)| (k.to_ascii_lowercase(), v.as_str().map_or_else(|| v.to_string(), |s| fill(s, ctx)))).collect())
            .unwrap_or_default(),
        body: match &r["body"] {
            Value::String(body) => fill(body, ctx).into_bytes(),
            Value::Null => Vec::new(),
            other => other.to_string().into_bytes(),
        },
    }
}

/// `text` with the placeholders of a recording replaced by this channel's values.
fn fill(text: &str, ctx: &ChannelContext) -> String {
    if !text.contains("{{") {
        return text.to_owned();
    }
    let mut filled = text.replace(SECRET_PLACEHOLDER, &ctx.webhook_secret);
    for (key, value) in &ctx.settings {
        filled = filled.replace(&format!("{{{{setting:{key}}}}}"), value);
    }
    filled
}

/// Which values of this channel are secret, with their placeholders (longest first, so a
/// secret containing another is replaced whole).
fn secrets(ctx: &ChannelContext, schema: &[Field]) -> Vec<(String, String)> {
    let mut secrets: Vec<(String, String)> = vec![(ctx.webhook_secret.clone(), SECRET_PLACEHOLDER.to_owned())];
    for field in schema.iter().filter(|f| f.secret || f.kind == FieldKind::Secret) {
        if let Some((_, value)) = ctx.settings.iter().find(|(k, _)| *k == field.key) {
            secrets.push((value.clone(), format!("{{{{setting:{}}}}}", field.key)));
        }
    }
    secrets.retain(|(value, _)| value.len() >= SHORTEST_SECRET);
    secrets.sort_by_key(|(value, _)| std::cmp::Reverse(value.len()));
    secrets
}

fn redact(text: &str, secrets: &[(String, String)]) -> String {
    secrets.iter().fold(text.to_owned(), |text, (value, placeholder)| text.replace(value.as_str(), placeholder))
}

/// A delivery as a fixture, secrets replaced by placeholders; `expect` from the plugin's answer.
pub fn recording(request: &HttpRequest, ctx: &ChannelContext, schema: &[Field], accepted: bool, answer: &str, plugin: (&str, &str)) -> Value {
    let secrets = secrets(ctx, schema);
    let headers: Map<String, Value> = request.headers.iter().map(|(k, v)| (k.clone(), json!(redact(v, &secrets)))).collect();
    let body = match std::str::from_utf8(&request.body) {
        Ok(text) => json!(redact(text, &secrets)),
        // Bytes that are not text are kept as base64 under another name, which replays as
        // an empty body: such a provider is rare (none of the first-party ones).
        Err(_) => Value::Null,
    };
    let mut fixture = json!({
        "request": {"method": request.method, "path": redact(&request.path, &secrets), "query": redact(&request.query, &secrets), "headers": headers, "body": body},
        "expect": if accepted { "accept" } else { "refuse" },
        "recorded": {"plugin": plugin.0, "plugin_version": plugin.1, "channel": ctx.channel_id, "at": crate::store::now_ms(), "answer": answer},
    });
    if body.is_null() && !request.body.is_empty() {
        use base64::Engine as _;
        fixture["request"]["body_base64"] = json!(base64::engine::general_purpose::STANDARD.encode(&request.body));
    }
    fixture
}

/// Writes recordings under a folder: `<dir>/<plugin>/<channel>-<time>-<n>.json`.
pub struct WebhookRecorder {
    dir: PathBuf,
    next: AtomicU64,
}

impl WebhookRecorder {
    pub fn new(dir: &Path) -> Self {
        Self { dir: dir.to_path_buf(), next: AtomicU64::new(0) }
    }

    /// Keeps one delivery; a failure to write is logged, never the delivery's problem.
    pub fn keep(&self, plugin_id: &str, fixture: &Value) {
        let channel = fixture["recorded"]["channel"].as_str().unwrap_or("channel");
        let name = format!("{channel}-{}-{}.json", crate::store::now_ms(), self.next.fetch_add(1, Ordering::Relaxed));
        // Ids are never paths: a name that would leave the folder is not written.
        let folder = crate::ids::file_in(&self.dir, plugin_id);
        let file = folder.as_deref().and_then(|folder| crate::ids::file_in(folder, &name));
        let (Some(folder), Some(file)) = (folder, file) else {
            return tracing::warn!(plugin_id, channel, "a webhook recording was not written: its name is not a plain file name");
        };
        let written = std::fs::create_dir_all(&folder)
            .and_then(|()| std::fs::write(&file, serde_json::to_string_pretty(fixture).unwrap_or_default() + "\n"));
        if let Err(error) = written {
            tracing::warn!(folder = %folder.display(), "a webhook recording was not written: {error}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> ChannelContext {
        ChannelContext {
            channel_id: "ch_1".into(),
            webhook_url: "https://h/webhooks/ch_1".into(),
            webhook_secret: "WebhookSecretWebhookSecretWebhoo".into(),
            settings: vec![("bot_token".into(), "123456:ABCDEF".into()), ("api_base_url".into(), "https://api.telegram.org".into())],
        }
    }

    fn schema() -> Vec<Field> {
        let field = |key: &str, kind| Field {
            key: key.into(),
            label: key.into(),
            kind,
            required: false,
            secret: kind == FieldKind::Secret,
            immutable: false,
            help: None,
            default_value: None,
            options: vec![],
        };
        vec![field("bot_token", FieldKind::Secret), field("api_base_url", FieldKind::Url)]
    }

    /// As docs/writing-a-plugin.md's fixtures row says: a string body is sent as its raw bytes,
    /// exactly as written (so a signature over the provider's bytes holds); any other JSON body
    /// as its compact JSON text.
    #[test]
    fn a_string_body_is_sent_as_its_raw_bytes_and_other_json_as_its_text() {
        let raw = "{ \"text\" :\"halo\",\n  \"n\": 1.50 }";
        let fixture = json!({"request": {"headers": {"X-Signature": "ab"}, "body": raw}, "expect": "accept"});
        let request = request_of(&fixture, &ctx());
        assert_eq!(request.body, raw.as_bytes(), "spacing, order and the number's spelling kept");
        assert_eq!((request.method.as_str(), request.headers.clone()), ("POST", vec![("x-signature".to_owned(), "ab".to_owned())]));
        let parsed = json!({"request": {"body": {"text": "halo"}}});
        assert_eq!(request_of(&parsed, &ctx()).body, br#"{"text":"halo"}"#);
        // A bare request (`plugin call handle-webhook --input` takes one too) reads the same.
        assert_eq!(request_of(&json!({"body": raw}), &ctx()).body, raw.as_bytes());
    }

    #[test]
    fn a_recording_holds_no_secret_and_replays_with_the_replaying_channels_values() {
        let request = HttpRequest {
            method: "POST".into(),
            path: "/WebhookSecretWebhookSecretWebhoo".into(),
            query: "token=123456:ABCDEF".into(),
            headers: vec![("x-telegram-bot-api-secret-token".into(), "WebhookSecretWebhookSecretWebhoo".into()), ("content-type".into(), "application/json".into())],
            body: br#"{"update_id":1,"note":"https://api.telegram.org"}"#.to_vec(),
        };
        let fixture = recording(&request, &ctx(), &schema(), true, "ok", ("telegram", "0.1.0"));
        let text = fixture.to_string();
        assert!(!text.contains("WebhookSecret") && !text.contains("ABCDEF"), "{text}");
        assert_eq!(fixture["request"]["headers"]["x-telegram-bot-api-secret-token"], "{{webhook_secret}}");
        assert_eq!(fixture["request"]["query"], "token={{setting:bot_token}}");
        assert!(text.contains("https://api.telegram.org"), "settings that are not secret stay");
        assert_eq!(fixture["expect"], "accept");

        let mut other = ctx();
        other.webhook_secret = "OtherSecretOtherSecretOtherSecre".into();
        let replayed = request_of(&fixture, &other);
        assert_eq!(replayed.path, "/OtherSecretOtherSecretOtherSecre");
        let header = replayed.headers.iter().find(|(k, _)| k == "x-telegram-bot-api-secret-token").unwrap();
        assert_eq!(header.1, "OtherSecretOtherSecretOtherSecre");
        assert_eq!(replayed.query, "token=123456:ABCDEF");
        assert_eq!(replayed.body, request.body);
    }
}
