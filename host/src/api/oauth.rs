//! Provider logins ("Connect with Facebook", "Log in with X") for any plugin with the
//! `oauth_connect` capability. The host drives the flow and keeps its state; the plugin speaks
//! to the provider (auth-start, auth-finish). Nothing here knows a provider.
//!
//! 1. `POST /api/v1/oauth/{plugin}/start` (admin) `{"name"?, "settings", "channel_id"?}`: the
//!    plugin builds the provider's login URL for the host's callback URL and a one-time
//!    `state` -> 201 `{"state", "authorize_url", "redirect_url", "expires_at"}`.
//! 2. The admin's browser opens `authorize_url`, logs in and approves; the provider sends it
//!    back to `GET /oauth/callback?...&state=...` (public: the unguessable, one-time, expiring
//!    state is the credential). The plugin finishes the login (e.g. exchanges the code for a
//!    token) and lists the accounts it gives access to. A provider that does not hand back a
//!    `state` (OAuth 1.0a) gets it back when the plugin appends `?state=` to the redirect URL.
//! 3. `GET /api/v1/oauth/flows/{state}` (admin): the flow's status and the accounts to pick.
//! 4. `POST /api/v1/oauth/flows/{state}/connect` (admin) `{"account_id", "name"?}`: connects
//!    the account with the settings entered at start plus the account's own, through the same
//!    path as `POST /api/v1/channels` (201). A flow started with `channel_id` reconnects that
//!    channel instead, as a PATCH would (200).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::channels::{self, ChannelView};
use super::settings::{self, REQUIRED};
use super::{ApiError, ApiJson, Caller};
use crate::app::App;
use crate::runtime::types::{AuthFinishRequest, AuthStartRequest, Capability};
use crate::runtime::Retry;
use crate::store::model::{Flow, FlowAccount, FlowStatus, NewFlow, Role};
use crate::store::{Scope, random_token};

/// Where every provider sends the admin back; register it with the provider once.
pub const CALLBACK_PATH: &str = "/oauth/callback";

#[derive(utoipa::ToSchema, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartFlow {
    /// The new channel's name; by default the name of the account picked.
    name: Option<String>,
    /// What the plugin needs before the login (app id and secret...).
    #[serde(default)]
    #[schema(value_type = Object)]
    settings: Map<String, Value>,
    /// Reconnect this channel instead of connecting a new one.
    channel_id: Option<String>,
}

#[derive(utoipa::ToSchema, Serialize)]
pub struct Started {
    state: String,
    plugin: String,
    /// Open this for the admin (a new tab or window).
    authorize_url: String,
    /// Where the provider sends the admin back (the provider may need it registered).
    redirect_url: String,
    expires_at: i64,
}

