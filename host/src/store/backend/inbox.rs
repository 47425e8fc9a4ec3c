//! The inbox: what agents see and do (conversations listed, searched, read, assigned and
//! resolved; a conversation's messages page by page), contacts, template switches, the provider
//! resources channels hold, channels that need reconnecting, and the audit log. Each operation
//! written once for both backends (see `store::sql`; rows and readers beside their types).
//!
//! With several nodes (Postgres): a read marker only moves forward (the larger of the stored
//! and the new one, decided in the upsert itself); a hold is one row whichever nodes add it;
//! holders releasing a resource at once take turns on its rows, so exactly one learns it was
//! the last. Search differs by dialect in how text is cut into words (see [`text_match`]).

use std::collections::BTreeSet;

use crate::store::model::{AsRead, Assigned, AuditEntry, AuditFilter, Channel, ContactInfo, Conversation, ConversationFilter, Hold, ListedConversation, Message, NewAuditEntry, Reconnect};
use crate::store::audit::{actor_pattern, audit_log_sql, audit_row};
use crate::store::contacts::UPSERT_CONTACT;
use crate::store::channels::channel_in_scope_sql;
use crate::store::conversations::{CONVERSATION_COLUMNS, CONVERSATION_FROM, conversation, conversation_at_in, conversation_in, conversation_with_channel_in, conversation_in_scope_sql, like_pattern, search_words, MARK_READ};
use crate::store::messages::{COLUMNS as MESSAGE_COLUMNS, last_inbound_in, read_message};
use crate::store::row::ReadRow;
use crate::store::sql::{Param, RunSql, Sql, body};
use crate::store::{Scope, StoreError, StoreResult, now_ms, storable};

