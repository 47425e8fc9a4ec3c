//! The outbox over Postgres: nodes claim deliveries with a lease (`FOR UPDATE SKIP LOCKED`, so
//! two nodes never claim the same one and never wait on each other). A live node renews the
//! claims of its sends in flight; a node that dies leaves its claims to expire, and another node
//! takes them over. Each conversation's order holds across nodes: a message is claimable only while it is
//! the oldest of its conversation in the outbox, and it leaves only when sent or failed.

use std::time::Duration;

use deadpool_postgres::Client;

use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use super::PgStore;
use crate::store::channels::raw_channel;
use crate::store::conversations::conversation;
use crate::store::messages::{COLUMNS as MESSAGE_COLUMNS, read_message as message};
use crate::store::backend::OutboxStore;
use crate::store::channels::CHANNEL_COLUMNS;
use crate::store::conversations::{CONVERSATION_COLUMNS, CONVERSATION_FROM};
use crate::store::media::MEDIA_COLUMNS;
use crate::store::outbox::{DeliveryContext, PendingDelivery};
use crate::store::{StoreResult, now_ms};

#[async_trait::async_trait]
impl OutboxStore for PgStore {
    async fn claim_deliveries(&self, limit: u32, lease: Duration, in_flight: &[i64], paused: &[String]) -> StoreResult<Vec<PendingDelivery>> {
        let now = now_ms();
        let until = now + lease.as_millis() as i64;
        let client = self.client().await?;
        let claim = client
            .prepare_cached(
                "WITH due AS (
                    SELECT o.message_id FROM outbox o
                    WHERE o.next_attempt_at <= $1
                      AND (o.claimed_until IS NULL OR o.claimed_until < $1)
                      AND o.message_id = (SELECT MIN(e.message_id) FROM outbox e WHERE e.conversation_id IS NOT DISTINCT FROM o.conversation_id)
                      AND NOT (o.message_id = ANY($3))
                      AND NOT (o.channel_id = ANY($4))
                    ORDER BY o.next_attempt_at, o.message_id
                    LIMIT $2
                    FOR UPDATE SKIP LOCKED
                 )
                 UPDATE outbox SET claimed_by = $5, claimed_until = $6 FROM due WHERE outbox.message_id = due.message_id
                 RETURNING outbox.message_id, outbox.channel_id, outbox.attempts",
            )
            .await?;
        let rows = client.query(&claim, &[&now, &i64::from(limit), &in_flight, &paused, &self.node, &until]).await?;
        let mut claimed: Vec<PendingDelivery> = rows
            .iter()
            .map(|row| PendingDelivery { message_id: row.get(0), channel_id: row.get(1), attempts: row.get::<_, i32>(2) as u32 })
            .collect();
        // RETURNING has no order; hand them out oldest first, as SQLite does.
        claimed.sort_by_key(|delivery| delivery.message_id);
        Ok(claimed)
    }

    async fn renew_claims(&self, in_flight: &[i64], lease: Duration) -> StoreResult<usize> {
        // An outbox row exists only while its send is pending.
        crate::store::sql::renew_claims(self, "outbox", "message_id", "", in_flight, lease).await
    }

    async fn next_delivery_at(&self, paused: &[String]) -> StoreResult<Option<i64>> {
        let client = self.client().await?;
        let next = client
            .prepare_cached("SELECT MIN(GREATEST(next_attempt_at, COALESCE(claimed_until, 0))) FROM outbox WHERE NOT (channel_id = ANY($1))")
            .await?;
        Ok(client.query_one(&next, &[&paused]).await?.get(0))
    }

    async fn outbox_summary(&self) -> StoreResult<(u64, Option<i64>)> {
        let row = self.client().await?.query_one("SELECT COUNT(*), MIN(m.created_at) FROM outbox o JOIN messages m ON m.id = o.message_id", &[]).await?;
        Ok((row.get::<_, i64>(0) as u64, row.get(1)))
    }

    async fn delivery_retry(&self, message_id: i64, next_attempt_at: i64, error: &str) -> StoreResult<()> {
        self.writer
            .write((message_id, next_attempt_at, error.to_owned()), |tx, (message_id, next_attempt_at, error)| {
                Box::pin(async move {
                    let retry = tx
                        .prepare_cached(
                            "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = $2, last_error = $3, claimed_by = NULL, claimed_until = NULL
                             WHERE message_id = $1",
                        )
                        .await?;
                    tx.execute(&retry, &[message_id, next_attempt_at, error]).await?;
                    let note = tx.prepare_cached("UPDATE messages SET error = $2, updated_at = $3 WHERE id = $1 RETURNING channel_id, conversation_id").await?;
                    let changed = tx.query_opt(&note, &[message_id, error, &now_ms()]).await?;
                    announce_status(tx, *message_id, changed).await
                })
            })
            .await
    }

    async fn delivery_held(&self, message_id: i64, next_attempt_at: i64, reason: &str) -> StoreResult<()> {
        self.client()
            .await?
            .execute(
                "UPDATE outbox SET next_attempt_at = $2, last_error = $3, claimed_by = NULL, claimed_until = NULL WHERE message_id = $1",
                &[&message_id, &next_attempt_at, &reason],
            )
            .await?;
        Ok(())
    }

    async fn delivery_failed(&self, message_id: i64, error: &str) -> StoreResult<()> {
        self.writer
            .write((message_id, error.to_owned()), |tx, (message_id, error)| {
                Box::pin(async move {
                    let fail = tx
                        .prepare_cached("UPDATE messages SET status = 'failed', error = $2, updated_at = $3 WHERE id = $1 RETURNING channel_id, conversation_id")
                        .await?;
                    let changed = tx.query_opt(&fail, &[message_id, error, &now_ms()]).await?;
                    leave_outbox(tx, *message_id, changed).await
                })
            })
            .await
    }

    async fn delivery_context(&self, message_id: i64, channel_id: &str) -> StoreResult<Option<DeliveryContext>> {
        let client = self.client().await?;
        // Each read names the message, so none waits for another's answer: polled together,
        // tokio-postgres sends them in one flight and the attempt waits for one round trip.
        let of_message = "(SELECT conversation_id FROM messages WHERE id = $1)";
        let message_sql = format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = $1");
        let channel_sql = format!("SELECT {CHANNEL_COLUMNS} FROM channels WHERE id = $1");
        let suspended_sql = "SELECT w.status FROM channels c JOIN workspaces w ON w.id = c.workspace_id WHERE c.id = $1";
        let conversation_sql = format!("SELECT {CONVERSATION_COLUMNS} FROM {CONVERSATION_FROM} WHERE c.id = {of_message}");
        // NULLS LAST: SQLite sorts NULL lowest, so last in a descending order.
        let last_inbound_sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE conversation_id = {of_message} AND direction = 'inbound'
             ORDER BY provider_timestamp DESC NULLS LAST, id DESC LIMIT 1"
        );
        let files_sql = format!("SELECT {MEDIA_COLUMNS} FROM media WHERE message_id = $1 ORDER BY position");
        let (by_message, by_channel): (&[&(dyn ToSql + Sync)], &[&(dyn ToSql + Sync)]) = (&[&message_id], &[&channel_id]);
        let (message_row, channel, suspended, conversation_row, last_inbound, files) = tokio::try_join!(
            one(&client, &message_sql, by_message),
            one(&client, &channel_sql, by_channel),
            one(&client, suspended_sql, by_channel),
            one(&client, &conversation_sql, by_message),
            one(&client, &last_inbound_sql, by_message),
            all(&client, &files_sql, by_message),
        )?;
        let Some(message_row) = message_row else { return Ok(None) };
        let status: Option<String> = suspended.map(|row| row.get(0));
        Ok(Some(DeliveryContext {
            message: message(&message_row)?,
            channel: channel.map(|row| raw_channel(&row).open(&self.secrets)).transpose()?,
            workspace_suspended: status.as_deref() == Some("suspended"),
            conversation: conversation_row.map(|row| conversation(&row)),
            last_inbound: last_inbound.as_ref().map(message).transpose()?,
            files: files.iter().map(crate::store::media::media_file).collect(),
        }))
    }
}

