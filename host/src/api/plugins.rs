//! `GET /api/v1/plugins`: what is loaded, with each plugin's settings schema and window policy.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use serde::{Deserialize, Serialize};

use super::guide::{GuideView, guide_view};
use super::settings::{FieldView, field_view};
use super::{ApiError, Caller, MAX_COMPONENT_BYTES};
use crate::app::App;
use crate::plugins::catalogue::CatalogueEntry;
use crate::oci::OciError;
use crate::plugins::{PluginError, PullError, UploadError};
use crate::runtime::LoadedPlugin;
use crate::plugins::Upload;
use crate::plugins::review::{Review, capability_name};

#[derive(utoipa::ToSchema, Serialize)]
pub struct PluginView {
    id: String,
    name: String,
    version: String,
    api_version: String,
    description: String,
    capabilities: Vec<&'static str>,
    outbound_hosts: Vec<String>,
    /// The base64 Ed25519 key that signed it, `built-in`, or `null` (unsigned, allowed by the operator).
    signer: Option<String>,
    /// Each field may carry a `widget` (`color`) from the plugin's guide.
    settings_schema: Vec<FieldView>,
    /// Steps to show beside the connect form (no sections: the plugin brings none).
    guide: GuideView,
    window_policy: WindowPolicyView,
    /// The interactive kinds it draws natively, each with the limits messages are checked
    /// against (every other kind goes as text with numbered options).
    interactive: crate::interactive::model::InteractiveSupport,
    /// `null` for a plugin without a provider app; else whether the operator set it up (then
    /// its login needs nothing typed, and its one callback URL serves every account).
    provider_app: Option<ProviderAppState>,
}

#[derive(utoipa::ToSchema, Serialize)]
struct ProviderAppState {
    configured: bool,
}

#[derive(utoipa::ToSchema, Serialize)]
struct WindowPolicyView {
    free_form_seconds: Option<u64>,
    human_agent_seconds: Option<u64>,
    templates_outside_window: bool,
}

/// `language`: the reader's, for the plugin's texts it translated (labels, help, guide).
async fn plugin_view(app: &App, plugin: &LoadedPlugin, language: &str) -> Result<PluginView, ApiError> {
    let manifest = &plugin.manifest;
    let texts = &plugin.translations;
    let provider_app = match plugin.has_app() {
        true => Some(ProviderAppState { configured: app.store.provider_app(plugin.id()).await?.is_some() }),
        false => None,
    };
    Ok(PluginView {
        id: manifest.id.clone(),
        name: manifest.name.clone(),
        version: plugin.version.to_string(),
        api_version: plugin.wit_version.to_string(),
        description: texts.text(language, &manifest.description).to_owned(),
        capabilities: manifest.capabilities.iter().map(|c| capability_name(*c)).collect(),
        outbound_hosts: manifest.outbound_hosts.clone(),
        signer: plugin.signer.clone(),
        settings_schema: plugin
            .settings_schema
            .iter()
            .map(|field| {
                let widget = plugin.guide.field_widgets.iter().find(|w| w.key == field.key).map(|w| w.widget.name());
                field_view(&texts.field(language, field)).with_widget(widget)
            })
            .collect(),
        guide: guide_view(&texts.guide(language, &plugin.guide)),
        window_policy: WindowPolicyView {
            free_form_seconds: plugin.window.free_form_seconds,
            human_agent_seconds: plugin.window.human_agent_seconds,
            templates_outside_window: plugin.window.templates_outside_window,
        },
        interactive: plugin.interactive.clone(),
        provider_app,
    })
}

#[utoipa::path(get, path = "/plugins", tag = "plugins", responses((status = 200, body = Vec<PluginView>)))]
pub async fn list(caller: Caller, State(app): State<Arc<App>>) -> Result<Json<Vec<PluginView>>, ApiError> {
    let mut views = Vec::new();
    for plugin in app.registry.list().iter() {
        views.push(plugin_view(&app, plugin, caller.language).await?);
    }
    Ok(Json(views))
}

