//! Every provider's choice event in `switchboard_testkit::choices`, through the first-party
//! plugin of that provider in the real runtime: the plugin verifies the fixture as it verifies
//! the provider (signed with another secret, it is refused) and reports it as the customer's
//! choice, with the option's id, the title and the message it answers as far as the provider
//! says.

use serde_json::json;
use switchboard_testkit::choices::{instagram, line, messenger, telegram, whatsapp_cloud, whatsapp_onprem, x};
use switchboard_testkit::{Http, Outcome, Plugin, Request, workspace_component};

/// The secret each provider signs with (a setting of the channel).
const SECRET: &str = "3f8b2c1d9e7a6b5c4d3e2f1a0b9c8d7e";

fn plugin(crate_name: &str) -> Plugin {
    Plugin::load(workspace_component(crate_name)).unwrap()
}

#[track_caller]
fn assert_unauthorized(outcome: &Outcome) {
    assert!(outcome.refused().get("Unauthorized").is_some(), "{:?}", outcome.answer);
}

#[test]
fn whatsapp_cloud_reply_buttons_list_rows_and_template_quick_replies_are_choices() {
    let mut plugin = plugin("switchboard-whatsapp-cloud").setting("phone_number_id", whatsapp_cloud::PHONE_NUMBER_ID).setting("app_secret", SECRET);
    let tapped = plugin.webhook(whatsapp_cloud::button_reply(SECRET, "wamid.QUESTION", "change-button", "Change"));
    let choice = tapped.assert_choice("change-button", Some("Change"), Some("wamid.QUESTION"));
    assert_eq!((choice.provider_message_id.as_str(), choice.conversation.as_str()), (whatsapp_cloud::TAP_ID, whatsapp_cloud::CUSTOMER));
    assert_eq!(choice.sender.name.as_deref(), Some(whatsapp_cloud::CUSTOMER_NAME));
    assert_eq!(choice.timestamp_ms, 1_714_510_003_000);

    let list = whatsapp_cloud::list_reply(SECRET, "wamid.LIST", "priority_express", "Priority Mail Express", Some("Next Day to 2 Days"));
    plugin.webhook(list).assert_choice("priority_express", Some("Priority Mail Express"), Some("wamid.LIST"));
    let row_without_description = whatsapp_cloud::list_reply(SECRET, "wamid.LIST", "media_mail", "Media Mail", None);
    plugin.webhook(row_without_description).assert_choice("media_mail", Some("Media Mail"), Some("wamid.LIST"));
    let template = whatsapp_cloud::template_quick_reply(SECRET, "wamid.TEMPLATE", "stop:860198", "Stop updates");
    plugin.webhook(template).assert_choice("stop:860198", Some("Stop updates"), Some("wamid.TEMPLATE"));

    assert_unauthorized(&plugin.webhook(whatsapp_cloud::button_reply("another app's secret", "wamid.QUESTION", "change-button", "Change")));
    // Another number's tap reaches this channel's URL only by mistake: not its traffic.
    plugin.set_setting("phone_number_id", "106540352240000");
    assert!(plugin.webhook(whatsapp_cloud::button_reply(SECRET, "wamid.QUESTION", "change-button", "Change")).choices().is_empty());
}

#[test]
fn whatsapp_onprem_taps_in_the_bare_webhook_are_choices() {
    let mut plugin = plugin("switchboard-whatsapp");
    let secret = plugin.webhook_secret().to_owned();
    let tapped = plugin.webhook(whatsapp_onprem::button_reply(&secret, "gBEGkYiEB1VXAglK1ZEqA1YKPr1", "change-button", "Change"));
    let choice = tapped.assert_choice("change-button", Some("Change"), Some("gBEGkYiEB1VXAglK1ZEqA1YKPr1"));
    assert_eq!((choice.provider_message_id.as_str(), choice.conversation.as_str()), (whatsapp_onprem::TAP_ID, whatsapp_onprem::CUSTOMER));
    assert_eq!(choice.sender.handle, Some(format!("+{}", whatsapp_onprem::CUSTOMER)));

    let list = whatsapp_onprem::list_reply(&secret, "gBEGkYiEB1VXAglK1ZEqA1YKPr2", "priority_express", "Priority Mail Express", Some("Next Day to 2 Days"));
    plugin.webhook(list).assert_choice("priority_express", Some("Priority Mail Express"), Some("gBEGkYiEB1VXAglK1ZEqA1YKPr2"));
    let template = whatsapp_onprem::template_quick_reply(&secret, "gBEGkYiEB1VXAglK1ZEqA1YKPr3", "stop:860198", "Stop updates");
    plugin.webhook(template).assert_choice("stop:860198", Some("Stop updates"), Some("gBEGkYiEB1VXAglK1ZEqA1YKPr3"));

    // The API client delivers to the URL holding the channel's secret: any other is refused.
    assert_unauthorized(&plugin.webhook(whatsapp_onprem::button_reply("guessed", "gBEGkYiEB1VXAglK1ZEqA1YKPr1", "change-button", "Change")));
}

#[test]
fn a_line_postback_is_a_choice_without_a_title_or_a_message() {
    let mut plugin = plugin("switchboard-line").setting("channel_secret", SECRET);
    let choice = plugin.webhook(line::postback(SECRET, "action=buy&itemid=123")).assert_choice("action=buy&itemid=123", None, None);
    assert_eq!((choice.provider_message_id.as_str(), choice.conversation.as_str()), (line::WEBHOOK_EVENT_ID, line::USER_ID));
    assert_eq!(choice.timestamp_ms, line::TIMESTAMP_MS);
    assert!(choice.properties.contains(&("reply_token".to_owned(), line::REPLY_TOKEN.to_owned())), "{:?}", choice.properties);
    assert_unauthorized(&plugin.webhook(line::postback("another channel's secret", "action=buy&itemid=123")));
}

