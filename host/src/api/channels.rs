//! Channels: connect (admin), read (any role), change (admin), disconnect (admin).
//! Settings are checked against the plugin's schema before the plugin sees them; then the
//! plugin checks the credentials with the provider.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::settings::{self, REQUIRED, SECRET_MASK, is_secret, setting_values};
use super::{ApiError, ApiJson, Caller};
use crate::app::App;
use crate::runtime::types::{Capability, ChannelError, Field};
use crate::runtime::{CallError, LoadedPlugin};
use crate::runtime::types::Connection;
use crate::store::model::{Channel, Connected, SetupEntry};
use crate::store::Scope;

#[derive(utoipa::ToSchema, Serialize)]
pub struct ChannelView {
    id: String,
    plugin: String,
    name: String,
    /// `active`; `needs_reconnect` when the provider refused its credentials (a revoked
    /// token: `status_reason` says why) until a connect succeeds; `plugin_unavailable` when
    /// its plugin is not loaded.
    status: &'static str,
    status_reason: Option<String>,
    display_name: Option<String>,
    external_account_id: Option<String>,
    webhook_url: String,
    settings: BTreeMap<String, SettingView>,
    /// What the admin must do or know to finish setup. An item that shows a secret (a verify
    /// token, a signing secret) is masked for every role but admin and operator.
    setup: Vec<SetupView>,
    created_at: i64,
    updated_at: i64,
}

#[derive(utoipa::ToSchema, Serialize)]
struct SettingView {
    /// Secrets are masked.
    value: String,
    secret: bool,
    /// Read-only after connect.
    immutable: bool,
}

#[derive(utoipa::ToSchema, Serialize)]
struct SetupView {
    key: String,
    label: String,
    /// The value, or the mask when it holds a secret and the caller is not an admin.
    value: String,
    /// Whether the value holds one of the channel's secrets (its webhook secret, a secret setting).
    secret: bool,
}

/// The setup items as `caller` may see them: only admins read a secret (an agent sees that it
/// is set). A plugin shows secrets in setup items (Meta's verify token is the webhook secret),
/// so an item is a secret when its value holds the channel's webhook secret or a secret setting.
fn setup_views(channel: &Channel, plugin: Option<&LoadedPlugin>, caller: &Caller) -> Vec<SetupView> {
    let schema: &[Field] = plugin.map(|p| p.settings_schema.as_slice()).unwrap_or(&[]);
    let secrets: Vec<&str> = std::iter::once(channel.webhook_secret.as_str())
        .chain(channel.settings.iter().filter(|(key, _)| schema.iter().find(|f| &f.key == *key).is_none_or(is_secret)).map(|(_, value)| value.as_str()))
        .filter(|secret| secret.len() >= 8)
        .collect();
    let admin = caller.require_admin().is_ok();
    channel
        .setup
        .iter()
        .map(|SetupEntry { key, label, value }| {
            let secret = secrets.iter().any(|s| value.contains(s));
            let shown = if secret && !admin { SECRET_MASK.to_owned() } else { value.clone() };
            let label = plugin.map_or(label.as_str(), |p| p.translations.text(caller.language, label)).to_owned();
            SetupView { key: key.clone(), label, value: shown, secret }
        })
        .collect()
}

