//! The audit log's entries, one to record (`NewAuditEntry`) and the filter they are read with.

use serde::Serialize;

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

/// Which entries to read; each `None` lets every entry through. Newest first whatever the filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Only this workspace's (`None`: every workspace's and the installation's).
    pub workspace_id: Option<i64>,
    /// Only entries older than this one (an id: paging).
    pub before: Option<i64>,
    /// Only this action (exactly, e.g. `channel.connect`).
    pub action: Option<String>,
    /// Only actors holding this text, in any case (`%` and `_` are plain characters).
    pub actor: Option<String>,
    /// Only entries at or after this moment (ms).
    pub since: Option<i64>,
    /// Only entries before this moment (ms).
    pub until: Option<i64>,
}

/// An action to record.
pub struct NewAuditEntry<'a> {
    pub workspace_id: Option<i64>,
    pub actor: &'a str,
    pub address: Option<&'a str>,
    pub action: &'a str,
    pub target: Option<&'a str>,
    pub detail: Option<&'a str>,
}
