//! Telegram channel: a bot's private and group chats, through the Bot API.

use switchboard_sdk::guide::Guide;
use switchboard_sdk::serde::Deserialize;
use switchboard_sdk::serde::de::{DeserializeOwned, IgnoredAny};
use switchboard_sdk::serde_json::{Map, Value, json};
use switchboard_sdk::*;

const DEFAULT_API: &str = "https://api.telegram.org";

struct Telegram;

impl Channel for Telegram {
    fn manifest() -> Manifest {
        Manifest {
            id: "telegram".into(),
            name: "Telegram".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "Telegram bots: private chats and groups through the Bot API".into(),
            capabilities: vec![Capability::SendMedia],
            outbound_hosts: vec!["api.telegram.org".into()],
        }
    }

    fn settings_schema() -> Vec<Field> {
        vec![
            Field::new("bot_token", "Bot token", FieldKind::Secret).required().help("From @BotFather"),
            Field::new("api_base_url", "API base URL", FieldKind::Url)
                .default_value(DEFAULT_API)
                .help("Change only for tests or an on-premise Bot API server (the operator must allow its host)"),
        ]
    }

    fn connect(ctx: &ChannelContext) -> Result<Connection, ChannelError> {
        let bot: User = call(http::get(api_url(ctx, "getMe")?))?;
        call::<IgnoredAny>(http::post(api_url(ctx, "setWebhook")?).json(&json!({
            "url": ctx.webhook_url,
            "secret_token": ctx.webhook_secret,
            "allowed_updates": ["message", "edited_message", "callback_query"],
        })))?;
        Ok(Connection {
            display_name: bot.username.as_ref().map_or(bot.full_name(), |name| format!("@{name}")),
            external_account_id: bot.id.to_string(),
            setup: vec![
                SetupItem::new("webhook_url", "Webhook URL", &ctx.webhook_url),
                SetupItem::new("webhook", "Webhook", "Registered with Telegram automatically: nothing to do"),
            ],
        })
    }

    fn disconnect(ctx: &ChannelContext) -> Result<(), ChannelError> {
        match call::<IgnoredAny>(http::post(api_url(ctx, "deleteWebhook")?)) {
            // A revoked token has no webhook left to delete.
            Ok(_) | Err(ChannelError::Unauthorized(_)) => Ok(()),
            Err(error) => Err(error),
        }
    }

    fn handle_webhook(ctx: &ChannelContext, request: HttpRequest) -> Result<WebhookOutcome, ChannelError> {
        Self::handle_webhook_with_choices(ctx, request).map(InteractiveWebhookOutcome::plain)
    }

    /// A tap on an inline keyboard button is a `callback_query`: answered at once (the
    /// customer's client shows a spinner until then) and reported as the choice.
    fn handle_webhook_with_choices(ctx: &ChannelContext, request: HttpRequest) -> Result<InteractiveWebhookOutcome, ChannelError> {
        let token = request.header("x-telegram-bot-api-secret-token");
        if ctx.webhook_secret.is_empty() || !token.is_some_and(|token| secure_eq(token, &ctx.webhook_secret)) {
            return Err(ChannelError::Unauthorized("missing or wrong secret token".into()));
        }
        let update: Update = request.json()?;
        if let Some(query) = update.callback_query {
            return Ok(InteractiveWebhookOutcome::ok(keyboards::tapped(ctx, update.update_id, query).into_iter().collect()));
        }
        let message = update.message.or(update.edited_message);
        let events = message.map(|message| InboundEvent::Event(Event::Message(inbound(update.update_id, message))));
        Ok(InteractiveWebhookOutcome::ok(events.into_iter().collect()))
    }

    fn interactive_support() -> InteractiveSupport {
        keyboards::support()
    }

