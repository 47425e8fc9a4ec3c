//! A fake of Meta's Graph API and Facebook Login that behaves like the real ones
//! (providers.md, Messenger and Instagram):
//! - the login dialog `GET /{v}/dialog/oauth` (as if the admin logged in and approved: a 302
//!   to `redirect_uri?code=..&state=..#_=_`, or `error=access_denied...` when told to refuse),
//!   the code exchange and the long-lived token exchange at `GET /{v}/oauth/access_token`
//!   (single-use codes bound to their `redirect_uri`, the app id and secret checked);
//! - `GET /{v}/me/accounts` (the Pages the admin granted, two per page of results so clients
//!   must follow the paging cursors) and `GET /{v}/me` (with a Page token: the Page);
//! - `GET`/`POST`/`DELETE /{v}/{page-id}/subscribed_apps` (a `POST` names the fields anew);
//! - the Send API `POST /{v}/me/messages?access_token=PAGE_TOKEN`: recipient, `messaging_type`
//!   and `tag` checked, and the window enforced from the customer's last message as Meta
//!   does (`RESPONSE` within 24 hours, `MESSAGE_TAG` + `HUMAN_AGENT` within 7 days).
//!
//! Like an app with "Require App Secret" on, every call with a token must carry
//! `appsecret_proof` = hex(HMAC-SHA256(app secret, token)). Errors are Graph's
//! `{"error":{"message","type","code","error_subcode","fbtrace_id"}}`. It records every
//! request and what reached a customer, so tests check what our plugins sent.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use crate::recorder::{Recorded, Recorder};
use serde_json::{Value, json};

pub const GRAPH_VERSION: &str = "v21.0";
pub const APP_ID: &str = "1517394850012345";
pub const APP_SECRET: &str = "9f3c2b1a0d8e7f6a5b4c3d2e1f0a9b8c";
/// How long Facebook honours a login code.
const CODE_LIFETIME: Duration = Duration::from_secs(600);
/// `me/accounts` gives at most this many Pages per page of results.
const PAGE_SIZE: usize = 2;
const DAY_MS: u64 = 24 * 3600 * 1000;
/// Tags Meta takes with `MESSAGE_TAG`.
const TAGS: &[&str] = &["HUMAN_AGENT", "ACCOUNT_UPDATE", "CONFIRMED_EVENT_UPDATE", "POST_PURCHASE_UPDATE"];

/// A Facebook Page the admin manages, maybe with a linked Instagram professional account.
#[derive(Debug, Clone)]
pub struct FakePage {
    pub id: String,
    pub name: String,
    /// The Page's long-lived token (what `me/accounts` gives a long-lived user token).
    pub token: String,
    /// `(id, username)` of the linked Instagram account.
    pub instagram: Option<(String, String)>,
}

impl FakePage {
    pub fn new(id: &str, name: &str, token: &str) -> Self {
        Self { id: id.into(), name: name.into(), token: token.into(), instagram: None }
    }

    pub fn with_instagram(mut self, id: &str, username: &str) -> Self {
        self.instagram = Some((id.into(), username.into()));
        self
    }

    /// The token `me/accounts` gives a short-lived user token: it expires within hours.
    pub fn short_lived_token(&self) -> String {
        format!("{}-short", self.token)
    }
}


