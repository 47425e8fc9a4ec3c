//! Inbound notifications: `{"contacts":[...],"messages":[...],"statuses":[...]}` (the whole body
//! on the On-Premises API, `entry[].changes[].value` on the Cloud API) into the contract's events.

use switchboard_sdk::serde::de::{self, Deserializer};
use switchboard_sdk::serde::Deserialize;
use switchboard_sdk::serde_json::Value;
use switchboard_sdk::*;

/// What both APIs deliver; every list may be absent.
#[derive(Debug, Default, Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
pub struct Notification {
    #[serde(default)]
    pub contacts: Vec<Contact>,
    #[serde(default)]
    pub messages: Vec<Message>,
    #[serde(default)]
    pub statuses: Vec<Status>,
    /// Account-level problems Meta reports outside any message.
    #[serde(default)]
    pub errors: Vec<ErrorEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
pub struct Contact {
    pub wa_id: String,
    pub profile: Option<Profile>,
}

#[derive(Debug, Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
pub struct Profile {
    pub name: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
pub struct Message {
    pub from: String,
    pub id: String,
    #[serde(deserialize_with = "seconds")]
    pub timestamp: u64,
    #[serde(rename = "type")]
    pub kind: String,
    pub text: Option<Text>,
    pub image: Option<MediaRef>,
    pub video: Option<MediaRef>,
    pub audio: Option<MediaRef>,
    /// On-Premises voice notes (the Cloud API sends them as `audio` with `voice: true`).
    pub voice: Option<MediaRef>,
    pub document: Option<MediaRef>,
    pub sticker: Option<MediaRef>,
    pub location: Option<SharedLocation>,
    pub contacts: Option<Vec<SharedContact>>,
    /// A quick-reply button of a template.
    pub button: Option<Button>,
    pub interactive: Option<Interactive>,
    /// The message this one replies to.
    pub context: Option<MessageContext>,
}

#[derive(Debug, Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
pub struct Text {
    pub body: String,
}

#[derive(Debug, Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
pub struct MediaRef {
    pub id: Option<String>,
    pub mime_type: Option<String>,
    pub caption: Option<String>,
    pub filename: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
pub struct SharedLocation {
    pub latitude: f64,
    pub longitude: f64,
    pub name: Option<String>,
    pub address: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
pub struct SharedContact {
    pub name: Option<ContactName>,
    #[serde(default)]
    pub phones: Vec<Phone>,
}

#[derive(Debug, Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
pub struct ContactName {
    pub formatted_name: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
pub struct Phone {
    pub phone: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
pub struct Button {
    pub text: Option<String>,
    pub payload: Option<String>,
}

/// `{"type":"button_reply","button_reply":{"id","title"}}` or the same with `list_reply`.
#[derive(Debug, Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
pub struct Interactive {
    #[serde(rename = "type")]
    pub kind: String,
    pub button_reply: Option<Reply>,
    pub list_reply: Option<Reply>,
}

#[derive(Debug, Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
pub struct Reply {
    pub id: String,
    pub title: String,
}

#[derive(Debug, Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
pub struct MessageContext {
    pub id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
pub struct Status {
    pub id: String,
    pub status: String,
    #[serde(deserialize_with = "seconds")]
    pub timestamp: u64,
    #[serde(default)]
    pub errors: Vec<ErrorEntry>,
}

/// `{"code":131047,"title":"Re-engagement message",...}`.
#[derive(Debug, Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
pub struct ErrorEntry {
    pub code: Option<i64>,
    pub title: Option<String>,
}

/// Timestamps are seconds, as a string (`"1700000000"`) or, from some API clients, a number.
fn seconds<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    match Value::deserialize(deserializer)? {
        Value::String(text) => text.trim().parse().map_err(de::Error::custom),
        Value::Number(number) => number.as_u64().ok_or_else(|| de::Error::custom("timestamp must be whole seconds")),
        other => Err(de::Error::custom(format!("timestamp must be seconds, got {other}"))),
    }
}

impl Notification {
    /// Account-level errors in words (for the plugin's log).
    pub fn error_summaries(&self) -> Vec<String> {
        self.errors.iter().map(describe).collect()
    }

