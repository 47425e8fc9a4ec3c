//! The audit log: who did what, when, from where. Append-only: the store offers adding and
//! reading, nothing else. Entries name people, tokens and ids, never a secret value.

use rusqlite::params;
use serde::Serialize;

use super::{Db, StoreResult, now_ms, Cached};

/// One action, as recorded.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AuditEntry {
    pub id: i64,
    /// When (ms).
    pub at: i64,
    /// The workspace it happened in (`null`: the installation, e.g. a plugin or a workspace).
    pub workspace_id: Option<i64>,
    /// Who: `person <id> <username>`, `<role> token <id>`, or `anonymous` (a failed sign-in).
    pub actor: String,
    /// The client's address.
    pub address: Option<String>,
    /// What, e.g. `channel.connect`, `plugin.approve`, `session.sign_in_failed`.
    pub action: String,
    /// On what (an id or name).
    pub target: Option<String>,
    pub detail: Option<String>,
}

/// The columns of an [`AuditEntry`], in its fields' order (the same in both dialects).
pub(crate) const AUDIT_COLUMNS: &str = "id, at, workspace_id, actor, address, action, target, detail";

/// An action to record.
pub struct NewAuditEntry<'a> {
    pub workspace_id: Option<i64>,
    pub actor: &'a str,
    pub address: Option<&'a str>,
    pub action: &'a str,
    pub target: Option<&'a str>,
    pub detail: Option<&'a str>,
}

impl Db {
    pub fn record_audit(&self, entry: NewAuditEntry<'_>) -> StoreResult<()> {
        self.conn().cached_execute(
            "INSERT INTO audit_log (at, workspace_id, actor, address, action, target, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![now_ms(), entry.workspace_id, entry.actor, entry.address, entry.action, entry.target, entry.detail],
        )?;
        Ok(())
    }

    /// Newest first; only `workspace`'s when given; entries older than `before` (an id) for paging.
    pub fn audit_log(&self, workspace: Option<i64>, before: Option<i64>, limit: u32) -> StoreResult<Vec<AuditEntry>> {
        let conn = self.reader();
        let mut statement = conn.prepare_cached(&format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_log
             WHERE (?1 IS NULL OR workspace_id = ?1) AND (?2 IS NULL OR id < ?2) ORDER BY id DESC LIMIT ?3"
        ))?;
        let rows = statement.query_map(params![workspace, before, limit], |row| {
            Ok(AuditEntry {
                id: row.get(0)?,
                at: row.get(1)?,
                workspace_id: row.get(2)?,
                actor: row.get(3)?,
                address: row.get(4)?,
                action: row.get(5)?,
                target: row.get(6)?,
                detail: row.get(7)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
