//! LINE channel: a LINE Official Account's chats (one-to-one, groups, rooms) through the
//! Messaging API. Answers go out with the event's reply token while it is fresh (free, and
//! LINE's preferred way), otherwise by push with a retry key, so a retried push never
//! reaches the customer twice.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use switchboard_sdk::guide::Guide;
use switchboard_sdk::serde::Deserialize;
use switchboard_sdk::serde_json::{Value, json};
use switchboard_sdk::*;
use uuid::Uuid;

const DEFAULT_API: &str = "https://api.line.me";
/// Where message content is (a test or on-premise base URL serves both).
const DATA_API: &str = "https://api-data.line.me";

/// How long after its event a reply token is still used. LINE's reference ("Send reply
/// message") says a reply token can be used once, and only within one minute of the webhook
/// (after that it "isn't guaranteed to work"). We stop at 50 s: the minute runs on LINE's
/// clock from the delivery, ours runs from the event's `timestamp`, and a token sent at 59 s
/// may expire on the way. Past this, and whenever LINE calls a token invalid, we push.
const REPLY_TOKEN_LIFETIME_MS: u64 = 50_000;

/// Namespace of push retry keys: UUID v5 of `<channel id>/<message id>` under it.
const RETRY_KEY_NAMESPACE: Uuid = Uuid::from_u128(0x6c1f_8a2e_4b7d_4e0a_9c35_2f1e_5d7b_a9c4);

struct Line;

impl Channel for Line {
    fn manifest() -> Manifest {
        Manifest {
            id: "line".into(),
            name: "LINE".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "LINE Official Accounts: one-to-one chats, groups and rooms through the Messaging API".into(),
            // The name mirrors the LINE channel the secret belongs to: both stay once connected.
            capabilities: vec![Capability::SendMedia, Capability::FixedName],
            // Content (customers' files) comes from the data API's own host.
            outbound_hosts: vec!["api.line.me".into(), "api-data.line.me".into()],
        }
    }

    fn settings_schema() -> Vec<Field> {
        vec![
            Field::new("channel_secret", "Channel secret", FieldKind::Secret)
                .required()
                .immutable()
                .help("LINE Developers Console > your Messaging API channel > Basic settings > Channel secret"),
            Field::new("channel_access_token", "Channel access token", FieldKind::Secret)
                .required()
                .help("LINE Developers Console > Messaging API tab > Channel access token (long-lived); can be replaced later"),
            Field::new("api_base_url", "API base URL", FieldKind::Url)
                .default_value(DEFAULT_API)
                .help("Change only for tests or a proxy (the operator must allow its host)"),
        ]
    }

    fn connect(ctx: &ChannelContext) -> Result<Connection, ChannelError> {
        ctx.require("channel_secret")?;
        let response = call(ctx, http::get(api_url(ctx, "/v2/bot/info")))?;
        if !response.is_success() {
            return Err(match refusal(&response) {
                ChannelError::Unauthorized(reason) => {
                    ChannelError::Unauthorized(format!("LINE refused the channel access token: {reason}"))
                }
                other => other,
            });
        }
        let bot: BotInfo = response.json()?;
        Ok(Connection {
            display_name: bot.display_name,
            external_account_id: bot.basic_id.clone(),
            setup: vec![
                SetupItem::new(
                    "webhook_url",
                    "Webhook URL: paste it in the LINE Developers Console, Messaging API tab, Webhook settings",
                    &ctx.webhook_url,
                ),
                SetupItem::new(
                    "use_webhook",
                    "Use webhook",
                    "Switch on \"Use webhook\" under Webhook settings (LINE sends nothing until it is on), then press Verify",
                ),
                SetupItem::new("basic_id", "Basic ID: customers add the account as a friend with it", bot.basic_id),
            ],
        })
    }

