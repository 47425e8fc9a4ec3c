//! Webhooks: the verify-token challenge (`GET`), `X-Hub-Signature-256` under the app secret on
//! every `POST`, and deliveries (`{"object","entry":[{"id","time","messaging":[...]}]}`) as
//! events: messages with text and attachments, postbacks, quick replies, delivery and read
//! receipts. Echoes of the business's own messages are dropped.

use switchboard_sdk::serde::Deserialize;
use switchboard_sdk::serde_json::{self, Value};
use switchboard_sdk::*;

use crate::Product;

pub fn handle(product: &Product, ctx: &ChannelContext, request: HttpRequest) -> Result<InteractiveWebhookOutcome, ChannelError> {
    match request.method.as_str() {
        // The host's secret for the channel is its verify token (shown in the setup).
        "GET" => Ok(InteractiveWebhookOutcome { response: request.hub_challenge(&ctx.webhook_secret), events: vec![] }),
        "POST" => {
            if !request.has_hub_signature_256(&crate::operator_app::app_secret(ctx).unwrap_or_default()) {
                return Err(ChannelError::Unauthorized("missing or wrong X-Hub-Signature-256".into()));
            }
            let delivery: Delivery = request.json()?;
            let parsed = events(product, ctx.require(product.account_setting)?, delivery);
            for skipped in &parsed.skipped {
                log::warn(skipped);
            }
            Ok(InteractiveWebhookOutcome::ok(parsed.events))
        }
        other => Err(ChannelError::BadRequest(format!("Meta sends GET and POST, not {other}"))),
    }
}

/// The operator's app settings: the app id (for logins) and the secret that signs every
/// delivery of every Page subscribed to the app.
pub fn app_settings_schema() -> Vec<Field> {
    vec![
        Field::new("app_id", "App ID", FieldKind::Text)
            .required()
            .help("Meta for Developers → your app → App settings → Basic → App ID"),
        Field::new("app_secret", "App secret", FieldKind::Secret)
            .required()
            .help("Same page, App secret: it signs the webhooks of every account subscribed to the app"),
        Field::new("api_base_url", "Graph API base URL", FieldKind::Url)
            .help("Leave empty for https://graph.facebook.com; a proxy or a test server otherwise"),
    ]
}

/// The app's one callback URL: the verify-token challenge with the host's token for the app,
/// every `POST` verified with the app secret, and each entry's events tagged with the entry's
/// id (the Page or Instagram account), which the host routes to that account's channel.
pub fn handle_app(product: &Product, app: &AppContext, request: HttpRequest) -> Result<InteractiveAppWebhookOutcome, ChannelError> {
    match request.method.as_str() {
        "GET" => Ok(InteractiveAppWebhookOutcome { response: request.hub_challenge(&app.verify_token), events: vec![] }),
        "POST" => {
            let secret = property(&app.settings, "app_secret").unwrap_or_default();
            if !request.has_hub_signature_256(secret) {
                return Err(ChannelError::Unauthorized("missing or wrong X-Hub-Signature-256 (the app secret signs every delivery)".into()));
            }
            let delivery: Delivery = request.json()?;
            let mut events = Vec::new();
            if delivery.object != product.object {
                log::warn(format!("a delivery for `{}` reached the {} app: ignored", delivery.object, product.name));
            } else {
                for entry in delivery.entry {
                    let account = entry.id.clone();
                    let parsed = entry_events(entry);
                    for skipped in &parsed.skipped {
                        log::warn(skipped);
                    }
                    events.extend(parsed.events.into_iter().map(|event| AccountInboundEvent { account: account.clone(), event }));
                }
            }
            Ok(InteractiveAppWebhookOutcome { response: HttpResponse::ok(), events })
        }
        other => Err(ChannelError::BadRequest(format!("Meta sends GET and POST, not {other}"))),
    }
}

