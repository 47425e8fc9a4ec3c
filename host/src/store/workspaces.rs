//! Workspaces: one business each, created, renamed, suspended and deleted by the operator.

use super::StoreResult;
use super::row::ReadRow;
use super::sql::Sql;
use super::model::Workspace;

/// The columns a [`Workspace`] is read from, in its order (the same in both dialects; the
/// workspace table is `w`).
pub(crate) const COLUMNS: &str = "w.id, w.name, w.status, (SELECT COUNT(*) FROM channels c WHERE c.workspace_id = w.id), w.created_at, w.updated_at";

pub(crate) fn workspace(row: &impl ReadRow) -> Workspace {
    Workspace { id: row.int(0), name: row.text(1), status: row.text(2), channels: row.int(3), created_at: row.int(4), updated_at: row.int(5) }
}

/// Whether the workspace of a channel is suspended (also one part of SQLite's delivery read).
pub(crate) async fn channel_suspended_in(sql: &dyn Sql, channel_id: &str) -> StoreResult<bool> {
    let status = sql.row("SELECT w.status FROM channels c JOIN workspaces w ON w.id = c.workspace_id WHERE c.id = $1", &[&channel_id]).await?;
    Ok(status.and_then(|row| row.opt_text(0)).as_deref() == Some("suspended"))
}

#[cfg(test)]
mod tests {
    use crate::store::{Db, Scope};
    use crate::store::backend::{ChannelStore, InboxStore, PeopleStore};
    use crate::store::block_on;
    use rusqlite::{Connection, params};

    use super::super::MIGRATIONS;
    use crate::store::model::Role;

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
        let workspaces = block_on(db.workspaces()).unwrap();
        assert_eq!(workspaces.len(), 1);
        assert_eq!((workspaces[0].id, workspaces[0].channels), (1, 1));
        assert_eq!(block_on(db.channel("ch_old", crate::store::Scope::Every)).unwrap().unwrap().workspace_id, 1);
        let owner = block_on(db.token_owner(admin)).unwrap().unwrap();
        assert_eq!((owner.role, owner.workspace, owner.suspended), (Role::Admin, Some(1), false), "the token keeps its role");
        assert_eq!(block_on(db.token_owner(agent)).unwrap().unwrap().role, Role::Agent);
        assert_eq!(block_on(db.channel("ch_old", crate::store::Scope::Every)).unwrap().unwrap().webhook_secret, "webhook-secret");
        assert_eq!(block_on(db.messages(7, Scope::Every, None, 10)).unwrap().len(), 1, "messages kept");
    }
}
