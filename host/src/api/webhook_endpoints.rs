//! A workspace's event webhook endpoints (admins): `GET/POST /api/v1/webhook-endpoints`,
//! `GET/PATCH/DELETE /api/v1/webhook-endpoints/{id}`, a new signing secret (`POST …/secret`,
//! the old one valid a day more), a test event (`POST …/ping`), the deliveries with their
//! attempts (`GET …/deliveries`) and sending some again (`POST …/redeliver`). The secret is
//! shown when it is made, never after. The worker that sends is `event_webhooks`.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::{ApiError, ApiJson, Caller};
use crate::app::App;
use crate::store::model::{Attempt, BotKind, ChannelBot, Delivery, Endpoint, EndpointChange, HandedOver, NewEndpoint, Redeliver};
use crate::store::webhook_endpoints::EVENT_TYPES;

/// How long the secret before a rotation stays valid.
const ROTATION_OVERLAP_MS: i64 = 24 * 3600 * 1000;
const MAX_DESCRIPTION: usize = 500;
const MAX_URL: usize = 2000;

#[derive(utoipa::ToSchema, Serialize)]
pub struct EndpointView {
    id: i64,
    workspace_id: i64,
    url: String,
    description: String,
    /// The events it receives.
    events: Vec<String>,
    /// The channels it is the bot of: their new conversations start in status `bot`, out of the
    /// agents' queue, until it hands them over (`PATCH /conversations/{id} {"status": "open"}`).
    bot_channels: Vec<String>,
    /// Off when an admin turned it off, or when its deliveries failed past the retry horizon
    /// (`disabled_reason` says which); a PATCH `{"enabled": true}` turns it on again.
    enabled: bool,
    disabled_reason: Option<String>,
    /// Until then (ms), deliveries are signed with the secret before the last rotation too.
    previous_secret_valid_until: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

fn view(endpoint: &Endpoint) -> EndpointView {
    EndpointView {
        id: endpoint.id,
        workspace_id: endpoint.workspace_id,
        url: endpoint.url.clone(),
        description: endpoint.description.clone(),
        events: endpoint.events.clone(),
        bot_channels: endpoint.bot_channels.clone(),
        enabled: endpoint.enabled,
        disabled_reason: endpoint.disabled_reason.clone(),
        previous_secret_valid_until: endpoint.previous_until.filter(|until| *until > crate::store::now_ms()),
        created_at: endpoint.created_at,
        updated_at: endpoint.updated_at,
    }
}

/// An endpoint with its signing secret: answered once, when the secret is made.
#[derive(utoipa::ToSchema, Serialize)]
pub struct EndpointWithSecret {
    #[serde(flatten)]
    endpoint: EndpointView,
    /// `whsec_…`: give it to the receiver's Standard Webhooks library. Not shown again.
    secret: String,
}

/// `{"url", "events", "description", "bot_channels"}`; `events` lists event types, or `["*"]`
/// for every one; `bot_channels`: the workspace's channels whose new conversations it answers
/// (a bot wants `message.received` at least). A channel has one bot: one that has a bot already
/// (another endpoint, or a bot token) is 409 `channel_has_bot`, naming it.
#[derive(utoipa::ToSchema, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateEndpoint {
    url: Option<String>,
    events: Option<Vec<String>>,
    description: Option<String>,
    bot_channels: Option<Vec<String>>,
}

#[derive(utoipa::ToSchema, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangeEndpoint {
    url: Option<String>,
    events: Option<Vec<String>>,
    description: Option<String>,
    enabled: Option<bool>,
    bot_channels: Option<Vec<String>>,
}

/// One delivery (`delivery_id`) or every event since a time (`since`, ms).
#[derive(utoipa::ToSchema, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedeliverRequest {
    delivery_id: Option<i64>,
    since: Option<i64>,
}

#[derive(utoipa::ToSchema, Serialize)]
pub struct Redelivered {
    /// Deliveries queued again (with their original `webhook-id`).
    queued: u64,
}

#[derive(utoipa::ToSchema, Serialize)]
pub struct DeliveryView {
    id: i64,
    /// The `webhook-id` header: the same for every attempt and redelivery.
    event_id: String,
    event_type: String,
    /// `pending`, `delivered` or `failed`.
    state: String,
    channel_id: Option<String>,
    conversation_id: Option<i64>,
    message_id: Option<i64>,
    /// When a pending delivery is tried next (ms).
    next_attempt_at: Option<i64>,
    created_at: i64,
    attempts: Vec<Attempt>,
}

