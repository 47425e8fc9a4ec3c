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

/// The `message` objects for interactive content: quick replies on a text, reply or URL
/// buttons as a button template, cards as a generic template after the body's text. Meta has
/// no header or footer: they are lines of the text.
pub fn interactive_parts(content: &InteractiveContent) -> Result<Vec<Value>, ChannelError> {
    let text = content.text_with_header_and_footer();
    let postback = |option: &ChoiceOption| json!({"type": "postback", "title": option.title, "payload": option.id});
    let web_url = |button: &UrlButton| json!({"type": "web_url", "url": button.url, "title": button.title});
    let button_template = |buttons: Vec<Value>| json!({"attachment": {"type": "template", "payload": {"template_type": "button", "text": text, "buttons": buttons}}});
    Ok(match &content.action {
        InteractiveAction::QuickReplies(options) => {
            let quick: Vec<Value> = options.iter().map(|o| json!({"content_type": "text", "title": o.title, "payload": o.id})).collect();
            vec![json!({"text": text, "quick_replies": quick})]
        }
        InteractiveAction::ReplyButtons(options) => vec![button_template(options.iter().map(postback).collect())],
        InteractiveAction::UrlButtons(buttons) => vec![button_template(buttons.iter().map(web_url).collect())],
        InteractiveAction::Cards(cards) => {
            let elements: Vec<Value> = cards
                .iter()
                .map(|card| {
                    let buttons: Vec<Value> = card
                        .buttons
                        .iter()
                        .map(|button| match button {
                            CardButton::Reply(option) => postback(option),
                            CardButton::Url(url) => web_url(url),
                        })
                        .collect();
                    let mut element = json!({"title": card.title});
                    if let Some(subtitle) = &card.subtitle {
                        element["subtitle"] = subtitle.clone().into();
                    }
                    if let Some(image) = &card.image_url {
                        element["image_url"] = image.clone().into();
                    }
                    if !buttons.is_empty() {
                        element["buttons"] = buttons.into();
                    }
                    element
                })
                .collect();
            vec![json!({"text": text}), json!({"attachment": {"type": "template", "payload": {"template_type": "generic", "elements": elements}}})]
        }
        InteractiveAction::OptionList(_) => return Err(ChannelError::Unsupported("Meta has no list picker: the host sends lists as text".into())),
    })
}

/// What the Send API draws, with Meta's limits (`providers-interactive.md` §4-5): quick replies
/// (13, titles 20, payloads 1000), button templates of postback or web_url buttons (3, titles
/// 20, text 640: body 500 beside a header and footer of 60), generic templates (10 cards,
/// titles and subtitles 80, 3 buttons). The same on Instagram.
pub fn interactive_support() -> InteractiveSupport {
    let common = |kind, max_choices| KindLimits { max_choices, max_title_chars: 20, max_body_chars: 500, max_header_chars: 60, max_footer_chars: 60, ..KindLimits::new(kind) };
    InteractiveSupport {
        kinds: vec![
            KindLimits { max_body_chars: 1800, ..common(InteractiveKind::QuickReplies, 13) },
            common(InteractiveKind::ReplyButtons, 3),
            common(InteractiveKind::UrlButtons, 3),
            KindLimits {
                max_title_chars: 80,
                max_description_chars: 80,
                max_body_chars: 1800,
                max_button_chars: 20,
                max_card_buttons: 3,
                ..common(InteractiveKind::Cards, 10)
            },
        ],
        max_id_bytes: 1000,
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
    send_parts(ctx, &message.message_id, &message.recipient, message.window, message_parts(product, &message.content)?)
}

/// Sends interactive content (its parts as [`send`] does).
pub fn send_interactive(ctx: &ChannelContext, message: InteractiveMessage) -> Result<Receipt, ChannelError> {
    send_parts(ctx, &message.message_id, &message.recipient, message.window, interactive_parts(&message.content)?)
}

fn send_parts(ctx: &ChannelContext, message_id: &str, recipient: &str, window: WindowState, parts: Vec<Value>) -> Result<Receipt, ChannelError> {
    let graph = Graph::for_channel(ctx)?;
    let several = parts.len() > 1;
    let key = |index: usize| format!("sent:{message_id}:{index}");
    let mut first = None;
    for (index, part) in parts.iter().enumerate() {
        let earlier = if several { state::get(&key(index)) } else { None };
        let mid = match earlier {
            Some(mid) => mid,
            None => {
                let sent: Sent = graph.post("me/messages", &[], Some(&body(recipient, window, part)?))?;
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
