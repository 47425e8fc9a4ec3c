//! Each provider's choice event — a customer tapping a reply button, a quick reply or a list
//! row — as the provider delivers it to a channel's webhook: the provider's own JSON, headers
//! and path, signed (or authenticated) the way the provider does it, ready for
//! [`Plugin::webhook`](crate::Plugin::webhook). Read what came back with
//! [`Outcome::choices`](crate::Outcome::choices) or
//! [`Outcome::assert_choice`](crate::Outcome::assert_choice).
//!
//! ```no_run
//! use switchboard_testkit::choices::whatsapp_cloud;
//! use switchboard_testkit::Plugin;
//!
//! let mut plugin = Plugin::build(env!("CARGO_MANIFEST_DIR")).unwrap()
//!     .setting("phone_number_id", whatsapp_cloud::PHONE_NUMBER_ID)
//!     .setting("app_secret", "appsecret");
//! let tapped = plugin.webhook(whatsapp_cloud::button_reply("appsecret", "wamid.QUESTION", "change-button", "Change"));
//! tapped.assert_choice("change-button", Some("Change"), Some("wamid.QUESTION"));
//! ```
//!
//! Each fixture takes the secret the provider authenticates with and the ids that matter to a
//! choice: the option's id (or payload, `data`, `metadata`), its title, and the provider's id of
//! the message that offered it where the provider sends one. Everything else (the customer, the
//! account, the tap's own id, the time) is the constant of its module, taken from the
//! provider's documentation; give the plugin the account the fixture is for where it checks it.
//!
//! | module | secret (a setting of the channel) | also set | the option's title | the message it answers |
//! |---|---|---|---|---|
//! | [`whatsapp_cloud`] | `app_secret` (`X-Hub-Signature-256`) | `phone_number_id` = [`whatsapp_cloud::PHONE_NUMBER_ID`] | yes | `context.id` |
//! | [`whatsapp_onprem`] | the channel's webhook secret (the last segment of its URL) | | yes | `context.id` |
//! | [`line`] | `channel_secret` (`X-Line-Signature`) | | no | no |
//! | [`messenger`] | `app_secret` (`X-Hub-Signature-256`) | `page_id` = [`messenger::PAGE_ID`] | yes | no |
//! | [`instagram`] | `app_secret` (`X-Hub-Signature-256`) | `instagram_account_id` = [`instagram::ACCOUNT_ID`] | yes | no |
//! | [`telegram`] | the channel's webhook secret (`X-Telegram-Bot-Api-Secret-Token`) | `bot_token` (to answer the query) | yes | `message.message_id` |
//! | [`x`] | `consumer_secret` (`X-Twitter-Webhooks-Signature`) | | yes (the text) | no |
//!
//! The channel's webhook secret is [`Plugin::webhook_secret`](crate::Plugin::webhook_secret).

use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::Request;

