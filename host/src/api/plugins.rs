//! `GET /api/v1/plugins`: what is loaded, with each plugin's settings schema and window policy.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde::Serialize;

use super::settings::{FieldView, field_view};
use super::{ApiError, Caller};
use crate::app::App;
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

fn plugin_view(plugin: &LoadedPlugin) -> PluginView {
    let manifest = &plugin.manifest;
    PluginView {
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
    }
}

pub async fn list(_caller: Caller, State(app): State<Arc<App>>) -> Result<Json<Vec<PluginView>>, ApiError> {
    Ok(Json(app.registry.list().iter().map(|p| plugin_view(p)).collect()))
}
