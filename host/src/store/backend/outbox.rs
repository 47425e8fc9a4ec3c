//! The outbox on either backend: which deliveries a node may start, and their outcomes
//! (`delivery_succeeded` is with the delivery statuses in [`super::MessageStore`]).
//!
//! On SQLite one node sends everything, and what it is sending now is the `in_flight` list it
//! passes. On Postgres several nodes share the outbox: a delivery handed out is claimed for this
//! node until `lease` ends, and no other node gets it meanwhile. A live node renews the claims
//! of its sends in flight ([`OutboxStore::renew_claims`]); a dead node's claims expire.

use std::time::Duration;

use crate::store::outbox::{DeliveryContext, PendingDelivery};
use crate::store::{Db, StoreResult};

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

#[async_trait::async_trait]
impl OutboxStore for Db {
    async fn claim_deliveries(&self, limit: u32, _lease: Duration, in_flight: &[i64], paused: &[String]) -> StoreResult<Vec<PendingDelivery>> {
        // One node: what it is sending now is all there is to leave out.
        let in_flight = in_flight.to_vec();
        let paused = paused.to_vec();
        self.off_worker(move |db| db.due_deliveries(limit, &in_flight, &paused)).await
    }

    async fn renew_claims(&self, in_flight: &[i64], _lease: Duration) -> StoreResult<usize> {
        // One node claims nothing: its sends are its own until they finish.
        Ok(in_flight.len())
    }

    async fn next_delivery_at(&self, paused: &[String]) -> StoreResult<Option<i64>> {
        let paused = paused.to_vec();
        self.off_worker(move |db| Db::next_delivery_at(db, &paused)).await
    }

    async fn outbox_summary(&self) -> StoreResult<(u64, Option<i64>)> {
        self.off_worker(move |db| Db::outbox_summary(db)).await
    }

    async fn delivery_context(&self, message_id: i64, channel_id: &str) -> StoreResult<Option<DeliveryContext>> {
        let channel_id = channel_id.to_owned();
        self.off_worker(move |db| Db::delivery_context(db, message_id, &channel_id)).await
    }

    async fn delivery_retry(&self, message_id: i64, next_attempt_at: i64, error: &str) -> StoreResult<()> {
        Db::delivery_retry(self, message_id, next_attempt_at, error.to_owned()).await
    }

    async fn delivery_held(&self, message_id: i64, next_attempt_at: i64, reason: &str) -> StoreResult<()> {
        Db::delivery_held(self, message_id, next_attempt_at, reason.to_owned()).await
    }

    async fn delivery_failed(&self, message_id: i64, error: &str) -> StoreResult<()> {
        Db::delivery_failed(self, message_id, error.to_owned()).await
    }
}
