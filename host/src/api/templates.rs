//! A channel's message templates (WhatsApp HSM): listed (any role), created, deleted and
//! switched on or off (admin). The plugin keeps them with the provider (or, where the provider
//! has no template API, in its channel state); the host keeps the on/off switch, and a template
//! switched off cannot be sent.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::channels::{find, loaded_plugin};
use super::{ApiError, ApiJson, Caller};
use crate::app::App;
use crate::runtime::types::{ButtonTemplate, Capability, ChannelError, NewButtonTemplate, NewTemplate, TemplateButton};
use crate::runtime::{CallError, LoadedPlugin};
use crate::store::model::Channel;

#[derive(utoipa::ToSchema, Serialize)]
pub struct TemplateView {
    name: String,
    language: String,
    category: String,
    /// The provider's review status: APPROVED, PENDING, REJECTED...
    status: String,
    body: String,
    /// In the order the customer sees them; a send gives quick replies their payloads and URL
    /// buttons their address's end (`template.buttons` of a message).
    buttons: Vec<TemplateButton>,
    /// Switched on by the host: only enabled templates can be sent.
    enabled: bool,
}

fn view(ButtonTemplate { template, buttons }: ButtonTemplate, enabled: bool) -> TemplateView {
    TemplateView {
        buttons,
        name: template.name,
        language: template.language,
        category: template.category,
        status: template.status,
        body: template.body,
        enabled,
    }
}

/// The channel and its plugin, when the plugin has templates.
async fn channel_with_templates(app: &App, caller: &Caller, id: &str) -> Result<(Channel, Arc<LoadedPlugin>), ApiError> {
    let channel = find(app, caller, id).await?;
    let plugin = loaded_plugin(app, &channel.plugin)?;
    if !plugin.manifest.capabilities.contains(&Capability::Templates) {
        return Err(ApiError::unprocessable("unsupported", format!("{} channels have no message templates", plugin.manifest.name)));
    }
    Ok((channel, plugin))
}

/// A template call the plugin or provider refused, in the API's words.
fn template_error(error: CallError) -> ApiError {
    match error {
        CallError::Channel(ChannelError::InvalidSettings(fields)) => {
            ApiError::invalid_fields(fields.into_iter().map(|f| (f.key, f.message)).collect())
        }
        CallError::Channel(ChannelError::Provider(reason)) => ApiError::unprocessable("provider_refused", reason),
        CallError::Channel(ChannelError::Unauthorized(reason)) => {
            ApiError::bad_gateway("provider_unauthorized", format!("the provider refused the channel's credentials: {reason}"))
        }
        CallError::Channel(ChannelError::Transient(reason)) => {
            ApiError::bad_gateway("provider_unreachable", format!("could not reach the provider: {reason}"))
        }
        CallError::Channel(error @ ChannelError::RateLimited(_)) => ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", error.to_string()),
        CallError::Channel(other) => ApiError::unprocessable("provider_refused", other.to_string()),
        CallError::Failed(failure) => ApiError::plugin_failure(failure),
    }
}

/// The channel's templates as the provider (or the plugin) keeps them, with their buttons.
pub(super) async fn provider_templates(app: &App, channel: &Channel, plugin: &LoadedPlugin) -> Result<Vec<ButtonTemplate>, ApiError> {
    plugin.list_templates(&app.channel_context(channel)).await.map_err(template_error)
}

/// The templates of one name (every language), or 404.
async fn named(app: &App, channel: &Channel, plugin: &LoadedPlugin, name: &str) -> Result<Vec<ButtonTemplate>, ApiError> {
    let found: Vec<ButtonTemplate> = provider_templates(app, channel, plugin).await?.into_iter().filter(|t| t.template.name == name).collect();
    if found.is_empty() {
        return Err(ApiError::not_found(format!("the channel has no template `{name}`")));
    }
    Ok(found)
}

#[utoipa::path(get, path = "/channels/{id}/templates", tag = "templates", params(("id" = String, Path, description = "the channel")), responses((status = 200, body = Vec<TemplateView>)))]
pub async fn list(caller: Caller, State(app): State<Arc<App>>, Path(id): Path<String>) -> Result<Json<Vec<TemplateView>>, ApiError> {
    let (channel, plugin) = channel_with_templates(&app, &caller, &id).await?;
    let templates = provider_templates(&app, &channel, &plugin).await?;
    let disabled = app.store.disabled_templates(&channel.id, caller.scope()).await?;
    let views = templates.into_iter().map(|template| {
        let enabled = !disabled.contains(&template.template.name);
        view(template, enabled)
    });
    Ok(Json(views.collect()))
}

