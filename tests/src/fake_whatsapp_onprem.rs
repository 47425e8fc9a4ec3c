//! A fake WhatsApp Business On-Premises API client (providers.md): `POST /v1/users/login` with
//! Basic auth issues tokens with an `expires_after`; every other call needs a valid, unexpired
//! Bearer token (401 `{"errors":[{"code":1005,...}]}` otherwise); `/v1/health`,
//! `PATCH /v1/settings/application` for the webhook, and `POST /v1/messages` checked field by
//! field (text, media, HSM with the account's namespace, interactive reply buttons and lists
//! within WhatsApp's limits, no Cloud API `messaging_product`); `GET /v1/media/{id}` (the bytes,
//! 404 with no body when unknown); a record of every request.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use crate::recorder::{Recorded, Recorder};
use serde_json::{Value, json};

use crate::{ScriptedAnswer, serve_fake};

pub const NAMESPACE: &str = "c8ae5f90_307a_ca4c_b8f6_d1e2a2573574";
const META: fn() -> Value = || json!({"api_status": "stable", "version": "2.53.1"});

/// The On-Premises error shape.
pub fn errors(code: i64, title: &str, details: &str) -> Value {
    json!({"errors": [{"code": code, "title": title, "details": details}], "meta": META()})
}


struct FakeState {
    username: String,
    password: String,
    /// A token configured on the API client (the "token" form of connect).
    api_token: String,
    /// Tokens issued by login and when they expire.
    issued: Vec<(String, SystemTime)>,
    token_lifetime: Duration,
    gateway_status: String,
    webhook_url: Option<String>,
    received: Recorder,
    send_failures: VecDeque<ScriptedAnswer>,
    next_id: u64,
    /// Media the client downloaded from WhatsApp: id -> (bytes, MIME type).
    media: std::collections::HashMap<String, (Vec<u8>, String)>,
}

#[derive(Clone)]
pub struct FakeOnPremises {
    pub base_url: String,
    /// `127.0.0.1:PORT`, for `--allow-outbound`.
    pub authority: String,
    state: Arc<Mutex<FakeState>>,
}

impl FakeOnPremises {
    /// An API client with one user and one configured API token; login tokens last 7 days.
    pub async fn start(username: &str, password: &str, api_token: &str) -> Self {
        let state = Arc::new(Mutex::new(FakeState {
            username: username.into(),
            password: password.into(),
            api_token: api_token.into(),
            issued: Vec::new(),
            token_lifetime: Duration::from_secs(7 * 24 * 3600),
            gateway_status: "connected".into(),
            webhook_url: None,
            received: Recorder::default(),
            send_failures: VecDeque::new(),
            next_id: 0,
            media: Default::default(),
        }));
        let app = Router::new().route("/v1/{*path}", axum::routing::any(handle)).with_state(state.clone());
        let (base_url, authority) = serve_fake(app).await;
        Self { base_url, authority, state }
    }

    /// A file a customer sent, under media id `id` (`GET /v1/media/{id}` serves it).
    pub fn add_media(&self, id: &str, bytes: &[u8], mime_type: &str) {
        self.state.lock().unwrap().media.insert(id.into(), (bytes.to_vec(), mime_type.into()));
    }

    pub fn received(&self) -> Vec<Recorded> {
        self.state.lock().unwrap().received.all()
    }

    /// Requests with this method and path (e.g. `/v1/messages`).
    pub fn calls(&self, method: &str, path: &str) -> Vec<Recorded> {
        self.state.lock().unwrap().received.calls(method, path)
    }

    /// The webhook URL the API client delivers to.
    pub fn webhook_url(&self) -> Option<String> {
        self.state.lock().unwrap().webhook_url.clone()
    }

    /// How long the tokens issued from now on last.
    pub fn set_token_lifetime(&self, lifetime: Duration) {
        self.state.lock().unwrap().token_lifetime = lifetime;
    }

    /// Every issued token stops working (an API client restart, a password change).
    pub fn revoke_login_tokens(&self) {
        self.state.lock().unwrap().issued.clear();
    }

    pub fn set_gateway_status(&self, status: &str) {
        self.state.lock().unwrap().gateway_status = status.into();
    }

    /// Makes the next send fail with this HTTP status and error (and `Retry-After`).
    pub fn fail_next_send(&self, status: u16, code: i64, title: &str, details: &str, retry_after: Option<u64>) {
        let body = errors(code, title, details);
        self.state.lock().unwrap().send_failures.push_back(ScriptedAnswer { status, body, retry_after });
    }
}

fn answer(status: u16, body: Value) -> Response {
    ScriptedAnswer { status, body, retry_after: None }.into_response()
}

fn access_denied(details: &str) -> Response {
    answer(401, errors(1005, "Access denied", details))
}

fn invalid(details: &str) -> Response {
    answer(400, errors(1008, "Required parameter is missing or invalid", details))
}

