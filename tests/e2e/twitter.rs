//! Twitter/X direct messages end to end, against a fake X API that refuses any request whose
//! OAuth 1.0a signature it cannot recompute: both ways to connect ("Integrate with developer
//! Apps" and the 3-legged "Login in Twitter"), CRC, signed and forged webhooks, mentions and
//! echoes ignored, DMs out, rate limits, disconnect.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use switchboard_e2e::fake_twitter::{
    ACCESS_TOKEN, ACCESS_TOKEN_SECRET, ACCOUNT_ID, CONSUMER_KEY, CONSUMER_SECRET, ENVIRONMENT, FakeTwitter, SCREEN_NAME,
};
use switchboard_e2e::{HostOptions, PATIENCE, PUBLIC_URL, TestHost};

use switchboard_e2e::{conversations, messages, send, until_status};

pub const SITI: &str = "2244994945";

pub async fn host_and_fake() -> (TestHost, FakeTwitter) {
    let fake = FakeTwitter::start().await;
    let host = TestHost::start(HostOptions { allow_outbound: vec![fake.authority.clone()], ..Default::default() }).await;
    (host, fake)
}

fn app_settings(fake: &FakeTwitter) -> Value {
    json!({"consumer_key": CONSUMER_KEY, "consumer_secret": CONSUMER_SECRET, "environment": ENVIRONMENT, "api_base_url": fake.base_url})
}

fn developer_settings(fake: &FakeTwitter) -> Value {
    let mut settings = app_settings(fake);
    settings["access_token"] = ACCESS_TOKEN.into();
    settings["access_token_secret"] = ACCESS_TOKEN_SECRET.into();
    settings
}

async fn try_connect(host: &TestHost, settings: Value) -> (u16, Value) {
    host.post("/api/v1/channels", &host.admin, json!({"plugin": "twitter", "name": "Toko Budi on X", "settings": settings})).await
}

pub async fn connect(host: &TestHost, fake: &FakeTwitter) -> String {
    let (status, channel) = try_connect(host, developer_settings(fake)).await;
    assert_eq!(status, 201, "{channel}");
    channel["id"].as_str().unwrap().to_owned()
}

pub fn dm(id: &str, sender: &str, text: &str) -> Value {
    let recipient = if sender == ACCOUNT_ID { SITI } else { ACCOUNT_ID };
    json!({"type": "message_create", "id": id, "created_timestamp": "1763600000123",
           "message_create": {"target": {"recipient_id": recipient}, "sender_id": sender, "message_data": {"text": text, "entities": {}}}})
}

pub(crate) fn delivery(events: Vec<Value>) -> String {
    json!({
        "for_user_id": ACCOUNT_ID,
        "direct_message_events": events,
        "users": {
            SITI: {"id": SITI, "created_timestamp": "1422556069340", "name": "Siti Rahma", "screen_name": "sitirahma", "protected": false, "verified": false, "followers_count": 10, "friends_count": 20, "statuses_count": 30},
            ACCOUNT_ID: {"id": ACCOUNT_ID, "created_timestamp": "1422556069340", "name": "Toko Budi", "screen_name": SCREEN_NAME}
        }
    })
    .to_string()
}

