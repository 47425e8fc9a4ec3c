//! The website chat's front: for `webchat` channels the host is the provider. It serves the
//! widget script and a preview page, and the visitor API the widget talks to from the
//! business's pages (cross-origin, so with CORS):
//!
//! | route | what |
//! |---|---|
//! | `GET /webchat/{id}/widget.js` | the widget (the embed snippet loads it) |
//! | `GET /webchat/{id}/preview[?name=&color=&greeting=&position=&enabled=]` | the widget drawn with the saved settings (or these unsaved ones) |
//! | `POST /webchat/{id}/session` | `{"token"?}` -> the visitor's token (the same one while it is valid, else a new one) and the widget's look |
//! | `POST /webchat/{id}/messages` | `{"client_id","text","choice"?}` with `Authorization: Bearer <visitor token>` -> 201 the stored message (`choice`: the id of an option the visitor clicked, `text` its title) |
//! | `POST /webchat/{id}/files?client_id=&filename=[&text=]` | the file as the body, with the visitor token -> 201 the stored message with the file (413 over `--media-max-mb`) |
//! | `GET /webchat/{id}/stream` | with the visitor token: server-sent events, a `snapshot` of the visitor's conversation, then each `message` live |
//!
//! Every visitor request must come from a page on the channel's domain (`Origin`) while the
//! widget is on; a visitor reads and writes their own conversation only (the token decides
//! which). A visitor's message goes in through the webchat plugin like any webhook: the host
//! hands it over signed with the channel's webhook secret, the plugin checks and normalizes
//! it, the host stores the event. An agent's reply goes out through the outbox and the
//! plugin's `send`; once sent, the host pushes it to the visitor's open pages (`crate::live`).
//! A page that (re)connects gets the snapshot first, so nothing sent meanwhile is missed.

mod origins;
mod visitors;

use std::collections::HashSet;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;

use super::ApiError;
use crate::app::App;
use crate::live::{Change, LiveEvent};
use crate::runtime::types::HttpRequest;
use crate::store::model::{Channel, ChannelStatus, Message};
use crate::store::Scope;
use visitors::{Exceeded, Limits};

/// The plugin whose channels this front serves.
const PLUGIN: &str = "webchat";
const WIDGET_JS: &str = include_str!("widget.js");
/// The widget's words, English and Bahasa Indonesia. A pair of its own beside widget.js rather
/// than `widget.` keys in the admin pages' catalogues: those would add the admin pages' words
/// (some 20 kB) to every visitor's script.
const WIDGET_EN: &str = include_str!("widget-i18n/en.json");
const WIDGET_ID: &str = include_str!("widget-i18n/id.json");
/// Where widget.js takes its catalogues.
const CATALOGUES_SLOT: &str = "/*{{catalogues}}*/{ en: {}, id: {} }";
/// widget.js with its catalogues written in. Served in the one request the embed snippet
/// makes: fetching them instead would need a cross-origin request (CORS) before the bubble
/// shows, and the preview page's policy (`default-src 'none'`) allows no fetch at all.
static WIDGET: LazyLock<String> =
    LazyLock::new(|| WIDGET_JS.replacen(CATALOGUES_SLOT, &format!("{{ \"en\": {}, \"id\": {} }}", WIDGET_EN.trim(), WIDGET_ID.trim()), 1));
const PREVIEW_HTML: &str = include_str!("preview.html");
/// Messages a (re)connecting page gets.
const SNAPSHOT_LIMIT: u32 = 200;
/// How often an open stream checks that the widget is still on and the page still allowed.
const RECHECK: Duration = Duration::from_secs(30);
/// Visitor requests are small.
const MAX_BODY_BYTES: usize = 16 * 1024;

struct Front {
    app: Arc<App>,
    limits: Limits,
}

