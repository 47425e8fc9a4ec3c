//! Interactive messages end to end (contract 0.1.4): drawn natively where the channel's plugin
//! can (Telegram's inline keyboard, its taps answered and coming back as choices), sent as text
//! with numbered options where it cannot (a list on Telegram; every kind on a plugin built
//! against 0.1.3), a typed reply naming an option mapped back, and over-limit content refused
//! per field before anything is queued. Against the fake Bot API, which refuses what Telegram
//! refuses (`callback_data` over 64 bytes, a button with both or neither of `url` and
//! `callback_data`) and counts callback queries left unanswered.

use serde_json::{Value, json};
use switchboard_e2e::fake_telegram::FakeTelegram;
use switchboard_e2e::js_plugin::telegram_js;
use switchboard_e2e::{HostOptions, TestHost, conversations, messages, send, until_status};

use crate::telegram::{GOOD_TOKEN, connect, host_and_fake, registered_secret, text_update};

const CUSTOMER: i64 = 4242;

/// A conversation with the customer (who wrote first); its id.
async fn conversation_with_customer(host: &TestHost, channel: &str, secret: &str) -> i64 {
    let (status, _) = host.webhook(channel, &[("x-telegram-bot-api-secret-token", secret)], text_update(1, CUSTOMER, "Halo")).await;
    assert_eq!(status, 200);
    conversations(host).await[0]["id"].as_i64().unwrap()
}

