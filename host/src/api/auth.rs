//! Bearer tokens, roles and workspaces: no or unknown token -> 401, a role too low -> 403,
//! another workspace's ids -> 404 (as if they did not exist).
//!
//! The operator acts on the whole installation; to act inside one workspace (connect a channel
//! there, read its inbox only) it names it with the `X-Workspace: <id>` header. A header is
//! used rather than a path prefix so every workspace route stays one route for all roles.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::StatusCode;

use super::ApiError;
use crate::app::App;
use crate::store::tokens::Role;

/// The header the operator names a workspace with.
pub const WORKSPACE_HEADER: &str = "x-workspace";

/// Who is calling, and in which workspace.
#[derive(Debug, Clone, Copy)]
pub struct Caller {
    pub role: Role,
    /// The caller's workspace; for the operator, the one named by `X-Workspace`, if any.
    pub workspace: Option<i64>,
}

impl Caller {
    /// Workspace admin actions: connect, change and disconnect channels, templates. The
    /// operator may do them too.
    pub fn require_admin(&self) -> Result<(), ApiError> {
        if matches!(self.role, Role::Admin | Role::Operator) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!("this needs the admin role; your token is {}", self.role.as_str())))
        }
    }

    /// The installation's actions: plugins, workspaces, provider apps.
    pub fn require_operator(&self) -> Result<(), ApiError> {
        if self.role == Role::Operator {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!("this needs the operator role; your token is {}", self.role.as_str())))
        }
    }

    /// Whether the caller may see what belongs to `workspace` (else: 404).
    pub fn sees(&self, workspace: i64) -> bool {
        match (self.role, self.workspace) {
            (Role::Operator, None) => true,
            (_, mine) => mine == Some(workspace),
        }
    }

    /// The workspace what the caller creates goes to.
    pub fn target_workspace(&self) -> Result<i64, ApiError> {
        self.workspace.ok_or_else(|| {
            ApiError::unprocessable("workspace_required", "name the workspace to act in with the `X-Workspace: <id>` header")
        })
    }

    /// Only this workspace's rows (`None`: every workspace, for the operator without a header).
    pub fn filter(&self) -> Option<i64> {
        self.workspace
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
        let owner = app.db.token_owner(token)?.ok_or_else(|| ApiError::unauthorized("unknown or revoked token"))?;
        if owner.suspended {
            return Err(ApiError::new(StatusCode::FORBIDDEN, "workspace_suspended", "this workspace is suspended by the operator"));
        }
        let named = match parts.headers.get(WORKSPACE_HEADER) {
            None => None,
            Some(value) => {
                let id = value.to_str().ok().and_then(|v| v.trim().parse::<i64>().ok());
                let id = id.ok_or_else(|| ApiError::bad_request("`X-Workspace` must be a workspace id (a number)"))?;
                Some(id)
            }
        };
        let workspace = match (owner.role, named) {
            (Role::Operator, Some(id)) => {
                app.db.workspace(id)?.ok_or_else(|| ApiError::not_found(format!("no workspace {id}")))?;
                Some(id)
            }
            (Role::Operator, None) => None,
            // Everyone else works in their own workspace; naming another one finds nothing.
            (_, Some(id)) if Some(id) != owner.workspace => return Err(ApiError::not_found(format!("no workspace {id}"))),
            (_, _) => owner.workspace,
        };
        Ok(Caller { role: owner.role, workspace })
    }
}

/// `GET /api/v1/me`: the role (and workspace) of the presented token.
pub async fn me(caller: Caller) -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({ "role": caller.role, "workspace": caller.workspace }))
}