pub fn routes<S>(app: Arc<App>) -> Router<S> {
    let limits = match &app.deployment.shared_rates {
        Some(rates) => Limits::shared(rates.clone()),
        None => Limits::default(),
    };
    let front = Arc::new(Front { app, limits });
    Router::new()
        .route("/webchat/{channel_id}/widget.js", get(widget_script))
        .route("/webchat/{channel_id}/preview", get(preview))
        .route("/webchat/{channel_id}/session", post(session).options(preflight))
        .route("/webchat/{channel_id}/messages", post(write).options(preflight))
        .route("/webchat/{channel_id}/stream", get(stream).options(preflight))
        .route("/webchat/{channel_id}/files", post(attach).options(preflight))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(front)
}

/// The widget's settings (the webchat plugin's schema), with the schema's defaults.
struct Widget {
    name: String,
    domain: String,
    enabled: bool,
    color: String,
    greeting: String,
    position: String,
}

impl Widget {
    fn of(app: &App, channel: &Channel) -> Self {
        let plugin = app.registry.get(&channel.plugin);
        let setting = |key: &str| {
            channel.settings.get(key).cloned().or_else(|| {
                let field = plugin.as_ref()?.settings_schema.iter().find(|f| f.key == key)?;
                field.default_value.clone()
            })
        };
        Self {
            name: channel.name.clone(),
            domain: setting("domain").unwrap_or_default(),
            enabled: setting("enabled").is_none_or(|on| on == "true"),
            color: setting("color").unwrap_or_default(),
            greeting: setting("greeting").unwrap_or_default(),
            position: setting("position").unwrap_or_default(),
        }
    }

    /// What the widget draws (all public: it is on the business's pages).
    fn look(&self) -> serde_json::Value {
        json!({ "name": self.name, "color": self.color, "greeting": self.greeting, "position": self.position })
    }
}

/// A webchat channel by id.
async fn webchat_channel(app: &App, channel_id: &str) -> Result<Channel, ApiError> {
    app.store
        .channel(channel_id, Scope::Every).await?
        .filter(|c| c.status == ChannelStatus::Active && c.plugin == PLUGIN)
        .ok_or_else(|| ApiError::not_found(format!("no website chat `{channel_id}`")))
}

/// A refusal; it carries CORS headers when the page's origin is allowed, so the widget can
/// read why (a page elsewhere learns nothing). Boxed: refusals are the rare path.
struct Refused(Box<Refusal>);

struct Refusal {
    error: ApiError,
    origin: Option<HeaderValue>,
    retry_after: Option<Duration>,
}

impl Refused {
    fn new(error: ApiError, origin: Option<HeaderValue>, retry_after: Option<Duration>) -> Self {
        Self(Box::new(Refusal { error, origin, retry_after }))
    }
}

impl From<ApiError> for Refused {
    fn from(error: ApiError) -> Self {
        Self::new(error, None, None)
    }
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        let Refusal { error, origin, retry_after } = *self.0;
        let mut response = error.into_response();
        if let Some(wait) = retry_after {
            let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
        }
        with_cors(response, origin.as_ref())
    }
}

fn with_cors(mut response: Response, origin: Option<&HeaderValue>) -> Response {
    let headers = response.headers_mut();
    headers.append(header::VARY, HeaderValue::from_static("origin"));
    if let Some(origin) = origin {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
    }
    response
}

/// A visitor request that passed the checks: the channel, its widget and the page's origin.
struct Visit {
    channel: Channel,
    widget: Widget,
    origin: HeaderValue,
}

impl Visit {
    /// The channel exists, the page is on its domain and the widget is on.
    async fn check(app: &App, channel_id: &str, headers: &HeaderMap) -> Result<Self, Refused> {
        let visit = Self::from_allowed_page(app, channel_id, headers).await?;
        if !visit.widget.enabled {
            return Err(visit.refuse(ApiError::new(StatusCode::FORBIDDEN, "widget_disabled", "the chat widget is switched off")));
        }
        Ok(visit)
    }

