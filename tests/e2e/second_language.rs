//! The JavaScript example plugin (`plugins-js/telegram-js`, componentize-js) built from source,
//! passing the conformance check, and end to end in a host: connect, a verified webhook into
//! the inbox, a forged one refused, an agent's reply delivered — against the same fake Bot API
//! as the Rust Telegram plugin. The two scenarios are written once here for every example
//! plugin in another language (`third_language.rs` runs them on the Python one).

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::json;
use switchboard::plugins::check::check;
use switchboard_e2e::fake_telegram::FakeTelegram;
use switchboard_e2e::js_plugin::telegram_js;
use switchboard_e2e::{HostOptions, PATIENCE, TestHost, conversations, messages};

use crate::telegram::{GOOD_TOKEN, registered_secret, text_update};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_javascript_plugin_passes_the_check_with_its_fixtures() {
    passes_the_check_with_its_fixtures(telegram_js(), "plugins-js/telegram-js/fixtures", "telegram-js 0.1.0 (contract 0.1.3)").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_javascript_plugin_takes_a_customers_message_into_the_inbox_and_delivers_the_reply() {
    takes_a_customers_message_into_the_inbox_and_delivers_the_reply(telegram_js(), "telegram-js", "Toko Budi (JS)").await;
}

/// An example Telegram plugin's `plugin check` with its own fixtures (`fixtures`, from the
/// repository's root): `title` is how the report names it.
pub(crate) async fn passes_the_check_with_its_fixtures(component: PathBuf, fixtures: &str, title: &str) {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(fixtures);
    let report = check(&component, Some(&fixtures), &[], Duration::from_secs(15)).await.unwrap_or_else(|r| panic!("{r}"));
    assert!(report.contains(title), "{report}");
    assert!(report.contains("ok    fixtures: 2 of 2 as expected"), "{report}");
}

/// An example Telegram plugin (`plugin`, from `component`) in a host against the fake Bot API:
/// connect, a forged webhook refused, a verified one in the inbox, an agent's reply sent.
pub(crate) async fn takes_a_customers_message_into_the_inbox_and_delivers_the_reply(component: PathBuf, plugin: &str, name: &str) {
    let fake = FakeTelegram::start(GOOD_TOKEN).await;
    let host = TestHost::start(HostOptions { allow_outbound: vec![fake.authority.clone()], extra_plugins: vec![component], ..Default::default() }).await;
    let (status, channel) = host
        .post("/api/v1/channels", &host.admin, json!({"plugin": plugin, "name": name, "settings": {"bot_token": GOOD_TOKEN, "api_base_url": fake.base_url}}))
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
