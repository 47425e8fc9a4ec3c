//! The inbox over Postgres: the same rows and answers as SQLite's, safe with several nodes at
//! once. A read marker only moves forward (the larger of the stored and the new one, decided
//! in the upsert itself); a hold is one row whichever nodes add it (`ON CONFLICT DO NOTHING`);
//! holders releasing a resource at once take turns on its rows, so exactly one learns it was
//! the last.
//!
//! Search differs from SQLite's FTS5 in how text is cut into words (see [`text_query`]).

use std::collections::BTreeSet;

use tokio_postgres::Row;

use super::PgStore;
use super::messages::{COLUMNS as MESSAGE_COLUMNS, message};
use crate::store::audit::{AuditEntry, AuditFilter, NewAuditEntry, actor_pattern, audit_log_sql, audit_row};
use crate::store::backend::InboxStore;
use crate::store::contacts::ContactInfo;
use crate::store::conversations::{
    Assigned, CONVERSATION_COLUMNS, CONVERSATION_FROM, Conversation, ConversationFilter, RawConversation, like_pattern, search_words,
};
use crate::store::messages::Message;
use crate::store::reconnect::Reconnect;
use crate::store::{StoreResult, now_ms};

pub(super) fn conversation(row: &Row) -> Conversation {
    RawConversation {
        id: row.get(0),
        channel_id: row.get(1),
        external_id: row.get(2),
        name: row.get(3),
        status: row.get(4),
        last_inbound_at: row.get(5),
        last_activity_at: row.get(6),
        created_at: row.get(7),
        contact_id: row.get(8),
        contact_external_id: row.get(9),
        contact_name: row.get(10),
        contact_handle: row.get(11),
        assignee_id: row.get(12),
    }
    .into_conversation()
}

/// A search's words as a Postgres text query: each word a prefix, all of them in one message,
/// as SQLite's FTS5 query. Each word is quoted (it holds only letters, digits, `@`, `_` and
/// `.`, so nothing in it is syntax) and cut into lexemes by the same parser that indexed the
/// messages (`simple`: lowercased, no stemming, no stop words).
///
/// Where the two backends differ: FTS5 folds diacritics ("kopi" finds "kopí"), Postgres does
/// not; and Postgres's parser keeps an email address, a host, a URL or a decimal number as one
/// token, so a part of one ("example" of "siti@example.com") is found on SQLite only, while
/// the whole address, or its beginning, is found on both.
pub(crate) fn text_query(words: &[&str]) -> String {
    words.iter().map(|word| format!("'{word}':*")).collect::<Vec<_>>().join(" & ")
}

#[async_trait::async_trait]
impl InboxStore for PgStore {
    /// As SQLite's, except how a search matches: message text as [`text_query`] says, and
    /// names and handles with `ILIKE` (case folded beyond ASCII; SQLite's `LIKE` folds ASCII only).
    async fn conversations(&self, filter: &ConversationFilter<'_>, limit: u32) -> StoreResult<Vec<Conversation>> {
        let (query, like) = match filter.search {
            Some(search) => {
                let words = search_words(search);
                if words.is_empty() {
                    // Nothing searchable in it (punctuation only): nothing matches.
                    return Ok(Vec::new());
                }
                (Some(text_query(&words)), Some(like_pattern(search)))
            }
            None => (None, None),
        };
        let (assigned, person): (i32, Option<i64>) = match filter.assigned {
            Assigned::Anyone => (0, None),
            Assigned::Nobody => (1, None),
            Assigned::To(person) => (2, Some(person)),
        };
        let client = self.client().await?;
        let statement = client
            .prepare_cached(&format!(
                "SELECT {CONVERSATION_COLUMNS},
                    CASE WHEN $9::bigint IS NULL THEN NULL ELSE (SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id AND m.direction = 'inbound'
                        AND m.id > COALESCE((SELECT r.last_read_message_id FROM conversation_reads r WHERE r.person_id = $9 AND r.conversation_id = c.id), 0)) END
                 FROM {CONVERSATION_FROM}
                 WHERE ($1::text IS NULL OR c.channel_id = $1) AND ($2::text IS NULL OR c.status = $2)
                   AND ($4::bigint IS NULL OR c.channel_id IN (SELECT id FROM channels WHERE workspace_id = $4))
                   AND ($10::bigint IS NULL OR c.channel_id IN (SELECT channel_id FROM channel_bots WHERE token_id = $10))
                   AND ($5::integer = 0 OR ($5 = 1 AND c.assignee_id IS NULL AND c.status <> 'bot') OR ($5 = 2 AND c.assignee_id = $6::bigint))
                   AND ($7::text IS NULL OR p.name ILIKE $8::text ESCAPE '\\' OR p.handle ILIKE $8 ESCAPE '\\' OR c.name ILIKE $8 ESCAPE '\\'
                        OR c.id IN (SELECT m.conversation_id FROM messages m WHERE m.text_search @@ to_tsquery('simple', $7)))
                 ORDER BY c.last_activity_at DESC, c.id DESC LIMIT $3::bigint"
            ))
            .await?;
        let rows = client
            .query(
                &statement,
                &[&filter.channel_id, &filter.status, &i64::from(limit), &filter.workspace_id, &assigned, &person, &query, &like, &filter.reader, &filter.bot],
            )
            .await?;
        Ok(rows.iter().map(|row| Conversation { unread: row.get(13), ..conversation(row) }).collect())
    }

