//! Bots as API tokens (role `bot`): an admin makes one for a Telegram channel; the customer's new
//! conversation is the bot's, out of the agents' queue; the bot reads and answers it through the
//! API (the fake Telegram receives the reply), sees nothing of another channel and may do nothing
//! else; it hands the conversation over with a note; revoking it hands over the rest at once,
//! and an open inbox hears of it at once. A channel has one bot of either kind. On SQLite and
//! on Postgres alike: the scenario is written once and run on each.

use serde_json::{Value, json};
use switchboard_e2e::fake_telegram::FakeTelegram;
use switchboard_e2e::{Backend, PATIENCE, TestHost, until_status};

use switchboard_e2e::events::{Event, Events};
use crate::telegram::{GOOD_TOKEN, connect, host_and_fake_on, registered_secret, text_update};

/// A second Telegram channel on the same fake bot; its id and webhook secret.
async fn another_channel(host: &TestHost, fake: &FakeTelegram) -> (String, String) {
    let (status, channel) = host
        .post(
            "/api/v1/channels",
            &host.admin,
            json!({"plugin": "telegram", "name": "Toko Budi grosir", "settings": {"bot_token": GOOD_TOKEN, "api_base_url": fake.base_url}}),
        )
        .await;
    assert_eq!(status, 201, "{channel}");
    (channel["id"].as_str().unwrap().to_owned(), registered_secret(fake))
}

async fn customer_writes(host: &TestHost, channel: &str, secret: &str, update: i64, chat: i64, text: &str) {
    let (status, body) = host.webhook(channel, &[("x-telegram-bot-api-secret-token", secret)], text_update(update, chat, text)).await;
    assert_eq!(status, 200, "{body}");
}

/// The conversation of a channel with a chat, as the admin sees it.
async fn conversation_at(host: &TestHost, channel: &str, chat: i64) -> Value {
    let (status, list) = host.get(&format!("/api/v1/conversations?channel={channel}"), &host.admin).await;
    assert_eq!(status, 200, "{list}");
    list.as_array().unwrap().iter().find(|c| c["external_id"] == chat.to_string()).cloned().unwrap_or_else(|| panic!("no conversation with {chat}: {list}"))
}

/// Whether the conversation is in the agents' queue (unassigned, not the bot's).
async fn in_the_queue(host: &TestHost, conversation: i64) -> bool {
    let (status, queue) = host.get("/api/v1/conversations?assigned=unassigned", &host.agent).await;
    assert_eq!(status, 200, "{queue}");
    queue.as_array().unwrap().iter().any(|c| c["id"] == conversation)
}