    /// The channel exists and the page is on its domain.
    async fn from_allowed_page(app: &App, channel_id: &str, headers: &HeaderMap) -> Result<Self, Refused> {
        let channel = webchat_channel(app, channel_id).await?;
        let widget = Widget::of(app, &channel);
        let origin = headers.get(header::ORIGIN).cloned();
        let allowed = origin.as_ref().and_then(|o| o.to_str().ok()).is_some_and(|o| origins::allows(&widget.domain, o));
        let (true, Some(origin)) = (allowed, origin) else {
            let message = "this page's origin may not use this chat widget";
            return Err(ApiError::new(StatusCode::FORBIDDEN, "origin_not_allowed", message).into());
        };
        Ok(Self { channel, widget, origin })
    }

    fn refuse(&self, error: ApiError) -> Refused {
        Refused::new(error, Some(self.origin.clone()), None)
    }

    fn limited(&self, result: Result<(), Exceeded>) -> Result<(), Refused> {
        result.map_err(|Exceeded(wait)| {
            let error = ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", "too many requests: wait a moment");
            Refused::new(error, Some(self.origin.clone()), Some(wait))
        })
    }

    /// The visitor the request's bearer token names.
    fn visitor(&self, headers: &HeaderMap) -> Result<String, Refused> {
        let token = headers
            .get(header::AUTHORIZATION)
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.strip_prefix("Bearer "))
            .unwrap_or_default();
        visitors::verify(&self.channel.webhook_secret, &self.channel.id, token).ok_or_else(|| {
            let message = "missing or unknown visitor token: start a new session";
            self.refuse(ApiError::new(StatusCode::UNAUTHORIZED, "invalid_visitor_token", message))
        })
    }

    fn ok(&self, response: impl IntoResponse) -> Response {
        with_cors(response.into_response(), Some(&self.origin))
    }
}


