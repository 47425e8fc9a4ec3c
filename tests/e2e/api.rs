//! API rules that hold for every route: tokens and roles, error shapes, health.

use serde_json::json;
use switchboard_e2e::{HostOptions, TestHost};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_and_roles_guard_the_api() {
    let host = TestHost::start(HostOptions::default()).await;
    let (status, _) = host.call(reqwest::Method::GET, "/healthz", None, None).await;
    assert_eq!(status, 200);

    let (status, body) = host.call(reqwest::Method::GET, "/api/v1/channels", None, None).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"], "unauthorized");
    let (status, _) = host.call(reqwest::Method::GET, "/api/v1/channels", Some("sb_not_a_token"), None).await;
    assert_eq!(status, 401);

    for token in [&host.agent, &host.supervisor, &host.admin] {
        let (status, plugins) = host.get("/api/v1/plugins", token).await;
        assert_eq!(status, 200);
        let telegram = plugins.as_array().unwrap().iter().find(|p| p["id"] == "telegram").expect("telegram is loaded");
        assert_eq!(telegram["api_version"], "0.1.3");
        assert_eq!(telegram["settings_schema"][0]["key"], "bot_token");
        assert_eq!(telegram["settings_schema"][0]["secret"], true);
    }
    for token in [&host.agent, &host.supervisor] {
        let (status, body) = host.post("/api/v1/channels", token, json!({"plugin": "telegram", "name": "x", "settings": {}})).await;
        assert_eq!(status, 403, "{body}");
        assert_eq!(body["error"], "forbidden");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_get_4xx_with_a_reason() {
    let host = TestHost::start(HostOptions::default()).await;
    let response = host
        .http
        .post(format!("{}/api/v1/channels", host.base))
        .bearer_auth(&host.admin)
        .header("content-type", "application/json")
        .body("{\"plugin\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "bad_request");
    assert!(!body["message"].as_str().unwrap().is_empty());

    let (status, body) = host.get("/api/v1/conversations/999", &host.agent).await;
    assert_eq!(status, 404, "{body}");
    let (status, _) = host.get("/api/v1/conversations/not-a-number", &host.agent).await;
    assert_eq!(status, 400);
    let (status, _) = host.webhook("ch_nope", &[], "{}").await;
    assert_eq!(status, 404);
}
