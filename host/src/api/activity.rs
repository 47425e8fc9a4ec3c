//! Activity and health as figures: `GET /api/v1/activity` (a workspace's messages per channel
//! per day, delivery failures by reason, people's median first-response and resolution times)
//! and `GET /api/v1/operations` (the operator's: each plugin's calls, errors and latency on this
//! node, each workspace's messages per day), each also as CSV tables for a spreadsheet. The
//! pages draw them (`admin/js/pages/activity.js`, `operations.js`).

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};

use super::{ApiError, Caller};
use crate::app::App;
use crate::metrics::PluginCalls;
use crate::store::model::{Activity, MAX_DAYS, Role, Window, WorkspaceVolume};
use crate::store::now_ms;

/// Which days: the last `days` calendar days (today included) at the reader's offset.
#[derive(Deserialize, utoipa::IntoParams, Clone, Copy)]
#[into_params(parameter_in = Query)]
pub struct WindowQuery {
    /// How many days, today included (default 30, 1 to 366).
    days: Option<u32>,
    /// The reader's offset from UTC in minutes east (Jakarta: 420; what a page computes as
    /// `-new Date().getTimezoneOffset()`), default 0: days start at midnight there.
    utc_offset: Option<i32>,
}

impl WindowQuery {
    fn window(self) -> Result<Window, ApiError> {
        let days = self.days.unwrap_or(30);
        let offset = self.utc_offset.unwrap_or(0);
        let mut problems = std::collections::BTreeMap::new();
        if !(1..=MAX_DAYS).contains(&days) {
            problems.insert("days".to_owned(), format!("must be 1 to {MAX_DAYS}, not {days}"));
        }
        // Every offset in use lies within UTC-12 and UTC+14.
        if !(-720..=840).contains(&offset) {
            problems.insert("utc_offset".to_owned(), format!("must be minutes east of UTC, -720 to 840, not {offset}"));
        }
        if !problems.is_empty() {
            return Err(ApiError::invalid_fields(problems));
        }
        Ok(Window::ending_at(now_ms(), days, offset))
    }
}

fn require_supervisor(caller: &Caller) -> Result<i64, ApiError> {
    if caller.role < Role::Supervisor {
        return Err(ApiError::forbidden(format!("this needs the supervisor or admin role; your token is {}", caller.role.as_str())));
    }
    caller.target_workspace()
}

/// The workspace's figures over the window.
#[utoipa::path(get, path = "/activity", tag = "activity", params(WindowQuery), responses((status = 200, body = Activity)))]
pub async fn workspace(caller: Caller, State(app): State<Arc<App>>, Query(query): Query<WindowQuery>) -> Result<Json<Activity>, ApiError> {
    let workspace = require_supervisor(&caller)?;
    Ok(Json(app.store.activity(workspace, query.window()?).await?))
}

/// One of the workspace's figures as CSV: `messages.csv` (day, channel_id, channel_name,
/// plugin, received, sent), `failures.csv` (reason, count) or `agents.csv` (person_id, name,
/// first_responses, median_first_response_seconds, resolutions, median_resolution_seconds).
#[utoipa::path(get, path = "/activity/{table}", tag = "activity", params(("table" = String, Path, description = "messages.csv, failures.csv or agents.csv"), WindowQuery), responses((status = 200, content_type = "text/csv", body = String)))]
pub async fn workspace_csv(caller: Caller, State(app): State<Arc<App>>, Path(table): Path<String>, Query(query): Query<WindowQuery>) -> Result<Response, ApiError> {
    let workspace = require_supervisor(&caller)?;
    let window = query.window()?;
    if !["messages.csv", "failures.csv", "agents.csv"].contains(&table.as_str()) {
        return Err(ApiError::not_found(format!("no table `{table}`: there are messages.csv, failures.csv and agents.csv")));
    }
    let activity = app.store.activity(workspace, window).await?;
    let mut csv = Csv::new();
    match table.as_str() {
        "messages.csv" => {
            csv.row(["day", "channel_id", "channel_name", "plugin", "received", "sent"]);
            for (i, day) in activity.days.iter().enumerate() {
                for channel in &activity.channels {
                    csv.row([day, &channel.id, &channel.name, &channel.plugin, &channel.received[i].to_string(), &channel.sent[i].to_string()]);
                }
            }
        }
        "failures.csv" => {
            csv.row(["reason", "count"]);
            for failure in &activity.failures {
                csv.row([failure.reason.clone(), failure.count.to_string()]);
            }
        }
        _ => {
            csv.row(["person_id", "name", "first_responses", "median_first_response_seconds", "resolutions", "median_resolution_seconds"]);
            let figure = |value: Option<f64>| value.map(|v| v.to_string()).unwrap_or_default();
            for agent in &activity.agents {
                csv.row([
                    agent.person_id.map(|id| id.to_string()).unwrap_or_default(),
                    agent.name.clone().unwrap_or_default(),
                    agent.first_response.conversations.to_string(),
                    figure(agent.first_response.median_seconds),
                    agent.resolution.conversations.to_string(),
                    figure(agent.resolution.median_seconds),
                ]);
            }
        }
    }
    Ok(csv.answer(&table))
}