/// A message Meta accepted and delivered to a customer.
#[derive(Debug, Clone)]
pub struct Sent {
    /// The Page or Instagram account it went out from.
    pub account_id: String,
    /// The Page token it was sent with.
    pub token: String,
    pub recipient: String,
    pub messaging_type: String,
    pub tag: Option<String>,
    pub message: Value,
    pub message_id: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum UserToken {
    Short,
    Long,
}

struct Code {
    redirect_uri: String,
    issued: Instant,
    used: bool,
}

#[derive(Default)]
struct FakeState {
    pages: Vec<FakePage>,
    codes: HashMap<String, Code>,
    user_tokens: HashMap<String, UserToken>,
    revoked: HashSet<String>,
    /// Page id -> subscribed webhook fields.
    subscriptions: HashMap<String, String>,
    /// (account id, customer id) -> time of the customer's last message (ms).
    last_message: HashMap<(String, String), u64>,
    refuse_next_login: bool,
    /// Scopes asked for at the dialog, per login.
    scopes: Vec<String>,
    received: Recorder,
    sent: Vec<Sent>,
    next_id: u64,
    /// Files on the CDN (`/cdn/<path>`, as `scontent.xx.fbcdn.net` serves attachments): path -> bytes.
    cdn: HashMap<String, Vec<u8>>,
    /// CDN paths whose signed URL expired (404).
    expired: HashSet<String>,
    /// Meta downloads an attachment sent by URL before it answers.
    links: crate::links::LinkFollower,
    /// While set and `false`, a Page's unsubscription (`DELETE subscribed_apps`) waits, not yet
    /// made, until the test lets it through: a teardown caught in the middle.
    unsubscribe_gate: Option<tokio::sync::watch::Sender<bool>>,
    /// Unsubscriptions received and not yet made.
    unsubscriptions_waiting: usize,
}

impl FakeState {
    fn next(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// The Page of a Page token (long- or short-lived).
    fn page_of_token(&self, token: &str) -> Option<&FakePage> {
        self.pages.iter().find(|p| p.token == token || p.short_lived_token() == token)
    }
}

#[derive(Clone)]
pub struct FakeMeta {
    pub base_url: String,
    /// `127.0.0.1:PORT`, for `--allow-outbound`.
    pub authority: String,
    state: Arc<Mutex<FakeState>>,
}

/// `GET /cdn/<path>`: the bytes while the signed URL holds (no token: the URL is the credential).
async fn cdn(State(state): State<Arc<Mutex<FakeState>>>, axum::extract::Path(path): axum::extract::Path<String>) -> axum::response::Response {
    use axum::response::IntoResponse;
    let state = state.lock().unwrap();
    match state.cdn.get(&path) {
        Some(bytes) if !state.expired.contains(&path) && path.contains('/') => ([("content-type", "image/jpeg")], bytes.clone()).into_response(),
        _ => (axum::http::StatusCode::NOT_FOUND, "URL signature expired").into_response(),
    }
}

pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64
}

impl FakeMeta {
    /// A file a customer sent, on the CDN; the signed URL a webhook's attachment carries.
    pub fn add_cdn_file(&self, path: &str, bytes: &[u8]) -> String {
        self.state.lock().unwrap().cdn.insert(path.into(), bytes.to_vec());
        format!("{}/cdn/{path}?_nc_cat=1&oh=00_AfBx&oe=6791A2B3", self.base_url)
    }

    /// Links to the host's public URL in sends are downloaded from `reach_at`.
    pub fn fetch_links(&self, public_url: &str, reach_at: &str) {
        self.state.lock().unwrap().links.route(public_url, reach_at);
    }

    /// The files downloaded from links in sends: (link, bytes).
    pub fn downloaded_links(&self) -> Vec<(String, Vec<u8>)> {
        self.state.lock().unwrap().links.downloaded()
    }

    /// The file's signed URL expired: the CDN answers 404.
    pub fn expire_cdn_file(&self, path: &str) {
        self.state.lock().unwrap().expired.insert(path.into());
    }

    pub async fn start(pages: Vec<FakePage>) -> Self {
        let state = Arc::new(Mutex::new(FakeState { pages, next_id: 1000, ..Default::default() }));
        let app = Router::new().route("/cdn/{*path}", axum::routing::get(cdn)).fallback(handle).with_state(state.clone());
        let (base_url, authority) = crate::serve_fake(app).await;
        Self { base_url, authority, state }
    }

    /// The next login is refused by the admin ("Not now"): the dialog redirects with an error.
    pub fn refuse_next_login(&self) {
        self.state.lock().unwrap().refuse_next_login = true;
    }

    /// The token stops working, as when the admin changes their password or removes the app.
    pub fn revoke(&self, token: &str) {
        self.state.lock().unwrap().revoked.insert(token.into());
    }