    fn handle_webhook(ctx: &ChannelContext, request: HttpRequest) -> Result<WebhookOutcome, ChannelError> {
        Self::handle_webhook_with_choices(ctx, request).map(InteractiveWebhookOutcome::plain)
    }

    /// A postback (a quick reply's or a template button's `data`) is the customer's choice.
    fn handle_webhook_with_choices(ctx: &ChannelContext, request: HttpRequest) -> Result<InteractiveWebhookOutcome, ChannelError> {
        let secret = ctx.setting("channel_secret").unwrap_or_default();
        let signature = request.header("x-line-signature").unwrap_or_default();
        if secret.is_empty() || !verify_hmac_sha256_base64(secret, &request.body, signature) {
            return Err(ChannelError::Unauthorized("missing or wrong X-Line-Signature".into()));
        }
        // An empty `events` array is LINE's "Verify" ping: acknowledged like any delivery.
        let payload: Payload = request.json()?;
        let events = payload.events.into_iter().filter_map(inbound_event).collect();
        Ok(InteractiveWebhookOutcome::ok(events))
    }

    fn send(ctx: &ChannelContext, message: OutboundMessage) -> Result<Receipt, ChannelError> {
        let messages = line_messages(&message.content)?;
        deliver(ctx, &message, messages)
    }

    fn interactive_support() -> InteractiveSupport {
        buttons::support()
    }

    /// Sent as any message (reply token first, then push), as LINE message objects.
    fn send_interactive(ctx: &ChannelContext, message: InteractiveMessage) -> Result<Receipt, ChannelError> {
        let messages = buttons::messages(&message.content);
        let InteractiveMessage { message_id, conversation_id, recipient, content: _, reply_to, last_inbound, window, attempt } = message;
        let shell = OutboundMessage { message_id, conversation_id, recipient, content: OutboundContent::Text(String::new()), reply_to, last_inbound, window, attempt };
        deliver(ctx, &shell, messages)
    }

    /// Content LINE keeps (`contentProvider.type` `line`) comes from the data API with the
    /// channel token (202 while a large video is prepared, 410 once the user unsent it);
    /// `external` content from its own URL. Stickers are not files.
    fn fetch_media(ctx: &ChannelContext, attachment: &Attachment) -> Result<MediaSource, ChannelError> {
        if attachment.kind == AttachmentKind::Sticker {
            return Err(ChannelError::Unsupported("a LINE sticker is not a file".into()));
        }
        if let Some(url) = &attachment.url {
            return Ok(MediaRequest::get(url.clone()).into());
        }
        let id = attachment.provider_media_id.as_deref().ok_or_else(|| ChannelError::Provider("the attachment has no LINE message id".into()))?;
        let base = match ctx.setting_or("api_base_url", DEFAULT_API).trim_end_matches('/') {
            DEFAULT_API => DATA_API,
            custom => custom,
        };
        Ok(MediaRequest::get(format!("{base}/v2/bot/message/{id}/content")).bearer(ctx.require("channel_access_token")?).into())
    }

    fn connect_guide() -> Guide {
        Guide::new()
            .section("Turn on the Messaging API")
            .steps([
                "Sign in to [LINE Official Account Manager](https://manager.line.biz) and open your account.",
                "Go to **Settings** → **Messaging API** and press **Use Messaging API**.",
                "Choose a provider, or create one, and confirm.",
                "Under **Response settings**, switch **Webhooks** on and **Auto-response messages** off. Leave **Chat** off (where the older **Response mode** is shown, choose **Bot**): answers come from this inbox.",
            ])
            .section("Copy the keys")
            .steps([
                "Open the [LINE Developers Console](https://developers.line.biz/console/), your provider, then the Messaging API channel of the account.",
                "On **Basic settings**, copy the **Channel secret** into **Channel secret**.",
                "On the **Messaging API** tab, issue a long-lived **Channel access token** and paste it in **Channel access token**, then connect.",
            ])
            .section("Set the webhook")
            .steps([
                "Copy the **Webhook URL** shown here after connecting.",
                "In the console's **Messaging API** tab, under **Webhook settings**, paste it in **Webhook URL** and press **Update**.",
                "Switch on **Use webhook** (LINE sends nothing until it is on) and press **Verify**.",
            ])
            .note("The first answer to a customer's message, sent within about a minute, uses LINE's reply token and is free; other answers go out as push messages, which count toward your LINE plan's monthly message limit.")
    }

