//! Inbound messages over Postgres: any node stores a webhook's message; the unique key on
//! (channel, direction, provider id) decides across nodes, so a redelivery to another node, or
//! the same update sent to every node at once, is stored exactly once.

use tokio_postgres::Row;

use super::PgStore;
use crate::store::messages::{DeliveryStatus, Message, NewInbound};
use crate::store::{StoreError, StoreResult, now_ms};

pub(super) const COLUMNS: &str = "id, conversation_id, channel_id, direction, provider_message_id, contact_id, text, content, properties,
    reply_to, status, error, provider_timestamp, created_at, updated_at";

pub(super) fn message(row: &Row) -> StoreResult<Message> {
    let content: String = row.get(7);
    let properties: String = row.get(8);
    let status: String = row.get(10);
    Ok(Message {
        id: row.get(0),
        conversation_id: row.get(1),
        channel_id: row.get(2),
        direction: row.get(3),
        provider_message_id: row.get(4),
        contact_id: row.get(5),
        text: row.get(6),
        content: crate::store::content::MessageContent::from_json(&content),
        properties: serde_json::from_str(&properties).unwrap_or_default(),
        reply_to: row.get(9),
        status: DeliveryStatus::parse(&status).ok_or_else(|| StoreError::Corrupt(format!("unknown message status `{status}`")))?,
        error: row.get(11),
        provider_timestamp: row.get(12),
        created_at: row.get(13),
        updated_at: row.get(14),
    })
}

impl PgStore {
    /// Stores an inbound message with its contact and conversation, in one transaction;
    /// `None` when the provider id was already stored (by this node or another).
    pub async fn record_inbound(&self, channel_id: &str, inbound: &NewInbound) -> StoreResult<Option<Message>> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let stored = record_inbound_in(&tx, channel_id, inbound).await?;
        tx.commit().await?;
        Ok(stored)
    }

    pub async fn message(&self, id: i64) -> StoreResult<Option<Message>> {
        let client = self.client().await?;
        let row = client.query_opt(&client.prepare_cached(&format!("SELECT {COLUMNS} FROM messages WHERE id = $1")).await?, &[&id]).await?;
        row.as_ref().map(message).transpose()
    }

    /// The provider time of a conversation's last inbound message (the messaging window's start).
    pub async fn last_inbound_at(&self, channel_id: &str, conversation_external_id: &str) -> StoreResult<Option<i64>> {
        let row = self
            .client()
            .await?
            .query_opt("SELECT last_inbound_at FROM conversations WHERE channel_id = $1 AND external_id = $2", &[&channel_id, &conversation_external_id])
            .await?;
        Ok(row.and_then(|r| r.get(0)))
    }
}

/// A contact as the provider names it now (a name or handle it leaves out is kept); its id.
pub(super) const UPSERT_CONTACT: &str = "INSERT INTO contacts (channel_id, external_id, name, handle, updated_at) VALUES ($1, $2, $3, $4, $5)
    ON CONFLICT (channel_id, external_id) DO UPDATE SET
        name = COALESCE(excluded.name, contacts.name),
        handle = COALESCE(excluded.handle, contacts.handle),
        updated_at = excluded.updated_at
    RETURNING id";

