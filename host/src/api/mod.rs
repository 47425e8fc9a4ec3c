//! The HTTP API: admin and inbox routes under `/api/v1` (bearer tokens with roles), webhook
//! ingress under `/webhooks`, the website chat's widget and visitor API under `/webchat`,
//! `/healthz` (the process answers) and `/readyz` (ready for traffic). Every error is one JSON
//! shape (`ApiError`), axum's own rejections included (`error::json_shaped`, in `edge`).

mod activity;
mod audit;
mod auth;
mod bad_input;
mod channels;
mod edge;
mod error;
mod events;
mod guide;
mod inbox;
mod language;
mod messages;
mod media;
mod oauth;
mod openapi;
pub mod people;
mod plugins;
mod provider_apps;
mod secrets;
pub(crate) mod settings;
mod templates;
mod unread_body;
mod webchat;
mod workspaces;
pub(crate) mod webhooks;
mod webhook_endpoints;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnFailure, DefaultOnResponse, TraceLayer};
use tracing::Level;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::App;

pub use auth::Caller;
pub use error::{ApiError, ApiJson};

/// Largest component accepted by upload.
const MAX_COMPONENT_BYTES: usize = 64 << 20;

/// What webhooks may carry at least (axum's default); relayed mail may be larger.
const MIN_WEBHOOK_BYTES: usize = 2 << 20;

/// 200 once plugins are loaded, the workers run and the database takes writes; else 503 with
/// what is not ready, by part, in `fields`.
async fn ready(axum::extract::State(app): axum::extract::State<Arc<App>>) -> Result<axum::Json<serde_json::Value>, ApiError> {
    let mut problems: std::collections::BTreeMap<String, String> =
        app.health.problems().into_iter().map(|(part, why)| (part.to_owned(), why.to_owned())).collect();
    if let Err(error) = app.store.check_writable().await {
        problems.insert("database".into(), format!("does not take writes: {error}"));
    }
    if problems.is_empty() {
        return Ok(axum::Json(serde_json::json!({"ready": true})));
    }
    let parts: Vec<&str> = problems.keys().map(String::as_str).collect();
    let message = format!("not ready: {}", parts.join(", "));
    Err(ApiError { fields: problems, ..ApiError::unavailable("not_ready", message) })
}

/// Prometheus text. Open like `/healthz`: it holds counts, no data of any workspace; keep the
/// port off the internet or filter `/metrics` at the proxy.
async fn metrics(axum::extract::State(app): axum::extract::State<Arc<App>>) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let outbox = app.store.outbox_summary().await?;
    let text = app.metrics.render(outbox, crate::store::now_ms(), app.live.followers());
    Ok(([(axum::http::header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], text).into_response())
}

/// The OpenAPI document of the routes `router` serves under `/api/v1`.
pub fn openapi_document() -> String {
    let (_, doc) = documented_routes().split_for_parts();
    openapi::with_webhooks(&openapi::finish(doc))
}

/// Every route under `/api/v1`, each registered with its OpenAPI operation.
fn documented_routes() -> OpenApiRouter<Arc<App>> {
    OpenApiRouter::with_openapi(openapi::base()).nest(
        "/api/v1",
    OpenApiRouter::new()
        .routes(routes!(auth::me))
        .routes(routes!(audit::list))
        .routes(routes!(activity::workspace))
        .routes(routes!(activity::workspace_csv))
        .routes(routes!(activity::operations))
        .routes(routes!(activity::operations_csv))
        .routes(routes!(secrets::rotate))
        .routes(routes!(people::change_password))
        .routes(routes!(people::choose_language))
        .routes(routes!(people::sign_in, people::sign_out))
        .routes(routes!(people::show_invitation, people::accept_invitation))
        .routes(routes!(people::list, people::invite))
        .routes(routes!(people::update))
        .routes(routes!(people::reset))
        .routes(routes!(people::tokens, people::create_token))
        .routes(routes!(people::revoke_token))
        .routes(routes!(workspaces::list, workspaces::create))
        .routes(routes!(workspaces::show, workspaces::update, workspaces::delete))
        .routes(routes!(plugins::list, plugins::install))
        .routes(routes!(plugins::remove))
        .routes(routes!(plugins::reviews))
        .routes(routes!(plugins::approve))
        .routes(routes!(plugins::reject))
        .routes(routes!(plugins::catalogue))
        .routes(routes!(provider_apps::show, provider_apps::set, provider_apps::remove))
        .routes(routes!(channels::list, channels::create))
        .routes(routes!(channels::show, channels::update, channels::delete))
        .routes(routes!(templates::list, templates::create))
        .routes(routes!(templates::switch, templates::delete))
        .routes(routes!(inbox::conversations))
        .routes(routes!(inbox::conversation, inbox::update_conversation))
        .routes(routes!(inbox::messages, inbox::send))
        .routes(routes!(inbox::mark_read))
        .routes(routes!(media::upload))
        .routes(routes!(media::download))
        .routes(routes!(events::stream))
        .routes(routes!(oauth::start))
        .routes(routes!(oauth::show))
        .routes(routes!(oauth::connect))
        .routes(routes!(webhook_endpoints::list, webhook_endpoints::create))
        .routes(routes!(webhook_endpoints::show, webhook_endpoints::update, webhook_endpoints::delete))
        .routes(routes!(webhook_endpoints::rotate_secret))
        .routes(routes!(webhook_endpoints::ping))
        .routes(routes!(webhook_endpoints::deliveries))
        .routes(routes!(webhook_endpoints::redeliver)),
    )
}

pub fn router(app: Arc<App>) -> Router {
    let webhook_limit = DefaultBodyLimit::max(app.max_mail_bytes.max(MIN_WEBHOOK_BYTES));
    let (api, doc) = documented_routes().split_for_parts();
    let doc = Arc::new(openapi::with_webhooks(&openapi::finish(doc)));
    Router::new()
        .merge(crate::admin::routes())
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .route("/metrics", get(metrics))
        .merge(api)
        .route("/api/v1/openapi.json", get(move || async move { openapi::json(&doc) }))
        .route("/api/v1/docs", get(|| async { openapi::docs_page() }))
        .route(oauth::CALLBACK_PATH, get(oauth::callback))
        // Providers download agents' files here, by signed link (no session).
        .route("/media/{channel_id}/{id}/{expires}/{signature}/{name}", get(media::linked))
        .route("/webhooks/apps/{plugin}", post(webhooks::receive_app).get(webhooks::receive_app).layer(webhook_limit.clone()))
        .route("/webhooks/{channel_id}", post(webhooks::receive).get(webhooks::receive).layer(webhook_limit.clone()))
        .route("/webhooks/{channel_id}/{*rest}", post(webhooks::receive).get(webhooks::receive).layer(webhook_limit))
        .merge(webchat::routes(app.clone()))
        .fallback(|| async { ApiError::not_found("no such route") })
        .layer(axum::middleware::from_fn(edge::around_every_request))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(TraceLayer::new_for_http().make_span_with(request_span).on_request(()).on_response(DefaultOnResponse::new().level(Level::DEBUG)).on_failure(DefaultOnFailure::new().level(Level::DEBUG)))
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(app)
}

/// Every log line of a request carries its id (the caller's `x-request-id`, else a new UUID,
/// echoed in the answer). The route's pattern stands for the path: paths can hold secrets
/// (invitation tokens, login states).
fn request_span(request: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    let id = request.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let route = request.extensions().get::<axum::extract::MatchedPath>().map_or("(no route)", |p| p.as_str());
    tracing::info_span!("request", request_id = %id, method = %request.method(), route = %route)
}
