//! Telegram end to end: connect, webhooks in, replies out, disconnect — against the fake Bot API.

use serde_json::{Value, json};
use switchboard_e2e::fake_telegram::{BOT_ID, BOT_USERNAME, FakeTelegram};
use switchboard_e2e::{Backend, HostOptions, PATIENCE, PUBLIC_URL, TestHost, conversations, messages, send, until_status};

pub const GOOD_TOKEN: &str = "7000001:AAHgoodtokenFromBotFather";

pub async fn host_and_fake() -> (TestHost, FakeTelegram) {
    host_and_fake_on(Backend::Sqlite).await
}

/// A host on `backend` that may reach a fake Telegram, and the fake.
pub async fn host_and_fake_on(backend: Backend) -> (TestHost, FakeTelegram) {
    let fake = FakeTelegram::start(GOOD_TOKEN).await;
    let host = TestHost::start(HostOptions { backend, allow_outbound: vec![fake.authority.clone()], ..Default::default() }).await;
    (host, fake)
}

/// Connects a Telegram channel as the admin; returns the channel JSON.
pub async fn connect(host: &TestHost, fake: &FakeTelegram) -> Value {
    let (status, channel) = host
        .post(
            "/api/v1/channels",
            &host.admin,
            json!({"plugin": "telegram", "name": "Toko Budi support", "settings": {"bot_token": GOOD_TOKEN, "api_base_url": fake.base_url}}),
        )
        .await;
    assert_eq!(status, 201, "{channel}");
    channel
}

/// The secret Telegram was given in setWebhook (what it sends back in each delivery).
pub fn registered_secret(fake: &FakeTelegram) -> String {
    let calls = fake.calls("setWebhook");
    calls.last().expect("setWebhook was called").body["secret_token"].as_str().unwrap().to_owned()
}