fn hmac_sha256(key: &str, body: &str) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(body.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// A JSON `POST` to `path` whose body is exactly `text` (what a signature is computed over).
fn json_post(path: &str, text: &str) -> Request {
    Request::post(path).header("content-type", "application/json").body(text)
}

/// Meta's delivery, signed as Meta signs it: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of
/// the body under the app secret>`.
fn meta_signed(app_secret: &str, body: &Value) -> Request {
    let text = body.to_string();
    let signature = format!("sha256={}", hex::encode(hmac_sha256(app_secret, &text)));
    json_post("/", &text).header("x-hub-signature-256", &signature)
}

/// WhatsApp: a tap on a reply button or a list row (`type: interactive`), or on a template's
/// quick reply (`type: button`), as one element of `messages[]`: the same on both APIs.
fn whatsapp_message(business_number: &str, customer: &str, tap_id: &str, timestamp: &str, answers: &str, kind: &str, object: Value) -> Value {
    let mut message = json!({
        "context": {"from": business_number, "id": answers},
        "from": customer,
        "id": tap_id,
        "timestamp": timestamp,
        "type": kind,
    });
    message[kind] = object;
    message
}

fn list_reply_object(id: &str, title: &str, description: Option<&str>) -> Value {
    let mut reply = json!({"id": id, "title": title});
    if let Some(description) = description {
        reply["description"] = json!(description);
    }
    json!({"type": "list_reply", "list_reply": reply})
}

/// WhatsApp Cloud API: the taps in Meta's `whatsapp_business_account` envelope
/// (`entry[].changes[].value` with `metadata.phone_number_id`), signed with the app secret.
pub mod whatsapp_cloud {
    use serde_json::{Value, json};

    use super::{list_reply_object, meta_signed, whatsapp_message};
    use crate::Request;

    /// The business's number the taps are for (set it as the channel's `phone_number_id`).
    pub const PHONE_NUMBER_ID: &str = "106540352242922";
    /// Its display number (`metadata.display_phone_number`, `context.from`).
    pub const DISPLAY_PHONE_NUMBER: &str = "15550783881";
    /// The WhatsApp Business Account (`entry[].id`).
    pub const BUSINESS_ACCOUNT_ID: &str = "102290129340398";
    /// The customer's WhatsApp id (`from`, `contacts[].wa_id`).
    pub const CUSTOMER: &str = "16505551234";
    /// The customer's profile name.
    pub const CUSTOMER_NAME: &str = "Kerry Fisher";
    /// The tap's own message id.
    pub const TAP_ID: &str = "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=";
    /// When it was tapped (seconds, a string as Meta sends it).
    pub const TIMESTAMP: &str = "1714510003";

    fn delivery(message: Value) -> Value {
        json!({"object": "whatsapp_business_account", "entry": [{"id": BUSINESS_ACCOUNT_ID, "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": DISPLAY_PHONE_NUMBER, "phone_number_id": PHONE_NUMBER_ID},
            "contacts": [{"profile": {"name": CUSTOMER_NAME}, "wa_id": CUSTOMER}],
            "messages": [message],
        }}]}]})
    }

    fn tap(app_secret: &str, answers: &str, kind: &str, object: Value) -> Request {
        meta_signed(app_secret, &delivery(whatsapp_message(DISPLAY_PHONE_NUMBER, CUSTOMER, TAP_ID, TIMESTAMP, answers, kind, object)))
    }

    /// A reply button tapped: `"type": "interactive", "interactive": {"type": "button_reply",
    /// "button_reply": {"id", "title"}}`, `context.id` the message (`answers`) it was on.
    pub fn button_reply(app_secret: &str, answers: &str, id: &str, title: &str) -> Request {
        tap(app_secret, answers, "interactive", json!({"type": "button_reply", "button_reply": {"id": id, "title": title}}))
    }

    /// A list row picked: `"interactive": {"type": "list_reply", "list_reply": {"id", "title",
    /// "description"?}}` (the description only when the row had one).
    pub fn list_reply(app_secret: &str, answers: &str, id: &str, title: &str, description: Option<&str>) -> Request {
        tap(app_secret, answers, "interactive", list_reply_object(id, title, description))
    }

    /// A template's quick-reply button tapped: `"type": "button", "button": {"payload", "text"}`,
    /// the payload given when the template was sent and the button's label.
    pub fn template_quick_reply(app_secret: &str, answers: &str, payload: &str, text: &str) -> Request {
        tap(app_secret, answers, "button", json!({"payload": payload, "text": text}))
    }
}

/// WhatsApp On-Premises API: the same taps in the API client's bare webhook
/// (`{"contacts", "messages"}`), posted to the URL holding the channel's secret.
pub mod whatsapp_onprem {
    use serde_json::{Value, json};

    use super::{json_post, list_reply_object, whatsapp_message};
    use crate::Request;

    /// The business's number (`context.from`).
    pub const BUSINESS_NUMBER: &str = "15550783881";
    /// The customer's WhatsApp id.
    pub const CUSTOMER: &str = "16505551234";
    /// The customer's profile name.
    pub const CUSTOMER_NAME: &str = "Kerry Fisher";
    /// The tap's own message id.
    pub const TAP_ID: &str = "ABGGFlCGg0cvAgo-sJQh43L5Pe4W";
    /// When it was tapped (seconds, a string).
    pub const TIMESTAMP: &str = "1714510003";