#[async_trait::async_trait]
pub trait InboxStore: Send + Sync {
    // Conversations.
    /// Up to `limit` conversations the filter lets through, newest activity first, each with its
    /// channel's plugin; with the reader's unread counts when the filter names a reader. A
    /// search with nothing searchable in it (punctuation only) finds nothing.
    async fn conversations(&self, filter: &ConversationFilter<'_>, limit: u32) -> StoreResult<Vec<ListedConversation>>;
    /// Marks a conversation read by a person up to a message (`None`: its newest); never moves
    /// the mark back, whichever node marked it last.
    /// `false` (nothing marked) when the conversation is not in `scope`; `NotFound` (nothing
    /// marked) when `up_to` is no message of it: a mark never moves back, so one past its
    /// messages would hide every new one.
    async fn mark_read(&self, person_id: i64, conversation_id: i64, scope: Scope, up_to: Option<i64>) -> StoreResult<bool>;
    /// Assigns (`Some(None)`: to nobody) and/or sets the status of a conversation; whether it
    /// is one in `scope` (else nothing changes). `ChangedMeanwhile`, and nothing changes, when
    /// it is no longer as `as_read` says.
    async fn update_conversation(&self, id: i64, scope: Scope, assignee: Option<Option<i64>>, status: Option<&str>, as_read: AsRead) -> StoreResult<bool>;
    /// One conversation with its contact, if it exists.
    async fn conversation(&self, id: i64) -> StoreResult<Option<Conversation>>;
    /// One conversation with its contact and its channel, if it exists and its channel is in
    /// `scope` (one query).
    async fn conversation_in_scope(&self, id: i64, scope: Scope) -> StoreResult<Option<(Conversation, Channel)>>;
    /// Channels that have a conversation with this provider address, compared
    /// case-insensitively (ASCII), in no particular order.
    async fn channels_with_conversation(&self, external_id: &str) -> StoreResult<Vec<String>>;
    /// The conversation at a provider address (a chat, a visitor), if it exists.
    async fn conversation_at(&self, channel_id: &str, external_id: &str) -> StoreResult<Option<Conversation>>;

    // A conversation's messages.
    /// The newest `limit` messages of a conversation (older than the message `before`, if
    /// given), oldest first; none when the conversation is not in `scope`.
    async fn messages(&self, conversation_id: i64, scope: Scope, before: Option<i64>, limit: u32) -> StoreResult<Vec<Message>>;
    /// The customer's most recent message in a conversation (by provider time).
    async fn last_inbound(&self, conversation_id: i64) -> StoreResult<Option<Message>>;
    /// The outbound messages among the last `last` of the conversation at a provider address,
    /// newest first (what a customer's tap or reply may answer); one query.
    async fn recent_outbound_at(&self, channel_id: &str, external_id: &str, last: u32) -> StoreResult<Vec<Message>>;
    /// Whether the channel ever sent interactive content (options a reply may name).
    async fn offers_choices(&self, channel_id: &str) -> StoreResult<bool>;

    // Contacts.
    /// Inserts or refreshes a contact (known fields kept when the provider omits them); its id.
    async fn upsert_contact(&self, channel_id: &str, contact: &ContactInfo) -> StoreResult<i64>;

    // Template switches.
    // A channel's template switches, each call in the caller's `scope`: another workspace's
    // channel has none (its templates read as enabled, as any channel's without a switch) and
    // gets none (`NotFound`).
    /// Names of the channel's templates that are switched off.
    async fn disabled_templates(&self, channel_id: &str, scope: Scope) -> StoreResult<BTreeSet<String>>;
    /// Whether a template may be sent (enabled unless switched off).
    async fn template_enabled(&self, channel_id: &str, scope: Scope, name: &str) -> StoreResult<bool>;
    /// Switches a channel's template on or off.
    async fn set_template_enabled(&self, channel_id: &str, scope: Scope, name: &str, enabled: bool) -> StoreResult<()>;
    /// Drops a deleted template's switch, so a new one of the same name starts enabled.
    async fn forget_template(&self, channel_id: &str, scope: Scope, name: &str) -> StoreResult<()>;

    // Resource holds.
    /// Records that a channel relies on a provider resource (holding it again changes nothing),
    /// unless another channel released it last and may still be tearing it down: then nothing
    /// is recorded, and the caller holds again once that is over.
    async fn hold_resource(&self, channel_id: &str, resource: &str) -> StoreResult<Hold>;
    /// Drops the channel's hold; whether another channel still holds the resource (of holders
    /// releasing at once, exactly one learns it was the last). The last one's hold stays,
    /// marked releasing until `releasing_until` (ms) or until its channel is deleted, so that
    /// its teardown of the resource comes before anyone's new hold.
    async fn release_resource(&self, channel_id: &str, resource: &str, releasing_until: i64) -> StoreResult<bool>;

    // Channels that need reconnecting.
    /// Marks a channel whose credentials the provider refused; a later refusal updates the
    /// reason and keeps the first time. `read_at`: the channel's `updated_at` as the refused
    /// call read it; a channel changed since (an admin reconnected it meanwhile) is not marked
    /// by a refusal of its old credentials.
    async fn mark_needs_reconnect(&self, channel_id: &str, reason: &str, read_at: i64) -> StoreResult<()>;
    /// Clears the mark (a successful connect).
    async fn clear_needs_reconnect(&self, channel_id: &str) -> StoreResult<()>;
    /// Why and since when a channel in `scope` needs reconnecting, if it does.
    async fn needs_reconnect(&self, channel_id: &str, scope: Scope) -> StoreResult<Option<Reconnect>>;

    // The audit log.
    /// Appends an action to the audit log.
    async fn record_audit(&self, entry: NewAuditEntry<'_>) -> StoreResult<()>;
    /// Newest first, at most `limit` of the entries `filter` lets through (its `before`, an
    /// id, pages back).
    async fn audit_log(&self, filter: &AuditFilter, limit: u32) -> StoreResult<Vec<AuditEntry>>;
}

#[async_trait::async_trait]
impl<S: RunSql> InboxStore for S {
    /// Search: names and handles by `LIKE` (Postgres: `ILIKE`, which folds case beyond ASCII),
    /// message text by each dialect's full-text index (see [`text_match`]).
    async fn conversations(&self, filter: &ConversationFilter<'_>, limit: u32) -> StoreResult<Vec<ListedConversation>> {
        let words: Option<Vec<String>> = filter.search.map(|search| search_words(search).into_iter().map(str::to_owned).collect());
        if words.as_ref().is_some_and(Vec::is_empty) {
            // Nothing searchable in it (punctuation only): nothing matches.
            return Ok(Vec::new());
        }
        let like = filter.search.map(like_pattern);
        let (assigned, person): (i32, Option<i64>) = match filter.assigned {
            Assigned::Anyone => (0, None),
            Assigned::Nobody => (1, None),
            Assigned::To(person) => (2, Some(person)),
        };
        let (channel_id, status) = (filter.channel_id.map(str::to_owned), filter.status.map(str::to_owned));
        let (workspace_id, reader, bot) = (filter.workspace_id, filter.reader, filter.bot);
        self.read(body(move |sql| {
            Box::pin(async move {
                let (like_op, text) = text_match(sql);
                let query = words.map(|words| if sql.is_postgres() { pg_text_query(&words) } else { fts_query(&words) });
                let list = format!(
                    "SELECT {CONVERSATION_COLUMNS},
                        CASE WHEN CAST($9 AS BIGINT) IS NULL THEN NULL ELSE (SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id AND m.direction = 'inbound'
                            AND m.id > COALESCE((SELECT r.last_read_message_id FROM conversation_reads r WHERE r.person_id = $9 AND r.conversation_id = c.id), 0)) END,
                        (SELECT plugin FROM channels WHERE id = c.channel_id)
                     FROM {CONVERSATION_FROM}
                     WHERE (CAST($1 AS TEXT) IS NULL OR c.channel_id = $1) AND (CAST($2 AS TEXT) IS NULL OR c.status = $2)
                       AND (CAST($4 AS BIGINT) IS NULL OR c.channel_id IN (SELECT id FROM channels WHERE workspace_id = $4))
                       AND (CAST($10 AS BIGINT) IS NULL OR c.channel_id IN (SELECT channel_id FROM channel_bots WHERE token_id = $10))
                       AND (CAST($5 AS INTEGER) = 0 OR ($5 = 1 AND c.assignee_id IS NULL AND c.status <> 'bot') OR ($5 = 2 AND c.assignee_id = CAST($6 AS BIGINT)))
                       AND (CAST($7 AS TEXT) IS NULL OR p.name {like_op} $8 ESCAPE '\\' OR p.handle {like_op} $8 ESCAPE '\\' OR c.name {like_op} $8 ESCAPE '\\'
                            OR c.id IN ({text}))
                     ORDER BY c.last_activity_at DESC, c.id DESC LIMIT $3"
                );
                let rows = sql.rows(&list, &[&channel_id, &status, &i64::from(limit), &workspace_id, &assigned, &person, &query, &like, &reader, &bot]).await?;
                Ok(rows.iter().map(|row| ListedConversation { conversation: Conversation { unread: row.opt_int(13), ..conversation(row) }, plugin: row.text(14) }).collect())
            })
        }))
        .await
    }

    async fn mark_read(&self, person_id: i64, conversation_id: i64, scope: Scope, up_to: Option<i64>) -> StoreResult<bool> {
        self.write(body(move |sql| {
            Box::pin(async move {
                if sql.row(&conversation_in_scope_sql(2), &[&conversation_id, &scope.workspace(), &scope.bot()]).await?.is_none() {
                    return Ok(false);
                }
                if sql.execute(MARK_READ, &[&person_id, &conversation_id, &up_to]).await? == 0 {
                    return Err(StoreError::NotFound);
                }
                Ok(true)
            })
        }))
        .await
    }

    async fn update_conversation(&self, id: i64, scope: Scope, assignee: Option<Option<i64>>, status: Option<&str>, as_read: AsRead) -> StoreResult<bool> {
        let status = status.map(str::to_owned);
        // The condition's value is `$7`, after the scope's two. A conversation already as asked
        // (the same take sent twice) is changed too, to nothing new.
        let condition = match as_read {
            AsRead::Anything => "",
            AsRead::Assignee(_) => {
                " AND (assignee_id IS NOT DISTINCT FROM CAST($7 AS BIGINT) OR (CAST($2 AS BOOLEAN) AND assignee_id IS NOT DISTINCT FROM CAST($3 AS BIGINT)))"
            }
            AsRead::Status(_) => " AND (status = CAST($7 AS TEXT) OR status = CAST($4 AS TEXT))",
        };
        self.write(body(move |sql| {
            Box::pin(async move {
                let in_scope = conversation_in_scope_sql(5);
                // Assigning a conversation the bot handles takes it over for people.
                let update = format!(
                    "UPDATE conversations SET assignee_id = CASE WHEN CAST($2 AS BOOLEAN) THEN CAST($3 AS BIGINT) ELSE assignee_id END,
                     status = COALESCE(CAST($4 AS TEXT), CASE WHEN CAST($2 AS BOOLEAN) AND status = 'bot' THEN 'open' ELSE status END)
                     WHERE id = ({in_scope}){condition} RETURNING channel_id"
                );
                let (workspace, bot, assignee_set, assignee_to) = (scope.workspace(), scope.bot(), assignee.is_some(), assignee.flatten());
                let mut params: Vec<&dyn Param> = vec![&id, &assignee_set, &assignee_to, &status, &workspace, &bot];
                match &as_read {
                    AsRead::Anything => {}
                    AsRead::Assignee(assignee) => params.push(assignee),
                    AsRead::Status(status) => params.push(status),
                }
                let Some(row) = sql.row(&update, &params).await? else {
                    let found = sql.row(&conversation_in_scope_sql(2), &[&id, &workspace, &bot]).await?.is_some();
                    return if found && as_read != AsRead::Anything { Err(StoreError::ChangedMeanwhile) } else { Ok(false) };
                };
                // Every node's inbox followers hear of it (assigned, resolved, reopened).
                crate::store::pg::live::announce_in(sql, "conversation", &row.text(0), id, None).await?;
                Ok(true)
            })
        }))
        .await
    }

    async fn conversation(&self, id: i64) -> StoreResult<Option<Conversation>> {
        self.read(body(move |sql| Box::pin(async move { conversation_in(sql, id).await }))).await
    }

    async fn conversation_in_scope(&self, id: i64, scope: Scope) -> StoreResult<Option<(Conversation, Channel)>> {
        let found = self.read(body(move |sql| Box::pin(async move { conversation_with_channel_in(sql, id, scope).await }))).await?;
        found.map(|(conversation, channel)| Ok((conversation, channel.open(self.secrets())?))).transpose()
    }

    async fn channels_with_conversation(&self, external_id: &str) -> StoreResult<Vec<String>> {
        let external_id = external_id.to_owned();
        self.read(body(move |sql| {
            Box::pin(async move {
                // Case folded in ASCII only, as mail addresses are compared (Postgres's `lower`
                // folds ASCII only under the "C" collation).
                let channels = if sql.is_postgres() {
                    "SELECT DISTINCT channel_id FROM conversations WHERE lower(external_id COLLATE \"C\") = lower(CAST($1 AS TEXT) COLLATE \"C\")"
                } else {
                    "SELECT DISTINCT channel_id FROM conversations WHERE lower(external_id) = lower($1)"
                };
                Ok(sql.rows(channels, &[&external_id]).await?.iter().map(|row| row.text(0)).collect())
            })
        }))
        .await
    }

    async fn conversation_at(&self, channel_id: &str, external_id: &str) -> StoreResult<Option<Conversation>> {
        let (channel_id, external_id) = (channel_id.to_owned(), external_id.to_owned());
        self.read(body(move |sql| Box::pin(async move { conversation_at_in(sql, &channel_id, &external_id).await }))).await
    }

    async fn messages(&self, conversation_id: i64, scope: Scope, before: Option<i64>, limit: u32) -> StoreResult<Vec<Message>> {
        self.read(body(move |sql| {
            Box::pin(async move {
                let page = format!(
                    "SELECT {MESSAGE_COLUMNS} FROM (SELECT {MESSAGE_COLUMNS} FROM messages WHERE conversation_id = ({in_scope}) AND (CAST($2 AS BIGINT) IS NULL OR id < $2)
                     ORDER BY id DESC LIMIT $3) newest ORDER BY id",
                    in_scope = conversation_in_scope_sql(4)
                );
                sql.rows(&page, &[&conversation_id, &before, &i64::from(limit), &scope.workspace(), &scope.bot()]).await?.iter().map(read_message).collect()
            })
        }))
        .await
    }

    async fn last_inbound(&self, conversation_id: i64) -> StoreResult<Option<Message>> {
        self.read(body(move |sql| Box::pin(async move { last_inbound_in(sql, conversation_id).await }))).await
    }

    async fn recent_outbound_at(&self, channel_id: &str, external_id: &str, last: u32) -> StoreResult<Vec<Message>> {
        let (channel_id, external_id) = (channel_id.to_owned(), external_id.to_owned());
        self.read(body(move |sql| {
            Box::pin(async move {
                // The conversation first (its unique key), then its newest messages by
                // `messages_by_conversation`: a join ordered by message id walked every message.
                let recent = format!(
                    "SELECT {MESSAGE_COLUMNS} FROM (SELECT {MESSAGE_COLUMNS} FROM messages WHERE conversation_id = (SELECT id FROM conversations WHERE channel_id = $1 AND external_id = $2)
                     ORDER BY id DESC LIMIT $3) newest WHERE direction = 'outbound' ORDER BY id DESC"
                );
                sql.rows(&recent, &[&channel_id, &external_id, &i64::from(last)]).await?.iter().map(read_message).collect()
            })
        }))
        .await
    }