pub fn text_update(update_id: i64, chat_id: i64, text: &str) -> String {
    json!({
        "update_id": update_id,
        "message": {
            "message_id": update_id + 1000,
            "from": {"id": chat_id, "is_bot": false, "first_name": "Siti", "last_name": "Rahma", "username": "sitirahma", "language_code": "id"},
            "chat": {"id": chat_id, "first_name": "Siti", "last_name": "Rahma", "username": "sitirahma", "type": "private"},
            "date": 1_763_600_000,
            "text": text
        }
    })
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_names_missing_fields_and_refuses_a_bad_token() {
    let (host, fake) = host_and_fake().await;

    let (status, body) = host.post("/api/v1/channels", &host.admin, json!({"plugin": "telegram", "settings": {}})).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["fields"]["bot_token"], "field is required");
    assert_eq!(body["fields"]["name"], "field is required");
    assert!(fake.received().is_empty(), "nothing reaches the provider before the form is complete");

    let (status, body) = host
        .post(
            "/api/v1/channels",
            &host.admin,
            json!({"plugin": "telegram", "name": "Support", "settings": {"bot_token": "123:wrong", "api_base_url": fake.base_url}}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"], "connect_failed");
    assert!(body["message"].as_str().unwrap().contains("Unauthorized"), "the provider's reason is shown: {body}");
    assert_eq!(fake.calls("getMe").len(), 1);
    assert!(fake.calls("setWebhook").is_empty(), "no webhook is registered with a bad token");
    let (_, channels) = host.get("/api/v1/channels", &host.admin).await;
    assert_eq!(channels, json!([]), "a refused connect leaves no channel");

    let (status, body) = host.post("/api/v1/channels", &host.admin, json!({"plugin": "fax", "name": "x"})).await;
    assert_eq!(status, 422, "{body}");
    assert!(body["fields"]["plugin"].as_str().unwrap().contains("telegram"), "lists the loaded plugins: {body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_registers_the_webhook_and_masks_the_token() {
    let (host, fake) = host_and_fake().await;
    let channel = connect(&host, &fake).await;
    let id = channel["id"].as_str().unwrap();

    assert_eq!(channel["display_name"], format!("@{BOT_USERNAME}"));
    assert_eq!(channel["external_account_id"], BOT_ID.to_string());
    assert_eq!(channel["webhook_url"], format!("{PUBLIC_URL}/webhooks/{id}"));
    assert_eq!(channel["settings"]["bot_token"]["value"], "********");
    assert_eq!(channel["settings"]["bot_token"]["secret"], true);
    assert_eq!(channel["settings"]["api_base_url"]["value"], fake.base_url);

    let set_webhook = fake.calls("setWebhook");
    assert_eq!(set_webhook.len(), 1);
    assert_eq!(set_webhook[0].details["token"], GOOD_TOKEN);
    assert_eq!(set_webhook[0].body["url"], channel["webhook_url"]);
    assert_eq!(channel["setup"][0]["key"], "webhook_url");
    assert_eq!(channel["setup"][0]["value"], channel["webhook_url"]);
    assert!(registered_secret(&fake).len() >= 16);

    // Every role reads channels; the token never appears in any answer.
    let (status, shown) = host.get(&format!("/api/v1/channels/{id}"), &host.agent).await;
    assert_eq!(status, 200);
    assert!(!shown.to_string().contains(GOOD_TOKEN));
    let on_disk = std::fs::read(host.data_path().join("switchboard.db")).unwrap();
    assert!(!String::from_utf8_lossy(&on_disk).contains(GOOD_TOKEN), "the bot token is encrypted at rest");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verified_webhooks_are_stored_once_and_forged_ones_not_at_all() {
    let (host, fake) = host_and_fake().await;
    let channel = connect(&host, &fake).await;
    let id = channel["id"].as_str().unwrap();
    let secret = registered_secret(&fake);

    let (status, _) = host.webhook(id, &[("x-telegram-bot-api-secret-token", "wrong")], text_update(1, 4242, "forged")).await;
    assert_eq!(status, 401);
    let (status, _) = host.webhook(id, &[], text_update(2, 4242, "no secret")).await;
    assert_eq!(status, 401);
    assert!(conversations(&host).await.is_empty(), "nothing from unverified requests is stored");

    let (status, _) = host.webhook(id, &[("x-telegram-bot-api-secret-token", &secret)], "{not json").await;
    assert!((400..500).contains(&status), "garbage is a 4xx, got {status}");

    let update = text_update(10, 4242, "Halo, apakah pesanan saya sudah dikirim?");
    for _ in 0..2 {
        let (status, _) = host.webhook(id, &[("x-telegram-bot-api-secret-token", &secret)], update.clone()).await;
        assert_eq!(status, 200);
    }
    let list = conversations(&host).await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["external_id"], "4242");
    assert_eq!(list[0]["contact"]["name"], "Siti Rahma");
    assert_eq!(list[0]["contact"]["handle"], "sitirahma");
    assert_eq!(list[0]["window"]["state"], "unrestricted");
    let stored = messages(&host, list[0]["id"].as_i64().unwrap()).await;
    assert_eq!(stored.len(), 1, "a redelivered update is stored once: {stored:?}");
    assert_eq!(stored[0]["direction"], "inbound");
    assert_eq!(stored[0]["text"], "Halo, apakah pesanan saya sudah dikirim?");
}

/// A customer's message holding a NUL (`\u0000` in the provider's JSON) is stored, with the
/// NUL shown as U+FFFD, the same on both backends: Postgres keeps no NUL in text, and refusing
/// the webhook would have the provider send it again and again.
async fn a_nul_in_a_customers_message_is_stored_as_a_replacement_character(backend: Backend) {
    let (host, fake) = host_and_fake_on(backend).await;
    let channel = connect(&host, &fake).await;
    let id = channel["id"].as_str().unwrap();
    let secret = registered_secret(&fake);
    let update = text_update(10, 4242, "Halo\u{0}Budi").replace("\"first_name\":\"Siti\"", "\"first_name\":\"Si\\u0000ti\"");
    assert!(update.contains("\\u0000Budi") && update.contains("Si\\u0000ti"), "{update}");
    let (status, body) = host.webhook(id, &[("x-telegram-bot-api-secret-token", &secret)], update).await;
    assert_eq!(status, 200, "{body}");
    let list = conversations(&host).await;
    assert_eq!(list[0]["contact"]["name"], "Si\u{fffd}ti Rahma");
    let stored = messages(&host, list[0]["id"].as_i64().unwrap()).await;
    assert_eq!(stored[0]["text"], "Halo\u{fffd}Budi");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nul_in_a_customers_message_is_stored_as_a_replacement_character_on_sqlite() {
    a_nul_in_a_customers_message_is_stored_as_a_replacement_character(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nul_in_a_customers_message_is_stored_as_a_replacement_character_on_postgres() {
    a_nul_in_a_customers_message_is_stored_as_a_replacement_character(Backend::Postgres).await;
}

/// An admin who closes the page (or a proxy that gives up) while the channel connects: the
/// connect goes on to its end, and the channel is there, active, rather than left half-made
/// (connecting: listed nowhere, so it could not be deleted) with its webhook set at Telegram.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_whose_admin_went_away_while_it_connected_is_connected_all_the_same() {
    let (host, fake) = host_and_fake().await;
    fake.hold_set_webhook();
    let request = host
        .http
        .post(format!("{}/api/v1/channels", host.base))
        .bearer_auth(&host.admin)
        .json(&json!({"plugin": "telegram", "name": "Toko Budi support", "settings": {"bot_token": GOOD_TOKEN, "api_base_url": fake.base_url}}))
        .send();
    let request = tokio::spawn(request);
    let connecting = host.eventually(PATIENCE, || async { (fake.set_webhooks_waiting() == 1).then_some(()) }).await;
    assert!(connecting.is_some(), "the connect reached Telegram");
    // The admin goes away: the connection closes with the answer still to come.
    request.abort();
    assert!(request.await.is_err_and(|e| e.is_cancelled()));
    // A host that drops the request with its connection drops its call to Telegram too; given
    // the time to, before Telegram answers (this bounds only how likely that is caught).
    let dropped = host.eventually(GONE_AWAY_NOTICED, || async { (fake.set_webhooks_waiting() == 0).then_some(()) }).await;
    assert!(dropped.is_none(), "the host gave up the connect when its admin went away");
    fake.release_set_webhook();

    let connected = host
        .eventually(PATIENCE, || async {
            let (_, listed) = host.get("/api/v1/channels", &host.admin).await;
            listed.as_array()?.iter().find(|c| c["name"] == "Toko Budi support" && c["status"] == "active").cloned()
        })
        .await;
    assert!(connected.is_some(), "the channel is connected and listed");
    assert_eq!(fake.calls("setWebhook").len(), 1);
}

/// How long a test gives the host to notice a client that went away.
const GONE_AWAY_NOTICED: std::time::Duration = std::time::Duration::from_secs(2);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn photos_and_locations_arrive_as_typed_attachments() {
    let (host, fake) = host_and_fake().await;
    let channel = connect(&host, &fake).await;
    let id = channel["id"].as_str().unwrap();
    let secret = registered_secret(&fake);
    let base = json!({"message_id": 5, "from": {"id": 77, "is_bot": false, "first_name": "Budi"}, "chat": {"id": 77, "type": "private"}, "date": 1_763_600_100});
    let mut photo = base.clone();
    photo["photo"] = json!([
        {"file_id": "small", "file_unique_id": "s", "width": 90, "height": 90, "file_size": 1000},
        {"file_id": "large", "file_unique_id": "l", "width": 1280, "height": 960, "file_size": 90000}
    ]);
    photo["caption"] = json!("bukti transfer");
    let mut location = base.clone();
    location["message_id"] = json!(6);
    location["location"] = json!({"latitude": -6.2, "longitude": 106.8});
    for (update_id, message) in [(20, photo), (21, location)] {
        let body = json!({"update_id": update_id, "message": message}).to_string();
        let (status, _) = host.webhook(id, &[("x-telegram-bot-api-secret-token", &secret)], body).await;
        assert_eq!(status, 200);
    }
    let conversation = &conversations(&host).await[0];
    let stored = messages(&host, conversation["id"].as_i64().unwrap()).await;
    assert_eq!(stored.len(), 2);
    let photo = &stored[0]["content"]["attachments"][0];
    assert_eq!(photo["kind"], "image");
    assert_eq!(photo["provider_media_id"], "large");
    assert_eq!(stored[0]["text"], "bukti transfer");
    let place = &stored[1]["content"]["attachments"][0];
    assert_eq!(place["kind"], "location");
    assert_eq!(place["location"]["latitude"], -6.2);
    host.assert_store_calls_off_workers().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_reply_is_delivered_and_marked_sent() {
    let (host, fake) = host_and_fake().await;
    let channel = connect(&host, &fake).await;
    let id = channel["id"].as_str().unwrap();
    let secret = registered_secret(&fake);
    host.webhook(id, &[("x-telegram-bot-api-secret-token", &secret)], text_update(30, 4242, "Halo")).await;
    let conversation_id = conversations(&host).await[0]["id"].as_i64().unwrap();

    let (status, queued) =
        host.post(&format!("/api/v1/conversations/{conversation_id}/messages"), &host.agent, json!({"text": "Sudah dikirim kemarin, kak."})).await;
    assert_eq!(status, 202, "{queued}");
    assert_eq!(queued["status"], "queued");

    let sent = host
        .eventually(PATIENCE, || async {
            let list = messages(&host, conversation_id).await;
            list.into_iter().find(|m| m["direction"] == "outbound" && m["status"] == "sent")
        })
        .await
        .expect("the reply is marked sent");
    let sends = fake.calls("sendMessage");
    assert_eq!(sends.len(), 1);
    assert_eq!(sends[0].details["token"], GOOD_TOKEN);
    assert_eq!(sends[0].body["chat_id"].to_string().trim_matches('"'), "4242");
    assert_eq!(sends[0].body["text"], "Sudah dikirim kemarin, kak.");
    assert_eq!(sent["provider_message_id"], "501");

    let (status, body) = host.post(&format!("/api/v1/conversations/{conversation_id}/messages"), &host.agent, json!({"text": "  "})).await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = host
        .post(&format!("/api/v1/conversations/{conversation_id}/messages"), &host.agent, json!({"template": {"name": "x", "language": "id"}}))
        .await;
    assert_eq!(status, 422, "Telegram has no templates: {body}");
    host.assert_store_calls_off_workers().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passing_failures_are_retried_and_refusals_recorded() {
    let (host, fake) = host_and_fake().await;
    let channel = connect(&host, &fake).await;
    let id = channel["id"].as_str().unwrap();
    let secret = registered_secret(&fake);
    host.webhook(id, &[("x-telegram-bot-api-secret-token", &secret)], text_update(40, 4242, "Halo")).await;
    let conversation_id = conversations(&host).await[0]["id"].as_i64().unwrap();

    fake.fail_next_send(429, "Too Many Requests: retry after 1", Some(1));
    fake.fail_next_send(502, "Bad Gateway", None);
    let retried = send(&host, conversation_id, json!({"text": "retry me"})).await;
    until_status(&host, conversation_id, retried, "sent").await;
    assert_eq!(fake.calls("sendMessage").len(), 3, "delivered after a rate limit and a 502");

    fake.fail_next_send(403, "Forbidden: bot was blocked by the user", None);
    let blocked = send(&host, conversation_id, json!({"text": "blocked"})).await;
    let failed = until_status(&host, conversation_id, blocked, "failed").await;
    assert!(failed["error"].as_str().unwrap().contains("bot was blocked by the user"), "{failed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnect_deletes_the_webhook_and_the_channel() {
    let (host, fake) = host_and_fake().await;
    let channel = connect(&host, &fake).await;
    let id = channel["id"].as_str().unwrap();
    let secret = registered_secret(&fake);
    host.webhook(id, &[("x-telegram-bot-api-secret-token", &secret)], text_update(50, 4242, "Halo")).await;

    let (status, _) = host.call(reqwest::Method::DELETE, &format!("/api/v1/channels/{id}"), Some(&host.agent), None).await;
    assert_eq!(status, 403, "an agent cannot disconnect");
    let (status, _) = host.call(reqwest::Method::DELETE, &format!("/api/v1/channels/{id}"), Some(&host.admin), None).await;
    assert_eq!(status, 204);
    assert_eq!(fake.calls("deleteWebhook").len(), 1);
    assert_eq!(fake.calls("deleteWebhook")[0].details["token"], GOOD_TOKEN);
    let (status, _) = host.get(&format!("/api/v1/channels/{id}"), &host.admin).await;
    assert_eq!(status, 404);
    assert!(conversations(&host).await.is_empty(), "the channel's conversations go with it");
    let (status, _) = host.webhook(id, &[("x-telegram-bot-api-secret-token", &secret)], text_update(51, 4242, "late")).await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_settings_reconnects_and_read_only_rules_hold() {
    let (host, fake) = host_and_fake().await;
    let channel = connect(&host, &fake).await;
    let id = channel["id"].as_str().unwrap();
    let path = format!("/api/v1/channels/{id}");

    let (status, body) = host.call(reqwest::Method::PATCH, &path, Some(&host.admin), Some(json!({"settings": {"bot_token": "999:bad"}}))).await;
    assert_eq!(status, 422, "a new token is checked with Telegram: {body}");
    assert_eq!(body["error"], "connect_failed");
    let (status, body) = host
        .call(reqwest::Method::PATCH, &path, Some(&host.admin), Some(json!({"name": "Renamed", "settings": {"bot_token": "********"}})))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["name"], "Renamed");
    // The masked value kept the real token: sending still works with it.
    assert_eq!(fake.calls("setWebhook").len(), 1, "an unchanged token needs no reconnect");
    let (status, _) = host.call(reqwest::Method::PATCH, &path, Some(&host.agent), Some(json!({"name": "x"}))).await;
    assert_eq!(status, 403);
}