pub(super) async fn channel_view(app: &App, channel: &Channel, caller: &Caller) -> Result<ChannelView, ApiError> {
    let plugin = app.registry.get(&channel.plugin);
    let reconnect = app.store.needs_reconnect(&channel.id, caller.scope()).await?;
    let schema: &[Field] = plugin.as_ref().map(|p| p.settings_schema.as_slice()).unwrap_or(&[]);
    let settings = channel
        .settings
        .iter()
        .map(|(key, value)| {
            let field = schema.iter().find(|f| &f.key == key);
            // Without the schema (plugin gone) every value is treated as a secret.
            let secret = field.is_none_or(is_secret);
            let shown = if secret { SECRET_MASK.to_owned() } else { value.clone() };
            (key.clone(), SettingView { value: shown, secret, immutable: field.is_some_and(|f| f.immutable) })
        })
        .collect();
    let status = match (&plugin, &reconnect) {
        (None, _) => "plugin_unavailable",
        (Some(_), Some(_)) => "needs_reconnect",
        (Some(_), None) => "active",
    };
    Ok(ChannelView {
        id: channel.id.clone(),
        plugin: channel.plugin.clone(),
        name: channel.name.clone(),
        status,
        status_reason: reconnect.map(|r| r.reason),
        display_name: channel.display_name.clone(),
        external_account_id: channel.external_account_id.clone(),
        webhook_url: app.webhook_url(&channel.id),
        settings,
        setup: setup_views(channel, plugin.as_deref(), caller),
        created_at: channel.created_at,
        updated_at: channel.updated_at,
    })
}

#[utoipa::path(get, path = "/channels", tag = "channels", responses((status = 200, body = Vec<ChannelView>)))]
pub async fn list(caller: Caller, State(app): State<Arc<App>>) -> Result<Json<Vec<ChannelView>>, ApiError> {
    let channels = app.store.channels(caller.scope()).await?;
    let mut views = Vec::new();
    for channel in channels {
        views.push(channel_view(&app, &channel, &caller).await?);
    }
    Ok(Json(views))
}

#[utoipa::path(get, path = "/channels/{id}", tag = "channels", params(("id" = String, Path, description = "the channel")), responses((status = 200, body = ChannelView)))]
pub async fn show(caller: Caller, State(app): State<Arc<App>>, Path(id): Path<String>) -> Result<Json<ChannelView>, ApiError> {
    Ok(Json(channel_view(&app, &find(&app, &caller, &id).await?, &caller).await?))
}

/// A channel the caller may see; another workspace's is "not found", like one that never was.
pub(super) async fn find(app: &App, caller: &Caller, id: &str) -> Result<Channel, ApiError> {
    find_active(app, id, caller.scope()).await?.ok_or_else(|| ApiError::not_found(format!("no channel `{id}`")))
}

async fn find_active(app: &App, id: &str, scope: Scope) -> Result<Option<Channel>, ApiError> {
    Ok(app.store.channel(id, scope).await?.filter(|c| c.status == crate::store::model::ChannelStatus::Active))
}

pub(super) fn loaded_plugin(app: &App, id: &str) -> Result<Arc<LoadedPlugin>, ApiError> {
    app.registry.get(id).ok_or_else(|| {
        ApiError::unavailable("plugin_unavailable", format!("plugin `{id}` is not loaded; install it to manage this channel"))
    })
}

#[derive(utoipa::ToSchema, Deserialize)]
pub struct CreateChannel {
    plugin: Option<String>,
    name: Option<String>,
    #[serde(default)]
    #[schema(value_type = Object)]
    settings: Map<String, Value>,
}

