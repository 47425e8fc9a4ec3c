//! The outbox: outbound messages waiting for delivery, with attempts and the next try time.

use rusqlite::params;

use super::channels::Channel;
use super::conversations::Conversation;
use super::media::MediaFile;
use super::messages::Message;
use super::{Db, Scope, StoreResult, now_ms, Cached};

#[derive(Debug, Clone)]
pub struct PendingDelivery {
    pub message_id: i64,
    pub channel_id: String,
    pub attempts: u32,
}

/// Everything a delivery attempt reads before it calls the plugin, read in one store call (on
/// Postgres, one flight of pipelined queries): the message, its channel (none: deleted) and
/// whether that channel's workspace is suspended, its conversation (none: deleted) with the
/// customer's last message (the messaging window and the provider's reply context), and the
/// message's files.
#[derive(Debug, Clone)]
pub struct DeliveryContext {
    pub message: Message,
    pub channel: Option<Channel>,
    pub workspace_suspended: bool,
    pub conversation: Option<Conversation>,
    pub last_inbound: Option<Message>,
    pub files: Vec<MediaFile>,
}

/// A list as SQLite's `json_each` reads it (one parameter, however long the list).
fn json_list<T: serde::Serialize>(items: &[T]) -> String {
    serde_json::to_string(items).unwrap_or_else(|_| "[]".into())
}

impl Db {
    /// [`DeliveryContext`] of a queued message; `None` when the message is gone. One read
    /// connection, one blocking hop: the shared reads in turn (SQLite answers each at once).
    pub fn delivery_context(&self, message_id: i64, channel_id: &str) -> StoreResult<Option<DeliveryContext>> {
        use super::{conversations::conversation_in, media::media_of_messages_in, messages::{last_inbound_in, message_in}, workspaces::channel_suspended_in};
        let channel_id = channel_id.to_owned();
        let read = super::sql::on_sqlite(&self.reader(), move |sql| {
            Box::pin(async move {
                let Some(message) = message_in(sql, message_id).await? else { return Ok(None) };
                let channel = super::channels::channel_in(sql, &channel_id, Scope::Every).await?;
                let workspace_suspended = channel_suspended_in(sql, &channel_id).await?;
                let conversation = conversation_in(sql, message.conversation_id).await?;
                let last_inbound = last_inbound_in(sql, message.conversation_id).await?;
                let files = media_of_messages_in(sql, &super::sql::Ids::from(&[message_id][..])).await?;
                Ok(Some((message, channel, workspace_suspended, conversation, last_inbound, files)))
            })
        })?;
        let Some((message, channel, workspace_suspended, conversation, last_inbound, files)) = read else { return Ok(None) };
        let channel = channel.map(|raw| raw.open(&self.secrets)).transpose()?;
        Ok(Some(DeliveryContext { message, channel, workspace_suspended, conversation, last_inbound, files }))
    }

    /// Deliveries due now, oldest first, that may start: each the oldest message of its
    /// conversation still in the outbox (the next waits until it is sent or failed), not one
    /// already being delivered (`in_flight`), not of a channel that may not start another now
    /// (`paused`: at its concurrency or rate limit).
    pub fn due_deliveries(&self, limit: u32, in_flight: &[i64], paused: &[String]) -> StoreResult<Vec<PendingDelivery>> {
        let conn = self.reader();
        let mut statement = conn.prepare_cached(
            "SELECT o.message_id, o.channel_id, o.attempts FROM outbox o
             WHERE o.next_attempt_at <= ?1
               AND o.message_id = (SELECT MIN(e.message_id) FROM outbox e WHERE e.conversation_id IS o.conversation_id)
               AND o.message_id NOT IN (SELECT value FROM json_each(?3))
               AND o.channel_id NOT IN (SELECT value FROM json_each(?4))
             ORDER BY o.next_attempt_at, o.message_id LIMIT ?2",
        )?;
        let rows = statement.query_map(params![now_ms(), limit, json_list(in_flight), json_list(paused)], |row| {
            Ok(PendingDelivery { message_id: row.get(0)?, channel_id: row.get(1)?, attempts: row.get(2)? })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Messages waiting in the outbox, and when the oldest of them was queued (ms).
    pub fn outbox_summary(&self) -> StoreResult<(u64, Option<i64>)> {
        Ok(self.reader().cached_row(
            "SELECT COUNT(*), MIN(m.created_at) FROM outbox o JOIN messages m ON m.id = o.message_id",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )?)
    }

    /// When the next delivery of a channel not `paused` is due (ms), if any.
    pub fn next_delivery_at(&self, paused: &[String]) -> StoreResult<Option<i64>> {
        Ok(self.reader().cached_row(
            "SELECT MIN(next_attempt_at) FROM outbox WHERE channel_id NOT IN (SELECT value FROM json_each(?1))",
            [json_list(paused)],
            |row| row.get(0),
        )?)
    }

    /// The provider accepted the message: record its id, leave the outbox. In a group commit
    /// (many sends' outcomes share one fsync).
    pub async fn delivery_succeeded(&self, message_id: i64, provider_message_id: String) -> StoreResult<()> {
        self.write(move |c| {
            c.cached_execute(
                "UPDATE messages SET status = CASE WHEN status = 'queued' THEN 'sent' ELSE status END,
                    provider_message_id = ?2, error = NULL, updated_at = ?3 WHERE id = ?1",
                params![message_id, provider_message_id, now_ms()],
            )?;
            c.cached_execute("DELETE FROM outbox WHERE message_id = ?1", [message_id])?;
            Ok(())
        })
        .await
    }

    /// A passing failure: try again at `next_attempt_at`. The message shows the reason (still
    /// `queued`) until an attempt succeeds.
    pub async fn delivery_retry(&self, message_id: i64, next_attempt_at: i64, error: String) -> StoreResult<()> {
        self.write(move |c| {
            c.cached_execute(
                "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?2, last_error = ?3 WHERE message_id = ?1",
                params![message_id, next_attempt_at, error],
            )?;
            c.cached_execute("UPDATE messages SET error = ?2, updated_at = ?3 WHERE id = ?1", params![message_id, error, now_ms()])?;
            Ok(())
        })
        .await
    }

    /// Not tried now and not counted as an attempt (its workspace is suspended): look again at
    /// `next_attempt_at`.
    pub async fn delivery_held(&self, message_id: i64, next_attempt_at: i64, reason: String) -> StoreResult<()> {
        self.write(move |c| {
            c.cached_execute("UPDATE outbox SET next_attempt_at = ?2, last_error = ?3 WHERE message_id = ?1", params![message_id, next_attempt_at, reason])?;
            Ok(())
        })
        .await
    }

    /// A permanent failure: the message is marked failed with the reason and leaves the outbox.
    pub async fn delivery_failed(&self, message_id: i64, error: String) -> StoreResult<()> {
        self.write(move |c| {
            c.cached_execute("UPDATE messages SET status = 'failed', error = ?2, updated_at = ?3 WHERE id = ?1", params![message_id, error, now_ms()])?;
            c.cached_execute("DELETE FROM outbox WHERE message_id = ?1", [message_id])?;
            Ok(())
        })
        .await
    }
}
