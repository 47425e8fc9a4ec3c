//! Website chat end to end: connect and the embed snippet, the visitor API (origins, the
//! on/off switch, tokens, rate limits, live stream), the preview page, and the widget itself
//! in headless Chromium on a test website.


use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use switchboard_e2e::site::Site;
use switchboard_e2e::{HostOptions, PUBLIC_URL, TestHost, browser};

const SITE: &str = "https://www.tokobudi.co.id";

/// Connects a website chat as the admin; returns the channel JSON.
async fn connect(host: &TestHost, name: &str, settings: Value) -> Value {
    let (status, channel) = host.post("/api/v1/channels", &host.admin, json!({"plugin": "webchat", "name": name, "settings": settings})).await;
    assert_eq!(status, 201, "{channel}");
    channel
}

async fn host_and_channel() -> (TestHost, String) {
    let host = TestHost::start(HostOptions::default()).await;
    let channel = connect(&host, "Toko Budi", json!({"domain": "tokobudi.co.id"})).await;
    (host, channel["id"].as_str().unwrap().to_owned())
}

fn setup_value(channel: &Value, key: &str) -> String {
    let item = channel["setup"].as_array().unwrap().iter().find(|i| i["key"] == key);
    item.unwrap_or_else(|| panic!("no setup item {key}: {channel}"))["value"].as_str().unwrap().to_owned()
}

/// A request as the widget makes it from a page at `origin`.
struct Visitor<'a> {
    host: &'a TestHost,
    channel: &'a str,
    origin: Option<&'a str>,
    token: Option<String>,
}

impl<'a> Visitor<'a> {
    fn new(host: &'a TestHost, channel: &'a str, origin: Option<&'a str>) -> Self {
        Self { host, channel, origin, token: None }
    }

    fn request(&self, method: Method, route: &str) -> reqwest::RequestBuilder {
        let mut request = self.host.http.request(method, format!("{}/webchat/{}/{route}", self.host.base, self.channel));
        if let Some(origin) = self.origin {
            request = request.header("origin", origin);
        }
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        request
    }

