//! Workspaces, for the operator: `GET/POST /api/v1/workspaces`, `GET/PATCH/DELETE
//! /api/v1/workspaces/{id}`. A suspended workspace keeps receiving (webhooks are stored) but
//! nobody of it signs in and nothing is sent; deleting one takes everything in it and needs
//! its name typed again (`?confirm=<name>`), as the admin pages ask.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;

use super::settings::name_problem;
use super::{ApiError, ApiJson, Caller};
use crate::app::App;
use crate::store::{Scope, StoreError, now_ms};
use crate::store::model::Workspace;

#[derive(utoipa::ToSchema, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewWorkspace {
    name: Option<String>,
}

#[derive(utoipa::ToSchema, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangeWorkspace {
    name: Option<String>,
    /// `active` or `suspended`.
    status: Option<String>,
}

#[derive(utoipa::IntoParams, Deserialize)]
#[into_params(parameter_in = Query)]
pub struct DeleteQuery {
    confirm: Option<String>,
}

fn checked_name(name: Option<&str>) -> Result<String, ApiError> {
    let name = name.map(str::trim).unwrap_or_default();
    match name_problem(name) {
        Some(problem) => Err(ApiError::invalid_fields(BTreeMap::from([("name".to_owned(), problem)]))),
        None => Ok(name.to_owned()),
    }
}

async fn find(app: &App, id: i64) -> Result<Workspace, ApiError> {
    app.store.workspace(id).await?.ok_or_else(|| ApiError::not_found(format!("no workspace {id}")))
}

#[utoipa::path(get, path = "/workspaces", tag = "workspaces", responses((status = 200, body = Vec<Workspace>)))]
pub async fn list(caller: Caller, State(app): State<Arc<App>>) -> Result<Json<Vec<Workspace>>, ApiError> {
    caller.require_operator()?;
    Ok(Json(app.store.workspaces().await?))
}

#[utoipa::path(get, path = "/workspaces/{id}", tag = "workspaces", params(("id" = i64, Path, description = "the workspace")), responses((status = 200, body = Workspace)))]
pub async fn show(caller: Caller, State(app): State<Arc<App>>, Path(id): Path<i64>) -> Result<Json<Workspace>, ApiError> {
    caller.require_operator()?;
    Ok(Json(find(&app, id).await?))
}

#[utoipa::path(post, path = "/workspaces", tag = "workspaces", request_body = NewWorkspace, responses((status = 201, body = Workspace)))]
pub async fn create(caller: Caller, State(app): State<Arc<App>>, ApiJson(body): ApiJson<NewWorkspace>) -> Result<(StatusCode, Json<Workspace>), ApiError> {
    caller.require_operator()?;
    let name = checked_name(body.name.as_deref())?;
    let workspace = app.store.create_workspace(&name).await?;
    tracing::info!(workspace = workspace.id, "workspace created");
    super::audit::record(&app, &caller, None, "workspace.create", &format!("{} {}", workspace.id, workspace.name)).await;
    Ok((StatusCode::CREATED, Json(workspace)))
}

#[utoipa::path(patch, path = "/workspaces/{id}", tag = "workspaces", params(("id" = i64, Path, description = "the workspace")), request_body = ChangeWorkspace, responses((status = 200, body = Workspace)))]
pub async fn update(
    caller: Caller,
    State(app): State<Arc<App>>,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<ChangeWorkspace>,
) -> Result<Json<Workspace>, ApiError> {
    caller.require_operator()?;
    find(&app, id).await?;
    let name = match &body.name {
        Some(name) => Some(checked_name(Some(name))?),
        None => None,
    };
    let suspended = match body.status.as_deref() {
        None => None,
        Some("active") => Some(false),
        Some("suspended") => Some(true),
        Some(other) => {
            let problem = format!("must be `active` or `suspended`, not `{other}`");
            return Err(ApiError::invalid_fields(BTreeMap::from([("status".to_owned(), problem)])));
        }
    };
    app.store.update_workspace(id, name.as_deref(), suspended).await?;
    if suspended == Some(false) {
        // What was queued while suspended goes out now.
        app.store.release_held_deliveries(id).await?;
        app.outbox_wake.notify_one();
    }
    tracing::info!(workspace = id, status = ?body.status, "workspace changed");
    let action = match suspended {
        Some(true) => "workspace.suspend",
        Some(false) => "workspace.resume",
        None => "workspace.rename",
    };
    super::audit::record(&app, &caller, None, action, &id.to_string()).await;
    Ok(Json(find(&app, id).await?))
}

/// How long a workspace's deletion waits before it goes again, while a channel of it connects.
const DELETE_RETRY: std::time::Duration = std::time::Duration::from_millis(250);

#[utoipa::path(delete, path = "/workspaces/{id}", tag = "workspaces", params(("id" = i64, Path, description = "the workspace"), DeleteQuery), responses((status = 204, description = "deleted with everything in it")))]
pub async fn delete(
    caller: Caller,
    State(app): State<Arc<App>>,
    Path(id): Path<i64>,
    Query(query): Query<DeleteQuery>,
) -> Result<StatusCode, ApiError> {
    caller.require_operator()?;
    let workspace = find(&app, id).await?;
    if query.confirm.as_deref().map(str::trim) != Some(workspace.name.as_str()) {
        let problem = format!("type the workspace's name (`{}`) to delete it with its {} channel(s) and everything in them", workspace.name, workspace.channels);
        return Err(ApiError::invalid_fields(BTreeMap::from([("confirm".to_owned(), problem)])));
    }
    // Its channels are disconnected at their providers first, as deleting each would (all at
    // once: each waits on its own provider, bounded by the plugin call limit). The deletion
    // refuses while a channel is connecting, or was connected or changed since: those are torn
    // down too once connected, and it goes again, until twice the plugin call limit has passed.
    // (A channel still connecting keeps its state until then, which its disconnect needs.)
    let connect_limit = app.runtime.call_timeout() * 2;
    let (started, connecting_since) = (tokio::time::Instant::now(), now_ms() - connect_limit.as_millis() as i64);
    let mut torn_down: Vec<(String, i64)> = Vec::new();
    loop {
        let channels = app.store.channels(Scope::Workspace(id)).await?;
        let new: Vec<_> = channels.iter().filter(|channel| !torn_down.contains(&(channel.id.clone(), channel.updated_at))).collect();
        futures_util::future::join_all(new.iter().map(|channel| super::channels::tear_down(&app, channel))).await;
        torn_down.extend(new.into_iter().map(|channel| (channel.id.clone(), channel.updated_at)));
        match app.store.delete_workspace(id, &torn_down, connecting_since).await {
            Err(StoreError::ChangedMeanwhile) if started.elapsed() < connect_limit => tokio::time::sleep(DELETE_RETRY).await,
            Err(StoreError::ChangedMeanwhile) => {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "channels_connecting",
                    "channels of this workspace kept being connected while it was deleted; those disconnected already are listed until it is: delete it again",
                ));
            }
            outcome => {
                outcome?;
                break;
            }
        }
    }
    app.media.sweep().await;
    super::audit::record(&app, &caller, None, "workspace.delete", &format!("{id} {}", workspace.name)).await;
    tracing::warn!(workspace = id, channels = workspace.channels, "workspace deleted with everything in it");
    Ok(StatusCode::NO_CONTENT)
}