    fn send_interactive(ctx: &ChannelContext, message: InteractiveMessage) -> Result<Receipt, ChannelError> {
        let mut body = keyboards::message_body(&message.content);
        body["chat_id"] = message.recipient.into();
        if let Some(id) = message.reply_to.and_then(|id| id.parse::<i64>().ok()) {
            body["reply_to_message_id"] = id.into();
            body["allow_sending_without_reply"] = true.into();
        }
        let sent: MessageRef = call(http::post(api_url(ctx, "sendMessage")?).json(&body))?;
        Ok(Receipt { provider_message_id: sent.message_id.to_string() })
    }

    fn send(ctx: &ChannelContext, message: OutboundMessage) -> Result<Receipt, ChannelError> {
        let mut body = json!({ "chat_id": message.recipient });
        let method = match message.content {
            OutboundContent::Text(text) => {
                body["text"] = text.into();
                "sendMessage"
            }
            OutboundContent::Media(media) => {
                let (method, field) = match media.kind {
                    MediaKind::Image => ("sendPhoto", "photo"),
                    MediaKind::Video => ("sendVideo", "video"),
                    MediaKind::Audio => ("sendAudio", "audio"),
                    MediaKind::Document => ("sendDocument", "document"),
                    MediaKind::Sticker => ("sendSticker", "sticker"),
                };
                body[field] = media.url.into();
                if let Some(caption) = media.caption {
                    body["caption"] = caption.into();
                }
                method
            }
            OutboundContent::Template(_) => {
                return Err(ChannelError::Unsupported("Telegram has no message templates".into()));
            }
        };
        if let Some(id) = message.reply_to.and_then(|id| id.parse::<i64>().ok()) {
            body["reply_to_message_id"] = id.into();
            // A reply to a message deleted since still goes out, unthreaded.
            body["allow_sending_without_reply"] = true.into();
        }
        let sent: MessageRef = call(http::post(api_url(ctx, method)?).json(&body))?;
        Ok(Receipt { provider_message_id: sent.message_id.to_string() })
    }

    /// `getFile` gives the file's path; the host downloads it from `/file/bot<token>/<path>`
    /// (links live at least an hour; bots download up to 20 MB, bigger ones Telegram refuses).
    fn fetch_media(ctx: &ChannelContext, attachment: &Attachment) -> Result<MediaSource, ChannelError> {
        let file_id = attachment.provider_media_id.as_deref().ok_or_else(|| ChannelError::Provider("the attachment has no Telegram file id".into()))?;
        let file: FileLocation = call(http::post(api_url(ctx, "getFile")?).json(&json!({ "file_id": file_id })))?;
        let path = file.file_path.ok_or_else(|| ChannelError::Provider("Telegram gives no download link for this file".into()))?;
        let base = ctx.setting_or("api_base_url", DEFAULT_API).trim_end_matches('/');
        Ok(MediaRequest::get(format!("{base}/file/bot{}/{path}", ctx.require("bot_token")?)).into())
    }

    /// Telegram takes about 30 messages a second from one bot (its FAQ); more answer 429.
    fn send_limits() -> SendLimits {
        SendLimits { per_second: Some(30), concurrency: None }
    }

    fn connect_guide() -> Guide {
        Guide::new()
            .section("Create the bot")
            .steps([
                "Open [@BotFather](https://t.me/BotFather) in Telegram and press **Start**.",
                "Send `/newbot`.",
                "Choose a name: what customers see in their chat list.",
                "Choose a username ending in `bot`, such as `acme_support_bot`.",
                "Copy the HTTP API token BotFather answers with.",
            ])
            .section("Connect it here")
            .steps([
                "Paste the token in **Bot token**; leave **API base URL** as it is unless you run your own Bot API server.",
                "Press **Connect**. The webhook is registered with Telegram automatically: nothing to set there.",
                "Customers find the bot by its username (`t.me/<username>`); their messages appear in the inbox.",
            ])
            .note("In groups a bot sees only commands and replies to it. To receive every message, send `/setprivacy` to BotFather and choose **Disable** before adding the bot to the group.")
    }

