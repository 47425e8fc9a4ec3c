//! Event webhooks' endpoints, deliveries and attempts, on either backend (the rows and the SQL,
//! written once, are in `store::webhook_endpoints`).

use std::time::Duration;

use crate::store::conversations::HandedOver;
use crate::store::webhook_endpoints::{Attempt, ChannelBot, Delivery, Endpoint, EndpointChange, NewEndpoint, Outcome, Redeliver};
use crate::store::{Db, Scope, StoreResult};

#[async_trait::async_trait]
pub trait WebhookStore: Send + Sync {
    // Endpoints: a workspace admin's, in the caller's scope.
    async fn create_webhook_endpoint(&self, new: &NewEndpoint) -> StoreResult<Endpoint>;
    async fn webhook_endpoints(&self, scope: Scope) -> StoreResult<Vec<Endpoint>>;
    async fn webhook_endpoint(&self, id: i64, scope: Scope) -> StoreResult<Option<Endpoint>>;
    /// `None` when there is no such endpoint in the scope; else the endpoint changed, and the
    /// conversations it handed to people in the same transaction (turned off, or no longer the
    /// bot of their channel), to announce. On Postgres they are announced to every node already.
    async fn update_webhook_endpoint(&self, id: i64, scope: Scope, change: &EndpointChange) -> StoreResult<Option<(Endpoint, Vec<HandedOver>)>>;
    /// A new secret; the current one stays valid until `previous_until` (ms).
    async fn rotate_webhook_secret(&self, id: i64, scope: Scope, secret: &str, previous_until: i64) -> StoreResult<Option<Endpoint>>;
    /// `None` when there is no such endpoint in the scope; else the conversations it handed to
    /// people (it was their channel's bot), to announce (on Postgres, announced already).
    async fn delete_webhook_endpoint(&self, id: i64, scope: Scope) -> StoreResult<Option<Vec<HandedOver>>>;

    // Deliveries, as the worker sends them.
    /// Due now, oldest first, at most `limit`, leaving out `in_flight` (this node's), what
    /// another node has claimed, and any that waits for an earlier event of its conversation.
    async fn due_webhook_deliveries(&self, limit: u32, in_flight: &[i64]) -> StoreResult<Vec<Delivery>>;
    /// Claims a due delivery for this node for `lease`: whether it got it (of nodes racing, one).
    async fn claim_webhook_delivery(&self, id: i64, lease: Duration) -> StoreResult<bool>;
    /// This node is still sending `in_flight`: its claims on them last `lease` from now; how
    /// many it still held (one node: all, it claims without a write).
    async fn renew_webhook_claims(&self, in_flight: &[i64], lease: Duration) -> StoreResult<usize>;
    /// When the next delivery is due (ms), if any.
    async fn next_webhook_delivery_at(&self) -> StoreResult<Option<i64>>;
    /// Records an attempt and what became of its delivery (and of its endpoint), together; the
    /// conversations the endpoint handed to people when the outcome turned it off, to announce
    /// (on Postgres, announced already).
    async fn webhook_attempted(&self, delivery: &Delivery, attempt: &Attempt, outcome: &Outcome) -> StoreResult<Vec<HandedOver>>;

    // What the admin sees and does.
    /// The newest deliveries of an endpoint, each with its attempts.
    async fn webhook_deliveries(&self, endpoint_id: i64, limit: u32) -> StoreResult<Vec<(Delivery, Vec<Attempt>)>>;
    /// Sends finished deliveries again (same event ids); how many.
    async fn redeliver_webhooks(&self, endpoint_id: i64, which: Redeliver) -> StoreResult<u64>;
    /// A test event, claimed by this node to send at once; `None` when the endpoint is gone.
    async fn ping_webhook(&self, endpoint_id: i64, lease: Duration) -> StoreResult<Option<Delivery>>;
    /// Forgets attempts, and finished deliveries, older than `before` (ms).
    async fn prune_webhook_history(&self, before: i64) -> StoreResult<()>;
    /// Makes the oldest delivery of every endpoint whose deliveries all wait on a retry, none
    /// tried since `idle_since`, due at `now` (see `RetryPolicy::probe_every`); how many.
    async fn probe_webhook_endpoints(&self, now: i64, idle_since: i64) -> StoreResult<usize>;

