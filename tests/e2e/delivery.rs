//! The concurrent outbox against the fake Telegram: many conversations' replies go out at
//! once but each conversation's in the order accepted; a provider that hangs holds only its
//! own channel; a 429 whose wait is only in `Retry-After` is honoured, and the reason shows on
//! the message while it waits.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use switchboard::runtime::Limits;
use switchboard_e2e::fake_telegram::FakeTelegram;
use switchboard_e2e::{HostOptions, PATIENCE, TestHost, conversations, messages};

use crate::telegram::{GOOD_TOKEN, registered_secret, text_update};

async fn telegram_channel(host: &TestHost, fake: &FakeTelegram, name: &str) -> String {
    let settings = json!({"bot_token": GOOD_TOKEN, "api_base_url": fake.base_url});
    let (status, channel) = host.post("/api/v1/channels", &host.admin, json!({"plugin": "telegram", "name": name, "settings": settings})).await;
    assert_eq!(status, 201, "{channel}");
    channel["id"].as_str().unwrap().to_owned()
}

/// Customers in `chats` write to the channel; returns their conversations' ids, by chat.
async fn customers_write(host: &TestHost, fake: &FakeTelegram, channel: &str, chats: std::ops::Range<i64>) -> Vec<(i64, i64)> {
    let secret = registered_secret(fake);
    for chat in chats.clone() {
        let (status, _) = host.webhook(channel, &[("x-telegram-bot-api-secret-token", &secret)], text_update(chat, chat, "Halo")).await;
        assert_eq!(status, 200);
    }
    let (_, list) = host.get(&format!("/api/v1/conversations?channel={channel}&limit=500"), &host.agent).await;
    let list = list.as_array().unwrap();
    chats.map(|chat| (chat, list.iter().find(|c| c["external_id"] == chat.to_string()).expect("a conversation per chat")["id"].as_i64().unwrap())).collect()
}

async fn reply(host: &TestHost, conversation: i64, text: &str) -> i64 {
    let (status, body) = host.post(&format!("/api/v1/conversations/{conversation}/messages"), &host.agent, json!({ "text": text })).await;
    assert_eq!(status, 202, "{body}");
    body["id"].as_i64().unwrap()
}

