//! A fake Telegram Bot API that behaves like the real one (providers.md): the token in the
//! path (`/bot<TOKEN>/<method>`), 401 `{"ok":false,...}` for a wrong token, parameters as JSON,
//! form or query, `setWebhook` refusing a URL that is not HTTPS or a malformed `secret_token`,
//! and a record of every request it got so tests can check what our plugin sent. Files:
//! `getFile` (refusing files over 20 MB as bots are refused) and `/file/bot<TOKEN>/<file_path>`.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use crate::recorder::{Recorded, Recorder};
use serde_json::{Map, Value, json};

pub const BOT_ID: i64 = 7_000_001;
pub const BOT_USERNAME: &str = "toko_budi_bot";


#[derive(Default)]
struct FakeState {
    valid_token: String,
    received: Recorder,
    /// Answers to give the next `sendMessage` calls instead of succeeding: (status, body).
    scripted_send_failures: VecDeque<(u16, Value, Option<u64>)>,
    next_message_id: i64,
    /// How long `sendMessage` takes to answer: a random time in this range (ms).
    send_latency_ms: (u64, u64),
    /// Chats with a `sendMessage` being answered now.
    sending_to: Vec<String>,
    /// Chats that got a second `sendMessage` while one was being answered (order broken).
    overlapping: Vec<String>,
    /// The most `sendMessage` calls being answered at one time.
    most_at_once: usize,
    /// While `Some(n)`: `n` more `sendMessage` calls go through, the ones after wait (unanswered,
    /// as by a provider that hangs) until `release_sends`.
    send_gate: Option<usize>,
    /// `sendMessage` calls waiting at the gate now.
    sends_waiting: usize,
    /// While true, `setWebhook` calls (a channel's connect) wait, unanswered, until
    /// `release_set_webhook`.
    set_webhook_held: bool,
    /// `setWebhook` calls waiting now.
    set_webhooks_waiting: usize,
    /// Files customers sent: file_id -> (file_path, bytes).
    files: std::collections::HashMap<String, (String, Vec<u8>)>,
    /// Telegram downloads a file sent by URL before answering.
    links: crate::links::LinkFollower,
    /// Messages sent with an inline keyboard: message_id -> (chat, text, reply_markup).
    keyboards: std::collections::HashMap<i64, (i64, String, Value)>,
    /// Callback queries given out (`callback_query`) and not yet answered.
    open_queries: Vec<String>,
    next_query: u64,
}

/// Bots download files up to 20 MB; `getFile` refuses bigger ones.
pub const BOT_DOWNLOAD_LIMIT: usize = 20 << 20;

#[derive(Clone)]
pub struct FakeTelegram {
    pub base_url: String,
    /// `127.0.0.1:PORT`, for `--allow-outbound`.
    pub authority: String,
    state: Arc<Mutex<FakeState>>,
}

impl FakeTelegram {
    pub async fn start(valid_token: &str) -> Self {
        let state = Arc::new(Mutex::new(FakeState { valid_token: valid_token.into(), next_message_id: 500, ..Default::default() }));
        let app = Router::new()
            .route("/file/{bot_token}/{*file_path}", axum::routing::get(download))
            .route("/{bot_token}/{method}", axum::routing::any(handle))
            .with_state(state.clone());
        let (base_url, authority) = crate::serve_fake(app).await;
        Self { base_url, authority, state }
    }

    /// A file a customer sent, as `file_id` (in an update's `photo[].file_id`, `document.file_id`...).
    pub fn add_file(&self, file_id: &str, file_path: &str, bytes: &[u8]) {
        self.state.lock().unwrap().files.insert(file_id.into(), (file_path.into(), bytes.to_vec()));
    }

    /// Links to the host's public URL in sends are downloaded from `reach_at`.
    pub fn fetch_links(&self, public_url: &str, reach_at: &str) {
        self.state.lock().unwrap().links.route(public_url, reach_at);
    }

    /// The files downloaded from links in sends: (link, bytes).
    pub fn downloaded_links(&self) -> Vec<(String, Vec<u8>)> {
        self.state.lock().unwrap().links.downloaded()
    }

