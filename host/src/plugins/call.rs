//! `switchboard plugin call FILE EXPORT [--input FILE|-]`: runs one export of a component as the
//! host would (the real runtime and limits; outbound HTTP only to its declared hosts, resolving
//! to public addresses, and to `--allow-outbound` ones) and prints the answer as JSON:
//! `{"ok": …}`, `{"refused": <channel-error>}` or `{"failed": "<why the host stopped it>"}`.
//! The channel the call is for has the settings given with `--setting` (the schema's defaults
//! otherwise); its state lives for the one call.

use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::runtime::types::{
    Attachment, AttachmentKind, ChannelContext, HttpRequest, Media, MediaKind, OutboundContent, OutboundMessage, TemplateMessage, WindowState,
};
use crate::runtime::{CallError, HostPattern, HostServices, Limits, Runtime};

/// The exports `plugin call` runs, as the contract names them.
pub const EXPORTS: &[&str] = &[
    "manifest", "settings-schema", "messaging-window", "connect", "disconnect", "handle-webhook", "send", "fetch-media", "list-templates",
];

/// `handle-webhook`'s input: the provider's request.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct WebhookInput {
    method: Option<String>,
    path: String,
    query: String,
    headers: serde_json::Map<String, Value>,
    /// A string is the raw body; anything else is sent as its JSON.
    body: Value,
}

/// `send`'s input: one message to one recipient.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SendInput {
    recipient: String,
    text: Option<String>,
    media: Option<MediaInput>,
    template: Option<TemplateInput>,
    #[serde(default)]
    reply_to: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MediaInput {
    kind: String,
    url: String,
    caption: Option<String>,
    filename: Option<String>,
    mime_type: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TemplateInput {
    name: String,
    language: String,
    #[serde(default)]
    params: Vec<String>,
}

/// `fetch-media`'s input: the attachment as `handle-webhook` reported it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AttachmentInput {
    kind: String,
    provider_media_id: Option<String>,
    url: Option<String>,
    mime_type: Option<String>,
    filename: Option<String>,
}

fn media_kind(kind: &str) -> Result<MediaKind, String> {
    Ok(match kind {
        "image" => MediaKind::Image,
        "video" => MediaKind::Video,
        "audio" => MediaKind::Audio,
        "document" => MediaKind::Document,
        "sticker" => MediaKind::Sticker,
        other => return Err(format!("`kind` must be image, video, audio, document or sticker, not `{other}`")),
    })
}

