//! The live inbox over the API: the workspace's event stream (what changed, only its own
//! workspace's, resumed after a cut from `Last-Event-ID`, a `reset` when that id is unknown),
//! conversation search (names, handles, words of messages; the inbox's filters still apply),
//! and each person's unread counts.

use std::time::Duration;

use serde_json::{Value, json};
use switchboard::store::Db;
use switchboard::store::model::Role;
use switchboard_e2e::events::Events;
use switchboard_e2e::{HostOptions, TestHost, test_plugin};

const ECHO_V1: &str = env!("ECHO_V1_WASM");

async fn host() -> TestHost {
    TestHost::start(HostOptions { extra_plugins: vec![test_plugin(ECHO_V1)], ..Default::default() }).await
}

/// An echo channel (each has one conversation) where the customer wrote `text`.
async fn echo_conversation(host: &TestHost, admin: &str, name: &str, id: &str, text: &str) -> (String, i64) {
    let (status, channel) = host.post("/api/v1/channels", admin, json!({"plugin": "echo", "name": name, "settings": {}})).await;
    assert_eq!(status, 201, "{channel}");
    let channel = channel["id"].as_str().unwrap().to_owned();
    write(host, &channel, id, text).await;
    let (_, list) = host.get(&format!("/api/v1/conversations?channel={channel}"), admin).await;
    (channel, list[0]["id"].as_i64().unwrap())
}

