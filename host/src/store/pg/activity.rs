//! Activity figures over Postgres: `store::activity`'s SQL on the pool.

use super::PgStore;
use crate::store::StoreResult;
use crate::store::activity::{self, Activity, ActivityRows, WorkspaceVolume, Window};
use crate::store::backend::ActivityStore;
use crate::store::row::ReadRow;

#[async_trait::async_trait]
impl ActivityStore for PgStore {
    async fn activity(&self, workspace_id: i64, window: Window) -> StoreResult<Activity> {
        let client = self.client().await?;
        let (since, offset) = (window.since_ms(), window.offset_ms());
        let channels = client.query(activity::CHANNELS, &[&workspace_id]).await?;
        let per_day = client.query(activity::MESSAGES_PER_DAY, &[&offset, &since, &workspace_id]).await?;
        let failures = client.query(activity::FAILURES, &[&since, &workspace_id, &activity::FAILURE_REASONS]).await?;
        let first_responses = client.query(activity::FIRST_RESPONSES, &[&since, &workspace_id]).await?;
        let resolutions = client.query(activity::RESOLUTIONS, &[&since, &workspace_id]).await?;
        let people = client.query(activity::PEOPLE, &[&workspace_id]).await?;
        let rows = ActivityRows {
            channels: channels.iter().map(|r| (r.text(0), r.text(1), r.text(2))).collect(),
            per_day: per_day.iter().map(|r| (r.text(0), r.int(1), r.int(2), r.int(3))).collect(),
            failures: failures.iter().map(|r| (r.text(0), r.int(1))).collect(),
            first_responses: first_responses.iter().map(|r| (r.int(0), r.int(1))).collect(),
            resolutions: resolutions.iter().map(|r| (r.opt_int(0), r.int(1))).collect(),
            people: people.iter().map(|r| (r.int(0), r.text(1))).collect(),
        };
        Ok(Activity::assemble(&window, rows))
    }

    async fn workspace_volume(&self, window: Window) -> StoreResult<Vec<WorkspaceVolume>> {
        let client = self.client().await?;
        let workspaces = client.query(activity::WORKSPACES, &[]).await?;
        let per_day = client.query(activity::VOLUME_PER_DAY, &[&window.offset_ms(), &window.since_ms()]).await?;
        Ok(activity::volume(
            &window,
            workspaces.iter().map(|r| (r.int(0), r.text(1))).collect(),
            per_day.iter().map(|r| (r.int(0), r.int(1), r.int(2), r.int(3))).collect(),
        ))
    }
}