/// The customer's newest message in a conversation's list.
pub(crate) fn newest_inbound(list: &[Value]) -> Value {
    list.iter().rev().find(|m| m["direction"] == "inbound").cloned().expect("an inbound message")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telegram_draws_reply_buttons_and_a_tap_comes_back_as_the_choice_with_its_full_id() {
    let (host, fake) = host_and_fake().await;
    let channel = connect(&host, &fake).await;
    let id = channel["id"].as_str().unwrap();
    let secret = registered_secret(&fake);
    assert_eq!(fake.calls("setWebhook")[0].body["allowed_updates"], json!(["message", "edited_message", "callback_query"]));
    let conversation = conversation_with_customer(&host, id, &secret).await;

    // An id longer than Telegram's 64-byte callback_data travels short.
    let long_id = format!("order=A-17&action=not-arrived&agent=siti&reason={}", "x".repeat(40));
    let interactive = json!({
        "header": "Pesanan A-17",
        "body": "Pesanan Anda sudah dikirim. Sudah sampai?",
        "footer": "Toko Budi",
        "reply_buttons": [{"id": "arrived:A-17", "title": "Sudah"}, {"id": long_id, "title": "Belum"}]
    });
    let message_id = send(&host, conversation, json!({"interactive": interactive})).await;
    let sent = until_status(&host, conversation, message_id, "sent").await;
    assert_eq!(sent["content"]["interactive"], interactive, "read back as sent");
    let sends = fake.calls("sendMessage");
    assert_eq!(sends.len(), 1);
    assert_eq!(sends[0].body["text"], "Pesanan A-17\n\nPesanan Anda sudah dikirim. Sudah sampai?\n\nToko Budi");
    assert_eq!(
        sends[0].body["reply_markup"],
        json!({"inline_keyboard": [[{"text": "Sudah", "callback_data": "arrived:A-17"}], [{"text": "Belum", "callback_data": format!("~{message_id}.1")}]]})
    );

    // The customer taps "Belum": answered at once, stored as the choice with the business's id.
    let provider_message: i64 = sent["provider_message_id"].as_str().unwrap().parse().unwrap();
    let tap = fake.tap(2, CUSTOMER, provider_message, &format!("~{message_id}.1"));
    let (status, _) = host.webhook(id, &[("x-telegram-bot-api-secret-token", &secret)], tap.to_string()).await;
    assert_eq!(status, 200);
    assert_eq!(fake.calls("answerCallbackQuery").len(), 1);
    assert!(fake.unanswered_queries().is_empty(), "the customer's client stops spinning");
    let choice = newest_inbound(&messages(&host, conversation).await);
    assert_eq!(choice["text"], "Belum");
    assert_eq!(
        choice["content"]["choice"],
        json!({"id": long_id, "title": "Belum", "message_id": message_id, "answers": provider_message.to_string(), "by": "tap"})
    );

    // The same update delivered again is one choice; a tap on the short-id button of another
    // message (crafted data) keeps its raw id and points at nothing.
    host.webhook(id, &[("x-telegram-bot-api-secret-token", &secret)], tap.to_string()).await;
    let tap = fake.tap(3, CUSTOMER, provider_message, "~999999.0");
    host.webhook(id, &[("x-telegram-bot-api-secret-token", &secret)], tap.to_string()).await;
    let list = messages(&host, conversation).await;
    let choices: Vec<_> = list.iter().filter(|m| !m["content"]["choice"].is_null()).collect();
    assert_eq!(choices.len(), 2, "{list:?}");
    assert_eq!(choices[1]["content"]["choice"]["id"], "~999999.0");
    assert!(choices[1]["content"]["choice"]["message_id"].is_null());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn content_over_the_channels_limits_is_refused_per_field_before_it_is_queued() {
    let (host, fake) = host_and_fake().await;
    let channel = connect(&host, &fake).await;
    let secret = registered_secret(&fake);
    let conversation = conversation_with_customer(&host, channel["id"].as_str().unwrap(), &secret).await;

    let mut buttons: Vec<Value> = (0..11).map(|i| json!({"id": format!("b{i}"), "title": format!("Pilihan {i}")})).collect();
    buttons[3]["title"] = json!("x".repeat(65));
    buttons[4]["id"] = json!("b0");
    let (status, body) = host
        .post(&format!("/api/v1/conversations/{conversation}/messages"), &host.agent, json!({"interactive": {"body": "Pilih", "reply_buttons": buttons}}))
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"], "invalid_fields");
    assert_eq!(body["fields"]["interactive.reply_buttons"], "at most 10 options on Telegram (11 given)");
    assert_eq!(body["fields"]["interactive.reply_buttons[3].title"], "at most 64 characters on Telegram (65 given)");
    assert!(body["fields"]["interactive.reply_buttons[4].id"].as_str().unwrap().contains("another option"), "{body}");

    // Malformed content is a 4xx too, never a 500.
    for bad in [json!({"body": "x"}), json!({"body": "x", "reply_buttons": [], "url_buttons": []}), json!({"body": "x", "cards": "no"})] {
        let (status, body) = host.post(&format!("/api/v1/conversations/{conversation}/messages"), &host.agent, json!({"interactive": bad})).await;
        assert!((400..500).contains(&status), "{status} {body}");
    }
    let (status, _) = host
        .post(&format!("/api/v1/conversations/{conversation}/messages"), &host.agent, json!({"text": "hi", "interactive": {"body": "x", "reply_buttons": [{"id": "a", "title": "A"}]}}))
        .await;
    assert_eq!(status, 400);
    assert_eq!(messages(&host, conversation).await.len(), 1, "nothing was queued");
    assert!(fake.calls("sendMessage").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kind_the_channel_does_not_draw_goes_as_numbered_text_and_a_reply_naming_an_option_is_the_choice() {
    let (host, fake) = host_and_fake().await;
    let channel = connect(&host, &fake).await;
    let id = channel["id"].as_str().unwrap();
    let secret = registered_secret(&fake);
    let conversation = conversation_with_customer(&host, id, &secret).await;

    let list = json!({
        "body": "Mau dikirim pakai apa?",
        "list": {"button": "Pilihan kirim", "sections": [
            {"title": "Cepat", "rows": [{"id": "ship:express", "title": "Express", "description": "Besok sampai"}]},
            {"title": "Hemat", "rows": [{"id": "ship:regular", "title": "Reguler", "description": "2-3 hari"}]}]}
    });
    let message_id = send(&host, conversation, json!({"interactive": list})).await;
    until_status(&host, conversation, message_id, "sent").await;
    let sends = fake.calls("sendMessage");
    assert_eq!(sends[0].body["text"], "Mau dikirim pakai apa?\n\nCepat\n1. Express – Besok sampai\n\nHemat\n2. Reguler – 2-3 hari");
    assert!(sends[0].body.get("reply_markup").is_none(), "a list is not drawn on Telegram");

    // "2" names the second row; a later unrelated text is just text.
    host.webhook(id, &[("x-telegram-bot-api-secret-token", &secret)], text_update(5, CUSTOMER, "2")).await;
    let reply = newest_inbound(&messages(&host, conversation).await);
    assert_eq!(reply["text"], "2");
    assert_eq!(reply["content"]["choice"], json!({"id": "ship:regular", "title": "Reguler", "message_id": message_id, "answers": sends_provider_id(&host, conversation, message_id).await, "by": "reply"}));
    // A title names it too, whatever its case.
    host.webhook(id, &[("x-telegram-bot-api-secret-token", &secret)], text_update(6, CUSTOMER, "express")).await;
    assert_eq!(newest_inbound(&messages(&host, conversation).await)["content"]["choice"]["id"], "ship:express");
    // After the agent asks something else, "1" answers that, not the list.
    let other = send(&host, conversation, json!({"text": "Berapa banyak?"})).await;
    until_status(&host, conversation, other, "sent").await;
    host.webhook(id, &[("x-telegram-bot-api-secret-token", &secret)], text_update(7, CUSTOMER, "1")).await;
    assert!(newest_inbound(&messages(&host, conversation).await)["content"]["choice"].is_null());
}

async fn sends_provider_id(host: &TestHost, conversation: i64, message_id: i64) -> Value {
    messages(host, conversation).await.into_iter().find(|m| m["id"] == message_id).unwrap()["provider_message_id"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_built_against_0_1_3_gets_the_text_rendering_and_a_numbered_reply_maps_back() {
    // plugins-js/telegram-js is built against wit/v0.1.3 (componentize-js), kept at that version
    // as the fixture of a plugin that knows nothing of interactive content.
    let fake = FakeTelegram::start(GOOD_TOKEN).await;
    let host = TestHost::start(HostOptions { allow_outbound: vec![fake.authority.clone()], extra_plugins: vec![telegram_js()], ..Default::default() }).await;
    let (status, channel) = host
        .post("/api/v1/channels", &host.admin, json!({"plugin": "telegram-js", "name": "Toko Budi (JS)", "settings": {"bot_token": GOOD_TOKEN, "api_base_url": fake.base_url}}))
        .await;
    assert_eq!(status, 201, "{channel}");
    let id = channel["id"].as_str().unwrap();
    let secret = registered_secret(&fake);
    let conversation = conversation_with_customer(&host, id, &secret).await;

    let buttons = json!({"body": "Sudah sampai?", "footer": "Toko Budi", "reply_buttons": [{"id": "yes", "title": "Sudah"}, {"id": "no", "title": "Belum"}]});
    let message_id = send(&host, conversation, json!({"interactive": buttons})).await;
    until_status(&host, conversation, message_id, "sent").await;
    let sends = fake.calls("sendMessage");
    assert_eq!(sends[0].body["text"], "Sudah sampai?\n\n1. Sudah\n2. Belum\n\nToko Budi");
    // Limits are the text rendering's, not a channel's: 11 buttons are fine, 21 are not.
    let many: Vec<Value> = (0..21).map(|i| json!({"id": format!("o{i}"), "title": format!("Opsi {i}")})).collect();
    let (status, body) = host
        .post(&format!("/api/v1/conversations/{conversation}/messages"), &host.agent, json!({"interactive": {"body": "?", "quick_replies": many}}))
        .await;
    assert_eq!(status, 422, "{body}");
    let name = channel_plugin_name(&host).await;
    assert_eq!(body["fields"]["interactive.quick_replies"], format!("at most 20 options on {name} (21 given)"));

    host.webhook(id, &[("x-telegram-bot-api-secret-token", &secret)], text_update(5, CUSTOMER, "2")).await;
    let reply = newest_inbound(&messages(&host, conversation).await);
    assert_eq!(reply["content"]["choice"]["id"], "no");
    assert_eq!(reply["content"]["choice"]["by"], "reply");
    assert_eq!(reply["content"]["choice"]["message_id"], message_id);
}

async fn channel_plugin_name(host: &TestHost) -> String {
    let (_, plugins) = host.get("/api/v1/plugins", &host.admin).await;
    plugins.as_array().unwrap().iter().find(|p| p["id"] == "telegram-js").unwrap()["name"].as_str().unwrap().to_owned()
}

mod whatsapp {
    //! WhatsApp Cloud: reply buttons, lists and one URL button drawn as Meta documents them
    //! (the fake refuses what Meta refuses), a tap coming back as the choice, cards as text.

    use serde_json::json;
    use switchboard_e2e::messages;

    use crate::whatsapp_cloud::{APP_SECRET, CUSTOMER, conversation_with_customer, deliver, envelope, host_and_graph, now_seconds, queue, settled};
    use switchboard_e2e::fake_whatsapp_cloud::{BUSINESS_ACCOUNT_ID, PHONE_NUMBER_ID};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn whatsapp_draws_buttons_lists_and_a_url_button_and_a_tap_is_the_choice() {
        let (host, graph) = host_and_graph(APP_SECRET).await;
        let (channel, conversation) = conversation_with_customer(&host, &graph, 60).await;

        let buttons = json!({"header": "Workshop", "body": "Your workshop is at 9am tomorrow. Need to change it?", "footer": "Lucky Shrub",
            "reply_buttons": [{"id": "change-button", "title": "Change"}, {"id": "cancel-button", "title": "Cancel"}]});
        let (status, queued) = queue(&host, conversation, json!({"interactive": buttons})).await;
        assert_eq!(status, 202, "{queued}");
        let sent = settled(&host, conversation, queued["id"].as_i64().unwrap(), &["sent"]).await;
        assert_eq!(
            graph.sends().last().unwrap().body,
            json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": CUSTOMER, "type": "interactive",
                   "interactive": {"type": "button", "header": {"type": "text", "text": "Workshop"},
                                   "body": {"text": "Your workshop is at 9am tomorrow. Need to change it?"}, "footer": {"text": "Lucky Shrub"},
                                   "action": {"buttons": [{"type": "reply", "reply": {"id": "change-button", "title": "Change"}},
                                                          {"type": "reply", "reply": {"id": "cancel-button", "title": "Cancel"}}]}}})
        );

        let list = json!({"body": "Which shipping option do you prefer?", "list": {"button": "Shipping Options", "sections": [
            {"title": "I want it ASAP!", "rows": [{"id": "priority_express", "title": "Priority Mail Express", "description": "Next Day to 2 Days"}]},
            {"title": "I can wait a bit", "rows": [{"id": "media_mail", "title": "Media Mail"}]}]}});
        let (_, queued) = queue(&host, conversation, json!({"interactive": list})).await;
        settled(&host, conversation, queued["id"].as_i64().unwrap(), &["sent"]).await;
        assert_eq!(graph.sends().last().unwrap().body["interactive"]["type"], "list");
        let url = json!({"body": "Tap below to see available dates.", "url_buttons": [{"title": "See Dates", "url": "https://example.com/dates?c=42"}]});
        let (_, queued) = queue(&host, conversation, json!({"interactive": url})).await;
        settled(&host, conversation, queued["id"].as_i64().unwrap(), &["sent"]).await;
        assert_eq!(graph.sends().last().unwrap().body["interactive"]["action"]["parameters"]["display_text"], "See Dates");
        // Cards: no session shape on WhatsApp: the text rendering.
        let cards = json!({"body": "Topi baru", "cards": [{"title": "Topi merah", "buttons": [{"id": "buy:red", "title": "Beli"}]}]});
        let (_, queued) = queue(&host, conversation, json!({"interactive": cards})).await;
        settled(&host, conversation, queued["id"].as_i64().unwrap(), &["sent"]).await;
        assert_eq!(graph.sends().last().unwrap().body["text"]["body"], "Topi baru\n\nTopi merah\n1. Beli");

        // Over WhatsApp's limits: refused per field, nothing sent.
        let sends_before = graph.sends().len();
        let four: Vec<_> = (0..4).map(|i| json!({"id": format!("b{i}"), "title": format!("Option {i}")})).collect();
        let (status, body) = queue(&host, conversation, json!({"interactive": {"body": "?", "reply_buttons": four}})).await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(body["fields"]["interactive.reply_buttons"], "at most 3 options on WhatsApp Cloud API (4 given)");
        let (status, body) = queue(&host, conversation, json!({"interactive": {"body": "?", "reply_buttons": [{"id": "a", "title": "A title longer than twenty"}]}})).await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(body["fields"]["interactive.reply_buttons[0].title"], "at most 20 characters on WhatsApp Cloud API (26 given)");
        assert_eq!(graph.sends().len(), sends_before);

        // The customer taps "Cancel" on the first message.
        let wamid = sent["provider_message_id"].as_str().unwrap();
        let tap = json!({"contacts": [{"profile": {"name": "Siti Rahma"}, "wa_id": CUSTOMER}], "messages": [{
            "context": {"from": "15550783881", "id": wamid}, "from": CUSTOMER, "id": "wamid.TAP1", "timestamp": now_seconds().to_string(),
            "type": "interactive", "interactive": {"type": "button_reply", "button_reply": {"id": "cancel-button", "title": "Cancel"}}}]});
        let (status, _) = deliver(&host, &channel, APP_SECRET, &envelope(PHONE_NUMBER_ID, tap)).await;
        assert_eq!(status, 200);
        let stored = messages(&host, conversation).await;
        let choice = stored.iter().rev().find(|m| m["direction"] == "inbound").unwrap();
        assert_eq!(choice["text"], "Cancel");
        assert_eq!(choice["content"]["choice"], json!({"id": "cancel-button", "title": "Cancel", "message_id": sent["id"], "answers": wamid, "by": "tap"}));
    }

    /// Meta's documented example: a template with a quick reply, a URL button ending in a
    /// variable and a phone button, created, listed, sent with each button's value outside the
    /// messaging window, and the quick reply's tap back as the choice with the payload sent.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn whatsapp_templates_with_quick_reply_and_url_buttons_are_created_listed_sent_and_tapped() {
        let (host, graph) = host_and_graph(APP_SECRET).await;
        let (channel, conversation) = conversation_with_customer(&host, &graph, 25 * 3600).await;
        let path = format!("/api/v1/channels/{channel}/templates");
        let buttons = json!([
            {"type": "quick_reply", "text": "Stop updates"},
            {"type": "url", "text": "Track", "url": "https://example.com/track/{{1}}", "example": "860198"},
            {"type": "phone_number", "text": "Call us", "phone_number": "15550051310"}]);

        // WhatsApp's rules, checked before Meta is asked, every problem on its field.
        let posts = || graph.calls("POST", &format!("{BUSINESS_ACCOUNT_ID}/message_templates")).len();
        let before = posts();
        let mixed = json!([{"type": "quick_reply", "text": "Ya"}, {"type": "url", "text": "Lihat", "url": "https://example.com/t/{{1}}"},
            {"type": "quick_reply", "text": "A quick reply text too long"}]);
        let (status, refused) = host.post(&path, &host.admin, json!({"name": "mixed", "language": "id", "category": "UTILITY", "body": "Halo", "buttons": mixed})).await;
        assert_eq!(status, 422, "{refused}");
        assert_eq!(refused["fields"]["buttons"], "quick replies must come together, before or after the other buttons");
        assert_eq!(refused["fields"]["buttons[1].example"], "give an example of what {{1}} becomes, for WhatsApp's review");
        assert_eq!(refused["fields"]["buttons[2].text"], "at most 25 characters on WhatsApp");
        let (status, refused) = host.post(&path, &host.admin, json!({"name": "x", "language": "id", "category": "UTILITY", "body": "Halo", "buttons": [{"type": "email"}]})).await;
        assert_eq!(status, 400, "an unknown kind of button is bad JSON: {refused}");
        assert_eq!(posts(), before, "nothing refused reached Meta");

        let new = json!({"name": "order_update", "language": "en_US", "category": "UTILITY", "body": "Order {{1}} has shipped.", "buttons": buttons});
        let (status, created) = host.post(&path, &host.admin, new).await;
        assert_eq!(status, 201, "{created}");
        assert_eq!((created["status"].as_str(), &created["buttons"]), (Some("PENDING"), &buttons));
        let posted = graph.calls("POST", &format!("{BUSINESS_ACCOUNT_ID}/message_templates"));
        assert_eq!(posted.last().unwrap().body, json!({"name": "order_update", "language": "en_US", "category": "UTILITY", "components": [
            {"type": "BODY", "text": "Order {{1}} has shipped."},
            {"type": "BUTTONS", "buttons": [
                {"type": "QUICK_REPLY", "text": "Stop updates"},
                {"type": "URL", "text": "Track", "url": "https://example.com/track/{{1}}", "example": ["860198"]},
                {"type": "PHONE_NUMBER", "text": "Call us", "phone_number": "15550051310"}]}]}));
        graph.approve_pending_templates();
        let (_, list) = host.get(&path, &host.agent).await;
        let listed = list.as_array().unwrap().iter().find(|t| t["name"] == "order_update").unwrap();
        assert_eq!((listed["status"].as_str(), &listed["buttons"]), (Some("APPROVED"), &buttons), "read back from Meta: {list}");

        // Values per button: checked first, then sent as Meta documents them.
        for (values, field) in [
            (json!([{"index": 0}]), "template.buttons[0].payload"),
            (json!([{"index": 0, "payload": "a", "url_suffix": "b"}]), "template.buttons[0].payload"),
            (json!([{"index": 10, "payload": "a"}]), "template.buttons[0].index"),
            (json!([{"index": 1, "url_suffix": "a"}, {"index": 1, "url_suffix": "b"}]), "template.buttons[1].index"),
            // Checked against the template as Meta lists it: the kind at each index, and its end.
            (json!([{"index": 0, "url_suffix": "a"}]), "template.buttons[0].url_suffix"),
            (json!([{"index": 1, "payload": "a"}]), "template.buttons[0].payload"),
            (json!([{"index": 2, "payload": "a"}]), "template.buttons[0].payload"),
            (json!([{"index": 5, "payload": "a"}]), "template.buttons[0].index"),
        ] {
            let template = json!({"template": {"name": "order_update", "language": "en_US", "params": ["860198"], "buttons": values}});
            let (status, refused) = queue(&host, conversation, template).await;
            assert_eq!(status, 422, "{values} -> {refused}");
            assert!(refused["fields"][field].is_string(), "{values} -> {refused}");
        }
        let template = json!({"template": {"name": "order_update", "language": "en_US", "params": ["860198"],
            "buttons": [{"index": 0, "payload": "stop:860198"}, {"index": 1, "url_suffix": "860198/detail?lang=id"}]}});
        let (status, queued) = queue(&host, conversation, template).await;
        assert_eq!(status, 202, "a template goes outside the window: {queued}");
        let sent = settled(&host, conversation, queued["id"].as_i64().unwrap(), &["sent"]).await;
        assert_eq!(sent["content"]["template"]["buttons"], json!([{"index": 0, "payload": "stop:860198", "text": "Stop updates"},
            {"index": 1, "url_suffix": "860198/detail?lang=id", "text": "Track"}]), "read back as sent, with the labels for the inbox: {sent}");
        assert_eq!(graph.sends().last().unwrap().body, json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": CUSTOMER,
            "type": "template", "template": {"name": "order_update", "language": {"policy": "deterministic", "code": "en_US"}, "components": [
                {"type": "body", "parameters": [{"type": "text", "text": "860198"}]},
                {"type": "button", "sub_type": "quick_reply", "index": "0", "parameters": [{"type": "payload", "payload": "stop:860198"}]},
                {"type": "button", "sub_type": "url", "index": "1", "parameters": [{"type": "text", "text": "860198%2Fdetail%3Flang%3Did"}]}]}}));

        // The customer taps "Stop updates": the payload sent is the choice's id.
        let wamid = sent["provider_message_id"].as_str().unwrap();
        let tap = json!({"contacts": [{"profile": {"name": "Siti Rahma"}, "wa_id": CUSTOMER}], "messages": [{
            "context": {"from": "15550783881", "id": wamid}, "from": CUSTOMER, "id": "wamid.TAP-TEMPLATE", "timestamp": now_seconds().to_string(),
            "type": "button", "button": {"payload": "stop:860198", "text": "Stop updates"}}]});
        let (status, _) = deliver(&host, &channel, APP_SECRET, &envelope(PHONE_NUMBER_ID, tap)).await;
        assert_eq!(status, 200);
        let stored = messages(&host, conversation).await;
        let choice = stored.iter().rev().find(|m| m["direction"] == "inbound").unwrap();
        assert_eq!(choice["text"], "Stop updates");
        assert_eq!(choice["content"]["choice"], json!({"id": "stop:860198", "title": "Stop updates", "message_id": sent["id"], "answers": wamid, "by": "tap"}));
    }
}

mod messenger {
    //! Messenger: quick replies, a button template and a generic template (after the body's
    //! text) as Meta documents them (the fake refuses what the Send API refuses); a postback and a
    //! quick reply tapped come back as choices tied to the message that offered them.

    use serde_json::json;
    use switchboard_e2e::fake_meta::{self, now_ms};
    use switchboard_e2e::{send, until_status};

    use crate::messenger::{HOUR_MS, PAGE_ID, SITI, connect, customer_writes, deliver, host_and_fake, messages};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn messenger_draws_templates_and_quick_replies_and_postbacks_are_choices() {
        let (host, fake) = host_and_fake().await;
        let channel = connect(&host, &fake).await;
        let id = channel["id"].as_str().unwrap();
        let conversation = customer_writes(&host, &fake, id, PAGE_ID, SITI, "m_siti", now_ms() - HOUR_MS).await;

        let buttons = json!({"body": "What do you want to do next?", "reply_buttons": [{"id": "AGENT", "title": "Talk to an agent"}]});
        let offered = send(&host, conversation, json!({"interactive": buttons})).await;
        until_status(&host, conversation, offered, "sent").await;
        assert_eq!(
            fake.sent().last().unwrap().message,
            json!({"attachment": {"type": "template", "payload": {"template_type": "button", "text": "What do you want to do next?",
                "buttons": [{"type": "postback", "title": "Talk to an agent", "payload": "AGENT"}]}}})
        );
        let quick = json!({"body": "Pick a color:", "quick_replies": [{"id": "COLOR_RED", "title": "Red"}, {"id": "COLOR_GREEN", "title": "Green"}]});
        let asked = send(&host, conversation, json!({"interactive": quick})).await;
        until_status(&host, conversation, asked, "sent").await;
        assert_eq!(fake.sent().last().unwrap().message["quick_replies"][1], json!({"content_type": "text", "title": "Green", "payload": "COLOR_GREEN"}));
        let cards = json!({"body": "Topi baru", "cards": [{"title": "Welcome!", "subtitle": "We have the right hat for everyone.",
            "image_url": "https://example.com/hat.jpg", "buttons": [{"title": "View Website", "url": "https://example.com/"}, {"id": "START", "title": "Start Chatting"}]}]});
        let carousel = send(&host, conversation, json!({"interactive": cards})).await;
        until_status(&host, conversation, carousel, "sent").await;
        let sent = fake.sent();
        assert_eq!(sent[sent.len() - 2].message, json!({"text": "Topi baru"}), "the body goes first: a generic template has no text");
        assert_eq!(sent[sent.len() - 1].message["attachment"]["payload"]["elements"][0]["buttons"][1], json!({"type": "postback", "title": "Start Chatting", "payload": "START"}));

        // A postback on the first message's button, then a quick reply.
        let postback = json!({"sender": {"id": SITI}, "recipient": {"id": PAGE_ID}, "timestamp": now_ms(),
            "postback": {"mid": "m_pb1", "title": "Talk to an agent", "payload": "AGENT"}});
        assert_eq!(deliver(&host, id, &fake_meta::delivery("page", PAGE_ID, vec![postback])).await, 200);
        let tapped = fake.customer_writes(PAGE_ID, SITI, json!({"mid": "m_qr1", "text": "Green", "quick_reply": {"payload": "COLOR_GREEN"}}), now_ms());
        assert_eq!(deliver(&host, id, &tapped).await, 200);
        let list = messages(&host, conversation).await;
        let choices: Vec<_> = list.iter().filter_map(|m| m["content"].get("choice").cloned()).collect();
        assert_eq!(choices.len(), 2, "{list:?}");
        assert_eq!((&choices[0]["id"], &choices[0]["title"], &choices[0]["message_id"]), (&json!("AGENT"), &json!("Talk to an agent"), &json!(offered)));
        assert_eq!((&choices[1]["id"], &choices[1]["title"], &choices[1]["message_id"]), (&json!("COLOR_GREEN"), &json!("Green"), &json!(asked)));
    }
}