async fn widget_script(State(front): State<Arc<Front>>, Path(channel_id): Path<String>) -> Result<Response, ApiError> {
    webchat_channel(&front.app, &channel_id).await?;
    let headers = [
        (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
        (header::CACHE_CONTROL, "public, max-age=300"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    ];
    Ok((headers, WIDGET.as_str()).into_response())
}

/// CORS preflight: allowed pages may send JSON and the visitor token.
async fn preflight(State(front): State<Arc<Front>>, Path(channel_id): Path<String>, headers: HeaderMap) -> Result<Response, Refused> {
    let visit = Visit::from_allowed_page(&front.app, &channel_id, &headers).await?;
    let headers = [
        (header::ACCESS_CONTROL_ALLOW_METHODS, "GET, POST"),
        (header::ACCESS_CONTROL_ALLOW_HEADERS, "authorization, content-type"),
        (header::ACCESS_CONTROL_MAX_AGE, "600"),
    ];
    Ok(visit.ok((StatusCode::NO_CONTENT, headers)))
}

/// A JSON body; an empty one is the type's default.
fn body_json<T: serde::de::DeserializeOwned + Default>(visit: &Visit, body: &[u8]) -> Result<T, Refused> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    // As the API's JSON.
    if let Some(refusal) = crate::api::bad_input::nul_refusal(body) {
        return Err(visit.refuse(refusal));
    }
    serde_json::from_slice(body).map_err(|e| visit.refuse(ApiError::bad_request(format!("the body is not what this route takes: {e}"))))
}

#[derive(Deserialize, Default)]
struct SessionRequest {
    token: Option<String>,
}

async fn session(
    State(front): State<Arc<Front>>,
    Path(channel_id): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Refused> {
    let app = &front.app;
    let visit = Visit::check(app, &channel_id, &headers).await?;
    let request: SessionRequest = body_json(&visit, &body)?;
    let secret = &visit.channel.webhook_secret;
    let known = request.token.and_then(|token| Some((visitors::verify(secret, &channel_id, &token)?, token)));
    let (visitor, token) = match known {
        Some(known) => known,
        None => {
            visit.limited(front.limits.session(&channel_id, super::auth::client_block(super::auth::client_address(peer, &headers))).await)?;
            let token = visitors::issue(secret, &channel_id);
            let visitor = visitors::verify(secret, &channel_id, &token).expect("a token just issued verifies");
            (visitor, token)
        }
    };
    let conversation = app.store.conversation_at(&channel_id, &visitor).await.map_err(|e| visit.refuse(e.into()))?;
    Ok(visit.ok(Json(json!({ "token": token, "widget": visit.widget.look(), "conversation": conversation.is_some() }))))
}

#[derive(Deserialize, Default)]
struct WriteRequest {
    client_id: String,
    text: String,
    /// The option the visitor clicked (the id the widget was shown), `text` being its title.
    #[serde(default)]
    choice: Option<String>,
}

/// A visitor's message: handed to the webchat plugin as a signed webhook, then stored.
async fn write(
    State(front): State<Arc<Front>>,
    Path(channel_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Refused> {
    let app = &front.app;
    let visit = Visit::check(app, &channel_id, &headers).await?;
    let visitor = visit.visitor(&headers)?;
    visit.limited(front.limits.message(&channel_id, &visitor).await)?;
    let written: WriteRequest = body_json(&visit, &body)?;
    // The page is given short ids only (`~<message>.<option>`), never the business's own, each
    // naming an option of a message of the visitor's conversation: any other id is one the
    // visitor made up, which a bot would otherwise take for an option.
    if let Some(choice) = written.choice.as_deref()
        && !offered_to(app, &channel_id, &visitor, choice).await.map_err(|e| visit.refuse(e.into()))?
    {
        let problem = "must be the id of an option this page was given (`~<message>.<option>`)";
        return Err(visit.refuse(ApiError::invalid_fields(std::collections::BTreeMap::from([("choice".to_owned(), problem.to_owned())]))));
    }
    handed_over(&front, &visit, json!({ "visitor": visitor, "client_id": written.client_id, "text": written.text, "choice": written.choice })).await
}

/// Whether `choice` is the short id of an option of one of the last messages sent to `visitor`'s
/// conversation (as far back as a tap is looked for).
async fn offered_to(app: &App, channel_id: &str, visitor: &str, choice: &str) -> Result<bool, crate::store::StoreError> {
    let Some(short) = crate::interactive::ShortId::parse(choice) else { return Ok(false) };
    let sent = app.store.recent_outbound_at(channel_id, visitor, crate::ingest::TAPS_LOOKED_AT).await?;
    Ok(sent.iter().any(|message| message.id == short.message_id && message.content.interactive.as_ref().is_some_and(|offer| crate::interactive::issued_position(offer, short).is_some())))
}

/// Hands a visitor's message to the webchat plugin, signed with the channel's secret, and
/// stores what it makes of it; 201 with the message as the visitor sees it.
async fn handed_over(front: &Front, visit: &Visit, message: serde_json::Value) -> Result<Response, Refused> {
    let app = &front.app;
    let body = serde_json::to_vec(&message).expect("JSON serializes");
    let request = HttpRequest {
        method: "POST".into(),
        path: "messages".into(),
        query: String::new(),
        headers: vec![
            ("content-type".into(), "application/json".into()),
            ("x-webchat-signature".into(), visitors::sign(&visit.channel.webhook_secret, &body)),
        ],
        body,
    };
    let handled = crate::ingest::handle(app, &visit.channel, &request).await.map_err(|e| visit.refuse(e.into()))?;
    let first = match handled.messages.first() {
        Some(message) => VisitorMessage::of(app, &visit.channel, message).await,
        None => None,
    };
    Ok(match first {
        Some(message) => visit.ok((StatusCode::CREATED, Json(json!({ "message": message })))),
        // The same client id again: stored the first time.
        None => visit.ok(Json(json!({ "message": null, "duplicate": true }))),
    })
}

#[derive(Deserialize)]
struct AttachQuery {
    client_id: String,
    filename: Option<String>,
    text: Option<String>,
}

/// A visitor's file (the request's body; its type sniffed from the bytes), with an optional
/// caption: kept by the host, then handed to the webchat plugin like a message whose
/// attachment is that file.
async fn attach(
    State(front): State<Arc<Front>>,
    Path(channel_id): Path<String>,
    Query(query): Query<AttachQuery>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Result<Response, Refused> {
    let app = &front.app;
    let visit = Visit::check(app, &channel_id, &headers).await?;
    let visitor = visit.visitor(&headers)?;
    visit.limited(front.limits.message(&channel_id, &visitor).await)?;
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    let claimed = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let bytes = app.media.receive(body.into_data_stream(), declared, claimed).await.map_err(|e| visit.refuse(super::media::refused_upload(&e)))?;
    let filename = query.filename.map(|n| n.chars().filter(|c| !c.is_control() && *c != '/' && *c != '\\').take(255).collect::<String>()).filter(|n| !n.trim().is_empty());
    let file = json!({ "mime_type": bytes.mime_type, "filename": filename, "size": bytes.size });
    let kept = bytes.clone();
    let reference = app.media.kept.put(&channel_id, crate::media::plugin_files::KeptFile { bytes, filename });
    let mut file = file;
    file["reference"] = reference.into();
    let body = json!({ "visitor": visitor, "client_id": query.client_id, "text": query.text.unwrap_or_default(), "file": file });
    let answer = handed_over(&front, &visit, body).await;
    // A refused message (or one stored before: its file is the first one's) recorded no file:
    // its bytes go now, not a pin's hour later (a script repeating refused uploads filled the disk).
    if !answer.as_ref().is_ok_and(|stored| stored.status() == StatusCode::CREATED) {
        app.media.release(&kept).await;
    }
    answer
}

/// A message as its visitor sees it.
#[derive(Serialize)]
struct VisitorMessage {
    id: i64,
    /// `visitor` or `agent`.
    from: &'static str,
    text: String,
    /// When it was written (ms since the epoch).
    at: i64,
    /// The widget's id for a visitor's message.
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id: Option<String>,
    /// Its files, each with a signed link the page can load without a session.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    files: Vec<VisitorFile>,
    /// An agent's options to click, each id a short id (`~<message>.<option>`): the business's
    /// own ids (its payloads) never reach the page; a click sends the short id back.
    #[serde(skip_serializing_if = "Option::is_none")]
    interactive: Option<crate::interactive::model::InteractiveContent>,
}

#[derive(Serialize)]
struct VisitorFile {
    name: Option<String>,
    mime_type: Option<String>,
    size: Option<i64>,
    url: String,
}

impl VisitorMessage {
    /// The visitor sees their own messages and the replies that were sent (not queued or failed ones).
    async fn of(app: &App, channel: &Channel, message: &Message) -> Option<Self> {
        use crate::store::model::DeliveryStatus::{Delivered, Read, Sent};
        let from = match (message.direction.as_str(), message.status) {
            ("inbound", _) => "visitor",
            ("outbound", Sent | Delivered | Read) => "agent",
            _ => return None,
        };
        let client_id = message.properties.iter().find(|(k, _)| k == "client_id").map(|(_, v)| v.clone());
        let expires = crate::store::now_ms() + crate::media::links::LINK_LIFETIME_MS;
        let files: Vec<VisitorFile> = app
            .store
            .media_of_messages(&[message.id]).await
            .ok()?
            .into_iter()
            .filter(|f| f.state == "stored")
            .map(|f| VisitorFile {
                url: crate::media::links::link(&app.public_url, channel, f.id, expires, f.filename.as_deref()),
                name: f.filename,
                mime_type: f.mime_type,
                size: f.size,
            })
            .collect();
        if message.text.is_none() && files.is_empty() {
            return None;
        }
        let interactive = message.content.interactive.as_ref().map(|content| crate::interactive::wire_content(content, message.id, 0));
        let text = match &interactive {
            // The page draws the options itself: the text is what the agent wrote.
            Some(content) => content.text_with_header_and_footer(),
            None => message.text.clone().unwrap_or_default(),
        };
        Some(Self { id: message.id, from, text, at: message.created_at, client_id, files, interactive })
    }
}

/// Live messages for one visitor: a snapshot first, then each new message.
async fn stream(State(front): State<Arc<Front>>, Path(channel_id): Path<String>, headers: HeaderMap) -> Result<Response, Refused> {
    let visit = Visit::check(&front.app, &channel_id, &headers).await?;
    let visitor = visit.visitor(&headers)?;
    visit.limited(front.limits.stream(&channel_id, &visitor).await)?;
    // Subscribe before reading the snapshot: whatever is stored in between comes live.
    let live = front.app.live.subscribe();
    let mut follow = Follow { front: front.clone(), channel_id, visitor, origin: visit.origin.clone(), conversation: None, live, shown: HashSet::new() };
    let snapshot = follow.snapshot().await.map_err(|e| visit.refuse(e.into()))?;
    let mut recheck = tokio::time::interval(RECHECK);
    recheck.reset();
    let events = futures_util::stream::unfold((follow, Some(snapshot), recheck), |(mut follow, first, mut recheck)| async move {
        if let Some(snapshot) = first {
            return Some((Ok::<_, Infallible>(snapshot), (follow, None, recheck)));
        }
        let event = follow.next(&mut recheck).await?;
        Some((Ok(event), (follow, None, recheck)))
    });
    let sse = Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)));
    // Proxies must pass events on at once.
    Ok(visit.ok(([("x-accel-buffering", "no")], sse)))
}

/// One open stream.
struct Follow {
    front: Arc<Front>,
    channel_id: String,
    visitor: String,
    origin: HeaderValue,
    /// The visitor's conversation, once there is one.
    conversation: Option<i64>,
    live: tokio::sync::broadcast::Receiver<LiveEvent>,
    /// Messages this stream has sent: a reply is announced when sent, then delivered and
    /// read, and is shown once.
    shown: HashSet<i64>,
}

impl Follow {
    async fn find_conversation(&mut self) -> Result<Option<i64>, crate::store::StoreError> {
        if self.conversation.is_none() {
            self.conversation = self.front.app.store.conversation_at(&self.channel_id, &self.visitor).await?.map(|c| c.id);
        }
        Ok(self.conversation)
    }

    async fn snapshot(&mut self) -> Result<SseEvent, crate::store::StoreError> {
        let messages = match self.find_conversation().await? {
            Some(id) => self.front.app.store.messages(id, Scope::Every, None, SNAPSHOT_LIMIT).await?,
            None => vec![],
        };
        let Some(channel) = self.front.app.store.channel(&self.channel_id, Scope::Every).await? else { return Ok(SseEvent::default().event("snapshot").data("{\"messages\":[]}")) };
        let mut shown = Vec::new();
        for message in &messages {
            shown.extend(VisitorMessage::of(&self.front.app, &channel, message).await);
        }
        let messages = shown;
        self.shown = messages.iter().map(|m| m.id).collect();
        Ok(SseEvent::default().event("snapshot").json_data(json!({ "messages": messages })).expect("JSON serializes"))
    }

    /// The next event to send; `None` ends the stream (shutdown, widget off, page no longer allowed).
    async fn next(&mut self, recheck: &mut tokio::time::Interval) -> Option<SseEvent> {
        loop {
            let app = self.front.app.clone();
            tokio::select! {
                _ = app.live.closed() => return None,
                _ = recheck.tick() => {
                    let mut headers = HeaderMap::new();
                    headers.insert(header::ORIGIN, self.origin.clone());
                    Visit::check(&app, &self.channel_id, &headers).await.ok()?;
                }
                received = self.live.recv() => match received {
                    // Changes were missed on this node: send everything again.
                    Ok(LiveEvent { change: Change::Reset, .. }) => return self.snapshot().await.ok(),
                    Ok(LiveEvent { channel_id, conversation_id, message_id: Some(message_id), .. }) if channel_id == self.channel_id => {
                        if self.find_conversation().await.ok()? != Some(conversation_id) {
                            continue;
                        }
                        // A new message, or a reply now sent.
                        if self.shown.contains(&message_id) {
                            continue;
                        }
                        let message = app.store.message(message_id).await.ok()?;
                        let channel = app.store.channel(&self.channel_id, Scope::Every).await.ok()??;
                        let message = match &message {
                            Some(message) => VisitorMessage::of(&app, &channel, message).await,
                            None => None,
                        };
                        if let Some(message) = message {
                            self.shown.insert(message.id);
                            let event = SseEvent::default().event("message").id(message.id.to_string());
                            return Some(event.json_data(&message).expect("JSON serializes"));
                        }
                    }
                    Ok(_) => {}
                    // Fell behind: send everything again.
                    Err(RecvError::Lagged(_)) => return self.snapshot().await.ok(),
                    Err(RecvError::Closed) => return None,
                },
            }
        }
    }
}

#[derive(Deserialize)]
struct PreviewQuery {
    name: Option<String>,
    color: Option<String>,
    greeting: Option<String>,
    position: Option<String>,
    /// `true` or `false`: the unsaved "Widget on" switch.
    enabled: Option<String>,
}

/// The widget drawn with the channel's saved settings, or the unsaved ones in the query (the
/// admin form frames it beside itself). It never talks to the visitor API.
async fn preview(
    State(front): State<Arc<Front>>,
    Path(channel_id): Path<String>,
    Query(query): Query<PreviewQuery>,
) -> Result<Response, ApiError> {
    let channel = webchat_channel(&front.app, &channel_id).await?;
    let mut widget = Widget::of(&front.app, &channel);
    let cut = |value: String, max: usize| value.chars().take(max).collect::<String>();
    if let Some(name) = query.name {
        widget.name = cut(name, 100);
    }
    if let Some(color) = query.color {
        widget.color = cut(color, 32);
    }
    if let Some(greeting) = query.greeting {
        widget.greeting = cut(greeting, 500);
    }
    if let Some(position) = query.position.filter(|p| p == "left" || p == "right") {
        widget.position = position;
    }
    if let Some(enabled) = query.enabled.as_deref().filter(|on| *on == "true" || *on == "false") {
        widget.enabled = enabled == "true";
    }
    // JSON inside <script type="application/json">: nothing in it may close the element.
    let config = widget.look().to_string().replace('<', "\\u003c").replace('>', "\\u003e").replace('&', "\\u0026");
    let notice = if widget.enabled { "" } else { r#"<p class="off">This widget is switched off: visitors do not see it.</p>"# };
    let html = PREVIEW_HTML.replace("{{config}}", &config).replace("{{notice}}", notice);
    let headers = [
        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
        (header::CACHE_CONTROL, "no-store"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        // Only our widget script runs; it makes no requests in preview.
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'",
        ),
    ];
    Ok((headers, html).into_response())
}

#[cfg(test)]
mod tests {
    use super::{CATALOGUES_SLOT, WIDGET};

    #[test]
    fn the_widget_is_served_with_its_words_in_both_languages() {
        assert!(!WIDGET.contains(CATALOGUES_SLOT), "widget.js lost its catalogues slot: the widget would show keys");
        assert!(WIDGET.contains("\"Lampirkan berkas\"") && WIDGET.contains("\"Attach a file\""));
    }
}
