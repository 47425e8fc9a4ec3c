//! Conversations: one per channel and provider address (a chat, a user, a group).

use rusqlite::{Connection, params};

use super::channels::{CHANNEL_COLUMNS, RawChannel, raw_channel};
use super::row::{ColumnsFrom, ReadRow};
use super::sql::Sql;
use super::{Scope, StoreResult, now_ms, Cached};
use super::model::{ContactSummary, Conversation, HandedOver};

/// Handed-over conversations by id (`RETURNING` promises no order).
pub(crate) fn in_order(mut handed: Vec<HandedOver>) -> Vec<HandedOver> {
    handed.sort_by_key(|h| h.conversation_id);
    handed
}

/// The status a conversation of `channel` (an SQL expression) starts or reopens in: `bot` while
/// the channel has a bot (a token with the `bot` role, or an endpoint that is enabled), else
/// `open`.
///
/// On SQLite one writer at a time. On Postgres (`shared_locks`) the bot (its token or endpoint
/// row), then its binding, are share-locked until the conversation commits: a bot being unbound
/// on another node locks them first, in the same order (`LOCK_TOKEN` / `LOCK_ENDPOINT`, then
/// the bindings), and so waits for the conversations already started to commit, then hands
/// them over with the rest; one started after waits for the unbinding and starts open. The bot's
/// own row comes first so that a batch starting conversations on several of its channels and
/// an unbinding never wait on each other in a circle. Without the locks, a conversation could start
/// `bot` just as its bot left, and stay so with nobody answering.
pub(crate) fn bot_or_open(channel: &str, shared_locks: bool) -> String {
    let (binding_lock, bot_lock) = if shared_locks { ("FOR KEY SHARE OF b", "FOR SHARE") } else { ("", "") };
    format!(
        "COALESCE((SELECT 'bot' FROM channel_bots b
                   WHERE b.channel_id = {channel}
                     AND (EXISTS (SELECT 1 FROM api_tokens t WHERE t.id = b.token_id {bot_lock})
                          OR EXISTS (SELECT 1 FROM webhook_endpoints e WHERE e.id = b.endpoint_id AND e.enabled {bot_lock}))
                   {binding_lock}), 'open')"
    )
}

/// Finds or opens the conversation for a provider address, touched by a customer's message
/// received now (provider time `inbound_at`) in the same statement: the window moves forward,
/// never back; a resolved conversation reopens (to its channel's bot, if it has one); one the
/// bot handles stays with it. Returns its id.
pub(super) fn upsert_inbound(
    tx: &Connection,
    channel_id: &str,
    external_id: &str,
    name: Option<&str>,
    contact_id: i64,
    inbound_at: i64,
) -> rusqlite::Result<i64> {
    let now = now_ms();
    // Written once (every inbound message runs it).
    static UPSERT: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!(
            "INSERT INTO conversations (channel_id, external_id, contact_id, name, last_activity_at, created_at, status, last_inbound_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?5, {}, ?6)
             ON CONFLICT (channel_id, external_id) DO UPDATE SET
                name = COALESCE(excluded.name, conversations.name),
                contact_id = COALESCE(conversations.contact_id, excluded.contact_id),
                last_activity_at = excluded.last_activity_at,
                status = CASE WHEN conversations.status = 'bot' THEN 'bot' WHEN conversations.status = 'resolved' THEN {} ELSE 'open' END,
                last_inbound_at = MAX(COALESCE(conversations.last_inbound_at, 0), excluded.last_inbound_at)",
            bot_or_open("?1", false),
            bot_or_open("conversations.channel_id", false)
        )
    });
    // Its id read by its key, not by `RETURNING` (see `messages::record_inbound_in`).
    tx.cached_execute(&UPSERT, params![channel_id, external_id, contact_id, name, now, inbound_at])?;
    tx.cached_row(ID_BY_KEY, params![channel_id, external_id], |row| row.get(0))
}

