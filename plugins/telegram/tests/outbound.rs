//! Telegram's outbound paths in the real runtime, the Bot API answered by the test kit's doubles.

use serde_json::json;
use switchboard_testkit::{Http, Message, Plugin, workspace_component};

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
fn reply_buttons_built_with_the_sdk_are_an_inline_keyboard_and_a_tap_is_answered_at_once_and_is_the_choice() {
    use switchboard_sdk::{ChoiceOption, InteractiveContent};
    use switchboard_testkit::choices::telegram::{self as taps, CUSTOMER, QUERY_ID, UPDATE_ID};

    let mut plugin = telegram();
    plugin.on(Http::post(&format!("{API}/sendMessage")).respond_json(200, json!({"ok": true, "result": {"message_id": 77}})));
    let question = InteractiveContent::reply_buttons("Did that solve it?", [ChoiceOption::new("q42:yes", "Yes"), ChoiceOption::new("q42:no", "No")])
        .with_footer("Toko Budi");
    let sent = plugin.send(Message::interactive(&CUSTOMER.to_string(), question));
    assert_eq!(sent.ok()["provider_message_id"], "77");
    assert_eq!(
        sent.requests[0].json(),
        json!({"chat_id": "1111", "text": "Did that solve it?\n\nToko Budi",
               "reply_markup": {"inline_keyboard": [[{"text": "Yes", "callback_data": "q42:yes"}], [{"text": "No", "callback_data": "q42:no"}]]}})
    );

    // The Bot API's documented callback_query on that message.
    plugin.on(Http::post(&format!("{API}/answerCallbackQuery")).respond_json(200, json!({"ok": true, "result": true})));
    let secret = plugin.webhook_secret().to_owned();
    let outcome = plugin.webhook(taps::callback_query(&secret, 77, "q42:yes", "Yes"));
    assert_eq!(outcome.requests.len(), 1);
    assert_eq!(outcome.requests[0].json(), json!({"callback_query_id": QUERY_ID}));
    let choice = outcome.assert_choice("q42:yes", Some("Yes"), Some("77"));
    assert_eq!((choice.conversation, choice.provider_message_id), (CUSTOMER.to_string(), UPDATE_ID.to_string()));
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