    // Bots: a channel has one, a webhook endpoint (its `bot_channels`) or an API token with the
    // role `bot`. Revoking the token, or turning off or deleting the endpoint, hands its
    // conversations to people, named to announce (the schema's triggers are the guarantee).
    /// The channel's bot, if it has one.
    async fn channel_bot(&self, channel_id: &str) -> StoreResult<Option<ChannelBot>>;
    /// The channels a bot token is the bot of (none for any other token).
    async fn bot_token_channels(&self, token_id: i64) -> StoreResult<Vec<String>>;
    /// Makes a labelled bot token of `workspace`, the bot of `channels`, in one transaction: its
    /// id and the token (shown once); or, when one of `channels` has a bot already, that channel
    /// (and nothing is made).
    async fn create_bot_token(&self, workspace: i64, label: &str, channels: &[String]) -> StoreResult<Result<(i64, String), String>>;
}

#[async_trait::async_trait]
impl WebhookStore for Db {
    async fn create_webhook_endpoint(&self, new: &NewEndpoint) -> StoreResult<Endpoint> {
        Db::create_webhook_endpoint(self, new).await
    }

    async fn webhook_endpoints(&self, scope: Scope) -> StoreResult<Vec<Endpoint>> {
        self.off_worker(move |db| db.webhook_endpoints(scope)).await
    }

    async fn webhook_endpoint(&self, id: i64, scope: Scope) -> StoreResult<Option<Endpoint>> {
        self.off_worker(move |db| db.webhook_endpoint(id, scope)).await
    }

    async fn update_webhook_endpoint(&self, id: i64, scope: Scope, change: &EndpointChange) -> StoreResult<Option<(Endpoint, Vec<HandedOver>)>> {
        Db::update_webhook_endpoint(self, id, scope, change).await
    }

    async fn rotate_webhook_secret(&self, id: i64, scope: Scope, secret: &str, previous_until: i64) -> StoreResult<Option<Endpoint>> {
        Db::rotate_webhook_secret(self, id, scope, secret, previous_until).await
    }

    async fn delete_webhook_endpoint(&self, id: i64, scope: Scope) -> StoreResult<Option<Vec<HandedOver>>> {
        Db::delete_webhook_endpoint(self, id, scope).await
    }

    async fn due_webhook_deliveries(&self, limit: u32, in_flight: &[i64]) -> StoreResult<Vec<Delivery>> {
        let in_flight = in_flight.to_vec();
        self.off_worker(move |db| db.due_webhook_deliveries(limit, &in_flight)).await
    }

    async fn claim_webhook_delivery(&self, id: i64, lease: Duration) -> StoreResult<bool> {
        Db::claim_webhook_delivery(self, id, lease).await
    }

    async fn renew_webhook_claims(&self, in_flight: &[i64], _lease: Duration) -> StoreResult<usize> {
        Ok(in_flight.len())
    }

    async fn next_webhook_delivery_at(&self) -> StoreResult<Option<i64>> {
        self.off_worker(move |db| db.next_webhook_delivery_at()).await
    }

    async fn webhook_attempted(&self, delivery: &Delivery, attempt: &Attempt, outcome: &Outcome) -> StoreResult<Vec<HandedOver>> {
        Db::webhook_attempted(self, delivery, attempt, outcome).await
    }

    async fn webhook_deliveries(&self, endpoint_id: i64, limit: u32) -> StoreResult<Vec<(Delivery, Vec<Attempt>)>> {
        self.off_worker(move |db| db.webhook_deliveries(endpoint_id, limit)).await
    }

    async fn redeliver_webhooks(&self, endpoint_id: i64, which: Redeliver) -> StoreResult<u64> {
        Db::redeliver_webhooks(self, endpoint_id, which).await
    }

    async fn ping_webhook(&self, endpoint_id: i64, lease: Duration) -> StoreResult<Option<Delivery>> {
        Db::ping_webhook(self, endpoint_id, lease).await
    }

    async fn prune_webhook_history(&self, before: i64) -> StoreResult<()> {
        Db::prune_webhook_history(self, before).await
    }

    async fn probe_webhook_endpoints(&self, now: i64, idle_since: i64) -> StoreResult<usize> {
        Db::probe_webhook_endpoints(self, now, idle_since).await
    }

    async fn channel_bot(&self, channel_id: &str) -> StoreResult<Option<ChannelBot>> {
        let channel_id = channel_id.to_owned();
        self.off_worker(move |db| db.channel_bot(&channel_id)).await
    }

    async fn bot_token_channels(&self, token_id: i64) -> StoreResult<Vec<String>> {
        self.off_worker(move |db| db.bot_token_channels(token_id)).await
    }

    async fn create_bot_token(&self, workspace: i64, label: &str, channels: &[String]) -> StoreResult<Result<(i64, String), String>> {
        Db::create_bot_token(self, workspace, label, channels).await
    }
}
