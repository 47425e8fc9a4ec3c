//! A fake Meta Graph API for the WhatsApp Cloud API (providers.md): `Authorization: Bearer`
//! checked on every call (190 otherwise), `appsecret_proof` required and checked (the app's
//! "Require app secret" switch on), phone numbers and business accounts by id (code 100 for an
//! unknown one), sends checked field by field against the documented bodies, message templates
//! kept with Meta's rules, and a record of every request so tests can see what our plugin sent.
//!
//! Embedded Signup with the operator's app ([`APP_ID`], [`CONFIG_ID`]): the login dialog (a
//! 302 back with a code, for the right app and configuration only), the code exchange for a
//! business token (same `redirect_uri`, once), `debug_token` with the app token (the shared
//! account in `granular_scopes`), `{waba}/phone_numbers`, `{phone}/register` (a 6-digit PIN)
//! and `{waba}/subscribed_apps` (`POST`/`DELETE`, tracked).
//!
//! Media (providers.md, "Media, per provider"): `GET /{media-id}` answers the URL, MIME type,
//! SHA-256 and size (a string); the URL serves the bytes only with the same `Bearer` token,
//! and 404 once the media expired.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, Mac};
use crate::recorder::{Recorded, Recorder};
use serde_json::{Value, json};

use crate::{ScriptedAnswer, serve_fake};
use sha2::Sha256;

pub const GRAPH_VERSION: &str = "v21.0";
pub const PHONE_NUMBER_ID: &str = "106540352242922";
pub const DISPLAY_PHONE_NUMBER: &str = "+62 812-0000-0001";
pub const VERIFIED_NAME: &str = "Toko Budi";
pub const BUSINESS_ACCOUNT_ID: &str = "102290129340398";
/// The operator's Meta app (a Tech Provider's) and its Embedded Signup configuration.
pub const APP_ID: &str = "1517394850077777";
pub const CONFIG_ID: &str = "771234567890123";
/// Templates come back at most this many to a page, whatever `limit` asks: plugins must follow `paging`.
const PAGE_SIZE: usize = 2;

/// `sha256=<hex HMAC-SHA256(app secret, body)>`: what Meta puts in `X-Hub-Signature-256`.
pub fn signature(app_secret: &str, body: &[u8]) -> String {
    format!("sha256={}", hex::encode(hmac(app_secret, body)))
}

/// `appsecret_proof`: hex HMAC-SHA256(app secret, access token).
pub fn appsecret_proof(app_secret: &str, token: &str) -> String {
    hex::encode(hmac(app_secret, token.as_bytes()))
}