    async fn offers_choices(&self, channel_id: &str) -> StoreResult<bool> {
        let channel_id = channel_id.to_owned();
        self.read(body(move |sql| {
            Box::pin(async move { Ok(sql.row("SELECT EXISTS (SELECT 1 FROM channel_choice_offers WHERE channel_id = $1)", &[&channel_id]).await?.is_some_and(|row| row.flag(0))) })
        }))
        .await
    }

    async fn upsert_contact(&self, channel_id: &str, contact: &ContactInfo) -> StoreResult<i64> {
        let (channel_id, contact) = (channel_id.to_owned(), contact.clone());
        self.write(body(move |sql| {
            Box::pin(async move {
                let row = sql.row(UPSERT_CONTACT, &[&channel_id, &contact.external_id, &contact.name, &contact.handle, &now_ms()]).await?;
                Ok(row.expect("an upsert returns its row").int(0))
            })
        }))
        .await
    }

    async fn disabled_templates(&self, channel_id: &str, scope: Scope) -> StoreResult<BTreeSet<String>> {
        let channel_id = channel_id.to_owned();
        self.read(body(move |sql| {
            Box::pin(async move {
                let disabled = format!("SELECT name FROM template_switches WHERE channel_id = {} AND NOT enabled", channel_in_scope_sql(2));
                Ok(sql.rows(&disabled, &[&channel_id, &scope.workspace()]).await?.iter().map(|row| row.text(0)).collect())
            })
        }))
        .await
    }