#[derive(utoipa::IntoParams, Deserialize)]
#[into_params(parameter_in = Query)]
pub struct InstallQuery {
    #[serde(default)]
    force: bool,
}

/// `POST /api/v1/plugins` (operator): the body is a component (`application/wasm`), streamed
/// to disk, validated, moved into the plugins folder and live at once: 201, or 200 when it
/// replaced a version.
#[utoipa::path(post, path = "/plugins", tag = "plugins", params(InstallQuery), request_body(content = String, content_type = "application/wasm", description = "the component file; or, as `application/json`, `{\"source\": \"oci://<registry>/<repository>:<version or range>\"}` to install it from an OCI registry"), responses((status = 201, body = PluginView, description = "installed"), (status = 200, body = PluginView, description = "replaced a version"), (status = 202, body = PendingView, description = "a new plugin, or an upgrade reaching more hosts or host imports: waits for the operator's approval; what was live keeps serving")))]
pub async fn install(
    caller: Caller,
    State(app): State<Arc<App>>,
    Query(query): Query<InstallQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<InstallAnswer>), ApiError> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let from_registry = content_type.split(';').next().is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"));
    let refusal = caller.require_operator().err().or_else(|| {
        (!from_registry && !matches!(content_type, "application/wasm" | "application/octet-stream")).then(|| {
            ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the component as the body with `Content-Type: application/wasm`, or `{\"source\": \"oci://…\"}` as JSON",
            )
        })
    });
    if let Some(refusal) = refusal {
        return Err(after_draining(body, refusal).await);
    }
    // Its buffers (the body, the compilation's input) go back as soon as they are freed.
    let _large = crate::heap::returning_freed_at_once();
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > MAX_COMPONENT_BYTES as u64) {
        return Err(upload_error(UploadError::TooLarge(MAX_COMPONENT_BYTES)));
    }
    if from_registry {
        return install_from_registry(&caller, &app, query.force, body).await;
    }
    use futures_util::TryStreamExt;
    let body = body.into_data_stream().map_err(|e| UploadError::Body(e.to_string()));
    let staged = crate::plugins::stage_upload(&app, body, MAX_COMPONENT_BYTES).await.map_err(upload_error)?;
    let upload = crate::plugins::install_upload(&app, staged, query.force).await.map_err(plugin_error)?;
    install_answer(&caller, &app, upload, "").await
}

/// `POST /api/v1/plugins` with `{"source": "oci://<registry>/<repository>:<version or range>"}`:
/// the component pulled from an OCI registry and installed as an upload of it.
async fn install_from_registry(caller: &Caller, app: &App, force: bool, body: Body) -> Result<(StatusCode, Json<InstallAnswer>), ApiError> {
    #[derive(Deserialize)]
    struct FromRegistry {
        source: Option<String>,
        #[serde(default)]
        force: bool,
    }
    let bytes = axum::body::to_bytes(body, 64 << 10).await.map_err(|_| ApiError::bad_request("the JSON body is larger than 64 KiB"))?;
    let request: FromRegistry = serde_json::from_slice(&bytes).map_err(|e| ApiError::bad_request(format!("the body is not the expected JSON: {e}")))?;
    let source = request.source.ok_or_else(|| ApiError::invalid_fields([("source".to_owned(), "field is required: oci://<registry>/<repository>:<version>".to_owned())].into()))?;
    let source = crate::oci::Source::parse(&source).map_err(|why| ApiError::invalid_fields([("source".to_owned(), why)].into()))?;
    let (upload, tag) = crate::plugins::install_from_registry(app, &source, MAX_COMPONENT_BYTES, force || request.force).await.map_err(|error| match error {
        PullError::Registry(error) => registry_error(error),
        PullError::Upload(error) => upload_error(error),
        PullError::Plugin(error) => plugin_error(error),
    })?;
    let from = format!(" from oci://{}/{}:{tag}", source.registry, source.repository);
    install_answer(caller, app, upload, &from).await
}

