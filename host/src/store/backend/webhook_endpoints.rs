//! Event webhooks' endpoints, deliveries and attempts: each operation written once for both
//! backends (see `store::sql`; the rows and statements are in `store::webhook_endpoints`). An
//! attempt's outcome goes through group commit (they come at the rate of deliveries); on
//! Postgres a claim is a conditional update, so of nodes racing for a delivery one wins and a
//! dead node's claim lapses with its lease, while SQLite's one node claims without a write.

use std::time::Duration;

use crate::store::conversations::in_order;
use crate::store::model::{Attempt, Attempted, ChannelBot, Delivery, Endpoint, EndpointChange, HandedOver, NewEndpoint, Outcome, Redeliver, Role};
use crate::store::pg::live::announce_in;
use crate::store::row::ReadRow;
use crate::store::sql::{Param, Row, RunSql, Sql, batched, body, renew_claims};
use crate::store::tokens::{digest, new_token, token_prefix};
use crate::store::webhook_endpoints::*;
use crate::store::{Scope, StoreError, StoreResult, now_ms};

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
    /// Records an attempt and what became of its delivery (and of its endpoint), together.
    /// `endpoint_as_read`: the endpoint's `updated_at` as the attempt read it; an endpoint an
    /// admin changed since (re-pointed, turned off and on) is not turned off by the failure of
    /// an attempt at what it was. A delivery another node claimed since (this node's claim
    /// lapsed) is left as that node leaves it; the attempt stays in its history either way.
    async fn webhook_attempted(&self, delivery: &Delivery, attempt: &Attempt, outcome: &Outcome, endpoint_as_read: i64) -> StoreResult<Attempted>;

    // What the admin sees and does.
    /// The newest deliveries of an endpoint in `scope`, each with its attempts.
    async fn webhook_deliveries(&self, endpoint_id: i64, scope: Scope, limit: u32) -> StoreResult<Vec<(Delivery, Vec<Attempt>)>>;
    /// Sends finished deliveries of an endpoint in `scope` again (same event ids); how many.
    async fn redeliver_webhooks(&self, endpoint_id: i64, scope: Scope, which: Redeliver) -> StoreResult<u64>;
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
    /// The bot of a channel in `scope`, if it has one.
    async fn channel_bot(&self, channel_id: &str, scope: Scope) -> StoreResult<Option<ChannelBot>>;
    /// The channels a bot token is the bot of (none for any other token).
    async fn bot_token_channels(&self, token_id: i64) -> StoreResult<Vec<String>>;
    /// Makes a labelled bot token of `workspace`, the bot of `channels`, in one transaction: its
    /// id and the token (shown once); or, when one of `channels` has a bot already, that channel
    /// (and nothing is made).
    async fn create_bot_token(&self, workspace: i64, label: &str, channels: &[String]) -> StoreResult<Result<(i64, String), String>>;
}

/// SQLite's one node, in claims (several nodes are Postgres's).
const LOCAL_NODE: &str = "local";


/// The first column of every row `sql` selects, as text.
async fn texts(sql: &dyn Sql, statement: &str, params: &[&dyn Param]) -> StoreResult<Vec<String>> {
    Ok(sql.rows(statement, params).await?.iter().map(|row| row.text(0)).collect())
}

/// An endpoint's row as read, with its events and bot channels (its secrets are opened by the
/// caller, out of the body).
async fn endpoint_rows_in(sql: &dyn Sql, rows: Vec<Row>) -> StoreResult<Vec<(Row, Vec<String>, Vec<String>)>> {
    let mut read = Vec::with_capacity(rows.len());
    for row in rows {
        let id = row.int(0);
        let (events, bots) = (texts(sql, EVENTS_OF_ENDPOINT, &[&id]).await?, texts(sql, BOT_CHANNELS_OF, &[&id]).await?);
        read.push((row, events, bots));
    }
    Ok(read)
}

/// Hands the endpoint's bot conversations to people (see [`HAND_OVER_ENDPOINT_CONVERSATIONS`]:
/// `channel` `None` for every channel it is the bot of). On Postgres the endpoint and its
/// bindings are locked first (see `conversations::bot_or_open`) and each conversation is
/// announced to every node's inbox once (and only if) the transaction commits; on SQLite the
/// caller announces them after the write.
async fn hand_over_bot_conversations(sql: &dyn Sql, id: i64, workspace: Option<i64>, channel: Option<&str>) -> StoreResult<Vec<HandedOver>> {
    if sql.is_postgres() {
        sql.execute(LOCK_ENDPOINT, &[&id]).await?;
        sql.execute(LOCK_ENDPOINT_BINDINGS, &[&id, &channel]).await?;
    }
    let rows = sql.rows(HAND_OVER_ENDPOINT_CONVERSATIONS, &[&id, &workspace, &channel]).await?;
    let handed = in_order(rows.iter().map(|row| HandedOver { channel_id: row.text(0), conversation_id: row.int(1) }).collect());
    for conversation in &handed {
        announce_in(sql, "conversation", &conversation.channel_id, conversation.conversation_id, None).await?;
    }
    Ok(handed)
}