/// Runs `export` with `input`; the JSON to print, and whether the plugin answered (`ok` or a
/// typed refusal) rather than being stopped.
pub async fn call(
    file: &Path,
    export: &str,
    input: Option<Value>,
    settings: &[(String, String)],
    allow_outbound: &[String],
    call_timeout: Duration,
) -> Result<(Value, bool), String> {
    if !EXPORTS.contains(&export) {
        return Err(format!("`{export}` is not an export plugin call runs; one of: {}", EXPORTS.join(", ")));
    }
    let bytes = std::fs::read(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let allowed = allow_outbound.iter().map(|h| HostPattern::parse(h).map_err(|e| format!("--allow-outbound {e}"))).collect::<Result<Vec<_>, _>>()?;
    let runtime = Runtime::new(Limits { call_timeout, ..Limits::default() }, allowed, HostServices::none(), None).map_err(|e| e.to_string())?;
    let plugin = runtime.load(bytes).await.map_err(|e| format!("{}: {e}", file.display()))?;
    let mut values: Vec<(String, String)> = plugin.settings_schema.iter().filter_map(|f| Some((f.key.clone(), f.default_value.clone()?))).collect();
    for (key, value) in settings {
        values.retain(|(k, _)| k != key);
        values.push((key.clone(), value.clone()));
    }
    let ctx = ChannelContext {
        channel_id: "ch_call".into(),
        webhook_url: "https://switchboard.example.test/webhooks/ch_call".into(),
        webhook_secret: settings.iter().find(|(k, _)| k == "webhook_secret").map(|(_, v)| v.clone()).unwrap_or_else(|| "Ca11S3cretCa11S3cretCa11S3cretCa".into()),
        settings: values,
    };
    let input = input.unwrap_or(Value::Null);
    let parse = |what: &str| format!("the input is not {what}");
    let answer = match export {
        "manifest" => Ok(json!(plugin.manifest)),
        "settings-schema" => Ok(json!(plugin.settings_schema)),
        "messaging-window" => Ok(json!(plugin.window)),
        "connect" => plugin.connect(&ctx).await.map(|v| json!(v)),
        "disconnect" => plugin.disconnect(&ctx).await.map(|v| json!(v)),
        "list-templates" => plugin.list_templates(&ctx).await.map(|v| json!(v)),
        "handle-webhook" => {
            // No input: an empty `POST`.
            let webhook: WebhookInput = match input {
                Value::Null => WebhookInput::default(),
                input => serde_json::from_value(input).map_err(|e| format!("{}: {e}", parse("a request")))?,
            };
            let request = HttpRequest {
                method: webhook.method.unwrap_or_else(|| "POST".into()),
                path: webhook.path,
                query: webhook.query,
                headers: webhook.headers.into_iter().map(|(k, v)| (k.to_ascii_lowercase(), v.as_str().map_or_else(|| v.to_string(), str::to_owned))).collect(),
                body: match webhook.body {
                    Value::String(raw) => raw.into_bytes(),
                    Value::Null => Vec::new(),
                    other => other.to_string().into_bytes(),
                },
            };
            plugin.handle_webhook(&ctx, &request).await.map(|v| json!(v))
        }
        "send" => {
            let send: SendInput = serde_json::from_value(input).map_err(|e| format!("{}: {e}", parse("a message")))?;
            let content = match (send.text, send.media, send.template) {
                (text, Some(media), None) => OutboundContent::Media(Media {
                    kind: media_kind(&media.kind)?,
                    url: media.url,
                    caption: media.caption.or(text),
                    filename: media.filename,
                    mime_type: media.mime_type,
                }),
                (None, None, Some(t)) => OutboundContent::Template(TemplateMessage { name: t.name, language: t.language, params: t.params }),
                (Some(text), None, None) => OutboundContent::Text(text),
                _ => return Err("give `text`, `media` (with `text` as its caption) or `template`".into()),
            };
            let message = OutboundMessage {
                message_id: "1".into(),
                conversation_id: "1".into(),
                recipient: send.recipient,
                content,
                reply_to: send.reply_to,
                last_inbound: None,
                window: WindowState::Unrestricted,
                attempt: 0,
            };
            plugin.send(&ctx, &message).await.map(|v| json!(v))
        }
        "fetch-media" => {
            let attachment: AttachmentInput = serde_json::from_value(input).map_err(|e| format!("{}: {e}", parse("an attachment")))?;
            let kind = match attachment.kind.as_str() {
                "image" => AttachmentKind::Image,
                "video" => AttachmentKind::Video,
                "audio" => AttachmentKind::Audio,
                "document" => AttachmentKind::Document,
                "sticker" => AttachmentKind::Sticker,
                other => return Err(format!("`kind` must be a kind with bytes (image, video, audio, document, sticker), not `{other}`")),
            };
            let attachment = Attachment {
                kind,
                provider_media_id: attachment.provider_media_id,
                url: attachment.url,
                mime_type: attachment.mime_type,
                filename: attachment.filename,
                size: None,
                location: None,
                description: None,
            };
            plugin.fetch_media(&ctx, &attachment).await.map(|v| json!(v))
        }
        _ => unreachable!("checked against EXPORTS"),
    };
    Ok(match answer {
        Ok(value) => (json!({ "ok": value }), true),
        Err(CallError::Channel(error)) => (json!({ "refused": error }), true),
        Err(CallError::Failed(failure)) => (json!({ "failed": failure.to_string() }), false),
    })
}