    /// The update Telegram delivers when the customer `from` taps the button with
    /// `callback_data` on message `message_id` (one the bot sent with an inline keyboard), as
    /// the Bot API documents it; the query waits for `answerCallbackQuery`.
    pub fn tap(&self, update_id: i64, from: i64, message_id: i64, callback_data: &str) -> Value {
        let mut state = self.state.lock().unwrap();
        let (chat, text, markup) = state.keyboards.get(&message_id).cloned().expect("a message the bot sent with an inline keyboard");
        state.next_query += 1;
        let query_id = format!("{}{}", 4_382_000_000_000_000u64, state.next_query);
        state.open_queries.push(query_id.clone());
        json!({"update_id": update_id, "callback_query": {
            "id": query_id,
            "from": {"id": from, "is_bot": false, "first_name": "Budi"},
            "message": {"message_id": message_id, "from": {"id": BOT_ID, "is_bot": true, "first_name": "Toko Budi", "username": BOT_USERNAME},
                "chat": {"id": chat, "type": "private"}, "date": 1_763_600_000, "text": text, "reply_markup": markup},
            "chat_instance": "-8471726474617489",
            "data": callback_data
        }})
    }

    /// Callback queries not answered yet (the customer's client still spins).
    pub fn unanswered_queries(&self) -> Vec<String> {
        self.state.lock().unwrap().open_queries.clone()
    }

    pub fn received(&self) -> Vec<Recorded> {
        self.state.lock().unwrap().received.all()
    }

    /// Requests of one Bot API method.
    pub fn calls(&self, method: &str) -> Vec<Recorded> {
        self.state.lock().unwrap().received.calls("", method)
    }

    /// Makes the next `sendMessage` fail with this status and Telegram error body.
    pub fn fail_next_send(&self, status: u16, description: &str, retry_after: Option<u64>) {
        let mut body = json!({"ok": false, "error_code": status, "description": description});
        if let Some(seconds) = retry_after {
            body["parameters"] = json!({"retry_after": seconds});
        }
        self.state.lock().unwrap().scripted_send_failures.push_back((status, body, None));
    }

    /// Makes the next `sendMessage` answer 429 with the wait only in a `Retry-After` header.
    pub fn rate_limit_next_send_by_header(&self, retry_after: u64) {
        let body = json!({"ok": false, "error_code": 429, "description": "Too Many Requests"});
        self.state.lock().unwrap().scripted_send_failures.push_back((429, body, Some(retry_after)));
    }

    /// `sendMessage` answers after a random time between these (ms); a long one is a hang.
    pub fn answer_sends_after(&self, min_ms: u64, max_ms: u64) {
        self.state.lock().unwrap().send_latency_ms = (min_ms, max_ms.max(min_ms));
    }

    /// From now on `sendMessage` calls after the next `let_through` wait, unanswered, until
    /// [`FakeTelegram::release_sends`]: a test decides when they go on instead of a timer.
    pub fn hold_sends_after(&self, let_through: usize) {
        self.state.lock().unwrap().send_gate = Some(let_through);
    }

    /// The held `sendMessage` calls go on, and the ones after them.
    pub fn release_sends(&self) {
        self.state.lock().unwrap().send_gate = None;
    }

    /// `sendMessage` calls waiting at the gate now (each is a send the host has in flight).
    pub fn sends_waiting(&self) -> usize {
        self.state.lock().unwrap().sends_waiting
    }

    /// From now on `setWebhook` calls wait, unanswered, until [`FakeTelegram::release_set_webhook`].
    pub fn hold_set_webhook(&self) {
        self.state.lock().unwrap().set_webhook_held = true;
    }

    /// The held `setWebhook` calls are answered, and the ones after them at once.
    pub fn release_set_webhook(&self) {
        self.state.lock().unwrap().set_webhook_held = false;
    }

    /// `setWebhook` calls waiting now.
    pub fn set_webhooks_waiting(&self) -> usize {
        self.state.lock().unwrap().set_webhooks_waiting
    }

    /// Chats that got a message while the one before it was still being answered.
    pub fn overlapping_sends(&self) -> Vec<String> {
        self.state.lock().unwrap().overlapping.clone()
    }

    /// The most sends that were being answered at one time.
    pub fn most_sends_at_once(&self) -> usize {
        self.state.lock().unwrap().most_at_once
    }
}

fn answer(status: u16, body: Value) -> Response {
    (StatusCode::from_u16(status).unwrap(), axum::Json(body)).into_response()
}

fn bad_request(description: &str) -> Response {
    answer(400, json!({"ok": false, "error_code": 400, "description": format!("Bad Request: {description}")}))
}