async fn handle(State(state): State<Arc<Mutex<FakeState>>>, Path(path): Path<String>, method: Method, headers: HeaderMap, body: Bytes) -> Response {
    let path = format!("/v1/{path}");
    let authorization = headers.get("authorization").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let json_body = if body.is_empty() { Value::Null } else { serde_json::from_slice(&body).unwrap_or(Value::String("<not JSON>".into())) };
    let mut state = state.lock().unwrap();
    state.received.record(Recorded {
        method: method.to_string(),
        path: path.clone(),
        authorization: authorization.clone(),
        body: json_body.clone(),
        ..Default::default()
    });

    if (&method, path.as_str()) == (&Method::POST, "/v1/users/login") {
        let expected = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", state.username, state.password)));
        if authorization.as_deref() != Some(expected.as_str()) {
            return access_denied("Invalid credentials.");
        }
        state.next_id += 1;
        let token = format!("eyJhbGciOiJIUzI1NiJ9.login{}.sig", state.next_id);
        let expires = SystemTime::now() + state.token_lifetime;
        state.issued.push((token.clone(), expires));
        let expires_after = jiff::Timestamp::try_from(expires).unwrap().strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
        return answer(200, json!({"users": [{"token": token, "expires_after": expires_after}], "meta": META()}));
    }
    let bearer = authorization.as_deref().and_then(|a| a.strip_prefix("Bearer ")).unwrap_or_default();
    let now = SystemTime::now();
    let valid = bearer == state.api_token || state.issued.iter().any(|(token, expires)| token == bearer && *expires > now);
    if !valid {
        return access_denied("Invalid or expired token");
    }
    match (&method, path.as_str()) {
        (&Method::GET, "/v1/health") => answer(200, json!({"health": {"gateway_status": state.gateway_status}, "meta": META()})),
        (&Method::PATCH, "/v1/settings/application") => {
            let url = json_body["webhooks"]["url"].as_str();
            let only_the_webhook = json_body.as_object().is_some_and(|o| o.len() == 1) && json_body["webhooks"].as_object().is_some_and(|o| o.len() == 1);
            match url {
                Some(url) if only_the_webhook => {
                    state.webhook_url = Some(url.to_owned()).filter(|u| !u.is_empty());
                    answer(200, json!({"meta": META()}))
                }
                _ => invalid("webhooks.url must be a string"),
            }
        }
        (&Method::POST, "/v1/messages") => {
            if let Err(problem) = check_send(&json_body) {
                return invalid(&problem);
            }
            if let Some(failure) = state.send_failures.pop_front() {
                return failure.into_response();
            }
            state.next_id += 1;
            answer(201, json!({"messages": [{"id": format!("gBEGkYiEB1VXAglK1ZEqA1YKPr{}", state.next_id)}], "meta": META()}))
        }
        (&Method::GET, media) if media.starts_with("/v1/media/") => match state.media.get(&media["/v1/media/".len()..]) {
            Some((bytes, mime_type)) => ([("content-type", mime_type.clone())], bytes.clone()).into_response(),
            // 404 with no body when the id is unknown.
            None => axum::http::StatusCode::NOT_FOUND.into_response(),
        },
        _ => answer(404, errors(1006, "Resource not found", &format!("{method} {path}"))),
    }
}

fn keys_are(object: &Value, allowed: &[&str]) -> Result<(), String> {
    let map = object.as_object().ok_or("expected an object")?;
    match map.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(key) => Err(format!("Unknown parameter {key}")),
        None => Ok(()),
    }
}

/// The documented bodies: `{"recipient_type"?: "individual", "to","type","text":{"body"}}`,
/// media `{"link",...}`,
/// `{"type":"hsm","hsm":{"namespace","element_name","language":{"policy","code"},"localizable_params":[{"default"}]}}`,
/// and `{"type":"interactive","interactive":{...}}` (`button` or `list`, the Cloud API's object
/// and limits; no `cta_url` here). The Cloud API's `messaging_product` is an unknown parameter.
fn check_send(body: &Value) -> Result<(), String> {
    let kind = body["type"].as_str().ok_or("type is required")?;
    keys_are(body, &["recipient_type", "to", "type", kind, "context"])?;
    if !body["recipient_type"].is_null() && body["recipient_type"] != "individual" {
        return Err("recipient_type must be individual".into());
    }
    if body["to"].as_str().is_none_or(|to| to.is_empty() || !to.chars().all(|c| c.is_ascii_digit())) {
        return Err("to must be a WhatsApp id".into());
    }
    let object = &body[kind];
    match kind {
        "text" => {
            keys_are(object, &["body"])?;
            if object["body"].as_str().is_none_or(|b| b.trim().is_empty()) {
                return Err("text.body is required".into());
            }
        }
        "image" | "video" | "document" | "audio" | "sticker" => {
            keys_are(object, &["link", "caption", "filename"])?;
            if object["link"].as_str().is_none() {
                return Err(format!("{kind}.link is required"));
            }
        }
        "hsm" => {
            keys_are(object, &["namespace", "element_name", "language", "localizable_params"])?;
            if object["namespace"] != NAMESPACE {
                return Err(format!("hsm.namespace {} is not this account's namespace", object["namespace"]));
            }
            if object["element_name"].as_str().is_none_or(str::is_empty) || object["language"]["policy"] != "deterministic" || object["language"]["code"].as_str().is_none() {
                return Err("hsm.element_name and hsm.language {policy: deterministic, code} are required".into());
            }
            for param in object["localizable_params"].as_array().ok_or("hsm.localizable_params must be a list")? {
                keys_are(param, &["default"])?;
            }
        }
        "interactive" => crate::fake_whatsapp_cloud::check_interactive(object, false)?,
        other => return Err(format!("type {other} is not supported")),
    }
    Ok(())
}