fn delivery_view(delivery: Delivery, attempts: Vec<Attempt>) -> DeliveryView {
    DeliveryView {
        next_attempt_at: (delivery.state == "pending").then_some(delivery.next_attempt_at),
        id: delivery.id,
        event_id: delivery.event_id,
        event_type: delivery.event_type,
        state: delivery.state,
        channel_id: delivery.channel_id,
        conversation_id: delivery.conversation_id,
        message_id: delivery.message_id,
        created_at: delivery.created_at,
        attempts,
    }
}

#[derive(utoipa::IntoParams, Deserialize)]
#[into_params(parameter_in = Query)]
pub struct DeliveriesQuery {
    /// At most this many, newest first (default 50, at most 500).
    limit: Option<u32>,
}

/// A new `whsec_` secret: 32 random bytes, base64, as Standard Webhooks libraries read it.
fn new_secret() -> String {
    use base64::Engine;
    format!("whsec_{}", base64::engine::general_purpose::STANDARD.encode(rand::random::<[u8; 32]>()))
}

/// The URL, checked as the worker will reach it: http(s), and a public address unless the
/// operator allows the host (`--allow-outbound`); plain http only for such an allowed host.
async fn checked_url(app: &App, url: Option<&str>, problems: &mut BTreeMap<String, String>) -> Option<String> {
    let text = url.map(str::trim).unwrap_or_default();
    if text.is_empty() {
        problems.insert("url".into(), super::settings::REQUIRED.into());
        return None;
    }
    let problem = match reqwest::Url::parse(text) {
        _ if text.len() > MAX_URL => Some(format!("must be at most {MAX_URL} characters")),
        Err(e) => Some(format!("is not a URL: {e}")),
        Ok(url) if !matches!(url.scheme(), "https" | "http") || url.host_str().is_none() => Some("must be an https:// URL".into()),
        Ok(url) if !url.username().is_empty() || url.password().is_some() => Some("must not hold credentials: receivers verify the signature instead".into()),
        Ok(url) => {
            let host = url.host_str().unwrap_or_default().trim_matches(['[', ']']);
            let allowed = app.outbound_allowed.iter().any(|p| p.matches(host, url.port_or_known_default().unwrap_or(443)));
            if url.scheme() == "http" && !allowed {
                Some("must be an https:// URL (plain http only for a host the operator allows with --allow-outbound)".into())
            } else {
                match crate::egress::checked_addresses(&url, &app.outbound_allowed, "webhook endpoints").await {
                    Ok(_) => None,
                    Err(error) => Some(error.to_string()),
                }
            }
        }
    };
    match problem {
        Some(problem) => {
            problems.insert("url".into(), problem);
            None
        }
        None => Some(text.to_owned()),
    }
}

fn checked_events(events: Option<&[String]>, problems: &mut BTreeMap<String, String>) -> Option<Vec<String>> {
    let events = events.unwrap_or_default();
    if events.is_empty() {
        problems.insert("events".into(), format!("name at least one event, or `*` for all: {}", EVENT_TYPES.join(", ")));
        return None;
    }
    if events.iter().any(|e| e == "*") {
        return Some(EVENT_TYPES.iter().map(|e| (*e).to_owned()).collect());
    }
    if let Some(unknown) = events.iter().find(|e| !EVENT_TYPES.contains(&e.as_str())) {
        problems.insert("events".into(), format!("`{unknown}` is not an event; known: {}", EVENT_TYPES.join(", ")));
        return None;
    }
    let mut events = events.to_vec();
    events.sort();
    events.dedup();
    Some(events)
}

fn checked_description(description: Option<&str>, problems: &mut BTreeMap<String, String>) -> Option<String> {
    let description = description.map(str::trim).unwrap_or_default();
    if description.chars().count() > MAX_DESCRIPTION || description.chars().any(|c| c.is_control() && c != '\n') {
        problems.insert("description".into(), format!("must be text of at most {MAX_DESCRIPTION} characters"));
        return None;
    }
    Some(description.to_owned())
}

