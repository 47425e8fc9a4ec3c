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
        assert_eq!(telegram["api_version"], "0.1.4");
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

    // A name is one line of at most 100 characters, wherever a person gives one; nothing is made
    // of a refused one.
    let long = "Toko Budi ".repeat(11);
    for (route, body, field) in [
        ("/api/v1/people", json!({"username": "siti@tokobudi.co.id", "display_name": long, "role": "agent"}), "display_name"),
        ("/api/v1/tokens", json!({"label": "deploy\nscript", "role": "agent"}), "label"),
        ("/api/v1/channels", json!({"plugin": "webchat", "name": long, "settings": {"domain": "tokobudi.co.id"}}), "name"),
    ] {
        let (status, answer) = host.post(route, &host.admin, body).await;
        assert_eq!((status, answer["error"].as_str()), (422, Some("invalid_fields")), "{route}: {answer}");
        assert_eq!(answer["fields"][field], "must be one line of at most 100 characters", "{route}: {answer}");
    }
    let (_, people) = host.get("/api/v1/people", &host.admin).await;
    assert!(!people.to_string().contains("siti@tokobudi.co.id"), "{people}");
}

/// A body anyone may send (sign-in's, before any token) is checked for an escaped NUL in one
/// pass: 2 MB of backslashes, the worst case of that check, is refused as bad JSON at once
/// (it took each worker thread minutes when the check counted the run again at every byte), and
/// the server answers the next request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_of_backslashes_is_refused_without_holding_the_server_up() {
    let host = TestHost::start(HostOptions::default()).await;
    let backslashes = "\\".repeat(2 * 1024 * 1024 - 64);
    let sign_in = || host.http.post(format!("{}/api/v1/session", host.base)).header("content-type", "application/json").body(backslashes.clone()).send();
    // Two at once: one for each of the host's two worker threads.
    let (first, second) = tokio::join!(sign_in(), sign_in());
    for answer in [first, second] {
        let answer = answer.expect("answered within the client's 30 s");
        assert_eq!(answer.status(), 400);
        let body: serde_json::Value = answer.json().await.unwrap();
        assert_eq!(body["error"], "bad_request", "{body}");
    }
    let (status, _) = host.get("/api/v1/conversations", &host.agent).await;
    assert_eq!(status, 200);
}

/// One request per class of error axum itself answers (query, path and body rejections, the
/// 404 fallback, 405, 413, 415): each comes back as `{"error","message"}` JSON with its status.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_class_of_error_answers_in_the_json_error_shape() {
    let host = TestHost::start(HostOptions::default()).await;
    let send = |method: reqwest::Method, path: &str, content_type: Option<&str>, body: Vec<u8>| {
        let mut request = host.http.request(method, format!("{}{path}", host.base)).bearer_auth(&host.admin).body(body);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let allow = response.headers().get("allow").map(|v| v.to_str().unwrap().to_owned());
            let content_type = response.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
            let text = response.text().await.unwrap();
            assert!(content_type.starts_with("application/json"), "{status} {content_type}: {text}");
            let body: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
            assert!(body["error"].is_string() && !body["message"].as_str().unwrap_or_default().is_empty(), "{body}");
            (status, body, allow)
        }
    };
    let get = reqwest::Method::GET;
    let (status, body, _) = send(get.clone(), "/api/v1/conversations?limit=abc", None, vec![]).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("bad_request")), "{body}");
    assert!(body["message"].as_str().unwrap().contains("limit"), "says which parameter: {body}");
    let (status, body, _) = send(get.clone(), "/api/v1/conversations/abc", None, vec![]).await;
    assert_eq!(status, 400, "{body}");
    let (status, body, _) = send(get.clone(), "/api/v1/channels/%FF", None, vec![]).await;
    assert_eq!(status, 400, "{body}");
    let (status, body, _) = send(get.clone(), "/no/such/page", None, vec![]).await;
    assert_eq!((status, body["error"].as_str()), (404, Some("not_found")), "{body}");
    let (status, body, allow) = send(reqwest::Method::PUT, "/api/v1/channels", None, vec![]).await;
    assert_eq!((status, body["error"].as_str()), (405, Some("method_not_allowed")), "{body}");
    let allow = allow.expect("405 keeps Allow");
    assert!(allow.contains("GET") && allow.contains("POST"), "{allow}");
    assert!(body["message"].as_str().unwrap().contains("`Allow` header"), "says where the methods are: {body}");
    let (status, body, _) = send(reqwest::Method::POST, "/api/v1/channels", Some("text/plain"), b"plugin=telegram".to_vec()).await;
    assert_eq!((status, body["error"].as_str()), (415, Some("unsupported_media_type")), "{body}");
    let huge = format!("{{\"plugin\":\"telegram\",\"name\":\"{}\"}}", "x".repeat(3 << 20));
    let (status, body, _) = send(reqwest::Method::POST, "/api/v1/channels", Some("application/json"), huge.into_bytes()).await;
    assert_eq!((status, body["error"].as_str()), (413, Some("payload_too_large")), "{body}");
}

