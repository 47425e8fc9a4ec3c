//! LINE end to end: connect, read-only fields, signed webhooks in, reply-then-push out,
//! retries that never send twice, disconnect — against the fake Messaging API.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use switchboard::runtime::Limits;
use switchboard_e2e::fake_line::{AUTH_FAILED, BOT_BASIC_ID, BOT_DISPLAY_NAME, BOT_USER_ID, FakeLine, is_uuid, signature};
use switchboard_e2e::{HostOptions, PUBLIC_URL, TestHost, conversations, messages, send, until_status};

const TOKEN: &str = "tTq3nLbXk1VbW9sJ+long-lived-channel-access-token=";
const SECRET: &str = "8f2c1d0e9b7a65430123456789abcdef";
pub(crate) const SITI: &str = "U4af4980629b1c2d3e4f5a6b7c8d9e0f1";
const BUDI: &str = "U9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a";
const GROUP: &str = "Ca56f94637cc4347f90a25382909b24b9";
const REPLY: &str = "/v2/bot/message/reply";
const PUSH: &str = "/v2/bot/message/push";

pub(crate) async fn host_and_fake() -> (TestHost, FakeLine) {
    host_and_fake_with(Limits::default()).await
}

async fn host_and_fake_with(limits: Limits) -> (TestHost, FakeLine) {
    let fake = FakeLine::start(TOKEN).await;
    let host = TestHost::start(HostOptions { allow_outbound: vec![fake.authority.clone()], limits, ..Default::default() }).await;
    (host, fake)
}

async fn connect_with_secret(host: &TestHost, fake: &FakeLine, name: &str, secret: &str) -> Value {
    let settings = json!({"channel_secret": secret, "channel_access_token": TOKEN, "api_base_url": fake.base_url});
    let (status, channel) = host.post("/api/v1/channels", &host.admin, json!({"plugin": "line", "name": name, "settings": settings})).await;
    assert_eq!(status, 201, "{channel}");
    channel
}

/// Connects a LINE channel as the admin; returns its id.
pub(crate) async fn connect(host: &TestHost, fake: &FakeLine) -> String {
    let channel = connect_with_secret(host, fake, "Toko Budi LINE", SECRET).await;
    channel["id"].as_str().unwrap().to_owned()
}

pub(crate) fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64
}

pub(crate) fn user(id: &str) -> Value {
    json!({"type": "user", "userId": id})
}

/// A text message event as LINE sends it.
pub(crate) fn text_event(event_id: &str, source: Value, text: &str, reply_token: Option<&str>, timestamp: u64) -> Value {
    let mut event = json!({
        "type": "message", "mode": "active", "timestamp": timestamp, "webhookEventId": event_id,
        "deliveryContext": {"isRedelivery": false}, "source": source,
        "message": {"id": format!("47{timestamp}"), "type": "text", "text": text, "quoteToken": format!("q-{event_id}")}
    });
    if let Some(token) = reply_token {
        event["replyToken"] = token.into();
    }
    event
}

fn delivery(events: Vec<Value>) -> String {
    json!({"destination": BOT_USER_ID, "events": events}).to_string()
}

/// Posts a webhook delivery signed as LINE signs it.
async fn deliver(host: &TestHost, channel_id: &str, body: &str) -> u16 {
    let signed = signature(SECRET, body);
    host.webhook(channel_id, &[("x-line-signature", &signed)], body.to_owned()).await.0
}

async fn conversation_of(host: &TestHost, external_id: &str) -> Value {
    let list = conversations(host).await;
    list.into_iter().find(|c| c["external_id"] == external_id).unwrap_or_else(|| panic!("no conversation with {external_id}"))
}

