//! WhatsApp On-Premises API end to end, against the fake API client: connect with a token or a
//! login, deliveries authenticated by the secret in the URL, the window, HSM templates kept by
//! the host with their namespace, token renewal, interactive reply buttons and lists and the
//! customer's taps as choices, disconnect.

use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};
use switchboard_e2e::fake_whatsapp_onprem::{FakeOnPremises, NAMESPACE};
use switchboard_e2e::{HostOptions, PUBLIC_URL, TestHost};

use switchboard_e2e::events::Events;
use switchboard_e2e::{conversations, messages};
use crate::interactive::newest_inbound;
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

/// The customer's tap on the message `answers`, in the API client's bare webhook: `kind` is
/// `interactive` (with `button_reply` or `list_reply`) or `button` (a template's quick reply).
fn tap(id: &str, answers: &str, kind: &str, object: Value) -> Value {
    let mut message = json!({"context": {"from": "6281200000001", "id": answers}, "from": CUSTOMER, "id": id,
        "timestamp": now_seconds().to_string(), "type": kind});
    message[kind] = object;
    json!({"contacts": [{"profile": {"name": "Siti Rahma"}, "wa_id": CUSTOMER}], "messages": [message]})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn onprem_draws_reply_buttons_and_lists_and_taps_come_back_as_choices() {
    let (host, client) = host_and_client().await;
    connect(&host, &client).await;
    let open = conversation(&host, &client, "ABGGFlA5FpafAgo6EhqXN6kJqx2", 60).await;

    // Reply buttons: the interactive object of the Cloud API, in the On-Premises envelope (no
    // `messaging_product`), to `POST /v1/messages` with the login token.
    let buttons = json!({"header": "Workshop", "body": "Your workshop is at 9am tomorrow. Need to change it?", "footer": "Lucky Shrub",
        "reply_buttons": [{"id": "change-button", "title": "Change"}, {"id": "cancel-button", "title": "Cancel"}]});
    let (status, queued) = queue(&host, open, json!({"interactive": buttons})).await;
    assert_eq!(status, 202, "{queued}");
    let offered = settled(&host, open, queued["id"].as_i64().unwrap(), &["sent"]).await;
    let send = client.calls("POST", "/v1/messages").pop().unwrap();
    assert_eq!(
        send.body,
        json!({"recipient_type": "individual", "to": CUSTOMER, "type": "interactive",
               "interactive": {"type": "button", "header": {"type": "text", "text": "Workshop"},
                               "body": {"text": "Your workshop is at 9am tomorrow. Need to change it?"}, "footer": {"text": "Lucky Shrub"},
                               "action": {"buttons": [{"type": "reply", "reply": {"id": "change-button", "title": "Change"}},
                                                      {"type": "reply", "reply": {"id": "cancel-button", "title": "Cancel"}}]}}})
    );
    assert!(send.authorization.unwrap().starts_with("Bearer eyJhbGciOiJIUzI1NiJ9.login"));
    assert_eq!(offered["content"]["interactive"], buttons, "read back as sent");

    // An option list: sections with titles, rows with descriptions.
    let list = json!({"header": "Choose Shipping Option", "body": "Which shipping option do you prefer?", "footer": "Lucky Shrub",
        "list": {"button": "Shipping Options", "sections": [
            {"title": "I want it ASAP!", "rows": [{"id": "priority_express", "title": "Priority Mail Express", "description": "Next Day to 2 Days"},
                                                  {"id": "priority_mail", "title": "Priority Mail", "description": "1-3 Days"}]},
            {"title": "I can wait a bit", "rows": [{"id": "media_mail", "title": "Media Mail"}]}]}});
    let (status, queued) = queue(&host, open, json!({"interactive": list})).await;
    assert_eq!(status, 202, "{queued}");
    let asked = settled(&host, open, queued["id"].as_i64().unwrap(), &["sent"]).await;
    assert_eq!(
        client.calls("POST", "/v1/messages").pop().unwrap().body,
        json!({"recipient_type": "individual", "to": CUSTOMER, "type": "interactive",
               "interactive": {"type": "list", "header": {"type": "text", "text": "Choose Shipping Option"},
                               "body": {"text": "Which shipping option do you prefer?"}, "footer": {"text": "Lucky Shrub"},
                               "action": {"button": "Shipping Options", "sections": [
                                   {"title": "I want it ASAP!", "rows": [
                                       {"id": "priority_express", "title": "Priority Mail Express", "description": "Next Day to 2 Days"},
                                       {"id": "priority_mail", "title": "Priority Mail", "description": "1-3 Days"}]},
                                   {"title": "I can wait a bit", "rows": [{"id": "media_mail", "title": "Media Mail"}]}]}}})
    );

    // The On-Premises API has no URL button: the text rendering.
    let url = json!({"body": "Tap below to see available dates.", "url_buttons": [{"title": "See Dates", "url": "https://example.com/dates?c=42"}]});
    let (status, queued) = queue(&host, open, json!({"interactive": url})).await;
    assert_eq!(status, 202, "{queued}");
    settled(&host, open, queued["id"].as_i64().unwrap(), &["sent"]).await;
    assert_eq!(
        client.calls("POST", "/v1/messages").pop().unwrap().body,
        json!({"to": CUSTOMER, "type": "text", "text": {"body": "Tap below to see available dates.\n\nSee Dates: https://example.com/dates?c=42"}})
    );

    // Over WhatsApp's limits: refused per field before anything is queued.
    let sends_before = client.calls("POST", "/v1/messages").len();
    let four: Vec<Value> = (0..4).map(|i| json!({"id": format!("b{i}"), "title": format!("Option {i}")})).collect();
    let (status, body) = queue(&host, open, json!({"interactive": {"header": "h".repeat(61), "body": "?", "reply_buttons": four}})).await;
    assert_eq!((status, body["error"].as_str()), (422, Some("invalid_fields")), "{body}");
    assert_eq!(body["fields"]["interactive.reply_buttons"], "at most 3 options on WhatsApp (On-Premises API) (4 given)");
    assert_eq!(body["fields"]["interactive.header"], "at most 60 characters on WhatsApp (On-Premises API) (61 given)");
    let mut rows: Vec<Value> = (0..11).map(|i| json!({"id": format!("r{i}"), "title": format!("Row {i}")})).collect();
    rows[0]["title"] = json!("t".repeat(25));
    rows[1]["description"] = json!("d".repeat(73));
    let too_long = json!({"body": "b".repeat(1025), "list": {"button": "Pick one of these rows", "sections": [{"rows": rows}]}});
    let (status, body) = queue(&host, open, json!({"interactive": too_long})).await;
    assert_eq!(status, 422, "{body}");
    let fields = &body["fields"];
    assert_eq!(fields["interactive.body"], "at most 1024 characters on WhatsApp (On-Premises API) (1025 given)");
    assert_eq!(fields["interactive.list.button"], "at most 20 characters on WhatsApp (On-Premises API) (22 given)");
    assert_eq!(fields["interactive.list.rows"], "at most 10 rows in all sections on WhatsApp (On-Premises API) (11 given)");
    assert_eq!(fields["interactive.list.sections[0].rows[0].title"], "at most 24 characters on WhatsApp (On-Premises API) (25 given)");
    assert_eq!(fields["interactive.list.sections[0].rows[1].description"], "at most 72 characters on WhatsApp (On-Premises API) (73 given)");
    assert_eq!(client.calls("POST", "/v1/messages").len(), sends_before, "nothing over the limits reaches the API client");

    // The customer taps "Cancel" on the buttons: a choice of that message, in the API and on the
    // event stream; the same delivery again is the same choice.
    let mut events = Events::open(&host, &host.agent, None).await;
    events.expect("ready").await;
    let wamid = offered["provider_message_id"].as_str().unwrap();
    let cancel = tap("ABGGFlA5FpafAgo6EhqXN6kTAP1", wamid, "interactive", json!({"type": "button_reply", "button_reply": {"id": "cancel-button", "title": "Cancel"}}));
    assert_eq!(deliver(&host, &client, &cancel).await, 200);
    let choice = newest_inbound(&messages(&host, open).await);
    assert_eq!(choice["text"], "Cancel");
    assert_eq!(choice["content"]["choice"], json!({"id": "cancel-button", "title": "Cancel", "message_id": offered["id"], "answers": wamid, "by": "tap"}));
    events.about_message("message", &choice["id"]).await;
    assert_eq!(deliver(&host, &client, &cancel).await, 200);

    // A row of the list picked.
    let list_wamid = asked["provider_message_id"].as_str().unwrap();
    let express = json!({"type": "list_reply", "list_reply": {"id": "priority_express", "title": "Priority Mail Express", "description": "Next Day to 2 Days"}});
    assert_eq!(deliver(&host, &client, &tap("ABGGFlA5FpafAgo6EhqXN6kTAP2", list_wamid, "interactive", express)).await, 200);
    let choice = newest_inbound(&messages(&host, open).await);
    assert_eq!(choice["text"], "Priority Mail Express");
    assert_eq!(
        choice["content"]["choice"],
        json!({"id": "priority_express", "title": "Priority Mail Express", "message_id": asked["id"], "answers": list_wamid, "by": "tap"})
    );
    events.about_message("message", &choice["id"]).await;

    // A template's quick reply (registered in WhatsApp Manager, sent elsewhere): its payload.
    let quick_reply = tap("ABGGFlA5FpafAgo6EhqXN6kTAP3", "gBEGkYiEB1VXAglK1ZEqA1YKPrT", "button", json!({"payload": "stop:INV-9", "text": "Stop updates"}));
    assert_eq!(deliver(&host, &client, &quick_reply).await, 200);
    let choice = newest_inbound(&messages(&host, open).await);
    assert_eq!((choice["content"]["choice"]["id"].as_str(), choice["content"]["choice"]["title"].as_str()), (Some("stop:INV-9"), Some("Stop updates")));
    assert_eq!(choice["content"]["choice"]["answers"], "gBEGkYiEB1VXAglK1ZEqA1YKPrT");
    assert!(choice["content"]["choice"]["message_id"].is_null(), "no message of ours offered it");

    let list = messages(&host, open).await;
    let choices: Vec<_> = list.iter().filter(|m| !m["content"]["choice"].is_null()).collect();
    assert_eq!(choices.len(), 3, "a redelivered tap is stored once: {list:?}");
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
