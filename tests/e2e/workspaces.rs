//! Workspaces: two businesses on one host see nothing of each other (every route tried with
//! the other's ids answers 404 and changes nothing), the operator sees both, webhooks land in
//! their own workspace, suspension stops sign-in and sending but keeps storing, deletion takes
//! everything after a confirmation.

use serde_json::{Value, json};
use switchboard::store::Db;
use switchboard::store::model::Role;
use switchboard_e2e::{HostOptions, TestHost, conversations, test_plugin};

const ECHO_V1: &str = env!("ECHO_V1_WASM");

/// A workspace's tokens, made as `switchboard token create --workspace` makes them.
struct Staff {
    admin: String,
    supervisor: String,
    agent: String,
}

fn staff(host: &TestHost, workspace: i64) -> Staff {
    let db = Db::open(host.data_path()).unwrap();
    let token = |role| db.create_token(role, Some(workspace)).unwrap();
    Staff { admin: token(Role::Admin), supervisor: token(Role::Supervisor), agent: token(Role::Agent) }
}

async fn host() -> TestHost {
    TestHost::start(HostOptions { extra_plugins: vec![test_plugin(ECHO_V1)], ..Default::default() }).await
}

async fn new_workspace(host: &TestHost, name: &str) -> i64 {
    let (status, workspace) = host.post("/api/v1/workspaces", &host.operator, json!({ "name": name })).await;
    assert_eq!(status, 201, "{workspace}");
    workspace["id"].as_i64().unwrap()
}

/// Connects an echo channel with `admin`'s token and has a customer write to it; returns the
/// channel id and the conversation id.
async fn echo_channel_with_a_conversation(host: &TestHost, admin: &str, name: &str, ping: &str) -> (String, i64) {
    let (status, channel) = host.post("/api/v1/channels", admin, json!({"plugin": "echo", "name": name, "settings": {}})).await;
    assert_eq!(status, 201, "{channel}");
    let id = channel["id"].as_str().unwrap().to_owned();
    let (status, body) = host.webhook(&id, &[], json!({"id": ping, "text": format!("halo {name}")}).to_string()).await;
    assert_eq!(status, 200, "{body}");
    let (_, list) = host.get(&format!("/api/v1/conversations?channel={id}"), admin).await;
    (id, list[0]["id"].as_i64().unwrap())
}