/// 409 `channel_has_bot`: `channel` (named in the request's `field`) has a bot already, named.
/// A channel has one bot, of either kind.
pub(super) fn bot_taken(field: &str, channel: &str, bot: &ChannelBot) -> ApiError {
    let name = if bot.name.is_empty() { String::new() } else { format!(" `{}`", bot.name) };
    let current = match bot.kind {
        BotKind::Token => format!("the bot token {}{name}; revoke it first", bot.id),
        BotKind::Endpoint => format!("the webhook endpoint {}{name}; take the channel out of its bot channels first", bot.id),
    };
    let message = format!("channel `{channel}` already has a bot: {current}");
    ApiError { fields: BTreeMap::from([(field.to_owned(), message.clone())]), ..ApiError::new(StatusCode::CONFLICT, "channel_has_bot", message) }
}

/// The channels, each of the endpoint's workspace (another's is "not found" as anywhere else)
/// and without another bot (an endpoint or a bot token: 409).
async fn checked_bot_channels(
    app: &App,
    workspace_id: i64,
    endpoint: Option<i64>,
    channels: &[String],
    problems: &mut BTreeMap<String, String>,
) -> Result<Option<Vec<String>>, ApiError> {
    let checked = each_once(channels.iter().cloned());
    for channel in &checked {
        if app.store.channel(channel, crate::store::Scope::Workspace(workspace_id)).await?.is_none() {
            problems.insert("bot_channels".into(), format!("no channel `{channel}` in this workspace"));
            return Ok(None);
        }
        if let Some(bot) = app.store.channel_bot(channel, crate::store::Scope::Workspace(workspace_id)).await?
            && !(bot.kind == BotKind::Endpoint && Some(bot.id) == endpoint)
        {
            return Err(bot_taken("bot_channels", channel, &bot));
        }
    }
    Ok(Some(checked))
}

/// Each id once, in the order first named: a list may name one twice, and a set keeps
/// a long list's check linear (a body of 200,000 ids took 30 s with a scan per id).
pub(super) fn each_once<T: Eq + std::hash::Hash + Clone>(named: impl IntoIterator<Item = T>) -> Vec<T> {
    let mut seen = std::collections::HashSet::new();
    named.into_iter().filter(|item| seen.insert(item.clone())).collect()
}

/// Conversations an endpoint handed to people (it was their channel's bot, and stopped): each
/// announced to the live inbox (`GET /events`: a `conversation` event) and audited as handed
/// over, as when the bot hands one over itself. `why` ends the audit entry's target.
async fn handed_over(app: &App, caller: &Caller, workspace: i64, handed: &[HandedOver], why: impl Fn(&HandedOver) -> String) {
    for conversation in handed {
        // On Postgres the store announced it to every node already (this does nothing there).
        app.live.conversation(&conversation.channel_id, conversation.conversation_id);
        let target = format!("{}: {}", conversation.conversation_id, why(conversation));
        super::audit::record(app, caller, Some(workspace), "conversation.handed_over", &target).await;
    }
}

async fn find(app: &App, caller: &Caller, id: i64) -> Result<Endpoint, ApiError> {
    caller.require_admin()?;
    app.store.webhook_endpoint(id, caller.scope()).await?.ok_or_else(|| ApiError::not_found(format!("no webhook endpoint {id}")))
}

#[utoipa::path(get, path = "/webhook-endpoints", tag = "webhook endpoints", responses((status = 200, body = Vec<EndpointView>)))]
pub async fn list(caller: Caller, State(app): State<Arc<App>>) -> Result<Json<Vec<EndpointView>>, ApiError> {
    caller.require_admin()?;
    Ok(Json(app.store.webhook_endpoints(caller.scope()).await?.iter().map(view).collect()))
}

#[utoipa::path(post, path = "/webhook-endpoints", tag = "webhook endpoints", request_body = CreateEndpoint,
    responses((status = 201, body = EndpointWithSecret, description = "made; its secret is shown this once"), (status = 422, body = ApiError)))]