/// The `conversation` event of `conversation` on an open event stream (other events skipped,
/// for at most [`PATIENCE`]).
pub(crate) async fn conversation_event(inbox: &mut Events, conversation: i64) -> Event {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let event = inbox.next(left).await.unwrap_or_else(|| panic!("no `conversation` event for conversation {conversation} in {PATIENCE:?}"));
        if event.kind == "conversation" && event.data["conversation_id"] == conversation {
            return event;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bot_token_answers_its_channel_hands_over_with_a_note_and_revoking_it_hands_over_the_rest_on_sqlite() {
    bot_token_from_the_first_message_to_the_handover_and_its_revocation(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bot_token_answers_its_channel_hands_over_with_a_note_and_revoking_it_hands_over_the_rest_on_postgres() {
    bot_token_from_the_first_message_to_the_handover_and_its_revocation(Backend::Postgres).await;
}

async fn bot_token_from_the_first_message_to_the_handover_and_its_revocation(backend: Backend) {
    let (host, fake) = host_and_fake_on(backend).await;
    let shop = connect(&host, &fake).await["id"].as_str().unwrap().to_owned();
    let shop_secret = registered_secret(&fake);
    let (wholesale, wholesale_secret) = another_channel(&host, &fake).await;

    // A bot token names its channels: none, or one of no workspace's, is refused.
    let (status, body) = host.post("/api/v1/tokens", &host.admin, json!({"label": "Asisten", "role": "bot"})).await;
    assert_eq!((status, body["error"].as_str()), (422, Some("invalid_fields")), "{body}");
    assert!(body["fields"]["channels"].is_string(), "{body}");
    let (status, body) = host.post("/api/v1/tokens", &host.admin, json!({"label": "Asisten", "role": "bot", "channels": []})).await;
    assert_eq!(status, 422, "{body}");
    let (status, body) = host.post("/api/v1/tokens", &host.admin, json!({"label": "Asisten", "role": "bot", "channels": ["ch_nope"]})).await;
    assert_eq!((status, body["fields"]["channels"].as_str()), (422, Some("no channel `ch_nope` in this workspace")), "{body}");
    let (status, body) = host.post("/api/v1/tokens", &host.admin, json!({"label": "Skrip", "role": "agent", "channels": [shop]})).await;
    assert_eq!(status, 422, "only a bot token has channels: {body}");
    let (status, body) = host.post("/api/v1/tokens", &host.agent, json!({"label": "Asisten", "role": "bot", "channels": [shop]})).await;
    assert_eq!(status, 403, "an admin makes bot tokens: {body}");

    // A channel named twice (once with spaces around it) is its channel once.
    let (status, made) = host.post("/api/v1/tokens", &host.admin, json!({"label": "Asisten pesanan", "role": "bot", "channels": [shop, format!(" {shop} ")]})).await;
    assert_eq!(status, 201, "{made}");
    assert_eq!((made["role"].as_str(), made["channels"].clone()), (Some("bot"), json!([shop])), "{made}");
    let (bot, bot_id) = (made["token"].as_str().unwrap().to_owned(), made["id"].as_i64().unwrap());
    let (_, listed) = host.get("/api/v1/tokens", &host.admin).await;
    let shown = listed.as_array().unwrap().iter().find(|t| t["id"] == bot_id).cloned().expect("listed");
    assert_eq!((shown["role"].as_str(), shown["channels"].clone()), (Some("bot"), json!([shop])), "{listed}");
    assert!(!listed.to_string().contains(&bot), "the token is shown once");

    // A channel has one bot, of either kind: a second one is refused, naming the first.
    let (status, body) = host.post("/api/v1/tokens", &host.admin, json!({"label": "Bot kedua", "role": "bot", "channels": [shop]})).await;
    assert_eq!((status, body["error"].as_str()), (409, Some("channel_has_bot")), "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(message.contains(&shop) && message.contains("Asisten pesanan") && message.contains(&bot_id.to_string()), "names the channel and its bot: {body}");
    let endpoint = json!({"url": format!("{}/hook", fake.base_url), "events": ["message.received"], "bot_channels": [shop]});
    let (status, body) = host.post("/api/v1/webhook-endpoints", &host.admin, endpoint).await;
    assert_eq!((status, body["error"].as_str()), (409, Some("channel_has_bot")), "an endpoint cannot be its bot either: {body}");
    assert!(body["fields"]["bot_channels"].as_str().unwrap().contains("Asisten pesanan"), "{body}");

    // A customer writes on each channel: the shop's conversation is the bot's, out of the queue.
    customer_writes(&host, &shop, &shop_secret, 10, 4242, "Halo, paket saya di mana?").await;
    customer_writes(&host, &wholesale, &wholesale_secret, 11, 5151, "Minta harga grosir").await;
    let conversation = conversation_at(&host, &shop, 4242).await;
    let conversation_id = conversation["id"].as_i64().unwrap();
    assert_eq!(conversation["status"], "bot", "{conversation}");
    assert_eq!(conversation["bot"], json!({"kind": "token", "id": bot_id, "name": "Asisten pesanan", "enabled": true}), "who handles it: {conversation}");
    assert!(!in_the_queue(&host, conversation_id).await, "the bot's conversation is not in the agents' queue");
    let other = conversation_at(&host, &wholesale, 5151).await;
    let other_id = other["id"].as_i64().unwrap();
    assert_eq!(other["status"], "open", "a channel without a bot: {other}");
    assert!(other.get("bot").is_none(), "{other}");

    // The bot sees its channel's conversations only: another channel's answer 404, as if absent.
    let (status, mine) = host.get("/api/v1/conversations", &bot).await;
    assert_eq!(status, 200, "{mine}");
    let ids: Vec<i64> = mine.as_array().unwrap().iter().map(|c| c["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, vec![conversation_id], "{mine}");
    let (status, body) = host.get(&format!("/api/v1/conversations/{other_id}"), &bot).await;
    assert_eq!((status, body["error"].as_str()), (404, Some("not_found")), "{body}");
    let (status, _) = host.get(&format!("/api/v1/conversations/{other_id}/messages"), &bot).await;
    assert_eq!(status, 404);
    let (status, _) = host.post(&format!("/api/v1/conversations/{other_id}/messages"), &bot, json!({"text": "Halo"})).await;
    assert_eq!(status, 404);
    let (status, _) = host.call(reqwest::Method::PATCH, &format!("/api/v1/conversations/{other_id}"), Some(&bot), Some(json!({"status": "open"}))).await;
    assert_eq!(status, 404);

    // It reads its conversation and answers through the API; Telegram receives the reply.
    let (status, shown) = host.get(&format!("/api/v1/conversations/{conversation_id}"), &bot).await;
    assert_eq!((status, shown["status"].as_str()), (200, Some("bot")), "{shown}");
    let (status, read) = host.get(&format!("/api/v1/conversations/{conversation_id}/messages"), &bot).await;
    assert_eq!(status, 200, "{read}");
    assert_eq!(read[0]["text"], "Halo, paket saya di mana?", "{read}");
    let (status, queued) = host.post(&format!("/api/v1/conversations/{conversation_id}/messages"), &bot, json!({"text": "Halo! Saya asisten otomatis Toko Budi."})).await;
    assert_eq!(status, 202, "{queued}");
    until_status(&host, conversation_id, queued["id"].as_i64().unwrap(), "sent").await;
    let sends = fake.calls("sendMessage");
    assert!(sends.iter().any(|s| s.body["text"] == "Halo! Saya asisten otomatis Toko Budi." && s.body["chat_id"].to_string().trim_matches('"') == "4242"), "{sends:?}");
    let (status, body) = host.post(&format!("/api/v1/conversations/{conversation_id}/messages"), &bot, json!({"file_id": 1})).await;
    assert_eq!(status, 403, "a bot sends no uploaded file: {body}");
    assert_eq!(host.get(&format!("/api/v1/conversations/{conversation_id}"), &host.admin).await.1["status"], "bot", "answering keeps it the bot's");

    // Nothing else: people, channels, tokens, webhooks, settings of any kind, assigning, resolving.
    for path in ["/api/v1/people", "/api/v1/channels", "/api/v1/tokens", "/api/v1/webhook-endpoints", "/api/v1/audit", "/api/v1/plugins", "/api/v1/activity"] {
        let (status, body) = host.get(path, &bot).await;
        assert_eq!((status, body["error"].as_str()), (403, Some("forbidden")), "{path}: {body}");
    }
    let (status, body) = host.get("/api/v1/people", &bot).await;
    assert!(status == 403 && body["message"].as_str().unwrap().contains("bot token"), "a clear message: {body}");
    let (status, _) = host.post("/api/v1/tokens", &bot, json!({"label": "x", "role": "admin"})).await;
    assert_eq!(status, 403);
    let (status, _) = host.call(reqwest::Method::DELETE, &format!("/api/v1/channels/{shop}"), Some(&bot), None).await;
    assert_eq!(status, 403);
    let (status, _) = host.post(&format!("/api/v1/conversations/{conversation_id}/read"), &bot, json!({})).await;
    assert_eq!(status, 403);
    let path = format!("/api/v1/conversations/{conversation_id}");
    for change in [json!({"status": "resolved"}), json!({"assignee_id": null}), json!({"note": "tanpa status"})] {
        let (status, body) = host.call(reqwest::Method::PATCH, &path, Some(&bot), Some(change.clone())).await;
        assert_eq!(status, 403, "{change}: {body}");
    }
    let (status, me) = host.get("/api/v1/me", &bot).await;
    assert_eq!((status, me["role"].as_str()), (200, Some("bot")), "{me}");

    // It hands over with a note: the conversation is open, in the queue, the note in the audit log.
    let (status, handed) = host.call(reqwest::Method::PATCH, &path, Some(&bot), Some(json!({"status": "open", "note": "pelanggan minta bicara dengan orang"}))).await;
    assert_eq!((status, handed["status"].as_str()), (200, Some("open")), "{handed}");
    assert!(handed.get("bot").is_none(), "people handle it now: {handed}");
    assert!(in_the_queue(&host, conversation_id).await, "handed over: in the agents' queue");
    let (_, audit) = host.get("/api/v1/audit", &host.admin).await;
    let entry = audit.as_array().unwrap().iter().find(|e| e["action"] == "conversation.handed_over").cloned().expect("the handover is audited");
    assert_eq!(entry["target"], format!("{conversation_id}: pelanggan minta bicara dengan orang"), "{entry}");
    assert_eq!(entry["actor"], format!("bot token {bot_id}"), "{entry}");
    let (status, again) = host.call(reqwest::Method::PATCH, &path, Some(&bot), Some(json!({"status": "open"}))).await;
    assert_eq!((status, again["status"].as_str()), (200, Some("open")), "handing over again changes nothing: {again}");

    // An agent answers the conversation handed over; Telegram receives it.
    let (status, queued) = host.post(&format!("/api/v1/conversations/{conversation_id}/messages"), &host.agent, json!({"text": "Halo, saya Rina. Paketnya sedang diantar."})).await;
    assert_eq!(status, 202, "{queued}");
    until_status(&host, conversation_id, queued["id"].as_i64().unwrap(), "sent").await;
    let sends = fake.calls("sendMessage");
    assert!(sends.iter().any(|s| s.body["text"] == "Halo, saya Rina. Paketnya sedang diantar." && s.body["chat_id"].to_string().trim_matches('"') == "4242"), "{sends:?}");

    // A second customer: the bot's again. Revoking the token hands it over at once, and an open
    // inbox hears of it at once (not at its next update), as when the bot hands one over itself.
    customer_writes(&host, &shop, &shop_secret, 12, 6262, "Apakah ada diskon?").await;
    let waiting = conversation_at(&host, &shop, 6262).await;
    let waiting_id = waiting["id"].as_i64().unwrap();
    assert_eq!(waiting["status"], "bot", "{waiting}");
    assert!(!in_the_queue(&host, waiting_id).await);
    let mut inbox = Events::open(&host, &host.agent, None).await;
    inbox.expect("ready").await;
    let (status, body) = host.call(reqwest::Method::DELETE, &format!("/api/v1/tokens/{bot_id}"), Some(&host.admin), None).await;
    assert_eq!(status, 204, "{body}");
    let heard = conversation_event(&mut inbox, waiting_id).await;
    assert_eq!(heard.data["channel_id"].as_str(), Some(shop.as_str()), "{heard:?}");
    drop(inbox);
    let now = conversation_at(&host, &shop, 6262).await;
    assert_eq!(now["status"], "open", "revoked: its conversation is the people's at once: {now}");
    assert!(in_the_queue(&host, waiting_id).await);
    let (_, audit) = host.get("/api/v1/audit", &host.admin).await;
    let said = format!("{waiting_id}: bot token {bot_id} revoked");
    assert!(audit.as_array().unwrap().iter().any(|e| e["action"] == "conversation.handed_over" && e["target"] == said.as_str()), "audited as handed over: {audit}");
    let (status, _) = host.get("/api/v1/conversations", &bot).await;
    assert_eq!(status, 401, "a revoked token is unknown");

    // The channel has no bot now: a new customer's conversation is open, and a new bot may be made.
    customer_writes(&host, &shop, &shop_secret, 13, 7373, "Halo?").await;
    assert_eq!(conversation_at(&host, &shop, 7373).await["status"], "open");
    let (status, body) = host.post("/api/v1/tokens", &host.admin, json!({"label": "Asisten baru", "role": "bot", "channels": [shop]})).await;
    assert_eq!(status, 201, "{body}");
    host.stop().await;
}