/// A delivery's events, and what was passed over (logged by the caller).
#[derive(Debug, Default)]
pub struct Parsed {
    pub events: Vec<InboundEvent>,
    pub skipped: Vec<String>,
}

/// The events of a delivery for the account `account_id`. A delivery of another object, and
/// entries of another account (one app's webhook serves all its Pages), are passed over and
/// acknowledged: Meta would only retry them.
pub fn events(product: &Product, account_id: &str, delivery: Delivery) -> Parsed {
    let mut parsed = Parsed::default();
    if delivery.object != product.object {
        parsed.skipped.push(format!("a delivery for `{}` reached a {} channel: ignored", delivery.object, product.name));
        return parsed;
    }
    for entry in delivery.entry {
        if entry.id != account_id {
            parsed.skipped.push(format!("an entry for account {} reached the channel of {account_id}: ignored", entry.id));
            continue;
        }
        let of_entry = entry_events(entry);
        parsed.events.extend(of_entry.events);
        parsed.skipped.extend(of_entry.skipped);
    }
    parsed
}

/// The events of one entry (one account's part of a delivery).
fn entry_events(entry: Entry) -> Parsed {
    let mut parsed = Parsed::default();
    for item in entry.messaging {
        // One item this code cannot read must not cost the others in the delivery.
        match serde_json::from_value::<Messaging>(item) {
            Ok(item) => parsed.events.extend(item.into_events(entry.time)),
            Err(e) => parsed.skipped.push(format!("unreadable messaging item: {e}")),
        }
    }
    parsed
}