    /// The plugin's texts in other languages: `i18n/<language>.json`, a file translators edit.
    fn translations(language: &str) -> Vec<(String, String)> {
        switchboard_sdk::texts_for(language, &[("id", include_str!("../i18n/id.json"))])
    }
}

export_channel!(Line);

/// Sends LINE message objects for one of our messages: with the customer's reply token while
/// it is fresh and unused (free), else pushed with a retry key (a retry never sends twice).
fn deliver(ctx: &ChannelContext, message: &OutboundMessage, mut messages: Vec<Value>) -> Result<Receipt, ChannelError> {
    if let Some(quote) = quote_token(message)
        && messages[0]["type"] == "text"
    {
        messages[0]["quoteToken"] = quote.into();
    }
    if let Some(token) = fresh_reply_token(message, now_ms()) {
        // One reply per token: mark it before use, so a later message never tries it again.
        let used = format!("reply_token_used:{}", message.recipient);
        if state::get(&used).as_deref() != Some(token) {
            state::set(&used, token);
            let body = json!({ "replyToken": token, "messages": messages });
            let response = call(ctx, http::post(api_url(ctx, "/v2/bot/message/reply")).json(&body))?;
            if response.is_success() {
                return receipt(&response);
            }
            if !is_invalid_reply_token(&response) {
                return Err(refusal(&response));
            }
            log::info("LINE refused the reply token (used or expired): pushing instead");
        }
    }
    let body = json!({ "to": message.recipient, "messages": messages });
    let request = http::post(api_url(ctx, "/v2/bot/message/push"))
        .header("x-line-retry-key", retry_key(&ctx.channel_id, &message.message_id).to_string())
        .json(&body);
    let response = call(ctx, request)?;
    match response.status {
        _ if response.is_success() => receipt(&response),
        // The retry key was accepted before: an earlier attempt got through and only its
        // answer was lost. LINE sent the message once; this attempt is done too.
        409 => accepted_before(&response),
        _ => Err(refusal(&response)),
    }
}

mod buttons;

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

fn api_url(ctx: &ChannelContext, path: &str) -> String {
    format!("{}{path}", ctx.setting_or("api_base_url", DEFAULT_API).trim_end_matches('/'))
}

/// Sends a Messaging API request with the channel access token.
fn call(ctx: &ChannelContext, request: http::Request) -> Result<http::Response, ChannelError> {
    request.bearer_auth(ctx.require("channel_access_token")?).send()
}

/// The push retry key of one outbound message: a UUID, the same on every attempt of that
/// message (the host's message id is stable across retries), different for every other
/// message and channel (channel ids are random, so a reinstalled host never reuses a key
/// LINE still remembers).
fn retry_key(channel_id: &str, message_id: &str) -> Uuid {
    Uuid::new_v5(&RETRY_KEY_NAMESPACE, format!("{channel_id}/{message_id}").as_bytes())
}

/// The conversation's reply token when it may still answer: the first attempt of a message
/// (a retry may follow a push LINE accepted, so it pushes again with the same retry key),
/// a token on the customer's last message, younger than [`REPLY_TOKEN_LIFETIME_MS`].
/// Whether it was used already is the caller's check (state).
fn fresh_reply_token(message: &OutboundMessage, now_ms: u64) -> Option<&str> {
    if message.attempt > 0 {
        return None;
    }
    let last = message.last_inbound.as_ref()?;
    let token = property(&last.properties, "reply_token")?;
    (now_ms.saturating_sub(last.timestamp_ms) < REPLY_TOKEN_LIFETIME_MS).then_some(token)
}

