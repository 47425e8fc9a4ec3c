//! Facebook Messenger end to end against the fake Graph API: the manual connect form, the
//! verify-token challenge, signed and forged webhooks, the window bands (`RESPONSE`,
//! `MESSAGE_TAG` + `HUMAN_AGENT`, refused), receipts, a revoked token, disconnect.
//! Helpers here serve the Instagram and login tests too.

use serde_json::{Value, json};
use switchboard_e2e::fake_meta::{self, APP_SECRET, FakeMeta, FakePage, now_ms};
use switchboard_e2e::{HostOptions, PUBLIC_URL, TestHost};

pub const PAGE_ID: &str = "104729382957341";
pub const PAGE_TOKEN: &str = "EAAPtokobudiPageTokenLongLived0001";
pub const IG_ID: &str = "17841400123456789";
pub const OUTLET_ID: &str = "105000000000002";
pub const OUTLET_TOKEN: &str = "EAAPtokobudiOutletPageToken0002";
pub const WARUNG_ID: &str = "106000000000003";
pub const WARUNG_TOKEN: &str = "EAAPwarungsitiPageToken0003";
pub const WARUNG_IG_ID: &str = "17841400987654321";
pub const SITI: &str = "6512384071234567";
pub const BUDI: &str = "6512384071234568";
pub const RINA: &str = "6512384071234569";
pub const HOUR_MS: u64 = 3600 * 1000;
pub const DAY_MS: u64 = 24 * HOUR_MS;
pub const SUBSCRIBED_FIELDS: &str = "messages,messaging_postbacks,message_deliveries,message_reads";

/// The admin's Pages: Toko Budi (with Instagram @tokobudi), its outlet (no Instagram), and
/// Warung Siti (with Instagram @warungsiti).
pub fn pages() -> Vec<FakePage> {
    vec![
        FakePage::new(PAGE_ID, "Toko Budi", PAGE_TOKEN).with_instagram(IG_ID, "tokobudi"),
        FakePage::new(OUTLET_ID, "Toko Budi Outlet", OUTLET_TOKEN),
        FakePage::new(WARUNG_ID, "Warung Siti", WARUNG_TOKEN).with_instagram(WARUNG_IG_ID, "warungsiti"),
    ]
}

pub async fn host_and_fake() -> (TestHost, FakeMeta) {
    let fake = FakeMeta::start(pages()).await;
    let host = TestHost::start(HostOptions { allow_outbound: vec![fake.authority.clone()], ..Default::default() }).await;
    (host, fake)
}

/// Connects with the manual form; returns the status and the answer.
pub async fn try_connect(host: &TestHost, plugin: &str, settings: Value) -> (u16, Value) {
    host.post("/api/v1/channels", &host.admin, json!({"plugin": plugin, "name": "Toko Budi", "settings": settings})).await
}

pub fn messenger_settings(fake: &FakeMeta, page_id: &str, token: &str) -> Value {
    json!({"page_id": page_id, "page_access_token": token, "app_secret": APP_SECRET, "api_base_url": fake.base_url})
}

/// Connects Toko Budi's Page by hand; returns the channel.
pub async fn connect(host: &TestHost, fake: &FakeMeta) -> Value {
    let (status, channel) = try_connect(host, "messenger", messenger_settings(fake, PAGE_ID, PAGE_TOKEN)).await;
    assert_eq!(status, 201, "{channel}");
    channel
}

pub fn setup_value(channel: &Value, key: &str) -> String {
    let setup = channel["setup"].as_array().unwrap();
    let item = setup.iter().find(|i| i["key"] == key).unwrap_or_else(|| panic!("no setup item {key}: {setup:?}"));
    item["value"].as_str().unwrap().to_owned()
}

/// Posts a delivery signed with `secret` as Meta signs it.
pub async fn deliver_signed(host: &TestHost, channel_id: &str, secret: &str, body: &str) -> (u16, String) {
    host.webhook(channel_id, &[("x-hub-signature-256", &fake_meta::signature(secret, body))], body.to_owned()).await
}

/// Posts a delivery signed with the app secret.
pub async fn deliver(host: &TestHost, channel_id: &str, body: &str) -> u16 {
    deliver_signed(host, channel_id, APP_SECRET, body).await.0
}