    /// The plugin's texts in other languages: `i18n/<language>.json`, a file translators edit.
    fn translations(language: &str) -> Vec<(String, String)> {
        switchboard_sdk::texts_for(language, &[("id", include_str!("../i18n/id.json"))])
    }
}

export_channel!(Telegram);

mod keyboards;

fn api_url(ctx: &ChannelContext, method: &str) -> Result<String, ChannelError> {
    let base = ctx.setting_or("api_base_url", DEFAULT_API).trim_end_matches('/');
    Ok(format!("{base}/bot{}/{method}", ctx.require("bot_token")?))
}

/// Sends a Bot API call; every answer is `{"ok":true,"result":...}` or
/// `{"ok":false,"error_code":N,"description":"...","parameters"?:{"retry_after":S}}`.
fn call<T: DeserializeOwned>(request: http::Request) -> Result<T, ChannelError> {
    let response = request.send()?;
    if response.status >= 500 {
        return Err(ChannelError::Transient(format!("Telegram answered HTTP {}", response.status)));
    }
    // The wait may come only as a `Retry-After` header (a proxy in front, or a body that is
    // not Telegram's): honoured when the body does not say.
    let header_wait = response.header("retry-after").and_then(|s| s.trim().parse().ok());
    let answer: Answer<T> = match response.json() {
        Ok(answer) => answer,
        Err(_) if response.status == 429 => return Err(ChannelError::RateLimited(header_wait)),
        Err(error) => return Err(error),
    };
    match answer.result {
        Some(result) if answer.ok => Ok(result),
        _ => {
            let reason = answer.description.unwrap_or_else(|| format!("HTTP {}", response.status));
            Err(match answer.error_code.unwrap_or(response.status) {
                401 => ChannelError::Unauthorized(reason),
                429 => ChannelError::RateLimited(answer.parameters.and_then(|p| p.retry_after).or(header_wait)),
                _ => ChannelError::Provider(reason),
            })
        }
    }
}

fn inbound(update_id: i64, message: Message) -> InboundMessage {
    let attachments = attachments(&message);
    let chat = message.chat;
    InboundMessage {
        provider_message_id: update_id.to_string(),
        conversation: chat.id.to_string(),
        sender: match message.from {
            Some(user) => ContactProfile { id: user.id.to_string(), name: Some(user.full_name()), handle: user.username },
            // Posts on behalf of a chat carry no user.
            None => ContactProfile { id: chat.id.to_string(), name: chat.title.clone(), handle: None },
        },
        conversation_name: chat.title, // only groups and channels have one
        timestamp_ms: message.date * 1000,
        text: message.text.or(message.caption),
        attachments,
        reply_to: message.reply_to_message.map(|reply| reply.message_id.to_string()),
        properties: message.message_id.map(|id| vec![("message_id".into(), id.to_string())]).unwrap_or_default(),
    }
}

fn attachments(message: &Message) -> Vec<Attachment> {
    let file = |kind, file: &File| Attachment {
        provider_media_id: Some(file.file_id.clone()),
        mime_type: file.mime_type.clone(),
        filename: file.file_name.clone(),
        size: file.file_size,
        ..Attachment::new(kind)
    };
    let largest_photo = message.photo.iter().max_by_key(|photo| photo.width * photo.height);
    let files = [
        (AttachmentKind::Image, largest_photo),
        (AttachmentKind::Document, message.document.as_ref()),
        (AttachmentKind::Audio, message.voice.as_ref()),
        (AttachmentKind::Audio, message.audio.as_ref()),
        (AttachmentKind::Video, message.video.as_ref()),
        (AttachmentKind::Sticker, message.sticker.as_ref()),
    ];
    let mut found: Vec<_> = files.into_iter().filter_map(|(kind, f)| Some(file(kind, f?))).collect();
    if let Some(point) = &message.location {
        let location = Location { latitude: point.latitude, longitude: point.longitude, name: None, address: None };
        found.push(Attachment { location: Some(location), ..Attachment::new(AttachmentKind::Location) });
    }
    if let Some(contact) = &message.contact {
        let summary = format!("{} {}", full_name(&contact.first_name, &contact.last_name), contact.phone_number);
        found.push(Attachment { description: Some(summary), ..Attachment::new(AttachmentKind::Contact) });
    }
    if found.is_empty() && message.text.is_none() {
        let field = message.other.keys().find(|key| !METADATA.contains(&key.as_str()));
        let field = field.map_or("message", String::as_str);
        found.push(Attachment { description: Some(field.into()), ..Attachment::new(AttachmentKind::Unsupported) });
    }
    found
}