/// The quote token of the message the agent answers, when it is the customer's last one.
fn quote_token(message: &OutboundMessage) -> Option<&str> {
    let last = message.last_inbound.as_ref()?;
    (message.reply_to.as_deref() == Some(last.provider_message_id.as_str()))
        .then(|| property(&last.properties, "quote_token"))
        .flatten()
}

/// Our content as LINE message objects: text, or an image or video by HTTPS URL (a caption
/// follows as a text message: LINE's media messages have none). LINE has no file message, and
/// its audio message needs a duration we do not know: documents and audio go as a link.
fn line_messages(content: &OutboundContent) -> Result<Vec<Value>, ChannelError> {
    match content {
        OutboundContent::Text(text) => Ok(vec![json!({ "type": "text", "text": text })]),
        OutboundContent::Media(media) => {
            if !media.url.starts_with("https://") {
                return Err(ChannelError::Provider("LINE fetches media over HTTPS only: the URL must start with https://".into()));
            }
            let kind = match media.kind {
                MediaKind::Image => "image",
                MediaKind::Video => "video",
                MediaKind::Document | MediaKind::Audio | MediaKind::Sticker => {
                    let name = media.filename.as_deref().unwrap_or("File");
                    let link = match media.caption.as_deref().filter(|c| !c.trim().is_empty()) {
                        Some(caption) => format!("{caption}\n{name}: {}", media.url),
                        None => format!("{name}: {}", media.url),
                    };
                    return Ok(vec![json!({ "type": "text", "text": link })]);
                }
            };
            // The contract carries no preview image: the image is its own preview; a video's
            // preview is the video URL (LINE shows no thumbnail but plays it).
            let mut messages = vec![json!({ "type": kind, "originalContentUrl": media.url, "previewImageUrl": media.url })];
            if let Some(caption) = media.caption.as_deref().filter(|c| !c.trim().is_empty()) {
                messages.push(json!({ "type": "text", "text": caption }));
            }
            Ok(messages)
        }
        OutboundContent::Template(_) => Err(ChannelError::Unsupported("LINE has no message templates".into())),
    }
}

/// `{"sentMessages":[{"id","quoteToken"}]}`: the first message's id is the receipt.
fn receipt(response: &http::Response) -> Result<Receipt, ChannelError> {
    let sent: Sent = response.json()?;
    let first = sent.sent_messages.into_iter().next();
    let id = first.map(|m| m.id).ok_or_else(|| ChannelError::Provider("LINE answered without sentMessages".into()))?;
    Ok(Receipt { provider_message_id: id })
}

/// A 409 for a retry key: the body names the messages sent then; else the accepted request.
fn accepted_before(response: &http::Response) -> Result<Receipt, ChannelError> {
    receipt(response).or_else(|_| {
        let accepted = response.header("x-line-accepted-request-id").unwrap_or_default();
        match accepted {
            "" => Err(refusal(response)),
            id => Ok(Receipt { provider_message_id: id.into() }),
        }
    })
}

fn is_invalid_reply_token(response: &http::Response) -> bool {
    response.status == 400
        && response.json::<ErrorBody>().is_ok_and(|error| error.message.eq_ignore_ascii_case("Invalid reply token"))
}