    /// The Page gets a new token (the admin reissued it); the old one keeps whatever state it had.
    pub fn rotate_token(&self, page_id: &str, token: &str) {
        let mut state = self.state.lock().unwrap();
        let page = state.pages.iter_mut().find(|p| p.id == page_id).expect("a Page of this fake");
        page.token = token.into();
    }

    /// The scopes asked for at each login dialog.
    pub fn scopes(&self) -> Vec<String> {
        self.state.lock().unwrap().scopes.clone()
    }

    /// From now on, a Page's unsubscription is received but not made until
    /// [`Self::let_unsubscriptions_through`].
    pub fn hold_unsubscriptions(&self) {
        self.state.lock().unwrap().unsubscribe_gate = Some(tokio::sync::watch::channel(false).0);
    }

    /// How many unsubscriptions are received and held.
    pub fn unsubscriptions_waiting(&self) -> usize {
        self.state.lock().unwrap().unsubscriptions_waiting
    }

    /// Makes the held unsubscriptions (each answered as it is made), and any later ones at once.
    pub fn let_unsubscriptions_through(&self) {
        if let Some(gate) = self.state.lock().unwrap().unsubscribe_gate.take() {
            gate.send_replace(true);
        }
    }

    /// The webhook fields a Page is subscribed to (`None`: not subscribed).
    pub fn subscription(&self, page_id: &str) -> Option<String> {
        self.state.lock().unwrap().subscriptions.get(page_id).cloned()
    }

    pub fn received(&self) -> Vec<Recorded> {
        self.state.lock().unwrap().received.all()
    }

    /// Requests to one path (without the version), e.g. `me/messages`.
    pub fn calls(&self, method: &str, path: &str) -> Vec<Recorded> {
        self.state.lock().unwrap().received.calls(method, path)
    }

    pub fn sent(&self) -> Vec<Sent> {
        self.state.lock().unwrap().sent.clone()
    }

    /// A customer writes to the account (a Page, or an Instagram account) at `timestamp_ms`:
    /// Meta records it (the Send API's window counts from it) and returns the webhook body
    /// it delivers, with `message` (`{"mid","text"...}`) as the customer sent it.
    pub fn customer_writes(&self, account_id: &str, customer: &str, message: Value, timestamp_ms: u64) -> String {
        let object = self.object_of(account_id);
        let mut state = self.state.lock().unwrap();
        let last = state.last_message.entry((account_id.into(), customer.into())).or_default();
        *last = (*last).max(timestamp_ms);
        drop(state);
        let item = json!({"sender": {"id": customer}, "recipient": {"id": account_id}, "timestamp": timestamp_ms, "message": message});
        delivery(object, account_id, vec![item])
    }

    /// `page` for a Page, `instagram` for an Instagram account.
    pub fn object_of(&self, account_id: &str) -> &'static str {
        let state = self.state.lock().unwrap();
        let instagram = state.pages.iter().any(|p| p.instagram.as_ref().is_some_and(|(id, _)| id == account_id));
        if instagram { "instagram" } else { "page" }
    }
}

/// A webhook delivery: `{"object","entry":[{"id","time","messaging":[...]}]}`.
pub fn delivery(object: &str, account_id: &str, messaging: Vec<Value>) -> String {
    json!({"object": object, "entry": [{"id": account_id, "time": now_ms(), "messaging": messaging}]}).to_string()
}

/// `X-Hub-Signature-256` of a delivery: `sha256=` + hex(HMAC-SHA256(app secret, raw body)).
pub fn signature(app_secret: &str, body: &str) -> String {
    use hmac::Mac as _;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(app_secret.as_bytes()).expect("any key length");
    mac.update(body.as_bytes());
    let digest = mac.finalize().into_bytes();
    format!("sha256={}", digest.iter().map(|b| format!("{b:02x}")).collect::<String>())
}