/// A registry's trouble, in the API's words: what the operator can fix is a 4xx, what the
/// registry did a 502.
fn registry_error(error: OciError) -> ApiError {
    let message = error.to_string();
    match error {
        OciError::Refused(_) => ApiError::unprocessable("registry_refused", message),
        OciError::NotFound(_) => ApiError::unprocessable("unknown_version", message),
        OciError::NotAComponent(_) => ApiError::unprocessable("not_a_component", message),
        OciError::Unreachable(_) => ApiError::bad_gateway("registry_unreachable", message),
        OciError::Tampered(_) => ApiError::bad_gateway("registry_digest_mismatch", message),
        // Credentials missing or refused: the operator's to give (docker login), so a 4xx.
        OciError::Unauthorized(_) => ApiError::unprocessable("registry_unauthorized", message),
    }
}

/// The answer to an install (an upload, or a pull from a registry: `from` says which).
async fn install_answer(caller: &Caller, app: &App, upload: Upload, from: &str) -> Result<(StatusCode, Json<InstallAnswer>), ApiError> {
    match upload {
        Upload::Live { plugin, replaced } => {
            super::audit::record(app, caller, None, "plugin.install", &format!("{} {}{from}", plugin.id(), plugin.version)).await;
            let status = if replaced { StatusCode::OK } else { StatusCode::CREATED };
            Ok((status, Json(InstallAnswer::Live(Box::new(plugin_view(app, &plugin, caller.language).await?)))))
        }
        Upload::Pending(review) => {
            super::audit::record(app, caller, None, "plugin.upload_for_review", &format!("{} {}{from}", review.id, review.version)).await;
            Ok((StatusCode::ACCEPTED, Json(InstallAnswer::Pending(PendingView { status: "pending_approval", review }))))
        }
    }
}

/// An upload's answer: the plugin, live; or what it asks for, waiting for approval.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum InstallAnswer {
    Live(Box<PluginView>),
    Pending(PendingView),
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct PendingView {
    /// `pending_approval`: approve it with `POST /api/v1/plugin-reviews/{id}/approve`.
    status: &'static str,
    review: Review,
}

/// `GET /api/v1/catalogue` (operator): each repository the host lists (`--catalogue`), with the
/// versions its registry holds (newest first), the plugin installed from it and its version, the
/// newest version of the installed major and the newest of all. The registries are read at
/// once, each for at most 15 s: one that cannot be read gives its entry an `error`, never the
/// answer. Install or upgrade with `POST /api/v1/plugins` `{"source": "<source>:<version>"}`.
#[utoipa::path(get, path = "/catalogue", tag = "plugins", responses((status = 200, body = Vec<CatalogueEntry>, description = "every repository of `--catalogue`, in its order; `[]` when none is configured")))]
pub async fn catalogue(caller: Caller, State(app): State<Arc<App>>) -> Result<Json<Vec<CatalogueEntry>>, ApiError> {
    caller.require_operator()?;
    let installed = crate::plugins::installed_from_registries(&app);
    let entries = crate::plugins::catalogue::read(&app.catalogue, &installed, &app.outbound_allowed, crate::plugins::catalogue::READ_TIMEOUT).await;
    Ok(Json(entries))
}

/// `GET /api/v1/plugin-reviews` (operator): uploads waiting for approval, with what each asks for.
#[utoipa::path(get, path = "/plugin-reviews", tag = "plugins", responses((status = 200, body = Vec<Review>)))]
pub async fn reviews(caller: Caller, State(app): State<Arc<App>>) -> Result<Json<Vec<Review>>, ApiError> {
    caller.require_operator()?;
    Ok(Json(crate::plugins::pending(&app)))
}