#[utoipa::path(post, path = "/channels", tag = "channels", request_body = CreateChannel, responses((status = 201, body = ChannelView)))]
pub async fn create(
    caller: Caller,
    State(app): State<Arc<App>>,
    ApiJson(body): ApiJson<CreateChannel>,
) -> Result<(StatusCode, Json<ChannelView>), ApiError> {
    caller.require_admin()?;
    let plugin_id = body.plugin.as_deref().map(str::trim).unwrap_or_default();
    if plugin_id.is_empty() {
        return Err(ApiError::invalid_fields(BTreeMap::from([("plugin".into(), REQUIRED.into())])));
    }
    let plugin = app.registry.get(plugin_id).ok_or_else(|| {
        let loaded: Vec<String> = app.registry.list().iter().map(|p| p.id().to_owned()).collect();
        let mut error = ApiError::invalid_fields(BTreeMap::from([(
            "plugin".into(),
            format!("no plugin `{plugin_id}` is loaded (loaded: {})", loaded.join(", ")),
        )]));
        error.error = "unknown_plugin";
        error
    })?;
    let mut errors = BTreeMap::new();
    let name = body.name.as_deref().map(str::trim).unwrap_or_default().to_owned();
    if let Some(problem) = settings::name_problem(&name) {
        errors.insert("name".to_string(), problem);
    }
    let values = match settings::from_json(&body.settings) {
        Ok(values) => values.into_iter().filter_map(|(k, v)| Some((k, v?))).collect(),
        Err(field_errors) => {
            errors.extend(field_errors);
            BTreeMap::new()
        }
    };
    let workspace = caller.target_workspace()?;
    let channel = connect_new(&app, workspace, &plugin, caller.language, &name, &values, errors).await?;
    super::audit::record(&app, &caller, Some(workspace), "channel.connect", &format!("{} ({})", channel.id, channel.plugin)).await;
    Ok((StatusCode::CREATED, Json(channel_view(&app, &channel, &caller).await?)))
}

/// Connects a new channel: the settings are checked against the plugin's schema (together
/// with the `errors` the caller found), then by the plugin with the provider; a refusal
/// leaves no channel. The manual form and provider logins both connect through here.
pub(super) async fn connect_new(
    app: &App,
    workspace_id: i64,
    plugin: &LoadedPlugin,
    language: &str,
    name: &str,
    values: &BTreeMap<String, String>,
    mut errors: BTreeMap<String, String>,
) -> Result<Channel, ApiError> {
    errors.extend(settings::validate(&plugin.settings_schema, values));
    add_plugin_checks(plugin, language, values, &mut errors).await;
    if !errors.is_empty() {
        return Err(ApiError::invalid_fields(errors));
    }
    let plugin_id = plugin.id();
    let stored = app.store.create_channel(workspace_id, plugin_id, name, &setting_values(&plugin.settings_schema, values)).await?;
    let connection = match plugin.connect(&app.channel_context(&stored)).await {
        Ok(connection) => connection,
        Err(error) => {
            app.store.delete_channel(&stored.id, Scope::Workspace(workspace_id)).await?;
            return Err(connect_error(plugin, language, error));
        }
    };
    record_connection(app, &stored.id, &connection).await?;
    match find_active(app, &stored.id, Scope::Every).await? {
        Some(channel) => {
            tracing::info!(channel = %stored.id, workspace = workspace_id, plugin = plugin_id, account = %connection.external_account_id, "channel connected");
            Ok(channel)
        }
        None => {
            // Its workspace was deleted while it connected: what the connect set up at the
            // provider is undone, as the deletion did for the workspace's other channels.
            tear_down(app, &stored).await;
            Err(ApiError::not_found(format!("channel `{}` was deleted meanwhile", stored.id)))
        }
    }
}

/// The plugin's own checks of the form (contract 0.1.4 `settings-check`) beside the host's, so
/// every field's problem comes back at once; where both found one, the host's stays.
async fn add_plugin_checks(plugin: &LoadedPlugin, language: &str, values: &BTreeMap<String, String>, errors: &mut BTreeMap<String, String>) {
    let settings: Vec<(String, String)> = values.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    for problem in plugin.check_settings(&settings).await {
        let problem = plugin.translations.field_error(language, &problem);
        errors.entry(problem.key).or_insert(problem.message);
    }
}

/// Keeps what connect reported on the channel (and marks it active); the credentials work,
/// so the channel no longer needs reconnecting.
async fn record_connection(app: &App, channel_id: &str, connection: &Connection) -> Result<(), ApiError> {
    let setup: Vec<SetupEntry> = connection
        .setup
        .iter()
        .map(|item| SetupEntry { key: item.key.clone(), label: item.label.clone(), value: item.value.clone() })
        .collect();
    app.store.mark_connected(
        channel_id,
        &Connected { display_name: &connection.display_name, external_account_id: &connection.external_account_id, setup: &setup },
    ).await?;
    app.store.clear_needs_reconnect(channel_id).await?;
    Ok(())
}

