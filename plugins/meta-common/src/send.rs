//! The Send API: `POST /{version}/me/messages?access_token=PAGE_TOKEN` with
//! `{"recipient":{"id"},"messaging_type","tag"?,"message"}`. The host computed the window from
//! the customer's last message: inside 24 hours the reply goes as `RESPONSE`; from 24 hours to
//! 7 days as `MESSAGE_TAG` + `HUMAN_AGENT` (every reply from the inbox is a person's); after
//! that Meta takes nothing.

use switchboard_sdk::serde::Deserialize;
use switchboard_sdk::serde_json::{Value, json};
use switchboard_sdk::*;

use crate::Product;
use crate::graph::Graph;

/// `messaging_type` and `tag` for a reply in this window.
pub fn messaging_type(window: WindowState) -> Result<(&'static str, Option<&'static str>), ChannelError> {
    match window {
        WindowState::Unrestricted | WindowState::Open => Ok(("RESPONSE", None)),
        WindowState::HumanAgent => Ok(("MESSAGE_TAG", Some("HUMAN_AGENT"))),
        WindowState::Closed => Err(ChannelError::WindowClosed(
            "more than 7 days since the customer's last message: Meta accepts no reply until they write again".into(),
        )),
    }
}

/// The `message` objects that carry this content, in order: a text, or an attachment by URL
/// followed by its caption (Meta's attachments have none).
pub fn message_parts(product: &Product, content: &OutboundContent) -> Result<Vec<Value>, ChannelError> {
    match content {
        OutboundContent::Text(text) => Ok(vec![json!({ "text": text })]),
        OutboundContent::Media(media) => {
            let kind = match media.kind {
                kind if !product.media_kinds.contains(&kind) => {
                    return Err(ChannelError::Unsupported(format!("{} does not take {kind:?} attachments", product.name)));
                }
                MediaKind::Image => "image",
                MediaKind::Video => "video",
                MediaKind::Audio => "audio",
                MediaKind::Document => "file",
                MediaKind::Sticker => return Err(ChannelError::Unsupported("stickers cannot be sent by URL".into())),
            };
            let mut parts = vec![json!({ "attachment": { "type": kind, "payload": { "url": media.url } } })];
            if let Some(caption) = media.caption.as_deref().filter(|c| !c.trim().is_empty()) {
                parts.push(json!({ "text": caption }));
            }
            Ok(parts)
        }
        OutboundContent::Template(_) => Err(ChannelError::Unsupported(format!("{} has no message templates", product.name))),
    }
}

/// The request body of one part.
pub fn body(recipient: &str, window: WindowState, part: &Value) -> Result<Value, ChannelError> {
    let (messaging_type, tag) = messaging_type(window)?;
    let mut body = json!({ "recipient": { "id": recipient }, "messaging_type": messaging_type, "message": part });
    if let Some(tag) = tag {
        body["tag"] = tag.into();
    }
    Ok(body)
}

#[derive(Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
struct Sent {
    message_id: String,
}

/// Sends every part; the receipt is the first part's `message_id`. A part Meta took is
/// remembered until the message is done, so a retry after a later part failed does not send
/// it twice.
pub fn send(product: &Product, ctx: &ChannelContext, message: OutboundMessage) -> Result<Receipt, ChannelError> {
    let parts = message_parts(product, &message.content)?;
    let graph = Graph::for_channel(ctx)?;
    let several = parts.len() > 1;
    let key = |index: usize| format!("sent:{}:{index}", message.message_id);
    let mut first = None;
    for (index, part) in parts.iter().enumerate() {
        let earlier = if several { state::get(&key(index)) } else { None };
        let mid = match earlier {
            Some(mid) => mid,
            None => {
                let sent: Sent = graph.post("me/messages", &[], Some(&body(&message.recipient, message.window, part)?))?;
                if several {
                    state::set(&key(index), &sent.message_id);
                }
                sent.message_id
            }
        };
        first.get_or_insert(mid);
    }
    if several {
        (0..parts.len()).for_each(|index| state::remove(&key(index)));
    }
    let provider_message_id = first.ok_or_else(|| ChannelError::Provider("nothing to send".into()))?;
    Ok(Receipt { provider_message_id })
}
