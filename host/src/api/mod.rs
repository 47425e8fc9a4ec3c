//! The HTTP API: admin and inbox routes under `/api/v1` (bearer tokens with roles), webhook
//! ingress under `/webhooks`, the website chat's widget and visitor API under `/webchat`,
//! and `/healthz`. Every error is one JSON shape (`ApiError`).

mod auth;
mod channels;
mod error;
mod inbox;
mod oauth;
pub mod people;
mod plugins;
mod provider_apps;
pub(crate) mod settings;
mod templates;
mod webchat;
mod workspaces;
pub(crate) mod webhooks;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, patch, post};

use crate::app::App;

pub use auth::Caller;
pub use error::{ApiError, ApiJson};

/// Largest component accepted by upload.
const MAX_COMPONENT_BYTES: usize = 64 << 20;

/// What webhooks may carry at least (axum's default); relayed mail may be larger.
const MIN_WEBHOOK_BYTES: usize = 2 << 20;

pub fn router(app: Arc<App>) -> Router {
    let webhook_limit = DefaultBodyLimit::max(app.max_mail_bytes.max(MIN_WEBHOOK_BYTES));
    let api = Router::new()
        .route("/me", get(auth::me))
        .route("/me/password", axum::routing::put(people::change_password))
        .route("/session", post(people::sign_in).delete(people::sign_out))
        .route("/invitations/{token}", get(people::show_invitation).post(people::accept_invitation))
        .route("/people", get(people::list).post(people::invite))
        .route("/people/{id}", patch(people::update))
        .route("/people/{id}/invitation", post(people::reset))
        .route("/tokens", get(people::tokens).post(people::create_token))
        .route("/tokens/{id}", axum::routing::delete(people::revoke_token))
        .route("/workspaces", get(workspaces::list).post(workspaces::create))
        .route("/workspaces/{id}", get(workspaces::show).patch(workspaces::update).delete(workspaces::delete))
        .route("/plugins", get(plugins::list).post(plugins::install).layer(DefaultBodyLimit::max(MAX_COMPONENT_BYTES)))
        .route("/plugins/{id}", axum::routing::delete(plugins::remove))
        .route("/plugins/{id}/app", get(provider_apps::show).put(provider_apps::set).delete(provider_apps::remove))
        .route("/channels", get(channels::list).post(channels::create))
        .route("/channels/{id}", get(channels::show).patch(channels::update).delete(channels::delete))
        .route("/channels/{id}/templates", get(templates::list).post(templates::create))
        .route("/channels/{id}/templates/{name}", patch(templates::switch).delete(templates::delete))
        .route("/conversations", get(inbox::conversations))
        .route("/conversations/{id}", get(inbox::conversation).patch(inbox::update_conversation))
        .route("/conversations/{id}/messages", get(inbox::messages).post(inbox::send))
        .route("/oauth/{plugin}/start", post(oauth::start))
        .route("/oauth/flows/{state}", get(oauth::show))
        .route("/oauth/flows/{state}/connect", post(oauth::connect));
    Router::new()
        .merge(crate::admin::routes())
        .route("/healthz", get(|| async { "ok" }))
        .nest("/api/v1", api)
        .route(oauth::CALLBACK_PATH, get(oauth::callback))
        .route("/webhooks/apps/{plugin}", post(webhooks::receive_app).get(webhooks::receive_app).layer(webhook_limit.clone()))
        .route("/webhooks/{channel_id}", post(webhooks::receive).get(webhooks::receive).layer(webhook_limit.clone()))
        .route("/webhooks/{channel_id}/{*rest}", post(webhooks::receive).get(webhooks::receive).layer(webhook_limit))
        .merge(webchat::routes(app.clone()))
        .fallback(|| async { ApiError::not_found("no such route") })
        .with_state(app)
}
