//! WhatsApp On-Premises API end to end, against the fake API client: connect with a token or a
//! login, deliveries authenticated by the secret in the URL, the window, HSM templates kept by
//! the host with their namespace, token renewal, disconnect.

use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};
use switchboard_e2e::fake_whatsapp_onprem::{FakeOnPremises, NAMESPACE};
use switchboard_e2e::{HostOptions, PUBLIC_URL, TestHost};

use switchboard_e2e::{conversations, messages};
use crate::whatsapp_cloud::{CUSTOMER, customer_text, delete, now_seconds, queue, settled, switch};

const USERNAME: &str = "admin";
const PASSWORD: &str = "Sup3r-s3cret!";
const API_TOKEN: &str = "eyJhbGciOiJIUzI1NiJ9.apiclienttoken.sig";

pub(crate) async fn host_and_client() -> (TestHost, FakeOnPremises) {
    let client = FakeOnPremises::start(USERNAME, PASSWORD, API_TOKEN).await;
    let host = TestHost::start(HostOptions { allow_outbound: vec![client.authority.clone()], ..Default::default() }).await;
    (host, client)
}

fn login_settings(client: &FakeOnPremises) -> Value {
    json!({"url": client.base_url, "username": USERNAME, "password": PASSWORD, "namespace": NAMESPACE})
}

async fn connect_with(host: &TestHost, settings: Value) -> (u16, Value) {
    host.post("/api/v1/channels", &host.admin, json!({"plugin": "whatsapp", "name": "Toko Budi (WhatsApp)", "settings": settings})).await
}

pub(crate) async fn connect(host: &TestHost, client: &FakeOnPremises) -> Value {
    let (status, channel) = connect_with(host, login_settings(client)).await;
    assert_eq!(status, 201, "{channel}");
    channel
}

/// Posts a delivery to the URL the API client was given (or to `path` below `/webhooks/`).
async fn deliver_to(host: &TestHost, url: &str, body: &Value) -> u16 {
    let url = url.replace(PUBLIC_URL, &host.base);
    host.http.post(url).header("content-type", "application/json").body(body.to_string()).send().await.unwrap().status().as_u16()
}

pub(crate) async fn deliver(host: &TestHost, client: &FakeOnPremises, body: &Value) -> u16 {
    deliver_to(host, &client.webhook_url().expect("a webhook is registered"), body).await
}

fn logins(client: &FakeOnPremises) -> usize {
    client.calls("POST", "/v1/users/login").len()
}

fn status_update(id: &str, status: &str, errors: Option<Value>) -> Value {
    let mut status = json!({"id": id, "recipient_id": CUSTOMER, "status": status, "timestamp": now_seconds().to_string()});
    if let Some(errors) = errors {
        status["errors"] = errors;
    }
    json!({"statuses": [status]})
}