/// A refused connect, in the API's words (the plugin's own in `language` where it translated them).
pub(super) fn connect_error(plugin: &LoadedPlugin, language: &str, error: CallError) -> ApiError {
    let plugin_id = plugin.id();
    let error = match error {
        CallError::Channel(refusal) => CallError::Channel(plugin.translations.error(language, &refusal)),
        failed => failed,
    };
    match error {
        CallError::Channel(ChannelError::InvalidSettings(fields)) => {
            ApiError::invalid_fields(fields.into_iter().map(|f| (f.key, f.message)).collect())
        }
        CallError::Channel(ChannelError::Transient(reason)) => {
            ApiError::bad_gateway("provider_unreachable", format!("could not reach the provider: {reason}"))
        }
        CallError::Channel(ChannelError::Unauthorized(reason) | ChannelError::Provider(reason)) => {
            ApiError::unprocessable("connect_failed", reason)
        }
        CallError::Channel(other) => ApiError::unprocessable("connect_failed", other.to_string()),
        CallError::Failed(failure) => {
            let error = ApiError::plugin_failure(failure);
            ApiError { message: format!("plugin `{plugin_id}`: {}", error.message), ..error }
        }
    }
}

#[derive(utoipa::ToSchema, Deserialize)]
pub struct UpdateChannel {
    name: Option<String>,
    #[serde(default)]
    #[schema(value_type = Object)]
    settings: Map<String, Value>,
}

/// Changes the name and/or settings. Changed settings are checked with the provider again
/// (connect) before they are stored; on refusal nothing changes.
#[utoipa::path(patch, path = "/channels/{id}", tag = "channels", params(("id" = String, Path, description = "the channel")), request_body = UpdateChannel, responses((status = 200, body = ChannelView)))]
pub async fn update(
    caller: Caller,
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<UpdateChannel>,
) -> Result<Json<ChannelView>, ApiError> {
    // Another workspace's channel is "not found" whatever the role: look it up first.
    let channel = find(&app, &caller, &id).await?;
    caller.require_admin()?;
    let plugin = loaded_plugin(&app, &channel.plugin)?;
    let (changes, errors) = match settings::from_json(&body.settings) {
        Ok(changes) => (changes, BTreeMap::new()),
        Err(field_errors) => (BTreeMap::new(), field_errors),
    };
    let channel = change(&app, &channel, &plugin, caller.language, body.name.as_deref(), changes, errors).await?;
    super::audit::record(&app, &caller, Some(channel.workspace_id), "channel.change", &channel.id).await;
    Ok(Json(channel_view(&app, &channel, &caller).await?))
}

