//! A fake X (Twitter) API that behaves like the real one (providers.md, Twitter/X):
//! - every request must carry a valid OAuth 1.0a `Authorization` header (HMAC-SHA1). The fake
//!   recomputes the signature from the shared secrets with its own routine (not the plugin's:
//!   a different percent-encoder, its own parsing) and refuses a wrong one, an unknown consumer
//!   key or token, or a reused nonce, with 401 `{"errors":[{"code":32,"message":"Could not authenticate you."}]}`;
//! - the 3-legged login: `POST /oauth/request_token` (needs `oauth_callback`),
//!   `GET /oauth/authorize?oauth_token=` (as if the user approved: a 302 to the callback with
//!   `oauth_token` and `oauth_verifier`, or `denied=` when told to refuse), `POST /oauth/access_token`
//!   (the request token and its verifier, once);
//! - `GET /1.1/account/verify_credentials.json`, Account Activity webhook registration
//!   (`POST`/`DELETE .../all/{env}/webhooks`) and subscriptions, and the DM send endpoint.
//!
//! It records every request, so tests check what our plugin sent.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use crate::recorder::{Recorded, Recorder};
use serde_json::{Value, json};

pub const CONSUMER_KEY: &str = "xvz1evFS4wEEPTGEFPHBog";
pub const CONSUMER_SECRET: &str = "kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw";
/// The account's token from the developer portal ("Integrate with developer Apps").
pub const ACCESS_TOKEN: &str = "1600000000000000001-TokoBudiAccessTokenFromPortal";
pub const ACCESS_TOKEN_SECRET: &str = "LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE";
pub const ENVIRONMENT: &str = "production";
pub const ACCOUNT_ID: &str = "1600000000000000001";
pub const SCREEN_NAME: &str = "tokobudi";


#[derive(Default)]
struct FakeState {
    base_url: String,
    /// Access tokens: token -> secret.
    access_tokens: HashMap<String, String>,
    /// Whose each access token is: token -> (user id, screen name).
    token_users: HashMap<String, (String, String)>,
    /// Who logs in next at the authorize page (default: Toko Budi's account).
    next_login: Option<(String, String)>,
    /// Request tokens of logins under way: token -> (secret, callback, verifier).
    request_tokens: HashMap<String, (String, String, String)>,
    nonces: HashSet<String>,
    deny_next_login: bool,
    /// Registered webhooks: id -> (environment, url).
    webhooks: HashMap<String, (String, String)>,
    /// Users subscribed to the app's Account Activity (each by their own token).
    subscribed: HashSet<String>,
    received: Recorder,
    refused: usize,
    scripted_send_failures: VecDeque<(u16, Value, Option<u64>)>,
    next_id: u64,
    /// DM media on ton: path below `/1.1/ton/data/dm/` -> bytes.
    dm_media: HashMap<String, Vec<u8>>,
    /// Media downloads answered, and refused (unsigned or wrongly signed).
    media_served: (usize, usize),
}

#[derive(Clone)]
pub struct FakeTwitter {
    pub base_url: String,
    pub authority: String,
    state: Arc<Mutex<FakeState>>,
}