impl PgStore {
    /// The provider accepted the message: its id recorded, the message leaves the outbox.
    pub async fn delivery_succeeded(&self, message_id: i64, provider_message_id: &str) -> StoreResult<()> {
        self.writer
            .write((message_id, provider_message_id.to_owned()), |tx, (message_id, provider_message_id)| {
                Box::pin(async move {
                    let sent = tx
                        .prepare_cached(
                            "UPDATE messages SET status = CASE WHEN status = 'queued' THEN 'sent' ELSE status END,
                                provider_message_id = $2, error = NULL, updated_at = $3 WHERE id = $1 RETURNING channel_id, conversation_id",
                        )
                        .await?;
                    let changed = tx.query_opt(&sent, &[message_id, provider_message_id, &now_ms()]).await?;
                    leave_outbox(tx, *message_id, changed).await
                })
            })
            .await
    }
}

/// The message leaves the outbox (sent or failed for good), and its outcome is announced.
async fn leave_outbox(tx: &Client, message_id: i64, changed: Option<tokio_postgres::Row>) -> StoreResult<()> {
    let leave = tx.prepare_cached("DELETE FROM outbox WHERE message_id = $1").await?;
    tx.execute(&leave, &[&message_id]).await?;
    announce_status(tx, message_id, changed).await
}

/// A delivery's outcome, announced to every node's followers (`changed`: the message's channel
/// and conversation, when it still exists).
async fn announce_status(tx: &Client, message_id: i64, changed: Option<tokio_postgres::Row>) -> StoreResult<()> {
    match changed {
        Some(row) => super::live::announce(tx, "status", row.get(0), row.get(1), Some(message_id)).await,
        None => Ok(()),
    }
}

/// At most one row of a cached statement.
async fn one(client: &Client, sql: &str, params: &[&(dyn ToSql + Sync)]) -> StoreResult<Option<Row>> {
    Ok(client.query_opt(&client.prepare_cached(sql).await?, params).await?)
}

/// Every row of a cached statement.
async fn all(client: &Client, sql: &str, params: &[&(dyn ToSql + Sync)]) -> StoreResult<Vec<Row>> {
    Ok(client.query(&client.prepare_cached(sql).await?, params).await?)
}