/// `{"name","language","category","body","buttons"}`; what is missing or wrong comes back per
/// field (a button's as `buttons[1].url`).
#[derive(utoipa::ToSchema, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateTemplate {
    name: Option<String>,
    language: Option<String>,
    category: Option<String>,
    body: Option<String>,
    /// Quick-reply, URL and phone-number buttons (WhatsApp), in the order shown.
    #[serde(default)]
    buttons: Vec<TemplateButton>,
}

#[utoipa::path(post, path = "/channels/{id}/templates", tag = "templates", params(("id" = String, Path, description = "the channel")), request_body = CreateTemplate, responses((status = 201, body = TemplateView)))]
pub async fn create(
    caller: Caller,
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<CreateTemplate>,
) -> Result<(StatusCode, Json<TemplateView>), ApiError> {
    // Another workspace's channel is "not found" whatever the role: look it up first.
    let (channel, plugin) = channel_with_templates(&app, &caller, &id).await?;
    caller.require_admin()?;
    let template = NewTemplate {
        name: body.name.unwrap_or_default(),
        language: body.language.unwrap_or_default(),
        category: body.category.unwrap_or_default(),
        body: body.body.unwrap_or_default(),
    };
    let new = NewButtonTemplate { template, buttons: body.buttons };
    let created = plugin.create_template(&app.channel_context(&channel), &new).await.map_err(template_error)?;
    let name = created.template.name.clone();
    let enabled = app.store.template_enabled(&channel.id, caller.scope(), &name).await?;
    tracing::info!(channel = %channel.id, template = %name, status = %created.template.status, "template created");
    super::audit::record(&app, &caller, Some(channel.workspace_id), "template.create", &format!("{} {name}", channel.id)).await;
    Ok((StatusCode::CREATED, Json(view(created, enabled))))
}

/// Deletes every language of the template at the provider.
#[utoipa::path(delete, path = "/channels/{id}/templates/{name}", tag = "templates", params(("id" = String, Path, description = "the channel"), ("name" = String, Path, description = "the template")), responses((status = 204, description = "deleted")))]
pub async fn delete(caller: Caller, State(app): State<Arc<App>>, Path((id, name)): Path<(String, String)>) -> Result<StatusCode, ApiError> {
    // Another workspace's channel is "not found" whatever the role: look it up first.
    let (channel, plugin) = channel_with_templates(&app, &caller, &id).await?;
    caller.require_admin()?;
    named(&app, &channel, &plugin, &name).await?;
    plugin.delete_template(&app.channel_context(&channel), &name).await.map_err(template_error)?;
    app.store.forget_template(&channel.id, caller.scope(), &name).await?;
    tracing::info!(channel = %channel.id, template = %name, "template deleted");
    super::audit::record(&app, &caller, Some(channel.workspace_id), "template.delete", &format!("{} {name}", channel.id)).await;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(utoipa::ToSchema, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Switch {
    enabled: bool,
}

#[derive(utoipa::ToSchema, Serialize)]
pub struct Switched {
    message: &'static str,
    name: String,
    enabled: bool,
}

/// `{"enabled": false}` switches a template off (it cannot be sent), `true` on again.
#[utoipa::path(patch, path = "/channels/{id}/templates/{name}", tag = "templates", params(("id" = String, Path, description = "the channel"), ("name" = String, Path, description = "the template")), request_body = Switch, responses((status = 200, body = Switched)))]
pub async fn switch(
    caller: Caller,
    State(app): State<Arc<App>>,
    Path((id, name)): Path<(String, String)>,
    ApiJson(body): ApiJson<Switch>,
) -> Result<Json<Switched>, ApiError> {
    // Another workspace's channel is "not found" whatever the role: look it up first.
    let (channel, plugin) = channel_with_templates(&app, &caller, &id).await?;
    caller.require_admin()?;
    named(&app, &channel, &plugin, &name).await?;
    app.store.set_template_enabled(&channel.id, caller.scope(), &name, body.enabled).await?;
    let action = if body.enabled { "template.enable" } else { "template.disable" };
    super::audit::record(&app, &caller, Some(channel.workspace_id), action, &format!("{} {name}", channel.id)).await;
    Ok(Json(Switched { message: "Successfully updated!", name, enabled: body.enabled }))
}