/// The installation's figures: plugins on this node since it started, workspaces' volume.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Operations {
    /// When this node started counting plugin calls (RFC 3339): the plugin figures are this
    /// node's since then, each latency over its latest 1024 calls.
    since: String,
    plugins: Vec<PluginCalls>,
    days: Vec<String>,
    utc_offset: i32,
    workspaces: Vec<WorkspaceVolume>,
}

async fn operations_of(app: &App, caller: &Caller, query: WindowQuery) -> Result<Operations, ApiError> {
    caller.require_operator()?;
    let window = query.window()?;
    let workspaces = app.store.workspace_volume(window).await?;
    let since = jiff::Timestamp::from_millisecond(app.metrics.since_ms()).map(|at| at.to_string()).unwrap_or_default();
    Ok(Operations { since, plugins: app.metrics.plugin_calls(), days: window.labels(), utc_offset: window.utc_offset_minutes, workspaces })
}

/// The operator's figures.
#[utoipa::path(get, path = "/operations", tag = "activity", params(WindowQuery), responses((status = 200, body = Operations)))]
pub async fn operations(caller: Caller, State(app): State<Arc<App>>, Query(query): Query<WindowQuery>) -> Result<Json<Operations>, ApiError> {
    Ok(Json(operations_of(&app, &caller, query).await?))
}

/// One of the operator's figures as CSV: `plugins.csv` (plugin, calls, errors, median_ms,
/// p95_ms) or `workspaces.csv` (day, workspace_id, workspace_name, received, sent).
#[utoipa::path(get, path = "/operations/{table}", tag = "activity", params(("table" = String, Path, description = "plugins.csv or workspaces.csv"), WindowQuery), responses((status = 200, content_type = "text/csv", body = String)))]
pub async fn operations_csv(caller: Caller, State(app): State<Arc<App>>, Path(table): Path<String>, Query(query): Query<WindowQuery>) -> Result<Response, ApiError> {
    let figures = operations_of(&app, &caller, query).await?;
    let mut csv = Csv::new();
    match table.as_str() {
        "plugins.csv" => {
            csv.row(["plugin", "calls", "errors", "median_ms", "p95_ms"]);
            let ms = |value: Option<f64>| value.map(|v| format!("{v:.3}")).unwrap_or_default();
            for plugin in &figures.plugins {
                csv.row([plugin.plugin.clone(), plugin.calls.to_string(), plugin.errors.to_string(), ms(plugin.median_ms), ms(plugin.p95_ms)]);
            }
        }
        "workspaces.csv" => {
            csv.row(["day", "workspace_id", "workspace_name", "received", "sent"]);
            for (i, day) in figures.days.iter().enumerate() {
                for workspace in &figures.workspaces {
                    csv.row([day, &workspace.id.to_string(), &workspace.name, &workspace.received[i].to_string(), &workspace.sent[i].to_string()]);
                }
            }
        }
        _ => return Err(ApiError::not_found(format!("no table `{table}`: there are plugins.csv and workspaces.csv"))),
    }
    Ok(csv.answer(&table))
}

/// A CSV table written with the `csv` crate (quoting as RFC 4180), answered as a download.
struct Csv(csv::Writer<Vec<u8>>);

impl Csv {
    fn new() -> Self {
        Self(csv::Writer::from_writer(Vec::new()))
    }

    fn row<I: IntoIterator<Item = T>, T: AsRef<[u8]>>(&mut self, fields: I) {
        // Writing to memory cannot fail.
        let _ = self.0.write_record(fields);
    }

    fn answer(self, name: &str) -> Response {
        let bytes = self.0.into_inner().unwrap_or_default();
        (
            [(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()), (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\""))],
            bytes,
        )
            .into_response()
    }
}