/// [`PgStore::record_inbound`] inside a transaction (a webhook's events share one).
pub(super) async fn record_inbound_in(tx: &deadpool_postgres::Transaction<'_>, channel_id: &str, inbound: &NewInbound) -> StoreResult<Option<Message>> {
    let now = now_ms();
    // Contact, conversation, message: always in this order, so concurrent webhooks of one
    // conversation wait for each other instead of deadlocking.
    let contact_id: i64 = tx
        .query_one(
            &tx.prepare_cached(UPSERT_CONTACT).await?,
            &[&channel_id, &inbound.sender.external_id, &inbound.sender.name, &inbound.sender.handle, &now],
        )
        .await?
        .get(0);
    let conversation_id: i64 = tx
        .query_one(
            &tx.prepare_cached(
                "INSERT INTO conversations (channel_id, external_id, contact_id, name, last_activity_at, created_at)
             VALUES ($1, $2, $3, $4, $5, $5)
             ON CONFLICT (channel_id, external_id) DO UPDATE SET
                name = COALESCE(excluded.name, conversations.name),
                contact_id = COALESCE(conversations.contact_id, excluded.contact_id)
             RETURNING id",
            )
            .await?,
            &[&channel_id, &inbound.conversation_external_id, &contact_id, &inbound.conversation_name, &now],
        )
        .await?
        .get(0);
    let properties = serde_json::to_string(&inbound.properties).expect("pairs serialize");
    let insert = tx
        .prepare_cached(&format!(
            "INSERT INTO messages (conversation_id, channel_id, direction, provider_message_id, contact_id, text, content,
                properties, reply_to, status, provider_timestamp, created_at, updated_at)
             VALUES ($1, $2, 'inbound', $3, $4, $5, $6, $7, $8, 'received', $9, $10, $10)
             ON CONFLICT DO NOTHING
             RETURNING {COLUMNS}"
        ))
        .await?;
    let inserted = tx
        .query_opt(
            &insert,
            &[
                &conversation_id,
                &channel_id,
                &inbound.provider_message_id,
                &contact_id,
                &inbound.text,
                &inbound.content.to_json(),
                &properties,
                &inbound.reply_to,
                &inbound.provider_timestamp,
                &now,
            ],
        )
        .await?;
    let Some(row) = inserted else {
        // A redelivery: nothing announced. Its contact and conversation upserts wrote what
        // they held already (the same update), so the transaction may still commit.
        return Ok(None);
    };
    let stored = message(&row)?;
    // The window counts from the provider's time, never later than we received it. The
    // notice is heard by every node once (and only if) this commits.
    let touch = tx
        .prepare_cached(
            "WITH touched AS (
                UPDATE conversations SET last_activity_at = $2, status = 'open',
                    last_inbound_at = GREATEST(COALESCE(last_inbound_at, 0), $3)
                WHERE id = $1 RETURNING id)
             SELECT pg_notify($4, $5) FROM touched",
        )
        .await?;
    let notice = super::live::payload("message", channel_id, conversation_id, Some(stored.id));
    tx.execute(&touch, &[&conversation_id, &now, &inbound.provider_timestamp.min(now), &super::live::CHANNEL, &notice]).await?;
    Ok(Some(stored))
}

/// A stored status's rank, as [`DeliveryStatus::rank`], in SQL: statuses are compared inside the
/// UPDATE itself, so nodes applying statuses at once can only move a message forward (Postgres
/// re-checks the condition on the row it locked).
const RANK_OF_STATUS: &str =
    "CASE status WHEN 'received' THEN -1 WHEN 'queued' THEN 0 WHEN 'sent' THEN 1 WHEN 'delivered' THEN 2 WHEN 'read' THEN 3 ELSE 4 END";

impl PgStore {
    /// Queues an outbound message and its delivery in one transaction, with the uploaded file it
    /// sends (a row of the message naming the upload's bytes).
    pub async fn queue_outbound(&self, channel_id: &str, outbound: &crate::store::messages::NewOutbound) -> StoreResult<Message> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let now = now_ms();
        let insert = tx
            .prepare_cached(&format!(
                "INSERT INTO messages (conversation_id, channel_id, direction, text, content, reply_to, status, created_at, updated_at)
                 VALUES ($1, $2, 'outbound', $3, $4, $5, 'queued', $6, $6) RETURNING {COLUMNS}"
            ))
            .await?;
        let stored = message(
            &tx.query_one(&insert, &[&outbound.conversation_id, &channel_id, &outbound.text, &outbound.content.to_json(), &outbound.reply_to, &now]).await?,
        )?;
        let queue = tx.prepare_cached("INSERT INTO outbox (message_id, channel_id, conversation_id, next_attempt_at) VALUES ($1, $2, $3, $4)").await?;
        tx.execute(&queue, &[&stored.id, &channel_id, &outbound.conversation_id, &now]).await?;
        let touch = tx.prepare_cached("UPDATE conversations SET last_activity_at = $2, status = 'open' WHERE id = $1").await?;
        tx.execute(&touch, &[&outbound.conversation_id, &now]).await?;
        if let Some(upload) = outbound.file {
            let send = tx
                .prepare_cached(
                    "INSERT INTO media (workspace_id, channel_id, message_id, position, state, sha256, size, mime_type, filename, created_at, updated_at)
                     SELECT workspace_id, $2, $3, 0, 'stored', sha256, size, mime_type, filename, $4, $4 FROM media WHERE id = $1",
                )
                .await?;
            tx.execute(&send, &[&upload, &channel_id, &stored.id, &now]).await?;
        }
        super::live::announce(&tx, "message", channel_id, stored.conversation_id, Some(stored.id)).await?;
        tx.commit().await?;
        Ok(stored)
    }

    /// Applies a delivery status to one outbound message, by the provider's id; the message's and
    /// its conversation's ids when one matched. A status never moves a message back.
    pub async fn record_status(&self, channel_id: &str, provider_message_id: &str, status: DeliveryStatus, error: Option<&str>) -> StoreResult<Option<(i64, i64)>> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let changed = record_status_in(&tx, channel_id, provider_message_id, status, error).await?;
        tx.commit().await?;
        Ok(changed)
    }

    /// Applies a status to every outbound message of a conversation sent up to a time (read
    /// watermarks); how many changed. Never moves a message back, never touches a failed one.
    pub async fn record_status_watermark(&self, channel_id: &str, conversation_external_id: &str, up_to_ms: i64, status: DeliveryStatus) -> StoreResult<usize> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let (changed, _) = record_status_watermark_in(&tx, channel_id, conversation_external_id, up_to_ms, status).await?;
        tx.commit().await?;
        Ok(changed)
    }
}

