//! Provider apps, set by the operator: `GET`, `PUT` and `DELETE /api/v1/plugins/{id}/app`.
//! The app's settings follow the plugin's app schema (validated, secrets sealed and masked as
//! for channels); the answer carries the callback URL and verify token to paste in the
//! provider's dashboard, and how many channels the app's callback serves.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::settings::{self, FieldView, SECRET_MASK, field_view, is_secret, setting_values};
use super::{ApiError, ApiJson, Caller};
use crate::app::App;
use crate::runtime::LoadedPlugin;
use crate::store::{Scope, StoreError};
use crate::store::model::AppRemoval;

#[derive(utoipa::ToSchema, Serialize)]
pub struct AppView {
    plugin: String,
    /// Whether the operator has set the app up.
    configured: bool,
    schema: Vec<FieldView>,
    /// Current values, secrets masked.
    settings: BTreeMap<String, String>,
    /// To paste in the provider's dashboard (Meta: "Callback URL").
    callback_url: String,
    /// To paste beside it (Meta: "Verify Token"); `null` until the app is set.
    verify_token: Option<String>,
    /// Channels of this plugin: accounts whose events the app's callback may carry.
    channels: usize,
    updated_at: Option<i64>,
}

#[derive(utoipa::ToSchema, Deserialize)]
pub struct SetApp {
    #[serde(default)]
    #[schema(value_type = Object)]
    settings: Map<String, Value>,
}

/// The plugin, if it has a provider app.
fn app_plugin(app: &App, id: &str) -> Result<Arc<LoadedPlugin>, ApiError> {
    let plugin = app.registry.get(id).ok_or_else(|| ApiError::not_found(format!("no plugin `{id}` is loaded")))?;
    if !plugin.has_app() {
        return Err(ApiError::not_found(format!("plugin `{id}` has no provider app (it does not export `provider-app`, contract 0.1.3)")));
    }
    Ok(plugin)
}

/// `language`: the reader's, for the plugin's texts it translated.
async fn view(app: &App, plugin: &LoadedPlugin, language: &str) -> Result<AppView, ApiError> {
    let id = plugin.id();
    let stored = app.store.provider_app(id).await?;
    let schema = &plugin.app_schema;
    let settings = stored
        .as_ref()
        .map(|s| &s.settings)
        .into_iter()
        .flatten()
        .map(|(key, value)| {
            let secret = schema.iter().find(|f| &f.key == key).is_none_or(is_secret);
            (key.clone(), if secret { SECRET_MASK.to_owned() } else { value.clone() })
        })
        .collect();
    Ok(AppView {
        plugin: id.to_owned(),
        configured: stored.is_some(),
        schema: schema.iter().map(|field| field_view(&plugin.translations.field(language, field))).collect(),
        settings,
        callback_url: app.app_callback_url(id),
        verify_token: stored.as_ref().map(|s| s.verify_token.clone()),
        channels: app.store.channels(Scope::Every).await?.iter().filter(|c| c.plugin == id).count(),
        updated_at: stored.map(|s| s.updated_at),
    })
}

#[utoipa::path(get, path = "/plugins/{id}/app", tag = "provider-apps", params(("id" = String, Path, description = "the plugin")), responses((status = 200, body = AppView)))]
pub async fn show(caller: Caller, State(app): State<Arc<App>>, Path(id): Path<String>) -> Result<Json<AppView>, ApiError> {
    caller.require_operator()?;
    let plugin = app_plugin(&app, &id)?;
    Ok(Json(view(&app, &plugin, caller.language).await?))
}

/// Sets the app's settings: all of them, except that a secret left out or given as the mask
/// keeps its stored value (so a form can be saved without retyping the secret). A new secret
/// takes effect with the next request the provider makes.
#[utoipa::path(put, path = "/plugins/{id}/app", tag = "provider-apps", params(("id" = String, Path, description = "the plugin")), request_body = SetApp, responses((status = 200, body = AppView)))]
pub async fn set(
    caller: Caller,
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<SetApp>,
) -> Result<Json<AppView>, ApiError> {
    caller.require_operator()?;
    let plugin = app_plugin(&app, &id)?;
    let schema = &plugin.app_schema;
    let given = settings::from_json(&body.settings).map_err(ApiError::invalid_fields)?;
    // The form is merged with the app as read and written only while it is still so: another
    // operator's save in between (a new secret, say) is merged with again, not put back. After
    // `SAVES_MEANWHILE` such saves in a row, 409 `changed_meanwhile`.
    const SAVES_MEANWHILE: usize = 5;
    for attempt in 1.. {
        let stored = app.store.provider_app(&id).await?;
        let merged = merged_with_kept_secrets(schema, &body.settings, &given, stored.as_ref().map(|s| &s.settings));
        let errors = settings::validate(schema, &merged);
        if !errors.is_empty() {
            return Err(ApiError::invalid_fields(errors));
        }
        match app.store.set_provider_app(&id, &setting_values(schema, &merged), stored.map(|s| s.updated_at)).await {
            Err(StoreError::ChangedMeanwhile) if attempt < SAVES_MEANWHILE => continue,
            written => written?,
        };
        break;
    }
    tracing::info!(plugin = %id, "provider app set");
    super::audit::record(&app, &caller, None, "provider_app.set", &id).await;
    Ok(Json(view(&app, &plugin, caller.language).await?))
}

/// The settings given, with each secret left out or given as the mask keeping its stored value.
fn merged_with_kept_secrets(
    schema: &[crate::runtime::types::Field],
    body: &Map<String, Value>,
    given: &BTreeMap<String, Option<String>>,
    stored: Option<&BTreeMap<String, String>>,
) -> BTreeMap<String, String> {
    let kept = |key: &str| stored.and_then(|stored| stored.get(key)).cloned();
    let mut merged = BTreeMap::new();
    for (key, value) in given {
        let keep_secret = schema.iter().find(|f| &f.key == key).is_some_and(is_secret) && value.as_deref().is_none_or(|v| v == SECRET_MASK);
        match (keep_secret, value) {
            (true, _) => {
                if let Some(current) = kept(key) {
                    merged.insert(key.clone(), current);
                }
            }
            (false, Some(value)) => {
                merged.insert(key.clone(), value.clone());
            }
            (false, None) => {}
        }
    }
    // Secrets not sent at all are kept too.
    for field in schema.iter().filter(|f| is_secret(f)) {
        if !merged.contains_key(&field.key) && !body.contains_key(&field.key) {
            if let Some(current) = kept(&field.key) {
                merged.insert(field.key.clone(), current);
            }
        }
    }
    merged
}

/// Removes the app; refused while channels of the plugin exist, naming them.
#[utoipa::path(delete, path = "/plugins/{id}/app", tag = "provider-apps", params(("id" = String, Path, description = "the plugin")), responses((status = 204, description = "removed")))]
pub async fn remove(caller: Caller, State(app): State<Arc<App>>, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    caller.require_operator()?;
    app_plugin(&app, &id)?;
    match app.store.delete_provider_app(&id).await? {
        AppRemoval::Removed => {}
        AppRemoval::NotFound => return Err(ApiError::not_found(format!("plugin `{id}` has no provider app set up"))),
        AppRemoval::InUse(users) => {
            let users: Vec<String> = users.into_iter().map(|(channel, name)| format!("{name} ({channel})")).collect();
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "app_in_use",
                format!("the {id} app serves these channels, whose events would stop arriving: {}; disconnect them first", users.join(", ")),
            ));
        }
    }
    super::audit::record(&app, &caller, None, "provider_app.remove", &id).await;
    Ok(StatusCode::NO_CONTENT)
}
