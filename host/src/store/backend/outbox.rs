//! The outbox: which deliveries a node may start, and their outcomes (`delivery_succeeded` is
//! with the delivery statuses in [`super::MessageStore`]), written once for both backends.
//! What an attempt reads before it calls the plugin differs: one SQLite connection answers each
//! read at once, Postgres pipelines them (see [`DeliveryReads`]).
//!
//! On SQLite one node sends everything, and what it is sending now is the `in_flight` list it
//! passes. On Postgres several nodes share the outbox: a delivery handed out is claimed for this
//! node until `lease` ends, and no other node gets it meanwhile. A live node renews the claims
//! of its sends in flight ([`OutboxStore::renew_claims`]); a dead node's claims expire.

use std::time::Duration;

use crate::store::model::{DeliveryContext, PendingDelivery};
use crate::store::row::ReadRow;
use crate::store::sql::{Ids, Names, RunSql, Sql, batched, body, renew_claims};
use crate::store::{Db, StoreResult, now_ms, storable};

#[async_trait::async_trait]
pub trait OutboxStore: Send + Sync {
    /// Up to `limit` deliveries due now, oldest first, that this node may start: each the oldest
    /// message of its conversation still in the outbox (order per conversation), none in
    /// `in_flight` or claimed by another node, none of a channel in `paused` (at its
    /// concurrency or rate limit).
    async fn claim_deliveries(&self, limit: u32, lease: Duration, in_flight: &[i64], paused: &[String]) -> StoreResult<Vec<PendingDelivery>>;
    /// This node is still sending `in_flight`: its claims on them last `lease` from now. How many
    /// it still held (fewer: another node took one over after this node failed to renew).
    async fn renew_claims(&self, in_flight: &[i64], lease: Duration) -> StoreResult<usize>;
    /// When the next delivery of a channel not `paused` may start (ms), if any: its next try,
    /// or the end of another node's claim on it.
    async fn next_delivery_at(&self, paused: &[String]) -> StoreResult<Option<i64>>;
    /// Messages waiting in the outbox, and when the oldest of them was queued (ms).
    async fn outbox_summary(&self) -> StoreResult<(u64, Option<i64>)>;
    /// A passing failure: counted, tried again at `next_attempt_at` (by any node), the reason
    /// shown on the message meanwhile.
    async fn delivery_retry(&self, message_id: i64, next_attempt_at: i64, error: &str) -> StoreResult<()>;
    /// Not tried now and not counted (its workspace is suspended): looked at again at `next_attempt_at`.
    async fn delivery_held(&self, message_id: i64, next_attempt_at: i64, reason: &str) -> StoreResult<()>;
    /// A permanent failure: the message is failed with the reason and leaves the outbox.
    async fn delivery_failed(&self, message_id: i64, error: &str) -> StoreResult<()>;
    /// What an attempt to deliver a queued message of `channel_id` reads before it calls the
    /// plugin, in one call; `None` when the message is gone.
    async fn delivery_context(&self, message_id: i64, channel_id: &str) -> StoreResult<Option<DeliveryContext>>;
}

/// What an attempt reads before it calls the plugin, as each backend reads it fastest: SQLite's
/// one connection answers each read at once; Postgres pipelines them in one round trip.
#[async_trait::async_trait]
pub trait DeliveryReads: Send + Sync {
    async fn delivery_reads(&self, message_id: i64, channel_id: &str) -> StoreResult<Option<DeliveryContext>>;
}

#[async_trait::async_trait]
impl DeliveryReads for Db {
    async fn delivery_reads(&self, message_id: i64, channel_id: &str) -> StoreResult<Option<DeliveryContext>> {
        let channel_id = channel_id.to_owned();
        self.off_worker(move |db| Db::delivery_context(db, message_id, &channel_id)).await
    }
}

