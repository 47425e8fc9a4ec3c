//! `switchboard plugin call FILE EXPORT [--input FILE|-]`: runs one export of a component as the
//! host would (the real runtime and limits; outbound HTTP only to its declared hosts, resolving
//! to public addresses, and to `--allow-outbound` ones) and prints the answer as JSON:
//! `{"ok": …}`, `{"refused": <channel-error>}` or `{"failed": "<why the host stopped it>"}`.
//! The channel the call is for has the settings given with `--setting` (the schema's defaults
//! otherwise); its state lives for the one call.
//!
//! With `--mock FILE` ([`super::mock`]) nothing leaves the process: the provider's answers come
//! from the file, the channel's state is seeded from it, and the answer is printed with all the
//! plugin did: `{"answer": …, "http": [requests], "mail": [messages], "logs": [lines], "state":
//! {after}}`. That is what the test kit (`switchboard-testkit`) runs.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};

use super::mock::{MemoryState, MockScript, Recorder};
use crate::runtime::types::{
    Attachment, AttachmentKind, AuthFinishRequest, InboundSummary, AuthStartRequest, ChannelContext, InteractiveMessage, Media, MediaKind, NewTemplate, OutboundContent,
    OutboundMessage, TemplateMessage, WindowState,
};
use crate::runtime::{CallError, CompileCache, HostPattern, HostServices, Limits, Runtime};

/// The exports `plugin call` runs, as the contract names them.
pub const EXPORTS: &[&str] = &[
    "manifest",
    "settings-schema",
    "messaging-window",
    "connect",
    "disconnect",
    "handle-webhook",
    "send",
    "fetch-media",
    "list-templates",
    "create-template",
    "delete-template",
    "auth-start",
    "auth-finish",
];

/// How the call is made.
pub struct CallOptions {
    /// The channel's settings (over the schema's defaults); `webhook_secret` is the channel's secret.
    pub settings: Vec<(String, String)>,
    /// Hosts the plugin may reach besides its declared ones.
    pub allow_outbound: Vec<String>,
    pub call_timeout: Duration,
    /// The memory cap (the host's default when `None`).
    pub memory_bytes: Option<usize>,
    /// Test doubles for the network and a seeded state; the answer then comes with the record.
    pub mock: Option<MockScript>,
    /// Where compiled components are kept between runs (none: compile every time).
    pub cache_dir: Option<std::path::PathBuf>,
}

/// `create-template`'s input.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewTemplateInput {
    name: String,
    language: String,
    category: String,
    body: String,
    #[serde(default)]
    buttons: Vec<crate::runtime::types::TemplateButton>,
}

/// `delete-template`'s input.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TemplateName {
    name: String,
}

/// `auth-start`'s input; the settings are the channel's.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AuthStartInput {
    redirect_url: String,
    state: String,
}