#[utoipa::path(post, path = "/oauth/{plugin}/start", tag = "logins", params(("plugin" = String, Path, description = "the plugin whose provider to log in with")), request_body = StartFlow, responses((status = 201, body = Started)))]
pub async fn start(
    caller: Caller,
    State(app): State<Arc<App>>,
    Path(plugin_id): Path<String>,
    ApiJson(body): ApiJson<StartFlow>,
) -> Result<(StatusCode, [(header::HeaderName, String); 1], Json<Started>), ApiError> {
    // Another workspace's channel is "not found" whatever else is wrong: look it up first.
    let reconnect = match body.channel_id.as_deref() {
        None => None,
        Some(id) => Some(channels::find(&app, &caller, id).await?),
    };
    caller.require_admin()?;
    let plugin = app.registry.get(&plugin_id).ok_or_else(|| ApiError::not_found(format!("no plugin `{plugin_id}` is loaded")))?;
    if !plugin.manifest.capabilities.contains(&Capability::OauthConnect) {
        return Err(ApiError::unprocessable(
            "unsupported",
            format!("{} has no provider login: connect it with its settings (POST /api/v1/channels)", plugin.manifest.name),
        ));
    }
    let mut errors = BTreeMap::new();
    // A reconnect starts from the channel's settings (the app's credentials are there).
    if let Some(channel) = reconnect.as_ref().filter(|c| c.plugin != plugin_id) {
        errors.insert("channel_id".into(), format!("is a {} channel, not a {plugin_id} one", channel.plugin));
    }
    let mut values = reconnect.as_ref().map(|c| c.settings.clone()).unwrap_or_default();
    match settings::from_json(&body.settings) {
        Ok(given) => values.extend(given.into_iter().filter_map(|(k, v)| Some((k, v?)))),
        Err(field_errors) => errors.extend(field_errors),
    }
    // Known keys and well-formed values now; what is required is checked when an account is
    // connected (the login brings the rest), and the plugin says what the login needs.
    errors.extend(settings::validate(&plugin.settings_schema, &values).into_iter().filter(|(_, problem)| problem != REQUIRED));
    if !errors.is_empty() {
        return Err(ApiError::invalid_fields(errors));
    }

    let state = random_token(32);
    let redirect_url = format!("{}{CALLBACK_PATH}", app.public_url);
    let request = AuthStartRequest {
        redirect_url: redirect_url.clone(),
        state: state.clone(),
        settings: values.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
    };
    let name = given_name(body.name.as_deref())?;
    let redirect = plugin.auth_start(&request).await.map_err(|e| channels::connect_error(&plugin, caller.language, e))?;
    if let Err(problem) = settings::check_http_url(&redirect.authorize_url) {
        return Err(ApiError::bad_gateway("plugin_failed", format!("plugin `{plugin_id}` gave a login URL that {problem}")));
    }
    let workspace_id = match &reconnect {
        Some(channel) => channel.workspace_id,
        None => caller.target_workspace()?,
    };
    let browser_key = random_token(32);
    let browser_key_sha256 = crate::store::tokens::digest(&browser_key);
    let flow = app.store.create_flow(&NewFlow {
        workspace_id,
        state: &state,
        plugin: &plugin_id,
        channel_id: reconnect.as_ref().map(|c| c.id.as_str()),
        name,
        settings: &values,
        properties: &redirect.properties,
        redirect_url: &redirect_url,
        started_by: caller.person,
        channel_updated_at: reconnect.as_ref().map(|c| c.updated_at),
        browser_key_sha256: Some(&browser_key_sha256),
    }).await?;
    tracing::info!(plugin = %plugin_id, reconnect = ?flow.channel_id, "provider login started");
    // The browser that started the login keeps its key, sent back only to the callback.
    let secure = super::auth::cookie_suffix(&app);
    let cookie = format!(
        "{}={browser_key}; HttpOnly; SameSite=Lax; Path={CALLBACK_PATH}; Max-Age={}{secure}",
        browser_key_cookie(&state),
        crate::store::oauth::FLOW_LIFETIME_MS / 1000
    );
    Ok((
        StatusCode::CREATED,
        [(header::SET_COOKIE, cookie)],
        Json(Started { state, plugin: plugin_id, authorize_url: redirect.authorize_url, redirect_url, expires_at: flow.expires_at }),
    ))
}

/// The provider's redirect back: finishes the login once, for an unexpired state. Answers a
/// browser with a short page, anything else with JSON.
pub async fn callback(State(app): State<Arc<App>>, headers: HeaderMap, Query(query): Query<Vec<(String, String)>>) -> Response {
    let html = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|accept| accept.contains("text/html"));
    match finish(&app, &headers, query).await {
        Ok((flow, accounts)) => {
            let message = format!("Logged in: {accounts} account(s) to choose from. Return to Switchboard to pick one; this tab can be closed.");
            let mut answer = match html {
                true => page(StatusCode::OK, "Login complete", &message),
                false => Json(serde_json::json!({ "state": flow.state, "status": "ready", "accounts": accounts, "message": message })).into_response(),
            };
            // The login's key has served: the browser forgets it.
            let spent = format!("{}=; HttpOnly; SameSite=Lax; Path={CALLBACK_PATH}; Max-Age=0{}", browser_key_cookie(&flow.state), super::auth::cookie_suffix(&app));
            if let Ok(spent) = axum::http::HeaderValue::from_str(&spent) {
                answer.headers_mut().append(header::SET_COOKIE, spent);
            }
            answer
        }
        Err(error) if html => page(error.status, "Login not completed", &error.message),
        Err(error) => error.into_response(),
    }
}

