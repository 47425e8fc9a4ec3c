//! The outbox over Postgres: nodes claim deliveries with a lease (`FOR UPDATE SKIP LOCKED`, so
//! two nodes never claim the same one and never wait on each other). A claim lasts longer than
//! the plugin timeout; a node that dies leaves its claims to expire, and another node takes them
//! over. Each conversation's order holds across nodes: a message is claimable only while it is
//! the oldest of its conversation in the outbox, and it leaves only when sent or failed.

use std::time::Duration;

use super::PgStore;
use crate::store::outbox::PendingDelivery;
use crate::store::{StoreResult, now_ms};

impl PgStore {
    /// Claims up to `limit` due deliveries for this node until `lease` from now, skipping
    /// channels in `paused` (at their concurrency or rate limit on this node).
    pub async fn claim_deliveries(&self, limit: i64, lease: Duration, paused: &[String]) -> StoreResult<Vec<PendingDelivery>> {
        let now = now_ms();
        let until = now + lease.as_millis() as i64;
        let rows = self
            .client()
            .await?
            .query(
                "WITH due AS (
                    SELECT o.message_id FROM outbox o
                    WHERE o.next_attempt_at <= $1
                      AND (o.claimed_until IS NULL OR o.claimed_until < $1)
                      AND o.message_id = (SELECT MIN(e.message_id) FROM outbox e WHERE e.conversation_id IS NOT DISTINCT FROM o.conversation_id)
                      AND NOT (o.channel_id = ANY($3))
                    ORDER BY o.next_attempt_at, o.message_id
                    LIMIT $2
                    FOR UPDATE SKIP LOCKED
                 )
                 UPDATE outbox SET claimed_by = $4, claimed_until = $5 FROM due WHERE outbox.message_id = due.message_id
                 RETURNING outbox.message_id, outbox.channel_id, outbox.attempts",
                &[&now, &limit, &paused, &self.node, &until],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|row| PendingDelivery { message_id: row.get(0), channel_id: row.get(1), attempts: row.get::<_, i32>(2) as u32 })
            .collect())
    }

    /// The provider accepted the message: its id recorded, the message leaves the outbox.
    pub async fn delivery_succeeded(&self, message_id: i64, provider_message_id: &str) -> StoreResult<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        tx.execute(
            "UPDATE messages SET status = CASE WHEN status = 'queued' THEN 'sent' ELSE status END,
                provider_message_id = $2, error = NULL, updated_at = $3 WHERE id = $1",
            &[&message_id, &provider_message_id, &now_ms()],
        )
        .await?;
        tx.execute("DELETE FROM outbox WHERE message_id = $1", &[&message_id]).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A passing failure: the claim ends, the next try is at `next_attempt_at` (by any node).
    pub async fn delivery_retry(&self, message_id: i64, next_attempt_at: i64, error: &str) -> StoreResult<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        tx.execute(
            "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = $2, last_error = $3, claimed_by = NULL, claimed_until = NULL
             WHERE message_id = $1",
            &[&message_id, &next_attempt_at, &error],
        )
        .await?;
        tx.execute("UPDATE messages SET error = $2, updated_at = $3 WHERE id = $1", &[&message_id, &error, &now_ms()]).await?;
        tx.commit().await?;
        Ok(())
    }
}
