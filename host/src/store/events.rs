//! Recording a webhook's events (`model::EventRecord`): every event a plugin reported for one
//! channel, stored in one transaction (acknowledged means stored), deduplicated on the
//! provider's ids (`backend::MessageStore::record_events`). Here: SQLite's `StoresEvents` (one
//! group commit) and the bodies both backends share: a status, a read watermark, a contact's
//! profile (`record_update_in`) and a new message's files (`record_files_in`). A customer's
//! message is stored by each backend's own statements (`messages.rs`, `pg/messages.rs`), and
//! Postgres's `StoresEvents` is in `pg/events.rs`.

use std::sync::LazyLock;

use rusqlite::Connection;

use super::backend::StoresEvents;
use super::contacts::UPSERT_CONTACT;
use super::media::blob_in;
use super::messages;
use super::model::{DeliveryStatus, EventRecord, FileRecord, RecordedEvents};
use super::pg::live::announce_in;
use super::row::ReadRow;
use super::sql::{Sql, on_sqlite};
use super::{Db, StoreResult, now_ms};

#[async_trait::async_trait]
impl StoresEvents for Db {
    /// A channel's events in one group commit.
    async fn store_events(&self, channel_id: &str, events: Vec<EventRecord>) -> StoreResult<RecordedEvents> {
        if events.is_empty() {
            return Ok(RecordedEvents::default());
        }
        let channel_id = channel_id.to_owned();
        self.write(move |conn| {
            let mut recorded = RecordedEvents::default();
            for event in &events {
                record_in(conn, &channel_id, event, &mut recorded)?;
            }
            Ok(recorded)
        })
        .await
    }
}

fn record_in(conn: &Connection, channel_id: &str, event: &EventRecord, recorded: &mut RecordedEvents) -> StoreResult<()> {
    // A customer's message by SQLite's own statements (the webhook path's hot loop); the rest,
    // and a new message's files, by the bodies both backends share.
    if let EventRecord::Message { inbound, files } = event {
        let Some(message) = messages::record_inbound_in(conn, channel_id, inbound)? else { return Ok(()) };
        if !files.is_empty() {
            let (channel, id, files) = (channel_id.to_owned(), message.id, files.clone());
            recorded.fetches += on_sqlite(conn, move |sql| Box::pin(async move { record_files_in(sql, &channel, id, &files).await }))?;
        }
        recorded.stored += 1;
        recorded.messages.push(message);
        return Ok(());
    }
    let (channel, event) = (channel_id.to_owned(), event.clone());
    recorded.add(on_sqlite(conn, move |sql| Box::pin(async move { record_update_in(sql, &channel, &event).await }))?);
    Ok(())
}

/// A stored status's rank in SQL, made from [`DeliveryStatus::rank`] (one mapping, not a copy):
/// statuses are compared inside the UPDATE itself, so nodes applying statuses at once can only
/// move a message forward (Postgres re-checks the condition on the row it locked).
static RANK_OF_STATUS: LazyLock<String> = LazyLock::new(|| {
    let ranks: String = DeliveryStatus::ALL.iter().map(|status| format!(" WHEN '{}' THEN {}", status.as_str(), status.rank())).collect();
    format!("CASE status{ranks} END")
});

