//! The audit log: each action of the list leaves one entry naming who (person or token),
//! from where, what and on what; an admin reads their workspace's, the operator everyone's;
//! no secret is in it.

use serde_json::{Value, json};

use crate::telegram::{GOOD_TOKEN, connect, host_and_fake};

fn actions(entries: &Value) -> Vec<String> {
    entries.as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_change_is_recorded_with_who_and_where_and_no_secret() {
    let (host, fake) = host_and_fake().await;
    let channel = connect(&host, &fake).await;
    let channel_id = channel["id"].as_str().unwrap();
    let (status, token) = host.post("/api/v1/tokens", &host.admin, json!({"label": "CRM sync", "role": "agent"})).await;
    assert_eq!(status, 201, "{token}");
    let (status, _) = host.call(reqwest::Method::DELETE, &format!("/api/v1/tokens/{}", token["id"]), Some(&host.admin), None).await;
    assert_eq!(status, 204);
    let (status, invited) = host.post("/api/v1/people", &host.admin, json!({"username": "siti@tokobudi.co.id", "display_name": "Siti", "role": "agent"})).await;
    assert_eq!(status, 201, "{invited}");
    let wrong_password = "tebak-tebakan-123";
    let (status, _) = host.call(reqwest::Method::POST, "/api/v1/session", None, Some(json!({"username": "siti@tokobudi.co.id", "password": wrong_password}))).await;
    assert_eq!(status, 401);
    let app_secret = "9f3c2b1a0d8e7f6a5b4c3d2e1f0a9b8c";
    let (status, body) = host
        .call(reqwest::Method::PUT, "/api/v1/plugins/messenger/app", Some(&host.operator), Some(json!({"settings": {"app_id": "1517394850012345", "app_secret": app_secret}})))
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = host.post("/api/v1/workspaces", &host.operator, json!({"name": "Warung Siti"})).await;
    assert_eq!(status, 201);
    let (status, _) = host.call(reqwest::Method::DELETE, &format!("/api/v1/channels/{channel_id}"), Some(&host.admin), None).await;
    assert_eq!(status, 204);

    let (status, mine) = host.get("/api/v1/audit", &host.admin).await;
    assert_eq!(status, 200, "{mine}");
    let expected = ["channel.connect", "token.create", "token.revoke", "person.invite", "channel.disconnect"];
    let mut seen = actions(&mine);
    seen.reverse(); // newest first -> in order
    assert_eq!(seen, expected, "the workspace's own entries, in order: {mine}");
    let connect = &mine.as_array().unwrap().last().unwrap();
    assert!(connect["actor"].as_str().unwrap().starts_with("admin token "), "{connect}");
    assert_eq!(connect["address"], "127.0.0.1", "{connect}");
    assert!(connect["target"].as_str().unwrap().contains(channel_id), "{connect}");

    let (_, all) = host.get("/api/v1/audit", &host.operator).await;
    let all_actions = actions(&all);
    for action in ["session.sign_in_failed", "provider_app.set", "workspace.create", "channel.connect"] {
        assert!(all_actions.iter().any(|a| a == action), "the operator sees {action}: {all_actions:?}");
    }
    let failed = all.as_array().unwrap().iter().find(|e| e["action"] == "session.sign_in_failed").unwrap();
    assert_eq!((failed["actor"].as_str(), failed["target"].as_str()), (Some("anonymous"), Some("siti@tokobudi.co.id")), "{failed}");

    let text = all.to_string();
    for secret in [GOOD_TOKEN, app_secret, wrong_password, token["token"].as_str().unwrap(), invited["invitation_url"].as_str().unwrap()] {
        assert!(!text.contains(secret), "no secret in the audit log: {secret}");
    }
    let (status, _) = host.get("/api/v1/audit", &host.agent).await;
    assert_eq!(status, 403, "agents do not read the audit log");
    let (_, page) = host.get(&format!("/api/v1/audit?limit=2&before={}", mine[0]["id"]), &host.admin).await;
    assert_eq!(actions(&page), ["person.invite", "token.revoke"], "paging: older than the newest, two at a time");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channel_changes_people_sign_ins_and_plugin_actions_are_recorded_too() {
    let (host, fake) = host_and_fake().await;
    let channel = connect(&host, &fake).await;
    let channel_id = channel["id"].as_str().unwrap();
    let (status, _) = host.call(reqwest::Method::PATCH, &format!("/api/v1/channels/{channel_id}"), Some(&host.admin), Some(json!({"name": "Toko Budi"}))).await;
    assert_eq!(status, 200);
    let (person, link) = crate::people::invite(&host, &host.admin, "rina@tokobudi.co.id", "agent").await;
    let password = "kata-sandi-rina-2026";
    assert_eq!(crate::people::accept(&host, &link, password).await.0, 200);
    let (status, _) = host.call(reqwest::Method::POST, "/api/v1/session", None, Some(json!({"username": "rina@tokobudi.co.id", "password": password}))).await;
    assert_eq!(status, 200);
    let (status, _) = host.call(reqwest::Method::PATCH, &format!("/api/v1/people/{person}"), Some(&host.admin), Some(json!({"role": "supervisor"}))).await;
    assert_eq!(status, 200);
    let echo = std::fs::read(env!("ECHO_V1_WASM")).unwrap();
    let uploaded = host.http.post(format!("{}/api/v1/plugins", host.base)).bearer_auth(&host.operator).header("content-type", "application/wasm").body(echo).send().await.unwrap();
    assert_eq!(uploaded.status(), 202);
    let (status, _) = host.post("/api/v1/plugin-reviews/echo/approve", &host.operator, json!({})).await;
    assert_eq!(status, 201);
    let (status, _) = host.call(reqwest::Method::DELETE, "/api/v1/plugins/echo", Some(&host.operator), None).await;
    assert_eq!(status, 204);

    let (_, all) = host.get("/api/v1/audit", &host.operator).await;
    let recorded = actions(&all);
    for action in ["channel.change", "person.invite", "session.sign_in", "person.change", "plugin.upload_for_review", "plugin.approve", "plugin.remove"] {
        assert!(recorded.iter().any(|a| a == action), "{action} is recorded: {recorded:?}");
    }
    let sign_in = all.as_array().unwrap().iter().find(|e| e["action"] == "session.sign_in").unwrap();
    assert_eq!(sign_in["actor"].as_str(), Some(format!("person {person} rina@tokobudi.co.id").as_str()), "{sign_in}");
    let change = all.as_array().unwrap().iter().find(|e| e["action"] == "person.change").unwrap();
    assert!(change["target"].as_str().unwrap().contains("role=supervisor"), "{change}");
    assert!(!all.to_string().contains(password), "no password in the audit log");
}