#[derive(Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
pub struct Delivery {
    object: String,
    #[serde(default)]
    entry: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
struct Entry {
    id: String,
    time: Option<u64>,
    #[serde(default)]
    messaging: Vec<Value>,
}

#[derive(Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
struct Messaging {
    sender: Party,
    timestamp: Option<u64>,
    message: Option<Message>,
    postback: Option<Postback>,
    delivery: Option<DeliveryReceipt>,
    read: Option<ReadReceipt>,
}

#[derive(Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
struct Party {
    id: String,
}

#[derive(Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
struct Message {
    mid: String,
    text: Option<String>,
    #[serde(default)]
    attachments: Vec<MetaAttachment>,
    #[serde(default)]
    is_echo: bool,
    /// Instagram: the customer unsent the message.
    #[serde(default)]
    is_deleted: bool,
    quick_reply: Option<Payload>,
    reply_to: Option<ReplyTo>,
}

#[derive(Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
struct Payload {
    payload: String,
}

#[derive(Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
struct ReplyTo {
    mid: Option<String>,
}

#[derive(Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
struct MetaAttachment {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    payload: AttachmentPayload,
}

#[derive(Deserialize, Default)]
#[serde(crate = "switchboard_sdk::serde", default)]
struct AttachmentPayload {
    url: Option<String>,
    title: Option<String>,
    sticker_id: Option<u64>,
    coordinates: Option<Coordinates>,
}

#[derive(Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
struct Coordinates {
    lat: f64,
    long: f64,
}

#[derive(Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
struct Postback {
    title: Option<String>,
    payload: Option<String>,
    mid: Option<String>,
}

#[derive(Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
struct DeliveryReceipt {
    #[serde(default)]
    mids: Vec<String>,
    watermark: u64,
}

/// Messenger: `{"watermark"}`; Instagram: `{"mid"}`.
#[derive(Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
struct ReadReceipt {
    watermark: Option<u64>,
    mid: Option<String>,
}

impl Messaging {
    /// Messages, receipts, and taps as choices: a quick reply (`message.quick_reply.payload`,
    /// the text being its title) or a postback button (`postback {title, payload}`). Meta does
    /// not say which message was tapped.
    fn into_events(self, entry_time: Option<u64>) -> Vec<InboundEvent> {
        let customer = self.sender.id;
        let at = self.timestamp.or(entry_time).unwrap_or_default();
        let status = |target, state, timestamp_ms| {
            InboundEvent::Event(Event::Status(DeliveryStatus { target, state, timestamp_ms, error_code: None, error_message: None }))
        };
        let choice = |provider_message_id: String, id: String, title: Option<String>| {
            let base = inbound(customer.clone(), at);
            InboundEvent::Choice(Choice {
                provider_message_id,
                conversation: base.conversation,
                conversation_name: None,
                sender: base.sender,
                timestamp_ms: at,
                id,
                title,
                answers: None,
                properties: vec![],
            })
        };
        if let Some(message) = self.message {
            if message.is_echo || message.is_deleted {
                return vec![];
            }
            if let Some(quick) = message.quick_reply {
                return vec![choice(message.mid, quick.payload, message.text)];
            }
            return vec![InboundEvent::Event(Event::Message(InboundMessage {
                provider_message_id: message.mid,
                reply_to: message.reply_to.and_then(|r| r.mid),
                text: message.text,
                attachments: message.attachments.into_iter().map(attachment).collect(),
                ..inbound(customer, at)
            }))];
        }
        if let Some(postback) = self.postback {
            // A button the customer tapped: its title is what they saw, its payload what it means.
            let id = postback.mid.unwrap_or_else(|| format!("postback:{customer}:{at}"));
            return match postback.payload {
                Some(payload) => vec![choice(id, payload, postback.title)],
                None => vec![InboundEvent::Event(Event::Message(InboundMessage { provider_message_id: id, text: postback.title, ..inbound(customer, at) }))],
            };
        }
        if let Some(delivery) = self.delivery {
            let mut events: Vec<InboundEvent> = delivery
                .mids
                .into_iter()
                .map(|mid| status(StatusTarget::Message(mid), DeliveryState::Delivered, delivery.watermark))
                .collect();
            let watermark = StatusTarget::Watermark((customer, delivery.watermark));
            events.push(status(watermark, DeliveryState::Delivered, delivery.watermark));
            return events;
        }
        if let Some(read) = self.read {
            let target = match (read.watermark, read.mid) {
                (Some(watermark), _) => StatusTarget::Watermark((customer, watermark)),
                (None, Some(mid)) => StatusTarget::Message(mid),
                (None, None) => return vec![],
            };
            return vec![status(target, DeliveryState::Read, read.watermark.unwrap_or(at))];
        }
        vec![]
    }
}

/// A customer's message in a one-to-one conversation: the conversation is the customer
/// (their page-scoped or Instagram-scoped id). Webhooks carry no names.
fn inbound(customer: String, timestamp_ms: u64) -> InboundMessage {
    InboundMessage {
        provider_message_id: String::new(),
        conversation: customer.clone(),
        conversation_name: None,
        sender: ContactProfile { id: customer, name: None, handle: None },
        timestamp_ms,
        text: None,
        attachments: vec![],
        reply_to: None,
        properties: vec![],
    }
}

fn attachment(attachment: MetaAttachment) -> Attachment {
    let payload = attachment.payload;
    let kind = match attachment.kind.as_str() {
        "image" if payload.sticker_id.is_some() => AttachmentKind::Sticker,
        "image" => AttachmentKind::Image,
        "video" => AttachmentKind::Video,
        "audio" => AttachmentKind::Audio,
        "file" => AttachmentKind::Document,
        "location" => AttachmentKind::Location,
        _ => AttachmentKind::Unsupported,
    };
    Attachment {
        url: payload.url,
        provider_media_id: payload.sticker_id.map(|id| id.to_string()),
        location: payload.coordinates.map(|c| Location { latitude: c.lat, longitude: c.long, name: payload.title.clone(), address: None }),
        // Shares, story mentions, reels, fallbacks: named by Meta's type.
        description: if kind == AttachmentKind::Unsupported { Some(attachment.kind) } else { payload.title },
        ..Attachment::new(kind)
    }
}