    fn tap(webhook_secret: &str, answers: &str, kind: &str, object: Value) -> Request {
        let body = json!({
            "contacts": [{"profile": {"name": CUSTOMER_NAME}, "wa_id": CUSTOMER}],
            "messages": [whatsapp_message(BUSINESS_NUMBER, CUSTOMER, TAP_ID, TIMESTAMP, answers, kind, object)],
        });
        // The API client delivers to the URL it was given: the channel's, its secret last.
        json_post(&format!("/{webhook_secret}"), &body.to_string())
    }

    /// A reply button tapped (`"interactive": {"type": "button_reply", "button_reply": {"id", "title"}}`).
    pub fn button_reply(webhook_secret: &str, answers: &str, id: &str, title: &str) -> Request {
        tap(webhook_secret, answers, "interactive", json!({"type": "button_reply", "button_reply": {"id": id, "title": title}}))
    }

    /// A list row picked (`"interactive": {"type": "list_reply", "list_reply": {"id", "title", "description"?}}`).
    pub fn list_reply(webhook_secret: &str, answers: &str, id: &str, title: &str, description: Option<&str>) -> Request {
        tap(webhook_secret, answers, "interactive", list_reply_object(id, title, description))
    }

    /// A template's quick-reply button tapped (`"type": "button", "button": {"payload", "text"}`).
    pub fn template_quick_reply(webhook_secret: &str, answers: &str, payload: &str, text: &str) -> Request {
        tap(webhook_secret, answers, "button", json!({"payload": payload, "text": text}))
    }
}

/// LINE: a `postback` event (a quick reply's or a template button's postback action tapped), in
/// the `{"destination", "events"}` body signed with the channel secret. LINE sends only the
/// action's `data`: no label, no id of the message the button was on.
pub mod line {
    use base64::Engine as _;
    use serde_json::json;

    use super::{hmac_sha256, json_post};
    use crate::Request;

    /// The bot's user id (`destination`).
    pub const DESTINATION: &str = "Ub2c4f5a3e8d94b7f16a0c9e2d3f4a5b6";
    /// The customer's user id (`source.userId`).
    pub const USER_ID: &str = "U91eeaf62d9b04e1c8f5a7d3b2c1e0f9a";
    /// The event's id (`webhookEventId`): the tap's id.
    pub const WEBHOOK_EVENT_ID: &str = "01FZ74A0TDDPYRVKNK77XKC3ZR";
    /// The reply token that comes with it.
    pub const REPLY_TOKEN: &str = "b60d432864f44d079f6d8efe86cf404b";
    /// When it was tapped (milliseconds).
    pub const TIMESTAMP_MS: u64 = 1_513_669_370_317;

    /// A postback action tapped: `{"type": "postback", …, "postback": {"data"}}`, signed
    /// `X-Line-Signature: <base64 HMAC-SHA256 of the body under the channel secret>`.
    pub fn postback(channel_secret: &str, data: &str) -> Request {
        let body = json!({"destination": DESTINATION, "events": [{
            "type": "postback",
            "mode": "active",
            "timestamp": TIMESTAMP_MS,
            "webhookEventId": WEBHOOK_EVENT_ID,
            "deliveryContext": {"isRedelivery": false},
            "replyToken": REPLY_TOKEN,
            "source": {"type": "user", "userId": USER_ID},
            "postback": {"data": data},
        }]});
        let text = body.to_string();
        let signature = base64::engine::general_purpose::STANDARD.encode(hmac_sha256(channel_secret, &text));
        json_post("/", &text).header("x-line-signature", &signature)
    }
}

/// Facebook Messenger: a quick reply tapped (a `message` with `quick_reply.payload`, its text
/// the title) and a postback button tapped (`postback {mid, title, payload}`), in the `page`
/// delivery signed with the app secret. Meta does not say which message was tapped.
pub mod messenger {
    use serde_json::json;

    use super::meta_signed;
    use crate::Request;