pub(crate) async fn deliver(host: &TestHost, channel_id: &str, body: &str) -> u16 {
    let signature = FakeTwitter::webhook_signature(body);
    host.webhook(channel_id, &[("x-twitter-webhooks-signature", &signature)], body.to_owned()).await.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twitter_developer_app_form_names_bad_fields_and_a_wrong_secret_is_refused_by_x() {
    let (host, fake) = host_and_fake().await;
    let (status, body) = try_connect(&host, json!({})).await;
    assert_eq!(status, 422, "{body}");
    for key in ["consumer_key", "consumer_secret", "access_token", "access_token_secret", "environment"] {
        assert_eq!(body["fields"][key], "field is required", "{body}");
    }

    let mut spaced = developer_settings(&fake);
    spaced["consumer_key"] = "xvz1evFS4wEE PTGEFPHBog".into();
    let (status, body) = try_connect(&host, spaced).await;
    assert_eq!(status, 422, "{body}");
    assert!(body["fields"]["consumer_key"].as_str().unwrap().contains("spaces"), "{body}");
    assert!(fake.received().is_empty() && fake.refused() == 0, "nothing reaches X before the form is right");

    // A wrong consumer secret signs wrongly: X refuses the signature.
    let mut wrong = developer_settings(&fake);
    wrong["consumer_secret"] = "not-the-secret".into();
    let (status, body) = try_connect(&host, wrong).await;
    assert_eq!((status, body["error"].as_str()), (422, Some("connect_failed")), "{body}");
    assert!(body["message"].as_str().unwrap().contains("Could not authenticate you"), "{body}");
    assert_eq!(fake.refused(), 1);
    assert!(fake.webhooks().is_empty());
    let (_, channels) = host.get("/api/v1/channels", &host.admin).await;
    assert_eq!(channels, json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twitter_developer_app_connect_verifies_registers_and_subscribes_the_webhook() {
    let (host, fake) = host_and_fake().await;
    let id = connect(&host, &fake).await;
    let (_, channel) = host.get(&format!("/api/v1/channels/{id}"), &host.admin).await;
    assert_eq!(channel["display_name"], format!("@{SCREEN_NAME}"));
    assert_eq!(channel["external_account_id"], ACCOUNT_ID);
    assert_eq!(channel["settings"]["consumer_secret"]["value"], "********");
    assert_eq!(channel["settings"]["access_token_secret"]["value"], "********");
    let webhook_url = format!("{PUBLIC_URL}/webhooks/{id}");
    let webhooks = fake.webhooks();
    assert_eq!(webhooks.len(), 1);
    assert_eq!((webhooks[0].1.as_str(), webhooks[0].2.as_str()), (ENVIRONMENT, webhook_url.as_str()));
    assert!(fake.subscribed());
    assert_eq!(fake.calls("GET", "/1.1/account/verify_credentials.json")[0].details["oauth_token"], ACCESS_TOKEN);
    assert_eq!(fake.refused(), 0, "every request was signed right");
    assert!(!channel.to_string().contains(ACCESS_TOKEN_SECRET));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twitter_crc_signed_dms_stored_once_forged_mentions_and_echoes_not() {
    let (host, fake) = host_and_fake().await;
    let id = connect(&host, &fake).await;

    let crc = host.http.get(format!("{}/webhooks/{id}?crc_token=abc", host.base)).send().await.unwrap();
    assert_eq!(crc.status(), 200);
    let answer: Value = crc.json().await.unwrap();
    let expected = FakeTwitter::webhook_signature("abc");
    assert_eq!(answer["response_token"], expected.as_str());

    let body = delivery(vec![dm("1900000000000000001", SITI, "Halo, ada stok &amp; ukuran &lt;XL&gt;?")]);
    let (status, _) = host.webhook(&id, &[("x-twitter-webhooks-signature", "sha256=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")], body.clone()).await;
    assert_eq!(status, 401);
    let (status, _) = host.webhook(&id, &[], body.clone()).await;
    assert_eq!(status, 401);
    assert!(conversations(&host).await.is_empty(), "nothing from forged deliveries is stored");

    for _ in 0..2 {
        assert_eq!(deliver(&host, &id, &body).await, 200);
    }
    let mention = json!({"for_user_id": ACCOUNT_ID, "tweet_create_events": [{"id_str": "1", "text": "@tokobudi halo", "user": {"id_str": SITI}}]}).to_string();
    assert_eq!(deliver(&host, &id, &mention).await, 200);
    assert_eq!(deliver(&host, &id, &delivery(vec![dm("1900000000000000002", ACCOUNT_ID, "our own reply")])).await, 200);

    let list = conversations(&host).await;
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["external_id"], SITI);
    assert_eq!(list[0]["contact"]["name"], "Siti Rahma");
    assert_eq!(list[0]["contact"]["handle"], "sitirahma");
    let stored = messages(&host, list[0]["id"].as_i64().unwrap()).await;
    assert_eq!(stored.len(), 1, "redelivered once, mention and echo ignored: {stored:?}");
    assert_eq!(stored[0]["text"], "Halo, ada stok & ukuran <XL>?");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twitter_replies_are_signed_dms_and_a_rate_limit_waits_for_the_reset() {
    let (host, fake) = host_and_fake().await;
    let id = connect(&host, &fake).await;
    deliver(&host, &id, &delivery(vec![dm("1900000000000000010", SITI, "Halo")])).await;
    let conversation_id = conversations(&host).await[0]["id"].as_i64().unwrap();
    let path = format!("/api/v1/conversations/{conversation_id}/messages");

    let (status, queued) = host.post(&path, &host.agent, json!({"text": "Ada kak, ukuran XL & L."})).await;
    assert_eq!(status, 202, "{queued}");
    let sent = host
        .eventually(PATIENCE, || async {
            messages(&host, conversation_id).await.into_iter().find(|m| m["direction"] == "outbound" && m["status"] == "sent")
        })
        .await
        .expect("the reply is sent");
    let sends = fake.calls("POST", "/1.1/direct_messages/events/new.json");
    assert_eq!(sends.len(), 1);
    assert_eq!(sends[0].body["event"]["message_create"]["target"]["recipient_id"], SITI);
    assert_eq!(sends[0].body["event"]["message_create"]["message_data"]["text"], "Ada kak, ukuran XL & L.");
    assert_eq!(sends[0].details["oauth_token"], ACCESS_TOKEN);
    assert!(sent["provider_message_id"].as_str().is_some_and(|id| !id.is_empty()), "{sent}");

    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    fake.fail_next_send(429, 88, "Rate limit exceeded", Some(now + 2));
    let after_limit = send(&host, conversation_id, json!({"text": "after the limit"})).await;
    until_status(&host, conversation_id, after_limit, "sent").await;
    let sends = fake.calls("POST", "/1.1/direct_messages/events/new.json");
    assert_eq!(sends.len(), 3);
    // Timed by when the retry reached X, not by when the test looked.
    let reset = UNIX_EPOCH + Duration::from_secs(now + 2);
    let retried = sends[2].arrived.unwrap();
    assert!(retried >= reset, "waited for x-rate-limit-reset: retried {:?} before it", reset.duration_since(retried).unwrap_or_default());

    fake.fail_next_send(403, 349, "You cannot send messages to this user.", None);
    let blocked = send(&host, conversation_id, json!({"text": "blocked"})).await;
    let failed = until_status(&host, conversation_id, blocked, "failed").await;
    assert!(failed["error"].as_str().unwrap().contains("You cannot send messages to this user"), "{failed}");
    assert_eq!(fake.refused(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twitter_disconnect_deletes_the_subscription_and_the_webhook() {
    let (host, fake) = host_and_fake().await;
    let id = connect(&host, &fake).await;
    let (status, _) = host.call(reqwest::Method::DELETE, &format!("/api/v1/channels/{id}"), Some(&host.admin), None).await;
    assert_eq!(status, 204);
    assert!(!fake.subscribed());
    assert!(fake.webhooks().is_empty());
    assert_eq!(fake.calls("DELETE", &format!("/1.1/account_activity/all/{ENVIRONMENT}/subscriptions.json")).len(), 1);
    let (status, _) = host.get(&format!("/api/v1/channels/{id}"), &host.admin).await;
    assert_eq!(status, 404);
    assert_eq!(fake.refused(), 0);
}

/// The admin's browser, which does not follow redirects by itself here so each hop is seen.
fn browser() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// Opens X's authorize page (the user approves or cancels) and follows it back to the host.
async fn authorize_and_land(host: &TestHost, authorize_url: &str) -> (String, u16, String) {
    let page = browser().get(authorize_url).header("accept", "text/html").send().await.unwrap();
    assert_eq!(page.status(), 302);
    let callback = page.headers()["location"].to_str().unwrap().to_owned();
    assert!(callback.starts_with(&format!("{PUBLIC_URL}/oauth/callback?state=")), "{callback}");
    let local = callback.replacen(PUBLIC_URL, &host.base, 1);
    // The admin's browser, signed in to Switchboard (only such a browser finishes a login).
    let admin = crate::oauth::admins_browser(host).await;
    let landed = browser().get(local).header("accept", "text/html").header("cookie", admin.cookie()).send().await.unwrap();
    let status = landed.status().as_u16();
    (callback, status, landed.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twitter_login_in_twitter_connects_with_the_token_of_the_3_legged_flow() {
    let (host, fake) = host_and_fake().await;
    let (status, body) = host.post("/api/v1/oauth/twitter/start", &host.admin, json!({"settings": {"environment": ENVIRONMENT}})).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["fields"]["consumer_key"], "field is required", "{body}");

    let (status, started) = host.post("/api/v1/oauth/twitter/start", &host.admin, json!({"settings": app_settings(&fake)})).await;
    assert_eq!(status, 201, "{started}");
    let state = started["state"].as_str().unwrap();
    let authorize_url = started["authorize_url"].as_str().unwrap();
    assert!(authorize_url.starts_with(&format!("{}/oauth/authorize?oauth_token=", fake.base_url)), "{authorize_url}");
    let request_token = &fake.calls("POST", "/oauth/request_token")[0];
    assert_eq!(request_token.details["oauth_callback"], format!("{PUBLIC_URL}/oauth/callback?state={state}"));
    assert!(!request_token.details.contains_key("oauth_token"), "no token before the login");

    let (callback, status, page) = authorize_and_land(&host, authorize_url).await;
    assert_eq!(status, 200, "{page}");
    assert!(callback.contains("oauth_verifier="), "{callback}");
    let access = &fake.calls("POST", "/oauth/access_token")[0];
    assert!(access.details["oauth_token"].starts_with("req-") && access.details.contains_key("oauth_verifier"), "{access:?}");

    let (_, flow) = host.get(&format!("/api/v1/oauth/flows/{state}"), &host.admin).await;
    assert_eq!(flow["status"], "ready", "{flow}");
    assert_eq!(flow["accounts"], json!([{"id": ACCOUNT_ID, "name": format!("@{SCREEN_NAME}")}]));
    let (status, channel) = host.post(&format!("/api/v1/oauth/flows/{state}/connect"), &host.admin, json!({"account_id": ACCOUNT_ID})).await;
    assert_eq!(status, 201, "{channel}");
    assert_eq!((channel["plugin"].as_str(), channel["name"].as_str()), (Some("twitter"), Some("@tokobudi")));
    assert_eq!(channel["settings"]["access_token"]["value"], "********");
    let verify = fake.calls("GET", "/1.1/account/verify_credentials.json");
    assert!(verify[0].details["oauth_token"].contains("-login"), "connected with the login's own token: {verify:?}");
    assert_eq!(fake.webhooks().len(), 1);
    assert!(fake.subscribed());

    // The channel works: a DM in, a reply out, signed with the login's token.
    let id = channel["id"].as_str().unwrap();
    deliver(&host, id, &delivery(vec![dm("1900000000000000020", SITI, "Halo")])).await;
    let conversation_id = conversations(&host).await[0]["id"].as_i64().unwrap();
    host.post(&format!("/api/v1/conversations/{conversation_id}/messages"), &host.agent, json!({"text": "Halo kak"})).await;
    host.eventually(PATIENCE, || async {
        messages(&host, conversation_id).await.into_iter().find(|m| m["direction"] == "outbound" && m["status"] == "sent")
    })
    .await
    .expect("the reply is sent");
    assert_eq!(fake.refused(), 0, "every request was signed right");

    // A cancelled login fails the flow.
    fake.deny_next_login();
    let (_, started) = host.post("/api/v1/oauth/twitter/start", &host.admin, json!({"settings": app_settings(&fake)})).await;
    let (_, status, page) = authorize_and_land(&host, started["authorize_url"].as_str().unwrap()).await;
    assert_eq!(status, 422, "{page}");
    assert!(page.contains("cancelled"), "{page}");
}

/// Interactive content (contract 0.1.4): quick-reply options with the ids as `metadata` (the
/// fake checks X's rules); the option picked comes back with its metadata and is the choice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twitter_quick_reply_options_go_out_and_the_option_picked_is_the_choice() {
    let (host, fake) = host_and_fake().await;
    let id = connect(&host, &fake).await;
    deliver(&host, &id, &delivery(vec![dm("1900000000000000020", SITI, "Halo")])).await;
    let conversation_id = conversations(&host).await[0]["id"].as_i64().unwrap();
    let path = format!("/api/v1/conversations/{conversation_id}/messages");
    let options = json!({"body": "Ukuran apa?", "quick_replies": [{"id": "size:m", "title": "M"}, {"id": "size:l", "title": "L", "description": "Lebar 52 cm"}]});
    let (status, queued) = host.post(&path, &host.agent, json!({"interactive": options})).await;
    assert_eq!(status, 202, "{queued}");
    let offered = queued["id"].as_i64().unwrap();
    host.eventually(PATIENCE, || async { messages(&host, conversation_id).await.into_iter().find(|m| m["id"] == offered && m["status"] == "sent") })
        .await
        .expect("sent");
    let sends = fake.calls("POST", "/1.1/direct_messages/events/new.json");
    assert_eq!(
        sends[0].body["event"]["message_create"]["message_data"],
        json!({"text": "Ukuran apa?", "quick_reply": {"type": "options", "options": [
            {"label": "M", "description": "", "metadata": "size:m"}, {"label": "L", "description": "Lebar 52 cm", "metadata": "size:l"}]}})
    );
    let mut picked = dm("1900000000000000021", SITI, "L");
    picked["message_create"]["message_data"]["quick_reply_response"] = json!({"type": "options", "metadata": "size:l"});
    assert_eq!(deliver(&host, &id, &delivery(vec![picked])).await, 200);
    let stored = messages(&host, conversation_id).await;
    let choice = &stored.last().unwrap()["content"]["choice"];
    assert_eq!((&choice["id"], &choice["title"], &choice["message_id"]), (&json!("size:l"), &json!("L"), &json!(offered)));
}