#[async_trait::async_trait]
impl<S: RunSql + DeliveryReads> OutboxStore for S {
    async fn claim_deliveries(&self, limit: u32, lease: Duration, in_flight: &[i64], paused: &[String]) -> StoreResult<Vec<PendingDelivery>> {
        let (in_flight, paused) = (Ids::from(in_flight), Names::from(paused));
        let pending = |rows: Vec<crate::store::sql::Row>| -> Vec<PendingDelivery> {
            let mut pending: Vec<PendingDelivery> = rows.iter().map(|row| PendingDelivery { message_id: row.int(0), channel_id: row.text(1), attempts: u32::try_from(row.int(2)).unwrap_or_default() }).collect();
            // RETURNING has no order: oldest first, as they were chosen.
            pending.sort_by_key(|delivery| delivery.message_id);
            pending
        };
        let Some(node) = self.claiming_node().map(str::to_owned) else {
            // One node: what it is sending now is all there is to leave out.
            return self.read(body(move |sql| Box::pin(async move { Ok(pending(sql.rows(&due_deliveries(sql, ""), &[&now_ms(), &i64::from(limit), &in_flight, &paused]).await?)) }))).await;
        };
        let until = now_ms() + lease.as_millis() as i64;
        self.write(body(move |sql| {
            Box::pin(async move {
                // Claimed with a lease; `SKIP LOCKED`: two nodes never claim the same one and never wait on each other.
                let claim = format!(
                    "WITH due AS ({})
                     UPDATE outbox SET claimed_by = $5, claimed_until = $6 FROM due WHERE outbox.message_id = due.message_id
                     RETURNING outbox.message_id, outbox.channel_id, outbox.attempts",
                    due_deliveries(sql, "FOR UPDATE SKIP LOCKED")
                );
                Ok(pending(sql.rows(&claim, &[&now_ms(), &i64::from(limit), &in_flight, &paused, &node, &until]).await?))
            })
        }))
        .await
    }

    async fn renew_claims(&self, in_flight: &[i64], lease: Duration) -> StoreResult<usize> {
        // An outbox row exists only while its send is pending.
        renew_claims(self, "outbox", "message_id", "", in_flight, lease).await
    }

    async fn next_delivery_at(&self, paused: &[String]) -> StoreResult<Option<i64>> {
        let paused = Names::from(paused);
        self.read(body(move |sql| {
            Box::pin(async move {
                // A claimed delivery is due again when its claim lapses.
                let next = format!(
                    "SELECT MIN(CASE WHEN claimed_until > next_attempt_at THEN claimed_until ELSE next_attempt_at END) FROM outbox WHERE {}",
                    sql.not_in_list("channel_id", "$1")
                );
                Ok(sql.row(&next, &[&paused]).await?.and_then(|row| row.opt_int(0)))
            })
        }))
        .await
    }

    async fn outbox_summary(&self) -> StoreResult<(u64, Option<i64>)> {
        self.read(body(|sql| {
            Box::pin(async move {
                let summary = sql.row("SELECT COUNT(*), MIN(m.created_at) FROM outbox o JOIN messages m ON m.id = o.message_id", &[]).await?.expect("an aggregate has a row");
                Ok((summary.int(0) as u64, summary.opt_int(1)))
            })
        }))
        .await
    }

    async fn delivery_retry(&self, message_id: i64, next_attempt_at: i64, error: &str) -> StoreResult<()> {
        let retry = batched(|sql, (message_id, next_attempt_at, error): &(i64, i64, String)| {
            Box::pin(async move {
                let retry = "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = $2, last_error = $3, claimed_by = NULL, claimed_until = NULL WHERE message_id = $1";
                sql.execute(retry, &[message_id, next_attempt_at, error]).await?;
                // The message shows the reason (still `queued`) until an attempt succeeds.
                let changed = sql.row("UPDATE messages SET error = $2, updated_at = $3 WHERE id = $1 RETURNING channel_id, conversation_id", &[message_id, error, &now_ms()]).await?;
                announce_status(sql, *message_id, changed).await
            })
        });
        self.write_batched((message_id, next_attempt_at, storable(error)), retry).await
    }

