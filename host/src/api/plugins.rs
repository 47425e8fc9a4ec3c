//! `GET /api/v1/plugins`: what is loaded, with each plugin's settings schema and window policy.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use serde::{Deserialize, Serialize};

use super::settings::{FieldView, field_view};
use super::{ApiError, Caller};
use crate::app::App;
use crate::plugins::PluginError;
use crate::runtime::LoadedPlugin;
use crate::runtime::types::Capability;

#[derive(Serialize)]
pub struct PluginView {
    id: String,
    name: String,
    version: String,
    api_version: String,
    description: String,
    capabilities: Vec<&'static str>,
    outbound_hosts: Vec<String>,
    settings_schema: Vec<FieldView>,
    window_policy: WindowPolicyView,
    /// `null` for a plugin without a provider app; else whether the operator set it up (then
    /// its login needs nothing typed, and its one callback URL serves every account).
    provider_app: Option<ProviderAppState>,
}

#[derive(Serialize)]
struct ProviderAppState {
    configured: bool,
}

#[derive(Serialize)]
struct WindowPolicyView {
    free_form_seconds: Option<u64>,
    human_agent_seconds: Option<u64>,
    templates_outside_window: bool,
}

pub fn capability_name(capability: Capability) -> &'static str {
    match capability {
        Capability::Templates => "templates",
        Capability::OauthConnect => "oauth_connect",
        Capability::SendMedia => "send_media",
        Capability::SendTemplates => "send_templates",
        Capability::FixedName => "fixed_name",
    }
}

fn plugin_view(app: &App, plugin: &LoadedPlugin) -> Result<PluginView, ApiError> {
    let manifest = &plugin.manifest;
    let provider_app = match plugin.has_app() {
        true => Some(ProviderAppState { configured: app.db.provider_app(plugin.id())?.is_some() }),
        false => None,
    };
    Ok(PluginView {
        id: manifest.id.clone(),
        name: manifest.name.clone(),
        version: plugin.version.to_string(),
        api_version: plugin.wit_version.to_string(),
        description: manifest.description.clone(),
        capabilities: manifest.capabilities.iter().map(|c| capability_name(*c)).collect(),
        outbound_hosts: manifest.outbound_hosts.clone(),
        settings_schema: plugin.settings_schema.iter().map(field_view).collect(),
        window_policy: WindowPolicyView {
            free_form_seconds: plugin.window.free_form_seconds,
            human_agent_seconds: plugin.window.human_agent_seconds,
            templates_outside_window: plugin.window.templates_outside_window,
        },
        provider_app,
    })
}

pub async fn list(_caller: Caller, State(app): State<Arc<App>>) -> Result<Json<Vec<PluginView>>, ApiError> {
    Ok(Json(app.registry.list().iter().map(|p| plugin_view(&app, p)).collect::<Result<_, _>>()?))
}

#[derive(Deserialize)]
pub struct InstallQuery {
    #[serde(default)]
    force: bool,
}

/// `POST /api/v1/plugins` (operator): the body is a component (`application/wasm`). Validated,
/// written to the plugins folder, live at once: 201, or 200 when it replaced a version.
pub async fn install(
    caller: Caller,
    State(app): State<Arc<App>>,
    Query(query): Query<InstallQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<PluginView>), ApiError> {
    caller.require_operator()?;
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if !matches!(content_type, "application/wasm" | "application/octet-stream") {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the component as the body with `Content-Type: application/wasm`",
        ));
    }
    if body.is_empty() {
        return Err(ApiError::bad_request("the body is empty: send the component file"));
    }
    let (plugin, replaced) = crate::plugins::install_upload(&app, body.to_vec(), query.force).await.map_err(plugin_error)?;
    let status = if replaced { StatusCode::OK } else { StatusCode::CREATED };
    Ok((status, Json(plugin_view(&app, &plugin)?)))
}

/// `DELETE /api/v1/plugins/{id}` (operator): removes an installed plugin file; its channels stay,
/// shown as unavailable, until it is installed again.
pub async fn remove(caller: Caller, State(app): State<Arc<App>>, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    caller.require_operator()?;
    crate::plugins::remove(&app, &id).map_err(plugin_error)?;
    Ok(StatusCode::NO_CONTENT)
}

fn plugin_error(error: PluginError) -> ApiError {
    let message = error.to_string();
    match error {
        PluginError::Load(_) => ApiError::unprocessable("invalid_plugin", message),
        PluginError::Install(_) => ApiError::new(StatusCode::CONFLICT, "downgrade", message),
        PluginError::BuiltIn(_) => ApiError::new(StatusCode::CONFLICT, "built_in", message),
        PluginError::NotInstalled(_) => ApiError::not_found(message),
        PluginError::Io(_) => {
            tracing::error!("plugin install: {message}");
            ApiError::unavailable("storage_unavailable", "the plugin could not be written to the plugins folder")
        }
    }
}