impl FakeTwitter {
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(FakeState { next_id: 1_800_000_000_000_000_000, ..Default::default() }));
        {
            let mut fresh = state.lock().unwrap();
            fresh.access_tokens.insert(ACCESS_TOKEN.into(), ACCESS_TOKEN_SECRET.into());
            fresh.token_users.insert(ACCESS_TOKEN.into(), (ACCOUNT_ID.into(), SCREEN_NAME.into()));
        }
        let (base_url, authority) = crate::serve_fake(Router::new().fallback(handle).with_state(state.clone())).await;
        state.lock().unwrap().base_url = base_url.clone();
        Self { base_url, authority, state }
    }

    /// Media of a DM, served (to a signed request) at the URL returned, as `media_url_https`.
    pub fn add_dm_media(&self, dm_id: &str, media_id: &str, bytes: &[u8]) -> String {
        let path = format!("{dm_id}/{media_id}/photo.jpg");
        self.state.lock().unwrap().dm_media.insert(path.clone(), bytes.to_vec());
        format!("{}/1.1/ton/data/dm/{path}", self.base_url)
    }

    /// Media downloads (served, refused).
    pub fn media_downloads(&self) -> (usize, usize) {
        self.state.lock().unwrap().media_served
    }

    pub fn received(&self) -> Vec<Recorded> {
        self.state.lock().unwrap().received.all()
    }

    /// Authenticated requests to one method and path.
    pub fn calls(&self, method: &str, path: &str) -> Vec<Recorded> {
        self.state.lock().unwrap().received.calls(method, path)
    }

    /// How many requests were refused for their OAuth 1.0a signature or credentials.
    pub fn refused(&self) -> usize {
        self.state.lock().unwrap().refused
    }

    /// The registered webhooks: (id, environment, url).
    pub fn webhooks(&self) -> Vec<(String, String, String)> {
        self.state.lock().unwrap().webhooks.iter().map(|(id, (env, url))| (id.clone(), env.clone(), url.clone())).collect()
    }

    /// Whether Toko Budi's account is subscribed.
    pub fn subscribed(&self) -> bool {
        self.state.lock().unwrap().subscribed.contains(ACCOUNT_ID)
    }

    /// Every subscribed user id, sorted.
    pub fn subscribed_users(&self) -> Vec<String> {
        let mut users: Vec<String> = self.state.lock().unwrap().subscribed.iter().cloned().collect();
        users.sort();
        users
    }

    /// The next login at the authorize page is this account's (another business's X account).
    pub fn next_login_as(&self, user_id: &str, screen_name: &str) {
        self.state.lock().unwrap().next_login = Some((user_id.into(), screen_name.into()));
    }

    /// The next login is refused by the user ("Cancel"): the authorize page redirects with `denied`.
    pub fn deny_next_login(&self) {
        self.state.lock().unwrap().deny_next_login = true;
    }

    /// Makes the next DM send fail with this status, X error and maybe `x-rate-limit-reset`.
    pub fn fail_next_send(&self, status: u16, code: u32, message: &str, rate_limit_reset: Option<u64>) {
        let body = json!({"errors": [{"code": code, "message": message}]});
        self.state.lock().unwrap().scripted_send_failures.push_back((status, body, rate_limit_reset));
    }

    /// `X-Twitter-Webhooks-Signature` for a delivery: `sha256=` + base64(HMAC-SHA256(consumer secret, body)).
    pub fn webhook_signature(body: &str) -> String {
        format!("sha256={}", BASE64.encode(hmac_sha256(CONSUMER_SECRET, body)))
    }
}

