//! Interactive messages on LINE: quick replies on a text message, reply and URL buttons as a
//! buttons template (postback and uri actions). A tap on a postback action shows its title in
//! the chat (`displayText`) and comes back as a `postback` event with the option's id as `data`.
//! Lists and cards (a carousel needs every column alike) go as text. LINE has no header or
//! footer: they are lines of the text.

use switchboard_sdk::serde_json::{Value, json};
use switchboard_sdk::*;

/// `postback.data`: at most 300 characters.
const DATA_BYTES: u32 = 300;

pub(super) fn support() -> InteractiveSupport {
    // A buttons template's text: at most 160 characters (60 with a title, which we do not use).
    let template = |kind| KindLimits { max_choices: 4, max_title_chars: 20, max_body_chars: 110, max_header_chars: 20, max_footer_chars: 20, ..KindLimits::new(kind) };
    InteractiveSupport {
        kinds: vec![
            // A text message: 5000 characters; 13 quick replies, labels of 20.
            KindLimits { max_choices: 13, max_title_chars: 20, max_body_chars: 4500, max_header_chars: 200, max_footer_chars: 200, ..KindLimits::new(InteractiveKind::QuickReplies) },
            template(InteractiveKind::ReplyButtons),
            template(InteractiveKind::UrlButtons),
        ],
        max_id_bytes: DATA_BYTES,
    }
}

/// The LINE message objects of interactive content.
pub(super) fn messages(content: &InteractiveContent) -> Vec<Value> {
    let text = content.text_with_header_and_footer();
    let postback = |option: &ChoiceOption| json!({"type": "postback", "label": option.title, "data": option.id, "displayText": option.title});
    let buttons = |actions: Vec<Value>| {
        json!({"type": "template", "altText": text, "template": {"type": "buttons", "text": text, "actions": actions}})
    };
    match &content.action {
        InteractiveAction::QuickReplies(options) => {
            let items: Vec<Value> = options.iter().map(|o| json!({"type": "action", "action": postback(o)})).collect();
            vec![json!({"type": "text", "text": text, "quickReply": {"items": items}})]
        }
        InteractiveAction::ReplyButtons(options) => vec![buttons(options.iter().map(postback).collect())],
        InteractiveAction::UrlButtons(urls) => vec![buttons(urls.iter().map(|u| json!({"type": "uri", "label": u.title, "uri": u.url})).collect())],
        // Not declared in `support`: the host sends these as text.
        InteractiveAction::OptionList(_) | InteractiveAction::Cards(_) => vec![json!({"type": "text", "text": text})],
    }
}