    async fn mark_read(&self, person_id: i64, conversation_id: i64, up_to: Option<i64>) -> StoreResult<()> {
        let client = self.client().await?;
        // One statement: a node marking an older message than another just did (a page that
        // lagged) keeps the newer mark, whichever commits first.
        let statement = client
            .prepare_cached(
                "INSERT INTO conversation_reads (person_id, conversation_id, last_read_message_id)
                 SELECT $1::bigint, $2::bigint, COALESCE($3::bigint, (SELECT MAX(id) FROM messages WHERE conversation_id = $2), 0)
                 ON CONFLICT (person_id, conversation_id) DO UPDATE
                    SET last_read_message_id = GREATEST(conversation_reads.last_read_message_id, excluded.last_read_message_id)",
            )
            .await?;
        client.execute(&statement, &[&person_id, &conversation_id, &up_to]).await?;
        Ok(())
    }

    async fn update_conversation(&self, id: i64, assignee: Option<Option<i64>>, status: Option<&str>) -> StoreResult<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let statement = tx
            .prepare_cached(
                "UPDATE conversations SET assignee_id = CASE WHEN $2::boolean THEN $3::bigint ELSE assignee_id END,
                    status = COALESCE($4::text, CASE WHEN $2::boolean AND status = 'bot' THEN 'open' ELSE status END)
                 WHERE id = $1 RETURNING channel_id",
            )
            .await?;
        // Every node's inbox followers hear of it (assigned, resolved, reopened).
        if let Some(row) = tx.query_opt(&statement, &[&id, &assignee.is_some(), &assignee.flatten(), &status]).await? {
            let channel_id: String = row.get(0);
            super::live::announce(&tx, "conversation", &channel_id, id, None).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn conversation(&self, id: i64) -> StoreResult<Option<Conversation>> {
        let client = self.client().await?;
        let statement = client.prepare_cached(&format!("SELECT {CONVERSATION_COLUMNS} FROM {CONVERSATION_FROM} WHERE c.id = $1")).await?;
        Ok(client.query_opt(&statement, &[&id]).await?.map(|row| conversation(&row)))
    }

    async fn channels_with_conversation(&self, external_id: &str) -> StoreResult<Vec<String>> {
        let client = self.client().await?;
        // Under the "C" collation `lower` folds ASCII letters only, as SQLite's does.
        let statement = client
            .prepare_cached("SELECT DISTINCT channel_id FROM conversations WHERE lower(external_id COLLATE \"C\") = lower($1::text COLLATE \"C\")")
            .await?;
        Ok(client.query(&statement, &[&external_id]).await?.iter().map(|row| row.get(0)).collect())
    }

    async fn conversation_at(&self, channel_id: &str, external_id: &str) -> StoreResult<Option<Conversation>> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached(&format!("SELECT {CONVERSATION_COLUMNS} FROM {CONVERSATION_FROM} WHERE c.channel_id = $1 AND c.external_id = $2"))
            .await?;
        Ok(client.query_opt(&statement, &[&channel_id, &external_id]).await?.map(|row| conversation(&row)))
    }