pub async fn create(caller: Caller, State(app): State<Arc<App>>, ApiJson(body): ApiJson<CreateEndpoint>) -> Result<(StatusCode, Json<EndpointWithSecret>), ApiError> {
    caller.require_admin()?;
    let workspace_id = caller.target_workspace()?;
    let mut problems = BTreeMap::new();
    let url = checked_url(&app, body.url.as_deref(), &mut problems).await;
    let events = checked_events(body.events.as_deref(), &mut problems);
    let description = checked_description(body.description.as_deref(), &mut problems);
    let bot_channels = checked_bot_channels(&app, workspace_id, None, body.bot_channels.as_deref().unwrap_or_default(), &mut problems).await?;
    let (Some(url), Some(events), Some(description), Some(bot_channels)) = (url, events, description, bot_channels) else {
        return Err(ApiError::invalid_fields(problems));
    };
    let secret = new_secret();
    let endpoint = app.store.create_webhook_endpoint(&NewEndpoint { workspace_id, url, description, events, bot_channels, secret: secret.clone() }).await?;
    super::audit::record(&app, &caller, Some(workspace_id), "webhook_endpoint.create", &format!("{} {}", endpoint.id, endpoint.url)).await;
    Ok((StatusCode::CREATED, Json(EndpointWithSecret { endpoint: view(&endpoint), secret })))
}

#[utoipa::path(get, path = "/webhook-endpoints/{id}", tag = "webhook endpoints", params(("id" = i64, Path)), responses((status = 200, body = EndpointView), (status = 404, body = ApiError)))]
pub async fn show(caller: Caller, State(app): State<Arc<App>>, Path(id): Path<i64>) -> Result<Json<EndpointView>, ApiError> {
    Ok(Json(view(&find(&app, &caller, id).await?)))
}

/// Changes an endpoint. Turned off (`"enabled": false`), or no longer the bot of a channel, its
/// conversations still in status `bot` enter the agents' queue in the same transaction, each
/// announced to the live inbox (`GET /events`: a `conversation` event) and audited as handed over.
#[utoipa::path(patch, path = "/webhook-endpoints/{id}", tag = "webhook endpoints", params(("id" = i64, Path)), request_body = ChangeEndpoint,
    responses((status = 200, body = EndpointView), (status = 404, body = ApiError), (status = 422, body = ApiError)))]
pub async fn update(caller: Caller, State(app): State<Arc<App>>, Path(id): Path<i64>, ApiJson(body): ApiJson<ChangeEndpoint>) -> Result<Json<EndpointView>, ApiError> {
    let endpoint = find(&app, &caller, id).await?;
    let mut problems = BTreeMap::new();
    let mut change = EndpointChange { enabled: body.enabled, ..Default::default() };
    if body.url.is_some() {
        change.url = checked_url(&app, body.url.as_deref(), &mut problems).await;
    }
    if body.events.is_some() {
        change.events = checked_events(body.events.as_deref(), &mut problems);
    }
    if body.description.is_some() {
        change.description = checked_description(body.description.as_deref(), &mut problems);
    }
    if let Some(channels) = &body.bot_channels {
        change.bot_channels = checked_bot_channels(&app, endpoint.workspace_id, Some(id), channels, &mut problems).await?;
    }
    if !problems.is_empty() {
        return Err(ApiError::invalid_fields(problems));
    }
    let (changed, handed) = app.store.update_webhook_endpoint(id, caller.scope(), &change).await?.ok_or_else(|| ApiError::not_found(format!("no webhook endpoint {id}")))?;
    super::audit::record(&app, &caller, Some(endpoint.workspace_id), "webhook_endpoint.update", &format!("{id} {}", changed.url)).await;
    // Turned off, every conversation still its bot's went to people; else those of the channels
    // it is no longer the bot of.
    let disabled = change.enabled == Some(false);
    handed_over(&app, &caller, endpoint.workspace_id, &handed, |conversation| {
        if disabled { format!("bot endpoint {id} disabled") } else { format!("bot endpoint {id} no longer the bot of {}", conversation.channel_id) }
    })
    .await;
    Ok(Json(view(&changed)))
}

/// Deletes an endpoint with its deliveries. A bot's conversations still in status `bot` enter
/// the agents' queue in the same transaction, each announced to the live inbox and audited as
/// handed over.
#[utoipa::path(delete, path = "/webhook-endpoints/{id}", tag = "webhook endpoints", params(("id" = i64, Path)), responses((status = 204, description = "deleted, with its deliveries"), (status = 404, body = ApiError)))]
pub async fn delete(caller: Caller, State(app): State<Arc<App>>, Path(id): Path<i64>) -> Result<StatusCode, ApiError> {
    let endpoint = find(&app, &caller, id).await?;
    // Deleted since `find` by another request: gone all the same.
    let handed = app.store.delete_webhook_endpoint(id, caller.scope()).await?.unwrap_or_default();
    super::audit::record(&app, &caller, Some(endpoint.workspace_id), "webhook_endpoint.delete", &format!("{id} {}", endpoint.url)).await;
    handed_over(&app, &caller, endpoint.workspace_id, &handed, |_| format!("bot endpoint {id} deleted")).await;
    Ok(StatusCode::NO_CONTENT)
}