/// Makes the endpoint the bot of `channels` and of no other: the conversations of the channels
/// it leaves that were still its go to people, named.
async fn set_bot_channels(sql: &dyn Sql, id: i64, channels: &[String]) -> StoreResult<Vec<HandedOver>> {
    let mut handed = Vec::new();
    for gone in texts(sql, BOT_CHANNELS_OF, &[&id]).await?.iter().filter(|c| !channels.contains(c)) {
        handed.extend(hand_over_bot_conversations(sql, id, None, Some(gone.as_str())).await?);
        sql.execute(UNSET_BOT, &[&id, gone]).await?;
    }
    // A channel has one bot: one that got another (a token, another endpoint) since the API
    // checked is not taken over, and nothing of this write is kept.
    for channel in channels {
        if sql.execute(SET_BOT, &[channel, &id]).await? == 0 {
            return Err(StoreError::BotChannelTaken(channel.clone()));
        }
    }
    Ok(handed)
}

async fn subscribe(sql: &dyn Sql, id: i64, events: &[String]) -> StoreResult<()> {
    for event in events {
        sql.execute(SUBSCRIBE, &[&id, event]).await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl<S: RunSql> WebhookStore for S {
    async fn create_webhook_endpoint(&self, new: &NewEndpoint) -> StoreResult<Endpoint> {
        let (workspace, url, description, events, bots) = (new.workspace_id, new.url.clone(), new.description.clone(), new.events.clone(), new.bot_channels.clone());
        let secret = self.secrets().seal(&new.secret);
        let id = self
            .write(body(move |sql| {
                Box::pin(async move {
                    let id = sql.row(INSERT_ENDPOINT, &[&workspace, &url, &description, &secret, &now_ms()]).await?.ok_or(StoreError::NotFound)?.int(0);
                    subscribe(sql, id, &events).await?;
                    set_bot_channels(sql, id, &bots).await?;
                    Ok(id)
                })
            }))
            .await?;
        self.webhook_endpoint(id, Scope::Every).await?.ok_or(StoreError::NotFound)
    }

    async fn webhook_endpoints(&self, scope: Scope) -> StoreResult<Vec<Endpoint>> {
        let read = self
            .read(body(move |sql| {
                Box::pin(async move {
                    let rows = sql.rows(&endpoints_sql(), &[&scope.workspace()]).await?;
                    endpoint_rows_in(sql, rows).await
                })
            }))
            .await?;
        read.into_iter().map(|(row, events, bots)| endpoint_row(&row, events, bots, self.secrets())).collect()
    }

    async fn webhook_endpoint(&self, id: i64, scope: Scope) -> StoreResult<Option<Endpoint>> {
        let read = self
            .read(body(move |sql| {
                Box::pin(async move {
                    let rows = sql.rows(&endpoint_sql(), &[&id, &scope.workspace()]).await?;
                    endpoint_rows_in(sql, rows).await
                })
            }))
            .await?;
        read.into_iter().next().map(|(row, events, bots)| endpoint_row(&row, events, bots, self.secrets())).transpose()
    }

    async fn update_webhook_endpoint(&self, id: i64, scope: Scope, change: &EndpointChange) -> StoreResult<Option<(Endpoint, Vec<HandedOver>)>> {
        let (url, description, events, enabled, bots) = (change.url.clone(), change.description.clone(), change.events.clone(), change.enabled, change.bot_channels.clone());
        let workspace = scope.workspace();
        let handed = self
            .write(body(move |sql| {
                Box::pin(async move {
                    // Locked before the row is changed, when bots may be unbound: an update
                    // first would hold the row against starting conversations' share locks
                    // while waiting for their batches (see `conversations::bot_or_open`).
                    if sql.is_postgres() && (enabled == Some(false) || bots.is_some()) {
                        sql.execute(LOCK_ENDPOINT, &[&id]).await?;
                    }
                    // Turned off: every conversation still its bot's goes to people, before the
                    // trigger `bot_disabled` would (unnamed).
                    let mut handed = if enabled == Some(false) { hand_over_bot_conversations(sql, id, workspace, None).await? } else { Vec::new() };
                    if sql.execute(UPDATE_ENDPOINT, &[&id, &workspace, &url, &description, &enabled, &now_ms()]).await? == 0 {
                        // Not in this scope: nothing was changed (the hand-over above found none).
                        return Ok(None);
                    }
                    if let Some(events) = &events {
                        sql.execute(UNSUBSCRIBE_ALL, &[&id]).await?;
                        subscribe(sql, id, events).await?;
                    }
                    if let Some(bots) = &bots {
                        handed.extend(set_bot_channels(sql, id, bots).await?);
                    }
                    Ok(Some(in_order(handed)))
                })
            }))
            .await?;
        let Some(handed) = handed else { return Ok(None) };
        Ok(self.webhook_endpoint(id, scope).await?.map(|endpoint| (endpoint, handed)))
    }

    async fn rotate_webhook_secret(&self, id: i64, scope: Scope, secret: &str, previous_until: i64) -> StoreResult<Option<Endpoint>> {
        let (sealed, workspace) = (self.secrets().seal(secret), scope.workspace());
        let rotate = body(move |sql| Box::pin(async move { Ok(sql.execute(ROTATE_SECRET, &[&id, &workspace, &previous_until, &sealed, &now_ms()]).await? == 1) }));
        if !self.write(rotate).await? {
            return Ok(None);
        }
        self.webhook_endpoint(id, scope).await
    }

    async fn delete_webhook_endpoint(&self, id: i64, scope: Scope) -> StoreResult<Option<Vec<HandedOver>>> {
        let workspace = scope.workspace();
        self.write(body(move |sql| {
            Box::pin(async move {
                let handed = hand_over_bot_conversations(sql, id, workspace, None).await?;
                // Not in this scope: nothing was changed (the hand-over found none).
                Ok((sql.execute(DELETE_ENDPOINT, &[&id, &workspace]).await? == 1).then_some(handed))
            })
        }))
        .await
    }

    async fn due_webhook_deliveries(&self, limit: u32, in_flight: &[i64]) -> StoreResult<Vec<Delivery>> {
        let wanted = i64::from(limit) + in_flight.len() as i64;
        let due = self.read(body(move |sql| Box::pin(async move { Ok(sql.rows(&due_sql(), &[&now_ms(), &wanted]).await?.iter().map(delivery_row).collect::<Vec<_>>()) }))).await?;
        Ok(due.into_iter().filter(|d| !in_flight.contains(&d.id)).take(limit as usize).collect())
    }

    async fn claim_webhook_delivery(&self, id: i64, lease: Duration) -> StoreResult<bool> {
        let Some(node) = self.claiming_node().map(str::to_owned) else { return Ok(true) };
        self.write(body(move |sql| {
            Box::pin(async move {
                let now = now_ms();
                Ok(sql.execute(CLAIM, &[&id, &node, &(now + lease.as_millis() as i64), &now]).await? == 1)
            })
        }))
        .await
    }

    async fn renew_webhook_claims(&self, in_flight: &[i64], lease: Duration) -> StoreResult<usize> {
        renew_claims(self, "webhook_deliveries", "id", "AND state = 'pending'", in_flight, lease).await
    }

    async fn webhook_attempted(&self, delivery: &Delivery, attempt: &Attempt, outcome: &Outcome, endpoint_as_read: i64) -> StoreResult<Attempted> {
        let node = self.claiming_node().map(str::to_owned);
        let input = (delivery.clone(), attempt.clone(), outcome.clone(), endpoint_as_read, node);
        let attempted = batched(|sql, (delivery, attempt, outcome, endpoint_as_read, node): &(Delivery, Attempt, Outcome, i64, Option<String>)| {
            Box::pin(async move {
                let now = now_ms();
                let mut attempted = Attempted::default();
                sql.execute(INSERT_ATTEMPT, &[&delivery.id, &attempt.at, &attempt.status, &attempt.latency_ms, &attempt.response]).await?;
                match outcome {
                    Outcome::Delivered => {
                        if sql.execute(DELIVERED, &[&delivery.id, &now, node]).await? > 0 {
                            sql.execute(BACKLOG_DUE_NOW, &[&delivery.endpoint_id, &now]).await?;
                        }
                    }
                    Outcome::Retry { at } => {
                        sql.execute(RETRY, &[&delivery.id, at, &now, node]).await?;
                    }
                    Outcome::Failed { disable_endpoint } => {
                        let mine = sql.execute(FAILED, &[&delivery.id, &now, node]).await? > 0;
                        if mine && let Some(reason) = disable_endpoint {
                            if sql.is_postgres() {
                                sql.execute(LOCK_ENDPOINT, &[&delivery.endpoint_id]).await?;
                            }
                            let unchanged = "SELECT id FROM webhook_endpoints WHERE id = $1 AND updated_at = $2";
                            if sql.row(unchanged, &[&delivery.endpoint_id, endpoint_as_read]).await?.is_some() {
                                // Named before the endpoint is turned off, whose trigger hands them over.
                                attempted.handed = hand_over_bot_conversations(sql, delivery.endpoint_id, None, None).await?;
                                attempted.disabled = sql.execute(DISABLE_ENDPOINT, &[&delivery.endpoint_id, reason, &now, endpoint_as_read]).await? > 0;
                            }
                        }
                    }
                };
                Ok(attempted)
            })
        });
        self.write_batched(input, attempted).await
    }

    async fn webhook_deliveries(&self, endpoint_id: i64, scope: Scope, limit: u32) -> StoreResult<Vec<(Delivery, Vec<Attempt>)>> {
        self.read(body(move |sql| {
            Box::pin(async move {
                let mut listed = Vec::new();
                for row in sql.rows(&deliveries_sql(), &[&endpoint_id, &i64::from(limit), &scope.workspace()]).await? {
                    let delivery = delivery_row(&row);
                    let attempts = sql.rows(ATTEMPTS_OF, &[&delivery.id]).await?.iter().map(attempt_row).collect();
                    listed.push((delivery, attempts));
                }
                Ok(listed)
            })
        }))
        .await
    }

    async fn redeliver_webhooks(&self, endpoint_id: i64, scope: Scope, which: Redeliver) -> StoreResult<u64> {
        let (one, since) = redeliver_params(which);
        self.write(body(move |sql| Box::pin(async move { sql.execute(&redeliver_sql(), &[&endpoint_id, &one, &since, &now_ms(), &scope.workspace()]).await }))).await
    }

    async fn ping_webhook(&self, endpoint_id: i64, lease: Duration) -> StoreResult<Option<Delivery>> {
        let node = self.claiming_node().unwrap_or(LOCAL_NODE).to_owned();
        self.write(body(move |sql| {
            Box::pin(async move {
                let now = now_ms();
                let until = now + lease.as_millis() as i64;
                Ok(sql.row(&ping_sql(), &[&endpoint_id, &new_event_id(), &now, &node, &until]).await?.as_ref().map(delivery_row))
            })
        }))
        .await
    }

    async fn prune_webhook_history(&self, before: i64) -> StoreResult<()> {
        self.write(body(move |sql| {
            Box::pin(async move {
                sql.execute(PRUNE_ATTEMPTS, &[&before]).await?;
                sql.execute(PRUNE_DELIVERIES, &[&before]).await?;
                Ok(())
            })
        }))
        .await
    }

    async fn probe_webhook_endpoints(&self, now: i64, idle_since: i64) -> StoreResult<usize> {
        self.write(body(move |sql| Box::pin(async move { Ok(sql.execute(PROBE_ENDPOINTS, &[&now, &idle_since]).await? as usize) }))).await
    }

    async fn channel_bot(&self, channel_id: &str, scope: Scope) -> StoreResult<Option<ChannelBot>> {
        let channel_id = channel_id.to_owned();
        self.read(body(move |sql| Box::pin(async move { Ok(sql.row(&channel_bot_sql(), &[&channel_id, &scope.workspace()]).await?.as_ref().map(channel_bot_row)) }))).await
    }

    async fn bot_token_channels(&self, token_id: i64) -> StoreResult<Vec<String>> {
        self.read(body(move |sql| Box::pin(async move { texts(sql, CHANNELS_OF_BOT_TOKEN, &[&token_id]).await }))).await
    }

    async fn create_bot_token(&self, workspace: i64, label: &str, channels: &[String]) -> StoreResult<Result<(i64, String), String>> {
        let (label, channels) = (label.to_owned(), channels.to_vec());
        let (_, token) = new_token(Role::Bot, Some(workspace));
        self.write(body(move |sql| {
            Box::pin(async move {
                for channel in &channels {
                    if sql.row(BOT_OF_CHANNEL, &[channel]).await?.is_some() {
                        return Ok(Err(channel.clone()));
                    }
                }
                let (hash, prefix) = (digest(&token), token_prefix(&token).to_owned());
                let id = sql.row(INSERT_BOT_TOKEN, &[&hash, &workspace, &now_ms(), &label, &prefix]).await?.ok_or(StoreError::NotFound)?.int(0);
                for channel in &channels {
                    // Bound since the check by another request (on another node: SQLite has one
                    // writer): the token made is taken back (its bindings go with it), so
                    // nothing is made.
                    if sql.execute(SET_BOT_TOKEN, &[channel, &id]).await? == 0 {
                        sql.execute("DELETE FROM api_tokens WHERE id = $1", &[&id]).await?;
                        return Ok(Err(channel.clone()));
                    }
                }
                Ok(Ok((id, token)))
            })
        }))
        .await
    }
}
