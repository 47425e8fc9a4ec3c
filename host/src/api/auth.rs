//! Bearer tokens and roles: no or unknown token -> 401, a role too low -> 403.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use super::ApiError;
use crate::app::App;
use crate::store::tokens::Role;

/// Who is calling.
#[derive(Debug, Clone, Copy)]
pub struct Caller {
    pub role: Role,
}

impl Caller {
    /// Admin-only actions: connect, change and disconnect channels, plugins, templates, tokens.
    pub fn require_admin(&self) -> Result<(), ApiError> {
        if self.role == Role::Admin {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!("this needs the admin role; your token is {}", self.role.as_str())))
        }
    }
}

impl FromRequestParts<Arc<App>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .ok_or_else(|| ApiError::unauthorized("send `Authorization: Bearer <token>` (create one with `switchboard token create --role ROLE`)"))?;
        let token = header
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| ApiError::unauthorized("the Authorization header must be `Bearer <token>`"))?;
        match app.db.token_role(token)? {
            Some(role) => Ok(Caller { role }),
            None => Err(ApiError::unauthorized("unknown or revoked token")),
        }
    }
}

/// `GET /api/v1/me`: the role of the presented token (the admin pages show what it may do).
pub async fn me(caller: Caller) -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({ "role": caller.role }))
}
