//! `POST /api/v1/secrets/rotate` (operator): a new secret key for the sealed values, while
//! serving (see `store::rotation`). Requests keep working throughout.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde::Serialize;

use super::{ApiError, Caller};
use crate::app::App;

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
    use crate::deployment::RotationRefused;
    let resealed = app.deployment.key_rotation.rotate(&app.data_dir).await.map_err(|refused| match refused {
        RotationRefused::NotAcrossNodes => {
            let message = "rotating the secret key is not supported on several nodes (Postgres) yet: every node would need the new key at the same moment";
            ApiError::new(axum::http::StatusCode::CONFLICT, "not_across_nodes", message)
        }
        RotationRefused::Failed(reason) => {
            tracing::error!("secret-key rotation failed: {reason}");
            ApiError::unavailable("rotation_failed", format!("the key was not rotated: {reason}"))
        }
    })?;
    super::audit::record(&app, &caller, None, "secrets.rotate", &format!("{resealed} values")).await;
    Ok(Json(Rotated { resealed }))
}
