//! The audit log as the API records and serves it: each route that changes the installation or
//! a workspace records one entry once it succeeded (`record`); `GET /api/v1/audit` reads them,
//! an admin their workspace's, the operator everyone's (or one workspace's with `X-Workspace`).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Query, State};
use serde::Deserialize;

use super::{ApiError, Caller};
use crate::app::App;
use crate::store::audit::{AuditEntry, NewAuditEntry};

/// Records what `caller` did. A failure to record is logged, not answered: the action itself
/// already happened.
pub async fn record(app: &App, caller: &Caller, workspace: Option<i64>, action: &str, target: &str) {
    let actor = match (caller.person, caller.token) {
        (Some(id), _) => match app.store.person(id).await {
            Ok(Some(person)) => format!("person {id} {}", person.username),
            _ => format!("person {id}"),
        },
        (None, Some(token)) => format!("{} token {token}", caller.role.as_str()),
        (None, None) => caller.role.as_str().to_owned(),
    };
    let address = caller.address.map(|a| a.to_string());
    write(app, NewAuditEntry { workspace_id: workspace, actor: &actor, address: address.as_deref(), action, target: Some(target), detail: None }).await;
}

/// Records an entry made outside a signed-in request (sign-in attempts).
pub async fn write(app: &App, entry: NewAuditEntry<'_>) {
    if let Err(error) = app.store.record_audit(entry).await {
        tracing::error!("the audit log could not be written: {error}");
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Entries older than this id (paging).
    before: Option<i64>,
    /// At most this many (default 100, at most 1000).
    limit: Option<u32>,
}

/// Who did what, when, from where: newest first.
#[utoipa::path(get, path = "/audit", tag = "audit", params(AuditQuery), responses((status = 200, body = Vec<AuditEntry>)))]
pub async fn list(caller: Caller, State(app): State<Arc<App>>, Query(query): Query<AuditQuery>) -> Result<Json<Vec<AuditEntry>>, ApiError> {
    caller.require_admin()?;
    let limit = query.limit.unwrap_or(100).clamp(1, 1000);
    Ok(Json(app.store.audit_log(caller.filter(), query.before, limit).await?))
}