/// A customer's message arrives; returns its conversation's id.
pub(crate) async fn customer_writes(host: &TestHost, channel_id: &str, event: Value) -> i64 {
    let external = event["source"]["groupId"].as_str().or(event["source"]["userId"].as_str()).unwrap().to_owned();
    assert_eq!(deliver(host, channel_id, &delivery(vec![event])).await, 200);
    conversation_of(host, &external).await["id"].as_i64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_names_each_missing_field_and_refuses_a_bad_token_with_lines_reason() {
    let (host, fake) = host_and_fake().await;

    let (status, body) = host.post("/api/v1/channels", &host.admin, json!({"plugin": "line", "settings": {}})).await;
    assert_eq!(status, 422, "{body}");
    for field in ["name", "channel_secret", "channel_access_token"] {
        assert_eq!(body["fields"][field], "field is required", "{field}: {body}");
    }
    assert!(body["fields"].get("api_base_url").is_none(), "the API base URL is optional: {body}");
    assert!(fake.received().is_empty(), "nothing reaches LINE before the form is complete");

    let settings = json!({"channel_secret": SECRET, "channel_access_token": "revoked-token", "api_base_url": fake.base_url});
    let (status, body) = host.post("/api/v1/channels", &host.admin, json!({"plugin": "line", "name": "Toko", "settings": settings})).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"], "connect_failed");
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("access token") && message.contains(AUTH_FAILED), "LINE's reason is shown: {body}");
    let checks = fake.calls("/v2/bot/info");
    assert_eq!(checks.len(), 1);
    assert_eq!(checks[0].authorization.as_deref(), Some("Bearer revoked-token"));
    let (_, channels) = host.get("/api/v1/channels", &host.admin).await;
    assert_eq!(channels, json!([]), "a refused connect leaves no channel");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_shows_the_bot_and_what_to_do_in_the_line_console() {
    let (host, fake) = host_and_fake().await;
    let channel = connect_with_secret(&host, &fake, "Toko Budi LINE", SECRET).await;
    let id = channel["id"].as_str().unwrap();

    assert_eq!(channel["plugin"], "line");
    assert_eq!(channel["display_name"], BOT_DISPLAY_NAME);
    assert_eq!(channel["external_account_id"], BOT_BASIC_ID);
    let webhook_url = format!("{PUBLIC_URL}/webhooks/{id}");
    assert_eq!(channel["webhook_url"], webhook_url);
    let info = fake.calls("/v2/bot/info");
    assert_eq!(info.len(), 1);
    assert_eq!(info[0].authorization.as_deref(), Some(format!("Bearer {TOKEN}").as_str()));

    let setup = channel["setup"].as_array().unwrap();
    let item = |key: &str| setup.iter().find(|i| i["key"] == key).unwrap_or_else(|| panic!("no setup item {key}: {setup:?}"));
    assert_eq!(item("webhook_url")["value"], webhook_url);
    assert!(item("webhook_url")["label"].as_str().unwrap().contains("LINE Developers Console"));
    assert!(item("use_webhook")["value"].as_str().unwrap().contains("Use webhook"));
    assert_eq!(item("basic_id")["value"], BOT_BASIC_ID);

    let settings = &channel["settings"];
    assert_eq!(settings["channel_secret"]["value"], "********");
    assert_eq!(settings["channel_secret"]["immutable"], true);
    assert_eq!(settings["channel_access_token"]["value"], "********");
    assert_eq!(settings["channel_access_token"]["immutable"], false);
    let (_, shown) = host.get(&format!("/api/v1/channels/{id}"), &host.agent).await;
    for secret in [SECRET, TOKEN] {
        assert!(!shown.to_string().contains(secret), "never shown");
        let on_disk = std::fs::read(host.data_path().join("switchboard.db")).unwrap();
        assert!(!String::from_utf8_lossy(&on_disk).contains(secret), "encrypted at rest");
    }

    let (_, plugins) = host.get("/api/v1/plugins", &host.agent).await;
    let line = plugins.as_array().unwrap().iter().find(|p| p["id"] == "line").expect("the LINE plugin is loaded");
    let window = &line["window_policy"];
    assert!(window.is_object(), "{line}");
    assert_eq!(window["free_form_seconds"], Value::Null, "LINE has no messaging window: {line}");
    assert!(line["capabilities"].as_array().unwrap().contains(&json!("fixed_name")), "{line}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn name_and_channel_secret_are_read_only_while_the_token_is_replaced_and_rechecked() {
    let (host, fake) = host_and_fake().await;
    let id = connect(&host, &fake).await;
    let path = format!("/api/v1/channels/{id}");
    let patch = |body: Value| host.call(reqwest::Method::PATCH, &path, Some(&host.admin), Some(body));

    let (status, body) = patch(json!({"name": "Another name", "settings": {"channel_secret": "0123456789abcdef0123456789abcdef"}})).await;
    assert_eq!(status, 422, "{body}");
    assert!(body["fields"]["name"].as_str().unwrap().contains("read-only"), "{body}");
    assert!(body["fields"]["channel_secret"].as_str().unwrap().contains("read-only"), "{body}");
    let (status, body) = patch(json!({"name": "Another name"})).await;
    assert_eq!((status, body["fields"].as_object().map(|f| f.len())), (422, Some(1)), "{body}");
    let (status, body) = patch(json!({"settings": {"channel_secret": "0123456789abcdef0123456789abcdef"}})).await;
    assert_eq!(status, 422, "{body}");
    assert!(body["fields"].get("name").is_none(), "each field is refused on its own: {body}");
    let (status, body) = patch(json!({"name": "Toko Budi LINE", "settings": {"channel_secret": "********"}})).await;
    assert_eq!(status, 200, "the same name and the masked secret change nothing: {body}");
    assert_eq!(fake.calls("/v2/bot/info").len(), 1, "nothing changed, nothing rechecked");

    let (status, body) = patch(json!({"settings": {"channel_access_token": "mistyped"}})).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"], "connect_failed");
    assert!(body["message"].as_str().unwrap().contains(AUTH_FAILED), "{body}");

    fake.accept_token("reissued-token");
    let (status, body) = patch(json!({"settings": {"channel_access_token": "reissued-token"}})).await;
    assert_eq!(status, 200, "{body}");
    let checks = fake.calls("/v2/bot/info");
    assert_eq!(checks.last().unwrap().authorization.as_deref(), Some("Bearer reissued-token"), "the new token is validated");

    // The replacement is what sends use from now on; the secret still verifies webhooks.
    let conversation = customer_writes(&host, &id, text_event("ev-1", user(SITI), "Halo", None, now_ms() - 120_000)).await;
    let message = send(&host, conversation, json!({"text": "Halo kak"})).await;
    until_status(&host, conversation, message, "sent").await;
    assert_eq!(fake.calls(PUSH)[0].authorization.as_deref(), Some("Bearer reissued-token"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_deliveries_signed_with_the_channel_secret_are_accepted() {
    let (host, fake) = host_and_fake().await;
    let id = connect(&host, &fake).await;
    let body = delivery(vec![text_event("ev-forged", user(SITI), "transfer ke rekening ini", None, now_ms())]);

    let forged = signature("not-the-channel-secret", &body);
    let other_body = signature(SECRET, &body.replace("rekening", "rekeninG"));
    for headers in [vec![], vec![("x-line-signature", forged.as_str())], vec![("x-line-signature", other_body.as_str())]] {
        let (status, _) = host.webhook(&id, &headers, body.clone()).await;
        assert_eq!(status, 401, "{headers:?}");
    }
    assert!(conversations(&host).await.is_empty(), "nothing from unverified requests is stored");

    // LINE's "Verify" button: a signed delivery without events.
    assert_eq!(deliver(&host, &id, &delivery(vec![])).await, 200);
    assert!(conversations(&host).await.is_empty());
    let garbage = "{\"events\": not json";
    assert_eq!(host.webhook(&id, &[("x-line-signature", &signature(SECRET, garbage))], garbage).await.0, 400);

    assert_eq!(deliver(&host, &id, &body).await, 200);
    assert_eq!(conversations(&host).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_known_answer_vector_of_providers_md_is_accepted_and_no_other_signature() {
    // providers.md: body {"destination":"U123","events":[]}, secret `channelsecret`.
    const BODY: &str = r#"{"destination":"U123","events":[]}"#;
    const SIGNATURE: &str = "7FPl1ND8IvDlA1pSrvPg+JRSaknKZ9X7TP2/HMyJfPI=";
    let (host, fake) = host_and_fake().await;
    let channel = connect_with_secret(&host, &fake, "Vector", "channelsecret").await;
    let id = channel["id"].as_str().unwrap();
    assert_eq!(signature("channelsecret", BODY), SIGNATURE, "the fake signs as LINE does");

    assert_eq!(host.webhook(id, &[("x-line-signature", SIGNATURE)], BODY).await.0, 200);
    let mut others = vec![SIGNATURE.to_lowercase(), SIGNATURE.trim_end_matches('=').to_owned(), signature("channelsecreT", BODY)];
    for position in [0, 20, 42] {
        let mut flipped = SIGNATURE.to_owned();
        let replacement = if &SIGNATURE[position..=position] == "A" { "B" } else { "A" };
        flipped.replace_range(position..=position, replacement);
        others.push(flipped);
    }
    for other in &others {
        assert_eq!(host.webhook(id, &[("x-line-signature", other)], BODY).await.0, 401, "{other}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redelivered_event_is_stored_once() {
    let (host, fake) = host_and_fake().await;
    let id = connect(&host, &fake).await;
    let event = text_event("01HC7D3ADBCXZMD5GZMVTYCPAJ", user(SITI), "Apakah pesanan saya sudah dikirim?", None, now_ms());
    assert_eq!(deliver(&host, &id, &delivery(vec![event.clone()])).await, 200);
    let mut again = event.clone();
    again["deliveryContext"]["isRedelivery"] = true.into();
    assert_eq!(deliver(&host, &id, &delivery(vec![again])).await, 200);

    let list = conversations(&host).await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["external_id"], SITI);
    assert_eq!(list[0]["contact"]["external_id"], SITI);
    assert_eq!(list[0]["window"]["state"], "unrestricted");
    let stored = messages(&host, list[0]["id"].as_i64().unwrap()).await;
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert_eq!(stored[0]["provider_message_id"], "01HC7D3ADBCXZMD5GZMVTYCPAJ");
    assert_eq!(stored[0]["text"], "Apakah pesanan saya sudah dikirim?");

    let next = text_event("01HC7D3ADBCXZMD5GZMVTYCPAK", user(SITI), "Halo?", None, now_ms());
    assert_eq!(deliver(&host, &id, &delivery(vec![next])).await, 200);
    assert_eq!(messages(&host, list[0]["id"].as_i64().unwrap()).await.len(), 2, "another event is another message");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_is_its_own_conversation_and_answers_go_to_the_group() {
    let (host, fake) = host_and_fake().await;
    let id = connect(&host, &fake).await;
    let group = json!({"type": "group", "groupId": GROUP, "userId": SITI});
    let events = vec![
        text_event("ev-private", user(SITI), "Halo admin", None, now_ms() - 120_000),
        text_event("ev-group", group, "Halo semua", None, now_ms() - 120_000),
        json!({"type": "follow", "mode": "active", "timestamp": now_ms(), "webhookEventId": "ev-follow",
               "deliveryContext": {"isRedelivery": false}, "replyToken": fake.issue_reply_token(BUDI),
               "source": user(BUDI), "follow": {"isUnblocked": false}}),
    ];
    assert_eq!(deliver(&host, &id, &delivery(events)).await, 200);

    let private = conversation_of(&host, SITI).await;
    let in_group = conversation_of(&host, GROUP).await;
    assert_ne!(private["id"], in_group["id"]);
    let group_messages = messages(&host, in_group["id"].as_i64().unwrap()).await;
    assert_eq!(group_messages[0]["text"], "Halo semua");
    assert_eq!(group_messages[0]["contact_id"], private["contact"]["id"], "Siti is one contact in both");
    let follow = messages(&host, conversation_of(&host, BUDI).await["id"].as_i64().unwrap()).await;
    assert_eq!(follow[0]["content"]["attachments"][0]["description"], "follow", "a new friend shows up in the inbox");

    let group_id = in_group["id"].as_i64().unwrap();
    let message = send(&host, group_id, json!({"text": "Pesanan dikirim hari ini"})).await;
    until_status(&host, group_id, message, "sent").await;
    let pushes = fake.calls(PUSH);
    assert_eq!(pushes[0].body["to"], GROUP);
    // A follow's reply token greets the new friend for free.
    let budi = conversation_of(&host, BUDI).await["id"].as_i64().unwrap();
    let greeting = send(&host, budi, json!({"text": "Terima kasih sudah menambahkan kami!"})).await;
    until_status(&host, budi, greeting, "sent").await;
    let delivered = fake.delivered();
    assert_eq!((delivered[1].via, delivered[1].to.as_str()), ("reply", BUDI));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_reply_token_answers_once_then_messages_are_pushed() {
    let (host, fake) = host_and_fake().await;
    let id = connect(&host, &fake).await;
    let token = fake.issue_reply_token(SITI);
    let conversation = customer_writes(&host, &id, text_event("ev-ask", user(SITI), "Ada warna merah?", Some(&token), now_ms())).await;

    let first = send(&host, conversation, json!({"text": "Ada, kak!", "reply_to": "ev-ask"})).await;
    let first = until_status(&host, conversation, first, "sent").await;
    let second = send(&host, conversation, json!({"text": "Mau ukuran apa?"})).await;
    let second = until_status(&host, conversation, second, "sent").await;

    let replies = fake.calls(REPLY);
    assert_eq!(replies.len(), 1, "the reply token is used once: {replies:?}");
    assert_eq!(replies[0].authorization.as_deref(), Some(format!("Bearer {TOKEN}").as_str()));
    assert_eq!(replies[0].header("x-line-retry-key"), None, "LINE refuses a retry key on reply");
    assert_eq!(replies[0].body["replyToken"], token);
    assert_eq!(replies[0].body["messages"], json!([{"type": "text", "text": "Ada, kak!", "quoteToken": "q-ev-ask"}]));
    let pushes = fake.calls(PUSH);
    assert_eq!(pushes.len(), 1);
    assert_eq!(pushes[0].body, json!({"to": SITI, "messages": [{"type": "text", "text": "Mau ukuran apa?"}]}));
    assert!(pushes[0].header("x-line-retry-key").is_some_and(is_uuid), "{:?}", pushes[0].headers);

    let delivered = fake.delivered();
    let seen: Vec<(&str, &str, &Value)> = delivered.iter().map(|d| (d.via, d.to.as_str(), &d.messages[0]["text"])).collect();
    assert_eq!(seen, [("reply", SITI, &json!("Ada, kak!")), ("push", SITI, &json!("Mau ukuran apa?"))]);
    assert_eq!(first["provider_message_id"], delivered[0].ids[0].as_str());
    assert_eq!(second["provider_message_id"], delivered[1].ids[0].as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_old_or_refused_reply_token_falls_back_to_push() {
    let (host, fake) = host_and_fake().await;
    let id = connect(&host, &fake).await;

    // Older than LINE honours: pushed without trying the token.
    let stale = fake.issue_reply_token(SITI);
    let siti = customer_writes(&host, &id, text_event("ev-old", user(SITI), "Halo", Some(&stale), now_ms() - 120_000)).await;
    let message = send(&host, siti, json!({"text": "Maaf baru balas"})).await;
    until_status(&host, siti, message, "sent").await;
    assert!(fake.calls(REPLY).is_empty());
    assert_eq!(fake.calls(PUSH).len(), 1);

    // Fresh by its timestamp, but LINE no longer takes it: "Invalid reply token", then push.
    let refused = fake.issue_reply_token(BUDI);
    fake.expire_reply_token(&refused);
    let budi = customer_writes(&host, &id, text_event("ev-new", user(BUDI), "Halo", Some(&refused), now_ms())).await;
    let message = send(&host, budi, json!({"text": "Halo juga"})).await;
    until_status(&host, budi, message, "sent").await;
    let replies = fake.calls(REPLY);
    assert_eq!((replies.len(), replies[0].status), (1, 400));
    let delivered = fake.delivered();
    assert_eq!(delivered.len(), 2, "each message reached its customer once");
    assert_eq!((delivered[1].via, delivered[1].to.as_str()), ("push", BUDI));
}

/// A push LINE accepted whose answer was lost: the retry reuses the key, LINE answers 409,
/// the customer has the message once and the inbox shows it sent.
async fn retried_push_is_delivered_once(fake: &FakeLine, host: &TestHost) {
    let id = connect(host, fake).await;
    let conversation = customer_writes(host, &id, text_event("ev-1", user(SITI), "Halo", None, now_ms() - 120_000)).await;
    let message = send(host, conversation, json!({"text": "Pesanan sudah dikirim"})).await;
    let sent = until_status(host, conversation, message, "sent").await;

    let pushes = fake.calls(PUSH);
    assert_eq!(pushes.len(), 2, "{pushes:?}");
    let key = pushes[0].header("x-line-retry-key").map(str::to_owned).expect("a retry key");
    assert!(is_uuid(&key), "{key}");
    assert_eq!(pushes[1].header("x-line-retry-key"), Some(key.as_str()), "the retry reuses the key");
    assert_eq!(pushes[1].status, 409);
    assert_eq!(pushes[0].body, pushes[1].body);
    let delivered = fake.delivered();
    assert_eq!(delivered.len(), 1, "delivered once: {delivered:?}");
    assert_eq!(sent["provider_message_id"], delivered[0].ids[0].as_str());
    assert_eq!(sent["error"], Value::Null);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_accepted_before_a_5xx_is_not_sent_twice() {
    let (host, fake) = host_and_fake().await;
    fake.fail_next_push_after_accepting(500);
    retried_push_is_delivered_once(&fake, &host).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_accepted_before_a_timeout_is_not_sent_twice() {
    // A call limit no other call nears on a loaded machine; the stall outlasts it by far.
    let (host, fake) = host_and_fake_with(Limits { call_timeout: Duration::from_secs(8), ..Limits::default() }).await;
    fake.stall_next_push_after_accepting(Duration::from_secs(60));
    retried_push_is_delivered_once(&fake, &host).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn images_and_videos_go_by_url_documents_as_a_link_and_refusals_keep_lines_reason() {
    let (host, fake) = host_and_fake().await;
    let id = connect(&host, &fake).await;
    let conversation = customer_writes(&host, &id, text_event("ev-1", user(SITI), "Fotonya?", None, now_ms() - 120_000)).await;

    let image = json!({"text": "Ini fotonya", "media": {"kind": "image", "url": "https://cdn.tokobudi.example/merah.jpg"}});
    let message = send(&host, conversation, image).await;
    until_status(&host, conversation, message, "sent").await;
    let video = send(&host, conversation, json!({"media": {"kind": "video", "url": "https://cdn.tokobudi.example/merah.mp4"}})).await;
    until_status(&host, conversation, video, "sent").await;
    let pushes = fake.calls(PUSH);
    assert_eq!(
        pushes[0].body["messages"],
        json!([
            {"type": "image", "originalContentUrl": "https://cdn.tokobudi.example/merah.jpg", "previewImageUrl": "https://cdn.tokobudi.example/merah.jpg"},
            {"type": "text", "text": "Ini fotonya"}
        ])
    );
    assert_eq!(pushes[1].body["messages"][0]["type"], "video");
    assert_eq!(pushes[1].body["messages"][0]["originalContentUrl"], "https://cdn.tokobudi.example/merah.mp4");

    // LINE has no file message: a document goes as its link in a text.
    let document = send(&host, conversation, json!({"media": {"kind": "document", "url": "https://cdn.tokobudi.example/a.pdf", "filename": "faktur.pdf"}})).await;
    until_status(&host, conversation, document, "sent").await;
    let pushes = fake.calls(PUSH);
    assert_eq!(pushes[2].body["messages"], json!([{"type": "text", "text": "faktur.pdf: https://cdn.tokobudi.example/a.pdf"}]));

    fake.refuse_next_send(429, "You have reached your monthly limit.");
    let over = send(&host, conversation, json!({"text": "Promo"})).await;
    let failed = until_status(&host, conversation, over, "failed").await;
    assert!(failed["error"].as_str().unwrap().contains("monthly limit"), "{failed}");
    assert_eq!(fake.delivered().len(), 3, "the image, the video and the link reached Siti");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnect_deletes_the_channel_and_its_webhook_stops() {
    let (host, fake) = host_and_fake().await;
    let id = connect(&host, &fake).await;
    customer_writes(&host, &id, text_event("ev-1", user(SITI), "Halo", None, now_ms())).await;

    let path = format!("/api/v1/channels/{id}");
    let (status, _) = host.call(reqwest::Method::DELETE, &path, Some(&host.supervisor), None).await;
    assert_eq!(status, 403, "only an admin disconnects");
    let (status, _) = host.call(reqwest::Method::DELETE, &path, Some(&host.admin), None).await;
    assert_eq!(status, 204);
    assert_eq!(host.get(&path, &host.admin).await.0, 404);
    assert!(conversations(&host).await.is_empty(), "the channel's conversations go with it");
    let late = delivery(vec![text_event("ev-2", user(SITI), "Halo?", None, now_ms())]);
    assert_eq!(deliver(&host, &id, &late).await, 404);
    assert_eq!(fake.calls(PUSH).len() + fake.calls(REPLY).len(), 0);
}

/// Interactive content (contract 0.1.4): quick replies on the reply token, buttons as a buttons
/// template (the fake checks labels, data and counts as LINE does); a postback tapped is the
/// choice, its title filled in from the message that offered it (LINE sends only the data);
/// a list, which LINE has no shape for, goes as numbered text.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quick_replies_and_buttons_go_as_postback_actions_and_a_postback_is_the_choice() {
    let (host, fake) = host_and_fake().await;
    let id = connect(&host, &fake).await;
    let token = fake.issue_reply_token(SITI);
    let conversation = customer_writes(&host, &id, text_event("ev-ask", user(SITI), "Mau kirim pakai apa?", Some(&token), now_ms())).await;

    let quick = json!({"body": "Mau dikirim pakai apa?", "quick_replies": [{"id": "ship:express", "title": "Express"}, {"id": "ship:regular", "title": "Reguler"}]});
    let offered = send(&host, conversation, json!({"interactive": quick})).await;
    until_status(&host, conversation, offered, "sent").await;
    let replies = fake.calls(REPLY);
    assert_eq!(replies.len(), 1, "the free reply token carries it");
    assert_eq!(replies[0].body["messages"][0]["quickReply"]["items"][1],
        json!({"type": "action", "action": {"type": "postback", "label": "Reguler", "data": "ship:regular", "displayText": "Reguler"}}));
    let buttons = json!({"body": "Lacak pesanan A-17", "url_buttons": [{"title": "Lacak", "url": "https://tokobudi.id/t/A-17"}]});
    let tracked = send(&host, conversation, json!({"interactive": buttons})).await;
    until_status(&host, conversation, tracked, "sent").await;
    assert_eq!(fake.calls(PUSH).last().unwrap().body["messages"][0]["template"]["actions"], json!([{"type": "uri", "label": "Lacak", "uri": "https://tokobudi.id/t/A-17"}]));
    let list = json!({"body": "Ukuran?", "list": {"button": "Ukuran", "sections": [{"rows": [{"id": "s", "title": "S"}, {"id": "m", "title": "M"}]}]}});
    let sized = send(&host, conversation, json!({"interactive": list})).await;
    until_status(&host, conversation, sized, "sent").await;
    assert_eq!(fake.calls(PUSH).last().unwrap().body["messages"], json!([{"type": "text", "text": "Ukuran?\n\n1. S\n2. M"}]));

    let postback = json!({"type": "postback", "mode": "active", "timestamp": now_ms(), "webhookEventId": "ev-pb1", "replyToken": "rt-pb1",
        "deliveryContext": {"isRedelivery": false}, "source": user(SITI), "postback": {"data": "ship:express"}});
    assert_eq!(deliver(&host, &id, &delivery(vec![postback])).await, 200);
    let stored = messages(&host, conversation).await;
    let choice = stored.iter().rev().find(|m| m["direction"] == "inbound").unwrap();
    assert_eq!(choice["text"], "Express");
    assert_eq!(choice["content"]["choice"]["id"], "ship:express");
    assert_eq!(choice["content"]["choice"]["message_id"], offered);
}