/// A new signing secret; deliveries are signed with the old one too for a day, so the receiver
/// can switch without missing one.
#[utoipa::path(post, path = "/webhook-endpoints/{id}/secret", tag = "webhook endpoints", params(("id" = i64, Path)), responses((status = 200, body = EndpointWithSecret), (status = 404, body = ApiError)))]
pub async fn rotate_secret(caller: Caller, State(app): State<Arc<App>>, Path(id): Path<i64>) -> Result<Json<EndpointWithSecret>, ApiError> {
    let endpoint = find(&app, &caller, id).await?;
    let secret = new_secret();
    let until = crate::store::now_ms() + ROTATION_OVERLAP_MS;
    let rotated = app.store.rotate_webhook_secret(id, caller.scope(), &secret, until).await?.ok_or_else(|| ApiError::not_found(format!("no webhook endpoint {id}")))?;
    super::audit::record(&app, &caller, Some(endpoint.workspace_id), "webhook_endpoint.rotate_secret", &id.to_string()).await;
    Ok(Json(EndpointWithSecret { endpoint: view(&rotated), secret }))
}

/// Sends a `webhook.ping` event now and answers with the attempt (the receiver's status, time
/// and answer); it is not retried.
#[utoipa::path(post, path = "/webhook-endpoints/{id}/ping", tag = "webhook endpoints", params(("id" = i64, Path)), responses((status = 200, body = Attempt), (status = 404, body = ApiError)))]
pub async fn ping(caller: Caller, State(app): State<Arc<App>>, Path(id): Path<i64>) -> Result<Json<Attempt>, ApiError> {
    let endpoint = find(&app, &caller, id).await?;
    Ok(Json(crate::event_webhooks::ping(&app, &endpoint).await?))
}

#[utoipa::path(get, path = "/webhook-endpoints/{id}/deliveries", tag = "webhook endpoints", params(("id" = i64, Path), DeliveriesQuery), responses((status = 200, body = Vec<DeliveryView>), (status = 404, body = ApiError)))]
pub async fn deliveries(caller: Caller, State(app): State<Arc<App>>, Path(id): Path<i64>, Query(query): Query<DeliveriesQuery>) -> Result<Json<Vec<DeliveryView>>, ApiError> {
    find(&app, &caller, id).await?;
    let listed = app.store.webhook_deliveries(id, caller.scope(), query.limit.unwrap_or(50).clamp(1, 500)).await?;
    Ok(Json(listed.into_iter().map(|(delivery, attempts)| delivery_view(delivery, attempts)).collect()))
}

#[utoipa::path(post, path = "/webhook-endpoints/{id}/redeliver", tag = "webhook endpoints", params(("id" = i64, Path)), request_body = RedeliverRequest,
    responses((status = 202, body = Redelivered), (status = 404, body = ApiError), (status = 422, body = ApiError)))]
pub async fn redeliver(caller: Caller, State(app): State<Arc<App>>, Path(id): Path<i64>, ApiJson(body): ApiJson<RedeliverRequest>) -> Result<(StatusCode, Json<Redelivered>), ApiError> {
    let endpoint = find(&app, &caller, id).await?;
    let which = match (body.delivery_id, body.since) {
        (Some(delivery), None) => Redeliver::One(delivery),
        (None, Some(since)) if since >= 0 => Redeliver::Since(since),
        _ => {
            let problem = "give `delivery_id` (one delivery) or `since` (ms: every event since then), not both";
            return Err(ApiError::invalid_fields(BTreeMap::from([("delivery_id".to_owned(), problem.to_owned()), ("since".to_owned(), problem.to_owned())])));
        }
    };
    let queued = app.store.redeliver_webhooks(id, caller.scope(), which).await?;
    if queued == 0 && matches!(which, Redeliver::One(_)) {
        return Err(ApiError::not_found("no finished delivery of that id for this endpoint (a pending one is being sent already)"));
    }
    super::audit::record(&app, &caller, Some(endpoint.workspace_id), "webhook_endpoint.redeliver", &format!("{id} ({queued})")).await;
    Ok((StatusCode::ACCEPTED, Json(Redelivered { queued })))
}