/// The texts the fake answered, per chat, in the order it answered them.
fn sent_texts(fake: &FakeTelegram, chat: i64) -> Vec<String> {
    fake.calls("sendMessage")
        .into_iter()
        .filter(|c| c.body["chat_id"].to_string().trim_matches('"') == chat.to_string())
        .map(|c| c.body["text"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_of_many_conversations_go_out_at_once_and_each_conversation_in_order() {
    let fake = FakeTelegram::start(GOOD_TOKEN).await;
    // Sends wait at the fake below for as long as the replies take to queue: no call limit nears.
    let limits = Limits { call_timeout: PATIENCE, ..Default::default() };
    let host = TestHost::start(HostOptions { allow_outbound: vec![fake.authority.clone()], limits, ..Default::default() }).await;
    let channel = telegram_channel(&host, &fake, "Toko Budi").await;
    let chats = customers_write(&host, &fake, &channel, 9001..9021).await;
    // The provider answers each send after 5 to 60 ms, at random: a later send of a chat could
    // overtake an earlier one if the host sent them side by side.
    fake.answer_sends_after(5, 60);
    // Nothing is answered until every reply is queued (queueing is a commit each, slower than a
    // send on a loaded machine): the host then has them all to send at once.
    fake.hold_sends_after(0);
    for round in 1..=5 {
        for (_, conversation) in &chats {
            reply(&host, *conversation, &format!("balasan {round}")).await;
        }
    }
    // Side by side: every conversation's first reply is in flight at the same moment (one at a
    // time, a second send would never reach the fake while the first waits).
    host.eventually(PATIENCE, || async { (fake.sends_waiting() >= chats.len()).then_some(()) })
        .await
        .unwrap_or_else(|| panic!("{} of {} conversations had a send in flight at once", fake.sends_waiting(), chats.len()));
    let released = Instant::now();
    fake.release_sends();
    let total = chats.len() * 5;
    host.eventually(PATIENCE, || async { (fake.calls("sendMessage").len() >= total).then_some(()) })
        .await
        .unwrap_or_else(|| panic!("{} of {total} sent", fake.calls("sendMessage").len()));
    println!("{total} replies of {} conversations sent {:?} after the provider answered again", chats.len(), released.elapsed());
    assert_eq!(fake.overlapping_sends(), Vec::<String>::new(), "a conversation's next reply waited for the one before");
    for (chat, _) in &chats {
        let expected: Vec<String> = (1..=5).map(|round| format!("balasan {round}")).collect();
        assert_eq!(sent_texts(&fake, *chat), expected, "chat {chat} in the order accepted");
    }
    assert!(fake.most_sends_at_once() > 1, "sends ran concurrently");
}

/// The plugin call limit of the hanging-provider test: what another channel would wait for if
/// the stuck sends held it up.
const STUCK_CALL_LIMIT: Duration = Duration::from_secs(120);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_that_hangs_holds_up_only_its_own_channel() {
    let hanging = FakeTelegram::start(GOOD_TOKEN).await;
    let quick = FakeTelegram::start(GOOD_TOKEN).await;
    let options = HostOptions {
        allow_outbound: vec![hanging.authority.clone(), quick.authority.clone()],
        limits: Limits { call_timeout: STUCK_CALL_LIMIT, ..Default::default() },
        ..Default::default()
    };
    let host = TestHost::start(options).await;
    let stuck = telegram_channel(&host, &hanging, "Stuck bot").await;
    let fine = telegram_channel(&host, &quick, "Fine bot").await;
    let stuck_chats = customers_write(&host, &hanging, &stuck, 100..140).await;
    let fine_chats = customers_write(&host, &quick, &fine, 200..205).await;
    // The hanging provider answers no send for the rest of the test.
    hanging.hold_sends_after(0);
    // Forty replies wait on the hanging provider ...
    for (_, conversation) in &stuck_chats {
        reply(&host, *conversation, "maaf menunggu").await;
    }
    host.eventually(PATIENCE, || async { (hanging.sends_waiting() >= stuck_chats.len()).then_some(()) })
        .await
        .unwrap_or_else(|| panic!("{} of {} stuck sends reached the hanging provider", hanging.sends_waiting(), stuck_chats.len()));
    // ... and the other channel's replies go out all the same.
    let queued = Instant::now();
    for (_, conversation) in &fine_chats {
        reply(&host, *conversation, "sudah dikirim").await;
    }
    host.eventually(PATIENCE, || async { (quick.calls("sendMessage").len() >= fine_chats.len()).then_some(()) })
        .await
        .expect("the other channel's replies were sent");
    let delay = queued.elapsed();
    println!("other channel's 5 replies sent {delay:?} after queueing, beside a hanging provider");
    // Held up, they would have waited for a stuck call's limit to free a slot.
    assert!(delay < STUCK_CALL_LIMIT / 2, "the hanging provider delayed another channel by {delay:?}");
    let (_, list) = host.get(&format!("/api/v1/conversations/{}/messages", stuck_chats[0].1), &host.agent).await;
    let waiting = list.as_array().unwrap().iter().find(|m| m["direction"] == "outbound").unwrap();
    assert_eq!(waiting["status"], "queued", "{waiting}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_with_only_retry_after_is_waited_out_and_the_reason_shows_meanwhile() {
    let fake = FakeTelegram::start(GOOD_TOKEN).await;
    let host = TestHost::start(HostOptions { allow_outbound: vec![fake.authority.clone()], ..Default::default() }).await;
    let channel = telegram_channel(&host, &fake, "Toko Budi").await;
    let chats = customers_write(&host, &fake, &channel, 4242..4243).await;
    let conversation = chats[0].1;
    fake.rate_limit_next_send_by_header(3);
    // The retry waits at the fake until the test has seen the reason: however slow the test
    // looks, the message is still waiting when it does.
    fake.hold_sends_after(1);
    let message = reply(&host, conversation, "Pesanan sudah dikirim").await;
    host.eventually(PATIENCE, || async { (!fake.calls("sendMessage").is_empty()).then_some(()) }).await.expect("a first attempt");
    // While it waits: still queued, with the provider's refusal as the reason.
    let shown: Value = host
        .eventually(PATIENCE, || async {
            messages(&host, conversation).await.into_iter().find(|m| m["id"] == message && m["error"].is_string())
        })
        .await
        .expect("the reason shows");
    assert_eq!(shown["status"], "queued", "{shown}");
    assert!(shown["error"].as_str().unwrap().contains("rate"), "{shown}");
    fake.release_sends();
    host.eventually(PATIENCE, || async { (fake.calls("sendMessage").len() >= 2).then_some(()) }).await.expect("tried again");
    // Timed by when the attempts reached the provider, not by when the test looked.
    let attempts = fake.calls("sendMessage");
    let waited = attempts[1].arrived.unwrap().duration_since(attempts[0].arrived.unwrap()).unwrap_or_default();
    assert!(waited >= Duration::from_millis(2500), "Retry-After: 3 was honoured: tried again after {waited:?}");
    let sent = switchboard_e2e::until_status(&host, conversation, message, "sent").await;
    assert!(sent["error"].is_null(), "the reason goes once it is sent: {sent}");
    assert_eq!(conversations(&host).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_are_acknowledged_only_once_their_group_commit_is_on_disk() {
    let fake = FakeTelegram::start(GOOD_TOKEN).await;
    let host = TestHost::start(HostOptions { allow_outbound: vec![fake.authority.clone()], ..Default::default() }).await;
    let channel = telegram_channel(&host, &fake, "Toko Budi").await;
    let secret = registered_secret(&fake);
    let post = |update: i64| {
        let (host, channel, secret) = (&host, channel.clone(), secret.clone());
        async move { host.webhook(&channel, &[("x-telegram-bot-api-secret-token", &secret)], text_update(update, 5000 + update, &format!("pesan {update}"))).await.0 }
    };
    // The next commit fails (as on a full disk): every webhook of that batch must not get a 200.
    host.faults.fail_next_commits(1);
    let answers = futures_util::future::join_all((1..=12).map(post)).await;
    let acknowledged: Vec<i64> = (1..=12).zip(&answers).filter(|(_, status)| **status == 200).map(|(u, _)| u).collect();
    assert!(answers.iter().all(|s| *s == 200 || *s == 503), "{answers:?}");
    assert!(answers.contains(&503), "the failed batch was refused: {answers:?}");
    let stored = || async {
        let mut texts: Vec<String> = Vec::new();
        for conversation in conversations(&host).await {
            for message in messages(&host, conversation["id"].as_i64().unwrap()).await {
                texts.push(message["text"].as_str().unwrap().to_owned());
            }
        }
        texts.sort();
        texts
    };
    let mut expected: Vec<String> = acknowledged.iter().map(|u| format!("pesan {u}")).collect();
    expected.sort();
    assert_eq!(stored().await, expected, "exactly the acknowledged webhooks are stored");
    // Telegram sends the refused ones again: now they are stored, once.
    let again = futures_util::future::join_all((1..=12).map(post)).await;
    assert!(again.iter().all(|s| *s == 200), "{again:?}");
    assert_eq!(stored().await.len(), 12);
}
