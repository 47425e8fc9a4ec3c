//! Instagram end to end against the fake Graph API: an Instagram professional account linked
//! to a Facebook Page, connected by hand (the Page is found from its token and subscribed),
//! signed `object: instagram` deliveries, the window bands, read receipts, disconnect.

use serde_json::{Value, json};
use switchboard_e2e::fake_meta::{self, APP_SECRET, FakeMeta, now_ms};
use switchboard_e2e::TestHost;

use crate::messenger::{
    DAY_MS, HOUR_MS, IG_ID, OUTLET_TOKEN, PAGE_ID, PAGE_TOKEN, WARUNG_IG_ID, challenge, conversation_of, conversations,
    customer_writes, deliver, host_and_fake, messages, reply, setup_value, try_connect, until_status,
};

const ANI: &str = "7301234567890123";
const DEWI: &str = "7301234567890124";
const WATI: &str = "7301234567890125";
const INSTAGRAM_FIELDS: &str = "messages,messaging_postbacks,message_reads";

fn settings(fake: &FakeMeta, account: &str, token: &str) -> Value {
    json!({"instagram_account_id": account, "page_access_token": token, "app_secret": APP_SECRET, "api_base_url": fake.base_url})
}

async fn connect(host: &TestHost, fake: &FakeMeta) -> String {
    let (status, channel) = try_connect(host, "instagram", settings(fake, IG_ID, PAGE_TOKEN)).await;
    assert_eq!(status, 201, "{channel}");
    channel["id"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_finds_the_page_of_the_instagram_account_and_subscribes_it() {
    let (host, fake) = host_and_fake().await;

    let (status, body) = try_connect(&host, "instagram", json!({"page_access_token": PAGE_TOKEN})).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["fields"]["instagram_account_id"], "field is required", "{body}");
    assert_eq!(body["fields"]["app_secret"], "field is required", "{body}");

    let (status, body) = try_connect(&host, "instagram", settings(&fake, IG_ID, OUTLET_TOKEN)).await;
    assert_eq!(status, 422, "{body}");
    let problem = body["fields"]["page_access_token"].as_str().unwrap();
    assert!(problem.contains("Toko Budi Outlet") && problem.contains("no linked Instagram professional account"), "{body}");

    let (status, body) = try_connect(&host, "instagram", settings(&fake, WARUNG_IG_ID, PAGE_TOKEN)).await;
    assert_eq!(status, 422, "{body}");
    assert!(body["fields"]["instagram_account_id"].as_str().unwrap().contains("@tokobudi"), "{body}");
    assert!(fake.subscription(PAGE_ID).is_none());

    let (status, channel) = try_connect(&host, "instagram", settings(&fake, IG_ID, PAGE_TOKEN)).await;
    assert_eq!(status, 201, "{channel}");
    assert_eq!((channel["plugin"].as_str(), channel["display_name"].as_str()), (Some("instagram"), Some("@tokobudi")));
    assert_eq!(channel["external_account_id"], IG_ID);
    assert_eq!(fake.subscription(PAGE_ID).as_deref(), Some(INSTAGRAM_FIELDS), "the linked Page is subscribed");
    assert_eq!(channel["settings"]["instagram_account_id"]["immutable"], true);
    let verify_token = setup_value(&channel, "verify_token");
    let id = channel["id"].as_str().unwrap();
    assert_eq!(challenge(&host, id, &verify_token).await, (200, "1158201444".to_string()));
    assert_eq!(challenge(&host, id, "nope").await.0, 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instagram_deliveries_are_verified_and_page_deliveries_are_not_its_own() {
    let (host, fake) = host_and_fake().await;
    let id = connect(&host, &fake).await;
    let at = now_ms() - 60_000;
    let message = json!({"mid": "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQx", "text": "Kak, ready stok?",
                         "attachments": [{"type": "image", "payload": {"url": "https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=1798"}}]});
    let body = fake.customer_writes(IG_ID, ANI, message, at);
    assert!(body.contains(r#""object":"instagram""#), "{body}");

    assert_eq!(host.webhook(&id, &[], body.clone()).await.0, 401);
    let forged = fake_meta::signature("0000000000000000000000000000beef", &body);
    assert_eq!(host.webhook(&id, &[("x-hub-signature-256", &forged)], body.clone()).await.0, 401);
    assert!(conversations(&host).await.is_empty());

    assert_eq!(deliver(&host, &id, &body).await, 200);
    assert_eq!(deliver(&host, &id, &body).await, 200);
    let conversation = conversation_of(&host, ANI).await;
    let stored = messages(&host, conversation["id"].as_i64().unwrap()).await;
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert_eq!(stored[0]["text"], "Kak, ready stok?");
    assert_eq!(stored[0]["content"]["attachments"][0]["kind"], "image");
    assert_eq!(stored[0]["provider_timestamp"], at);

    // The Page's Messenger traffic signed with the same app secret is not this channel's.
    let page = fake.customer_writes(PAGE_ID, "6512384071234567", json!({"mid": "m_1", "text": "dari Messenger"}), now_ms());
    assert_eq!(deliver(&host, &id, &page).await, 200);
    assert_eq!(conversations(&host).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instagram_replies_follow_the_window_bands_and_reads_mark_them_read() {
    let (host, fake) = host_and_fake().await;
    let id = connect(&host, &fake).await;
    let now = now_ms();
    let recent = customer_writes(&host, &fake, &id, IG_ID, ANI, "aWdfMQ", now - 2 * HOUR_MS).await;
    let days_ago = customer_writes(&host, &fake, &id, IG_ID, DEWI, "aWdfMg", now - 2 * DAY_MS).await;
    let weeks_ago = customer_writes(&host, &fake, &id, IG_ID, WATI, "aWdfMw", now - 9 * DAY_MS).await;

    let (_, queued) = reply(&host, recent, "Ready, kak!").await;
    let sent = until_status(&host, recent, queued["id"].as_i64().unwrap(), "sent").await;
    let (_, queued) = reply(&host, days_ago, "Maaf telat, kak: masih ready.").await;
    until_status(&host, days_ago, queued["id"].as_i64().unwrap(), "sent").await;
    let (status, refused) = reply(&host, weeks_ago, "Kak?").await;
    assert_eq!((status, refused["error"].as_str()), (422, Some("window_closed")), "{refused}");

    let delivered = fake.sent();
    assert_eq!(delivered.len(), 2, "{delivered:?}");
    let to_ani = delivered.iter().find(|s| s.recipient == ANI).unwrap();
    assert_eq!((to_ani.account_id.as_str(), to_ani.token.as_str()), (IG_ID, PAGE_TOKEN), "sent as @tokobudi with its Page's token");
    assert_eq!((to_ani.messaging_type.as_str(), to_ani.tag.as_deref()), ("RESPONSE", None));
    let to_dewi = delivered.iter().find(|s| s.recipient == DEWI).unwrap();
    assert_eq!((to_dewi.messaging_type.as_str(), to_dewi.tag.as_deref()), ("MESSAGE_TAG", Some("HUMAN_AGENT")));

    // Instagram's read receipt names the message.
    let read = json!({"sender": {"id": ANI}, "recipient": {"id": IG_ID}, "timestamp": now_ms(), "read": {"mid": to_ani.message_id}});
    assert_eq!(deliver(&host, &id, &fake_meta::delivery("instagram", IG_ID, vec![read])).await, 200);
    until_status(&host, recent, sent["id"].as_i64().unwrap(), "read").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnect_unsubscribes_the_linked_page() {
    let (host, fake) = host_and_fake().await;
    let id = connect(&host, &fake).await;
    let (status, _) = host.call(reqwest::Method::DELETE, &format!("/api/v1/channels/{id}"), Some(&host.admin), None).await;
    assert_eq!(status, 204);
    assert_eq!(fake.subscription(PAGE_ID), None);
    assert_eq!(fake.calls("DELETE", &format!("{PAGE_ID}/subscribed_apps")).len(), 1);
    assert_eq!(host.get(&format!("/api/v1/channels/{id}"), &host.admin).await.0, 404);
}

/// Interactive content on Instagram (contract 0.1.4), the Messenger API's shapes: quick
/// replies and a generic template drawn as Meta documents them (the fake refuses what the Send
/// API refuses), a list as text; a quick reply and a postback tapped come back as choices.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instagram_quick_replies_and_cards_go_out_and_taps_are_choices() {
    let (host, fake) = host_and_fake().await;
    let id = connect(&host, &fake).await;
    let conversation = customer_writes(&host, &fake, &id, IG_ID, ANI, "aWdfmid1", now_ms() - HOUR_MS).await;

    let quick = json!({"body": "Warna apa?", "quick_replies": [{"id": "COLOR_RED", "title": "Merah"}, {"id": "COLOR_BLUE", "title": "Biru"}]});
    let (status, asked) = host.post(&format!("/api/v1/conversations/{conversation}/messages"), &host.agent, json!({"interactive": quick})).await;
    assert_eq!(status, 202, "{asked}");
    let asked = asked["id"].as_i64().unwrap();
    until_status(&host, conversation, asked, "sent").await;
    let sent = fake.sent();
    assert_eq!(sent.last().unwrap().account_id, IG_ID, "from the Instagram account");
    assert_eq!(sent.last().unwrap().message["quick_replies"][0], json!({"content_type": "text", "title": "Merah", "payload": "COLOR_RED"}));

    let cards = json!({"body": "Koleksi baru", "cards": [{"title": "Kaos merah", "subtitle": "Katun", "buttons": [{"id": "BUY_RED", "title": "Beli"}]}]});
    let (_, offered) = host.post(&format!("/api/v1/conversations/{conversation}/messages"), &host.agent, json!({"interactive": cards})).await;
    let offered = offered["id"].as_i64().unwrap();
    until_status(&host, conversation, offered, "sent").await;
    assert_eq!(fake.sent().last().unwrap().message["attachment"]["payload"]["template_type"], "generic");

    let tapped = fake.customer_writes(IG_ID, ANI, json!({"mid": "aWdfmid2", "text": "Biru", "quick_reply": {"payload": "COLOR_BLUE"}}), now_ms());
    assert_eq!(deliver(&host, &id, &tapped).await, 200);
    let postback = json!({"sender": {"id": ANI}, "recipient": {"id": IG_ID}, "timestamp": now_ms(), "postback": {"mid": "aWdfmid3", "title": "Beli", "payload": "BUY_RED"}});
    assert_eq!(deliver(&host, &id, &fake_meta::delivery("instagram", IG_ID, vec![postback])).await, 200);
    let choices: Vec<Value> = messages(&host, conversation).await.iter().filter_map(|m| m["content"].get("choice").cloned()).collect();
    assert_eq!(choices.len(), 2, "{choices:?}");
    assert_eq!((&choices[0]["id"], &choices[0]["message_id"]), (&json!("COLOR_BLUE"), &json!(asked)));
    assert_eq!((&choices[1]["id"], &choices[1]["title"], &choices[1]["message_id"]), (&json!("BUY_RED"), &json!("Beli"), &json!(offered)));
}