/// A conversation's id by its key: `$1` channel, `$2` the provider's id of the chat (the same
/// in both dialects).
pub(crate) const ID_BY_KEY: &str = "SELECT id FROM conversations WHERE channel_id = $1 AND external_id = $2";

/// Records an agent's (or a bot's) reply: it reopens a resolved conversation; one the bot
/// handles stays with it. (A customer's message does this in [`upsert_inbound`], and moves the
/// window forward there, and reopens a resolved conversation to its channel's bot, if it has one.)
pub(crate) const TOUCH_BY_REPLY: &str = "UPDATE conversations SET last_activity_at = $2, status = CASE WHEN status = 'bot' THEN 'bot' ELSE 'open' END WHERE id = $1";

/// The columns [`RawConversation`] reads, in its order (the same in both dialects), from
/// [`CONVERSATION_FROM`].
pub(crate) const CONVERSATION_COLUMNS: &str = "c.id, c.channel_id, c.external_id, c.name, c.status, c.last_inbound_at, c.last_activity_at, c.created_at,
    p.id, p.external_id, p.name, p.handle, c.assignee_id";
pub(crate) const CONVERSATION_FROM: &str = "conversations c LEFT JOIN contacts p ON p.id = c.contact_id";

/// A conversation's row joined with its contact's, as read (the contact's columns are NULL
/// when it has none).
pub(crate) struct RawConversation {
    pub(crate) id: i64,
    pub(crate) channel_id: String,
    pub(crate) external_id: String,
    pub(crate) name: Option<String>,
    pub(crate) status: String,
    pub(crate) last_inbound_at: Option<i64>,
    pub(crate) last_activity_at: i64,
    pub(crate) created_at: i64,
    pub(crate) contact_id: Option<i64>,
    pub(crate) contact_external_id: Option<String>,
    pub(crate) contact_name: Option<String>,
    pub(crate) contact_handle: Option<String>,
    pub(crate) assignee_id: Option<i64>,
}

impl RawConversation {
    /// The conversation with its contact's summary (no unread count: lists add it).
    pub(crate) fn into_conversation(self) -> Conversation {
        Conversation {
            id: self.id,
            channel_id: self.channel_id,
            external_id: self.external_id,
            name: self.name,
            status: self.status,
            last_inbound_at: self.last_inbound_at,
            last_activity_at: self.last_activity_at,
            created_at: self.created_at,
            assignee_id: self.assignee_id,
            unread: None,
            contact: self.contact_id.map(|id| ContactSummary {
                id,
                external_id: self.contact_external_id.unwrap_or_default(),
                name: self.contact_name,
                handle: self.contact_handle,
            }),
        }
    }
}

/// A conversation read from [`CONVERSATION_COLUMNS`].
pub(crate) fn conversation(row: &impl ReadRow) -> Conversation {
    RawConversation {
        id: row.int(0),
        channel_id: row.text(1),
        external_id: row.text(2),
        name: row.opt_text(3),
        status: row.text(4),
        last_inbound_at: row.opt_int(5),
        last_activity_at: row.int(6),
        created_at: row.int(7),
        contact_id: row.opt_int(8),
        contact_external_id: row.opt_text(9),
        contact_name: row.opt_text(10),
        contact_handle: row.opt_text(11),
        assignee_id: row.opt_int(12),
    }
    .into_conversation()
}

/// The words of a search: runs of letters and digits, with `@`, `_` and `.` inside them kept
/// (an address, a handle); quotes, operators and other punctuation are dropped, so nothing
/// in it is query syntax. Empty: nothing searchable (both backends then match nothing).
pub(crate) fn search_words(search: &str) -> Vec<&str> {
    search
        .split(|c: char| !c.is_alphanumeric() && c != '@' && c != '_' && c != '.')
        .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()))
        .filter(|w| !w.is_empty())
        .collect()
}