    async fn template_enabled(&self, channel_id: &str, scope: Scope, name: &str) -> StoreResult<bool> {
        let (channel_id, name) = (channel_id.to_owned(), name.to_owned());
        self.read(body(move |sql| {
            Box::pin(async move {
                let switch = format!("SELECT enabled FROM template_switches WHERE channel_id = {} AND name = $2", channel_in_scope_sql(3));
                let switch = sql.row(&switch, &[&channel_id, &name, &scope.workspace()]).await?;
                Ok(switch.is_none_or(|row| row.flag(0)))
            })
        }))
        .await
    }

    async fn set_template_enabled(&self, channel_id: &str, scope: Scope, name: &str, enabled: bool) -> StoreResult<()> {
        let (channel_id, name) = (channel_id.to_owned(), name.to_owned());
        let switched = self
            .write(body(move |sql| {
                Box::pin(async move {
                    let switch = format!(
                        "INSERT INTO template_switches (channel_id, name, enabled, updated_at) SELECT id, $2, $3, $4 FROM channels WHERE id = {}
                         ON CONFLICT (channel_id, name) DO UPDATE SET enabled = excluded.enabled, updated_at = excluded.updated_at",
                        channel_in_scope_sql(5)
                    );
                    sql.execute(&switch, &[&channel_id, &name, &enabled, &now_ms(), &scope.workspace()]).await
                })
            }))
            .await?;
        if switched == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    async fn forget_template(&self, channel_id: &str, scope: Scope, name: &str) -> StoreResult<()> {
        let (channel_id, name) = (channel_id.to_owned(), name.to_owned());
        self.write(body(move |sql| {
            Box::pin(async move {
                let forget = format!("DELETE FROM template_switches WHERE channel_id = {} AND name = $2", channel_in_scope_sql(3));
                sql.execute(&forget, &[&channel_id, &name, &scope.workspace()]).await.map(drop)
            })
        }))
        .await
    }

    async fn hold_resource(&self, channel_id: &str, resource: &str) -> StoreResult<Hold> {
        let (channel_id, resource) = (channel_id.to_owned(), resource.to_owned());
        self.write(body(move |sql| {
            Box::pin(async move {
                // Takes turns with a release of the resource (see `release_resource`): a
                // release marked before this is seen, and one after it counts this hold.
                lock_resource_holds(sql, &resource).await?;
                let releasing = "SELECT channel_id FROM resource_holds WHERE resource = $1 AND channel_id <> $2 AND releasing_until > $3 LIMIT 1";
                if let Some(row) = sql.row(releasing, &[&resource, &channel_id, &now_ms()]).await? {
                    return Ok(Hold::Releasing { by: row.text(0) });
                }
                // Nodes adding the same hold at once: one inserts, the others change nothing; a
                // channel's own release, should it hold again, is over.
                let hold = "INSERT INTO resource_holds (resource, channel_id) VALUES ($1, $2) ON CONFLICT (resource, channel_id) DO UPDATE SET releasing_until = NULL";
                sql.execute(hold, &[&resource, &channel_id]).await?;
                Ok(Hold::Held)
            })
        }))
        .await
    }

    async fn release_resource(&self, channel_id: &str, resource: &str, releasing_until: i64) -> StoreResult<bool> {
        let (channel_id, resource) = (channel_id.to_owned(), resource.to_owned());
        self.write(body(move |sql| {
            Box::pin(async move {
                lock_resource_holds(sql, &resource).await?;
                // Holders releasing (or whose release lapsed) rely on it no more.
                let others = "SELECT COUNT(*) FROM resource_holds WHERE resource = $1 AND channel_id <> $2 AND releasing_until IS NULL";
                let others = sql.row(others, &[&resource, &channel_id]).await?.map_or(0, |row| row.int(0));
                if others > 0 {
                    sql.execute("DELETE FROM resource_holds WHERE resource = $1 AND channel_id = $2", &[&resource, &channel_id]).await?;
                } else {
                    sql.execute("UPDATE resource_holds SET releasing_until = $3 WHERE resource = $1 AND channel_id = $2", &[&resource, &channel_id, &releasing_until]).await?;
                }
                Ok(others > 0)
            })
        }))
        .await
    }

    async fn mark_needs_reconnect(&self, channel_id: &str, reason: &str, read_at: i64) -> StoreResult<()> {
        let (channel_id, reason) = (channel_id.to_owned(), storable(reason));
        self.write(body(move |sql| {
            Box::pin(async move {
                // A later refusal updates the reason and keeps the first time.
                let mark = "INSERT INTO channel_reconnect (channel_id, reason, since)
                            SELECT $1, $2, $3 WHERE EXISTS (SELECT 1 FROM channels WHERE id = $1 AND updated_at = $4)
                            ON CONFLICT (channel_id) DO UPDATE SET reason = excluded.reason";
                sql.execute(mark, &[&channel_id, &reason, &now_ms(), &read_at]).await.map(drop)
            })
        }))
        .await
    }

    async fn clear_needs_reconnect(&self, channel_id: &str) -> StoreResult<()> {
        let channel_id = channel_id.to_owned();
        self.write(body(move |sql| Box::pin(async move { sql.execute("DELETE FROM channel_reconnect WHERE channel_id = $1", &[&channel_id]).await.map(drop) }))).await
    }

    async fn needs_reconnect(&self, channel_id: &str, scope: Scope) -> StoreResult<Option<Reconnect>> {
        let channel_id = channel_id.to_owned();
        self.read(body(move |sql| {
            Box::pin(async move {
                let reconnect = format!("SELECT reason, since FROM channel_reconnect WHERE channel_id = {}", channel_in_scope_sql(2));
                Ok(sql.row(&reconnect, &[&channel_id, &scope.workspace()]).await?.map(|row| Reconnect { reason: row.text(0), since: row.int(1) }))
            })
        }))
        .await
    }

    async fn record_audit(&self, entry: NewAuditEntry<'_>) -> StoreResult<()> {
        let NewAuditEntry { workspace_id, actor, address, action, target, detail } = entry;
        let (actor, address, action, target, detail) = (actor.to_owned(), address.map(str::to_owned), action.to_owned(), target.map(str::to_owned), detail.map(str::to_owned));
        self.write(body(move |sql| {
            Box::pin(async move {
                let record = "INSERT INTO audit_log (at, workspace_id, actor, address, action, target, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)";
                sql.execute(record, &[&now_ms(), &workspace_id, &actor, &address, &action, &target, &detail]).await.map(drop)
            })
        }))
        .await
    }

    async fn audit_log(&self, filter: &AuditFilter, limit: u32) -> StoreResult<Vec<AuditEntry>> {
        let (filter, actor) = (filter.clone(), actor_pattern(filter));
        self.read(body(move |sql| {
            Box::pin(async move {
                let params: [&dyn Param; 7] = [&filter.workspace_id, &filter.before, &filter.action, &actor, &filter.since, &filter.until, &i64::from(limit)];
                Ok(sql.rows(&audit_log_sql(), &params).await?.iter().map(audit_row).collect())
            })
        }))
        .await
    }
}

/// The `LIKE` operator names and handles are matched with, and the conversations whose message
/// text matches the query bound to `$7`, in this dialect.
///
/// Where the two differ: FTS5 folds diacritics ("kopi" finds "kopí"), Postgres does not; and
/// Postgres's parser keeps an email address, a host, a URL or a decimal number as one token, so
/// a part of one ("example" of "siti@example.com") is found on SQLite only, while the whole
/// address, or its beginning, is found on both.
fn text_match(sql: &dyn Sql) -> (&'static str, &'static str) {
    if sql.is_postgres() {
        ("ILIKE", "SELECT m.conversation_id FROM messages m WHERE m.text_search @@ to_tsquery('simple', $7)")
    } else {
        ("LIKE", "SELECT m.conversation_id FROM message_text JOIN messages m ON m.id = message_text.rowid WHERE message_text MATCH $7")
    }
}

/// A search's words as an FTS5 query: each word a quoted prefix, all required.
pub(crate) fn fts_query(words: &[impl AsRef<str>]) -> String {
    words.iter().map(|w| format!("\"{}\"*", w.as_ref())).collect::<Vec<_>>().join(" ")
}

/// A search's words as a Postgres text query: each word a prefix, all of them in one message, as
/// FTS5's. Each word is quoted (it holds only letters, digits, `@`, `_` and `.`, so nothing in
/// it is syntax) and cut into lexemes by the parser that indexed the messages (`simple`:
/// lowercased, no stemming, no stop words).
pub(crate) fn pg_text_query(words: &[impl AsRef<str>]) -> String {
    words.iter().map(|word| format!("'{}':*", word.as_ref())).collect::<Vec<_>>().join(" & ")
}

#[cfg(test)]
mod tests {
    use super::{fts_query, pg_text_query};
    use crate::store::conversations::{like_pattern, search_words};