async fn call(host: &TestHost, method: &str, path: &str, token: &str, body: Option<Value>) -> (u16, Value) {
    host.call(method.parse().unwrap(), path, Some(token), body).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workspaces_see_nothing_of_each_other_and_the_operator_sees_both() {
    let host = host().await;
    let toko = 1;
    let warung = new_workspace(&host, "Warung Siti").await;
    let siti = staff(&host, warung);
    let (toko_channel, toko_conversation) = echo_channel_with_a_conversation(&host, &host.admin, "Toko Budi", "p1").await;
    let (warung_channel, warung_conversation) = echo_channel_with_a_conversation(&host, &siti.admin, "Warung Siti", "p2").await;

    // Every route, with the other workspace's ids, by every role of each workspace.
    let routes = |channel: &str, conversation: i64| -> Vec<(&'static str, String, Option<Value>)> {
        vec![
            ("GET", format!("/api/v1/channels/{channel}"), None),
            ("PATCH", format!("/api/v1/channels/{channel}"), Some(json!({"name": "taken over"}))),
            ("DELETE", format!("/api/v1/channels/{channel}"), None),
            ("GET", format!("/api/v1/channels/{channel}/templates"), None),
            ("POST", format!("/api/v1/channels/{channel}/templates"), Some(json!({"name": "t", "language": "id", "category": "UTILITY", "body": "x"}))),
            ("PATCH", format!("/api/v1/channels/{channel}/templates/t"), Some(json!({"enabled": false}))),
            ("DELETE", format!("/api/v1/channels/{channel}/templates/t"), None),
            ("GET", format!("/api/v1/conversations/{conversation}"), None),
            ("GET", format!("/api/v1/conversations/{conversation}/messages"), None),
            ("POST", format!("/api/v1/conversations/{conversation}/messages"), Some(json!({"text": "not yours"}))),
            ("POST", "/api/v1/oauth/echo/start".to_owned(), Some(json!({"channel_id": channel, "settings": {}}))),
        ]
    };
    let mut tried = 0;
    let own = Staff { admin: host.admin.clone(), supervisor: host.supervisor.clone(), agent: host.agent.clone() };
    for (tokens, channel, conversation) in [(&siti, &toko_channel, toko_conversation), (&own, &warung_channel, warung_conversation)] {
        for token in [&tokens.admin, &tokens.supervisor, &tokens.agent] {
            for (method, path, body) in routes(channel, conversation) {
                let (status, answer) = call(&host, method, &path, token, body).await;
                assert_eq!(status, 404, "{method} {path}: another workspace's ids are not found: {answer}");
                assert_eq!(answer["error"], "not_found", "{answer}");
                tried += 1;
            }
            // Lists hold only the caller's own.
            let (_, channels) = host.get("/api/v1/channels", token).await;
            assert!(channels.as_array().unwrap().iter().all(|c| c["id"] != channel.as_str()), "{channels}");
            let (_, filtered) = host.get(&format!("/api/v1/conversations?channel={channel}"), token).await;
            assert_eq!(filtered, json!([]), "filtering by another workspace's channel finds nothing");
            tried += 2;
        }
    }
    assert_eq!(tried, 2 * 3 * 13, "every route by every role of both workspaces");

    // Nothing changed.
    for (token, channel, conversation, name) in
        [(&host.admin, &toko_channel, toko_conversation, "Toko Budi"), (&siti.admin, &warung_channel, warung_conversation, "Warung Siti")]
    {
        let (status, shown) = host.get(&format!("/api/v1/channels/{channel}"), token).await;
        assert_eq!((status, shown["name"].as_str()), (200, Some(name)), "{shown}");
        let (_, list) = host.get(&format!("/api/v1/conversations/{conversation}/messages"), token).await;
        assert_eq!(list.as_array().unwrap().len(), 1, "no message was added: {list}");
    }
    // Each workspace's inbox: its own webhook's message only.
    let (_, toko_inbox) = host.get("/api/v1/conversations", &host.agent).await;
    let (_, warung_inbox) = host.get("/api/v1/conversations", &siti.agent).await;
    assert_eq!(toko_inbox.as_array().unwrap().iter().map(|c| c["id"].as_i64().unwrap()).collect::<Vec<_>>(), [toko_conversation]);
    assert_eq!(warung_inbox.as_array().unwrap().iter().map(|c| c["id"].as_i64().unwrap()).collect::<Vec<_>>(), [warung_conversation]);

    // The operator sees both, or one when it names it.
    assert_eq!(conversations(&host).await.len(), 1, "the agent helper reads workspace 1");
    let (_, all) = host.get("/api/v1/conversations", &host.operator).await;
    assert_eq!(all.as_array().unwrap().len(), 2, "{all}");
    let (_, all_channels) = host.get("/api/v1/channels", &host.operator).await;
    assert_eq!(all_channels.as_array().unwrap().len(), 2);
    let response = host
        .http
        .get(format!("{}/api/v1/conversations", host.base))
        .bearer_auth(&host.operator)
        .header("x-workspace", warung.to_string())
        .send()
        .await
        .unwrap();
    let named: Value = response.json().await.unwrap();
    assert_eq!(named.as_array().unwrap().iter().map(|c| c["id"].as_i64().unwrap()).collect::<Vec<_>>(), [warung_conversation]);
    // A workspace token naming another workspace finds nothing there.
    let response = host.http.get(format!("{}/api/v1/channels", host.base)).bearer_auth(&siti.admin).header("x-workspace", toko.to_string()).send().await.unwrap();
    assert_eq!(response.status(), 404);
    // The operator must say where a new channel goes.
    let (status, body) = host.post("/api/v1/channels", &host.operator, json!({"plugin": "echo", "name": "x", "settings": {}})).await;
    assert_eq!((status, body["error"].as_str()), (422, Some("workspace_required")), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_creates_renames_suspends_and_deletes_workspaces() {
    let host = host().await;
    for token in [&host.admin, &host.supervisor, &host.agent] {
        let (status, body) = host.get("/api/v1/workspaces", token).await;
        assert_eq!(status, 403, "{body}");
        let (status, _) = host.post("/api/v1/workspaces", token, json!({"name": "mine"})).await;
        assert_eq!(status, 403);
    }
    let (status, body) = host.post("/api/v1/workspaces", &host.operator, json!({"name": "  "})).await;
    assert_eq!((status, body["fields"]["name"].as_str()), (422, Some("field is required")), "{body}");

    let warung = new_workspace(&host, "Warung").await;
    let (status, renamed) = call(&host, "PATCH", &format!("/api/v1/workspaces/{warung}"), &host.operator, Some(json!({"name": "Warung Siti"}))).await;
    assert_eq!((status, renamed["name"].as_str()), (200, Some("Warung Siti")), "{renamed}");
    let siti = staff(&host, warung);
    let (channel, conversation) = echo_channel_with_a_conversation(&host, &siti.admin, "Warung Siti", "p1").await;

    // Suspended: nobody of it gets in, nothing is sent, webhooks are still stored.
    let (status, _) = call(&host, "PATCH", &format!("/api/v1/workspaces/{warung}"), &host.operator, Some(json!({"status": "suspended"}))).await;
    assert_eq!(status, 200);
    for token in [&siti.admin, &siti.supervisor, &siti.agent] {
        let (status, body) = host.get("/api/v1/channels", token).await;
        assert_eq!((status, body["error"].as_str()), (403, Some("workspace_suspended")), "{body}");
    }
    let (status, _) = host.webhook(&channel, &[], json!({"id": "p2", "text": "masih masuk"}).to_string()).await;
    assert_eq!(status, 200, "webhooks of a suspended workspace are still taken");
    let response = host
        .http
        .post(format!("{}/api/v1/conversations/{conversation}/messages", host.base))
        .bearer_auth(&host.operator)
        .header("x-workspace", warung.to_string())
        .json(&json!({"text": "selama ditangguhkan"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202, "the operator may still queue");
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let operator_view = |path: String| {
        let request = host.http.get(format!("{}{path}", host.base)).bearer_auth(&host.operator);
        async move { request.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let stored = operator_view(format!("/api/v1/conversations/{conversation}/messages")).await;
    let texts: Vec<(&str, &str)> = stored.as_array().unwrap().iter().map(|m| (m["text"].as_str().unwrap(), m["status"].as_str().unwrap())).collect();
    assert!(texts.contains(&("halo Warung Siti", "received")) && texts.contains(&("masih masuk", "received")), "{texts:?}");
    assert!(texts.contains(&("selama ditangguhkan", "queued")), "nothing is sent while suspended: {texts:?}");

    // Resumed: sign-in works again and what waited goes out.
    let (status, _) = call(&host, "PATCH", &format!("/api/v1/workspaces/{warung}"), &host.operator, Some(json!({"status": "active"}))).await;
    assert_eq!(status, 200);
    assert_eq!(host.get("/api/v1/channels", &siti.agent).await.0, 200);
    let delivered = host
        .eventually(switchboard_e2e::PATIENCE, || async {
            let list = operator_view(format!("/api/v1/conversations/{conversation}/messages")).await;
            list.as_array().unwrap().iter().all(|m| m["status"] != "queued").then_some(list)
        })
        .await;
    assert!(delivered.is_some(), "queued messages go out once the workspace is resumed");

    // Deleting needs the name typed again, then takes everything.
    let path = format!("/api/v1/workspaces/{warung}");
    let (status, body) = call(&host, "DELETE", &path, &host.operator, None).await;
    assert_eq!(status, 422, "{body}");
    assert!(body["fields"]["confirm"].as_str().unwrap().contains("Warung Siti"), "{body}");
    let (status, _) = call(&host, "DELETE", &format!("{path}?confirm=Warung%20Siti"), &host.operator, None).await;
    assert_eq!(status, 204);
    assert_eq!(host.get(&path, &host.operator).await.0, 404);
    assert_eq!(host.get("/api/v1/channels", &siti.admin).await.0, 401, "its tokens are gone");
    let (status, _) = host.webhook(&channel, &[], json!({"id": "p3", "text": "x"}).to_string()).await;
    assert_eq!(status, 404, "its channels are gone");
    let (_, all) = host.get("/api/v1/conversations", &host.operator).await;
    assert_eq!(all, json!([]), "and their conversations");
}

/// Deleting a workspace disconnects its channels at their providers first, as deleting each
/// would: the Telegram bot's webhook is removed, so Telegram stops posting to a channel that
/// is gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_workspace_disconnects_its_channels_at_their_providers() {
    use crate::telegram::GOOD_TOKEN;
    let (host, fake) = crate::telegram::host_and_fake().await;
    let warung = new_workspace(&host, "Warung Siti").await;
    let siti = staff(&host, warung);
    let settings = json!({"bot_token": GOOD_TOKEN, "api_base_url": fake.base_url});
    let (status, channel) = host.post("/api/v1/channels", &siti.admin, json!({"plugin": "telegram", "name": "Warung Siti", "settings": settings})).await;
    assert_eq!(status, 201, "{channel}");
    assert!(fake.calls("deleteWebhook").is_empty());

    let (status, _) = call(&host, "DELETE", &format!("/api/v1/workspaces/{warung}?confirm=Warung%20Siti"), &host.operator, None).await;
    assert_eq!(status, 204);
    let removed = fake.calls("deleteWebhook");
    assert_eq!(removed.len(), 1, "the bot's webhook is removed");
    assert_eq!(removed[0].details["token"], GOOD_TOKEN);
    assert_eq!(host.get(&format!("/api/v1/channels/{}", channel["id"].as_str().unwrap()), &host.operator).await.0, 404);
}
