//! Workspaces: one business each, created, renamed, suspended and deleted by the operator.

use rusqlite::{OptionalExtension, Row, params};
use serde::Serialize;

use super::{Db, StoreResult, now_ms, Cached};

#[derive(utoipa::ToSchema, Debug, Clone, Serialize)]
pub struct Workspace {
    pub id: i64,
    pub name: String,
    /// `active` or `suspended`.
    pub status: String,
    /// How many channels it has.
    pub channels: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

/// The columns a [`Workspace`] is read from, in its order (the same in both dialects; the
/// workspace table is `w`).
pub(crate) const COLUMNS: &str = "w.id, w.name, w.status, (SELECT COUNT(*) FROM channels c WHERE c.workspace_id = w.id), w.created_at, w.updated_at";

fn workspace(row: &Row<'_>) -> rusqlite::Result<Workspace> {
    Ok(Workspace {
        id: row.get(0)?,
        name: row.get(1)?,
        status: row.get(2)?,
        channels: row.get(3)?,
        created_at: row.get(4)?,
        updated_at: row.get(5)?,
    })
}

impl Db {
    pub fn workspaces(&self) -> StoreResult<Vec<Workspace>> {
        let conn = self.reader();
        let mut statement = conn.prepare_cached(&format!("SELECT {COLUMNS} FROM workspaces w ORDER BY w.id"))?;
        Ok(statement.query_map([], workspace)?.collect::<Result<_, _>>()?)
    }

    pub fn workspace(&self, id: i64) -> StoreResult<Option<Workspace>> {
        Ok(self.reader().cached_row(&format!("SELECT {COLUMNS} FROM workspaces w WHERE w.id = ?1"), [id], workspace).optional()?)
    }

    pub fn create_workspace(&self, name: &str) -> StoreResult<Workspace> {
        let now = now_ms();
        let id: i64 = self.conn().cached_row(
            "INSERT INTO workspaces (name, created_at, updated_at) VALUES (?1, ?2, ?2) RETURNING id",
            params![name, now],
            |row| row.get(0),
        )?;
        self.workspace(id)?.ok_or(super::StoreError::NotFound)
    }

    /// Renames and/or suspends (`suspended: Some(true)`) or resumes a workspace; `false` when it does not exist.
    pub fn update_workspace(&self, id: i64, name: Option<&str>, suspended: Option<bool>) -> StoreResult<bool> {
        let status = suspended.map(|s| if s { "suspended" } else { "active" });
        let changed = self.conn().cached_execute(
            "UPDATE workspaces SET name = COALESCE(?2, name), status = COALESCE(?3, status), updated_at = ?4 WHERE id = ?1",
            params![id, name, status, now_ms()],
        )?;
        Ok(changed > 0)
    }

    /// Deletes a workspace with everything in it (its channels take their contacts,
    /// conversations, messages, outbox rows and state with them), in one transaction.
    pub fn delete_workspace(&self, id: i64) -> StoreResult<bool> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.cached_execute("DELETE FROM oauth_flows WHERE workspace_id = ?1", [id])?;
        tx.cached_execute("DELETE FROM channels WHERE workspace_id = ?1", [id])?;
        let deleted = tx.cached_execute("DELETE FROM workspaces WHERE id = ?1", [id])?;
        tx.commit()?;
        Ok(deleted > 0)
    }

    /// Makes the workspace's held deliveries due now (it was resumed).
    pub fn release_held_deliveries(&self, id: i64) -> StoreResult<usize> {
        Ok(self.conn().cached_execute(
            "UPDATE outbox SET next_attempt_at = ?2 WHERE channel_id IN (SELECT id FROM channels WHERE workspace_id = ?1)
               AND next_attempt_at > ?2",
            params![id, now_ms()],
        )?)
    }

    /// Whether the workspace of a channel is suspended (nothing is sent for it then).
    pub fn channel_suspended(&self, channel_id: &str) -> StoreResult<bool> {
        let status: Option<String> = self
            .reader()
            .cached_row(
                "SELECT w.status FROM channels c JOIN workspaces w ON w.id = c.workspace_id WHERE c.id = ?1",
                [channel_id],
                |row| row.get(0),
            )
            .optional()?;
        Ok(status.as_deref() == Some("suspended"))
    }
}

#[cfg(test)]
mod tests {
    use crate::store::backend::ChannelStore;
    use crate::store::block_on;
    use rusqlite::Connection;

    use super::super::MIGRATIONS;
    use super::*;
    use crate::store::tokens::Role;

    /// A data dir as the release before workspaces left it (schema 4): one channel with a
    /// conversation and a message, an admin and an agent token.
    #[test]
    fn a_data_dir_from_before_workspaces_moves_into_workspace_one_without_loss() {
        let dir = tempfile::tempdir().unwrap();
        let (admin, agent) = ("sb_oldadmintoken", "sb_oldagenttoken");
        let secrets = super::super::secrets::SecretBox::load_or_create(&dir.path().join("secret.key")).unwrap();
        // The file at schema 4, with rows as the previous release stored them.
        let path = dir.path().join("switchboard.db");
        let old = Connection::open(&path).unwrap();
        for sql in &MIGRATIONS[..4] {
            old.execute_batch(sql).unwrap();
        }
        old.pragma_update(None, "user_version", 4).unwrap();
        old.execute(
            "INSERT INTO channels (id, plugin, name, status, settings, webhook_secret, created_at, updated_at)
                 VALUES ('ch_old', 'telegram', 'Toko Budi', 'active', '{}', ?1, 1, 1)",
            [secrets.seal("webhook-secret")],
        )
        .unwrap();
        old.execute_batch(
            "
             INSERT INTO conversations (id, channel_id, external_id, last_activity_at, created_at) VALUES (7, 'ch_old', '4242', 1, 1);
             INSERT INTO messages (conversation_id, channel_id, direction, text, status, created_at, updated_at)
                 VALUES (7, 'ch_old', 'inbound', 'halo', 'received', 1, 1);",
        )
        .unwrap();
        let hash = |token: &str| hex::encode(<sha2::Sha256 as sha2::Digest>::digest(token.as_bytes()));
        for (token, role) in [(admin, "admin"), (agent, "agent")] {
            old.execute("INSERT INTO api_tokens (token_hash, role, created_at) VALUES (?1, ?2, 1)", params![hash(token), role]).unwrap();
        }
        drop(old);

        let db = Db::open(dir.path()).unwrap();
        let workspaces = db.workspaces().unwrap();
        assert_eq!(workspaces.len(), 1);
        assert_eq!((workspaces[0].id, workspaces[0].channels), (1, 1));
        assert_eq!(block_on(db.channel("ch_old", crate::store::Scope::Every)).unwrap().unwrap().workspace_id, 1);
        let owner = db.token_owner(admin).unwrap().unwrap();
        assert_eq!((owner.role, owner.workspace, owner.suspended), (Role::Admin, Some(1), false), "the token keeps its role");
        assert_eq!(db.token_owner(agent).unwrap().unwrap().role, Role::Agent);
        assert_eq!(block_on(db.channel("ch_old", crate::store::Scope::Every)).unwrap().unwrap().webhook_secret, "webhook-secret");
        assert_eq!(db.messages(7, None, 10).unwrap().len(), 1, "messages kept");
    }
}