#[test]
fn messenger_quick_replies_and_postbacks_are_choices() {
    let mut plugin = plugin("switchboard-messenger").setting("page_id", messenger::PAGE_ID).setting("app_secret", SECRET);
    let choice = plugin.webhook(messenger::quick_reply(SECRET, "COLOR_GREEN", "Green")).assert_choice("COLOR_GREEN", Some("Green"), None);
    assert_eq!((choice.provider_message_id.as_str(), choice.conversation.as_str()), (messenger::TAP_ID, messenger::CUSTOMER));
    assert_eq!(choice.timestamp_ms, messenger::TIMESTAMP_MS);
    plugin.webhook(messenger::postback(SECRET, "AGENT", "Talk to an agent")).assert_choice("AGENT", Some("Talk to an agent"), None);
    assert_unauthorized(&plugin.webhook(messenger::postback("another app's secret", "AGENT", "Talk to an agent")));
}

#[test]
fn instagram_quick_replies_and_postbacks_are_choices() {
    let mut plugin = plugin("switchboard-instagram").setting("instagram_account_id", instagram::ACCOUNT_ID).setting("app_secret", SECRET);
    let choice = plugin.webhook(instagram::quick_reply(SECRET, "size:m", "M")).assert_choice("size:m", Some("M"), None);
    assert_eq!((choice.provider_message_id.as_str(), choice.conversation.as_str()), (instagram::TAP_ID, instagram::CUSTOMER));
    plugin.webhook(instagram::postback(SECRET, "START", "Start Chatting")).assert_choice("START", Some("Start Chatting"), None);
    assert_unauthorized(&plugin.webhook(instagram::quick_reply("another app's secret", "size:m", "M")));
    // A Messenger delivery (signed by the same app) is not an Instagram account's traffic.
    assert!(plugin.webhook(messenger::quick_reply(SECRET, "COLOR_GREEN", "Green")).choices().is_empty());
}

#[test]
fn a_telegram_callback_query_is_answered_and_is_the_choice() {
    let mut plugin = plugin("switchboard-telegram").setting("bot_token", "1:abc");
    plugin.on(
        Http::post("https://api.telegram.org/bot1:abc/answerCallbackQuery")
            .json(json!({"callback_query_id": telegram::QUERY_ID}))
            .respond_json(200, json!({"ok": true, "result": true})),
    );
    let secret = plugin.webhook_secret().to_owned();
    let tapped = plugin.webhook(telegram::callback_query(&secret, 77, "q42:yes", "Yes"));
    let choice = tapped.assert_choice("q42:yes", Some("Yes"), Some("77"));
    assert_eq!((choice.provider_message_id, choice.conversation), (telegram::UPDATE_ID.to_string(), telegram::CUSTOMER.to_string()));
    assert_eq!(choice.sender.name.as_deref(), Some(telegram::CUSTOMER_NAME));
    assert_eq!(tapped.requests.iter().map(|r| r.rule).collect::<Vec<_>>(), vec![Some(0)], "the query is answered in the same call");
    assert_unauthorized(&plugin.webhook(telegram::callback_query("guessed", 77, "q42:yes", "Yes")));

    // A typed message is no choice.
    let text = json!({"update_id": 10001, "message": {"message_id": 78, "date": 1_700_000_100, "chat": {"id": 1111, "type": "private"}, "from": {"id": 1111, "first_name": "Budi"}, "text": "Yes"}});
    let typed = plugin.webhook(Request::post("/").header("x-telegram-bot-api-secret-token", &secret).json(text));
    assert!(typed.choices().is_empty());
    assert_eq!(typed.ok()["events"][0]["Message"]["text"], "Yes");
}

#[test]
fn an_x_quick_reply_response_is_the_choice_of_its_metadata() {
    let mut plugin = plugin("switchboard-twitter").setting("consumer_secret", SECRET);
    let picked = plugin.webhook(x::quick_reply_response(SECRET, "external_id_2", "Blue Bird"));
    let choice = picked.assert_choice("external_id_2", Some("Blue Bird"), None);
    assert_eq!((choice.provider_message_id.as_str(), choice.conversation.as_str()), (x::TAP_ID, x::CUSTOMER));
    assert_eq!(choice.sender.handle.as_deref(), Some(x::CUSTOMER_SCREEN_NAME));
    assert_eq!(choice.timestamp_ms, 1_392_078_023_603);
    assert_unauthorized(&plugin.webhook(x::quick_reply_response("another app's secret", "external_id_2", "Blue Bird")));
}

#[test]
fn a_fixture_is_replayed_with_its_secret() {
    // `plugin check`'s format, as `serve --record-webhooks` writes it: the secret placeholder filled in.
    let update = json!({"update_id": 5, "message": {"message_id": 9, "date": 1_700_000_000, "chat": {"id": 42, "type": "private"}, "from": {"id": 42, "first_name": "Ani"}, "text": "halo"}});
    let fixture = json!({
        "request": {"method": "POST", "path": "", "query": "", "headers": {"content-type": "application/json", "x-telegram-bot-api-secret-token": "{{webhook_secret}}"},
                    "body": update.to_string()},
        "webhook_secret": "S3cretTokenFromSetWebhook",
        "expect": "accept",
    });
    let mut plugin = plugin("switchboard-telegram").setting("bot_token", "1:abc");
    let replayed = plugin.replay(&fixture.to_string());
    assert_eq!(replayed.ok()["events"][0]["Message"]["text"], "halo");
    assert_eq!(plugin.webhook_secret(), "S3cretTokenFromSetWebhook", "the fixture's secret is the channel's now");
}