/// An event that is not a customer's message, inside the caller's transaction, one body for
/// both backends: a delivery status (by the provider's message id), a read watermark (every
/// outbound message of a conversation sent up to a time), a contact's profile. A status never
/// moves a message back, a watermark never touches a failed one; each change is announced to
/// every node (Postgres). A customer's message is stored by each backend's own statements
/// (SQLite's `messages::record_inbound_in`, Postgres's one or batched statement): nothing here.
pub(crate) async fn record_update_in(sql: &dyn Sql, channel_id: &str, event: &EventRecord) -> StoreResult<RecordedEvents> {
    let mut recorded = RecordedEvents::default();
    match event {
        EventRecord::Message { .. } => {}
        EventRecord::Status { provider_message_id, status, error } => {
            // The message found once, then moved forward by its key.
            let find = "SELECT id, conversation_id FROM messages WHERE channel_id = $1 AND direction = 'outbound' AND provider_message_id = $2";
            let Some(row) = sql.row(find, &[&channel_id, provider_message_id]).await? else { return Ok(recorded) };
            let (message, conversation) = (row.int(0), row.int(1));
            static FORWARD: LazyLock<String> =
                LazyLock::new(|| format!("UPDATE messages SET status = $1, error = COALESCE($2, error), updated_at = $3 WHERE id = $4 AND {rank} < $5", rank = *RANK_OF_STATUS));
            sql.execute(&FORWARD, &[&status.as_str(), error, &now_ms(), &message, &status.rank()]).await?;
            announce_in(sql, "status", channel_id, conversation, Some(message)).await?;
            recorded.stored = 1;
            recorded.statuses.push((conversation, Some(message)));
        }
        EventRecord::Watermark { conversation_external_id, up_to_ms, status } => {
            // The conversation found once, then its outbound messages moved forward.
            let Some(row) = sql.row(super::conversations::ID_BY_KEY, &[&channel_id, conversation_external_id]).await? else { return Ok(recorded) };
            let conversation = row.int(0);
            static FORWARD: LazyLock<String> = LazyLock::new(|| {
                format!(
                    "UPDATE messages SET status = $1, updated_at = $2
                     WHERE conversation_id = $3 AND direction = 'outbound' AND created_at <= $4 AND provider_message_id IS NOT NULL
                       AND status <> 'failed' AND {rank} < $5",
                    rank = *RANK_OF_STATUS
                )
            });
            recorded.stored = sql.execute(&FORWARD, &[&status.as_str(), &now_ms(), &conversation, up_to_ms, &status.rank()]).await? as usize;
            if recorded.stored > 0 {
                announce_in(sql, "status", channel_id, conversation, None).await?;
                recorded.statuses.push((conversation, None));
            }
        }
        EventRecord::Contact(contact) => {
            // Its id, returned, is not needed (`row`: a statement that returns rows is not an `execute` on SQLite).
            sql.row(UPSERT_CONTACT, &[&channel_id, &contact.external_id, &contact.name, &contact.handle, &now_ms()]).await?;
            recorded.stored = 1;
        }
    }
    Ok(recorded)
}

/// A new message's files, inside the transaction that stores it, one body for both backends:
/// kept bytes (`files.keep`, already in the media files) recorded as stored, or a fetch job any
/// node's fetcher takes; how many fetches were queued.
pub(crate) async fn record_files_in(sql: &dyn Sql, channel_id: &str, message_id: i64, files: &[FileRecord]) -> StoreResult<usize> {
    let (now, mut fetches) = (now_ms(), 0);
    for file in files {
        match file {
            FileRecord::Fetch { position, filename } => {
                let queue = "INSERT INTO media (workspace_id, channel_id, message_id, position, state, filename, next_attempt_at, created_at, updated_at)
                     SELECT workspace_id, id, $1, $2, 'pending', $3, $4, $4, $4 FROM channels WHERE id = $5";
                sql.execute(queue, &[&message_id, &(*position as i32), filename, &now, &channel_id]).await?;
                fetches += 1;
            }
            FileRecord::Kept { position, filename, bytes } => {
                let keep = "INSERT INTO media (workspace_id, channel_id, message_id, position, state, sha256, size, mime_type, filename, created_at, updated_at)
                     SELECT workspace_id, id, $1, $2, 'stored', $3, $4, $5, $6, $7, $7 FROM channels WHERE id = $8";
                sql.execute(keep, &[&message_id, &(*position as i32), &bytes.sha256, &bytes.size, &bytes.mime_type, filename, &now, &channel_id]).await?;
                blob_in(sql, bytes).await?;
            }
        }
    }
    Ok(fetches)
}
