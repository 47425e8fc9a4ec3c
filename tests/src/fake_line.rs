//! A fake LINE Messaging API that behaves like the real one (providers.md): a bearer channel
//! access token on every call (401 `{"message":"Authentication failed..."}` otherwise),
//! `GET /v2/bot/info`, `POST /v2/bot/message/reply` with single-use, one-minute reply tokens
//! (`{"message":"Invalid reply token"}` 400 for unknown, used or expired ones),
//! `POST /v2/bot/message/push` with `X-Line-Retry-Key` (a key accepted before answers 409
//! with `x-line-accepted-request-id`), `messages` validated as LINE does, and
//! `{"sentMessages":[{"id","quoteToken"}]}` answers. It records every request, and what
//! reached a LINE user, so tests check what our plugin sent and what a customer saw.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use crate::recorder::{Recorded, Recorder};
use serde_json::{Value, json};

pub const BOT_USER_ID: &str = "U0f5c2a9b8e7d6c5b4a39281706f5e4d3";
pub const BOT_BASIC_ID: &str = "@123abcde";
pub const BOT_DISPLAY_NAME: &str = "Toko Budi";
/// How long LINE honours a reply token.
pub const REPLY_TOKEN_LIFETIME: Duration = Duration::from_secs(60);
pub const AUTH_FAILED: &str = "Authentication failed. Confirm that the access token in the authorization header is valid.";


/// Messages that reached LINE users: one entry per accepted reply or push.
#[derive(Debug, Clone)]
pub struct Delivered {
    /// `reply` or `push`.
    pub via: &'static str,
    /// The user, group or room.
    pub to: String,
    pub messages: Vec<Value>,
    /// The ids LINE gave the messages, in order.
    pub ids: Vec<String>,
}

/// How the next push misbehaves after LINE accepted (and delivered) it.
#[derive(Debug, Clone, Copy)]
enum PushFault {
    /// Answer this 5xx instead of 200.
    Status(u16),
    /// Answer only after this long (the caller times out first).
    Stall(Duration),
}

struct ReplyToken {
    to: String,
    issued: Instant,
    used: bool,
}

#[derive(Default)]
struct FakeState {
    valid_tokens: HashSet<String>,
    received: Recorder,
    delivered: Vec<Delivered>,
    reply_tokens: HashMap<String, ReplyToken>,
    /// Retry key -> (request id that was accepted, its sentMessages).
    accepted_keys: HashMap<String, (String, Value)>,
    push_faults: VecDeque<PushFault>,
    /// Answers to give the next reply or push instead of accepting: (status, body).
    refusals: VecDeque<(u16, Value)>,
    next_id: u64,
    /// The customer's LINE app opens links in messages (LINE fetches image URLs itself).
    links: crate::links::LinkFollower,
}

impl FakeState {
    fn next(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    fn request_id(&mut self) -> String {
        format!("4f7d2c1e-0000-4000-8000-{:012x}", self.next())
    }
}

#[derive(Clone)]
pub struct FakeLine {
    pub base_url: String,
    /// `127.0.0.1:PORT`, for `--allow-outbound`.
    pub authority: String,
    state: Arc<Mutex<FakeState>>,
}

impl FakeLine {
    pub async fn start(valid_token: &str) -> Self {
        let state = Arc::new(Mutex::new(FakeState { next_id: 461_230_966_842_064_000, ..Default::default() }));
        state.lock().unwrap().valid_tokens.insert(valid_token.into());
        let app = Router::new().fallback(handle).with_state(state.clone());
        let (base_url, authority) = crate::serve_fake(app).await;
        Self { base_url, authority, state }
    }

    /// Links to the host's public URL in sends are downloaded from `reach_at`.
    pub fn fetch_links(&self, public_url: &str, reach_at: &str) {
        self.state.lock().unwrap().links.route(public_url, reach_at);
    }

    /// The files downloaded from links in sends: (link, bytes).
    pub fn downloaded_links(&self) -> Vec<(String, Vec<u8>)> {
        self.state.lock().unwrap().links.downloaded()
    }

    /// Another channel access token LINE accepts from now on (a reissued token).
    pub fn accept_token(&self, token: &str) {
        self.state.lock().unwrap().valid_tokens.insert(token.into());
    }

    /// A reply token as LINE puts in a webhook event from `to` (user, group or room).
    pub fn issue_reply_token(&self, to: &str) -> String {
        let mut state = self.state.lock().unwrap();
        let token = format!("{:032x}", state.next());
        state.reply_tokens.insert(token.clone(), ReplyToken { to: to.into(), issued: Instant::now(), used: false });
        token
    }