async fn finish(app: &App, headers: &HeaderMap, query: Vec<(String, String)>) -> Result<(Flow, usize), ApiError> {
    let state = query.iter().find(|(k, _)| k == "state").map(|(_, v)| v.clone()).unwrap_or_default();
    let invalid = |message: &str| ApiError::new(StatusCode::BAD_REQUEST, "invalid_state", message);
    if state.is_empty() {
        return Err(invalid("the callback carries no `state`: start the login again from Switchboard"));
    }
    let flow = app.store.flow(&state, Scope::Every).await?.ok_or_else(|| invalid("unknown or expired login (`state`): start the login again from Switchboard"))?;
    browser_of_whoever_started(app, headers, &flow).await?;
    // One callback per state: whoever moves it on first finishes the login; a replay is refused.
    if !app.store.transition_flow(&state, FlowStatus::Waiting, FlowStatus::Finishing).await? {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "state_used",
            "this login has already come back once; a callback is used only once: start the login again if needed",
        ));
    }
    let plugin = match app.registry.get(&flow.plugin) {
        Some(plugin) => plugin,
        None => {
            app.store.transition_flow(&state, FlowStatus::Finishing, FlowStatus::Waiting).await?;
            return Err(ApiError::unavailable("plugin_unavailable", format!("plugin `{}` is not loaded; try again once it is", flow.plugin)));
        }
    };
    let request = AuthFinishRequest {
        redirect_url: flow.redirect_url.clone(),
        callback_query: query,
        properties: flow.properties.clone(),
        settings: flow.settings.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
    };
    match plugin.auth_finish(&request).await {
        Ok(accounts) => {
            let accounts: Vec<FlowAccount> =
                accounts.into_iter().map(|a| FlowAccount { id: a.id, name: a.name, settings: a.settings }).collect();
            app.store.flow_ready(&state, &accounts).await?;
            tracing::info!(plugin = %flow.plugin, accounts = accounts.len(), "provider login finished");
            Ok((flow, accounts.len()))
        }
        // Passing trouble: the callback may be loaded again (the provider's code may still be good).
        Err(error) if error.retry() != Retry::Never => {
            app.store.transition_flow(&state, FlowStatus::Finishing, FlowStatus::Waiting).await?;
            Err(ApiError::bad_gateway("provider_unreachable", format!("the login could not be finished now ({error}); reload to try again")))
        }
        Err(error) => {
            let reason = error.to_string();
            app.store.flow_failed(&state, &reason).await?;
            tracing::warn!(plugin = %flow.plugin, %reason, "provider login failed");
            Err(ApiError::unprocessable("login_failed", reason))
        }
    }
}

/// The cookie that carries a login's browser key: one per login, so that two logins started in
/// one browser each come back with their own.
fn browser_key_cookie(state: &str) -> String {
    format!("sb_login_{}", &state[..state.len().min(16)])
}