/// A `LIKE` pattern finding the whole search (trimmed) anywhere, `%`/`_` taken literally
/// (escaped with `\`).
pub(crate) fn like_pattern(search: &str) -> String {
    let literal = search.trim().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    format!("%{literal}%")
}

pub(crate) async fn conversation_in(sql: &dyn Sql, id: i64) -> StoreResult<Option<Conversation>> {
    Ok(sql.row(&format!("SELECT {CONVERSATION_COLUMNS} FROM {CONVERSATION_FROM} WHERE c.id = $1"), &[&id]).await?.as_ref().map(conversation))
}

/// Marks conversation `$2` read by person `$1` up to message `$3` (NULL: its newest). One
/// statement: a mark older than the stored one (a page that lagged, on any node) keeps the
/// newer, whichever commits first.
pub(crate) const MARK_READ: &str = "INSERT INTO conversation_reads (person_id, conversation_id, last_read_message_id)
    SELECT CAST($1 AS BIGINT), CAST($2 AS BIGINT), COALESCE(CAST($3 AS BIGINT), (SELECT MAX(id) FROM messages WHERE conversation_id = $2), 0)
    WHERE CAST($3 AS BIGINT) IS NULL OR EXISTS (SELECT 1 FROM messages WHERE id = $3 AND conversation_id = $2)
    ON CONFLICT (person_id, conversation_id) DO UPDATE
       SET last_read_message_id = CASE WHEN excluded.last_read_message_id > conversation_reads.last_read_message_id
                                       THEN excluded.last_read_message_id ELSE conversation_reads.last_read_message_id END";

/// The id of the conversation `$1` if its channel is in the scope `$<scope>` (NULL: every
/// workspace) and, for a bot, one of its channels (`$<scope + 1>`, [`Scope::bot`]): the
/// boundary of a statement on one conversation, as a subquery.
pub(crate) fn conversation_in_scope_sql(scope: usize) -> String {
    format!(
        "SELECT c.id FROM conversations c JOIN channels ch ON ch.id = c.channel_id WHERE c.id = $1 AND ch.workspace_id = COALESCE(${scope}, ch.workspace_id) AND {}",
        super::channels::of_bot("ch.id", scope + 1)
    )
}

/// A conversation with its channel, if the channel is in `scope`: one query (the workspace
/// boundary in its `WHERE`), what a reply and every conversation route read first.
pub(crate) async fn conversation_with_channel_in(sql: &dyn Sql, id: i64, scope: Scope) -> StoreResult<Option<(Conversation, RawChannel)>> {
    static IN_SCOPE: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        let channel_columns = CHANNEL_COLUMNS.split(", ").map(|column| format!("ch.{column}")).collect::<Vec<_>>().join(", ");
        format!(
            "SELECT {CONVERSATION_COLUMNS}, {channel_columns} FROM {CONVERSATION_FROM} JOIN channels ch ON ch.id = c.channel_id
             WHERE c.id = $1 AND ch.workspace_id = COALESCE($2, ch.workspace_id) AND {}",
            super::channels::of_bot("ch.id", 3)
        )
    });
    let channel_from = CONVERSATION_COLUMNS.split(',').count();
    let row = sql.row(&IN_SCOPE, &[&id, &scope.workspace(), &scope.bot()]).await?;
    Ok(row.map(|row| (conversation(&row), raw_channel(&ColumnsFrom(&row, channel_from)))))
}

/// The conversation at a provider address (also one step of SQLite's ingest).
pub(crate) async fn conversation_at_in(sql: &dyn Sql, channel_id: &str, external_id: &str) -> StoreResult<Option<Conversation>> {
    let at = format!("SELECT {CONVERSATION_COLUMNS} FROM {CONVERSATION_FROM} WHERE c.channel_id = $1 AND c.external_id = $2");
    Ok(sql.row(&at, &[&channel_id, &external_id]).await?.as_ref().map(conversation))
}