    /// The events of this notification: messages (with the sender's profile name), taps on
    /// buttons and list rows (a reply button, a list row, a template's quick reply) as choices,
    /// and statuses. Statuses the contract has no word for (`warning`, ...) are left out.
    pub fn into_events(self) -> Vec<InboundEvent> {
        let names: Vec<(String, Option<String>)> =
            self.contacts.into_iter().map(|c| (c.wa_id, c.profile.and_then(|p| p.name))).collect();
        let name_of = |wa_id: &str| names.iter().find(|(id, _)| id == wa_id).and_then(|(_, name)| name.clone());
        let messages = self.messages.into_iter().map(|message| {
            let name = name_of(&message.from);
            match choice(&message, name.clone()) {
                Some(choice) => InboundEvent::Choice(choice),
                None => InboundEvent::Event(Event::Message(inbound(message, name))),
            }
        });
        let statuses = self.statuses.into_iter().filter_map(|status| status.into_event().map(|s| InboundEvent::Event(Event::Status(s))));
        messages.chain(statuses).collect()
    }
}

/// A tap: `interactive` with a `button_reply` or `list_reply` (`{id, title}`), or `button` (a
/// template's quick reply: `{payload, text}`, the payload given at send time); `context.id` is
/// the message tapped. Its own `id` identifies the tap.
fn choice(message: &Message, sender_name: Option<String>) -> Option<Choice> {
    let (id, title) = match message.kind.as_str() {
        "interactive" => {
            let interactive = message.interactive.as_ref()?;
            let reply = interactive.button_reply.as_ref().or(interactive.list_reply.as_ref())?;
            (reply.id.clone(), Some(reply.title.clone()))
        }
        "button" => {
            let button = message.button.as_ref()?;
            (button.payload.clone().or_else(|| button.text.clone())?, button.text.clone())
        }
        _ => return None,
    };
    Some(Choice {
        provider_message_id: message.id.clone(),
        conversation: message.from.clone(),
        conversation_name: None,
        sender: ContactProfile { handle: Some(format!("+{}", message.from)), id: message.from.clone(), name: sender_name },
        timestamp_ms: message.timestamp.saturating_mul(1000),
        id,
        title,
        answers: message.context.as_ref().and_then(|c| c.id.clone()),
        properties: Vec::new(),
    })
}

fn describe(error: &ErrorEntry) -> String {
    match (error.code, &error.title) {
        (Some(code), Some(title)) => format!("{code}: {title}"),
        (Some(code), None) => code.to_string(),
        (None, title) => title.clone().unwrap_or_else(|| "unknown error".into()),
    }
}

fn inbound(message: Message, sender_name: Option<String>) -> InboundMessage {
    let (text, attachments, properties) = content(&message);
    InboundMessage {
        provider_message_id: message.id,
        conversation: message.from.clone(),
        conversation_name: None,
        sender: ContactProfile { handle: Some(format!("+{}", message.from)), id: message.from, name: sender_name },
        timestamp_ms: message.timestamp.saturating_mul(1000),
        text,
        attachments,
        reply_to: message.context.and_then(|c| c.id),
        properties,
    }
}

type Content = (Option<String>, Vec<Attachment>, Vec<Property>);

/// Text, attachments and provider facts of a message, by its type. A type this channel does not
/// read is kept as one `unsupported` attachment naming it, never dropped.
fn content(message: &Message) -> Content {
    let media = |kind, media: &MediaRef| -> Content {
        let attachment = Attachment {
            provider_media_id: media.id.clone(),
            mime_type: media.mime_type.clone(),
            filename: media.filename.clone(),
            ..Attachment::new(kind)
        };
        (media.caption.clone(), vec![attachment], vec![])
    };
    let found = match message.kind.as_str() {
        "text" => message.text.as_ref().map(|text| (Some(text.body.clone()), vec![], vec![])),
        "image" => message.image.as_ref().map(|m| media(AttachmentKind::Image, m)),
        "video" => message.video.as_ref().map(|m| media(AttachmentKind::Video, m)),
        "audio" => message.audio.as_ref().map(|m| media(AttachmentKind::Audio, m)),
        "voice" => message.voice.as_ref().map(|m| media(AttachmentKind::Audio, m)),
        "document" => message.document.as_ref().map(|m| media(AttachmentKind::Document, m)),
        "sticker" => message.sticker.as_ref().map(|m| media(AttachmentKind::Sticker, m)),
        "location" => message.location.as_ref().map(|place| {
            let location = Location {
                latitude: place.latitude,
                longitude: place.longitude,
                name: place.name.clone(),
                address: place.address.clone(),
            };
            (None, vec![Attachment { location: Some(location), ..Attachment::new(AttachmentKind::Location) }], vec![])
        }),
        "contacts" => message.contacts.as_ref().map(|cards| {
            let cards = cards.iter().map(|card| {
                let name = card.name.as_ref().and_then(|n| n.formatted_name.clone());
                let phones = card.phones.iter().filter_map(|p| p.phone.clone());
                let summary: Vec<String> = name.into_iter().chain(phones).collect();
                Attachment { description: Some(summary.join(" ")), ..Attachment::new(AttachmentKind::Contact) }
            });
            (None, cards.collect(), vec![])
        }),
        // Taps (`button`, `interactive`) are choices (see `choice`); one without its reply is unsupported.
        _ => None,
    };
    found.unwrap_or_else(|| {
        let unsupported = Attachment { description: Some(message.kind.clone()), ..Attachment::new(AttachmentKind::Unsupported) };
        (None, vec![unsupported], vec![])
    })
}

impl Status {
    /// The delivery status for our message; `None` for states the contract has no word for.
    fn into_event(self) -> Option<DeliveryStatus> {
        let state = match self.status.as_str() {
            "sent" => DeliveryState::Sent,
            "delivered" => DeliveryState::Delivered,
            "read" => DeliveryState::Read,
            "failed" => DeliveryState::Failed,
            "deleted" => DeliveryState::Deleted,
            _ => return None,
        };
        let error = self.errors.into_iter().next();
        Some(DeliveryStatus {
            target: StatusTarget::Message(self.id),
            state,
            timestamp_ms: self.timestamp.saturating_mul(1000),
            error_code: error.as_ref().and_then(|e| e.code).map(|code| code.to_string()),
            error_message: error.and_then(|e| e.title),
        })
    }
}