fn graph_error(status: u16, code: i64, subcode: Option<i64>, message: &str) -> (u16, Value) {
    let mut error = json!({"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "AzKq3bXn1Ydb5tq"});
    if let Some(subcode) = subcode {
        error["error_subcode"] = subcode.into();
    }
    (status, json!({ "error": error }))
}

fn proof(token: &str) -> String {
    use hmac::Mac as _;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(APP_SECRET.as_bytes()).unwrap();
    mac.update(token.as_bytes());
    mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

async fn handle(State(state): State<Arc<Mutex<FakeState>>>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let query: BTreeMap<String, String> = form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes()).into_owned().collect();
    let path = uri.path().strip_prefix(&format!("/{GRAPH_VERSION}/")).unwrap_or(uri.path()).to_owned();
    let parsed = if body.is_empty() { Value::Null } else { serde_json::from_slice(&body).unwrap_or(Value::String("<unparsable>".into())) };
    if method == Method::POST && uri.path().ends_with("/messages") {
        let links = state.lock().unwrap().links.clone();
        links.follow(&parsed).await;
    }
    if method == Method::DELETE && path.ends_with("/subscribed_apps") {
        let gate = state.lock().unwrap().unsubscribe_gate.as_ref().map(|gate| gate.subscribe());
        if let Some(mut gate) = gate {
            state.lock().unwrap().unsubscriptions_waiting += 1;
            let _ = gate.wait_for(|open| *open).await;
            state.lock().unwrap().unsubscriptions_waiting -= 1;
        }
    }
    let mut state = state.lock().unwrap();
    // The login dialog is a web page (it answers with a redirect); everything else is Graph JSON.
    let response = if method == Method::GET && path == "dialog/oauth" {
        dialog(&mut state, &query)
    } else {
        let (status, body) = respond(&mut state, &method, &path, &query, &headers, &parsed);
        (StatusCode::from_u16(status).unwrap(), axum::Json(body)).into_response()
    };
    let status = response.status().as_u16();
    state.received.record(Recorded { method: method.to_string(), path, query, body: parsed, status, ..Default::default() });
    response
}

/// The login dialog, as if the admin logged in and approved (or refused).
fn dialog(state: &mut FakeState, query: &BTreeMap<String, String>) -> Response {
    let param = |name: &str| query.get(name).cloned().unwrap_or_default();
    if param("client_id") != APP_ID {
        return (StatusCode::BAD_REQUEST, "Invalid App ID: The provided app ID does not look like a valid app ID.").into_response();
    }
    let redirect_uri = param("redirect_uri");
    if !redirect_uri.starts_with("https://") || param("response_type") != "code" {
        return (StatusCode::BAD_REQUEST, "URL blocked: This redirect failed because the redirect URI is not whitelisted").into_response();
    }
    state.scopes.push(param("scope"));
    let mut back = form_urlencoded::Serializer::new(String::new());
    if std::mem::take(&mut state.refuse_next_login) {
        back.extend_pairs([
            ("error", "access_denied"),
            ("error_code", "200"),
            ("error_description", "Permissions error"),
            ("error_reason", "user_denied"),
        ]);
    } else {
        let code = format!("AQD{:x}Rk2", state.next() * 7919);
        state.codes.insert(code.clone(), Code { redirect_uri: redirect_uri.clone(), issued: Instant::now(), used: false });
        back.append_pair("code", &code);
    }
    back.append_pair("state", &param("state"));
    let location = format!("{redirect_uri}?{}#_=_", back.finish());
    (StatusCode::FOUND, [(header::LOCATION, location)]).into_response()
}

fn respond(
    state: &mut FakeState,
    method: &Method,
    path: &str,
    query: &BTreeMap<String, String>,
    headers: &HeaderMap,
    body: &Value,
) -> (u16, Value) {
    let param = |name: &str| query.get(name).map(String::as_str).unwrap_or_default();
    if method == Method::GET && path == "oauth/access_token" {
        return token_exchange(state, query);
    }
    let bearer = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    let token = query.get("access_token").map(String::as_str).or(bearer).unwrap_or_default().to_owned();
    if token.is_empty() {
        return graph_error(400, 2500, None, "An active access token must be used to query information about the current user.");
    }
    if state.revoked.contains(&token) {
        return graph_error(
            400,
            190,
            Some(460),
            "Error validating access token: The session has been invalidated because the user changed their password or Facebook has changed the session for security reasons.",
        );
    }
    let user = state.user_tokens.get(&token).copied();
    let page = state.page_of_token(&token).cloned();
    if user.is_none() && page.is_none() {
        return graph_error(400, 190, None, "Invalid OAuth access token - Cannot parse access token");
    }
    match query.get("appsecret_proof") {
        None => return graph_error(400, 100, None, "API calls from the server require an appsecret_proof argument"),
        Some(given) if *given != proof(&token) => {
            return graph_error(400, 100, None, "Invalid appsecret_proof provided in the API argument");
        }
        Some(_) => {}
    }
    let fields: Vec<&str> = param("fields").split(',').collect();
    let wants_instagram = fields.iter().any(|f| f.starts_with("instagram_business_account"));
    let page_json = |page: &FakePage, with_token: Option<String>| {
        let mut json = json!({"id": page.id, "name": page.name});
        if let Some(token) = with_token {
            json["access_token"] = token.into();
            json["category"] = "Retail company".into();
            json["tasks"] = json!(["ANALYZE", "ADVERTISE", "MESSAGING", "MODERATE", "CREATE_CONTENT", "MANAGE"]);
        }
        if let (true, Some((id, username))) = (wants_instagram, &page.instagram) {
            json["instagram_business_account"] = json!({"id": id, "username": username, "name": page.name});
        }
        json
    };
    match (method.as_str(), path, user, page) {
        ("GET", "me", Some(_), _) => (200, json!({"id": "10161234567890123", "name": "Budi Santoso"})),
        ("GET", "me", None, Some(page)) => (200, page_json(&page, None)),
        ("GET", "me/accounts", Some(kind), _) => {
            let start: usize = param("after").strip_prefix("cursor-").and_then(|n| n.parse().ok()).unwrap_or(0);
            let pages: Vec<Value> = state
                .pages
                .iter()
                .skip(start)
                .take(PAGE_SIZE)
                .map(|p| page_json(p, Some(if kind == UserToken::Long { p.token.clone() } else { p.short_lived_token() })))
                .collect();
            let end = start + pages.len();
            let mut paging = json!({"cursors": {"before": format!("cursor-{start}"), "after": format!("cursor-{end}")}});
            if end < state.pages.len() {
                paging["next"] = format!("https://graph.facebook.com/{GRAPH_VERSION}/me/accounts?after=cursor-{end}").into();
            }
            (200, json!({"data": pages, "paging": paging}))
        }
        ("GET", _, _, Some(page)) if path == format!("{}/subscribed_apps", page.id) => {
            let installed: Vec<Value> = state
                .subscriptions
                .get(&page.id)
                .map(|fields| json!({"category": "Business", "link": "https://switchboard.example/", "name": "Switchboard", "id": APP_ID,
                                     "subscribed_fields": fields.split(',').collect::<Vec<_>>()}))
                .into_iter()
                .collect();
            (200, json!({"data": installed}))
        }
        ("POST" | "DELETE", _, _, Some(page)) if path.ends_with("/subscribed_apps") => {
            if path != format!("{}/subscribed_apps", page.id) {
                return graph_error(400, 210, None, "(#210) A page access token is required to request this resource.");
            }
            if method == Method::DELETE {
                state.subscriptions.remove(&page.id);
            } else {
                if param("subscribed_fields").is_empty() {
                    return graph_error(400, 100, None, "(#100) The parameter subscribed_fields is required");
                }
                state.subscriptions.insert(page.id.clone(), param("subscribed_fields").to_owned());
            }
            (200, json!({"success": true}))
        }
        ("POST", "me/messages", None, Some(page)) => send(state, &page, &token, body),
        (_, _, Some(_), _) if path == "me/messages" || path.ends_with("/subscribed_apps") => {
            graph_error(400, 210, None, "(#210) A page access token is required to request this resource.")
        }
        _ => graph_error(400, 100, Some(33), &format!("Unsupported {method} request. Object with ID '{path}' does not exist")),
    }
}

fn token_exchange(state: &mut FakeState, query: &BTreeMap<String, String>) -> (u16, Value) {
    let param = |name: &str| query.get(name).map(String::as_str).unwrap_or_default();
    if param("client_id") != APP_ID {
        return graph_error(400, 101, None, "Error validating application. Invalid application ID.");
    }
    if param("client_secret") != APP_SECRET {
        return graph_error(400, 1, None, "Error validating client secret.");
    }
    let issue = |state: &mut FakeState, kind: UserToken| {
        let token = format!("EAAV{}{:x}", if kind == UserToken::Long { "long" } else { "short" }, state.next() * 104_729);
        state.user_tokens.insert(token.clone(), kind);
        let expires_in = if kind == UserToken::Long { 5_183_944 } else { 5_400 };
        (200, json!({"access_token": token, "token_type": "bearer", "expires_in": expires_in}))
    };
    if param("grant_type") == "fb_exchange_token" {
        return match state.user_tokens.get(param("fb_exchange_token")) {
            Some(_) => issue(state, UserToken::Long),
            None => graph_error(400, 190, None, "Invalid OAuth access token - Cannot parse access token"),
        };
    }
    let Some(code) = state.codes.get_mut(param("code")) else {
        return graph_error(400, 100, Some(36007), "Invalid verification code format.");
    };
    if code.used {
        return graph_error(400, 100, Some(36009), "This authorization code has been used.");
    }
    if code.issued.elapsed() > CODE_LIFETIME {
        return graph_error(400, 100, Some(36007), "This authorization code has expired.");
    }
    if code.redirect_uri != param("redirect_uri") {
        return graph_error(
            400,
            100,
            Some(36008),
            "Error validating verification code. Please make sure your redirect_uri is identical to the one you used in the OAuth dialog request",
        );
    }
    code.used = true;
    issue(state, UserToken::Short)
}

/// Meta's rules for quick replies and templates (providers-interactive.md §4): a message has
/// `text` or `attachment`, not both; at most 13 quick replies (`content_type` `text` with a
/// `title` of at most 20 and a `payload` of at most 1000); a button template's `text` at most
/// 640 with 1-3 `postback` (`title` 20, `payload` 1000) or `web_url` buttons; a generic template
/// 1-10 elements, each a `title` of at most 80, a `subtitle` of at most 80 and at most 3 buttons.
fn interactive_problem(message: &Value) -> Result<(), String> {
    let chars = |value: &Value| value.as_str().map_or(0, |s| s.chars().count());
    if message.get("text").is_some() && message.get("attachment").is_some() {
        return Err("(#100) Only one of the text, attachment, and dynamic_text fields can be specified".into());
    }
    if let Some(quick) = message.get("quick_replies") {
        let quick = quick.as_array().ok_or("(#100) param quick_replies must be an array")?;
        if quick.is_empty() || quick.len() > 13 {
            return Err("(#100) param quick_replies must have between 1 and 13 elements".into());
        }
        for reply in quick {
            if reply["content_type"] != "text" || !(1..=20).contains(&chars(&reply["title"])) || !(1..=1000).contains(&chars(&reply["payload"])) {
                return Err("(#100) Invalid quick reply: a text quick reply needs a title (20) and a payload (1000)".into());
            }
        }
    }
    let button = |button: &Value| -> Result<(), String> {
        let ok = match button["type"].as_str() {
            Some("postback") => (1..=20).contains(&chars(&button["title"])) && (1..=1000).contains(&chars(&button["payload"])),
            Some("web_url") => (1..=20).contains(&chars(&button["title"])) && button["url"].as_str().is_some_and(|u| u.starts_with("http")),
            _ => false,
        };
        if ok { Ok(()) } else { Err(format!("(#100) Invalid button: {button}")) }
    };
    if message["attachment"]["type"] == "template" {
        let payload = &message["attachment"]["payload"];
        match payload["template_type"].as_str() {
            Some("button") => {
                let buttons = payload["buttons"].as_array().cloned().unwrap_or_default();
                if !(1..=640).contains(&chars(&payload["text"])) || !(1..=3).contains(&buttons.len()) {
                    return Err("(#100) param payload[text] must be 1-640 characters with 1-3 buttons".into());
                }
                buttons.iter().try_for_each(button)?;
            }
            Some("generic") => {
                let elements = payload["elements"].as_array().cloned().unwrap_or_default();
                if !(1..=10).contains(&elements.len()) {
                    return Err("(#100) param elements must have between 1 and 10 elements".into());
                }
                for element in &elements {
                    let buttons = element["buttons"].as_array().cloned().unwrap_or_default();
                    if !(1..=80).contains(&chars(&element["title"])) || chars(&element["subtitle"]) > 80 || buttons.len() > 3 {
                        return Err("(#100) Invalid element: title 1-80, subtitle at most 80, at most 3 buttons".into());
                    }
                    buttons.iter().try_for_each(button)?;
                }
            }
            other => return Err(format!("(#100) Invalid template_type {other:?}")),
        }
    }
    Ok(())
}

/// The Send API: who may be written to, how, and when.
fn send(state: &mut FakeState, page: &FakePage, token: &str, body: &Value) -> (u16, Value) {
    let recipient = body["recipient"]["id"].as_str().unwrap_or_default().to_owned();
    let messaging_type = body["messaging_type"].as_str().unwrap_or_default().to_owned();
    let tag = body["tag"].as_str().map(str::to_owned);
    let message = &body["message"];
    if !["RESPONSE", "UPDATE", "MESSAGE_TAG"].contains(&messaging_type.as_str()) {
        return graph_error(400, 100, None, "(#100) Param messaging_type must be one of {RESPONSE, UPDATE, MESSAGE_TAG}");
    }
    match (&tag, messaging_type.as_str()) {
        (None, "MESSAGE_TAG") => return graph_error(400, 100, None, "(#100) Tag is required for MESSAGE_TAG messaging type"),
        (Some(tag), "MESSAGE_TAG") if !TAGS.contains(&tag.as_str()) => {
            return graph_error(400, 100, None, &format!("(#100) Param tag must be one of {{{}}}", TAGS.join(", ")));
        }
        (Some(_), "RESPONSE" | "UPDATE") => return graph_error(400, 100, None, "(#100) Tag is only allowed for MESSAGE_TAG messaging type"),
        _ => {}
    }
    let text = message["text"].as_str();
    let attachment = message["attachment"]["payload"]["url"].as_str();
    let template = message["attachment"]["type"] == "template";
    if text.is_none_or(str::is_empty) && attachment.is_none() && !template {
        return graph_error(400, 100, None, "(#100) Must send either message or state");
    }
    if let Err(problem) = interactive_problem(message) {
        return graph_error(400, 100, None, &problem);
    }
    // The customer wrote to the Page or to its Instagram account: the message goes out from there.
    let accounts = std::iter::once(page.id.clone()).chain(page.instagram.as_ref().map(|(id, _)| id.clone()));
    let Some((account_id, last)) = accounts.filter_map(|a| Some((a.clone(), *state.last_message.get(&(a, recipient.clone()))?))).next() else {
        return graph_error(400, 100, Some(2018001), "(#100) No matching user found");
    };
    let instagram = account_id != page.id;
    let age = now_ms().saturating_sub(last);
    let allowed = match messaging_type.as_str() {
        "RESPONSE" | "UPDATE" => age < DAY_MS,
        _ => tag.as_deref() != Some("HUMAN_AGENT") || age < 7 * DAY_MS,
    };
    if !allowed {
        let subcode = if instagram { 2534022 } else { 2018278 };
        return graph_error(400, 10, Some(subcode), "(#10) This message is sent outside of allowed window.");
    }
    let id = state.next();
    let message_id = if instagram { format!("aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlE{id}") } else { format!("m_AG5Hm8aXz0p{id}") };
    state.sent.push(Sent {
        account_id,
        token: token.into(),
        recipient: recipient.clone(),
        messaging_type,
        tag,
        message: message.clone(),
        message_id: message_id.clone(),
    });
    (200, json!({"recipient_id": recipient, "message_id": message_id}))
}