    /// Makes a reply token older than LINE honours.
    pub fn expire_reply_token(&self, token: &str) {
        let mut state = self.state.lock().unwrap();
        let issued = Instant::now().checked_sub(REPLY_TOKEN_LIFETIME + Duration::from_secs(1)).unwrap();
        state.reply_tokens.get_mut(token).expect("a token this fake issued").issued = issued;
    }

    /// The next push is accepted and delivered, but answered with this 5xx.
    pub fn fail_next_push_after_accepting(&self, status: u16) {
        self.state.lock().unwrap().push_faults.push_back(PushFault::Status(status));
    }

    /// The next push is accepted and delivered, but answered only after `delay`.
    pub fn stall_next_push_after_accepting(&self, delay: Duration) {
        self.state.lock().unwrap().push_faults.push_back(PushFault::Stall(delay));
    }

    /// The next reply or push is refused with this status and LINE error message.
    pub fn refuse_next_send(&self, status: u16, message: &str) {
        self.state.lock().unwrap().refusals.push_back((status, json!({ "message": message })));
    }

    pub fn received(&self) -> Vec<Recorded> {
        self.state.lock().unwrap().received.all()
    }

    /// Requests to one path, e.g. `/v2/bot/message/push`.
    pub fn calls(&self, path: &str) -> Vec<Recorded> {
        self.state.lock().unwrap().received.calls("", path)
    }

