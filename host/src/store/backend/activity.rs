//! Activity figures on either backend (see `store::activity`): the SQL is shared, each backend
//! runs it on its read path.

use crate::store::activity::{self, Activity, ActivityRows, WorkspaceVolume, Window};
use crate::store::row::ReadRow;
use crate::store::{Db, StoreResult};

#[async_trait::async_trait]
pub trait ActivityStore: Send + Sync {
    /// A workspace's messages per channel and day, failures by reason, people's times.
    async fn activity(&self, workspace_id: i64, window: Window) -> StoreResult<Activity>;
    /// Every workspace's messages per day (the operator's figures).
    async fn workspace_volume(&self, window: Window) -> StoreResult<Vec<WorkspaceVolume>>;
}

#[async_trait::async_trait]
impl ActivityStore for Db {
    async fn activity(&self, workspace_id: i64, window: Window) -> StoreResult<Activity> {
        self.off_worker(move |db| {
            let conn = db.reader();
            let (since, offset) = (window.since_ms(), window.offset_ms());
            let mut rows = ActivityRows::default();
            let read = |sql: &str, params: &[&dyn rusqlite::ToSql], each: &mut dyn FnMut(&rusqlite::Row<'_>)| -> StoreResult<()> {
                let mut statement = conn.prepare_cached(sql)?;
                let mut found = statement.query(params)?;
                while let Some(row) = found.next()? {
                    each(row);
                }
                Ok(())
            };
            read(activity::CHANNELS, &[&workspace_id], &mut |r| rows.channels.push((r.text(0), r.text(1), r.text(2))))?;
            read(activity::MESSAGES_PER_DAY, &[&offset, &since, &workspace_id], &mut |r| rows.per_day.push((r.text(0), r.int(1), r.int(2), r.int(3))))?;
            read(activity::FAILURES, &[&since, &workspace_id, &activity::FAILURE_REASONS], &mut |r| rows.failures.push((r.text(0), r.int(1))))?;
            read(activity::FIRST_RESPONSES, &[&since, &workspace_id], &mut |r| rows.first_responses.push((r.int(0), r.int(1))))?;
            read(activity::RESOLUTIONS, &[&since, &workspace_id], &mut |r| rows.resolutions.push((r.opt_int(0), r.int(1))))?;
            read(activity::PEOPLE, &[&workspace_id], &mut |r| rows.people.push((r.int(0), r.text(1))))?;
            Ok(Activity::assemble(&window, rows))
        })
        .await
    }

    async fn workspace_volume(&self, window: Window) -> StoreResult<Vec<WorkspaceVolume>> {
        self.off_worker(move |db| {
            let conn = db.reader();
            let workspaces = conn.prepare_cached(activity::WORKSPACES)?.query_map([], |r| Ok((r.int(0), r.text(1))))?.collect::<Result<Vec<_>, _>>()?;
            let per_day = conn
                .prepare_cached(activity::VOLUME_PER_DAY)?
                .query_map(rusqlite::params![window.offset_ms(), window.since_ms()], |r| Ok((r.int(0), r.int(1), r.int(2), r.int(3))))?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(activity::volume(&window, workspaces, per_day))
        })
        .await
    }
}