    async fn delivery_held(&self, message_id: i64, next_attempt_at: i64, reason: &str) -> StoreResult<()> {
        let reason = storable(reason);
        self.write(body(move |sql| {
            Box::pin(async move {
                let held = "UPDATE outbox SET next_attempt_at = $2, last_error = $3, claimed_by = NULL, claimed_until = NULL WHERE message_id = $1";
                sql.execute(held, &[&message_id, &next_attempt_at, &reason]).await.map(drop)
            })
        }))
        .await
    }

    async fn delivery_failed(&self, message_id: i64, error: &str) -> StoreResult<()> {
        let failed = batched(|sql, (message_id, error): &(i64, String)| {
            Box::pin(async move {
                // Only a message still queued fails: a node whose claim lapsed (and whose
                // message another node sent meanwhile) reports a failure late.
                let failed = "UPDATE messages SET status = 'failed', error = $2, updated_at = $3 WHERE id = $1 AND status = 'queued' RETURNING channel_id, conversation_id";
                let changed = sql.row(failed, &[message_id, error, &now_ms()]).await?;
                leave_outbox(sql, *message_id, changed).await
            })
        });
        self.write_batched((message_id, storable(error)), failed).await
    }

    async fn delivery_context(&self, message_id: i64, channel_id: &str) -> StoreResult<Option<DeliveryContext>> {
        self.delivery_reads(message_id, channel_id).await
    }
}

/// The deliveries due now that may start (`$1` now, `$2` how many, `$3` in flight, `$4` paused
/// channels): each the oldest message of its conversation still in the outbox (the next waits
/// until it is sent or failed), not one in flight or claimed by another node, not of a paused
/// channel. `lock`: Postgres's row lock for claiming.
fn due_deliveries(sql: &dyn Sql, lock: &str) -> String {
    format!(
        "SELECT o.message_id, o.channel_id, o.attempts FROM outbox o
         WHERE o.next_attempt_at <= $1
           AND (o.claimed_until IS NULL OR o.claimed_until < $1)
           AND o.message_id = (SELECT MIN(e.message_id) FROM outbox e WHERE e.conversation_id IS NOT DISTINCT FROM o.conversation_id)
           AND {} AND {}
         ORDER BY o.next_attempt_at, o.message_id LIMIT $2 {lock}",
        sql.not_in_list("o.message_id", "$3"),
        sql.not_in_list("o.channel_id", "$4")
    )
}

/// The provider accepted the message: its id recorded, the message leaves the outbox (in a
/// group commit: many sends' outcomes share one commit).
pub(crate) async fn delivery_succeeded(store: &impl RunSql, message_id: i64, provider_message_id: &str) -> StoreResult<()> {
    let sent = batched(|sql, (message_id, provider_message_id): &(i64, String)| {
        Box::pin(async move {
            // The provider took it: that wins over a failure another node reported first (its
            // claim lapsed, so both sent), and never moves a delivery receipt back.
            let sent = "UPDATE messages SET status = CASE WHEN status IN ('queued', 'failed') THEN 'sent' ELSE status END,
                            provider_message_id = $2, error = NULL, updated_at = $3 WHERE id = $1 RETURNING channel_id, conversation_id";
            let changed = sql.row(sent, &[message_id, provider_message_id, &now_ms()]).await?;
            leave_outbox(sql, *message_id, changed).await
        })
    });
    store.write_batched((message_id, storable(provider_message_id)), sent).await
}

/// The message leaves the outbox (sent or failed for good), and its outcome is announced.
async fn leave_outbox(sql: &dyn Sql, message_id: i64, changed: Option<crate::store::sql::Row>) -> StoreResult<()> {
    sql.execute("DELETE FROM outbox WHERE message_id = $1", &[&message_id]).await?;
    announce_status(sql, message_id, changed).await
}

/// A delivery's outcome, announced to every node's followers (Postgres; `changed`: the
/// message's channel and conversation, when it still exists).
async fn announce_status(sql: &dyn Sql, message_id: i64, changed: Option<crate::store::sql::Row>) -> StoreResult<()> {
    match changed {
        Some(row) => crate::store::pg::live::announce_in(sql, "status", &row.text(0), row.int(1), Some(message_id)).await,
        None => Ok(()),
    }
}