/// Approves a waiting upload: it goes live (201, or 200 when it replaced a version).
#[utoipa::path(post, path = "/plugin-reviews/{id}/approve", tag = "plugins", params(("id" = String, Path, description = "the plugin"), InstallQuery), responses((status = 201, body = PluginView), (status = 200, body = PluginView, description = "replaced a version")))]
pub async fn approve(
    caller: Caller,
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    Query(query): Query<InstallQuery>,
) -> Result<(StatusCode, Json<PluginView>), ApiError> {
    caller.require_operator()?;
    let (plugin, replaced) = crate::plugins::approve(&app, &id, query.force).await.map_err(plugin_error)?;
    super::audit::record(&app, &caller, None, "plugin.approve", &format!("{id} {}", plugin.version)).await;
    let status = if replaced { StatusCode::OK } else { StatusCode::CREATED };
    Ok((status, Json(plugin_view(&app, &plugin, caller.language).await?)))
}

/// Rejects a waiting upload: it is deleted.
#[utoipa::path(delete, path = "/plugin-reviews/{id}", tag = "plugins", params(("id" = String, Path, description = "the plugin")), responses((status = 204, description = "rejected and deleted")))]
pub async fn reject(caller: Caller, State(app): State<Arc<App>>, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    caller.require_operator()?;
    crate::plugins::reject(&app, &id).await.map_err(plugin_error)?;
    super::audit::record(&app, &caller, None, "plugin.reject", &id).await;
    Ok(StatusCode::NO_CONTENT)
}

/// A refusal decided before the body was read: the body is read first (and dropped, up to the
/// upload limit), so a client still sending hears the refusal rather than a reset connection.
async fn after_draining(body: Body, refusal: ApiError) -> ApiError {
    use futures_util::StreamExt;
    let mut body = body.into_data_stream();
    let mut read = 0;
    while let Some(Ok(chunk)) = body.next().await {
        read += chunk.len();
        if read > MAX_COMPONENT_BYTES {
            break;
        }
    }
    refusal
}

fn upload_error(error: UploadError) -> ApiError {
    let message = error.to_string();
    match error {
        UploadError::TooLarge(_) => ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", message),
        UploadError::Empty | UploadError::Body(_) => ApiError::bad_request(message),
        UploadError::Registry(error) => registry_error(error),
        UploadError::Io(_) => {
            tracing::error!("plugin upload: {message}");
            ApiError::unavailable("storage_unavailable", "the upload could not be written to the data dir")
        }
    }
}

/// `DELETE /api/v1/plugins/{id}` (operator): removes an installed plugin file; its channels stay,
/// shown as unavailable, until it is installed again.
#[utoipa::path(delete, path = "/plugins/{id}", tag = "plugins", params(("id" = String, Path, description = "the plugin")), responses((status = 204, description = "removed; its channels wait for it")))]
pub async fn remove(caller: Caller, State(app): State<Arc<App>>, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    caller.require_operator()?;
    crate::plugins::remove(&app, &id).await.map_err(plugin_error)?;
    super::audit::record(&app, &caller, None, "plugin.remove", &id).await;
    Ok(StatusCode::NO_CONTENT)
}

fn plugin_error(error: PluginError) -> ApiError {
    let message = error.to_string();
    match error {
        PluginError::Load(_) => ApiError::unprocessable("invalid_plugin", message),
        PluginError::Untrusted(_) => ApiError::unprocessable("untrusted_plugin", message),
        PluginError::Install(_) => ApiError::new(StatusCode::CONFLICT, "downgrade", message),
        PluginError::BuiltIn(_) => ApiError::new(StatusCode::CONFLICT, "built_in", message),
        PluginError::VersionTaken { .. } => ApiError::new(StatusCode::CONFLICT, "version_taken", message),
        PluginError::NotInstalled(_) | PluginError::NotPending(_) | PluginError::NotAnId(_) => ApiError::not_found(message),
        PluginError::Io(_) => {
            tracing::error!("plugin install: {message}");
            ApiError::unavailable("storage_unavailable", "the plugin could not be stored: try again")
        }
    }
}
