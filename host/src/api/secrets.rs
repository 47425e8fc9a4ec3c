//! `POST /api/v1/secrets/rotate` (operator): a new secret key for the sealed values, while
//! serving (see `store::rotation`). Requests keep working throughout.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use serde::Serialize;

use super::{ApiError, Caller};
use crate::app::App;

/// Writes that raced the swap are sealed again after this long.
const STRAGGLER_DELAY: Duration = Duration::from_secs(1);

#[derive(Serialize, utoipa::ToSchema)]
pub struct Rotated {
    /// Sealed values sealed again under the new key.
    resealed: usize,
}

/// Rotates the secret key: every sealed value (channel settings, plugin state, login flows,
/// provider apps, webhook secrets) is sealed again under a new key; the old key file is gone.
#[utoipa::path(post, path = "/secrets/rotate", tag = "secrets", responses((status = 200, body = Rotated)))]
pub async fn rotate(caller: Caller, State(app): State<Arc<App>>) -> Result<Json<Rotated>, ApiError> {
    caller.require_operator()?;
    let Some(db) = app.backend.sqlite().cloned() else {
        // Every node holds the key in its own data dir: they would have to switch at once.
        let message = "rotating the secret key is not supported on several nodes (Postgres) yet: every node would need the new key at the same moment";
        return Err(ApiError::new(axum::http::StatusCode::CONFLICT, "not_across_nodes", message));
    };
    let data_dir = app.data_dir.clone();
    let worker = db.clone();
    let resealed = tokio::task::spawn_blocking(move || worker.rotate_secrets(&data_dir))
        .await
        .map_err(|_| ApiError::unavailable("busy", "the rotation was interrupted; try again"))?
        .map_err(|e| {
            tracing::error!("secret-key rotation failed: {e:#}");
            ApiError::unavailable("rotation_failed", format!("the key was not rotated: {e}"))
        })?;
    tokio::time::sleep(STRAGGLER_DELAY).await;
    let stragglers = db.reseal_stragglers()?;
    super::audit::record(&app, &caller, None, "secrets.rotate", &format!("{} values", resealed + stragglers)).await;
    Ok(Json(Rotated { resealed: resealed + stragglers }))
}
