//! Channels: a plugin, a name, settings (secrets sealed), the host-made webhook secret,
//! and what connect returned.

use super::row::ReadRow;
use super::sql::Sql;
use super::{Scope, SecretBox, StoreResult, random_token};
use super::model::{Channel, ChannelStatus};

/// The statements, written once for both backends (`backend/channels.rs` runs them).
/// Only while the workspace `$2` is there (one deleted meanwhile gets no channel).
pub(crate) const INSERT_CHANNEL: &str = "INSERT INTO channels (id, workspace_id, plugin, name, status, settings, webhook_secret, created_at, updated_at)
     SELECT $1, $2, $3, $4, $5, $6, $7, $8, $8 WHERE EXISTS (SELECT 1 FROM workspaces WHERE id = $2)";
pub(crate) const MARK_CONNECTED: &str = "UPDATE channels SET status = 'active', display_name = $2, external_account_id = $3, setup = $4,
     updated_at = CASE WHEN $5 > updated_at THEN $5 ELSE updated_at + 1 END
     WHERE id = $1";
/// The channel `$1` if it is in the scope `$5` (NULL: every workspace) and, unless `$6` is NULL,
/// still as it was when read at `$6` (its `updated_at`, which every change moves forward, by 1 ms
/// at least, so two changes within a millisecond differ too).
pub(crate) const UPDATE_CHANNEL: &str = "UPDATE channels SET name = $2, settings = $3, updated_at = CASE WHEN $4 > updated_at THEN $4 ELSE updated_at + 1 END
     WHERE id = $1 AND workspace_id = COALESCE($5, workspace_id) AND (CAST($6 AS BIGINT) IS NULL OR updated_at = $6)";
/// Everything under the channel goes with it (conversations, messages, outbox, state); only in
/// the scope `$2` (NULL: every workspace).
pub(crate) const DELETE_CHANNEL: &str = "DELETE FROM channels WHERE id = $1 AND workspace_id = COALESCE($2, workspace_id)";
/// The channel `$1` if it is in the scope `$<scope>` (NULL: every workspace), as a subquery: the
/// workspace boundary of a statement on one channel's rows.
pub(crate) fn channel_in_scope_sql(scope: usize) -> String {
    format!("(SELECT id FROM channels WHERE id = $1 AND workspace_id = COALESCE(${scope}, workspace_id))")
}
/// `column` (a channel id) is one the bot token `$<bot>` is the bot of, or `$<bot>` is NULL
/// (not a bot's scope: [`super::Scope::bot`]).
pub(crate) fn of_bot(column: &str, bot: usize) -> String {
    format!("(CAST(${bot} AS BIGINT) IS NULL OR {column} IN (SELECT channel_id FROM channel_bots WHERE token_id = ${bot}))")
}
/// Connected channels in the scope `$1` (NULL: every workspace).
pub(crate) const ACTIVE_IN_SCOPE: &str = "status = 'active' AND workspace_id = COALESCE($1, workspace_id)";
/// The active channels of plugin `$1` connected with the provider account `$2` (a provider
/// app's events are routed by it; normally one channel, but the same Page connected twice gets
/// its events twice).
pub(crate) const OF_ACCOUNT: &str = "plugin = $1 AND external_account_id = $2 AND status = 'active'";
/// Per-channel plugin state (the `state` import); values sealed at rest (plugins keep login
/// tokens there).
pub(crate) const STATE_GET: &str = "SELECT value FROM channel_state WHERE channel_id = $1 AND key = $2";
pub(crate) const STATE_SET: &str = "INSERT INTO channel_state (channel_id, key, value) VALUES ($1, $2, $3)
     ON CONFLICT (channel_id, key) DO UPDATE SET value = excluded.value";
pub(crate) const STATE_REMOVE: &str = "DELETE FROM channel_state WHERE channel_id = $1 AND key = $2";
/// State keys starting with `$2`, in byte order (a prefix may hold `%` or `_`, so no LIKE).
pub(crate) const STATE_KEYS_SQLITE: &str = "SELECT key FROM channel_state WHERE channel_id = $1 AND substr(key, 1, length($2)) = $2 ORDER BY key";
pub(crate) const STATE_KEYS_POSTGRES: &str = "SELECT key FROM channel_state WHERE channel_id = $1 AND starts_with(key, $2) ORDER BY key COLLATE \"C\"";

/// Channels meeting `condition`, oldest first.
pub(crate) fn channels_sql(condition: &str) -> String {
    format!("SELECT {CHANNEL_COLUMNS} FROM channels WHERE {condition} ORDER BY created_at, id")
}

/// A channel in `scope`, as stored.
pub(crate) async fn channel_in(sql: &dyn Sql, id: &str, scope: Scope) -> StoreResult<Option<RawChannel>> {
    // Every webhook reads its channel: the statement is made once.
    static BY_ID: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| format!("SELECT {CHANNEL_COLUMNS} FROM channels WHERE id = $1 AND workspace_id = COALESCE($2, workspace_id) AND {}", of_bot("id", 3)));
    Ok(sql.row(&BY_ID, &[&id, &scope.workspace(), &scope.bot()]).await?.as_ref().map(raw_channel))
}

/// A new channel's id and the secret its webhook URLs are signed with.
pub(crate) fn new_channel_identity() -> (String, String) {
    (format!("ch_{}", random_token(16).to_lowercase()), random_token(32))
}

/// The columns [`RawChannel`] reads, in its order (the same in both dialects).
pub(crate) const CHANNEL_COLUMNS: &str =
    "id, plugin, name, status, settings, webhook_secret, display_name, external_account_id, setup, created_at, updated_at, workspace_id";

/// A channel's row as stored (settings and webhook secret sealed).
pub(crate) struct RawChannel {
    pub(crate) id: String,
    pub(crate) plugin: String,
    pub(crate) name: String,
    pub(crate) status: String,
    pub(crate) settings: String,
    pub(crate) webhook_secret: String,
    pub(crate) display_name: Option<String>,
    pub(crate) external_account_id: Option<String>,
    pub(crate) setup: String,
    pub(crate) created_at: i64,
    pub(crate) updated_at: i64,
    pub(crate) workspace_id: i64,
}

impl RawChannel {
    /// The channel with its settings and webhook secret opened.
    pub(crate) fn open(self, secrets: &SecretBox) -> StoreResult<Channel> {
        let settings = secrets.open_settings(&self.settings, &format!("channel {}", self.id))?;
        Ok(Channel {
            status: if self.status == "active" { ChannelStatus::Active } else { ChannelStatus::Connecting },
            webhook_secret: secrets.open(&self.webhook_secret)?,
            setup: serde_json::from_str(&self.setup).unwrap_or_default(),
            settings,
            id: self.id,
            workspace_id: self.workspace_id,
            plugin: self.plugin,
            name: self.name,
            display_name: self.display_name,
            external_account_id: self.external_account_id,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

pub(crate) fn raw_channel(row: &impl ReadRow) -> RawChannel {
    RawChannel {
        id: row.text(0),
        plugin: row.text(1),
        name: row.text(2),
        status: row.text(3),
        settings: row.text(4),
        webhook_secret: row.text(5),
        display_name: row.opt_text(6),
        external_account_id: row.opt_text(7),
        setup: row.text(8),
        created_at: row.int(9),
        updated_at: row.int(10),
        workspace_id: row.int(11),
    }
}