/// A conversation whose customer last wrote `seconds_ago`; returns its id.
async fn conversation(host: &TestHost, client: &FakeOnPremises, message_id: &str, seconds_ago: u64) -> i64 {
    assert_eq!(deliver(host, client, &customer_text(message_id, seconds_ago, "Halo")).await, 200);
    conversations(host).await[0]["id"].as_i64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn onprem_connect_takes_a_token_or_a_login_and_says_what_is_wrong() {
    let (host, client) = host_and_client().await;

    let (status, body) = connect_with(&host, json!({"url": client.base_url, "username": USERNAME})).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["fields"]["password"], "password is missing");
    let (status, body) = connect_with(&host, json!({"url": client.base_url})).await;
    assert_eq!(status, 422, "{body}");
    assert!(body["fields"]["token"].as_str().unwrap().contains("username and password"), "{body}");
    assert!(client.received().is_empty(), "nothing reaches the API client before the form is complete");

    let mut wrong = login_settings(&client);
    wrong["password"] = json!("wrong");
    let (status, body) = connect_with(&host, wrong).await;
    assert_eq!((status, body["error"].as_str()), (422, Some("connect_failed")), "{body}");
    assert_eq!(body["message"], "1005: Access denied (Invalid credentials.)", "the provider's reason, not a generic one");

    client.set_gateway_status("disconnected");
    let (status, body) = connect_with(&host, login_settings(&client)).await;
    assert_eq!(status, 422, "{body}");
    assert!(body["message"].as_str().unwrap().contains("disconnected"), "{body}");
    client.set_gateway_status("connected");
    let (_, channels) = host.get("/api/v1/channels", &host.admin).await;
    assert_eq!(channels, json!([]), "refused connects leave no channel");

    let channel = connect(&host, &client).await;
    assert_eq!(channel["external_account_id"], client.base_url);
    assert_eq!(channel["display_name"], client.authority);
    assert_eq!(channel["settings"]["password"]["value"], "********");
    let login = client.calls("POST", "/v1/users/login").pop().unwrap();
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{USERNAME}:{PASSWORD}"));
    assert_eq!(login.authorization, Some(format!("Basic {basic}")));
    let health = client.calls("GET", "/v1/health").pop().unwrap();
    let bearer = health.authorization.unwrap();
    assert!(bearer.starts_with("Bearer eyJhbGciOiJIUzI1NiJ9.login"), "the login token is used: {bearer}");

    let registered = client.webhook_url().unwrap();
    let secret = registered.strip_prefix(&format!("{}/", channel["webhook_url"].as_str().unwrap())).expect("the channel's URL plus a secret");
    assert!(secret.len() == 32 && secret.chars().all(|c| c.is_ascii_alphanumeric()), "{registered}");
    assert_eq!(client.calls("PATCH", "/v1/settings/application").pop().unwrap().body, json!({"webhooks": {"url": registered}}));
    let (_, shown) = host.get(&format!("/api/v1/channels/{}", channel["id"].as_str().unwrap()), &host.agent).await;
    assert!(!shown.to_string().contains(secret) && !shown.to_string().contains(PASSWORD), "{shown}");
    let on_disk = String::from_utf8_lossy(&std::fs::read(host.data_path().join("switchboard.db")).unwrap()).into_owned();
    let token = bearer.strip_prefix("Bearer ").unwrap();
    assert!(!on_disk.contains(PASSWORD) && !on_disk.contains(token), "password and login token are encrypted at rest");

    let before = logins(&client);
    let (status, with_token) = connect_with(&host, json!({"url": client.base_url, "token": API_TOKEN})).await;
    assert_eq!(status, 201, "{with_token}");
    assert_eq!(logins(&client), before, "a token needs no login");
    assert_eq!(client.calls("GET", "/v1/health").pop().unwrap().authorization, Some(format!("Bearer {API_TOKEN}")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn onprem_deliveries_are_authenticated_by_the_secret_in_the_url() {
    let (host, client) = host_and_client().await;
    let channel = connect(&host, &client).await;
    let id = channel["id"].as_str().unwrap();
    let registered = client.webhook_url().unwrap();
    let body = customer_text("ABGGFlA5FpafAgo6EhqXN6kJqx0", 300, "Halo, pesanan saya?");

    let mut near_miss = registered.clone();
    let last = near_miss.pop().unwrap();
    near_miss.push(if last == 'a' { 'b' } else { 'a' });
    for url in [format!("{PUBLIC_URL}/webhooks/{id}"), format!("{PUBLIC_URL}/webhooks/{id}/wrong"), near_miss, format!("{registered}/extra")] {
        assert_eq!(deliver_to(&host, &url, &body).await, 401, "{url}");
    }
    assert!(conversations(&host).await.is_empty(), "nothing from unauthenticated requests is stored");

    for _ in 0..2 {
        assert_eq!(deliver(&host, &client, &body).await, 200);
    }
    let list = conversations(&host).await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["contact"]["name"], "Siti Rahma");
    assert_eq!(list[0]["window"]["state"], "open");
    let stored = messages(&host, list[0]["id"].as_i64().unwrap()).await;
    assert_eq!(stored.len(), 1, "a redelivery is stored once: {stored:?}");
    assert_eq!(stored[0]["text"], "Halo, pesanan saya?");

    let voice = json!({"messages": [{"from": CUSTOMER, "id": "ABGGFlA5FpafAgo6EhqXN6kJqx1", "timestamp": now_seconds().to_string(),
        "type": "voice", "voice": {"id": "463e7e3a-7b1c-4fbb-a1a6-0f4b0fd6e2f3", "mime_type": "audio/ogg; codecs=opus"}}]});
    assert_eq!(deliver(&host, &client, &voice).await, 200);
    let stored = messages(&host, list[0]["id"].as_i64().unwrap()).await;
    assert_eq!(stored[1]["content"]["attachments"][0]["kind"], "audio");
    assert_eq!(deliver(&host, &client, &json!("not a notification")).await, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn onprem_window_text_hsm_statuses_and_provider_refusals() {
    let (host, client) = host_and_client().await;
    let channel = connect(&host, &client).await;
    let templates = format!("/api/v1/channels/{}/templates", channel["id"].as_str().unwrap());
    let (status, template) = host
        .post(&templates, &host.admin, json!({"name": "order_update", "language": "id", "category": "UTILITY", "body": "Halo {{1}}, pesanan {{2}} sudah dikirim"}))
        .await;
    assert_eq!(status, 201, "{template}");
    let open = conversation(&host, &client, "wamid.OPEN", 600).await;

    let (_, text) = queue(&host, open, json!({"text": "Sudah dikirim kemarin, kak."})).await;
    let text = settled(&host, open, text["id"].as_i64().unwrap(), &["sent"]).await;
    let send = client.calls("POST", "/v1/messages").pop().unwrap();
    assert_eq!(send.body, json!({"to": CUSTOMER, "type": "text", "text": {"body": "Sudah dikirim kemarin, kak."}}));
    assert!(send.authorization.unwrap().starts_with("Bearer eyJhbGciOiJIUzI1NiJ9.login"));
    let provider_id = text["provider_message_id"].as_str().unwrap();
    assert_eq!(deliver(&host, &client, &status_update(provider_id, "read", None)).await, 200);
    settled(&host, open, text["id"].as_i64().unwrap(), &["read"]).await;

    client.fail_next_send(400, 470, "Message failed to send because more than 24 hours have passed since the customer last replied to this number", "Re-engagement", None);
    let (_, refused) = queue(&host, open, json!({"text": "Halo?"})).await;
    let refused = settled(&host, open, refused["id"].as_i64().unwrap(), &["failed"]).await;
    assert!(refused["error"].as_str().unwrap().contains("470: Message failed to send because more than 24 hours"), "{refused}");

    client.fail_next_send(429, 1015, "Too many requests", "Rate limit reached", Some(1));
    let (_, limited) = queue(&host, open, json!({"media": {"kind": "document", "url": "https://cdn.tokobudi.test/inv.pdf", "filename": "inv.pdf"}})).await;
    let limited = settled(&host, open, limited["id"].as_i64().unwrap(), &["sent"]).await;
    let send = client.calls("POST", "/v1/messages").pop().unwrap();
    assert_eq!(send.body, json!({"to": CUSTOMER, "type": "document", "document": {"link": "https://cdn.tokobudi.test/inv.pdf", "filename": "inv.pdf"}}));
    let errors = json!([{"code": 470, "title": "Message failed to send because more than 24 hours have passed since the customer last replied to this number"}]);
    let failed = status_update(limited["provider_message_id"].as_str().unwrap(), "failed", Some(errors));
    assert_eq!(deliver(&host, &client, &failed).await, 200);
    let failed = settled(&host, open, limited["id"].as_i64().unwrap(), &["failed"]).await;
    assert!(failed["error"].as_str().unwrap().starts_with("470: Message failed to send"), "{failed}");

    // Another customer, last heard from 25 hours ago: templates only.
    let mut old = customer_text("wamid.OLD", 25 * 3600, "Halo");
    old["contacts"][0]["wa_id"] = json!("6289876543210");
    old["messages"][0]["from"] = json!("6289876543210");
    assert_eq!(deliver(&host, &client, &old).await, 200);
    let closed = conversations(&host).await.into_iter().find(|c| c["external_id"] == "6289876543210").unwrap();
    assert_eq!(closed["window"]["state"], "closed");
    let closed = closed["id"].as_i64().unwrap();
    let sends_before = client.calls("POST", "/v1/messages").len();
    let (status, refusal) = queue(&host, closed, json!({"text": "Halo kak"})).await;
    assert_eq!((status, refusal["error"].as_str()), (422, Some("window_closed")), "{refusal}");
    let (status, queued) = queue(&host, closed, json!({"template": {"name": "order_update", "language": "id", "params": ["Budi", "INV-9"]}})).await;
    assert_eq!(status, 202, "{queued}");
    settled(&host, closed, queued["id"].as_i64().unwrap(), &["sent"]).await;
    let sends = client.calls("POST", "/v1/messages");
    assert_eq!(sends.len(), sends_before + 1, "only the template went out");
    assert_eq!(sends.last().unwrap().body, json!({"to": "6289876543210", "type": "hsm", "hsm": {
        "namespace": NAMESPACE, "element_name": "order_update", "language": {"policy": "deterministic", "code": "id"},
        "localizable_params": [{"default": "Budi"}, {"default": "INV-9"}]}}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn onprem_login_token_is_kept_and_renewed_before_expiry_and_after_a_refusal() {
    let (host, client) = host_and_client().await;
    connect(&host, &client).await;
    let open = conversation(&host, &client, "wamid.IN", 60).await;
    let send = |text: &'static str| {
        let host = &host;
        async move {
            let (status, queued) = queue(host, open, json!({"text": text})).await;
            assert_eq!(status, 202, "{queued}");
            settled(host, open, queued["id"].as_i64().unwrap(), &["sent"]).await
        }
    };
    assert_eq!(logins(&client), 1);
    send("satu").await;
    assert_eq!(logins(&client), 1, "the token from connect is kept in the channel state and reused");

    client.revoke_login_tokens();
    send("dua").await;
    assert_eq!(logins(&client), 2, "a refused token is renewed once and the send goes through");

    // Tokens now last 30 minutes: less than the renewal margin, so the next call logs in first.
    client.set_token_lifetime(Duration::from_secs(30 * 60));
    client.revoke_login_tokens();
    send("tiga").await;
    assert_eq!(logins(&client), 3);
    let seen = client.received().len();
    send("empat").await;
    let after: Vec<(String, String)> = client.received()[seen..].iter().map(|r| (r.method.clone(), r.path.clone())).collect();
    assert_eq!(after, [("POST".to_string(), "/v1/users/login".to_string()), ("POST".to_string(), "/v1/messages".to_string())],
        "renewed before it expired, not after a refusal");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn onprem_templates_are_kept_by_the_host_with_their_namespace() {
    let (host, client) = host_and_client().await;
    let mut settings = login_settings(&client);
    settings.as_object_mut().unwrap().remove("namespace");
    let (status, channel) = connect_with(&host, settings).await;
    assert_eq!(status, 201, "{channel}");
    let id = channel["id"].as_str().unwrap();
    let path = format!("/api/v1/channels/{id}/templates");
    let new = json!({"name": "order_update", "language": "id", "category": "UTILITY", "body": "Halo {{1}}, pesanan {{2}} sudah dikirim"});

    let (status, refused) = host.post(&path, &host.admin, new.clone()).await;
    assert_eq!(status, 422, "{refused}");
    assert!(refused["fields"]["namespace"].as_str().unwrap().contains("namespace"), "{refused}");
    let (status, body) = host.call(reqwest::Method::PATCH, &format!("/api/v1/channels/{id}"), Some(&host.admin), Some(json!({"settings": {"namespace": NAMESPACE}}))).await;
    assert_eq!(status, 200, "{body}");

    assert_eq!(host.post(&path, &host.agent, new.clone()).await.0, 403);
    let (status, created) = host.post(&path, &host.admin, new.clone()).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created, json!({"name": "order_update", "language": "id", "category": "UTILITY", "status": "APPROVED",
        "body": "Halo {{1}}, pesanan {{2}} sudah dikirim", "buttons": [], "enabled": true}));
    let (status, duplicate) = host.post(&path, &host.admin, new).await;
    assert_eq!(status, 422);
    assert!(duplicate["fields"]["name"].as_str().unwrap().contains("already registered"), "{duplicate}");
    let (status, bad) = host.post(&path, &host.admin, json!({"name": "x", "language": "id", "category": "PROMO", "body": "hi"})).await;
    assert_eq!((status, bad["fields"]["category"].as_str()), (422, Some("must be one of: UTILITY, MARKETING, AUTHENTICATION")));
    let (status, list) = host.get(&path, &host.agent).await;
    assert_eq!(status, 200);
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");

    let closed = conversation(&host, &client, "wamid.OLD", 25 * 3600).await;
    let (status, switched) = switch(&host, &path, "order_update", false, &host.admin).await;
    assert_eq!((status, switched["message"].as_str()), (200, Some("Successfully updated!")));
    let template = json!({"template": {"name": "order_update", "language": "id", "params": ["Siti", "INV-3"]}});
    let (status, refusal) = queue(&host, closed, template.clone()).await;
    assert_eq!((status, refusal["error"].as_str()), (422, Some("template_disabled")), "{refusal}");
    switch(&host, &path, "order_update", true, &host.admin).await;
    // Registered templates have no buttons here (the `hsm` send has none): a value is refused.
    let with_button = json!({"template": {"name": "order_update", "language": "id", "params": ["Siti", "INV-3"], "buttons": [{"index": 0, "payload": "stop"}]}});
    let (status, refusal) = queue(&host, closed, with_button).await;
    assert_eq!((status, refusal["fields"]["template.buttons[0].index"].as_str()), (422, Some("`order_update` has no button 0 (0 buttons)")), "{refusal}");
    let (status, refusal) = host.post(&path, &host.admin, json!({"name": "with_button", "language": "id", "category": "UTILITY", "body": "Halo",
        "buttons": [{"type": "quick_reply", "text": "Stop"}]})).await;
    assert_eq!((status, refusal["fields"]["buttons"].as_str()), (422, Some("this channel's templates have no buttons")), "{refusal}");
    let (status, queued) = queue(&host, closed, template).await;
    assert_eq!(status, 202);
    settled(&host, closed, queued["id"].as_i64().unwrap(), &["sent"]).await;
    assert_eq!(client.calls("POST", "/v1/messages").pop().unwrap().body["hsm"]["namespace"], NAMESPACE, "the template's namespace is used");

    assert_eq!(delete(&host, &path, "order_update", &host.agent).await.0, 403);
    assert_eq!(delete(&host, &path, "order_update", &host.admin).await.0, 204);
    assert_eq!(host.get(&path, &host.agent).await.1, json!([]));
    assert_eq!(delete(&host, &path, "order_update", &host.admin).await.0, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn onprem_disconnect_clears_the_webhook_and_deletes_the_channel() {
    let (host, client) = host_and_client().await;
    let channel = connect(&host, &client).await;
    let registered = client.webhook_url().unwrap();
    let path = format!("/api/v1/channels/{}", channel["id"].as_str().unwrap());
    assert_eq!(host.call(reqwest::Method::DELETE, &path, Some(&host.agent), None).await.0, 403);
    assert_eq!(host.call(reqwest::Method::DELETE, &path, Some(&host.admin), None).await.0, 204);
    assert_eq!(client.webhook_url(), None);
    assert_eq!(client.calls("PATCH", "/v1/settings/application").pop().unwrap().body, json!({"webhooks": {"url": ""}}));
    assert_eq!(host.get(&path, &host.admin).await.0, 404);
    assert_eq!(deliver_to(&host, &registered, &customer_text("wamid.LATE", 0, "halo?")).await, 404);
}