    pub fn delivered(&self) -> Vec<Delivered> {
        self.state.lock().unwrap().delivered.clone()
    }
}

fn answer(status: u16, request_id: &str, body: Value) -> Response {
    let mut response = (StatusCode::from_u16(status).unwrap(), axum::Json(body)).into_response();
    response.headers_mut().insert("x-line-request-id", request_id.parse().unwrap());
    response
}

/// LINE's validation error: `{"message":"The request body has N error(s)","details":[...]}`.
fn invalid(details: Vec<(String, &str)>) -> Value {
    let details: Vec<Value> = details.into_iter().map(|(property, message)| json!({ "message": message, "property": property })).collect();
    json!({ "message": format!("The request body has {} error(s)", details.len()), "details": details })
}

fn is_https_url(value: &Value) -> bool {
    value.as_str().is_some_and(|url| url.starts_with("https://") && url.len() <= 2000)
}

/// Checks `messages` as LINE does: 1 to 5 message objects, each valid for its type.
fn check_messages(body: &Value) -> Result<Vec<Value>, Value> {
    let Some(messages) = body.get("messages").and_then(Value::as_array) else {
        return Err(invalid(vec![("messages".into(), "must be specified")]));
    };
    if messages.is_empty() || messages.len() > 5 {
        return Err(invalid(vec![("messages".into(), "Size must be between 1 and 5")]));
    }
    let mut problems = Vec::new();
    for (i, message) in messages.iter().enumerate() {
        let at = |field: &str| format!("messages[{i}].{field}");
        match message.get("type").and_then(Value::as_str) {
            Some("text") => match message.get("text").and_then(Value::as_str) {
                None | Some("") => problems.push((at("text"), "must be specified")),
                Some(text) if text.chars().count() > 5000 => problems.push((at("text"), "Length must be between 0 and 5000")),
                Some(_) => {}
            },
            Some("image" | "video") => {
                for field in ["originalContentUrl", "previewImageUrl"] {
                    if !message.get(field).is_some_and(is_https_url) {
                        problems.push((at(field), "must be a valid HTTPS URL"));
                    }
                }
            }
            Some("template") => template_problems(message, &at, &mut problems),
            Some("sticker" | "audio" | "location" | "imagemap" | "flex") => {}
            _ => problems.push((at("type"), "Invalid message type")),
        }
        if let Some(quick) = message.get("quickReply") {
            let items = quick["items"].as_array().cloned().unwrap_or_default();
            if items.is_empty() || items.len() > 13 {
                problems.push((at("quickReply.items"), "Size must be between 1 and 13"));
            }
            for (j, item) in items.iter().enumerate() {
                if item["type"] != "action" {
                    problems.push((at(&format!("quickReply.items[{j}].type")), "must be action"));
                }
                action_problems(&item["action"], &at(&format!("quickReply.items[{j}].action")), &mut problems);
            }
        }
    }
    if problems.is_empty() { Ok(messages.clone()) } else { Err(invalid(problems)) }
}

/// A buttons template (the one kind this fake reads closely): `altText` 1-1500, `text` 1-160,
/// 1-4 actions; others pass.
fn template_problems(message: &Value, at: &dyn Fn(&str) -> String, problems: &mut Vec<(String, &'static str)>) {
    let chars = |value: &Value| value.as_str().map_or(0, |s| s.chars().count());
    if !(1..=1500).contains(&chars(&message["altText"])) {
        problems.push((at("altText"), "Length must be between 1 and 1500"));
    }
    let template = &message["template"];
    if template["type"] != "buttons" {
        return;
    }
    if !(1..=160).contains(&chars(&template["text"])) {
        problems.push((at("template.text"), "Length must be between 1 and 160"));
    }
    let actions = template["actions"].as_array().cloned().unwrap_or_default();
    if actions.is_empty() || actions.len() > 4 {
        problems.push((at("template.actions"), "Size must be between 1 and 4"));
    }
    for (j, action) in actions.iter().enumerate() {
        action_problems(action, &at(&format!("template.actions[{j}]")), problems);
    }
}

/// An action object: `label` 1-20; a postback's `data` 1-300 (`displayText` at most 300); a
/// uri's `uri` an http(s) or tel URL of at most 1000.
fn action_problems(action: &Value, at: &str, problems: &mut Vec<(String, &'static str)>) {
    let chars = |value: &Value| value.as_str().map_or(0, |s| s.chars().count());
    if !(1..=20).contains(&chars(&action["label"])) {
        problems.push((format!("{at}.label"), "Length must be between 1 and 20"));
    }
    match action["type"].as_str() {
        Some("postback") => {
            if !(1..=300).contains(&chars(&action["data"])) || chars(&action["displayText"]) > 300 {
                problems.push((format!("{at}.data"), "Length must be between 1 and 300"));
            }
        }
        Some("uri") => {
            if !action["uri"].as_str().is_some_and(|u| (u.starts_with("https://") || u.starts_with("http://") || u.starts_with("tel:")) && u.len() <= 1000) {
                problems.push((format!("{at}.uri"), "invalid uri"));
            }
        }
        Some("message" | "datetimepicker" | "camera" | "cameraRoll" | "location" | "clipboard") => {}
        _ => problems.push((format!("{at}.type"), "Invalid action type")),
    }
}

/// `8-4-4-4-12` hex digits, as LINE wants a retry key.
pub fn is_uuid(key: &str) -> bool {
    let groups: Vec<&str> = key.split('-').collect();
    groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12]) && groups.iter().all(|g| g.chars().all(|c| c.is_ascii_hexdigit()))
}

fn is_line_id(to: &str) -> bool {
    let mut chars = to.chars();
    matches!(chars.next(), Some('U' | 'C' | 'R')) && to.len() == 33 && chars.all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
}

async fn handle(State(state): State<Arc<Mutex<FakeState>>>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let path = uri.path().to_owned();
    let parsed = if body.is_empty() { Ok(Value::Null) } else { serde_json::from_slice::<Value>(&body) };
    if let (Ok(sent), true) = (&parsed, method == Method::POST && (path == "/v2/bot/message/push" || path == "/v2/bot/message/reply")) {
        let links = state.lock().unwrap().links.clone();
        links.follow(sent).await;
    }
    let (status, answer_body, stall) = {
        let mut state = state.lock().unwrap();
        let outcome = respond(&mut state, &method, &path, &headers, parsed.as_ref().ok(), parsed.is_err());
        state.received.record(Recorded {
            method: method.to_string(),
            path: path.clone(),
            authorization: header("authorization"),
            headers: header("x-line-retry-key").map(|key| ("x-line-retry-key".to_owned(), key)).into_iter().collect(),
            body: parsed.unwrap_or(Value::Null),
            status: outcome.0,
            ..Default::default()
        });
        outcome
    };
    if let Some(delay) = stall {
        tokio::time::sleep(delay).await;
    }
    let (status, request_id, body) = match answer_body {
        Answer::Plain(body) => (status, state.lock().unwrap().request_id(), body),
        Answer::Accepted { request_id, body } => (status, request_id, body),
        Answer::Conflict { accepted, body } => {
            let mut response = answer(409, &state.lock().unwrap().request_id(), body);
            response.headers_mut().insert("x-line-accepted-request-id", accepted.parse().unwrap());
            return response;
        }
    };
    answer(status, &request_id, body)
}

enum Answer {
    Plain(Value),
    /// A send LINE took: its request id goes in `x-line-request-id`.
    Accepted { request_id: String, body: Value },
    /// A retry key accepted before.
    Conflict { accepted: String, body: Value },
}

type Outcome = (u16, Answer, Option<Duration>);

fn plain(status: u16, body: Value) -> Outcome {
    (status, Answer::Plain(body), None)
}

fn respond(state: &mut FakeState, method: &Method, path: &str, headers: &HeaderMap, body: Option<&Value>, unparsable: bool) -> Outcome {
    let authorization = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let token = authorization.strip_prefix("Bearer ").unwrap_or_default();
    if !state.valid_tokens.contains(token) {
        return plain(401, json!({ "message": AUTH_FAILED }));
    }
    let retry_key = headers.get("x-line-retry-key").and_then(|v| v.to_str().ok());
    match (method.as_str(), path) {
        ("GET", "/v2/bot/info") => plain(
            200,
            json!({
                "userId": BOT_USER_ID, "basicId": BOT_BASIC_ID, "displayName": BOT_DISPLAY_NAME,
                "pictureUrl": "https://profile.line-scdn.net/0hBotPicture", "chatMode": "chat", "markAsReadMode": "manual"
            }),
        ),
        ("POST", "/v2/bot/message/reply" | "/v2/bot/message/push") => {
            let is_json = headers.get("content-type").and_then(|v| v.to_str().ok()).is_some_and(|t| t.starts_with("application/json"));
            let body = match body {
                Some(body) if is_json && !unparsable && body.is_object() => body,
                _ => return plain(400, json!({ "message": "The request body could not be parsed as JSON (line: 1, column: 1)" })),
            };
            let messages = match check_messages(body) {
                Ok(messages) => messages,
                Err(error) => return plain(400, error),
            };
            if path.ends_with("/reply") { reply(state, body, retry_key, messages) } else { push(state, body, retry_key, messages) }
        }
        _ => plain(404, json!({ "message": "Not found" })),
    }
}

fn reply(state: &mut FakeState, body: &Value, retry_key: Option<&str>, messages: Vec<Value>) -> Outcome {
    if retry_key.is_some() {
        // Only push, multicast, narrowcast and broadcast take a retry key.
        return plain(400, json!({ "message": "X-Line-Retry-Key is not supported by this API" }));
    }
    let Some(token) = body.get("replyToken").and_then(Value::as_str).filter(|t| !t.is_empty()) else {
        return plain(400, invalid(vec![("replyToken".into(), "must be specified")]));
    };
    let to = match state.reply_tokens.get_mut(token) {
        Some(issued) if !issued.used && issued.issued.elapsed() < REPLY_TOKEN_LIFETIME => {
            issued.used = true;
            issued.to.clone()
        }
        _ => return plain(400, json!({ "message": "Invalid reply token" })),
    };
    if let Some((status, error)) = state.refusals.pop_front() {
        return plain(status, error);
    }
    let (request_id, sent) = deliver(state, "reply", &to, messages);
    (200, Answer::Accepted { request_id, body: json!({ "sentMessages": sent }) }, None)
}

fn push(state: &mut FakeState, body: &Value, retry_key: Option<&str>, messages: Vec<Value>) -> Outcome {
    let to = body.get("to").and_then(Value::as_str).unwrap_or_default();
    if !is_line_id(to) {
        return plain(400, json!({ "message": "The property, 'to', in the request body is invalid (line: -, column: -)" }));
    }
    if let Some(key) = retry_key {
        if !is_uuid(key) {
            return plain(400, json!({ "message": "The value of the X-Line-Retry-Key header is invalid" }));
        }
        if let Some((accepted, sent)) = state.accepted_keys.get(key) {
            let body = json!({ "message": "The retry key is already accepted", "sentMessages": sent });
            return (409, Answer::Conflict { accepted: accepted.clone(), body }, None);
        }
    }
    if let Some((status, error)) = state.refusals.pop_front() {
        return plain(status, error);
    }
    let (request_id, sent) = deliver(state, "push", to, messages);
    if let Some(key) = retry_key {
        state.accepted_keys.insert(key.to_owned(), (request_id.clone(), sent.clone()));
    }
    match state.push_faults.pop_front() {
        Some(PushFault::Status(status)) => plain(status, json!({ "message": "An error occurred in the internal server" })),
        Some(PushFault::Stall(delay)) => (200, Answer::Accepted { request_id, body: json!({ "sentMessages": sent }) }, Some(delay)),
        None => (200, Answer::Accepted { request_id, body: json!({ "sentMessages": sent }) }, None),
    }
}

/// What LINE puts in `X-Line-Signature` of a webhook delivery:
/// base64(HMAC-SHA256(channel secret, raw body)).
pub fn signature(channel_secret: &str, body: &str) -> String {
    use base64::Engine as _;
    use hmac::Mac as _;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(channel_secret.as_bytes()).expect("any key length");
    mac.update(body.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Hands the messages to the user: they get ids and quote tokens.
fn deliver(state: &mut FakeState, via: &'static str, to: &str, messages: Vec<Value>) -> (String, Value) {
    let ids: Vec<String> = messages.iter().map(|_| state.next().to_string()).collect();
    let sent: Vec<Value> = ids.iter().map(|id| json!({ "id": id, "quoteToken": format!("qt-{id}") })).collect();
    state.delivered.push(Delivered { via, to: to.into(), messages, ids });
    (state.request_id(), Value::Array(sent))
}