async fn write(host: &TestHost, channel: &str, id: &str, text: &str) {
    let (status, body) = host.webhook(channel, &[], json!({"id": id, "text": text}).to_string()).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_event_stream_tells_a_workspace_what_changed_and_resumes_after_a_cut() {
    let host = host().await;
    let (status, warung) = host.post("/api/v1/workspaces", &host.operator, json!({"name": "Warung Siti"})).await;
    assert_eq!(status, 201, "{warung}");
    let siti = Db::open(host.data_path()).unwrap().create_token(Role::Admin, warung["id"].as_i64()).unwrap();

    let mut toko = Events::open(&host, &host.agent, None).await;
    let ready = toko.expect("ready").await;
    let mut other = Events::open(&host, &siti, None).await;
    other.expect("ready").await;

    // A customer writes: the workspace hears of the message (ids only) at once.
    let (channel, conversation) = echo_conversation(&host, &host.admin, "Toko Budi", "p1", "Paket saya rusak").await;
    let event = toko.expect("message").await;
    assert_eq!((event.data["conversation_id"].as_i64(), event.data["channel_id"].as_str()), (Some(conversation), Some(channel.as_str())));
    assert!(event.data.get("text").is_none(), "content is read through the API, with the reader's rights");
    assert_ne!(event.id, ready.id);

    // An agent replies: queued (a message), then sent (its status).
    let (status, reply) = host.post(&format!("/api/v1/conversations/{conversation}/messages"), &host.agent, json!({"text": "Maaf kak"})).await;
    assert_eq!(status, 202, "{reply}");
    let queued = toko.expect("message").await;
    assert_eq!(queued.data["message_id"], reply["id"]);
    let sent = toko.expect("status").await;
    assert_eq!(sent.data["message_id"], reply["id"]);

    // Assignment and status changes of the conversation.
    let (status, _) = host.call(reqwest::Method::PATCH, &format!("/api/v1/conversations/{conversation}"), Some(&host.admin), Some(json!({"status": "resolved"}))).await;
    assert_eq!(status, 200);
    let changed = toko.expect("conversation").await;
    let last_seen = changed.id.clone();

    // The other business heard nothing of it.
    assert!(other.next(Duration::from_millis(300)).await.is_none(), "another workspace's events stay there");

    // Cut: what happens meanwhile comes first after reconnecting with the last id.
    drop(toko);
    write(&host, &channel, "p2", "Halo? Masih di sana?").await;
    let mut toko = Events::open(&host, &host.agent, Some(&last_seen)).await;
    let missed = toko.expect("message").await;
    assert_eq!(missed.data["conversation_id"].as_i64(), Some(conversation));
    assert!(toko.next(Duration::from_millis(300)).await.is_none(), "nothing twice");

    // An id the host does not know (another process's, made up): read everything again.
    for unknown in ["0-1", "garbage"] {
        let mut lost = Events::open(&host, &host.agent, Some(unknown)).await;
        lost.expect("reset").await;
    }

    // The operator outside any workspace follows them all.
    let mut operator = Events::open(&host, &host.operator, None).await;
    operator.expect("ready").await;
    write(&host, &channel, "p3", "Tolong").await;
    assert_eq!(operator.expect("message").await.data["conversation_id"].as_i64(), Some(conversation));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_finds_conversations_by_contact_and_by_words_of_their_messages() {
    let host = host().await;
    let (_, broken) = echo_conversation(&host, &host.admin, "Toko Budi", "p1", "Paketnya datang dalam keadaan rusak").await;
    let (_, thanks) = echo_conversation(&host, &host.admin, "Toko Budi 2", "p2", "Terima kasih, sudah sampai").await;
    let found = |q: &str| {
        let host = &host;
        let q = q.to_owned();
        async move {
            let (status, list) = host.get(&format!("/api/v1/conversations?q={}", urlencoding(&q)), &host.agent).await;
            assert_eq!(status, 200, "{q}: {list}");
            list.as_array().unwrap().iter().map(|c| c["id"].as_i64().unwrap()).collect::<Vec<_>>()
        }
    };
    assert_eq!(found("rusak").await, [broken], "a word of a message");
    assert_eq!(found("paket").await, [broken], "a word's beginning");
    assert_eq!(found("TERIMA sampai").await, [thanks], "every word, any case");
    assert_eq!(found("rusak sampai").await, Vec::<i64>::new(), "all words must match");
    let mut both = found("Tester").await;
    both.sort();
    assert_eq!(both, [broken, thanks], "the contact's name");
    // Search syntax and wildcards typed by a person are only text.
    assert_eq!(found("\"rusak").await, [broken]);
    assert_eq!(found("rusak OR sampai").await, Vec::<i64>::new());
    assert_eq!(found("%").await, Vec::<i64>::new());
    // The inbox's filters still apply.
    let (_, none) = host.get("/api/v1/conversations?q=rusak&status=resolved", &host.agent).await;
    assert_eq!(none, json!([]));
    let (status, body) = host.get(&format!("/api/v1/conversations?q={}", "a".repeat(501)), &host.agent).await;
    assert_eq!(status, 400, "{body}");
    // Another workspace finds nothing of this one.
    let (_, warung) = host.post("/api/v1/workspaces", &host.operator, json!({"name": "Warung Siti"})).await;
    let siti = Db::open(host.data_path()).unwrap().create_token(Role::Agent, warung["id"].as_i64()).unwrap();
    let (_, theirs) = host.get("/api/v1/conversations?q=rusak", &siti).await;
    assert_eq!(theirs, json!([]));
}

fn urlencoding(text: &str) -> String {
    text.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_person_has_their_own_unread_counts() {
    let host = host().await;
    let (channel, conversation) = echo_conversation(&host, &host.admin, "Toko Budi", "p1", "Halo").await;
    write(&host, &channel, "p2", "Pesanan 123?").await;
    let (_, link) = crate::people::invite(&host, &host.admin, "siti@tokobudi.co.id", "agent").await;
    assert_eq!(crate::people::accept(&host, &link, crate::people::PASSWORD).await.0, 200);
    let (_, link) = crate::people::invite(&host, &host.admin, "budi@tokobudi.co.id", "agent").await;
    assert_eq!(crate::people::accept(&host, &link, crate::people::PASSWORD).await.0, 200);
    let siti = crate::people::signed_in(&host, "siti@tokobudi.co.id").await;
    let budi = crate::people::signed_in(&host, "budi@tokobudi.co.id").await;
    async fn unread_of(host: &TestHost, who: &crate::people::Browser) -> Value {
        who.request(host, reqwest::Method::GET, "/api/v1/conversations", None, false, None).await.1[0]["unread"].clone()
    }
    let unread = |who| unread_of(&host, who);
    assert_eq!((unread(&siti).await, unread(&budi).await), (json!(2), json!(2)));

    // Siti reads the first message only, then all of it; Budi's count does not move.
    let (_, messages) = host.get(&format!("/api/v1/conversations/{conversation}/messages"), &host.admin).await;
    let first = messages[0]["id"].as_i64().unwrap();
    async fn read_up_to(host: &TestHost, who: &crate::people::Browser, conversation: i64, body: Value) -> u16 {
        who.request(host, reqwest::Method::POST, &format!("/api/v1/conversations/{conversation}/read"), Some(body), true, None).await.0
    }
    let read = |who, body| read_up_to(&host, who, conversation, body);
    assert_eq!(read(&siti, json!({"message_id": first})).await, 204);
    assert_eq!(unread(&siti).await, json!(1));
    assert_eq!(read(&siti, json!({})).await, 204);
    assert_eq!(unread(&siti).await, json!(0));
    assert_eq!(read(&siti, json!({"message_id": first})).await, 204, "an older mark is taken");
    assert_eq!(unread(&siti).await, json!(0), "but does not move the mark back");
    assert_eq!(unread(&budi).await, json!(2));
    // A message the conversation does not have (past its newest, or none) is refused: a mark
    // past the newest would hide every message still to come.
    for beyond in [messages.as_array().unwrap().last().unwrap()["id"].as_i64().unwrap() + 1000, i64::MAX] {
        assert_eq!(read(&budi, json!({"message_id": beyond})).await, 422);
    }
    assert_eq!(unread(&budi).await, json!(2), "no mark was made");

    // A new message counts again; replying marks the conversation read for whoever replied.
    write(&host, &channel, "p3", "Halo??").await;
    assert_eq!((unread(&siti).await, unread(&budi).await), (json!(1), json!(3)));
    let (status, _) = budi.request(&host, reqwest::Method::POST, &format!("/api/v1/conversations/{conversation}/messages"), Some(json!({"text": "Sebentar ya"})), true, None).await;
    assert_eq!(status, 202);
    assert_eq!(unread(&budi).await, json!(0));

    // A token is nobody: no counts, and no marks.
    let (_, listed) = host.get("/api/v1/conversations", &host.agent).await;
    assert!(listed[0].get("unread").is_none(), "{listed}");
    let (status, body) = host.post(&format!("/api/v1/conversations/{conversation}/read"), &host.agent, json!({})).await;
    assert_eq!(status, 422, "{body}");
}
