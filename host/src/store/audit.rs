//! The audit log: who did what, when, from where. Append-only: the store offers adding and
//! reading, nothing else. Entries name people, tokens and ids, never a secret value.
//!
//! Reading filters by workspace, action, actor (a part of it, in any case) and time, and pages
//! back by id; the SQL is written once for both backends ([`audit_log_sql`]).

use super::row::ReadRow;
use super::model::{AuditEntry, AuditFilter};

/// Every action the host records, by subject. The one list: the API refuses a filter on any
/// other (`GET /api/v1/audit?action=`), the Audit log page names each of them (a test holds its
/// table to this list), and recording one not listed fails a debug build.
pub const ACTIONS: &[&str] = &[
    "channel.connect",
    "channel.reconnect",
    "channel.change",
    "channel.disconnect",
    "conversation.handed_over",
    "person.invite",
    "person.change",
    "person.reset_password",
    "plugin.install",
    "plugin.upload_for_review",
    "plugin.approve",
    "plugin.reject",
    "plugin.remove",
    "provider_app.set",
    "provider_app.remove",
    "secrets.rotate",
    "session.sign_in",
    "session.sign_in_failed",
    "template.create",
    "template.delete",
    "template.enable",
    "template.disable",
    "token.create",
    "token.revoke",
    "webhook_endpoint.create",
    "webhook_endpoint.update",
    "webhook_endpoint.delete",
    "webhook_endpoint.redeliver",
    "webhook_endpoint.rotate_secret",
    "webhook_endpoint.disabled",
    "workspace.create",
    "workspace.rename",
    "workspace.suspend",
    "workspace.resume",
    "workspace.delete",
];

/// The columns of an [`AuditEntry`], in its fields' order (the same in both dialects).
pub(crate) const AUDIT_COLUMNS: &str = "id, at, workspace_id, actor, address, action, target, detail";

/// The reading, for both backends: `$1` workspace, `$2` before, `$3` action, `$4` the actor as
/// a `LIKE` pattern ([`actor_pattern`]), `$5` since, `$6` until, `$7` the limit; a `NULL`
/// filter lets every row through. Newest first by id, the primary key (`audit_log_by_workspace`
/// serves one workspace's). `LOWER` on both sides: ASCII letters on SQLite, every letter on
/// Postgres.
pub(crate) fn audit_log_sql() -> String {
    format!(
        "SELECT {AUDIT_COLUMNS} FROM audit_log
         WHERE (CAST($1 AS BIGINT) IS NULL OR workspace_id = $1)
           AND (CAST($2 AS BIGINT) IS NULL OR id < $2)
           AND (CAST($3 AS TEXT) IS NULL OR action = $3)
           AND (CAST($4 AS TEXT) IS NULL OR LOWER(actor) LIKE LOWER($4) ESCAPE '\\')
           AND (CAST($5 AS BIGINT) IS NULL OR at >= $5)
           AND (CAST($6 AS BIGINT) IS NULL OR at < $6)
         ORDER BY id DESC LIMIT CAST($7 AS BIGINT)"
    )
}

/// The actor filter as `$4` of [`audit_log_sql`]: the text anywhere, `%`, `_` and `\` taken literally.
pub(crate) fn actor_pattern(filter: &AuditFilter) -> Option<String> {
    filter.actor.as_deref().map(super::conversations::like_pattern)
}

/// An entry from a row of [`AUDIT_COLUMNS`], on either backend.
pub(crate) fn audit_row(row: &impl ReadRow) -> AuditEntry {
    AuditEntry {
        id: row.int(0),
        at: row.int(1),
        workspace_id: row.opt_int(2),
        actor: row.text(3),
        address: row.opt_text(4),
        action: row.text(5),
        target: row.opt_text(6),
        detail: row.opt_text(7),
    }
}