/// The verify-token check Meta makes when the webhook is configured.
pub async fn challenge(host: &TestHost, channel_id: &str, verify_token: &str) -> (u16, String) {
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([("hub.mode", "subscribe"), ("hub.verify_token", verify_token), ("hub.challenge", "1158201444")])
        .finish();
    let response = host.http.get(format!("{}/webhooks/{channel_id}?{query}", host.base)).send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

pub async fn conversations(host: &TestHost) -> Vec<Value> {
    let (status, list) = host.get("/api/v1/conversations", &host.agent).await;
    assert_eq!(status, 200, "{list}");
    list.as_array().unwrap().clone()
}

pub async fn conversation_of(host: &TestHost, customer: &str) -> Value {
    let list = conversations(host).await;
    list.into_iter().find(|c| c["external_id"] == customer).unwrap_or_else(|| panic!("no conversation with {customer}"))
}

pub async fn messages(host: &TestHost, conversation_id: i64) -> Vec<Value> {
    let (status, list) = host.get(&format!("/api/v1/conversations/{conversation_id}/messages"), &host.agent).await;
    assert_eq!(status, 200, "{list}");
    list.as_array().unwrap().clone()
}

/// A customer writes to the account at `timestamp_ms`; returns the conversation's id.
pub async fn customer_writes(host: &TestHost, fake: &FakeMeta, channel_id: &str, account: &str, customer: &str, mid: &str, at: u64) -> i64 {
    let body = fake.customer_writes(account, customer, json!({"mid": mid, "text": format!("Halo dari {customer}")}), at);
    assert_eq!(deliver(host, channel_id, &body).await, 200);
    conversation_of(host, customer).await["id"].as_i64().unwrap()
}

/// An agent's reply; the answer of the send route.
pub async fn reply(host: &TestHost, conversation_id: i64, text: &str) -> (u16, Value) {
    host.post(&format!("/api/v1/conversations/{conversation_id}/messages"), &host.agent, json!({"text": text})).await
}

/// Waits until the outbound message reaches a status (the harness's, for the modules that
/// import it from here).
pub use switchboard_e2e::until_status;

pub async fn channel(host: &TestHost, id: &str) -> Value {
    let (status, channel) = host.get(&format!("/api/v1/channels/{id}"), &host.agent).await;
    assert_eq!(status, 200, "{channel}");
    channel
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_manual_form_checks_the_page_token_and_app_secret_with_facebook() {
    let (host, fake) = host_and_fake().await;

    let (status, body) = try_connect(&host, "messenger", json!({})).await;
    assert_eq!(status, 422, "{body}");
    for field in ["page_id", "page_access_token", "app_secret"] {
        assert_eq!(body["fields"][field], "field is required", "{field}: {body}");
    }
    assert!(body["fields"].get("app_id").is_none() && body["fields"].get("api_base_url").is_none(), "{body}");
    assert!(fake.received().is_empty(), "nothing reaches Facebook before the form is complete");

    let (status, body) = try_connect(&host, "messenger", messenger_settings(&fake, PAGE_ID, "EAAPnotAToken")).await;
    assert_eq!((status, body["error"].as_str()), (422, Some("connect_failed")), "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("Facebook refused the Page access token") && message.contains("code 190"), "{body}");

    let mut wrong_secret = messenger_settings(&fake, PAGE_ID, PAGE_TOKEN);
    wrong_secret["app_secret"] = "0000000000000000000000000000beef".into();
    let (status, body) = try_connect(&host, "messenger", wrong_secret).await;
    assert_eq!(status, 422, "{body}");
    assert!(body["fields"]["app_secret"].as_str().unwrap().contains("appsecret_proof"), "the app secret is checked at connect: {body}");

    let (status, body) = try_connect(&host, "messenger", messenger_settings(&fake, PAGE_ID, OUTLET_TOKEN)).await;
    assert_eq!(status, 422, "{body}");
    assert!(body["fields"]["page_id"].as_str().unwrap().contains("Toko Budi Outlet"), "another Page's token is named: {body}");
    assert_eq!(fake.subscription(PAGE_ID), None, "nothing subscribed by refused connects");
    let (_, channels) = host.get("/api/v1/channels", &host.admin).await;
    assert_eq!(channels, json!([]), "refused connects leave no channel");

    let channel = connect(&host, &fake).await;
    let id = channel["id"].as_str().unwrap();
    assert_eq!((channel["plugin"].as_str(), channel["status"].as_str()), (Some("messenger"), Some("active")));
    assert_eq!(channel["display_name"], "Toko Budi");
    assert_eq!(channel["external_account_id"], PAGE_ID);
    assert_eq!(fake.subscription(PAGE_ID).as_deref(), Some(SUBSCRIBED_FIELDS), "connect subscribes the Page to the app's webhooks");
    let subscribe = fake.calls("POST", &format!("{PAGE_ID}/subscribed_apps"));
    assert_eq!(subscribe.last().unwrap().query["access_token"], PAGE_TOKEN);

    let webhook_url = format!("{PUBLIC_URL}/webhooks/{id}");
    assert_eq!(channel["webhook_url"], webhook_url);
    assert_eq!(setup_value(&channel, "webhook_url"), webhook_url);
    let verify_token = setup_value(&channel, "verify_token");
    assert_eq!(verify_token.len(), 32, "the host's secret for the channel: {verify_token}");
    for (key, shown) in [("page_id", PAGE_ID), ("page_access_token", "********"), ("app_secret", "********")] {
        assert_eq!(channel["settings"][key]["value"], shown, "{key}");
    }
    assert_eq!(channel["settings"]["page_id"]["immutable"], true);
    let on_disk = std::fs::read(host.data_path().join("switchboard.db")).unwrap();
    for secret in [PAGE_TOKEN, APP_SECRET] {
        assert!(!channel.to_string().contains(secret) && !String::from_utf8_lossy(&on_disk).contains(secret), "{secret} stays secret");
    }

    // Meta's check when the webhook is configured in the app dashboard.
    assert_eq!(challenge(&host, id, &verify_token).await, (200, "1158201444".to_string()));
    assert_eq!(challenge(&host, id, "a-guess").await.0, 403);

    let (_, plugins) = host.get("/api/v1/plugins", &host.agent).await;
    let messenger = plugins.as_array().unwrap().iter().find(|p| p["id"] == "messenger").expect("the Messenger plugin is loaded");
    assert_eq!(messenger["window_policy"], json!({"free_form_seconds": 86400, "human_agent_seconds": 604800, "templates_outside_window": false}));
    assert!(messenger["capabilities"].as_array().unwrap().contains(&json!("oauth_connect")), "{messenger}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_deliveries_reach_the_inbox_once_and_forged_ones_store_nothing() {
    let (host, fake) = host_and_fake().await;
    let id = connect(&host, &fake).await["id"].as_str().unwrap().to_owned();
    let sent_at = now_ms() - 5 * 60 * 1000;
    let body = fake.customer_writes(PAGE_ID, SITI, json!({"mid": "m_siti1", "text": "Kak, kaos merah ukuran M ada?"}), sent_at);

    assert_eq!(host.webhook(&id, &[], body.clone()).await.0, 401, "unsigned");
    assert_eq!(deliver_signed(&host, &id, "0000000000000000000000000000beef", &body).await.0, 401, "signed with another secret");
    let tampered = body.replace("ukuran M", "ukuran XL");
    let signed_original = fake_meta::signature(APP_SECRET, &body);
    assert_eq!(host.webhook(&id, &[("x-hub-signature-256", &signed_original)], tampered).await.0, 401, "tampered body");
    assert!(conversations(&host).await.is_empty(), "nothing stored from forged deliveries");

    assert_eq!(deliver(&host, &id, &body).await, 200);
    assert_eq!(deliver(&host, &id, &body).await, 200, "Meta's redelivery is acknowledged");
    let conversation = conversation_of(&host, SITI).await;
    let conversation_id = conversation["id"].as_i64().unwrap();
    assert_eq!(conversation["window"]["state"], "open");
    let stored = messages(&host, conversation_id).await;
    assert_eq!(stored.len(), 1, "stored once: {stored:?}");
    assert_eq!(stored[0]["text"], "Kak, kaos merah ukuran M ada?");
    assert_eq!(stored[0]["provider_message_id"], "m_siti1");
    assert_eq!(stored[0]["provider_timestamp"], sent_at, "the customer's time, as Meta gives it");

    let item = |rest: Value| {
        let mut item = json!({"sender": {"id": SITI}, "recipient": {"id": PAGE_ID}, "timestamp": now_ms()});
        item.as_object_mut().unwrap().extend(rest.as_object().unwrap().clone());
        item
    };
    let body = fake_meta::delivery(
        "page",
        PAGE_ID,
        vec![
            item(json!({"message": {"mid": "m_siti2", "attachments": [
                {"type": "image", "payload": {"url": "https://scontent.xx.fbcdn.net/v/t1.15752-9/kaos.jpg"}},
                {"type": "file", "payload": {"url": "https://cdn.fbsbx.com/v/t59.2708-21/bukti-transfer.pdf"}},
                {"type": "location", "payload": {"coordinates": {"lat": -6.2088, "long": 106.8456}}}
            ]}})),
            item(json!({"postback": {"title": "Lacak pesanan", "payload": "TRACK_ORDER", "mid": "m_siti3"}})),
            item(json!({"message": {"mid": "m_siti4", "text": "Ukuran L", "quick_reply": {"payload": "SIZE_L"}}})),
            json!({"sender": {"id": PAGE_ID}, "recipient": {"id": SITI}, "timestamp": now_ms(),
                   "message": {"mid": "m_echo1", "is_echo": true, "app_id": 1517394850012345u64, "text": "Ada, kak"}}),
        ],
    );
    assert_eq!(deliver(&host, &id, &body).await, 200);
    let stored = messages(&host, conversation_id).await;
    assert_eq!(stored.len(), 4, "the echo of our own message is not a customer message: {stored:?}");
    let kinds: Vec<&str> = stored[1]["content"]["attachments"].as_array().unwrap().iter().map(|a| a["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["image", "document", "location"]);
    assert_eq!(stored[1]["content"]["attachments"][0]["url"], "https://scontent.xx.fbcdn.net/v/t1.15752-9/kaos.jpg");
    assert_eq!(stored[1]["content"]["attachments"][2]["location"]["latitude"], -6.2088);
    assert_eq!((stored[2]["text"].as_str(), stored[2]["provider_message_id"].as_str()), (Some("Lacak pesanan"), Some("m_siti3")));
    assert_eq!(stored[3]["text"], "Ukuran L");

    // An Instagram delivery that reached the Page's URL (one app, two products) is not the Page's.
    let instagram = fake_meta::delivery("instagram", IG_ID, vec![item(json!({"message": {"mid": "aWdf1", "text": "dari IG"}}))]);
    assert_eq!(deliver(&host, &id, &instagram).await, 200, "acknowledged, or Meta retries it");
    assert_eq!(messages(&host, conversation_id).await.len(), 4);
    assert_eq!(conversations(&host).await.len(), 1);

    assert_eq!(host.webhook(&id, &[("x-hub-signature-256", &fake_meta::signature(APP_SECRET, "{not json"))], "{not json").await.0, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_go_as_response_within_a_day_tagged_human_agent_within_a_week_and_not_after() {
    let (host, fake) = host_and_fake().await;
    let id = connect(&host, &fake).await["id"].as_str().unwrap().to_owned();
    let now = now_ms();
    let recent = customer_writes(&host, &fake, &id, PAGE_ID, SITI, "m_siti", now - HOUR_MS).await;
    let days_ago = customer_writes(&host, &fake, &id, PAGE_ID, BUDI, "m_budi", now - 3 * DAY_MS).await;
    let weeks_ago = customer_writes(&host, &fake, &id, PAGE_ID, RINA, "m_rina", now - 8 * DAY_MS).await;
    let window = |c: Value| c["window"]["state"].as_str().unwrap().to_owned();
    assert_eq!(window(conversation_of(&host, SITI).await), "open");
    assert_eq!(window(conversation_of(&host, BUDI).await), "human_agent");
    assert_eq!(window(conversation_of(&host, RINA).await), "closed");
    let changes_at = conversation_of(&host, BUDI).await["window"]["changes_at"].as_u64().unwrap();
    assert_eq!(changes_at, now - 3 * DAY_MS + 7 * DAY_MS, "the human-agent week ends 7 days after the customer's message");

    let (status, queued) = reply(&host, recent, "Ada, kak. Mau dikirim hari ini?").await;
    assert_eq!(status, 202, "{queued}");
    let sent = until_status(&host, recent, queued["id"].as_i64().unwrap(), "sent").await;
    let (status, queued) = reply(&host, days_ago, "Maaf baru balas, kak: pesanan sudah dikirim.").await;
    assert_eq!(status, 202, "{queued}");
    let tagged = until_status(&host, days_ago, queued["id"].as_i64().unwrap(), "sent").await;

    let (status, refused) = reply(&host, weeks_ago, "Halo kak?").await;
    assert_eq!((status, refused["error"].as_str()), (422, Some("window_closed")), "{refused}");
    assert_eq!(messages(&host, weeks_ago).await.len(), 1, "nothing queued");

    let delivered = fake.sent();
    assert_eq!(delivered.len(), 2, "{delivered:?}");
    let to_siti = delivered.iter().find(|s| s.recipient == SITI).unwrap();
    assert_eq!((to_siti.messaging_type.as_str(), to_siti.tag.as_deref()), ("RESPONSE", None));
    assert_eq!(to_siti.message, json!({"text": "Ada, kak. Mau dikirim hari ini?"}));
    assert_eq!((to_siti.token.as_str(), to_siti.account_id.as_str()), (PAGE_TOKEN, PAGE_ID));
    assert_eq!(sent["provider_message_id"].as_str(), Some(to_siti.message_id.as_str()));
    let to_budi = delivered.iter().find(|s| s.recipient == BUDI).unwrap();
    assert_eq!((to_budi.messaging_type.as_str(), to_budi.tag.as_deref()), ("MESSAGE_TAG", Some("HUMAN_AGENT")));
    assert_eq!(tagged["provider_message_id"].as_str(), Some(to_budi.message_id.as_str()));
    let send_calls = fake.calls("POST", "me/messages");
    assert!(send_calls.iter().all(|c| c.query["access_token"] == PAGE_TOKEN && c.status == 200), "{send_calls:?}");

    // Receipts: delivered, then read, by watermark.
    let receipt = |kind: &str, body: Value| {
        fake_meta::delivery("page", PAGE_ID, vec![json!({"sender": {"id": SITI}, "recipient": {"id": PAGE_ID}, "timestamp": now_ms(), kind: body})])
    };
    let watermark = now_ms() + 1000;
    assert_eq!(deliver(&host, &id, &receipt("delivery", json!({"mids": [to_siti.message_id], "watermark": watermark}))).await, 200);
    until_status(&host, recent, sent["id"].as_i64().unwrap(), "delivered").await;
    assert_eq!(deliver(&host, &id, &receipt("read", json!({"watermark": watermark}))).await, 200);
    until_status(&host, recent, sent["id"].as_i64().unwrap(), "read").await;
    let budi = messages(&host, days_ago).await;
    assert_eq!(budi.last().unwrap()["status"], "sent", "another customer's receipts change nothing here");
}

/// A connected Page whose token Facebook then revoked, found out by a reply that failed.
/// Returns the channel and the conversation.
pub async fn revoked_channel(host: &TestHost, fake: &FakeMeta) -> (String, i64) {
    let id = connect(host, fake).await["id"].as_str().unwrap().to_owned();
    let conversation = customer_writes(host, fake, &id, PAGE_ID, SITI, "m_siti", now_ms() - HOUR_MS).await;
    fake.revoke(PAGE_TOKEN);
    let (_, queued) = reply(host, conversation, "Halo kak").await;
    let failed = until_status(host, conversation, queued["id"].as_i64().unwrap(), "failed").await;
    assert!(failed["error"].as_str().unwrap().contains("code 190"), "{failed}");
    (id, conversation)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_token_marks_the_channel_for_reconnecting_until_a_working_token_is_set() {
    let (host, fake) = host_and_fake().await;
    let (id, conversation) = revoked_channel(&host, &fake).await;
    let shown = channel(&host, &id).await;
    assert_eq!(shown["status"], "needs_reconnect", "{shown}");
    assert!(shown["status_reason"].as_str().unwrap().contains("Error validating access token"), "{shown}");
    assert!(fake.sent().is_empty());

    let path = format!("/api/v1/channels/{id}");
    let (status, body) = host.call(reqwest::Method::PATCH, &path, Some(&host.admin), Some(json!({}))).await;
    assert_eq!((status, body["error"].as_str()), (422, Some("connect_failed")), "a PATCH rechecks the credentials: {body}");
    assert_eq!(channel(&host, &id).await["status"], "needs_reconnect");

    fake.rotate_token(PAGE_ID, "EAAPtokobudiPageTokenReissued0002");
    let patch = json!({"settings": {"page_access_token": "EAAPtokobudiPageTokenReissued0002"}});
    let (status, body) = host.call(reqwest::Method::PATCH, &path, Some(&host.admin), Some(patch)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!((body["status"].as_str(), &body["status_reason"]), (Some("active"), &Value::Null), "{body}");

    let (_, queued) = reply(&host, conversation, "Halo lagi, kak").await;
    until_status(&host, conversation, queued["id"].as_i64().unwrap(), "sent").await;
    assert_eq!(fake.sent()[0].token, "EAAPtokobudiPageTokenReissued0002");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnect_unsubscribes_the_page_then_deletes_the_channel() {
    let (host, fake) = host_and_fake().await;
    let id = connect(&host, &fake).await["id"].as_str().unwrap().to_owned();
    customer_writes(&host, &fake, &id, PAGE_ID, SITI, "m_siti", now_ms()).await;
    assert!(fake.subscription(PAGE_ID).is_some());

    let (status, body) = host.call(reqwest::Method::DELETE, &format!("/api/v1/channels/{id}"), Some(&host.agent), None).await;
    assert_eq!(status, 403, "only an admin disconnects: {body}");
    let (status, _) = host.call(reqwest::Method::DELETE, &format!("/api/v1/channels/{id}"), Some(&host.admin), None).await;
    assert_eq!(status, 204);
    assert_eq!(fake.subscription(PAGE_ID), None, "the Page no longer sends us its conversations");
    let unsubscribe = fake.calls("DELETE", &format!("{PAGE_ID}/subscribed_apps"));
    assert_eq!(unsubscribe.len(), 1);
    assert_eq!((unsubscribe[0].query["access_token"].as_str(), unsubscribe[0].status), (PAGE_TOKEN, 200));
    assert_eq!(host.get(&format!("/api/v1/channels/{id}"), &host.admin).await.0, 404);
    assert!(conversations(&host).await.is_empty());
    let body = fake.customer_writes(PAGE_ID, SITI, json!({"mid": "m_late", "text": "halo?"}), now_ms());
    assert_eq!(deliver(&host, &id, &body).await, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_admins_read_the_verify_token_other_roles_see_that_it_is_set() {
    let (host, fake) = host_and_fake().await;
    let connected = connect(&host, &fake).await;
    let id = connected["id"].as_str().unwrap();
    let verify_token = setup_value(&connected, "verify_token");
    assert_eq!(verify_token.len(), 32, "the admin who connected reads it: {connected}");
    for (role, token) in [("admin", &host.admin), ("operator", &host.operator)] {
        let (status, seen) = host.call(reqwest::Method::GET, &format!("/api/v1/channels/{id}"), Some(token), None).await;
        assert_eq!((status, setup_value(&seen, "verify_token")), (200, verify_token.clone()), "{role}");
    }
    for (role, token) in [("agent", &host.agent), ("supervisor", &host.supervisor)] {
        for path in [format!("/api/v1/channels/{id}"), "/api/v1/channels".to_owned()] {
            let (status, seen) = host.get(&path, token).await;
            assert_eq!(status, 200, "{role} {path}: {seen}");
            assert!(!seen.to_string().contains(&verify_token), "{role} must not read the verify token at {path}: {seen}");
            let channel = if seen.is_array() { seen[0].clone() } else { seen };
            let item = channel["setup"].as_array().unwrap().iter().find(|i| i["key"] == "verify_token").unwrap().clone();
            assert_eq!((item["value"].as_str(), item["secret"].as_bool()), (Some("********"), Some(true)), "{role}: it is set: {item}");
            assert_eq!(setup_value(&channel, "webhook_url"), connected["webhook_url"].as_str().unwrap(), "{role}: what is not secret shows");
        }
    }
}
