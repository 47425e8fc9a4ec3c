//! Event webhooks, as a CRM or bot behind a real HTTP receiver on loopback sees them: every
//! event, signed so that the Standard Webhooks reference library (Python `standardwebhooks`, not
//! our code) verifies it, each conversation's events in order although the receiver answers
//! 500 and slowly at random, all of them after an outage, again on request, signed with both
//! secrets during a rotation; a receiver failing past the retry horizon disables its endpoint
//! and the workspace's audit log says so (a bot's conversations go to people then, and an open
//! inbox hears of it); internal URLs are refused; a bot answers until it hands over, or until
//! its endpoint is turned off, which an open inbox hears of at once. Each scenario is written
//! once and run on SQLite and on Postgres. Measured (run with `--ignored`): a receiver down for
//! 10 minutes gets every event afterwards, each conversation's in order, under the host's
//! default retry schedule.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};
use switchboard::event_webhooks::RetryPolicy;
use switchboard_e2e::events::Events;
use switchboard_e2e::{Backend, HostOptions, PATIENCE, TestHost, serve_fake, test_plugin};

use crate::bot_tokens::conversation_event;

const ECHO_V1: &str = env!("ECHO_V1_WASM");

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// 200 at once.
    Healthy,
    /// Every third request 500, every request slow by up to 40 ms.
    Flaky,
    /// 503 to everything.
    Down,
}

#[derive(Clone, Debug)]
struct Received {
    headers: BTreeMap<String, String>,
    body: String,
    answered: u16,
    /// When it arrived.
    at: Instant,
}

impl Received {
    fn id(&self) -> &str {
        &self.headers["webhook-id"]
    }
    fn event(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

#[derive(Clone)]
struct Receiver {
    seen: Arc<Mutex<Vec<Received>>>,
    mode: Arc<Mutex<Mode>>,
    url: String,
    authority: String,
}

impl Receiver {
    async fn start(mode: Mode) -> Self {
        let (seen, mode) = (Arc::new(Mutex::new(Vec::<Received>::new())), Arc::new(Mutex::new(mode)));
        let state = (seen.clone(), mode.clone());
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: String| {
                let (seen, mode) = state.clone();
                async move {
                    let count = seen.lock().unwrap().len() as u64;
                    let mode = *mode.lock().unwrap();
                    let answered = match mode {
                        Mode::Healthy => 200,
                        Mode::Flaky => {
                            tokio::time::sleep(Duration::from_millis(count * 37 % 40)).await;
                            if count % 3 == 1 { 500 } else { 200 }
                        }
                        Mode::Down => 503,
                    };
                    let headers = headers.iter().map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_owned())).collect();
                    seen.lock().unwrap().push(Received { headers, body, answered, at: Instant::now() });
                    // With a NUL, which Postgres keeps in no text: the attempt is kept all the same.
                    (StatusCode::from_u16(answered).unwrap(), "thanks\0")
                }
            }),
        );
        let (base, authority) = serve_fake(app).await;
        Self { seen, mode, url: format!("{base}/hook"), authority }
    }

    fn set(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }

    fn all(&self) -> Vec<Received> {
        self.seen.lock().unwrap().clone()
    }

    /// The deliveries it accepted, in the order it accepted them.
    fn accepted(&self) -> Vec<Received> {
        self.all().into_iter().filter(|r| r.answered == 200).collect()
    }
}

/// Verifies `deliveries` with the Standard Webhooks reference library; how many verified.
fn verified_by_the_reference_library(deliveries: &[Received], secrets: &[&str]) -> usize {
    let file = tempfile::NamedTempFile::new().unwrap();
    let listed: Vec<Value> = deliveries.iter().map(|d| json!({"headers": d.headers, "body": d.body})).collect();
    std::fs::write(file.path(), serde_json::to_vec(&listed).unwrap()).unwrap();
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("e2e/verify_webhooks.py");
    let output = std::process::Command::new(switchboard_e2e::mail::python()).arg(script).arg(file.path()).args(secrets).output().unwrap();
    let said = String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the reference library refused a delivery: {said}");
    said.trim().parse().unwrap()
}

async fn host(backend: Backend, receiver: &Receiver, retry: RetryPolicy) -> TestHost {
    TestHost::start(HostOptions {
        backend,
        extra_plugins: vec![test_plugin(ECHO_V1)],
        allow_outbound: vec![receiver.authority.clone()],
        webhook_retry: Some(retry),
        ..Default::default()
    })
    .await
}

fn quick_retries(horizon: Duration) -> RetryPolicy {
    RetryPolicy { schedule: vec![Duration::from_millis(100), Duration::from_millis(300)], horizon, ..Default::default() }
}