/// The callback is finished only by whoever started the login: the browser that started it (it
/// sends back the key the start gave it), or a browser signed in to Switchboard as the person
/// who started it (for a login started with an API token, outside a browser: as an admin of its
/// workspace; not the operator, whom an admin could otherwise send the link to). The state alone is not enough: an admin of one workspace could
/// otherwise send their login's link to another business's Page admin, whose approval would
/// hand the first workspace that business's Pages. Refused, the login waits for the right
/// browser (the page can be loaded again there).
async fn browser_of_whoever_started(app: &App, headers: &HeaderMap, flow: &Flow) -> Result<(), ApiError> {
    let browser_key = super::auth::cookie(headers, &browser_key_cookie(&flow.state)).map(|key| crate::store::tokens::digest(&key));
    if browser_key.is_some() && browser_key == flow.browser_key_sha256 {
        return Ok(());
    }
    let refused = |message: &str| ApiError::new(StatusCode::FORBIDDEN, "login_not_yours", message);
    let not_signed_in = "this login was started in another browser: finish it there, or sign in to Switchboard here as the admin who started it and load this page again";
    let session = super::auth::session_cookie(headers).ok_or_else(|| refused(not_signed_in))?;
    let signed_in = app.store.session(&session, super::auth::SESSION_IDLE_MS, super::auth::SESSION_ABSOLUTE_MS).await?.ok_or_else(|| refused(not_signed_in))?;
    let person = &signed_in.person;
    let theirs = match flow.started_by {
        Some(starter) => person.id == starter,
        None => person.role == Role::Admin && person.workspace_id == Some(flow.workspace_id),
    };
    if !theirs {
        return Err(refused(
            "this login was started by someone else: only the admin who started it finishes it, in a browser signed in to Switchboard as them",
        ));
    }
    Ok(())
}

/// A minimal page for the admin's browser tab.
fn page(status: StatusCode, title: &str, message: &str) -> Response {
    let escape = |text: &str| text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;");
    let body = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{0}</title></head><body><h1>{0}</h1><p>{1}</p></body></html>",
        escape(title),
        escape(message)
    );
    crate::admin::with_policy((status, Html(body)).into_response(), PAGE_POLICY)
}

/// The login's last page: text only, nothing runs.
const PAGE_POLICY: &str = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

#[derive(utoipa::ToSchema, Serialize)]
pub struct FlowView {
    state: String,
    plugin: String,
    /// `waiting_for_login`, `finishing_login`, `ready` (pick an account), `connecting`,
    /// `connected` or `failed` (`error` says why).
    status: &'static str,
    error: Option<String>,
    name: Option<String>,
    /// The channel this login reconnects.
    channel_id: Option<String>,
    accounts: Vec<AccountView>,
    connected_channel_id: Option<String>,
    created_at: i64,
    expires_at: i64,
}

#[derive(utoipa::ToSchema, Serialize)]
struct AccountView {
    id: String,
    name: String,
}

fn flow_view(flow: Flow) -> FlowView {
    FlowView {
        status: match flow.status {
            FlowStatus::Waiting => "waiting_for_login",
            FlowStatus::Finishing => "finishing_login",
            FlowStatus::Ready => "ready",
            FlowStatus::Connecting => "connecting",
            FlowStatus::Connected => "connected",
            FlowStatus::Failed => "failed",
        },
        // The accounts' settings hold tokens: only ids and names are shown.
        accounts: flow.accounts.into_iter().map(|a| AccountView { id: a.id, name: a.name }).collect(),
        state: flow.state,
        plugin: flow.plugin,
        error: flow.error,
        name: flow.name,
        channel_id: flow.channel_id,
        connected_channel_id: flow.connected_channel_id,
        created_at: flow.created_at,
        expires_at: flow.expires_at,
    }
}

/// A login the caller may see (started in the caller's workspace); else 404.
async fn find_flow(app: &App, caller: &Caller, state: &str) -> Result<Flow, ApiError> {
    app.store
        .flow(state, caller.scope()).await?
        .ok_or_else(|| ApiError::not_found("no such login, or it expired: start it again"))
}

#[utoipa::path(get, path = "/oauth/flows/{state}", tag = "logins", params(("state" = String, Path, description = "the login's state")), responses((status = 200, body = FlowView)))]
pub async fn show(caller: Caller, State(app): State<Arc<App>>, Path(state): Path<String>) -> Result<Json<FlowView>, ApiError> {
    caller.require_admin()?;
    Ok(Json(flow_view(find_flow(&app, &caller, &state).await?)))
}