fn full_name(first: &str, last: &Option<String>) -> String {
    match last {
        Some(last) => format!("{first} {last}"),
        None => first.into(),
    }
}

/// Message fields that describe a message rather than carry its content.
const METADATA: &[&str] = &[
    "author_signature", "business_connection_id", "caption_entities", "edit_date", "effect_id",
    "entities", "external_reply", "forward_date", "forward_from", "forward_from_chat",
    "forward_from_message_id", "forward_origin", "forward_sender_name", "forward_signature",
    "has_media_spoiler", "has_protected_content", "is_automatic_forward", "is_from_offline",
    "is_topic_message", "link_preview_options", "media_group_id", "message_thread_id", "quote",
    "reply_markup", "reply_to_story", "sender_boost_count", "sender_business_bot", "sender_chat",
    "show_caption_above_media", "via_bot",
];

// The Bot API's wire types, as far as this channel reads them.

#[derive(Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
struct Answer<T> {
    ok: bool,
    result: Option<T>,
    error_code: Option<u16>,
    description: Option<String>,
    parameters: Option<ResponseParameters>,
}

/// `getFile`'s answer.
#[derive(Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
struct FileLocation {
    file_path: Option<String>,
}

#[derive(Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
struct ResponseParameters {
    retry_after: Option<u64>,
}

#[derive(Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
struct Update {
    update_id: i64,
    message: Option<Message>,
    edited_message: Option<Message>,
    callback_query: Option<keyboards::CallbackQuery>,
}

#[derive(Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
struct Message {
    message_id: Option<i64>,
    from: Option<User>,
    chat: Chat,
    date: u64,
    text: Option<String>,
    caption: Option<String>,
    #[serde(default)]
    photo: Vec<File>,
    document: Option<File>,
    voice: Option<File>,
    audio: Option<File>,
    video: Option<File>,
    sticker: Option<File>,
    location: Option<GeoPoint>,
    contact: Option<Contact>,
    reply_to_message: Option<MessageRef>,
    /// Every other field: names the content this channel does not understand.
    #[serde(flatten)]
    other: Map<String, Value>,
}

#[derive(Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
struct MessageRef {
    message_id: i64,
}

#[derive(Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
struct User {
    id: i64,
    first_name: String,
    last_name: Option<String>,
    username: Option<String>,
}

impl User {
    fn full_name(&self) -> String {
        full_name(&self.first_name, &self.last_name)
    }
}

#[derive(Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
struct Chat {
    id: i64,
    title: Option<String>,
}

/// A photo size, document, voice note, audio, video or sticker.
#[derive(Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
struct File {
    file_id: String,
    file_name: Option<String>,
    mime_type: Option<String>,
    file_size: Option<u64>,
    #[serde(default)]
    width: u64,
    #[serde(default)]
    height: u64,
}

#[derive(Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
struct GeoPoint {
    latitude: f64,
    longitude: f64,
}

#[derive(Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
struct Contact {
    phone_number: String,
    first_name: String,
    last_name: Option<String>,
}

#[cfg(test)]
mod tests;