/// An echo channel (one conversation each).
async fn echo_channel(host: &TestHost, name: &str) -> String {
    let (status, channel) = host.post("/api/v1/channels", &host.admin, json!({"plugin": "echo", "name": name, "settings": {}})).await;
    assert_eq!(status, 201, "{channel}");
    channel["id"].as_str().unwrap().to_owned()
}

async fn write(host: &TestHost, channel: &str, id: &str, text: &str) {
    let (status, body) = host.webhook(channel, &[], json!({"id": id, "text": text}).to_string()).await;
    assert_eq!(status, 200, "{body}");
}

async fn until<T>(host: &TestHost, what: &str, check: impl Fn() -> Option<T>) -> T {
    host.eventually(PATIENCE, || async { check() }).await.unwrap_or_else(|| panic!("never: {what}"))
}

/// A conversation's accepted events, as (type, message text) in the order they arrived.
fn story(accepted: &[Received], channel: &str) -> Vec<(String, Option<String>)> {
    accepted
        .iter()
        .map(Received::event)
        .filter(|e| e["data"]["channel_id"] == channel && e["data"]["conversation"].is_object())
        .map(|e| (e["type"].as_str().unwrap().to_owned(), e["data"]["message"]["text"].as_str().map(str::to_owned)))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endpoint_gets_every_event_signed_and_in_order_through_failures_an_outage_a_redelivery_and_a_secret_rotation_on_sqlite() {
    every_event_signed_and_in_order_through_failures_an_outage_a_redelivery_and_a_rotation(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endpoint_gets_every_event_signed_and_in_order_through_failures_an_outage_a_redelivery_and_a_secret_rotation_on_postgres() {
    every_event_signed_and_in_order_through_failures_an_outage_a_redelivery_and_a_rotation(Backend::Postgres).await;
}

async fn every_event_signed_and_in_order_through_failures_an_outage_a_redelivery_and_a_rotation(backend: Backend) {
    let receiver = Receiver::start(Mode::Flaky).await;
    let host = host(backend, &receiver, quick_retries(Duration::from_secs(600))).await;

    // Refused: internal addresses, other schemes, unknown events; every problem at once.
    for (body, field, says) in [
        (json!({"url": "https://10.1.2.3/hook", "events": ["*"]}), "url", "public addresses only"),
        (json!({"url": "http://127.0.0.1:9/hook", "events": ["*"]}), "url", "--allow-outbound"),
        (json!({"url": "ftp://example.com/x", "events": ["*"]}), "url", "https://"),
        (json!({"url": receiver.url, "events": ["message.typed"]}), "events", "`message.typed` is not an event"),
    ] {
        let (status, answer) = host.post("/api/v1/webhook-endpoints", &host.admin, body).await;
        assert_eq!((status, answer["error"].as_str()), (422, Some("invalid_fields")), "{answer}");
        assert!(answer["fields"][field].as_str().unwrap_or_default().contains(says), "{field}: {says:?} in {answer}");
    }
    let (status, answer) = host.post("/api/v1/webhook-endpoints", &host.admin, json!({})).await;
    assert_eq!((status, answer["fields"]["url"].is_string(), answer["fields"]["events"].is_string()), (422, true, true), "{answer}");
    let (status, _) = host.post("/api/v1/webhook-endpoints", &host.agent, json!({"url": receiver.url, "events": ["*"]})).await;
    assert_eq!(status, 403, "agents do not register endpoints");

    let (status, endpoint) = host.post("/api/v1/webhook-endpoints", &host.admin, json!({"url": receiver.url, "events": ["*"], "description": "CRM"})).await;
    assert_eq!(status, 201, "{endpoint}");
    let secret = endpoint["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"), "{secret}");
    let id = endpoint["id"].as_i64().unwrap();
    let (_, listed) = host.get("/api/v1/webhook-endpoints", &host.admin).await;
    assert_eq!((listed[0]["id"].as_i64(), listed[0].get("secret")), (Some(id), None), "the secret is shown once: {listed}");

    // Two conversations written at once, five messages each; one resolved, then reopened.
    let (first, second) = (echo_channel(&host, "First").await, echo_channel(&host, "Second").await);
    for n in 1..=5 {
        write(&host, &first, &format!("a{n}"), &format!("first {n}")).await;
        write(&host, &second, &format!("b{n}"), &format!("second {n}")).await;
    }
    let (_, conversations) = host.get(&format!("/api/v1/conversations?channel={first}"), &host.admin).await;
    let conversation = conversations[0]["id"].as_i64().unwrap();
    for status in ["resolved", "open"] {
        let (code, answer) = host.call(reqwest::Method::PATCH, &format!("/api/v1/conversations/{conversation}"), Some(&host.admin), Some(json!({"status": status}))).await;
        assert_eq!(code, 200, "{answer}");
    }
    let expected = |channel: &str, word: &str, changes: &[&str]| {
        let mut story = vec![("conversation.created".to_owned(), None)];
        story.extend((1..=5).map(|n| ("message.received".to_owned(), Some(format!("{word} {n}")))));
        story.extend(changes.iter().map(|c| ((*c).to_owned(), None)));
        let _ = channel;
        story
    };
    let want_first = expected(&first, "first", &["conversation.resolved", "conversation.reopened"]);
    let want_second = expected(&second, "second", &[]);
    until(&host, "both conversations' events accepted", || {
        let accepted = receiver.accepted();
        (story(&accepted, &first).len() >= want_first.len() && story(&accepted, &second).len() >= want_second.len()).then_some(())
    })
    .await;
    let accepted = receiver.accepted();
    assert_eq!(story(&accepted, &first), want_first, "the first conversation's events, in order");
    assert_eq!(story(&accepted, &second), want_second, "the second conversation's events, in order");
    let all = receiver.all();
    assert!(all.iter().any(|r| r.answered == 500), "the receiver failed some deliveries");
    for failed in all.iter().filter(|r| r.answered == 500) {
        assert!(accepted.iter().any(|r| r.id() == failed.id()), "{} was tried again and accepted", failed.id());
    }
    let channels: Vec<Value> = accepted.iter().map(Received::event).filter(|e| e["type"] == "channel.connected").collect();
    assert_eq!(channels.len(), 2, "each channel's connection is an event");
    // The full event: message content, conversation with its contact, channel.
    let received = accepted.iter().map(Received::event).find(|e| e["type"] == "message.received").unwrap();
    assert_eq!((received["api_version"].as_i64(), received["data"]["channel"]["plugin"].as_str()), (Some(1), Some("echo")), "{received}");
    assert!(received["data"]["conversation"]["contact"].is_object() && received["data"]["message"]["id"].is_i64(), "{received}");
    assert_eq!(verified_by_the_reference_library(&all, &[&secret]), all.len());

    // The receiver is down: nothing is lost, and it all arrives, in order, once it is back.
    receiver.set(Mode::Down);
    for n in 6..=8 {
        write(&host, &first, &format!("a{n}"), &format!("first {n}")).await;
    }
    until(&host, "a delivery tried against the down receiver", || receiver.all().iter().any(|r| r.answered == 503).then_some(())).await;
    // The attempt is recorded once its answer is in: the listing shows it a moment after.
    let waiting = host
        .eventually(PATIENCE, || async {
            let (_, deliveries) = host.get(&format!("/api/v1/webhook-endpoints/{id}/deliveries"), &host.admin).await;
            deliveries.as_array()?.iter().find(|d| d["state"] == "pending" && d["attempts"].as_array().is_some_and(|a| !a.is_empty())).cloned()
        })
        .await
        .expect("a pending delivery shows its failed attempt");
    assert_eq!(waiting["attempts"][0]["status"], 503, "{waiting}");
    assert!(waiting["next_attempt_at"].is_i64(), "{waiting}");
    receiver.set(Mode::Healthy);
    until(&host, "the messages written during the outage accepted", || (story(&receiver.accepted(), &first).len() == want_first.len() + 3).then_some(())).await;
    let after: Vec<Option<String>> = story(&receiver.accepted(), &first)[want_first.len()..].iter().map(|(_, text)| text.clone()).collect();
    assert_eq!(after, vec![Some("first 6".into()), Some("first 7".into()), Some("first 8".into())]);

    // Sent again on request: the same webhook-id.
    let (_, deliveries) = host.get(&format!("/api/v1/webhook-endpoints/{id}/deliveries?limit=500"), &host.admin).await;
    let delivered = deliveries.as_array().unwrap().iter().find(|d| d["state"] == "delivered" && d["event_type"] == "message.received").unwrap().clone();
    let before = receiver.accepted().len();
    let (status, answer) = host.post(&format!("/api/v1/webhook-endpoints/{id}/redeliver"), &host.admin, json!({"delivery_id": delivered["id"]})).await;
    assert_eq!((status, answer["queued"].as_i64()), (202, Some(1)), "{answer}");
    let again = until(&host, "the redelivery", || receiver.accepted().get(before).cloned()).await;
    assert_eq!(again.id(), delivered["event_id"].as_str().unwrap());
    let (status, answer) = host.post(&format!("/api/v1/webhook-endpoints/{id}/redeliver"), &host.admin, json!({"delivery_id": 1, "since": 0})).await;
    assert_eq!(status, 422, "{answer}");

    // A new secret: both sign for a day, so a receiver with either verifies.
    let (status, rotated) = host.post(&format!("/api/v1/webhook-endpoints/{id}/secret"), &host.admin, json!({})).await;
    assert_eq!(status, 200, "{rotated}");
    let new_secret = rotated["secret"].as_str().unwrap().to_owned();
    assert!(new_secret != secret && rotated["previous_secret_valid_until"].is_i64(), "{rotated}");
    let (status, ping) = host.post(&format!("/api/v1/webhook-endpoints/{id}/ping"), &host.admin, json!({})).await;
    assert_eq!((status, ping["status"].as_i64()), (200, Some(200)), "{ping}");
    assert_eq!(ping["response"], "thanks\u{fffd}", "the receiver's NUL kept as U+FFFD: {ping}");
    let pinged = receiver.accepted().into_iter().rev().find(|r| r.event()["type"] == "webhook.ping").unwrap();
    assert_eq!(pinged.headers["webhook-signature"].split(' ').count(), 2, "{:?}", pinged.headers);
    assert_eq!(verified_by_the_reference_library(std::slice::from_ref(&pinged), &[&secret]), 1);
    assert_eq!(verified_by_the_reference_library(std::slice::from_ref(&pinged), &[&new_secret]), 1);
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endpoint_failing_past_the_retry_horizon_is_disabled_and_the_audit_log_says_why_on_sqlite() {
    disabled_past_the_retry_horizon_and_audited(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endpoint_failing_past_the_retry_horizon_is_disabled_and_the_audit_log_says_why_on_postgres() {
    disabled_past_the_retry_horizon_and_audited(Backend::Postgres).await;
}

async fn disabled_past_the_retry_horizon_and_audited(backend: Backend) {
    let receiver = Receiver::start(Mode::Down).await;
    // The horizon counts from the event, so a loaded machine that starts the first attempt late
    // must still fit a retry (100 ms after it) inside it: 30 s, far more than any start takes.
    // The endpoint is disabled once it has passed, so the test lasts about that long.
    let host = host(backend, &receiver, quick_retries(Duration::from_secs(30))).await;
    // It is the channel's bot too: the customer's conversation is its until it is disabled.
    let channel = echo_channel(&host, "Shop").await;
    let (status, endpoint) = host.post("/api/v1/webhook-endpoints", &host.admin, json!({"url": receiver.url, "events": ["message.received"], "bot_channels": [channel]})).await;
    assert_eq!(status, 201, "{endpoint}");
    let id = endpoint["id"].as_i64().unwrap();
    let mut inbox = Events::open(&host, &host.agent, None).await;
    inbox.expect("ready").await;
    write(&host, &channel, "m1", "halo").await;
    let disabled = host
        .eventually(PATIENCE, || async {
            let (_, shown) = host.get(&format!("/api/v1/webhook-endpoints/{id}"), &host.admin).await;
            (shown["enabled"] == false).then_some(shown)
        })
        .await
        .expect("the endpoint is disabled after the horizon");
    assert!(disabled["disabled_reason"].as_str().unwrap().contains("retry horizon"), "{disabled}");
    assert!(receiver.all().len() >= 2, "retried before giving up: {}", receiver.all().len());
    let (_, deliveries) = host.get(&format!("/api/v1/webhook-endpoints/{id}/deliveries"), &host.admin).await;
    assert_eq!(deliveries[0]["state"], "failed", "{deliveries}");
    let (_, audit) = host.get("/api/v1/audit", &host.admin).await;
    assert!(audit.to_string().contains("webhook_endpoint.disabled"), "{audit}");
    // Its conversation went to people, and the open inbox heard of it (not at its next update).
    let conversation = conversation_of(&host, &channel).await;
    assert_eq!(conversation["status"], "open", "{conversation}");
    let heard = conversation_event(&mut inbox, conversation["id"].as_i64().unwrap()).await;
    assert_eq!(heard.data["channel_id"].as_str(), Some(channel.as_str()), "{heard:?}");
    drop(inbox);

    // Turned on again, it gets what comes next.
    let (status, _) = host.call(reqwest::Method::PATCH, &format!("/api/v1/webhook-endpoints/{id}"), Some(&host.admin), Some(json!({"enabled": true}))).await;
    assert_eq!(status, 200);
    receiver.set(Mode::Healthy);
    write(&host, &channel, "m2", "lagi").await;
    until(&host, "the next event accepted", || receiver.accepted().into_iter().find(|r| r.event()["data"]["message"]["text"] == "lagi")).await;
    host.stop().await;
}

/// The conversation of an echo channel, as the API shows it.
async fn conversation_of(host: &TestHost, channel: &str) -> Value {
    let (_, list) = host.get(&format!("/api/v1/conversations?channel={channel}"), &host.admin).await;
    list[0].clone()
}

async fn in_the_queue(host: &TestHost, conversation: i64) -> bool {
    let (_, queue) = host.get("/api/v1/conversations?assigned=unassigned", &host.agent).await;
    queue.as_array().unwrap().iter().any(|c| c["id"] == conversation)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bot_answers_new_conversations_until_it_hands_them_over_and_a_disabled_bot_hands_over_at_once_on_sqlite() {
    a_bot_answers_until_it_hands_over(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bot_answers_new_conversations_until_it_hands_them_over_and_a_disabled_bot_hands_over_at_once_on_postgres() {
    a_bot_answers_until_it_hands_over(Backend::Postgres).await;
}

async fn a_bot_answers_until_it_hands_over(backend: Backend) {
    let bot = Receiver::start(Mode::Healthy).await;
    let host = host(backend, &bot, quick_retries(Duration::from_secs(600))).await;
    let (shop, support) = (echo_channel(&host, "Shop").await, echo_channel(&host, "Support").await);
    let (status, answer) = host.post("/api/v1/webhook-endpoints", &host.admin, json!({"url": bot.url, "events": ["message.received"], "bot_channels": ["nope"]})).await;
    assert_eq!((status, answer["fields"]["bot_channels"].as_str()), (422, Some("no channel `nope` in this workspace")), "{answer}");
    let (status, endpoint) =
        host.post("/api/v1/webhook-endpoints", &host.admin, json!({"url": bot.url, "events": ["message.received"], "bot_channels": [shop, support]})).await;
    assert_eq!(status, 201, "{endpoint}");
    assert_eq!(endpoint["bot_channels"].as_array().unwrap().len(), 2, "{endpoint}");
    let id = endpoint["id"].as_i64().unwrap();

    // A customer writes: the bot hears it, the conversation is the bot's, not in the agents' queue.
    write(&host, &shop, "s1", "Halo, mau pesan").await;
    let heard = until(&host, "the bot hears the customer", || bot.accepted().into_iter().map(|r| r.event()).find(|e| e["data"]["channel_id"] == shop.as_str())).await;
    assert_eq!(heard["data"]["conversation"]["status"], "bot", "{heard}");
    let conversation = conversation_of(&host, &shop).await;
    let conversation_id = conversation["id"].as_i64().unwrap();
    assert_eq!(conversation["status"], "bot");
    assert!(!in_the_queue(&host, conversation_id).await, "a bot's conversation is not in the agents' queue");

    // The bot answers through the API; the customer writes again; it stays the bot's.
    let reply = switchboard_e2e::send(&host, conversation_id, json!({"text": "Halo! Saya asisten otomatis."})).await;
    switchboard_e2e::until_status(&host, conversation_id, reply, "sent").await;
    write(&host, &shop, "s2", "Saya mau bicara dengan orang").await;
    until(&host, "the second message heard", || (bot.accepted().iter().filter(|r| r.event()["data"]["channel_id"] == shop.as_str()).count() == 2).then_some(())).await;
    assert_eq!(conversation_of(&host, &shop).await["status"], "bot");

    // It hands over with a note: the conversation enters the queue, an agent answers.
    let path = format!("/api/v1/conversations/{conversation_id}");
    let (status, handed) = host.call(reqwest::Method::PATCH, &path, Some(&host.admin), Some(json!({"status": "open", "note": "customer asks for a person"}))).await;
    assert_eq!((status, handed["status"].as_str()), (200, Some("open")), "{handed}");
    assert!(in_the_queue(&host, conversation_id).await, "handed over: in the agents' queue");
    let (_, audit) = host.get("/api/v1/audit", &host.admin).await;
    assert!(audit.to_string().contains("customer asks for a person"), "the note is kept: {audit}");
    let answer = switchboard_e2e::send(&host, conversation_id, json!({"text": "Halo, saya Rina dari tim kami."})).await;
    switchboard_e2e::until_status(&host, conversation_id, answer, "sent").await;
    write(&host, &shop, "s3", "Terima kasih").await;
    until(&host, "the third message heard", || (bot.accepted().iter().filter(|r| r.event()["data"]["channel_id"] == shop.as_str()).count() == 3).then_some(())).await;
    assert_eq!(conversation_of(&host, &shop).await["status"], "open", "a conversation people handle stays theirs");

    // The bot's endpoint is turned off: its conversations enter the queue at once, and an open
    // inbox hears of it at once (not at its next update); each is audited as handed over.
    write(&host, &support, "t1", "Paket saya belum sampai").await;
    let waiting = conversation_of(&host, &support).await;
    assert_eq!(waiting["status"], "bot");
    let waiting_id = waiting["id"].as_i64().unwrap();
    let mut inbox = Events::open(&host, &host.agent, None).await;
    inbox.expect("ready").await;
    let (status, _) = host.call(reqwest::Method::PATCH, &format!("/api/v1/webhook-endpoints/{id}"), Some(&host.admin), Some(json!({"enabled": false}))).await;
    assert_eq!(status, 200);
    let heard = conversation_event(&mut inbox, waiting_id).await;
    assert_eq!(heard.data["channel_id"].as_str(), Some(support.as_str()), "{heard:?}");
    drop(inbox);
    assert_eq!(conversation_of(&host, &support).await["status"], "open");
    assert!(in_the_queue(&host, waiting_id).await);
    let (_, audit) = host.get("/api/v1/audit", &host.admin).await;
    let said = format!("{waiting_id}: bot endpoint {id} disabled");
    assert!(audit.as_array().unwrap().iter().any(|e| e["action"] == "conversation.handed_over" && e["target"] == said.as_str()), "audited as handed over: {audit}");
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_a_receiver_takes_a_delivery_again_its_backlog_goes_at_once_not_hours_later_on_sqlite() {
    the_backlog_goes_once_the_receiver_is_back(Backend::Sqlite, Recovery::AnotherConversationsEvent).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_a_receiver_takes_a_delivery_again_its_backlog_goes_at_once_not_hours_later_on_postgres() {
    the_backlog_goes_once_the_receiver_is_back(Backend::Postgres, Recovery::AnotherConversationsEvent).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endpoint_waiting_on_retries_is_probed_with_its_oldest_delivery_and_then_gets_its_backlog_on_sqlite() {
    the_backlog_goes_once_the_receiver_is_back(Backend::Sqlite, Recovery::Probe).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endpoint_waiting_on_retries_is_probed_with_its_oldest_delivery_and_then_gets_its_backlog_on_postgres() {
    the_backlog_goes_once_the_receiver_is_back(Backend::Postgres, Recovery::Probe).await;
}

/// What tells the host that a receiver is back.
#[derive(Clone, Copy, PartialEq)]
enum Recovery {
    /// A new conversation's event (nothing ahead of it) is delivered.
    AnotherConversationsEvent,
    /// Nothing new: the endpoint is probed (`probe_every`, 1 s here) with its oldest delivery.
    Probe,
}

async fn the_backlog_goes_once_the_receiver_is_back(backend: Backend, recovery: Recovery) {
    // After one quick retry the schedule waits an hour: whatever arrives before then came
    // because the endpoint took a delivery again and its backlog was brought forward.
    let receiver = Receiver::start(Mode::Down).await;
    let probe_every = match recovery {
        Recovery::AnotherConversationsEvent => Duration::from_secs(3600),
        Recovery::Probe => Duration::from_secs(1),
    };
    let retry = RetryPolicy { schedule: vec![Duration::from_millis(100), Duration::from_secs(3600)], horizon: Duration::from_secs(24 * 3600), probe_every };
    let host = host(backend, &receiver, retry).await;
    let (status, endpoint) = host.post("/api/v1/webhook-endpoints", &host.admin, json!({"url": receiver.url, "events": ["message.received"]})).await;
    assert_eq!(status, 201, "{endpoint}");
    let (shop, other) = (echo_channel(&host, "Toko").await, echo_channel(&host, "Gudang").await);
    for i in 1..=3 {
        write(&host, &shop, &format!("s{i}"), &format!("pesan {i}")).await;
    }
    // The first is tried twice (503 both times) and then waits an hour, as its delivery says
    // (unless a probe came first); the others wait behind it.
    let deliveries = format!("/api/v1/webhook-endpoints/{}/deliveries", endpoint["id"]);
    let hour_from_now = || switchboard_e2e::fake_meta::now_ms() as i64 + 3_000_000;
    host.eventually(PATIENCE, || async {
        let (_, listed) = host.get(&deliveries, &host.admin).await;
        let waits_an_hour = |d: &Value| d["attempts"].as_array().unwrap().len() >= 2 && d["next_attempt_at"].as_i64() > Some(hour_from_now());
        let probed = |d: &Value| d["attempts"].as_array().unwrap().len() >= 3;
        listed.as_array().unwrap().iter().any(|d| waits_an_hour(d) || (recovery == Recovery::Probe && probed(d))).then_some(())
    })
    .await
    .expect("the first event tried twice, then an hour's wait");
    receiver.set(Mode::Healthy);
    let expected = match recovery {
        Recovery::AnotherConversationsEvent => {
            write(&host, &other, "o1", "halo gudang").await;
            4
        }
        Recovery::Probe => 3,
    };
    let accepted = until(&host, "the backlog delivered after the receiver took an event again", || {
        let accepted = receiver.accepted();
        (accepted.len() >= expected).then_some(accepted)
    })
    .await;
    let texts = |channel: &str| story(&accepted, channel).into_iter().filter_map(|(_, text)| text).collect::<Vec<_>>();
    assert_eq!(texts(&shop), ["pesan 1", "pesan 2", "pesan 3"], "the backlog in its conversation's order");
    let refused = receiver.all().iter().filter(|r| r.answered == 503).count();
    match recovery {
        Recovery::AnotherConversationsEvent => {
            assert_eq!(texts(&other), ["halo gudang"]);
            assert_eq!(refused, 2, "no attempt beyond the two before the hour's wait");
        }
        // A probe while the receiver was still down is refused too; one probe a second at most.
        Recovery::Probe => assert!(refused >= 2, "{refused}"),
    }
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_that_hangs_holds_up_only_its_own_endpoint_on_sqlite() {
    a_hanging_receiver_holds_up_only_its_own_endpoint(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_that_hangs_holds_up_only_its_own_endpoint_on_postgres() {
    a_hanging_receiver_holds_up_only_its_own_endpoint(Backend::Postgres).await;
}

async fn a_hanging_receiver_holds_up_only_its_own_endpoint(backend: Backend) {
    // One receiver holds every request open, never answering; the host gives each up after its
    // attempt timeout, which ends the request here (counted in `given_up`). The other answers.
    struct Held(Arc<std::sync::atomic::AtomicUsize>);
    impl Drop for Held {
        fn drop(&mut self) {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }
    let (held, given_up) = (Arc::new(std::sync::atomic::AtomicUsize::new(0)), Arc::new(std::sync::atomic::AtomicUsize::new(0)));
    let (holding, dropping) = (held.clone(), given_up.clone());
    let hanging = axum::Router::new().route(
        "/hook",
        axum::routing::post(move || {
            let (holding, dropping) = (holding.clone(), dropping.clone());
            async move {
                holding.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let _until_given_up = Held(dropping);
                std::future::pending::<()>().await;
                StatusCode::OK
            }
        }),
    );
    let (hanging_base, hanging_authority) = serve_fake(hanging).await;
    let healthy = Receiver::start(Mode::Healthy).await;
    let host = TestHost::start(HostOptions {
        backend,
        extra_plugins: vec![test_plugin(ECHO_V1)],
        allow_outbound: vec![healthy.authority.clone(), hanging_authority],
        webhook_retry: Some(quick_retries(Duration::from_secs(600))),
        ..Default::default()
    })
    .await;
    let channels = [echo_channel(&host, "One").await, echo_channel(&host, "Two").await, echo_channel(&host, "Three").await];
    for url in [format!("{hanging_base}/hook"), healthy.url.clone()] {
        let (status, answer) = host.post("/api/v1/webhook-endpoints", &host.admin, json!({"url": url, "events": ["message.received"]})).await;
        assert_eq!(status, 201, "{answer}");
    }
    let started = std::time::Instant::now();
    for n in 1..=4 {
        for channel in &channels {
            write(&host, channel, &format!("{channel}-{n}"), &format!("pesan {n}")).await;
        }
    }
    until(&host, "the hanging receiver holds a request", || (held.load(std::sync::atomic::Ordering::SeqCst) > 0).then_some(())).await;
    until(&host, "the healthy receiver has all twelve", || (healthy.accepted().len() == 12).then_some(())).await;
    println!("twelve events reached the healthy receiver in {:?} while the other hung", started.elapsed());
    // The healthy endpoint did not wait for the hanging one: all twelve arrived while the host
    // still held every request the hanging receiver had (none given up yet).
    assert_eq!(given_up.load(std::sync::atomic::Ordering::SeqCst), 0, "the healthy endpoint waited until the hanging one's requests were given up");
    // And the host does give them up (its attempt timeout), which is what the count above sees.
    until(&host, "the hanging requests given up", || (given_up.load(std::sync::atomic::Ordering::SeqCst) > 0).then_some(())).await;
    let held_now = held.load(std::sync::atomic::Ordering::SeqCst);
    assert!(held_now <= 3, "one request per conversation at a time, at most {} per endpoint: {held_now}", switchboard::event_webhooks::PER_ENDPOINT);
    host.stop().await;
}

/// How long the receiver of the outage measurement is down: `SWITCHBOARD_OUTAGE_SECS`, 600
/// unless set.
fn outage() -> Duration {
    let seconds = std::env::var("SWITCHBOARD_OUTAGE_SECS").map(|v| v.trim().parse::<u64>().expect("SWITCHBOARD_OUTAGE_SECS is a number of seconds")).unwrap_or(600);
    Duration::from_secs(seconds)
}

/// The longest a delivery first tried during an outage of `outage` can still wait once the
/// receiver is back, under `policy`. Its attempts come at the sums of the schedule's steps from
/// its first attempt (the first failure waits `schedule[0]`, the second `schedule[1]`…, the last
/// step repeating), so the wait after the outage ends is shorter than the step that spans the
/// end: at most the longest step that begins within the outage, for a first attempt made as the
/// outage began (a later one only shifts which step spans the end).
fn longest_wait_after(policy: &RetryPolicy, outage: Duration) -> Duration {
    let (mut begins, mut longest) = (Duration::ZERO, Duration::ZERO);
    for failures in 0.. {
        if begins >= outage {
            break;
        }
        let step = policy.schedule.get(failures).or(policy.schedule.last()).copied().expect("a retry schedule has a step");
        longest = longest.max(step);
        begins += step;
    }
    longest
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a 10-minute outage, then up to the default schedule's 30-minute step: run with --ignored to measure"]
async fn a_receiver_down_for_10_minutes_receives_every_event_afterwards_each_conversation_in_order_on_sqlite() {
    every_event_after_a_long_outage_under_the_default_schedule(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a 10-minute outage, then up to the default schedule's 30-minute step: run with --ignored to measure"]
async fn a_receiver_down_for_10_minutes_receives_every_event_afterwards_each_conversation_in_order_on_postgres() {
    every_event_after_a_long_outage_under_the_default_schedule(Backend::Postgres).await;
}

/// The receiver answers 503 for [`outage`] while customers write in several conversations, one
/// message each per round spread over the outage; then it is healthy. The host retries on its
/// default schedule (5 s, 5 min, 30 min…): every event arrives afterwards, each conversation's
/// in order, within the longest step that begins within the outage (plus [`PATIENCE`]). Prints
/// how long after the receiver came back the last event arrived, and how many attempts it took.
async fn every_event_after_a_long_outage_under_the_default_schedule(backend: Backend) {
    const CONVERSATIONS: usize = 4;
    const ROUNDS: u32 = 10;
    let (outage, policy) = (outage(), RetryPolicy::default());
    let receiver = Receiver::start(Mode::Down).await;
    let host = host(backend, &receiver, policy.clone()).await;
    let (status, endpoint) =
        host.post("/api/v1/webhook-endpoints", &host.admin, json!({"url": receiver.url, "events": ["conversation.created", "message.received"]})).await;
    assert_eq!(status, 201, "{endpoint}");
    let id = endpoint["id"].as_i64().unwrap();
    let mut channels = Vec::new();
    for n in 1..=CONVERSATIONS {
        channels.push(echo_channel(&host, &format!("Toko {n}")).await);
    }

    // Down: the customers write all along (an echo channel has one conversation).
    let down_since = Instant::now();
    for round in 0..ROUNDS {
        tokio::time::sleep_until(tokio::time::Instant::from_std(down_since + outage * round / ROUNDS)).await;
        for channel in &channels {
            write(&host, channel, &format!("{channel}-{round}"), &format!("pesan {round}")).await;
        }
    }
    tokio::time::sleep_until(tokio::time::Instant::from_std(down_since + outage)).await;
    let failed_meanwhile = receiver.all().len();
    assert!(receiver.accepted().is_empty(), "the receiver accepted nothing while down");
    assert!(failed_meanwhile > 0, "the host tried during the outage");

    // Back: everything arrives, each conversation's in order, within the schedule's step.
    receiver.set(Mode::Healthy);
    let back = Instant::now();
    let step = longest_wait_after(&policy, outage);
    let bound = step + PATIENCE;
    let everything = CONVERSATIONS * (1 + ROUNDS as usize);
    let arrived = host.eventually(bound, || async { (receiver.accepted().len() >= everything).then_some(()) }).await;
    if arrived.is_none() {
        let (_, deliveries) = host.get(&format!("/api/v1/webhook-endpoints/{id}/deliveries?limit=500"), &host.admin).await;
        panic!("{} of {everything} events arrived within {bound:?} of the receiver coming back; the deliveries: {deliveries}", receiver.accepted().len());
    }
    let accepted = receiver.accepted();
    assert_eq!(accepted.len(), everything, "each event once");
    for channel in &channels {
        let mut expected = vec![("conversation.created".to_owned(), None)];
        expected.extend((0..ROUNDS).map(|round| ("message.received".to_owned(), Some(format!("pesan {round}")))));
        assert_eq!(story(&accepted, channel), expected, "{channel}: its events, in order");
    }
    let last = accepted.iter().map(|r| r.at).max().unwrap();
    let attempts = receiver.all().len();
    println!(
        "{backend:?}: the receiver was down {outage:?} while {everything} events were written in {CONVERSATIONS} conversations; the last arrived {:?} after it came back \
         (bound {bound:?}: the default schedule's longest step begun within the outage, {step:?}, + {PATIENCE:?}); {attempts} attempts, {failed_meanwhile} of them during the outage (503)",
        last.duration_since(back)
    );
    host.stop().await;
}