fn hmac_sha256(key: &str, message: &str) -> Vec<u8> {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(message.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// RFC 3986 encoding the classic way: form-encode, then undo what forms do differently.
fn rfc3986(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect::<String>().replace('+', "%20").replace('*', "%2A").replace("%7E", "~")
}

/// The `oauth_signature` X expects (RFC 5849 section 3.4.1-3.4.2).
/// X's rules for `quick_reply` and `ctas` (providers-interactive.md §7): `type` `options`, 1-20
/// options, each a `label` of at most 36 without a URL, a `description` of at most 72 on all
/// options or none, `metadata` of at most 1000; 1-3 `ctas` of `type` `web_url` (labels 36).
fn quick_reply_problem(data: &Value) -> Result<(), String> {
    let chars = |value: &Value| value.as_str().map_or(0, |s| s.chars().count());
    if let Some(quick) = data.get("quick_reply") {
        let options = quick["options"].as_array().cloned().unwrap_or_default();
        if quick["type"] != "options" || options.is_empty() || options.len() > 20 {
            return Err("message_data.quick_reply: type must be options, with 1 to 20 options".into());
        }
        let described = options.iter().filter(|o| o.get("description").is_some()).count();
        if described != 0 && described != options.len() {
            return Err("message_data.quick_reply.options: descriptions on all options or none".into());
        }
        for option in &options {
            let label = option["label"].as_str().unwrap_or_default();
            if !(1..=36).contains(&chars(&option["label"])) || label.contains("http") || chars(&option["description"]) > 72 || chars(&option["metadata"]) > 1000 {
                return Err(format!("message_data.quick_reply.options: invalid option {option}"));
            }
        }
    }
    if let Some(ctas) = data.get("ctas") {
        let ctas = ctas.as_array().cloned().unwrap_or_default();
        if ctas.is_empty() || ctas.len() > 3 || ctas.iter().any(|c| c["type"] != "web_url" || !(1..=36).contains(&chars(&c["label"])) || !c["url"].as_str().is_some_and(|u| u.starts_with("http"))) {
            return Err("message_data.ctas: 1 to 3 web_url buttons with labels of at most 36".into());
        }
    }
    Ok(())
}

pub fn expected_signature(method: &str, url: &str, params: &[(String, String)], consumer_secret: &str, token_secret: &str) -> String {
    let mut pairs: Vec<String> = params.iter().map(|(k, v)| format!("{}={}", rfc3986(k), rfc3986(v))).collect();
    pairs.sort();
    let base = [method.to_uppercase(), rfc3986(url), rfc3986(&pairs.join("&"))].join("&");
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(format!("{}&{}", rfc3986(consumer_secret), rfc3986(token_secret)).as_bytes()).unwrap();
    mac.update(base.as_bytes());
    BASE64.encode(mac.finalize().into_bytes())
}

/// `OAuth k="v", k2="v2"` -> decoded pairs.
fn parse_authorization(value: &str) -> Option<HashMap<String, String>> {
    let fields = value.strip_prefix("OAuth ")?;
    let mut map = HashMap::new();
    for field in fields.split(',') {
        let (key, quoted) = field.trim().split_once('=')?;
        let raw = quoted.strip_prefix('"')?.strip_suffix('"')?;
        let decoded: String = form_urlencoded::parse(format!("v={}", raw.replace('+', "%2B")).as_bytes()).next()?.1.into_owned();
        map.insert(key.to_owned(), decoded);
    }
    Some(map)
}

fn errors(status: u16, code: u32, message: &str) -> Response {
    (StatusCode::from_u16(status).unwrap(), axum::Json(json!({"errors": [{"code": code, "message": message}]}))).into_response()
}

fn unauthenticated() -> Response {
    errors(401, 32, "Could not authenticate you.")
}

fn form_answer(pairs: &[(&str, &str)]) -> Response {
    let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response()
}

async fn handle(State(state): State<Arc<Mutex<FakeState>>>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let path = uri.path().to_owned();
    let query: Vec<(String, String)> = form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes()).into_owned().collect();
    let mut state = state.lock().unwrap();

    // The authorize page is the user's browser, not a signed API call.
    if method == Method::GET && path == "/oauth/authorize" {
        let token = query.iter().find(|(k, _)| k == "oauth_token").map(|(_, v)| v.clone()).unwrap_or_default();
        let Some((_, callback, verifier)) = state.request_tokens.get(&token).cloned() else {
            return (StatusCode::BAD_REQUEST, "This page is no longer valid.").into_response();
        };
        let separator = if callback.contains('?') { '&' } else { '?' };
        let back = if std::mem::take(&mut state.deny_next_login) {
            form_urlencoded::Serializer::new(String::new()).append_pair("denied", &token).finish()
        } else {
            form_urlencoded::Serializer::new(String::new()).append_pair("oauth_token", &token).append_pair("oauth_verifier", &verifier).finish()
        };
        return (StatusCode::FOUND, [(header::LOCATION, format!("{callback}{separator}{back}"))]).into_response();
    }

    // Every API call: OAuth 1.0a, checked from scratch.
    let Some(oauth) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(parse_authorization) else {
        state.refused += 1;
        return errors(400, 215, "Bad Authentication data.");
    };
    let token = oauth.get("oauth_token").cloned();
    let token_secret = match (&token, path.as_str()) {
        (None, "/oauth/request_token") => Some(String::new()),
        (Some(token), "/oauth/access_token") => state.request_tokens.get(token).map(|(secret, _, _)| secret.clone()),
        (Some(token), _) => state.access_tokens.get(token).cloned(),
        (None, _) => None,
    };
    let mut signed: Vec<(String, String)> = oauth.iter().filter(|(k, _)| *k != "oauth_signature").map(|(k, v)| (k.clone(), v.clone())).collect();
    signed.extend(query.iter().cloned());
    let is_form = headers.get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"application/x-www-form-urlencoded"));
    if is_form {
        signed.extend(form_urlencoded::parse(&body).into_owned());
    }
    let nonce = oauth.get("oauth_nonce").cloned().unwrap_or_default();
    let valid = token_secret.is_some_and(|token_secret| {
        let expected = expected_signature(method.as_str(), &format!("{}{path}", state.base_url), &signed, CONSUMER_SECRET, &token_secret);
        oauth.get("oauth_consumer_key").map(String::as_str) == Some(CONSUMER_KEY)
            && oauth.get("oauth_signature_method").map(String::as_str) == Some("HMAC-SHA1")
            && oauth.get("oauth_signature") == Some(&expected)
            && !nonce.is_empty()
            && !state.nonces.contains(&nonce)
    });
    let ton = path.strip_prefix("/1.1/ton/data/dm/").map(str::to_owned);
    if !valid {
        state.refused += 1;
        if ton.is_some() {
            state.media_served.1 += 1;
        }
        return unauthenticated();
    }
    if let Some(ton) = ton {
        return match state.dm_media.get(&ton).cloned() {
            Some(bytes) => {
                state.media_served.0 += 1;
                ([(header::CONTENT_TYPE, "image/jpeg")], bytes).into_response()
            }
            None => errors(404, 34, "Sorry, that page does not exist."),
        };
    }
    state.nonces.insert(nonce);
    let json_body: Value = if body.is_empty() || is_form { Value::Null } else { serde_json::from_slice(&body).unwrap_or(Value::Null) };
    state.received.record(Recorded {
        method: method.to_string(),
        path: path.clone(),
        query: query.iter().cloned().collect(),
        details: oauth.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        body: json_body.clone(),
        ..Default::default()
    });
    let param = |name: &str| query.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    state.next_id += 1;
    let id = state.next_id.to_string();

    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (method.as_str(), segments.as_slice()) {
        ("POST", ["oauth", "request_token"]) => {
            let Some(callback) = oauth.get("oauth_callback").cloned() else { return errors(400, 417, "Desktop applications only support the oauth_callback value 'oob'") };
            let (token, secret, verifier) = (format!("req-{id}"), format!("reqsecret-{id}"), format!("verifier-{id}"));
            state.request_tokens.insert(token.clone(), (secret.clone(), callback, verifier));
            form_answer(&[("oauth_token", &token), ("oauth_token_secret", &secret), ("oauth_callback_confirmed", "true")])
        }
        ("POST", ["oauth", "access_token"]) => {
            let token = token.unwrap_or_default();
            let (_, _, verifier) = state.request_tokens.remove(&token).expect("checked above");
            if oauth.get("oauth_verifier") != Some(&verifier) {
                return errors(401, 32, "Invalid oauth_verifier parameter");
            }
            let (user_id, screen_name) = state.next_login.take().unwrap_or((ACCOUNT_ID.into(), SCREEN_NAME.into()));
            let (access, secret) = (format!("{user_id}-login{id}"), format!("loginsecret{id}"));
            state.access_tokens.insert(access.clone(), secret.clone());
            state.token_users.insert(access.clone(), (user_id.clone(), screen_name.clone()));
            form_answer(&[("oauth_token", &access), ("oauth_token_secret", &secret), ("user_id", &user_id), ("screen_name", &screen_name)])
        }
        ("GET", ["1.1", "account", "verify_credentials.json"]) => {
            let (user_id, screen_name) = state.token_users.get(&token.unwrap_or_default()).cloned().unwrap_or_default();
            axum::Json(json!({"id": user_id.parse::<u64>().unwrap_or(0), "id_str": user_id, "name": screen_name, "screen_name": screen_name}))
                .into_response()
        }
        (_, ["1.1", "account_activity", "all", env, rest @ ..]) => {
            if *env != ENVIRONMENT {
                return errors(404, 34, "Sorry, that page does not exist.");
            }
            match (method.as_str(), rest) {
                ("POST", ["webhooks.json"]) => {
                    let Some(url) = param("url").filter(|u| u.starts_with("https://")) else {
                        return errors(400, 214, "Webhook URL does not meet the requirements.");
                    };
                    if state.webhooks.values().any(|(_, u)| *u == url) {
                        return errors(400, 214, "Webhook URL is already registered.");
                    }
                    state.webhooks.insert(id.clone(), (ENVIRONMENT.into(), url.clone()));
                    axum::Json(json!({"id": id, "url": url, "valid": true, "created_timestamp": "2026-11-21 00:00:00 +0000"})).into_response()
                }
                ("DELETE", ["webhooks", file]) => match file.strip_suffix(".json").and_then(|id| state.webhooks.remove(id)) {
                    Some(_) => StatusCode::NO_CONTENT.into_response(),
                    None => errors(404, 34, "Sorry, that page does not exist."),
                },
                // User context: the token says whose subscription it is.
                ("POST", ["subscriptions.json"]) => {
                    let (user_id, _) = state.token_users.get(&token.unwrap_or_default()).cloned().unwrap_or_default();
                    state.subscribed.insert(user_id);
                    StatusCode::NO_CONTENT.into_response()
                }
                ("DELETE", ["subscriptions.json"]) => {
                    let (user_id, _) = state.token_users.get(&token.unwrap_or_default()).cloned().unwrap_or_default();
                    match state.subscribed.remove(&user_id) {
                        true => StatusCode::NO_CONTENT.into_response(),
                        false => errors(404, 34, "Sorry, that page does not exist."),
                    }
                }
                _ => errors(404, 34, "Sorry, that page does not exist."),
            }
        }
        ("POST", ["1.1", "direct_messages", "events", "new.json"]) => {
            let create = &json_body["event"]["message_create"];
            let (Some(recipient), Some(text)) = (create["target"]["recipient_id"].as_str(), create["message_data"]["text"].as_str()) else {
                return errors(400, 214, "event.message_create.target: recipient_id is required");
            };
            if json_body["event"]["type"] != "message_create" || text.trim().is_empty() {
                return errors(400, 214, "event.type or message text is invalid");
            }
            if let Err(problem) = quick_reply_problem(&create["message_data"]) {
                return errors(400, 214, &problem);
            }
            if let Some((status, body, reset)) = state.scripted_send_failures.pop_front() {
                let mut response = (StatusCode::from_u16(status).unwrap(), axum::Json(body)).into_response();
                if let Some(reset) = reset {
                    response.headers_mut().insert("x-rate-limit-reset", reset.into());
                }
                return response;
            }
            axum::Json(json!({"event": {
                "type": "message_create", "id": id, "created_timestamp": "1763600000000",
                "message_create": {"target": {"recipient_id": recipient}, "sender_id": ACCOUNT_ID, "message_data": {"text": text}}
            }}))
            .into_response()
        }
        _ => errors(404, 34, "Sorry, that page does not exist."),
    }
}

#[cfg(test)]
mod tests {
    /// X's documented example (providers.md), through the fake's own routine.
    #[test]
    fn the_fakes_signature_routine_matches_x_documented_example() {
        let params: Vec<(String, String)> = [
            ("include_entities", "true"),
            ("oauth_consumer_key", "xvz1evFS4wEEPTGEFPHBog"),
            ("oauth_nonce", "kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg"),
            ("oauth_signature_method", "HMAC-SHA1"),
            ("oauth_timestamp", "1318622958"),
            ("oauth_token", "370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb"),
            ("oauth_version", "1.0"),
            ("status", "Hello Ladies + Gentlemen, a signed OAuth request!"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let signature = super::expected_signature(
            "POST",
            "https://api.twitter.com/1/statuses/update.json",
            &params,
            super::CONSUMER_SECRET,
            super::ACCESS_TOKEN_SECRET,
        );
        assert_eq!(signature, "tnnArxj06cWHq44gCs1OSKk/jLY=");
    }
}