    /// The Page (`entry[].id`, `recipient.id`; set it as the channel's `page_id`).
    pub const PAGE_ID: &str = "104938271617284";
    /// The customer's page-scoped id (`sender.id`).
    pub const CUSTOMER: &str = "7193847561029384";
    /// The tap's own id (`mid`).
    pub const TAP_ID: &str = "m_AG5Hz2Uq7tuwNEhXfYYKj8mJEM_QPpz5jdCK48PnKAjSdjfipqxqMvK8ma6AC8fplwlqLP_5cgXIbu7I3rBN0P";
    /// When it was tapped (milliseconds).
    pub const TIMESTAMP_MS: u64 = 1_502_905_976_377;

    /// A quick reply tapped: `"message": {"mid", "text": title, "quick_reply": {"payload"}}`.
    pub fn quick_reply(app_secret: &str, payload: &str, title: &str) -> Request {
        let item = json!({"sender": {"id": CUSTOMER}, "recipient": {"id": PAGE_ID}, "timestamp": TIMESTAMP_MS,
            "message": {"mid": TAP_ID, "text": title, "quick_reply": {"payload": payload}}});
        meta_signed(app_secret, &json!({"object": "page", "entry": [{"id": PAGE_ID, "time": TIMESTAMP_MS + 586, "messaging": [item]}]}))
    }

    /// A postback button (of a button or generic template) tapped: `"postback": {"mid", "title", "payload"}`.
    pub fn postback(app_secret: &str, payload: &str, title: &str) -> Request {
        let item = json!({"sender": {"id": CUSTOMER}, "recipient": {"id": PAGE_ID}, "timestamp": TIMESTAMP_MS,
            "postback": {"mid": TAP_ID, "title": title, "payload": payload}});
        meta_signed(app_secret, &json!({"object": "page", "entry": [{"id": PAGE_ID, "time": TIMESTAMP_MS + 586, "messaging": [item]}]}))
    }
}

/// Instagram messaging: the same two taps as Messenger's in the `instagram` delivery (the
/// professional account in `entry[].id` and `recipient.id`, the customer's Instagram-scoped id
/// in `sender.id`), signed with the app secret.
pub mod instagram {
    use serde_json::json;

    use super::meta_signed;
    use crate::Request;

    /// The Instagram professional account (set it as the channel's `instagram_account_id`).
    pub const ACCOUNT_ID: &str = "17841405822304914";
    /// The customer's Instagram-scoped id.
    pub const CUSTOMER: &str = "6193728450182736";
    /// The tap's own id (`mid`).
    pub const TAP_ID: &str = "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDA1ODIyMzA0OTE0OjM0MDI4MjM2Njg0MTcxMDMwMTI0NDI2MDAxMTk3NjM1NjQxNDUwNA==";
    /// When it was tapped (milliseconds).
    pub const TIMESTAMP_MS: u64 = 1_714_510_003_511;

    /// A quick reply tapped: `"message": {"mid", "text": title, "quick_reply": {"payload"}}`.
    pub fn quick_reply(app_secret: &str, payload: &str, title: &str) -> Request {
        let item = json!({"sender": {"id": CUSTOMER}, "recipient": {"id": ACCOUNT_ID}, "timestamp": TIMESTAMP_MS,
            "message": {"mid": TAP_ID, "text": title, "quick_reply": {"payload": payload}}});
        meta_signed(app_secret, &json!({"object": "instagram", "entry": [{"id": ACCOUNT_ID, "time": TIMESTAMP_MS + 214, "messaging": [item]}]}))
    }

    /// A postback button (of a generic or button template) tapped: `"postback": {"mid", "title", "payload"}`.
    pub fn postback(app_secret: &str, payload: &str, title: &str) -> Request {
        let item = json!({"sender": {"id": CUSTOMER}, "recipient": {"id": ACCOUNT_ID}, "timestamp": TIMESTAMP_MS,
            "postback": {"mid": TAP_ID, "title": title, "payload": payload}});
        meta_signed(app_secret, &json!({"object": "instagram", "entry": [{"id": ACCOUNT_ID, "time": TIMESTAMP_MS + 214, "messaging": [item]}]}))
    }
}

/// Telegram: a `callback_query` update (an inline keyboard button tapped), with the secret
/// token the bot's `setWebhook` was given. The plugin answers the query (`answerCallbackQuery`)
/// in the same call: give it a rule for that.
pub mod telegram {
    use serde_json::json;

    use super::json_post;
    use crate::Request;