    async fn messages(&self, conversation_id: i64, before: Option<i64>, limit: u32) -> StoreResult<Vec<Message>> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached(&format!(
                "SELECT {MESSAGE_COLUMNS} FROM (SELECT {MESSAGE_COLUMNS} FROM messages WHERE conversation_id = $1 AND ($2::bigint IS NULL OR id < $2)
                 ORDER BY id DESC LIMIT $3::bigint) newest ORDER BY id"
            ))
            .await?;
        client.query(&statement, &[&conversation_id, &before, &i64::from(limit)]).await?.iter().map(message).collect()
    }

    async fn recent_outbound_at(&self, channel_id: &str, external_id: &str, last: u32) -> StoreResult<Vec<Message>> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached(&format!(
                "SELECT {MESSAGE_COLUMNS} FROM (SELECT * FROM messages WHERE conversation_id = (SELECT id FROM conversations WHERE channel_id = $1 AND external_id = $2)
                 ORDER BY id DESC LIMIT $3::bigint) newest WHERE direction = 'outbound' ORDER BY id DESC"
            ))
            .await?;
        client.query(&statement, &[&channel_id, &external_id, &i64::from(last)]).await?.iter().map(message).collect()
    }

    async fn offers_choices(&self, channel_id: &str) -> StoreResult<bool> {
        let client = self.client().await?;
        let statement = client.prepare_cached("SELECT EXISTS (SELECT 1 FROM channel_choice_offers WHERE channel_id = $1)").await?;
        Ok(client.query_one(&statement, &[&channel_id]).await?.get(0))
    }

    async fn last_inbound(&self, conversation_id: i64) -> StoreResult<Option<Message>> {
        let client = self.client().await?;
        // NULLS LAST: SQLite sorts NULL lowest, so last in a descending order.
        let statement = client
            .prepare_cached(&format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages WHERE conversation_id = $1 AND direction = 'inbound'
                 ORDER BY provider_timestamp DESC NULLS LAST, id DESC LIMIT 1"
            ))
            .await?;
        client.query_opt(&statement, &[&conversation_id]).await?.as_ref().map(message).transpose()
    }

    async fn upsert_contact(&self, channel_id: &str, contact: &ContactInfo) -> StoreResult<i64> {
        let client = self.client().await?;
        let statement = client.prepare_cached(super::messages::UPSERT_CONTACT).await?;
        Ok(client.query_one(&statement, &[&channel_id, &contact.external_id, &contact.name, &contact.handle, &now_ms()]).await?.get(0))
    }

    async fn disabled_templates(&self, channel_id: &str) -> StoreResult<BTreeSet<String>> {
        let client = self.client().await?;
        let statement = client.prepare_cached("SELECT name FROM template_switches WHERE channel_id = $1 AND NOT enabled").await?;
        Ok(client.query(&statement, &[&channel_id]).await?.iter().map(|row| row.get(0)).collect())
    }

    async fn template_enabled(&self, channel_id: &str, name: &str) -> StoreResult<bool> {
        let client = self.client().await?;
        let statement = client.prepare_cached("SELECT enabled FROM template_switches WHERE channel_id = $1 AND name = $2").await?;
        let enabled: Option<bool> = client.query_opt(&statement, &[&channel_id, &name]).await?.map(|row| row.get(0));
        Ok(enabled.unwrap_or(true))
    }

    async fn set_template_enabled(&self, channel_id: &str, name: &str, enabled: bool) -> StoreResult<()> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached(
                "INSERT INTO template_switches (channel_id, name, enabled, updated_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (channel_id, name) DO UPDATE SET enabled = excluded.enabled, updated_at = excluded.updated_at",
            )
            .await?;
        client.execute(&statement, &[&channel_id, &name, &enabled, &now_ms()]).await?;
        Ok(())
    }

    async fn forget_template(&self, channel_id: &str, name: &str) -> StoreResult<()> {
        self.client().await?.execute("DELETE FROM template_switches WHERE channel_id = $1 AND name = $2", &[&channel_id, &name]).await?;
        Ok(())
    }

    async fn hold_resource(&self, channel_id: &str, resource: &str) -> StoreResult<()> {
        // Nodes adding the same hold at once: one inserts, the others change nothing.
        let client = self.client().await?;
        let statement = client.prepare_cached("INSERT INTO resource_holds (resource, channel_id) VALUES ($1, $2) ON CONFLICT DO NOTHING").await?;
        client.execute(&statement, &[&resource, &channel_id]).await?;
        Ok(())
    }

    async fn release_resource(&self, channel_id: &str, resource: &str) -> StoreResult<bool> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        // The resource's holds locked first (in one order, so releases never deadlock): two
        // holders releasing at once take turns, and the second counts after the first's delete
        // (each statement sees what committed before it), so one of them is told it was the last.
        let lock = tx.prepare_cached("SELECT channel_id FROM resource_holds WHERE resource = $1 ORDER BY channel_id COLLATE \"C\" FOR UPDATE").await?;
        tx.query(&lock, &[&resource]).await?;
        let release = tx.prepare_cached("DELETE FROM resource_holds WHERE resource = $1 AND channel_id = $2").await?;
        tx.execute(&release, &[&resource, &channel_id]).await?;
        let count = tx.prepare_cached("SELECT COUNT(*) FROM resource_holds WHERE resource = $1").await?;
        let others: i64 = tx.query_one(&count, &[&resource]).await?.get(0);
        tx.commit().await?;
        Ok(others > 0)
    }

    async fn mark_needs_reconnect(&self, channel_id: &str, reason: &str) -> StoreResult<()> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached(
                "INSERT INTO channel_reconnect (channel_id, reason, since) VALUES ($1, $2, $3)
                 ON CONFLICT (channel_id) DO UPDATE SET reason = excluded.reason",
            )
            .await?;
        client.execute(&statement, &[&channel_id, &reason, &now_ms()]).await?;
        Ok(())
    }

    async fn clear_needs_reconnect(&self, channel_id: &str) -> StoreResult<()> {
        self.client().await?.execute("DELETE FROM channel_reconnect WHERE channel_id = $1", &[&channel_id]).await?;
        Ok(())
    }

    async fn needs_reconnect(&self, channel_id: &str) -> StoreResult<Option<Reconnect>> {
        let client = self.client().await?;
        let statement = client.prepare_cached("SELECT reason, since FROM channel_reconnect WHERE channel_id = $1").await?;
        Ok(client.query_opt(&statement, &[&channel_id]).await?.map(|row| Reconnect { reason: row.get(0), since: row.get(1) }))
    }

    async fn record_audit(&self, entry: NewAuditEntry<'_>) -> StoreResult<()> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached("INSERT INTO audit_log (at, workspace_id, actor, address, action, target, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .await?;
        client
            .execute(&statement, &[&now_ms(), &entry.workspace_id, &entry.actor, &entry.address, &entry.action, &entry.target, &entry.detail])
            .await?;
        Ok(())
    }

    async fn audit_log(&self, filter: &AuditFilter, limit: u32) -> StoreResult<Vec<AuditEntry>> {
        let client = self.client().await?;
        let statement = client.prepare_cached(&audit_log_sql()).await?;
        let (actor, limit) = (actor_pattern(filter), i64::from(limit));
        let rows = client.query(&statement, &[&filter.workspace_id, &filter.before, &filter.action, &actor, &filter.since, &filter.until, &limit]).await?;
        Ok(rows.iter().map(audit_row).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::text_query;
    use crate::store::conversations::search_words;

    #[test]
    fn searches_become_prefix_text_queries_with_nothing_in_them_as_syntax() {
        assert_eq!(text_query(&search_words("paket rusak")), "'paket':* & 'rusak':*");
        // Quotes, operators and weights in the input are dropped; `@` and `.` inside a word stay.
        assert_eq!(text_query(&search_words("'kopi' | !teh:* siti@toko.id")), "'kopi':* & 'teh':* & 'siti@toko.id':*");
        assert_eq!(text_query(&search_words("it's")), "'it':* & 's':*");
    }
}