/// `auth-finish`'s input: what the provider's redirect brought back.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AuthFinishInput {
    redirect_url: String,
    #[serde(default)]
    callback_query: BTreeMap<String, String>,
    #[serde(default)]
    properties: BTreeMap<String, String>,
}

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
    /// Interactive content, as the API takes it: sent as the host sends it (natively for a kind
    /// the plugin draws, as text otherwise), after the same check against the plugin's limits.
    interactive: Option<crate::interactive::model::InteractiveContent>,
    #[serde(default)]
    reply_to: Option<String>,
    /// The host's id of the message (its idempotency key); default `1`.
    message_id: Option<String>,
    conversation_id: Option<String>,
    /// `unrestricted` (default), `open`, `human-agent` or `closed`.
    window: Option<String>,
    /// How many times the host tried before (0 on the first try).
    #[serde(default)]
    attempt: u32,
    /// The customer's last message in the conversation (reply tokens live in its properties).
    last_inbound: Option<LastInboundInput>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LastInboundInput {
    provider_message_id: String,
    /// When it came, in milliseconds since 1970 (default: now).
    timestamp_ms: Option<u64>,
    #[serde(default)]
    properties: BTreeMap<String, String>,
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
pub async fn call(file: &Path, export: &str, input: Option<Value>, options: CallOptions) -> Result<(Value, bool), String> {
    if !EXPORTS.contains(&export) {
        return Err(format!("`{export}` is not an export plugin call runs; one of: {}", EXPORTS.join(", ")));
    }
    let bytes = std::fs::read(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let allowed = options.allow_outbound.iter().map(|h| HostPattern::parse(h).map_err(|e| format!("--allow-outbound {e}"))).collect::<Result<Vec<_>, _>>()?;
    let mut limits = Limits { call_timeout: options.call_timeout, ..Limits::default() };
    if let Some(memory) = options.memory_bytes {
        limits.memory_bytes = memory;
    }
    let mut services = HostServices::none();
    let mut record = None;
    if let Some(mock) = options.mock {
        let state = Arc::new(Mutex::new(mock.state));
        let recorder = Arc::new(Recorder::new(mock.http, mock.smtp.refuse));
        services.state = Arc::new(MemoryState(state.clone()));
        services.doubles = Some(recorder.clone());
        record = Some((recorder, state));
    }
    let runtime = Runtime::new(limits, allowed, services, options.cache_dir.map(CompileCache::new)).map_err(|e| e.to_string())?;
    let plugin = runtime.load(bytes).await.map_err(|e| format!("{}: {e}", file.display()))?;
    let settings = &options.settings;
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
            // A fixture (`plugin check`'s, a recording) or a bare request; no input: an empty `POST`.
            let bare = input.get("request").cloned().unwrap_or(input);
            if !bare.is_null() {
                serde_json::from_value::<WebhookInput>(bare.clone()).map_err(|e| format!("{}: {e}", parse("a request")))?;
            }
            let request = crate::fixtures::request_of(&bare, &ctx);
            plugin.handle_webhook(&ctx, &request).await.map(|v| json!(v))
        }
        "send" => {
            let send: SendInput = serde_json::from_value(input).map_err(|e| format!("{}: {e}", parse("a message")))?;
            let message_id = send.message_id.unwrap_or_else(|| "1".into());
            let mut text = send.text;
            if let Some(interactive) = &send.interactive {
                let errors = crate::interactive::limits::check_for(&plugin.interactive, interactive, &plugin.manifest.name);
                if !errors.is_empty() {
                    return Err(format!("the host would refuse this content: {}", errors.iter().map(|(k, v)| format!("{k}: {v}")).collect::<Vec<_>>().join("; ")));
                }
                if send.media.is_some() || send.template.is_some() || text.is_some() {
                    return Err("give `interactive` alone: its `body` is the message's text".into());
                }
                text = Some(crate::interactive::text::render(interactive));
            }
            let content = match (text, send.media, send.template) {
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
            let window = match send.window.as_deref() {
                None | Some("unrestricted") => WindowState::Unrestricted,
                Some("open") => WindowState::Open,
                Some("human-agent") => WindowState::HumanAgent,
                Some("closed") => WindowState::Closed,
                Some(other) => return Err(format!("`window` must be unrestricted, open, human-agent or closed, not `{other}`")),
            };
            let message = OutboundMessage {
                message_id,
                conversation_id: send.conversation_id.unwrap_or_else(|| "1".into()),
                recipient: send.recipient,
                content,
                reply_to: send.reply_to,
                last_inbound: send.last_inbound.map(|last| InboundSummary {
                    provider_message_id: last.provider_message_id,
                    timestamp_ms: last.timestamp_ms.unwrap_or_else(|| crate::store::now_ms().max(0) as u64),
                    properties: last.properties.into_iter().collect(),
                }),
                window,
                attempt: send.attempt,
            };
            // A kind the plugin draws goes natively, its ids shortened as the host would (the
            // message id standing in for the host's); any other goes as its text rendering.
            match send.interactive.filter(|content| plugin.interactive.native(content.kind()).is_some()) {
                Some(content) => {
                    let wire = crate::interactive::wire_content(&content, message.message_id.parse().unwrap_or(1), plugin.interactive.max_id_bytes);
                    let OutboundMessage { message_id, conversation_id, recipient, reply_to, last_inbound, window, attempt, .. } = message;
                    let message = InteractiveMessage { message_id, conversation_id, recipient, content: wire, reply_to, last_inbound, window, attempt };
                    plugin.send_interactive(&ctx, &message).await.map(|v| json!(v))
                }
                None => plugin.send(&ctx, &message).await.map(|v| json!(v)),
            }
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
        "create-template" => {
            let t: NewTemplateInput = serde_json::from_value(input).map_err(|e| format!("{}: {e}", parse("a template")))?;
            let template = NewTemplate { name: t.name, language: t.language, category: t.category, body: t.body };
            let template = crate::runtime::types::NewButtonTemplate { template, buttons: t.buttons };
            plugin.create_template(&ctx, &template).await.map(|v| json!(v))
        }
        "delete-template" => {
            let t: TemplateName = serde_json::from_value(input).map_err(|e| format!("{}: {e}", parse("`{\"name\": …}`")))?;
            plugin.delete_template(&ctx, &t.name).await.map(|v| json!(v))
        }
        "auth-start" => {
            let start: AuthStartInput = serde_json::from_value(input).map_err(|e| format!("{}: {e}", parse("`{\"redirect_url\", \"state\"}`")))?;
            let request = AuthStartRequest { redirect_url: start.redirect_url, state: start.state, settings: ctx.settings.clone() };
            plugin.auth_start(&request).await.map(|v| json!(v))
        }
        "auth-finish" => {
            let finish: AuthFinishInput = serde_json::from_value(input).map_err(|e| format!("{}: {e}", parse("what the provider's redirect brought")))?;
            let request = AuthFinishRequest {
                redirect_url: finish.redirect_url,
                callback_query: finish.callback_query.into_iter().collect(),
                properties: finish.properties.into_iter().collect(),
                settings: ctx.settings.clone(),
            };
            plugin.auth_finish(&request).await.map(|v| json!(v))
        }
        _ => unreachable!("checked against EXPORTS"),
    };
    let (answer, answered) = match answer {
        Ok(value) => (json!({ "ok": value }), true),
        Err(CallError::Channel(error)) => (json!({ "refused": error }), true),
        Err(CallError::Failed(failure)) => (json!({ "failed": failure.to_string() }), false),
    };
    Ok(match record {
        None => (answer, answered),
        Some((recorder, state)) => {
            let (http, mail, logs) = recorder.report();
            let state = state.lock().expect("state lock").clone();
            (json!({ "answer": answer, "http": http, "mail": mail, "logs": logs, "state": state }), answered)
        }
    })
}