    /// The update's id: the tap's id.
    pub const UPDATE_ID: i64 = 10_000;
    /// The callback query's id (what `answerCallbackQuery` names).
    pub const QUERY_ID: &str = "4382bfdwdsb323b2d9";
    /// The customer's user id, also the private chat's id.
    pub const CUSTOMER: i64 = 1111;
    /// The customer's first name.
    pub const CUSTOMER_NAME: &str = "Budi";
    /// The bot's user id.
    pub const BOT: i64 = 2222;
    /// When the message with the buttons was sent (seconds).
    pub const MESSAGE_DATE: u64 = 1_700_000_000;

    /// The button `data` (its `callback_data`) labelled `title` tapped on the bot's message
    /// `answers` (its `message_id`; the message comes back with its keyboard).
    pub fn callback_query(webhook_secret: &str, answers: i64, data: &str, title: &str) -> Request {
        let body = json!({"update_id": UPDATE_ID, "callback_query": {
            "id": QUERY_ID,
            "from": {"id": CUSTOMER, "is_bot": false, "first_name": CUSTOMER_NAME, "language_code": "id"},
            "message": {
                "message_id": answers,
                "from": {"id": BOT, "is_bot": true, "first_name": "ShopBot", "username": "shop_bot"},
                "chat": {"id": CUSTOMER, "first_name": CUSTOMER_NAME, "type": "private"},
                "date": MESSAGE_DATE,
                "text": "Did that solve it?",
                "reply_markup": {"inline_keyboard": [[{"text": title, "callback_data": data}]]},
            },
            "chat_instance": "-8471726474617489",
            "data": data,
        }});
        json_post("/", &body.to_string()).header("x-telegram-bot-api-secret-token", webhook_secret)
    }
}

/// X (Twitter) direct messages: a quick-reply option picked, in the Account Activity delivery
/// (`message_data.quick_reply_response {type: options, metadata}`, the text the option's
/// label), signed with the app's consumer secret. X does not say which message offered it.
pub mod x {
    use base64::Engine as _;
    use serde_json::json;

    use super::{hmac_sha256, json_post};
    use crate::Request;

    /// The business's X user (`for_user_id`, the DM's recipient).
    pub const BUSINESS: &str = "3001969357";
    /// The customer's X user id.
    pub const CUSTOMER: &str = "844385345234";
    /// The customer's name and screen name.
    pub const CUSTOMER_NAME: &str = "Budi";
    /// The customer's screen name.
    pub const CUSTOMER_SCREEN_NAME: &str = "budi";
    /// The direct message's id: the tap's id.
    pub const TAP_ID: &str = "1234858592";
    /// When it was sent (milliseconds, a string as X sends it).
    pub const CREATED_TIMESTAMP: &str = "1392078023603";

    /// The option with `metadata` and the label `label` picked; signed
    /// `X-Twitter-Webhooks-Signature: sha256=<base64 HMAC-SHA256 of the body under the consumer secret>`.
    pub fn quick_reply_response(consumer_secret: &str, metadata: &str, label: &str) -> Request {
        let body = json!({
            "for_user_id": BUSINESS,
            "direct_message_events": [{
                "type": "message_create",
                "id": TAP_ID,
                "created_timestamp": CREATED_TIMESTAMP,
                "message_create": {
                    "target": {"recipient_id": BUSINESS},
                    "sender_id": CUSTOMER,
                    "message_data": {
                        "text": label,
                        "entities": {"hashtags": [], "symbols": [], "urls": [], "user_mentions": []},
                        "quick_reply_response": {"type": "options", "metadata": metadata},
                    },
                },
            }],
            "users": {
                CUSTOMER: {"id": CUSTOMER, "name": CUSTOMER_NAME, "screen_name": CUSTOMER_SCREEN_NAME},
                BUSINESS: {"id": BUSINESS, "name": "Toko Budi", "screen_name": "tokobudi"},
            },
        });
        let text = body.to_string();
        let signature = format!("sha256={}", base64::engine::general_purpose::STANDARD.encode(hmac_sha256(consumer_secret, &text)));
        json_post("/", &text).header("x-twitter-webhooks-signature", &signature)
    }
}