/// The value of one series in a Prometheus text exposition (`name{labels} value`), if present.
pub(crate) fn series(metrics: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    metrics.lines().filter(|line| !line.starts_with('#')).find_map(|line| {
        let (key, value) = line.rsplit_once(' ')?;
        let (metric, rest) = key.split_once('{').unwrap_or((key, "}"));
        let wanted = metric == name && labels.iter().all(|(k, v)| rest.contains(&format!("{k}=\"{v}\"")));
        wanted.then(|| value.parse().ok()).flatten()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_webhooks_plugin_calls_and_deliveries_after_known_traffic() {
    use crate::telegram::{connect, host_and_fake, registered_secret, text_update};
    let (host, fake) = host_and_fake().await;
    let channel = connect(&host, &fake).await;
    let id = channel["id"].as_str().unwrap();
    let secret = registered_secret(&fake);
    let header = [("x-telegram-bot-api-secret-token", secret.as_str())];
    assert_eq!(host.webhook(id, &header, text_update(1, 424242, "halo")).await.0, 200);
    assert_eq!(host.webhook(id, &header, text_update(2, 424242, "masih ada?")).await.0, 200);
    assert_eq!(host.webhook(id, &[("x-telegram-bot-api-secret-token", "forged")], text_update(3, 424242, "x")).await.0, 401);
    assert_eq!(host.webhook("ch_nope", &header, text_update(4, 424242, "x")).await.0, 404);
    let conversation = switchboard_e2e::conversations(&host).await[0]["id"].as_i64().unwrap();
    let message = switchboard_e2e::send(&host, conversation, serde_json::json!({"text": "Halo kak"})).await;
    switchboard_e2e::until_status(&host, conversation, message, "sent").await;

    let response = host.http.get(format!("{}/metrics", host.base)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("application/openmetrics-text"));
    let text = response.text().await.unwrap();
    assert!(text.trim_end().ends_with("# EOF"), "a complete exposition");
    let count = |name: &str, labels: &[(&str, &str)]| series(&text, name, labels).unwrap_or_else(|| panic!("no {name} {labels:?} in\n{text}"));
    assert_eq!(count("switchboard_webhooks_total", &[("plugin", "telegram"), ("status", "200")]), 2.0);
    assert_eq!(count("switchboard_webhooks_total", &[("plugin", "telegram"), ("status", "401")]), 1.0);
    assert_eq!(count("switchboard_webhooks_total", &[("plugin", "unknown"), ("status", "404")]), 1.0);
    // Exports as the contract and `plugin call` name them; the load-time manifest call, made
    // before the plugin has a name, is no series of its own.
    assert_eq!(count("switchboard_plugin_calls_total", &[("plugin", "telegram"), ("export", "handle-webhook"), ("outcome", "ok")]), 3.0);
    assert!(!text.contains("handle_webhook") && !text.contains("(loading)"), "{text}");
    assert_eq!(count("switchboard_plugin_calls_total", &[("plugin", "telegram"), ("export", "connect"), ("outcome", "ok")]), 1.0);
    assert_eq!(count("switchboard_plugin_call_seconds_count", &[("plugin", "telegram"), ("export", "send")]), 1.0);
    assert_eq!(count("switchboard_delivery_attempts_total", &[("outcome", "sent")]), 1.0);
    assert_eq!(count("switchboard_outbox_messages", &[]), 0.0);
    assert!(count("switchboard_store_operation_seconds_count", &[]) > 10.0, "database operations are timed");
    let loaded = count("switchboard_plugin_loads_total", &[("outcome", "loaded")]);
    assert!(loaded >= 9.0, "every first-party plugin counted as loaded: {loaded}");
}
