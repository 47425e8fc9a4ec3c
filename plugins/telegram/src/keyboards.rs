//! Interactive messages on Telegram: reply buttons and URL buttons as an inline keyboard (one
//! button per row, so long titles stay readable), quick replies as a one-time reply keyboard
//! (a press sends the title as a message, which the host maps back to the option). Lists and
//! cards have no Telegram shape that keeps their descriptions and images: the host sends them
//! as text. Telegram has no header or footer: they are lines of the message's text.

use switchboard_sdk::serde::Deserialize;
use switchboard_sdk::serde_json::{Value, json};
use switchboard_sdk::*;

use super::{Chat, User, api_url, call};

/// A message's text is at most 4096 characters: header, body and footer share them.
const TEXT_CHARS: u32 = 4096;
const HEADER_CHARS: u32 = 256;
const FOOTER_CHARS: u32 = 256;
/// Button texts have no documented limit; longer ones are cut on phones.
const BUTTON_CHARS: u32 = 64;
/// `callback_data`: 1–64 bytes.
const CALLBACK_DATA_BYTES: u32 = 64;

pub(super) fn support() -> InteractiveSupport {
    let keyboard = |kind, max_choices| KindLimits {
        max_choices,
        max_title_chars: BUTTON_CHARS,
        max_body_chars: TEXT_CHARS - HEADER_CHARS - FOOTER_CHARS - 4,
        max_header_chars: HEADER_CHARS,
        max_footer_chars: FOOTER_CHARS,
        ..KindLimits::new(kind)
    };
    InteractiveSupport {
        kinds: vec![
            // About 100 inline buttons fit a message (observed); one per row, a screenful.
            keyboard(InteractiveKind::ReplyButtons, 10),
            keyboard(InteractiveKind::UrlButtons, 10),
            keyboard(InteractiveKind::QuickReplies, 12),
        ],
        max_id_bytes: CALLBACK_DATA_BYTES,
    }
}

/// `sendMessage`'s body without `chat_id`: the text and the keyboard.
pub(super) fn message_body(content: &InteractiveContent) -> Value {
    let text = content.text_with_header_and_footer();
    let markup = match &content.action {
        InteractiveAction::ReplyButtons(options) => {
            let rows: Vec<Value> = options.iter().map(|o| json!([{ "text": o.title, "callback_data": o.id }])).collect();
            json!({ "inline_keyboard": rows })
        }
        InteractiveAction::UrlButtons(buttons) => {
            let rows: Vec<Value> = buttons.iter().map(|b| json!([{ "text": b.title, "url": b.url }])).collect();
            json!({ "inline_keyboard": rows })
        }
        InteractiveAction::QuickReplies(options) => {
            let rows: Vec<Value> = options.iter().map(|o| json!([{ "text": o.title }])).collect();
            json!({ "keyboard": rows, "resize_keyboard": true, "one_time_keyboard": true })
        }
        // Not declared in `support`: the host sends these as text.
        InteractiveAction::OptionList(_) | InteractiveAction::Cards(_) => Value::Null,
    };
    let mut body = json!({ "text": text });
    if !markup.is_null() {
        body["reply_markup"] = markup;
    }
    body
}

/// A `callback_query` update.
#[derive(Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
pub(super) struct CallbackQuery {
    id: String,
    from: User,
    /// The message the button was on; absent for inline-mode messages.
    message: Option<TappedMessage>,
    /// Absent for game buttons.
    data: Option<String>,
}

/// The message a button was on (an `InaccessibleMessage`, `date` 0, when it is old).
#[derive(Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
struct TappedMessage {
    message_id: i64,
    chat: Chat,
    date: u64,
    reply_markup: Option<Keyboard>,
}

#[derive(Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
struct Keyboard {
    #[serde(default)]
    inline_keyboard: Vec<Vec<KeyboardButton>>,
}

#[derive(Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
struct KeyboardButton {
    text: String,
    callback_data: Option<String>,
}

/// Answers the query (so the customer's client stops spinning) and reports the choice. A
/// query without its message (inline mode: no chat to put it in) is answered and reports
/// nothing; one without data is a game's, which this channel never sends: ignored.
pub(super) fn tapped(ctx: &ChannelContext, update_id: i64, query: CallbackQuery) -> Option<InboundEvent> {
    let data = query.data?;
    // A failed answer only leaves the spinner on until Telegram gives up; the tap still counts.
    if let Err(error) = answer(ctx, &query.id) {
        log::warn(format!("answering callback query {} failed: {error:?}", query.id));
    }
    let message = query.message?;
    let title = message
        .reply_markup
        .iter()
        .flat_map(|keyboard| keyboard.inline_keyboard.iter().flatten())
        .find(|button| button.callback_data.as_deref() == Some(data.as_str()))
        .map(|button| button.text.clone());
    let user = query.from;
    Some(InboundEvent::Choice(Choice {
        provider_message_id: update_id.to_string(),
        conversation: message.chat.id.to_string(),
        conversation_name: message.chat.title,
        sender: ContactProfile { id: user.id.to_string(), name: Some(user.full_name()), handle: user.username },
        // A callback query carries no time of its own: it is now (the message's date is when
        // the buttons were sent, 0 for an old one).
        timestamp_ms: now_ms().max(message.date * 1000),
        id: data,
        title,
        answers: Some(message.message_id.to_string()),
        properties: vec![("callback_query_id".into(), query.id)],
    }))
}

fn answer(ctx: &ChannelContext, query_id: &str) -> Result<(), ChannelError> {
    call::<bool>(http::post(api_url(ctx, "answerCallbackQuery")?).json(&json!({ "callback_query_id": query_id }))).map(|_| ())
}

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}
