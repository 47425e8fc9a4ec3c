//! The HTTP API: admin and inbox routes under `/api/v1` (bearer tokens with roles), webhook
//! ingress under `/webhooks`, the website chat's widget and visitor API under `/webchat`,
//! and `/healthz`. Every error is one JSON shape (`ApiError`).

mod auth;
mod channels;
mod error;
mod inbox;
mod plugins;
pub(crate) mod settings;
mod webchat;
mod webhooks;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};

use crate::app::App;

pub use auth::Caller;
pub use error::{ApiError, ApiJson};

/// Largest component accepted by upload.
const MAX_COMPONENT_BYTES: usize = 64 << 20;

pub fn router(app: Arc<App>) -> Router {
    let api = Router::new()
        .route("/plugins", get(plugins::list).post(plugins::install).layer(DefaultBodyLimit::max(MAX_COMPONENT_BYTES)))
        .route("/plugins/{id}", axum::routing::delete(plugins::remove))
        .route("/channels", get(channels::list).post(channels::create))
        .route("/channels/{id}", get(channels::show).patch(channels::update).delete(channels::delete))
        .route("/conversations", get(inbox::conversations))
        .route("/conversations/{id}", get(inbox::conversation))
        .route("/conversations/{id}/messages", get(inbox::messages).post(inbox::send));
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .nest("/api/v1", api)
        .route("/webhooks/{channel_id}", post(webhooks::receive).get(webhooks::receive))
        .route("/webhooks/{channel_id}/{*rest}", post(webhooks::receive).get(webhooks::receive))
        .merge(webchat::routes(app.clone()))
        .fallback(|| async { ApiError::not_found("no such route") })
        .with_state(app)
}
