//! Activity figures (see `store::activity`, where the SQL is): one body for both backends.

use crate::store::activity;
use crate::store::model::{Activity, ActivityRows, Window, WorkspaceVolume};
use crate::store::row::ReadRow;
use crate::store::StoreResult;
use crate::store::sql::{RunSql, body};

#[async_trait::async_trait]
pub trait ActivityStore: Send + Sync {
    /// A workspace's messages per channel and day, failures by reason, people's times.
    async fn activity(&self, workspace_id: i64, window: Window) -> StoreResult<Activity>;
    /// Every workspace's messages per day (the operator's figures).
    async fn workspace_volume(&self, window: Window) -> StoreResult<Vec<WorkspaceVolume>>;
}

#[async_trait::async_trait]
impl<S: RunSql> ActivityStore for S {
    async fn activity(&self, workspace_id: i64, window: Window) -> StoreResult<Activity> {
        self.read(body(move |sql| {
            Box::pin(async move {
                let (since, offset) = (window.since_ms(), window.offset_ms());
                let rows = ActivityRows {
                    channels: sql.rows(activity::CHANNELS, &[&workspace_id]).await?.iter().map(|r| (r.text(0), r.text(1), r.text(2))).collect(),
                    per_day: sql.rows(activity::MESSAGES_PER_DAY, &[&offset, &since, &workspace_id]).await?.iter().map(|r| (r.text(0), r.int(1), r.int(2), r.int(3))).collect(),
                    failures: sql.rows(activity::FAILURES, &[&since, &workspace_id, &activity::FAILURE_REASONS]).await?.iter().map(|r| (r.text(0), r.int(1))).collect(),
                    first_responses: sql.rows(activity::FIRST_RESPONSES, &[&since, &workspace_id]).await?.iter().map(|r| (r.int(0), r.int(1))).collect(),
                    resolutions: sql.rows(activity::RESOLUTIONS, &[&since, &workspace_id]).await?.iter().map(|r| (r.opt_int(0), r.int(1))).collect(),
                    people: sql.rows(activity::PEOPLE, &[&workspace_id]).await?.iter().map(|r| (r.int(0), r.text(1))).collect(),
                };
                Ok(Activity::assemble(&window, rows))
            })
        }))
        .await
    }

    async fn workspace_volume(&self, window: Window) -> StoreResult<Vec<WorkspaceVolume>> {
        self.read(body(move |sql| {
            Box::pin(async move {
                let workspaces = sql.rows(activity::WORKSPACES, &[]).await?.iter().map(|r| (r.int(0), r.text(1))).collect();
                let per_day = sql.rows(activity::VOLUME_PER_DAY, &[&window.offset_ms(), &window.since_ms()]).await?.iter().map(|r| (r.int(0), r.int(1), r.int(2), r.int(3))).collect();
                Ok(activity::volume(&window, workspaces, per_day))
            })
        }))
        .await
    }
}