/// Changes a channel's name and settings (`None` removes a setting; a secret given as the
/// mask is kept). Changed settings, and the settings of a channel that needs reconnecting,
/// are checked with the provider (connect) before they are stored; on refusal nothing
/// changes. PATCH and provider logins for an existing channel change it through here.
pub(super) async fn change(
    app: &App,
    channel: &Channel,
    plugin: &LoadedPlugin,
    language: &str,
    name: Option<&str>,
    changes: BTreeMap<String, Option<String>>,
    mut errors: BTreeMap<String, String>,
) -> Result<Channel, ApiError> {
    let id = &channel.id;
    let schema = &plugin.settings_schema;
    let name = match name.map(str::trim) {
        Some("") => {
            errors.insert("name".to_string(), REQUIRED.to_string());
            channel.name.clone()
        }
        Some(name) if name != channel.name && plugin.manifest.capabilities.contains(&Capability::FixedName) => {
            errors.insert("name".to_string(), format!("field is read-only: a {} channel keeps its name once connected", plugin.manifest.name));
            channel.name.clone()
        }
        // A name stored before names were bounded may be sent back as it is.
        Some(name) => match settings::name_problem(name).filter(|_| name != channel.name) {
            Some(problem) => {
                errors.insert("name".to_string(), problem);
                channel.name.clone()
            }
            None => name.to_owned(),
        },
        None => channel.name.clone(),
    };
    let mut merged = channel.settings.clone();
    for (key, value) in changes {
        let field = schema.iter().find(|f| f.key == key);
        let current = channel.settings.get(&key);
        let keep_secret = field.is_some_and(is_secret) && value.as_deref().is_none_or(|v| v == SECRET_MASK);
        if keep_secret || value.as_ref() == current {
            continue;
        }
        if field.is_some_and(|f| f.immutable) {
            errors.insert(key, "field is read-only once the channel is connected".into());
            continue;
        }
        match value {
            Some(value) => merged.insert(key, value),
            None => merged.remove(&key),
        };
    }
    errors.extend(settings::validate(schema, &merged));
    add_plugin_checks(plugin, language, &merged, &mut errors).await;
    if !errors.is_empty() {
        return Err(ApiError::invalid_fields(errors));
    }

    // Stored only over the channel as read here: a change stored meanwhile (a provider login's
    // new token, another admin's edit) is not overwritten with what was read before it (409).
    if merged != channel.settings || app.store.needs_reconnect(id, Scope::Workspace(channel.workspace_id)).await?.is_some() {
        let mut candidate = channel.clone();
        candidate.settings = merged.clone();
        let connection = plugin.connect(&app.channel_context(&candidate)).await.map_err(|e| connect_error(plugin, language, e))?;
        app.store.update_channel(id, Scope::Workspace(channel.workspace_id), &name, &setting_values(schema, &merged), Some(channel.updated_at)).await?;
        record_connection(app, id, &connection).await?;
    } else {
        app.store.update_channel(id, Scope::Workspace(channel.workspace_id), &name, &setting_values(schema, &merged), Some(channel.updated_at)).await?;
    }
    find_active(app, id, Scope::Every).await?.ok_or_else(|| ApiError::not_found(format!("channel `{id}` was deleted meanwhile")))
}

/// Asks the channel's plugin to undo what connect set up at the provider (a webhook, a
/// subscription). A teardown the provider refuses is logged: the channel is deleted anyway,
/// because the admin (or the operator, deleting its workspace) asked for it to be gone.
pub(super) async fn tear_down(app: &App, channel: &Channel) {
    match app.registry.get(&channel.plugin) {
        Some(plugin) => {
            if let Err(error) = plugin.disconnect(&app.channel_context(channel)).await {
                tracing::warn!(channel = %channel.id, "provider teardown failed, deleting anyway: {}", error);
            }
        }
        None => tracing::warn!(channel = %channel.id, plugin = %channel.plugin, "plugin not loaded: no provider teardown"),
    }
}

/// Disconnect: provider teardown by the plugin, then the channel and everything under it
/// is deleted. A teardown the provider refuses is logged; the channel is deleted anyway,
/// because the admin asked for it to be gone.
#[utoipa::path(delete, path = "/channels/{id}", tag = "channels", params(("id" = String, Path, description = "the channel")), responses((status = 204, description = "disconnected and deleted")))]
pub async fn delete(caller: Caller, State(app): State<Arc<App>>, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    // Another workspace's channel is "not found" whatever the role: look it up first.
    let channel = find(&app, &caller, &id).await?;
    caller.require_admin()?;
    tear_down(&app, &channel).await;
    app.store.delete_channel(&id, caller.scope()).await?;
    // Its conversations' files go with it.
    app.media.sweep().await;
    super::audit::record(&app, &caller, Some(channel.workspace_id), "channel.disconnect", &format!("{id} ({})", channel.plugin)).await;
    tracing::info!(channel = %id, "channel disconnected and deleted");
    Ok(StatusCode::NO_CONTENT)
}
