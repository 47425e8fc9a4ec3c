//! The Python example plugin (`plugins-py/telegram-py`, componentize-py, world `plugin-http`)
//! built from source, passing the conformance check, and end to end in a host: connect, a
//! verified webhook into the inbox, a forged one refused, an agent's reply delivered — against
//! the same fake Bot API as the Rust and JavaScript Telegram plugins.

use std::path::Path;
use std::time::Duration;

use serde_json::json;
use switchboard::plugins::check::check;
use switchboard_e2e::fake_telegram::FakeTelegram;
use switchboard_e2e::py_plugin::telegram_py;
use switchboard_e2e::{HostOptions, PATIENCE, TestHost, conversations, messages};

use crate::telegram::{GOOD_TOKEN, registered_secret, text_update};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_plugin_passes_the_check_with_its_fixtures() {
    let component = telegram_py();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins-py/telegram-py/fixtures");
    let report = check(&component, Some(&fixtures), &[], Duration::from_secs(15)).await.unwrap_or_else(|r| panic!("{r}"));
    assert!(report.contains("telegram-py 0.1.0 (contract 0.1.4)"), "{report}");
    assert!(report.contains("ok    fixtures: 2 of 2 as expected"), "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_plugin_takes_a_customers_message_into_the_inbox_and_delivers_the_reply() {
    let fake = FakeTelegram::start(GOOD_TOKEN).await;
    let host = TestHost::start(HostOptions { allow_outbound: vec![fake.authority.clone()], extra_plugins: vec![telegram_py()], ..Default::default() }).await;
    let (status, channel) = host
        .post("/api/v1/channels", &host.admin, json!({"plugin": "telegram-py", "name": "Toko Budi (Python)", "settings": {"bot_token": GOOD_TOKEN, "api_base_url": fake.base_url}}))
        .await;
    assert_eq!(status, 201, "{channel}");
    let id = channel["id"].as_str().unwrap();
    assert_eq!(fake.calls("setWebhook")[0].body["url"], channel["webhook_url"]);
    let secret = registered_secret(&fake);

    let (status, _) = host.webhook(id, &[("x-telegram-bot-api-secret-token", "guessed")], text_update(1, 4242, "forged")).await;
    assert_eq!(status, 401);
    let (status, _) = host.webhook(id, &[("x-telegram-bot-api-secret-token", &secret)], text_update(2, 4242, "Halo, pesanan saya sudah dikirim?")).await;
    assert_eq!(status, 200);
    let list = conversations(&host).await;
    assert_eq!(list.len(), 1, "only the verified delivery is stored");
    assert_eq!(list[0]["contact"]["name"], "Siti Rahma");
    let conversation = list[0]["id"].as_i64().unwrap();
    assert_eq!(messages(&host, conversation).await[0]["text"], "Halo, pesanan saya sudah dikirim?");

    let (status, queued) = host.post(&format!("/api/v1/conversations/{conversation}/messages"), &host.agent, json!({"text": "Sudah, kak."})).await;
    assert_eq!(status, 202, "{queued}");
    let sent = host
        .eventually(PATIENCE, || async {
            messages(&host, conversation).await.into_iter().find(|m| m["direction"] == "outbound" && m["status"] == "sent")
        })
        .await
        .expect("the reply is marked sent");
    let sends = fake.calls("sendMessage");
    assert_eq!(sends.len(), 1);
    assert_eq!(sends[0].body["text"], "Sudah, kak.");
    assert_eq!(sends[0].body["chat_id"].to_string().trim_matches('"'), "4242");
    assert_eq!(sent["provider_message_id"], "501");
}