/// [`PgStore::record_status`] inside a transaction.
pub(super) async fn record_status_in(tx: &deadpool_postgres::Transaction<'_>, channel_id: &str, provider_message_id: &str, status: DeliveryStatus, error: Option<&str>) -> StoreResult<Option<(i64, i64)>> {
    let statement = tx
        .prepare_cached(&format!(
            "WITH target AS (
                SELECT id, conversation_id FROM messages WHERE channel_id = $1 AND direction = 'outbound' AND provider_message_id = $2),
             -- A data-modifying WITH runs whether or not the SELECT reads it.
             changed AS (
                UPDATE messages SET status = $3, error = COALESCE($4, error), updated_at = $5
                WHERE id IN (SELECT id FROM target) AND {RANK_OF_STATUS} < $6)
             SELECT id, conversation_id FROM target"
        ))
        .await?;
    let row = tx.query_opt(&statement, &[&channel_id, &provider_message_id, &status.as_str(), &error, &now_ms(), &status.rank()]).await?;
    let matched = row.map(|r| (r.get(0), r.get(1)));
    if let Some((message_id, conversation_id)) = matched {
        super::live::announce(tx, "status", channel_id, conversation_id, Some(message_id)).await?;
    }
    Ok(matched)
}

/// [`PgStore::record_status_watermark`] inside a transaction; with the conversation's id when
/// a message changed.
pub(super) async fn record_status_watermark_in(
    tx: &deadpool_postgres::Transaction<'_>,
    channel_id: &str,
    conversation_external_id: &str,
    up_to_ms: i64,
    status: DeliveryStatus,
) -> StoreResult<(usize, Option<i64>)> {
    let statement = tx
        .prepare_cached(&format!(
            "UPDATE messages SET status = $4, updated_at = $5
             WHERE channel_id = $1 AND direction = 'outbound' AND created_at <= $3 AND provider_message_id IS NOT NULL
               AND status <> 'failed' AND {RANK_OF_STATUS} < $6
               AND conversation_id = (SELECT id FROM conversations WHERE channel_id = $1 AND external_id = $2)"
        ))
        .await?;
    let changed = tx.execute(&statement, &[&channel_id, &conversation_external_id, &up_to_ms, &status.as_str(), &now_ms(), &status.rank()]).await?;
    if changed == 0 {
        return Ok((0, None));
    }
    let conversation: Option<i64> = tx
        .query_opt("SELECT id FROM conversations WHERE channel_id = $1 AND external_id = $2", &[&channel_id, &conversation_external_id])
        .await?
        .map(|row| row.get(0));
    if let Some(conversation) = conversation {
        super::live::announce(tx, "status", channel_id, conversation, None).await?;
    }
    Ok((changed as usize, conversation))
}
