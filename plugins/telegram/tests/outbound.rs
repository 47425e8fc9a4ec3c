//! Telegram's outbound paths in the real runtime, the Bot API answered by the test kit's doubles.

use serde_json::json;
use switchboard_testkit::{Http, Message, Plugin, Request, workspace_component};

const API: &str = "https://api.telegram.org/bot7:tok";

fn telegram() -> Plugin {
    Plugin::load(workspace_component("switchboard-telegram")).unwrap().setting("bot_token", "7:tok")
}

#[test]
fn connect_checks_the_token_then_registers_the_webhook_for_messages_and_button_taps() {
    let mut plugin = telegram();
    plugin.on(Http::get(&format!("{API}/getMe")).respond_json(200, json!({"ok": true, "result": {"id": 5, "first_name": "Toko", "username": "toko_bot"}})));
    plugin.on(Http::post(&format!("{API}/setWebhook")).respond_json(200, json!({"ok": true, "result": true})));
    let connected = plugin.connect();
    assert_eq!(connected.ok()["external_account_id"], "5");
    let registered = connected.requests[1].json();
    assert_eq!(registered["secret_token"], plugin.webhook_secret());
    assert_eq!(registered["allowed_updates"], json!(["message", "edited_message", "callback_query"]));
}

#[test]
fn a_tap_on_an_inline_button_is_answered_at_once_and_reported_as_the_choice() {
    let mut plugin = telegram();
    plugin.on(Http::post(&format!("{API}/answerCallbackQuery")).respond_json(200, json!({"ok": true, "result": true})));
    // The Bot API's documented callback_query (providers-interactive.md §6).
    let update = json!({"update_id": 10000, "callback_query": {"id": "4382bfdwdsb323b2d9",
        "from": {"id": 1111, "is_bot": false, "first_name": "Budi"},
        "message": {"message_id": 77, "from": {"id": 2222, "is_bot": true, "first_name": "ShopBot"}, "chat": {"id": 1111, "type": "private"},
                    "date": 1700000000, "text": "Did that solve it?", "reply_markup": {"inline_keyboard": [[{"text": "Yes", "callback_data": "q42:yes"}]]}},
        "chat_instance": "-8471726474617489", "data": "q42:yes"}});
    let secret = plugin.webhook_secret().to_owned();
    let outcome = plugin.webhook(Request::post("").header("x-telegram-bot-api-secret-token", &secret).json(update));
    let events = outcome.ok()["events"].clone();
    assert_eq!(outcome.requests.len(), 1);
    assert_eq!(outcome.requests[0].json(), json!({"callback_query_id": "4382bfdwdsb323b2d9"}));
    let choice = &events[0]["Choice"];
    assert_eq!((choice["id"].as_str(), choice["title"].as_str(), choice["answers"].as_str()), (Some("q42:yes"), Some("Yes"), Some("77")));
    assert_eq!((choice["conversation"].as_str(), choice["provider_message_id"].as_str()), (Some("1111"), Some("10000")));
}

#[test]
fn a_revoked_token_refuses_connect_and_still_lets_disconnect_finish() {
    let mut plugin = telegram();
    plugin.on(Http::any(&format!("{API}/*")).respond_json(401, json!({"ok": false, "error_code": 401, "description": "Unauthorized"})));
    assert_eq!(plugin.connect().refused(), &json!({"Unauthorized": "Unauthorized"}));
    let disconnected = plugin.disconnect();
    disconnected.ok();
    assert!(disconnected.requests[0].url.ends_with("/deleteWebhook"));
}

#[test]
fn a_reply_threads_and_a_photo_goes_by_url() {
    let mut plugin = telegram();
    plugin.on(Http::post(&format!("{API}/sendMessage")).json(json!({"reply_to_message_id": 9, "allow_sending_without_reply": true})).respond_json(200, json!({"ok": true, "result": {"message_id": 10}})));
    plugin.on(Http::post(&format!("{API}/sendPhoto")).json(json!({"photo": "https://files.example/p.jpg"})).respond_json(200, json!({"ok": true, "result": {"message_id": 11}})));
    assert_eq!(plugin.send(Message::text("42", "yes").reply_to("9")).ok()["provider_message_id"], "10");
    assert_eq!(plugin.send(Message::media("42", "image", "https://files.example/p.jpg")).ok()["provider_message_id"], "11");
}

#[test]
fn flood_control_waits_as_long_as_telegram_says_in_the_body_or_the_header() {
    let mut plugin = telegram();
    plugin.on(Http::post(&format!("{API}/sendMessage")).respond_json(429, json!({"ok": false, "error_code": 429, "description": "Too Many Requests", "parameters": {"retry_after": 12}})));
    assert_eq!(plugin.send(Message::text("42", "hi")).refused(), &json!({"RateLimited": 12}));
    plugin.clear_rules();
    plugin.on(Http::post(&format!("{API}/sendMessage")).respond(429, "<html>busy</html>").respond_header("retry-after", "3"));
    assert_eq!(plugin.send(Message::text("42", "hi")).refused(), &json!({"RateLimited": 3}));
    plugin.clear_rules();
    plugin.on(Http::post(&format!("{API}/sendMessage")).respond(502, "bad gateway"));
    assert!(plugin.send(Message::text("42", "hi")).refused().get("Transient").is_some());
}