/// LINE's error answer, `{"message","details":[{"message","property"}]}`, as a channel error.
fn refusal(response: &http::Response) -> ChannelError {
    let reason = match response.json::<ErrorBody>() {
        Ok(error) if error.details.is_empty() => error.message,
        Ok(error) => {
            let details: Vec<String> =
                error.details.iter().map(|d| format!("{}: {}", d.property, d.message)).collect();
            format!("{} ({})", error.message, details.join("; "))
        }
        Err(_) => format!("HTTP {}", response.status),
    };
    match response.status {
        401 => ChannelError::Unauthorized(reason),
        // The month's message quota is used up: retrying before next month cannot help.
        429 if reason.contains("monthly limit") => ChannelError::Provider(reason),
        429 => ChannelError::RateLimited(response.header("retry-after").and_then(|s| s.trim().parse().ok())),
        500.. => ChannelError::Transient(format!("LINE answered HTTP {}: {reason}", response.status)),
        _ => ChannelError::Provider(reason),
    }
}

/// One webhook event as the host's event: a postback (a button's or quick reply's `data`; LINE
/// gives no title and no message it was on) as the customer's choice, others as [`inbound`].
fn inbound_event(event: LineEvent) -> Option<InboundEvent> {
    let picked = event.postback.as_ref().filter(|postback| event.kind == "postback" && postback.params.is_empty()).map(|postback| postback.data.clone());
    let message = inbound(event)?;
    Some(match picked {
        Some(id) => InboundEvent::Choice(Choice {
            provider_message_id: message.provider_message_id,
            conversation: message.conversation,
            conversation_name: None,
            sender: message.sender,
            timestamp_ms: message.timestamp_ms,
            id,
            title: None,
            answers: None,
            properties: message.properties,
        }),
        None => InboundEvent::Event(Event::Message(message)),
    })
}

/// One webhook event as a message in the inbox, or `None` for events the inbox does not
/// show (join, leave, unsend, beacon...) and events without a source.
fn inbound(event: LineEvent) -> Option<InboundMessage> {
    let mut properties = vec![("event".to_string(), event.kind.clone())];
    let mut reply_to = None;
    let (text, attachments) = match event.kind.as_str() {
        "message" => {
            let message = event.message?;
            properties.push(("message_id".into(), message.id.clone()));
            if let Some(quote) = &message.quote_token {
                properties.push(("quote_token".into(), quote.clone()));
            }
            reply_to = message.quoted_message_id.clone();
            content(message)
        }
        // A friend added or blocked the account: shown as what it is, named by LINE's type.
        "follow" | "unfollow" => {
            (None, vec![Attachment { description: Some(event.kind.clone()), ..Attachment::new(AttachmentKind::Unsupported) }])
        }
        // A button's data (and a picker's date or time), as the customer's answer.
        "postback" => {
            let postback = event.postback?;
            let params: Vec<String> = postback.params.iter().map(|(k, v)| format!("{k}={}", plain(v))).collect();
            let text = if params.is_empty() { postback.data } else { format!("{} ({})", postback.data, params.join(", ")) };
            (Some(text), vec![])
        }
        _ => return None,
    };
    if let Some(token) = event.reply_token {
        properties.push(("reply_token".into(), token));
    }
    let source = event.source?;
    let conversation = source.group_id.or(source.room_id).or_else(|| source.user_id.clone())?;
    Some(InboundMessage {
        provider_message_id: event.webhook_event_id,
        sender: ContactProfile { id: source.user_id.unwrap_or_else(|| conversation.clone()), name: None, handle: None },
        conversation,
        conversation_name: None,
        timestamp_ms: event.timestamp,
        text,
        attachments,
        reply_to,
        properties,
    })
}

fn plain(value: &Value) -> String {
    value.as_str().map_or_else(|| value.to_string(), str::to_owned)
}