#[derive(utoipa::ToSchema, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectAccount {
    account_id: Option<String>,
    /// Several accounts of the login at once (a new channel each); instead of `account_id`.
    account_ids: Option<Vec<String>>,
    name: Option<String>,
}

/// What connecting several accounts of one login made.
/// One account picked (`account_id`): its channel; several (`account_ids`): each channel made
/// and why the others could not be.
#[derive(utoipa::ToSchema, Serialize)]
#[serde(untagged)]
pub enum ConnectAnswer {
    One(Box<ChannelView>),
    Several(ConnectedAccounts),
}

#[derive(utoipa::ToSchema, Serialize)]
pub struct ConnectedAccounts {
    channels: Vec<ChannelView>,
    /// Accounts that could not be connected, with why.
    failed: BTreeMap<String, String>,
}

/// Connects the account picked (or reconnects the flow's channel with it); with
/// `account_ids`, each of those accounts as a channel of its own (201 with every channel made
/// and, per account, why one could not be; 422 when none could).
#[utoipa::path(post, path = "/oauth/flows/{state}/connect", tag = "logins", params(("state" = String, Path, description = "the login's state")), request_body = ConnectAccount, responses((status = 201, body = ConnectAnswer), (status = 200, body = ConnectAnswer, description = "reconnected the flow's channel")))]
pub async fn connect(
    caller: Caller,
    State(app): State<Arc<App>>,
    Path(state): Path<String>,
    ApiJson(body): ApiJson<ConnectAccount>,
) -> Result<(StatusCode, Json<ConnectAnswer>), ApiError> {
    caller.require_admin()?;
    let flow = find_flow(&app, &caller, &state).await?;
    match flow.status {
        FlowStatus::Ready => {}
        FlowStatus::Connected => {
            let channel = flow.connected_channel_id.unwrap_or_default();
            return Err(ApiError::new(StatusCode::CONFLICT, "state_used", format!("this login already connected channel `{channel}`")));
        }
        FlowStatus::Failed => {
            let reason = flow.error.unwrap_or_default();
            return Err(ApiError::new(StatusCode::CONFLICT, "login_failed", format!("this login failed ({reason}): start it again")));
        }
        _ => return Err(ApiError::new(StatusCode::CONFLICT, "login_not_finished", "the login has not come back from the provider yet")),
    }
    let field_error = |key: &str, problem: String| ApiError::invalid_fields(BTreeMap::from([(key.to_string(), problem)]));
    let offered = || flow.accounts.iter().map(|a| a.id.as_str()).collect::<Vec<_>>().join(", ");
    let wanted: Vec<&str> = match (&body.account_ids, body.account_id.as_deref().map(str::trim)) {
        // An account named twice is connected once (two channels of one account would each store its events).
        (Some(ids), None) if flow.channel_id.is_none() => super::webhook_endpoints::each_once(ids.iter().map(|id| id.trim()).filter(|id| !id.is_empty())),
        (Some(_), None) => return Err(field_error("account_ids", "a reconnect takes one `account_id`".into())),
        (Some(_), Some(_)) => return Err(field_error("account_ids", "give `account_id` or `account_ids`, not both".into())),
        (None, id) => id.filter(|id| !id.is_empty()).into_iter().collect(),
    };
    let key = if body.account_ids.is_some() { "account_ids" } else { "account_id" };
    if wanted.is_empty() {
        return Err(field_error(key, REQUIRED.into()));
    }
    let mut accounts = Vec::new();
    for id in &wanted {
        let account = flow.accounts.iter().find(|a| a.id == *id);
        accounts.push(account.ok_or_else(|| field_error(key, format!("`{id}` is not an account of this login (it offers: {})", offered())))?);
    }
    let name = given_name(body.name.as_deref())?;
    let plugin = channels::loaded_plugin(&app, &flow.plugin)?;
    if !app.store.transition_flow(&state, FlowStatus::Ready, FlowStatus::Connecting).await? {
        return Err(ApiError::new(StatusCode::CONFLICT, "login_busy", "an account of this login is being connected already"));
    }
    let mut made = Vec::new();
    let mut failed = BTreeMap::new();
    for account in &accounts {
        let mut values = flow.settings.clone();
        values.extend(account.settings.iter().cloned());
        let outcome = match flow.channel_id.as_deref() {
            None => {
                // One name for one account; several accounts keep their own names.
                let name = name.filter(|_| accounts.len() == 1).or(flow.name.as_deref().filter(|_| accounts.len() == 1)).unwrap_or(&account.name);
                channels::connect_new(&app, flow.workspace_id, &plugin, caller.language, name, &values, BTreeMap::new()).await.map(|c| (StatusCode::CREATED, c))
            }
            Some(channel_id) => match channels::find(&app, &caller, channel_id).await {
                // The login carries the channel's settings as they were when it started: an edit
                // made since (while the admin was at the provider) would be undone by them.
                Ok(channel) if flow.channel_updated_at.is_some_and(|version| version != channel.updated_at) => Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "changed_meanwhile",
                    format!("channel `{channel_id}` was changed while this login was at the provider: start the login again to reconnect it as it is now"),
                )),
                Ok(channel) => {
                    let changes = values.into_iter().map(|(k, v)| (k, Some(v))).collect();
                    channels::change(&app, &channel, &plugin, caller.language, name, changes, BTreeMap::new()).await.map(|c| (StatusCode::OK, c))
                }
                Err(error) => Err(error),
            },
        };
        match outcome {
            Ok(done) => made.push(done),
            Err(error) if body.account_ids.is_none() => {
                // Another account may be picked, or this one again once the problem is fixed.
                app.store.transition_flow(&state, FlowStatus::Connecting, FlowStatus::Ready).await?;
                return Err(error);
            }
            Err(error) => {
                failed.insert(account.id.clone(), error.message);
            }
        }
    }
    let Some((status, first)) = made.first() else {
        app.store.transition_flow(&state, FlowStatus::Connecting, FlowStatus::Ready).await?;
        let problems: Vec<String> = failed.iter().map(|(id, why)| format!("{id}: {why}")).collect();
        return Err(ApiError::unprocessable("connect_failed", format!("no account could be connected ({})", problems.join("; "))));
    };
    app.store.flow_connected(&state, &first.id).await?;
    for (made_status, channel) in &made {
        let action = if *made_status == StatusCode::CREATED { "channel.connect" } else { "channel.reconnect" };
        super::audit::record(&app, &caller, Some(channel.workspace_id), action, &format!("{} ({}, provider login)", channel.id, channel.plugin)).await;
    }
    let status = *status;
    if body.account_ids.is_none() {
        return Ok((status, Json(ConnectAnswer::One(Box::new(channels::channel_view(&app, first, &caller).await?)))));
    }
    let mut views = Vec::new();
    for (_, channel) in &made {
        views.push(channels::channel_view(&app, channel, &caller).await?);
    }
    tracing::info!(plugin = %flow.plugin, connected = views.len(), failed = failed.len(), "provider login connected several accounts");
    let answer = ConnectedAccounts { channels: views, failed };
    Ok((StatusCode::CREATED, Json(ConnectAnswer::Several(answer))))
}

/// The channel's name an admin gave (none: the account's), checked as every name is.
fn given_name(name: Option<&str>) -> Result<Option<&str>, ApiError> {
    match name.map(str::trim).filter(|n| !n.is_empty()) {
        Some(name) => match settings::name_problem(name) {
            Some(problem) => Err(ApiError::invalid_fields(BTreeMap::from([("name".to_owned(), problem)]))),
            None => Ok(Some(name)),
        },
        None => Ok(None),
    }
}