/// Telegram takes parameters in the query string, as a form, or as JSON.
fn parameters(query: Option<&str>, headers: &HeaderMap, body: &[u8]) -> Result<Map<String, Value>, Box<Response>> {
    let mut params = Map::new();
    let mut add_pairs = |text: &str| {
        for (k, v) in url_pairs(text) {
            params.insert(k, Value::String(v));
        }
    };
    if let Some(query) = query {
        add_pairs(query);
    }
    let content_type = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
    if body.is_empty() {
        return Ok(params);
    }
    if content_type.starts_with("application/json") {
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(map)) => params.extend(map),
            _ => return Err(Box::new(bad_request("can't parse JSON object"))),
        }
    } else if content_type.starts_with("application/x-www-form-urlencoded") {
        add_pairs(&String::from_utf8_lossy(body));
    } else {
        return Err(Box::new(bad_request("unsupported content type")));
    }
    Ok(params)
}

fn url_pairs(text: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(text.as_bytes()).into_owned().collect()
}

fn text_param(params: &Map<String, Value>, key: &str) -> Option<String> {
    match params.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

async fn handle(
    State(state): State<Arc<Mutex<FakeState>>>,
    Path((bot_token, method)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let arrived = SystemTime::now();
    let Some(token) = bot_token.strip_prefix("bot") else {
        return answer(404, json!({"ok": false, "error_code": 404, "description": "Not Found"}));
    };
    let params = match parameters(query.as_deref(), &headers, &body) {
        Ok(params) => params,
        Err(response) => return *response,
    };
    if method.starts_with("send") {
        let links = state.lock().unwrap().links.clone();
        links.follow(&Value::Object(params.clone())).await;
    }
    if method == "sendMessage" {
        pass_send_gate(&state).await;
    }
    if method == "setWebhook" {
        // Counted until answered, or until the client gave up and the request was dropped.
        let _waiting = WaitingSetWebhook::start(&state);
        while state.lock().unwrap().set_webhook_held {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    // A send is answered after the latency set; meanwhile its chat counts as being sent to
    // (until answered, or until the client gave up and the request was dropped).
    let _sending = match text_param(&params, "chat_id").filter(|_| method == "sendMessage") {
        Some(chat) => {
            let (sending, pause) = Sending::start(&state, chat);
            tokio::time::sleep(pause).await;
            Some(sending)
        }
        None => None,
    };
    respond(&mut state.lock().unwrap(), token, &method, &params, arrived)
}

/// Returns once the gate lets this `sendMessage` through (at once when no gate is set).
async fn pass_send_gate(state: &Arc<Mutex<FakeState>>) {
    let mut waiting: Option<WaitingSend> = None;
    loop {
        let passes = {
            let mut locked = state.lock().unwrap();
            let passes = match locked.send_gate {
                None => true,
                Some(0) => false,
                Some(n) => {
                    locked.send_gate = Some(n - 1);
                    true
                }
            };
            if !passes && waiting.is_none() {
                locked.sends_waiting += 1;
                waiting = Some(WaitingSend(state.clone()));
            }
            passes
        };
        if passes {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A `setWebhook` counted as waiting while held (until answered, or until the client gave up).
struct WaitingSetWebhook(Arc<Mutex<FakeState>>);

impl WaitingSetWebhook {
    fn start(state: &Arc<Mutex<FakeState>>) -> Self {
        state.lock().unwrap().set_webhooks_waiting += 1;
        Self(state.clone())
    }
}

impl Drop for WaitingSetWebhook {
    fn drop(&mut self) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).set_webhooks_waiting -= 1;
    }
}

/// A `sendMessage` counted as waiting at the gate until it goes on (or the client gave up).
struct WaitingSend(Arc<Mutex<FakeState>>);

impl Drop for WaitingSend {
    fn drop(&mut self) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).sends_waiting -= 1;
    }
}

/// `GET /file/bot<token>/<file_path>`: the bytes (Telegram keeps neither name nor type: the
/// answer is `application/octet-stream`).
async fn download(State(state): State<Arc<Mutex<FakeState>>>, Path((bot_token, file_path)): Path<(String, String)>) -> Response {
    let state = state.lock().unwrap();
    if bot_token.strip_prefix("bot") != Some(state.valid_token.as_str()) {
        return answer(401, json!({"ok": false, "error_code": 401, "description": "Unauthorized"}));
    }
    match state.files.values().find(|(path, _)| *path == file_path) {
        Some((_, bytes)) => ([("content-type", "application/octet-stream")], bytes.clone()).into_response(),
        None => answer(404, json!({"ok": false, "error_code": 404, "description": "Not Found"})),
    }
}

struct Sending {
    state: Arc<Mutex<FakeState>>,
    chat: String,
}

impl Sending {
    fn start(state: &Arc<Mutex<FakeState>>, chat: String) -> (Self, Duration) {
        let mut locked = state.lock().unwrap();
        if locked.sending_to.contains(&chat) {
            locked.overlapping.push(chat.clone());
        }
        locked.sending_to.push(chat.clone());
        locked.most_at_once = locked.most_at_once.max(locked.sending_to.len());
        let (min, max) = locked.send_latency_ms;
        let pause = Duration::from_millis(if max > min { rand::random_range(min..=max) } else { min });
        (Self { state: state.clone(), chat }, pause)
    }
}

impl Drop for Sending {
    fn drop(&mut self) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(at) = state.sending_to.iter().position(|c| *c == self.chat) {
            state.sending_to.remove(at);
        }
    }
}

/// What Telegram refuses in a `reply_markup` (as JSON; the Bot API's error text), if anything:
/// inline buttons need a text and exactly one of `url` / `callback_data` (1-64 bytes); reply
/// keyboard buttons need a text.
fn reply_markup_problem(markup: &Value) -> Option<String> {
    let rows = |key: &str| markup.get(key).map(|rows| rows.as_array().cloned().unwrap_or_default());
    if let Some(rows) = rows("inline_keyboard") {
        for button in rows.iter().flat_map(|row| row.as_array().cloned().unwrap_or_default()) {
            if button["text"].as_str().is_none_or(|t| t.trim().is_empty()) {
                return Some("Bad Request: text buttons are unallowed in the inline keyboard".into());
            }
            match (button.get("url").and_then(Value::as_str), button.get("callback_data").and_then(Value::as_str)) {
                (Some(url), None) if url.starts_with("https://") || url.starts_with("http://") => {}
                (Some(_), None) => return Some("Bad Request: BUTTON_URL_INVALID".into()),
                (None, Some(data)) if (1..=64).contains(&data.len()) => {}
                (None, Some(_)) => return Some("Bad Request: BUTTON_DATA_INVALID".into()),
                _ => return Some("Bad Request: can't parse inline keyboard button: exactly one of the optional fields must be used".into()),
            }
        }
        return None;
    }
    if let Some(rows) = rows("keyboard") {
        let texts_ok = rows.iter().flat_map(|row| row.as_array().cloned().unwrap_or_default()).all(|b| b["text"].as_str().is_some_and(|t| !t.is_empty()));
        return (!texts_ok).then(|| "Bad Request: keyboard button text is empty".into());
    }
    Some("Bad Request: can't parse reply keyboard markup JSON object".into())
}

/// The answer to one call, as Telegram gives it (recorded when it is answered, with the time
/// it arrived).
fn respond(state: &mut FakeState, token: &str, method: &str, params: &Map<String, Value>, arrived: SystemTime) -> Response {
    state.received.record(Recorded {
        method: "POST".into(),
        path: method.to_owned(),
        body: Value::Object(params.clone()),
        details: [("token".to_owned(), token.to_owned())].into(),
        arrived: Some(arrived),
        ..Default::default()
    });
    if token != state.valid_token {
        return answer(401, json!({"ok": false, "error_code": 401, "description": "Unauthorized"}));
    }
    match method {
        "getMe" => answer(200, json!({"ok": true, "result": {
            "id": BOT_ID, "is_bot": true, "first_name": "Toko Budi", "username": BOT_USERNAME,
            "can_join_groups": true, "can_read_all_group_messages": false, "supports_inline_queries": false
        }})),
        "setWebhook" => {
            let Some(url) = text_param(&params, "url") else { return bad_request("bad webhook: URL must be provided") };
            if !url.starts_with("https://") {
                return bad_request("bad webhook: An HTTPS URL must be provided for webhook");
            }
            if let Some(secret) = text_param(&params, "secret_token") {
                let valid = (1..=256).contains(&secret.len())
                    && secret.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
                if !valid {
                    return bad_request("secret token contains unallowed characters");
                }
            }
            answer(200, json!({"ok": true, "result": true, "description": "Webhook was set"}))
        }
        "getFile" => {
            let Some(file_id) = text_param(params, "file_id") else { return bad_request("file_id is empty") };
            match state.files.get(&file_id) {
                Some((_, bytes)) if bytes.len() > BOT_DOWNLOAD_LIMIT => bad_request("file is too big"),
                Some((path, bytes)) => answer(200, json!({"ok": true, "result": {
                    "file_id": file_id, "file_unique_id": format!("u{file_id}"), "file_size": bytes.len(), "file_path": path
                }})),
                None => bad_request("wrong file_id or the file is temporarily unavailable"),
            }
        }
        "answerCallbackQuery" => {
            let Some(id) = text_param(params, "callback_query_id") else { return bad_request("query_id is empty") };
            if text_param(params, "text").is_some_and(|text| text.chars().count() > 200) {
                return bad_request("MESSAGE_TOO_LONG");
            }
            match state.open_queries.iter().position(|open| *open == id) {
                Some(at) => {
                    state.open_queries.remove(at);
                    answer(200, json!({"ok": true, "result": true}))
                }
                None => bad_request("query is too old and response timeout expired or query ID is invalid"),
            }
        }
        "deleteWebhook" => answer(200, json!({"ok": true, "result": true, "description": "Webhook was deleted"})),
        "sendPhoto" | "sendDocument" | "sendVideo" | "sendAudio" | "sendVoice" | "sendSticker" => {
            let field = method.trim_start_matches("send").to_ascii_lowercase();
            let Some(chat_id) = text_param(params, "chat_id") else { return bad_request("chat_id is empty") };
            let Some(file) = text_param(params, &field) else { return bad_request(&format!("there is no {field} in the request")) };
            let Ok(chat) = chat_id.parse::<i64>() else { return bad_request("chat not found") };
            if file.starts_with("http") && !state.links.downloaded().iter().any(|(link, _)| *link == file) {
                return bad_request("failed to get HTTP URL content");
            }
            state.next_message_id += 1;
            answer(200, json!({"ok": true, "result": {
                "message_id": state.next_message_id,
                "from": {"id": BOT_ID, "is_bot": true, "first_name": "Toko Budi", "username": BOT_USERNAME},
                "chat": {"id": chat, "type": "private"}, "date": 1_763_600_000,
                field: {"file_id": format!("sent-{}", state.next_message_id), "file_unique_id": "x"}
            }}))
        }
        "sendMessage" => {
            let Some(chat_id) = text_param(&params, "chat_id") else { return bad_request("chat_id is empty") };
            let text = text_param(&params, "text").unwrap_or_default();
            if text.trim().is_empty() {
                return bad_request("message text is empty");
            }
            if let Some((status, body, retry_after)) = state.scripted_send_failures.pop_front() {
                let mut response = answer(status, body);
                if let Some(seconds) = retry_after {
                    response.headers_mut().insert("retry-after", seconds.into());
                }
                return response;
            }
            // A JSON object in a JSON body, a JSON-serialized string in a form.
            let markup = params.get("reply_markup").map(|m| match m {
                Value::String(text) => serde_json::from_str(text).unwrap_or(Value::Null),
                other => other.clone(),
            });
            if let Some(problem) = markup.as_ref().and_then(reply_markup_problem) {
                return bad_request(&problem);
            }
            let Ok(chat) = chat_id.parse::<i64>() else { return bad_request("chat not found") };
            state.next_message_id += 1;
            let mut message = json!({
                "message_id": state.next_message_id,
                "from": {"id": BOT_ID, "is_bot": true, "first_name": "Toko Budi", "username": BOT_USERNAME},
                "chat": {"id": chat, "type": "private"},
                "date": 1_763_600_000,
                "text": text
            });
            // A sent message carries its inline keyboard (not a reply keyboard).
            if let Some(markup) = markup.filter(|m| m.get("inline_keyboard").is_some()) {
                message["reply_markup"] = markup.clone();
                state.keyboards.insert(state.next_message_id, (chat, text, markup));
            }
            answer(200, json!({"ok": true, "result": message}))
        }
        _ => answer(404, json!({"ok": false, "error_code": 404, "description": "Not Found: method not found"})),
    }
}