    #[test]
    fn searches_become_queries_with_nothing_in_them_as_syntax() {
        assert_eq!(fts_query(&search_words("paket rusak")), "\"paket\"* \"rusak\"*");
        // FTS5 syntax in the input is not syntax: quotes, NEAR, columns, stars are dropped.
        assert_eq!(fts_query(&search_words("\"a\" OR text:b*")), "\"a\"* \"OR\"* \"text\"* \"b\"*");
        assert_eq!(like_pattern("100%_x"), "%100\\%\\_x%");
        assert!(search_words(" ?! ").is_empty());
        assert_eq!(pg_text_query(&search_words("paket rusak")), "'paket':* & 'rusak':*");
        // Quotes, operators and weights are dropped; `@` and `.` inside a word stay.
        assert_eq!(pg_text_query(&search_words("'kopi' | !teh:* siti@toko.id")), "'kopi':* & 'teh':* & 'siti@toko.id':*");
        assert_eq!(pg_text_query(&search_words("it's")), "'it':* & 's':*");
    }
}

/// Locks a resource's holds for the rest of the write (Postgres; SQLite's one writer takes
/// turns anyway), in one order so that two never deadlock. Holds and releases of the resource
/// then take turns: the second counts, and sees the marks of, what the first committed.
async fn lock_resource_holds(sql: &dyn Sql, resource: &str) -> StoreResult<()> {
    if sql.is_postgres() {
        sql.rows("SELECT channel_id FROM resource_holds WHERE resource = $1 ORDER BY channel_id COLLATE \"C\" FOR UPDATE", &[&resource]).await?;
    }
    Ok(())
}