fn hmac(key: &str, message: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

/// Graph's error shape.
pub fn graph_error(code: i64, message: &str, details: Option<&str>) -> Value {
    let mut error = json!({"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "AfakeTrace123"});
    if let Some(details) = details {
        error["error_data"] = json!({"messaging_product": "whatsapp", "details": details});
    }
    json!({"error": error})
}


#[derive(Debug, Clone, PartialEq)]
pub struct FakeTemplate {
    pub id: String,
    pub name: String,
    pub language: String,
    pub category: String,
    pub status: String,
    pub body: String,
    /// The `BUTTONS` component's buttons, as created.
    pub buttons: Vec<Value>,
}

struct FakeState {
    token: String,
    app_secret: String,
    /// id -> (display phone number, verified name)
    phone_numbers: BTreeMap<String, (String, String)>,
    business_accounts: Vec<String>,
    received: Recorder,
    send_failures: VecDeque<ScriptedAnswer>,
    templates: Vec<FakeTemplate>,
    next_id: u64,
    /// Embedded Signup codes not yet exchanged: code -> the dialog's redirect_uri.
    codes: HashMap<String, String>,
    /// Business tokens the code exchange issued (each works like the system user's token).
    business_tokens: Vec<String>,
    /// Accounts the app is subscribed to.
    subscribed: BTreeSet<String>,
    /// Registered numbers: phone number id -> PIN.
    registered: BTreeMap<String, String>,
    /// Media customers sent: id -> (bytes, MIME type); downloads of `expired` ones answer 404.
    media: HashMap<String, (Vec<u8>, String)>,
    expired: BTreeSet<String>,
    base_url: String,
    /// Meta downloads media sent by `link` when it takes the message.
    links: crate::links::LinkFollower,
}

#[derive(Clone)]
pub struct FakeGraph {
    pub base_url: String,
    /// `127.0.0.1:PORT`, for `--allow-outbound`.
    pub authority: String,
    state: Arc<Mutex<FakeState>>,
}

impl FakeGraph {
    /// Knows one phone number ([`PHONE_NUMBER_ID`]) in one business account ([`BUSINESS_ACCOUNT_ID`]).
    pub async fn start(token: &str, app_secret: &str) -> Self {
        let state = Arc::new(Mutex::new(FakeState {
            token: token.into(),
            app_secret: app_secret.into(),
            phone_numbers: BTreeMap::from([(PHONE_NUMBER_ID.into(), (DISPLAY_PHONE_NUMBER.into(), VERIFIED_NAME.into()))]),
            business_accounts: vec![BUSINESS_ACCOUNT_ID.into()],
            received: Recorder::default(),
            send_failures: VecDeque::new(),
            templates: Vec::new(),
            next_id: 1,
            codes: HashMap::new(),
            business_tokens: Vec::new(),
            subscribed: BTreeSet::new(),
            registered: BTreeMap::new(),
            media: HashMap::new(),
            expired: BTreeSet::new(),
            base_url: String::new(),
            links: Default::default(),
        }));
        let app = Router::new()
            .route("/lookaside/{media_id}", axum::routing::get(download))
            .route("/{version}/{*path}", axum::routing::any(handle))
            .with_state(state.clone());
        let (base_url, authority) = serve_fake(app).await;
        state.lock().unwrap().base_url = base_url.clone();
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

    /// A file a customer sent, under media id `id` (as in a webhook's `image.id`).
    pub fn add_media(&self, id: &str, bytes: &[u8], mime_type: &str) {
        self.state.lock().unwrap().media.insert(id.into(), (bytes.to_vec(), mime_type.into()));
    }

    /// The media's download URL answers 404 from now on (as after its 5 minutes, or once
    /// Meta deleted it).
    pub fn expire_media(&self, id: &str) {
        self.state.lock().unwrap().expired.insert(id.into());
    }

    /// Another phone number of the same business account.
    pub fn add_phone_number(&self, id: &str, display: &str, name: &str) {
        self.state.lock().unwrap().phone_numbers.insert(id.into(), (display.into(), name.into()));
    }

    pub fn received(&self) -> Vec<Recorded> {
        self.state.lock().unwrap().received.all()
    }

    /// The business accounts the app is subscribed to.
    pub fn subscribed_accounts(&self) -> Vec<String> {
        self.state.lock().unwrap().subscribed.iter().cloned().collect()
    }

    /// The PIN a number was registered with, if it was.
    pub fn registered_pin(&self, phone_number_id: &str) -> Option<String> {
        self.state.lock().unwrap().registered.get(phone_number_id).cloned()
    }

    /// Requests with this method and path (below the version).
    pub fn calls(&self, method: &str, path: &str) -> Vec<Recorded> {
        self.state.lock().unwrap().received.calls(method, path)
    }

    /// The accepted and refused `POST {phone}/messages` bodies, in order.
    pub fn sends(&self) -> Vec<Recorded> {
        self.received().into_iter().filter(|r| r.method == "POST" && r.path.ends_with("/messages")).collect()
    }

    /// Makes the next send fail with this HTTP status and Graph error (and `Retry-After`).
    pub fn fail_next_send(&self, status: u16, code: i64, message: &str, details: Option<&str>, retry_after: Option<u64>) {
        let body = graph_error(code, message, details);
        self.state.lock().unwrap().send_failures.push_back(ScriptedAnswer { status, body, retry_after });
    }

    /// A template as Meta keeps it (e.g. one approved long ago).
    pub fn add_template(&self, name: &str, language: &str, category: &str, status: &str, body: &str) {
        let mut state = self.state.lock().unwrap();
        let id = state.next_id();
        let template = FakeTemplate { id, name: name.into(), language: language.into(), category: category.into(), status: status.into(), body: body.into(), buttons: Vec::new() };
        state.templates.push(template);
    }

    pub fn templates(&self) -> Vec<FakeTemplate> {
        self.state.lock().unwrap().templates.clone()
    }

    /// Meta's review: every pending template becomes approved.
    pub fn approve_pending_templates(&self) {
        for template in &mut self.state.lock().unwrap().templates {
            if template.status == "PENDING" {
                template.status = "APPROVED".into();
            }
        }
    }
}

impl FakeState {
    fn next_id(&mut self) -> String {
        self.next_id += 1;
        format!("{}", 900_000_000 + self.next_id)
    }
}

fn answer(status: u16, body: Value) -> Response {
    ScriptedAnswer { status, body, retry_after: None }.into_response()
}

fn invalid(message: &str) -> Response {
    answer(400, graph_error(100, message, None))
}

fn no_such_object(method: &Method, id: &str) -> Response {
    let verb = method.as_str().to_lowercase();
    invalid(&format!(
        "Unsupported {verb} request. Object with ID '{id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation. Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api"
    ))
}

async fn handle(
    State(state): State<Arc<Mutex<FakeState>>>,
    Path((version, path)): Path<(String, String)>,
    method: Method,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let query: BTreeMap<String, String> = form_urlencoded::parse(query.unwrap_or_default().as_bytes()).into_owned().collect();
    let authorization = headers.get("authorization").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let json_body = if body.is_empty() { Value::Null } else { serde_json::from_slice(&body).unwrap_or(Value::String("<not JSON>".into())) };
    if method == Method::POST && path.ends_with("/messages") {
        let links = state.lock().unwrap().links.clone();
        links.follow(&json_body).await;
    }
    let mut state = state.lock().unwrap();
    state.received.record(Recorded {
        method: method.to_string(),
        path: path.clone(),
        query: query.clone(),
        authorization: authorization.clone(),
        body: json_body.clone(),
        ..Default::default()
    });

    if version != GRAPH_VERSION {
        return answer(400, graph_error(2500, "Unknown path components", None));
    }
    if let Some(response) = embedded_signup(&mut state, &method, &path, &query) {
        return response;
    }
    let token = authorization.as_deref().and_then(|a| a.strip_prefix("Bearer ")).unwrap_or_default().to_owned();
    if token != state.token && !state.business_tokens.contains(&token) {
        return answer(401, graph_error(190, "Invalid OAuth access token - Cannot parse access token", None));
    }
    match query.get("appsecret_proof") {
        None => return invalid("API calls from the server require an appsecret_proof argument"),
        Some(proof) if *proof != appsecret_proof(&state.app_secret, &token) => {
            return invalid("Invalid appsecret_proof provided in the API argument");
        }
        Some(_) => {}
    }
    let segments: Vec<&str> = path.split('/').collect();
    match (&method, segments.as_slice()) {
        (&Method::GET, [id]) if state.media.contains_key(*id) => {
            let (bytes, mime_type) = &state.media[*id];
            let sha256 = hex::encode(<Sha256 as sha2::Digest>::digest(bytes));
            answer(200, json!({
                "messaging_product": "whatsapp", "url": format!("{}/lookaside/{id}?ext=1763600000", state.base_url),
                "mime_type": mime_type, "sha256": sha256, "file_size": bytes.len().to_string(), "id": id
            }))
        }
        (&Method::GET, [id]) => match state.phone_numbers.get(*id) {
            Some((display, name)) => answer(200, json!({
                "verified_name": name, "display_phone_number": display, "id": id, "quality_rating": "GREEN"
            })),
            None => no_such_object(&method, id),
        },
        (&Method::POST | &Method::DELETE, [waba, "subscribed_apps"]) if state.business_accounts.iter().any(|w| w == waba) => {
            if method == Method::POST {
                state.subscribed.insert(waba.to_string());
            } else {
                state.subscribed.remove(*waba);
            }
            answer(200, json!({"success": true}))
        }
        (&Method::GET, [waba, "phone_numbers"]) if state.business_accounts.iter().any(|w| w == waba) => {
            let numbers: Vec<Value> = state
                .phone_numbers
                .iter()
                .map(|(id, (display, name))| json!({"verified_name": name, "code_verification_status": "VERIFIED",
                                                    "display_phone_number": display, "quality_rating": "GREEN", "id": id}))
                .collect();
            answer(200, json!({"data": numbers, "paging": {"cursors": {"before": "QVFI", "after": "QVFJ"}}}))
        }
        (&Method::POST, [phone, "register"]) if state.phone_numbers.contains_key(*phone) => {
            let pin = json_body["pin"].as_str().unwrap_or_default();
            if json_body["messaging_product"] != "whatsapp" || pin.len() != 6 || !pin.chars().all(|c| c.is_ascii_digit()) {
                return invalid("(#100) Param pin must be a 6-digit string and messaging_product whatsapp");
            }
            state.registered.insert(phone.to_string(), pin.to_owned());
            answer(200, json!({"success": true}))
        }
        (&Method::POST, [phone, "messages"]) if state.phone_numbers.contains_key(*phone) => send(&mut state, &json_body),
        (_, [waba, "message_templates"]) if state.business_accounts.iter().any(|w| w == waba) => {
            templates(&mut state, &method, &query, &json_body, waba)
        }
        (_, [id, ..]) => no_such_object(&method, id),
        _ => answer(400, graph_error(2500, "Unknown path components", None)),
    }
}

/// The media URL: the bytes, only with the token (Meta refuses the download without it).
async fn download(State(state): State<Arc<Mutex<FakeState>>>, Path(media_id): Path<String>, headers: HeaderMap) -> Response {
    let state = state.lock().unwrap();
    let token = headers.get("authorization").and_then(|v| v.to_str().ok()).and_then(|a| a.strip_prefix("Bearer ")).unwrap_or_default();
    if token != state.token && !state.business_tokens.iter().any(|t| t == token) {
        return (StatusCode::UNAUTHORIZED, "").into_response();
    }
    match state.media.get(&media_id) {
        Some((bytes, mime_type)) if !state.expired.contains(&media_id) => ([("content-type", mime_type.clone())], bytes.clone()).into_response(),
        _ => (StatusCode::NOT_FOUND, "").into_response(),
    }
}

/// Checks a send exactly as providers.md documents it; answers Meta's success shape.
fn send(state: &mut FakeState, body: &Value) -> Response {
    if let Err(problem) = check_send(body) {
        return answer(400, graph_error(100, &format!("(#100) {problem}"), None));
    }
    if let Some(failure) = state.send_failures.pop_front() {
        return failure.into_response();
    }
    if let Some((code, message)) = template_problem(state, body) {
        return answer(400, graph_error(code, message, None));
    }
    let to = body["to"].clone();
    let id = format!("wamid.HBgN{}", state.next_id());
    answer(200, json!({"messaging_product": "whatsapp", "contacts": [{"input": to, "wa_id": to}], "messages": [{"id": id}]}))
}

fn keys_are(object: &Value, allowed: &[&str], required: &[&str]) -> Result<(), String> {
    let map = object.as_object().ok_or("expected an object")?;
    if let Some(key) = map.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(format!("Param {key} is not a valid parameter"));
    }
    if let Some(key) = required.iter().find(|k| !map.contains_key(**k)) {
        return Err(format!("The parameter {key} is required."));
    }
    Ok(())
}

fn check_send(body: &Value) -> Result<(), String> {
    let kind = body["type"].as_str().ok_or("The parameter type is required.")?;
    keys_are(body, &["messaging_product", "recipient_type", "to", "type", kind, "context"], &["messaging_product", "to", "type", kind])?;
    if body["messaging_product"] != "whatsapp" || body["recipient_type"] != "individual" {
        return Err("messaging_product must be whatsapp and recipient_type individual".into());
    }
    let to = body["to"].as_str().unwrap_or_default();
    if to.is_empty() || !to.chars().all(|c| c.is_ascii_digit()) {
        return Err("Invalid parameter to".into());
    }
    if !body["context"].is_null() {
        keys_are(&body["context"], &["message_id"], &["message_id"])?;
    }
    let object = &body[kind];
    match kind {
        "text" => {
            keys_are(object, &["body", "preview_url"], &["body"])?;
            if object["body"].as_str().is_none_or(|b| b.trim().is_empty()) {
                return Err("Param text['body'] must be a non-empty string".into());
            }
        }
        "image" | "video" | "document" | "audio" | "sticker" => {
            let allowed: &[&str] = match kind {
                "document" => &["link", "caption", "filename"],
                "image" | "video" => &["link", "caption"],
                _ => &["link"],
            };
            keys_are(object, allowed, &["link"])?;
            if !object["link"].as_str().is_some_and(|l| l.starts_with("https://") || l.starts_with("http://")) {
                return Err(format!("Param {kind}['link'] must be a URL"));
            }
        }
        "template" => {
            keys_are(object, &["name", "language", "components"], &["name", "language"])?;
            keys_are(&object["language"], &["policy", "code"], &["code"])?;
            if !object["components"].is_null() {
                for component in object["components"].as_array().ok_or("components must be a list")? {
                    match component["type"].as_str() {
                        Some("button") => {
                            keys_are(component, &["type", "sub_type", "index", "parameters"], &["type", "sub_type", "index", "parameters"])?;
                            let parameters = component["parameters"].as_array().ok_or("button parameters must be a list")?;
                            for parameter in parameters {
                                match component["sub_type"].as_str() {
                                    Some("quick_reply") => keys_are(parameter, &["type", "payload"], &["type", "payload"])?,
                                    Some("url") => keys_are(parameter, &["type", "text"], &["type", "text"])?,
                                    other => return Err(format!("Invalid button sub_type {other:?}")),
                                }
                            }
                        }
                        _ => {
                            keys_are(component, &["type", "parameters"], &["type"])?;
                            for parameter in component["parameters"].as_array().into_iter().flatten() {
                                keys_are(parameter, &["type", "text"], &["type", "text"])?;
                            }
                        }
                    }
                }
            }
        }
        "interactive" => check_interactive(object, true)?,
        other => return Err(format!("Invalid parameter type {other}")),
    }
    Ok(())
}

/// Meta's rules for `interactive` (providers-interactive.md §1): `button` (1-3 reply buttons,
/// titles 1-20 and unique, ids at most 256), `list` (button at most 20; 1-10 sections, titles
/// at most 24; 1-10 rows in all, id 200, title 24, description 72), `cta_url` (one button,
/// display_text 20); body 1-1024, text header and footer at most 60. Refused as Meta does:
/// `(#131009) Parameter value is not valid` with the details. The On-Premises API takes the
/// same object (§2) without `cta_url`: its fake checks with `cta_url` false.
pub(crate) fn check_interactive(object: &Value, cta_url: bool) -> Result<(), String> {
    let invalid = |details: &str| format!("(#131009) Parameter value is not valid: {details}");
    let kind = object["type"].as_str().ok_or("The parameter interactive['type'] is required.")?;
    keys_are(object, &["type", "header", "body", "footer", "action"], &["type", "body", "action"])?;
    let length = |value: &Value| value.as_str().map(|s| s.chars().count());
    let body = length(&object["body"]["text"]).ok_or("The parameter interactive['body']['text'] is required.")?;
    if !(1..=1024).contains(&body) {
        return Err(invalid("Body text length invalid. Min length: 1, Max length: 1024"));
    }
    if !object["header"].is_null() && (object["header"]["type"] != "text" || length(&object["header"]["text"]).is_none_or(|n| n > 60)) {
        return Err(invalid("Header text length invalid. Max length: 60"));
    }
    if !object["footer"].is_null() && length(&object["footer"]["text"]).is_none_or(|n| n > 60) {
        return Err(invalid("Footer text length invalid. Max length: 60"));
    }
    let action = &object["action"];
    match kind {
        "button" => {
            let buttons = action["buttons"].as_array().ok_or("The parameter interactive['action']['buttons'] is required.")?;
            if !(1..=3).contains(&buttons.len()) {
                return Err(invalid("Buttons count invalid. Min: 1, Max: 3"));
            }
            let mut titles = std::collections::BTreeSet::new();
            for button in buttons {
                keys_are(button, &["type", "reply"], &["type", "reply"])?;
                let title = button["reply"]["title"].as_str().unwrap_or_default();
                let id = button["reply"]["id"].as_str().unwrap_or_default();
                if !(1..=20).contains(&title.chars().count()) || !titles.insert(title) {
                    return Err(invalid("Button title length invalid. Min length: 1, Max length: 20"));
                }
                if id.is_empty() || id.len() > 256 || id.trim() != id {
                    return Err(invalid("Button id invalid"));
                }
            }
        }
        "list" => {
            if length(&action["button"]).is_none_or(|n| !(1..=20).contains(&n)) {
                return Err(invalid("Button text length invalid. Min length: 1, Max length: 20"));
            }
            let sections = action["sections"].as_array().ok_or("The parameter interactive['action']['sections'] is required.")?;
            let rows: Vec<&Value> = sections.iter().flat_map(|s| s["rows"].as_array().into_iter().flatten()).collect();
            if !(1..=10).contains(&sections.len()) || !(1..=10).contains(&rows.len()) {
                return Err(invalid("Sections count invalid. Rows count invalid: at most 10 rows in all sections"));
            }
            if sections.iter().any(|s| length(&s["title"]).is_some_and(|n| n > 24) || (sections.len() > 1 && s["title"].is_null())) {
                return Err(invalid("Section title length invalid. Max length: 24"));
            }
            for row in rows {
                keys_are(row, &["id", "title", "description"], &["id", "title"])?;
                if row["id"].as_str().is_none_or(|id| id.is_empty() || id.len() > 200)
                    || length(&row["title"]).is_none_or(|n| !(1..=24).contains(&n))
                    || length(&row["description"]).is_some_and(|n| n > 72)
                {
                    return Err(invalid("Row title length invalid. Max length: 24"));
                }
            }
        }
        "cta_url" if cta_url => {
            keys_are(action, &["name", "parameters"], &["name", "parameters"])?;
            let parameters = &action["parameters"];
            if action["name"] != "cta_url" || length(&parameters["display_text"]).is_none_or(|n| !(1..=20).contains(&n)) {
                return Err(invalid("Display text length invalid. Max length: 20"));
            }
            if !parameters["url"].as_str().is_some_and(|u| u.starts_with("https://") || u.starts_with("http://")) {
                return Err(invalid("Url invalid"));
            }
        }
        other => return Err(format!("Invalid parameter interactive['type'] {other}")),
    }
    Ok(())
}

/// Meta's answers for a template it does not have (132001) or with the wrong number of parameters (132000).
fn template_problem(state: &FakeState, body: &Value) -> Option<(i64, &'static str)> {
    if body["type"] != "template" {
        return None;
    }
    let object = &body["template"];
    let known = state.templates.iter().find(|t| {
        t.status == "APPROVED" && object["name"] == t.name.as_str() && object["language"]["code"] == t.language.as_str()
    });
    let Some(template) = known else { return Some((132001, "(#132001) Template name does not exist in the translation")) };
    let components = object["components"].as_array().cloned().unwrap_or_default();
    let given = components.iter().find(|c| c["type"] == "body").and_then(|c| c["parameters"].as_array()).map_or(0, Vec::len);
    let expected = (1..=10).take_while(|n| template.body.contains(&format!("{{{{{n}}}}}"))).count();
    if given != expected {
        return Some((132000, "(#132000) Number of parameters does not match the expected number of params"));
    }
    // Each button value names a button of its kind by its position (`index` a string); a URL
    // button takes a value only when its URL ends in a variable.
    for component in components.iter().filter(|c| c["type"] == "button") {
        let button = component["index"].as_str().and_then(|i| i.parse::<usize>().ok()).and_then(|i| template.buttons.get(i));
        let fits = match (component["sub_type"].as_str(), button) {
            (Some("quick_reply"), Some(b)) => b["type"] == "QUICK_REPLY",
            (Some("url"), Some(b)) => b["type"] == "URL" && b["url"].as_str().is_some_and(|u| u.ends_with("{{1}}")),
            _ => false,
        };
        if !fits {
            return Some((132000, "(#132000) Number of parameters does not match the expected number of params"));
        }
    }
    None
}

/// Meta's checks of a new template's `BUTTONS` component: the problem, or the buttons.
fn template_buttons(components: &[Value]) -> Result<Vec<Value>, String> {
    let Some(component) = components.iter().find(|c| c["type"] == "BUTTONS") else { return Ok(Vec::new()) };
    let buttons = component["buttons"].as_array().cloned().ok_or("BUTTONS needs a list of buttons")?;
    let of = |kind: &str| buttons.iter().filter(|b| b["type"] == kind).count();
    if buttons.len() > 10 || of("URL") > 2 || of("PHONE_NUMBER") > 1 {
        return Err("Too many buttons: at most 10, of them 2 URL and 1 PHONE_NUMBER".into());
    }
    let quick: Vec<bool> = buttons.iter().map(|b| b["type"] == "QUICK_REPLY").collect();
    if quick.windows(2).filter(|w| w[0] != w[1]).count() > 1 {
        return Err("Invalid combination of buttons: quick replies must be grouped together".into());
    }
    for button in &buttons {
        let text = button["text"].as_str().unwrap_or_default();
        if text.is_empty() || text.chars().count() > 25 {
            return Err("Button text must be 1 to 25 characters".into());
        }
        match button["type"].as_str() {
            Some("QUICK_REPLY") => keys_are(button, &["type", "text"], &["type", "text"])?,
            Some("URL") => {
                keys_are(button, &["type", "text", "url", "example"], &["type", "text", "url"])?;
                let url = button["url"].as_str().unwrap_or_default();
                if url.contains("{{") && !(url.ends_with("{{1}}") && button["example"][0].is_string()) {
                    return Err("A URL button's variable must be {{1}} at the end, with an example".into());
                }
            }
            Some("PHONE_NUMBER") => keys_are(button, &["type", "text", "phone_number"], &["type", "text", "phone_number"])?,
            other => return Err(format!("Invalid button type {other:?}")),
        }
    }
    Ok(buttons)
}

fn templates(state: &mut FakeState, method: &Method, query: &BTreeMap<String, String>, body: &Value, waba: &str) -> Response {
    match *method {
        Method::GET => {
            let start: usize = query.get("after").and_then(|a| a.strip_prefix("cursor-")).and_then(|n| n.parse().ok()).unwrap_or(0);
            let limit = query.get("limit").and_then(|l| l.parse().ok()).unwrap_or(25).min(PAGE_SIZE);
            let page: Vec<Value> = state
                .templates
                .iter()
                .skip(start)
                .take(limit)
                .map(|t| {
                    let mut components = vec![json!({"type": "BODY", "text": t.body})];
                    if !t.buttons.is_empty() {
                        components.push(json!({"type": "BUTTONS", "buttons": t.buttons}));
                    }
                    json!({"name": t.name, "status": t.status, "language": t.language, "category": t.category, "id": t.id, "components": components})
                })
                .collect();
            let end = start + page.len();
            let mut paging = json!({"cursors": {"before": format!("cursor-{start}"), "after": format!("cursor-{end}")}});
            if end < state.templates.len() {
                paging["next"] = format!("https://graph.facebook.com/{GRAPH_VERSION}/{waba}/message_templates?limit={limit}&after=cursor-{end}").into();
            }
            answer(200, json!({"data": page, "paging": paging}))
        }
        Method::POST => {
            if let Err(problem) = keys_are(body, &["name", "language", "category", "components"], &["name", "language", "category", "components"]) {
                return invalid(&problem);
            }
            let name = body["name"].as_str().unwrap_or_default();
            let language = body["language"].as_str().unwrap_or_default();
            let category = body["category"].as_str().unwrap_or_default();
            if !["UTILITY", "MARKETING", "AUTHENTICATION"].contains(&category) {
                return answer(400, graph_error(100, "Invalid parameter", Some("Category is not valid: use UTILITY, MARKETING or AUTHENTICATION")));
            }
            let text = body["components"].as_array().and_then(|c| c.iter().find(|c| c["type"] == "BODY")).and_then(|c| c["text"].as_str());
            let Some(text) = text else { return answer(400, graph_error(100, "Invalid parameter", Some("A template needs a BODY component"))) };
            if text.contains("http://") {
                return answer(400, graph_error(100, "Invalid parameter", Some("Body text contains an insecure link")));
            }
            let buttons = match template_buttons(body["components"].as_array().map(Vec::as_slice).unwrap_or_default()) {
                Ok(buttons) => buttons,
                Err(problem) => return answer(400, graph_error(100, "Invalid parameter", Some(&problem))),
            };
            if state.templates.iter().any(|t| t.name == name && t.language == language) {
                return answer(400, graph_error(100, "Invalid parameter", Some(&format!("Content in this language already exists for template {name}"))));
            }
            let id = state.next_id();
            state.templates.push(FakeTemplate {
                id: id.clone(), name: name.into(), language: language.into(), category: category.into(), status: "PENDING".into(), body: text.into(), buttons,
            });
            answer(200, json!({"id": id, "status": "PENDING", "category": category}))
        }
        Method::DELETE => {
            let Some(name) = query.get("name") else { return invalid("(#100) The parameter name is required") };
            let before = state.templates.len();
            state.templates.retain(|t| &t.name != name);
            if state.templates.len() == before {
                return answer(400, graph_error(100, "Invalid parameter", Some(&format!("Message template {name} not found"))));
            }
            answer(200, json!({"success": true}))
        }
        _ => invalid("Unsupported request method"),
    }
}

/// The calls of Embedded Signup that carry the app's credentials instead of a Bearer token:
/// the login dialog (the admin's browser), the code exchange and `debug_token`.
fn embedded_signup(state: &mut FakeState, method: &Method, path: &str, query: &BTreeMap<String, String>) -> Option<Response> {
    let param = |name: &str| query.get(name).cloned().unwrap_or_default();
    let response = match (method, path) {
        (&Method::GET, "dialog/oauth") => {
            if param("client_id") != APP_ID || param("config_id") != CONFIG_ID || param("response_type") != "code" {
                return Some(invalid("Invalid app ID or configuration for Facebook Login for Business"));
            }
            let code = format!("es-code-{}", state.next_id());
            state.codes.insert(code.clone(), param("redirect_uri"));
            let back = form_urlencoded::Serializer::new(String::new()).append_pair("code", &code).append_pair("state", &param("state")).finish();
            let location = format!("{}?{back}", param("redirect_uri"));
            (axum::http::StatusCode::FOUND, [(axum::http::header::LOCATION, location)]).into_response()
        }
        (&Method::GET, "oauth/access_token") => {
            if param("client_id") != APP_ID || param("client_secret") != state.app_secret {
                return Some(invalid("Error validating client secret."));
            }
            match state.codes.remove(&param("code")) {
                Some(redirect) if redirect == param("redirect_uri") => {
                    let token = format!("EAAGbusinessToken{}", state.next_id());
                    state.business_tokens.push(token.clone());
                    answer(200, json!({"access_token": token, "token_type": "bearer"}))
                }
                Some(_) => invalid("Error validating verification code. Please make sure your redirect_uri is identical to the one you used in the OAuth dialog request"),
                None => invalid("This authorization code has been used."),
            }
        }
        (&Method::GET, "debug_token") => {
            if param("access_token") != format!("{APP_ID}|{}", state.app_secret) {
                return Some(answer(401, graph_error(190, "Invalid OAuth access token - Cannot parse access token", None)));
            }
            let input = param("input_token");
            let valid = state.business_tokens.contains(&input);
            let wabas = state.business_accounts.clone();
            answer(200, json!({"data": {
                "app_id": APP_ID, "type": "SYSTEM_USER", "application": "Switchboard", "expires_at": 0, "data_access_expires_at": 0,
                "is_valid": valid, "scopes": ["whatsapp_business_management", "whatsapp_business_messaging"],
                "granular_scopes": if valid { json!([
                    {"scope": "whatsapp_business_management", "target_ids": wabas},
                    {"scope": "whatsapp_business_messaging", "target_ids": wabas},
                ]) } else { json!([]) },
                "user_id": "122100000000000001",
            }}))
        }
        _ => return None,
    };
    Some(response)
}