    async fn send(&self, method: Method, route: &str, body: Option<Value>) -> (u16, HeaderMap, Value) {
        let mut request = self.request(method, route);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let (status, headers) = (response.status().as_u16(), response.headers().clone());
        let text = response.text().await.unwrap();
        (status, headers, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    /// Starts a session; keeps the token.
    async fn session(&mut self) -> Value {
        let (status, headers, body) = self.send(Method::POST, "session", Some(json!({"token": self.token}))).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(headers["access-control-allow-origin"], self.origin.unwrap());
        self.token = Some(body["token"].as_str().unwrap().to_owned());
        body
    }

    async fn write(&self, client_id: &str, text: &str) -> (u16, HeaderMap, Value) {
        self.send(Method::POST, "messages", Some(json!({"client_id": client_id, "text": text}))).await
    }

    /// A click on an option: its id as the page was given it, and a title.
    async fn click(&self, client_id: &str, text: &str, choice: &str) -> (u16, HeaderMap, Value) {
        self.send(Method::POST, "messages", Some(json!({"client_id": client_id, "text": text, "choice": choice}))).await
    }

    async fn stream(&self) -> Stream {
        let response = self.request(Method::GET, "stream").send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        Stream { response, buffer: String::new() }
    }
}

/// A server-sent event stream, read event by event.
struct Stream {
    response: reqwest::Response,
    buffer: String,
}

impl Stream {
    /// The next event (type, data), skipping keep-alive comments.
    async fn next(&mut self) -> (String, Value) {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut kind = "message".to_owned();
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(value) = line.strip_prefix("event:") {
                        kind = value.trim().to_owned();
                    } else if let Some(value) = line.strip_prefix("data:") {
                        data.push_str(value.strip_prefix(' ').unwrap_or(value));
                    }
                }
                if !data.is_empty() {
                    return (kind, serde_json::from_str(&data).unwrap());
                }
                continue;
            }
            let chunk = tokio::time::timeout(switchboard_e2e::PATIENCE, self.response.chunk()).await.expect("an event in time").unwrap();
            self.buffer.push_str(&String::from_utf8_lossy(&chunk.expect("the stream stays open")));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_checks_the_settings_and_gives_the_embed_snippet() {
    let host = TestHost::start(HostOptions::default()).await;
    let (status, plugins) = host.get("/api/v1/plugins", &host.agent).await;
    assert_eq!(status, 200);
    let webchat = plugins.as_array().unwrap().iter().find(|p| p["id"] == "webchat").expect("webchat is built in");
    let keys: Vec<&str> = webchat["settings_schema"].as_array().unwrap().iter().map(|f| f["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["domain", "enabled", "color", "greeting", "position"]);

    let (status, body) = host.post("/api/v1/channels", &host.admin, json!({"plugin": "webchat", "name": "Toko Budi", "settings": {}})).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["fields"]["domain"], "field is required");
    let settings = json!({"domain": "https://tokobudi.co.id/", "color": "blue", "position": "top"});
    let (status, body) = host.post("/api/v1/channels", &host.admin, json!({"plugin": "webchat", "name": "Toko Budi", "settings": settings})).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["fields"]["position"], "must be one of: right, left");

    let settings = json!({"domain": "https://tokobudi.co.id/", "color": "blue"});
    let (status, body) = host.post("/api/v1/channels", &host.admin, json!({"plugin": "webchat", "name": "Toko Budi", "settings": settings})).await;
    assert_eq!(status, 422, "{body}");
    assert!(body["fields"]["domain"].as_str().unwrap().contains("no https://"), "{body}");
    assert_eq!(body["fields"]["color"], "must be a colour like #1f6feb");

    let channel = connect(&host, "Toko Budi", json!({"domain": "tokobudi.co.id, *.toko.id", "color": "#e4572e"})).await;
    let id = channel["id"].as_str().unwrap();
    assert_eq!(channel["display_name"], "tokobudi.co.id, *.toko.id");
    assert_eq!(setup_value(&channel, "embed_snippet"), format!(r#"<script src="{PUBLIC_URL}/webchat/{id}/widget.js" async></script>"#));
    assert_eq!(setup_value(&channel, "preview_url"), format!("{PUBLIC_URL}/webchat/{id}/preview"));

    let script = host.http.get(format!("{}/webchat/{id}/widget.js", host.base)).send().await.unwrap();
    assert_eq!(script.status(), 200);
    assert_eq!(script.headers()["content-type"], "text/javascript; charset=utf-8");
    assert!(script.text().await.unwrap().contains("attachShadow"));
    let (status, _) = host.call(Method::GET, "/webchat/ch_nope/widget.js", None, None).await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_pages_on_the_domain_may_use_the_widget() {
    let (host, channel) = host_and_channel().await;
    for origin in [None, Some("https://evil.test"), Some("https://tokobudi.co.id.evil.test"), Some("null")] {
        let (status, headers, body) = Visitor::new(&host, &channel, origin).send(Method::POST, "session", None).await;
        assert_eq!((status, body["error"].as_str()), (403, Some("origin_not_allowed")), "{origin:?}");
        assert!(!headers.contains_key("access-control-allow-origin"), "{origin:?}: a browser keeps the answer from the page");
    }
    // The browser's preflight for JSON with the visitor token.
    let preflight = |origin: &'static str| {
        host.http
            .request(Method::OPTIONS, format!("{}/webchat/{channel}/messages", host.base))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "authorization, content-type")
            .send()
    };
    let allowed = preflight(SITE).await.unwrap();
    assert_eq!(allowed.status(), 204);
    assert_eq!(allowed.headers()["access-control-allow-origin"], SITE);
    assert_eq!(allowed.headers()["access-control-allow-headers"], "authorization, content-type");
    let refused = preflight("https://evil.test").await.unwrap();
    assert_eq!(refused.status(), 403);
    assert!(!refused.headers().contains_key("access-control-allow-origin"));

    let mut visitor = Visitor::new(&host, &channel, Some(SITE));
    let session = visitor.session().await;
    assert_eq!(session["widget"], json!({"name": "Toko Budi", "color": "#1f6feb", "greeting": "Hi! How can we help you today?", "position": "right"}));
    assert_eq!(session["conversation"], false);
    for apex in ["https://tokobudi.co.id", "http://tokobudi.co.id"] {
        assert_eq!(Visitor::new(&host, &channel, Some(apex)).send(Method::POST, "session", None).await.0, 200, "{apex}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn visitors_write_through_the_plugin_and_read_only_their_own_conversation() {
    let (host, channel) = host_and_channel().await;
    let mut siti = Visitor::new(&host, &channel, Some(SITE));
    siti.session().await;
    let token = siti.token.clone().unwrap();
    assert!(token.len() >= 48, "unguessable: {token}");
    assert_eq!(siti.session().await["token"], token, "a valid token is kept across page loads");

    // Without a token, or with one this channel did not issue: refused.
    let anonymous = Visitor::new(&host, &channel, Some(SITE));
    let (status, headers, body) = anonymous.write("c-0000000001", "hi").await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_visitor_token")), "{body}");
    assert_eq!(headers["access-control-allow-origin"], SITE, "the widget may read why");
    let forged = Visitor { token: Some(format!("{}x", &token[..token.len() - 1])), ..Visitor::new(&host, &channel, Some(SITE)) };
    assert_eq!(forged.write("c-0000000001", "hi").await.0, 401);

    // A NUL is refused as on every JSON route (Postgres stores none): nothing is stored of it.
    let (status, _, body) = siti.write("c-0000000001", "Halo\u{0}kak").await;
    assert_eq!((status, body["error"].as_str()), (422, Some("invalid_request")), "{body}");

    let (status, _, body) = siti.write("c-0000000001", "  Halo <b>kak</b>, ada ukuran XL?  ").await;
    assert_eq!(status, 201, "{body}");
    let written = &body["message"];
    assert_eq!((written["from"].as_str(), written["text"].as_str()), (Some("visitor"), Some("Halo <b>kak</b>, ada ukuran XL?")));
    assert_eq!(written["client_id"], "c-0000000001");
    // The same message again (its answer was lost): stored once.
    let (status, _, body) = siti.write("c-0000000001", "Halo <b>kak</b>, ada ukuran XL?").await;
    assert_eq!((status, &body["duplicate"]), (200, &json!(true)), "{body}");
    // The plugin's checks reach the visitor.
    let (status, _, body) = siti.write("c-0000000002", "   ").await;
    assert_eq!(status, 400, "{body}");
    assert!(body["message"].as_str().unwrap().ends_with("the message is empty"), "{body}");

    // The inbox: one conversation, addressed by the visitor id, never the token.
    let (_, conversations) = host.get(&format!("/api/v1/conversations?channel={channel}"), &host.agent).await;
    let [conversation] = conversations.as_array().unwrap().as_slice() else { panic!("{conversations}") };
    let visitor_id = conversation["external_id"].as_str().unwrap();
    assert!(!conversations.to_string().contains(&token), "the token is not in the inbox");
    // The visitor id names the visitor; it is no credential.
    let nonce = visitor_id.strip_prefix("v_").unwrap();
    for guess in [visitor_id.to_owned(), nonce.to_owned(), format!("{nonce}.{}", "A".repeat(43))] {
        let impostor = Visitor { token: Some(guess.clone()), ..Visitor::new(&host, &channel, Some(SITE)) };
        assert_eq!(impostor.write("c-0000000003", "impostor").await.0, 401, "{guess}");
    }
    assert_eq!(conversation["contact"]["name"], format!("Website visitor {}", visitor_id[2..6].to_uppercase()));
    let conversation_id = conversation["id"].as_i64().unwrap();
    let (_, messages) = host.get(&format!("/api/v1/conversations/{conversation_id}/messages"), &host.agent).await;
    assert_eq!(messages.as_array().unwrap().len(), 1, "{messages}");
    assert!(siti.session().await["conversation"].as_bool().unwrap());

    // Siti's stream: her conversation first, then the agent's reply as soon as it is sent.
    let mut stream = siti.stream().await;
    let (kind, snapshot) = stream.next().await;
    assert_eq!(kind, "snapshot");
    assert_eq!(snapshot["messages"].as_array().unwrap().len(), 1);
    // A reply to a message id no provider gives (longer than any id) is refused, and not sent.
    let (status, refused) =
        host.post(&format!("/api/v1/conversations/{conversation_id}/messages"), &host.agent, json!({"text": "Ada", "reply_to": "x".repeat(2000)})).await;
    assert_eq!((status, refused["error"].as_str()), (400, Some("bad_request")), "{refused}");
    let (status, reply) =
        host.post(&format!("/api/v1/conversations/{conversation_id}/messages"), &host.agent, json!({"text": "Ada, kak <3"})).await;
    assert_eq!(status, 202, "{reply}");
    let (kind, live) = stream.next().await;
    assert_eq!(kind, "message");
    assert_eq!((live["id"].as_i64(), live["from"].as_str(), live["text"].as_str()), (reply["id"].as_i64(), Some("agent"), Some("Ada, kak <3")));

    // Another visitor has a conversation of their own and sees nothing of Siti's.
    let mut budi = Visitor::new(&host, &channel, Some(SITE));
    assert_eq!(budi.session().await["conversation"], false);
    let mut budi_stream = budi.stream().await;
    assert_eq!(budi_stream.next().await, ("snapshot".to_owned(), json!({"messages": []})));
    let (status, _, _) = budi.write("c-0000000001", "Saya Budi").await;
    assert_eq!(status, 201, "client ids are the visitor's own: the same one from another visitor is another message");
    let (kind, own) = budi_stream.next().await;
    assert_eq!((kind.as_str(), own["text"].as_str()), ("message", Some("Saya Budi")));
    let (_, conversations) = host.get(&format!("/api/v1/conversations?channel={channel}"), &host.agent).await;
    assert_eq!(conversations.as_array().unwrap().len(), 2);

    // The channel's public webhook URL takes no visitor messages: only the host's signed hand-over.
    let forged = json!({"visitor": visitor_id, "client_id": "c-0000000009", "text": "forged"}).to_string();
    assert_eq!(host.webhook(&channel, &[], forged.clone()).await.0, 401);
    let unsigned = host.http.post(format!("{}/webhooks/{channel}/messages", host.base)).header("x-webchat-signature", "00");
    assert_eq!(unsigned.body(forged).send().await.unwrap().status(), 401);
    let (_, messages) = host.get(&format!("/api/v1/conversations/{conversation_id}/messages"), &host.agent).await;
    assert!(!messages.to_string().contains("forged"));

    // Open streams do not hold up a shutdown: they end when it starts. Held, they would keep the
    // host from ever finishing (the library's serve has no cap of its own).
    assert!(host.stop_and_wait().await, "the open stream held the host's shutdown up");
    let end = tokio::time::timeout(switchboard_e2e::PATIENCE, stream.response.chunk()).await.expect("the stream ended");
    assert!(matches!(end, Ok(None) | Err(_)), "{end:?}");
}

/// A visitor's click is the option the page was given, with that option's own title: a visitor
/// who sends another option's title, or an id of their own making, does not make agents read
/// one choice while the bot gets another.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitors_click_is_the_option_picked_by_its_own_title_and_made_up_ids_are_refused() {
    let (host, channel) = host_and_channel().await;
    let mut siti = Visitor::new(&host, &channel, Some(SITE));
    siti.session().await;
    assert_eq!(siti.write("c-0000000001", "Pesanan saya sudah dikirim?").await.0, 201);
    let (_, conversations) = host.get(&format!("/api/v1/conversations?channel={channel}"), &host.agent).await;
    let conversation = conversations[0]["id"].as_i64().unwrap();
    let buttons = json!({"interactive": {"body": "Batalkan pesanan?", "reply_buttons": [{"id": "confirm:860198", "title": "Lanjutkan pesanan"}, {"id": "cancel:860198", "title": "Batalkan pesanan"}]}});
    let (status, offer) = host.post(&format!("/api/v1/conversations/{conversation}/messages"), &host.agent, buttons).await;
    assert_eq!(status, 202, "{offer}");
    let offer = offer["id"].as_i64().unwrap();

    for made_up in ["refund:860198".to_owned(), format!("~{offer}.7"), format!("~{}.0", offer + 1000)] {
        let (status, _, body) = siti.click("c-0000000002", "Refund saya", &made_up).await;
        assert_eq!((status, body["error"].as_str()), (422, Some("invalid_fields")), "{made_up}, an id the page was never given: {body}");
        assert!(body["fields"]["choice"].as_str().unwrap().contains("an option this page was given"), "{body}");
    }

    // The first option's id with the second option's title: the first option is what was picked.
    let (status, _, body) = siti.click("c-0000000003", "Batalkan pesanan", &format!("~{offer}.0")).await;
    assert_eq!(status, 201, "{body}");
    let (_, messages) = host.get(&format!("/api/v1/conversations/{conversation}/messages"), &host.agent).await;
    let picked = messages.as_array().unwrap().iter().find(|m| m["content"]["choice"].is_object()).unwrap_or_else(|| panic!("{messages}"));
    assert_eq!(picked["content"]["choice"]["id"], "confirm:860198", "{picked}");
    assert_eq!((picked["text"].as_str(), picked["content"]["choice"]["title"].as_str()), (Some("Lanjutkan pesanan"), Some("Lanjutkan pesanan")), "{picked}");
    assert!(!messages.to_string().contains("Refund saya"), "nothing of the refused click is stored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_switched_off_widget_refuses_visitors_until_switched_on() {
    let (host, channel) = host_and_channel().await;
    let mut visitor = Visitor::new(&host, &channel, Some(SITE));
    visitor.session().await;
    let (status, body) = host.call(Method::PATCH, &format!("/api/v1/channels/{channel}"), Some(&host.admin), Some(json!({"settings": {"enabled": false}}))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["settings"]["enabled"]["value"], "false");

    for (method, route) in [(Method::POST, "session"), (Method::POST, "messages"), (Method::GET, "stream")] {
        let (status, headers, body) = visitor.send(method, route, Some(json!({"client_id": "c-0000000001", "text": "hi"}))).await;
        assert_eq!((status, body["error"].as_str()), (403, Some("widget_disabled")), "{route}: {body}");
        assert_eq!(headers["access-control-allow-origin"], SITE, "{route}: the widget may read why");
    }
    let (status, _) = host.call(Method::PATCH, &format!("/api/v1/channels/{channel}"), Some(&host.admin), Some(json!({"settings": {"enabled": true}}))).await;
    assert_eq!(status, 200);
    assert_eq!(visitor.write("c-0000000001", "hi").await.0, 201);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn visitor_messages_are_rate_limited_per_visitor() {
    let (host, channel) = host_and_channel().await;
    let mut visitor = Visitor::new(&host, &channel, Some(SITE));
    visitor.session().await;
    // Ten at once, then one per 2 s: written until refused, since a loaded machine's slow writes
    // earn the visitor more as they go.
    let started = std::time::Instant::now();
    let mut statuses = Vec::new();
    let mut retry_after = None;
    while retry_after.is_none() && statuses.len() < 100 {
        let (status, headers, _) = visitor.write(&format!("c-{:010}", statuses.len()), "spam").await;
        statuses.push(status);
        if status == 429 {
            retry_after = Some(headers.get("retry-after").map(|v| v.to_str().unwrap().parse::<u64>().unwrap()));
        }
    }
    let refused_at = statuses.len() - 1;
    assert_eq!(statuses[refused_at], 429, "{statuses:?}");
    assert!(statuses[..refused_at].iter().all(|s| *s == 201), "{statuses:?}");
    let earned = (started.elapsed().as_secs() / 2) as usize;
    assert!((10..=10 + earned + 1).contains(&refused_at), "refused after {refused_at} in {:?}: the burst of 10 and one per 2 s", started.elapsed());
    let retry_after = retry_after.flatten();
    assert!(retry_after.is_some_and(|s| (1..=2).contains(&s)), "{retry_after:?}");
    let mut other = Visitor::new(&host, &channel, Some(SITE));
    other.session().await;
    assert_eq!(other.write("c-0000000001", "hello").await.0, 201, "another visitor is not held back");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_preview_draws_the_saved_settings_with_text_escaped() {
    let host = TestHost::start(HostOptions::default()).await;
    let name = r#"Toko "Budi" </script><script>alert(1)</script>"#;
    let greeting = "Halo! <img src=x onerror=alert(2)> & selamat datang";
    let channel = connect(&host, name, json!({"domain": "tokobudi.co.id", "greeting": greeting, "position": "left", "enabled": false})).await;
    let id = channel["id"].as_str().unwrap();

    let response = host.http.get(format!("{}/webchat/{id}/preview", host.base)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/html; charset=utf-8");
    assert!(response.headers()["content-security-policy"].to_str().unwrap().contains("script-src 'self'"));
    let html = response.text().await.unwrap();
    assert!(!html.contains("</script><script>alert") && !html.contains("<img src=x"), "{html}");
    let config = config_in(&html);
    assert_eq!(config, json!({"name": name, "color": "#1f6feb", "greeting": greeting, "position": "left"}));
    assert!(html.contains("switched off"), "the preview says the widget is off");

    // Unsaved values from the form.
    let url = format!("{}/webchat/{id}/preview?color=%23e4572e&greeting=Hai&position=bottom", host.base);
    let config = config_in(&host.http.get(url).send().await.unwrap().text().await.unwrap());
    assert_eq!((config["color"].as_str(), config["greeting"].as_str(), config["position"].as_str()), (Some("#e4572e"), Some("Hai"), Some("left")));
}

/// The widget configuration a preview page carries.
fn config_in(html: &str) -> Value {
    let start = html.find(r#"id="switchboard-webchat-preview">"#).unwrap() + r#"id="switchboard-webchat-preview">"#.len();
    let end = start + html[start..].find("</script>").unwrap();
    serde_json::from_str(&html[start..end]).unwrap()
}

/// The host, a website on an allowed origin and one on another, and a website chat allowed on
/// the first, its embed snippet on both.
async fn browser_setup() -> (TestHost, Site, Site, String) {
    let host = TestHost::start(HostOptions { local_public_url: true, ..Default::default() }).await;
    let (site, elsewhere) = (Site::start().await, Site::start().await);
    let channel = connect(&host, "Toko Budi", json!({"domain": site.authority, "greeting": "Halo! Ada yang bisa kami bantu?"})).await;
    let snippet = setup_value(&channel, "embed_snippet");
    site.embed(&snippet);
    elsewhere.embed(&snippet);
    (host, site, elsewhere, channel["id"].as_str().unwrap().to_owned())
}

fn scenario(name: &str, host: &TestHost, site: &Site, elsewhere: &Site, channel: &str) -> Value {
    json!({
        "scenario": name, "api": host.base, "agent": host.agent, "admin": host.admin, "channel": channel,
        "page": site.url, "other_page": elsewhere.url,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_chromium_the_widget_chats_live_both_ways_and_keeps_the_history() {
    let (host, site, elsewhere, channel) = browser_setup().await;
    let seen = browser::run("webchat.mjs", &scenario("live", &host, &site, &elsewhere, &channel)).await;
    assert_eq!(seen["ok"], true, "failed at: {}\n{}", seen["step"], seen["error"].as_str().unwrap_or_default());
    println!("webchat in Chromium: agent reply on the page {} ms after the API call", seen["reply_latency_ms"]);

    let visitor_text = r#"Halo kak, <b>bold</b> & "quotes" <img src=x onerror="window.__pwned=1">"#;
    let agent_text = "Siap, kak! <script>window.__pwned=2</script><img src=x onerror=\"window.__pwned=3\"> \u{1F60A}";
    assert_eq!(seen["title"], "Toko Budi");
    assert_eq!(seen["panel_open_before_click"], 0);
    assert_eq!(seen["greeting"], "Halo! Ada yang bisa kami bantu?");
    assert_eq!(seen["inbox_texts"], json!([visitor_text]), "the visitor's message reached the inbox as written");
    let expected_log = json!([
        {"kind": "sb-greeting", "text": "Halo! Ada yang bisa kami bantu?"},
        {"kind": "sb-visitor", "text": visitor_text},
        {"kind": "sb-agent", "text": agent_text},
    ]);
    assert_eq!(seen["log"], expected_log, "the reply appeared without a reload");
    assert_eq!(seen["injected_elements"], 0, "markup in messages stays text");
    assert_eq!(seen["pwned"], Value::Null);
    assert!(seen["reply_latency_ms"].as_u64().unwrap() < 5_000, "{}", seen["reply_latency_ms"]);

    assert_eq!(seen["log_after_reload"], expected_log, "a reload keeps the history");
    assert_eq!(seen["panel_open_after_reload"], 1, "and the open panel");
    let token = seen["token"].as_str().unwrap();
    assert_eq!(seen["token_after_reload"], token, "the visitor keeps their token");
    assert!(token.len() >= 48);
    assert_ne!(seen["visitor_id"], token, "the inbox's visitor id is not the token");

    let returned = seen["log_after_return"].as_array().unwrap();
    assert_eq!(returned.len(), 4, "{returned:?}");
    assert_eq!(returned[3], json!({"kind": "sb-agent", "text": "Pesanan sudah dikirim hari ini."}), "fetched on reconnect");

    // Interactive content (contract 0.1.4): real buttons in the widget; a click is the choice,
    // with the business's own id, which never reached the page.
    assert_eq!(seen["option_buttons"], json!(["Sudah", "Belum"]));
    assert_eq!(seen["offer_text"], "Sudah sampai?", "the widget shows the body, not the numbered text rendering");
    let offer = seen["offer_id"].as_i64().unwrap();
    assert_eq!(
        seen["choice"],
        json!({"id": "order=A-17&action=not-arrived&crm_ticket=88231", "title": "Belum", "message_id": offer, "answers": format!("webchat-out-{offer}"), "by": "tap"})
    );
    assert_eq!(seen["choice_text"], "Belum");
    assert_eq!(seen["business_id_on_page"], false);
    // What the page was given and sends back is the host's short id, not the business's.
    assert_eq!(seen["clicked_body"]["choice"], format!("~{offer}.1"));
    assert_eq!(seen["clicked_body"]["text"], "Belum");

    assert_eq!(seen["other_visitor_has_conversation"], json!(false), "a new visitor's session has no conversation");
    assert_eq!(seen["other_visitor_log"], json!([{"kind": "sb-greeting", "text": "Halo! Ada yang bisa kami bantu?"}]));
    assert_ne!(seen["other_visitor_token"], token);
    assert_eq!(seen["page_errors"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_chromium_other_origins_and_a_switched_off_widget_get_no_chat() {
    let (host, site, elsewhere, channel) = browser_setup().await;
    let seen = browser::run("webchat.mjs", &scenario("refusals", &host, &site, &elsewhere, &channel)).await;
    assert_eq!(seen["ok"], true, "failed at: {}\n{}", seen["step"], seen["error"].as_str().unwrap_or_default());

    let other = &seen["other_origin"];
    // The browser's preflight was refused, so the request never left the page.
    assert_eq!(other["session"]["status"], Value::Null, "{other}");
    assert!(other["session"]["failure"].as_str().is_some_and(|f| f.contains("CORS") || f.contains("ERR_FAILED")), "{other}");
    assert_eq!((other["bubbles"].as_u64(), other["panels"].as_u64()), (Some(0), Some(0)), "{other}");

    let disabled = &seen["disabled"];
    assert_eq!(disabled["session"]["status"], 403, "{disabled}");
    assert_eq!(disabled["session"]["error"], "widget_disabled", "{disabled}");
    assert_eq!((disabled["bubbles"].as_u64(), disabled["panels"].as_u64()), (Some(0), Some(0)), "a disabled widget does not open");

    let again = &seen["enabled_again"];
    assert_eq!(again["session"]["status"], 200, "{again}");
    assert_eq!(again["bubbles"], 1, "the same page draws the widget once it is on: {again}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_chromium_the_preview_draws_the_widget_with_the_forms_values() {
    let (host, site, elsewhere, channel) = browser_setup().await;
    let seen = browser::run("webchat.mjs", &scenario("preview", &host, &site, &elsewhere, &channel)).await;
    assert_eq!(seen["ok"], true, "failed at: {}\n{}", seen["step"], seen["error"].as_str().unwrap_or_default());
    assert_eq!(seen["title"], "Toko Budi");
    assert_eq!(seen["greeting"], "Halo! Ada yang bisa kami bantu?", "the saved greeting");
    assert_eq!(seen["bubble_color"], "rgb(228, 87, 46)", "the colour from the query");
    assert!(seen["bubble_left"].as_f64().unwrap() < 100.0, "drawn bottom left: {}", seen["bubble_left"]);
    assert_eq!(seen["input_disabled"], true, "a preview sends nothing");
    let paths = seen["requests"].as_array().unwrap();
    assert_eq!(paths.len(), 2, "the page and the script, no visitor API: {paths:?}");
    assert_eq!(seen["problems"], json!([]), "no script error or CSP violation");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_sends_a_photo_and_gets_the_agents_pdf_by_a_link_that_needs_no_session() {
    use sha2::{Digest, Sha256};
    let sha = |bytes: &[u8]| hex::encode(Sha256::digest(bytes));
    let host = TestHost::start(HostOptions { media_max_mb: Some(1), ..Default::default() }).await;
    let channel = connect(&host, "Toko Budi", json!({"domain": "tokobudi.co.id"})).await["id"].as_str().unwrap().to_owned();
    let mut visitor = Visitor::new(&host, &channel, Some(SITE));
    visitor.session().await;
    let mut photo = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    photo.extend((0..4000u32).map(|i| (i % 251) as u8));
    let on_disk = |bytes: &[u8]| {
        let sha256 = sha(bytes);
        switchboard::data_dir::media_dir(host.data_dir.path()).join(&sha256[..2]).join(&sha256).exists()
    };
    // A message the plugin refuses (its client id is not one the widget makes) keeps no bytes:
    // a script repeating such uploads would otherwise fill the disk until the pin lapsed.
    let refused = visitor.request(Method::POST, "files?client_id=x").header("content-type", "image/png").body(photo.clone()).send().await.unwrap();
    assert_eq!(refused.status(), 400, "{}", refused.text().await.unwrap());
    assert!(!on_disk(&photo), "the refused message's file is gone");
    let sent = visitor
        .request(Method::POST, "files?client_id=c1234567890&filename=paket%20rusak.png&text=Begini%20kondisinya")
        .header("content-type", "image/jpeg")
        .body(photo.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 201);
    assert_eq!(sent.headers()["access-control-allow-origin"], SITE);
    let sent: Value = sent.json().await.unwrap();
    let file = &sent["message"]["files"][0];
    assert_eq!((file["name"].as_str(), file["mime_type"].as_str(), sent["message"]["text"].as_str()), (Some("paket rusak.png"), Some("image/png"), Some("Begini kondisinya")), "{sent}");
    // The visitor's page loads it by its link, without a session.
    let link = file["url"].as_str().unwrap().replace(PUBLIC_URL, &host.base);
    let loaded = host.http.get(&link).send().await.unwrap();
    assert_eq!(loaded.status(), 200);
    assert_eq!(sha(&loaded.bytes().await.unwrap()), sha(&photo));
    assert!(on_disk(&photo), "a stored message's file is kept where the refused one's would have been");
    // The agent sees it in the inbox.
    let conversation = switchboard_e2e::conversations(&host).await[0]["id"].as_i64().unwrap();
    let (_, thread) = host.get(&format!("/api/v1/conversations/{conversation}/messages"), &host.agent).await;
    let kept = &thread[0]["content"]["attachments"][0];
    assert_eq!((kept["kind"].as_str(), kept["file"]["sha256"].as_str()), (Some("image"), Some(sha(&photo).as_str())), "{thread}");

    // The agent answers with a PDF; the visitor's stream shows it with a working link.
    let mut stream = visitor.stream().await;
    assert_eq!(stream.next().await.0, "snapshot");
    let invoice: Vec<u8> = b"%PDF-1.7\n".iter().copied().chain((0..9000u32).map(|i| (i * 3 % 241) as u8)).collect();
    let uploaded: Value = host.http.post(format!("{}/api/v1/media?filename=faktur.pdf", host.base)).bearer_auth(&host.agent).body(invoice.clone()).send().await.unwrap().json().await.unwrap();
    let (status, queued) = host.post(&format!("/api/v1/conversations/{conversation}/messages"), &host.agent, json!({"file_id": uploaded["id"]})).await;
    assert_eq!(status, 202, "{queued}");
    let (kind, shown) = stream.next().await;
    assert_eq!(kind, "message");
    assert_eq!((shown["from"].as_str(), shown["files"][0]["name"].as_str()), (Some("agent"), Some("faktur.pdf")), "{shown}");
    let link = shown["files"][0]["url"].as_str().unwrap().replace(PUBLIC_URL, &host.base);
    assert_eq!(sha(&host.http.get(&link).send().await.unwrap().bytes().await.unwrap()), sha(&invoice));

    // Too large, and without a visitor token: refused with the reason, nothing stored.
    let big = visitor.request(Method::POST, "files?client_id=c1234567899&filename=big.bin").body(vec![7u8; (1 << 20) + 1]).send().await.unwrap();
    assert_eq!(big.status(), 413);
    let refused: Value = big.json().await.unwrap();
    assert_eq!(refused["message"], "the file is larger than the 1 MB limit");
    let stranger = Visitor::new(&host, &channel, Some(SITE));
    assert_eq!(stranger.request(Method::POST, "files?client_id=c1234567898").body(photo.clone()).send().await.unwrap().status(), 401);
    let (_, thread) = host.get(&format!("/api/v1/conversations/{conversation}/messages"), &host.agent).await;
    assert_eq!(thread.as_array().unwrap().len(), 2, "the photo and the reply only");
    host.assert_store_calls_off_workers().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_chromium_a_visitor_attaches_a_photo_and_downloads_the_agents_pdf() {
    let (host, site, elsewhere, channel) = browser_setup().await;
    let seen = browser::run("webchat.mjs", &scenario("files", &host, &site, &elsewhere, &channel)).await;
    assert_eq!(seen["ok"], true, "failed at: {}\n{}", seen["step"], seen["error"].as_str().unwrap_or_default());
    assert_eq!(seen["visitor_log"], json!([{"kind": "sb-greeting", "text": "Halo! Ada yang bisa kami bantu?"}, {"kind": "sb-visitor", "text": "Paketnya begini"}]));
    assert_eq!(seen["agent_link_text"], "\u{1F4CE} faktur.pdf");
    assert_eq!(seen["agent_file_sha256"], seen["pdf_sha256"], "the visitor got the agent's bytes");
    let (_, thread) = host.get(&format!("/api/v1/conversations/{}/messages", seen["conversation"]), &host.agent).await;
    let photo = &thread[0]["content"]["attachments"][0]["file"];
    assert_eq!((photo["mime_type"].as_str(), photo["filename"].as_str(), photo["size"].as_i64()), (Some("image/png"), Some("paket.png"), Some(70)), "{thread}");
    assert_eq!(seen["page_errors"], json!([]));
}