fn content(message: LineMessage) -> (Option<String>, Vec<Attachment>) {
    let media = |kind| Attachment {
        provider_media_id: Some(message.id.clone()),
        url: message.content_provider.as_ref().and_then(|p| p.original_content_url.clone()),
        ..Attachment::new(kind)
    };
    let attachment = match message.kind.as_str() {
        "text" => return (message.text, vec![]),
        "image" => media(AttachmentKind::Image),
        "video" => media(AttachmentKind::Video),
        "audio" => media(AttachmentKind::Audio),
        "file" => Attachment {
            filename: message.file_name.clone(),
            size: message.file_size,
            ..media(AttachmentKind::Document)
        },
        "sticker" => Attachment {
            provider_media_id: Some(format!(
                "{}/{}",
                message.package_id.as_deref().unwrap_or_default(),
                message.sticker_id.as_deref().unwrap_or_default()
            )),
            description: (!message.keywords.is_empty()).then(|| message.keywords.join(", ")),
            ..Attachment::new(AttachmentKind::Sticker)
        },
        "location" => Attachment {
            location: Some(Location {
                latitude: message.latitude.unwrap_or_default(),
                longitude: message.longitude.unwrap_or_default(),
                name: message.title.clone(),
                address: message.address.clone(),
            }),
            ..Attachment::new(AttachmentKind::Location)
        },
        other => Attachment { description: Some(other.into()), ..Attachment::new(AttachmentKind::Unsupported) },
    };
    (message.text, vec![attachment])
}

// The Messaging API's wire types, as far as this channel reads them.

#[derive(Deserialize)]
#[serde(crate = "switchboard_sdk::serde", rename_all = "camelCase")]
struct BotInfo {
    basic_id: String,
    display_name: String,
}

#[derive(Deserialize)]
#[serde(crate = "switchboard_sdk::serde", rename_all = "camelCase")]
struct Sent {
    #[serde(default)]
    sent_messages: Vec<SentMessage>,
}

#[derive(Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
struct SentMessage {
    id: String,
}

#[derive(Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
struct ErrorBody {
    message: String,
    #[serde(default)]
    details: Vec<ErrorDetail>,
}

#[derive(Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
struct ErrorDetail {
    #[serde(default)]
    message: String,
    #[serde(default)]
    property: String,
}

#[derive(Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
struct Payload {
    /// Events this channel cannot read (new types, odd shapes) are skipped, not refused:
    /// one of them must not cost the others in the same delivery.
    #[serde(default, deserialize_with = "readable_events")]
    events: Vec<LineEvent>,
}

fn readable_events<'de, D: switchboard_sdk::serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<LineEvent>, D::Error> {
    let raw = Vec::<Value>::deserialize(deserializer)?;
    Ok(raw.into_iter().filter_map(|event| switchboard_sdk::serde_json::from_value(event).ok()).collect())
}

#[derive(Deserialize)]
#[serde(crate = "switchboard_sdk::serde", rename_all = "camelCase")]
struct LineEvent {
    #[serde(rename = "type")]
    kind: String,
    timestamp: u64,
    webhook_event_id: String,
    reply_token: Option<String>,
    source: Option<Source>,
    message: Option<LineMessage>,
    postback: Option<Postback>,
}

#[derive(Deserialize)]
#[serde(crate = "switchboard_sdk::serde", rename_all = "camelCase")]
struct Source {
    user_id: Option<String>,
    group_id: Option<String>,
    room_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(crate = "switchboard_sdk::serde", rename_all = "camelCase")]
struct LineMessage {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    text: Option<String>,
    quote_token: Option<String>,
    quoted_message_id: Option<String>,
    content_provider: Option<ContentProvider>,
    file_name: Option<String>,
    file_size: Option<u64>,
    package_id: Option<String>,
    sticker_id: Option<String>,
    #[serde(default)]
    keywords: Vec<String>,
    title: Option<String>,
    address: Option<String>,
    latitude: Option<f64>,
    longitude: Option<f64>,
}

/// `"external"` content carries its URL; `"line"` content is fetched by message id.
#[derive(Deserialize)]
#[serde(crate = "switchboard_sdk::serde", rename_all = "camelCase")]
struct ContentProvider {
    original_content_url: Option<String>,
}

#[derive(Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
struct Postback {
    data: String,
    #[serde(default)]
    params: BTreeMap<String, Value>,
}

#[cfg(test)]
mod tests;
