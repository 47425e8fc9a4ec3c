//! Event webhooks over Postgres: the SQL and rows of `store::webhook_endpoints`, run on the
//! pool; an attempt's outcome goes through the group-commit writer (they come at the rate of
//! deliveries), and a claim is a conditional update, so of nodes racing for a delivery one wins
//! and a dead node's claim lapses with its lease.

use std::time::Duration;

use deadpool_postgres::GenericClient;

use super::PgStore;
use crate::store::backend::WebhookStore;
use crate::store::conversations::{HandedOver, in_order};
use crate::store::tokens::{Role, digest, new_token, token_prefix};
use crate::store::webhook_endpoints::*;
use crate::store::{Scope, StoreError, StoreResult, now_ms};

impl PgStore {
    async fn read_webhook_endpoint<C: GenericClient>(&self, client: &C, row: &tokio_postgres::Row) -> StoreResult<Endpoint> {
        let id: i64 = row.get(0);
        let events = client.query(EVENTS_OF_ENDPOINT, &[&id]).await?.iter().map(|r| r.get(0)).collect();
        let bots = client.query(BOT_CHANNELS_OF, &[&id]).await?.iter().map(|r| r.get(0)).collect();
        endpoint_row(row, events, bots, &self.secrets)
    }

    async fn replace_subscriptions<C: GenericClient>(client: &C, id: i64, events: &[String]) -> StoreResult<()> {
        client.execute(UNSUBSCRIBE_ALL, &[&id]).await?;
        for event in events {
            client.execute(SUBSCRIBE, &[&id, event]).await?;
        }
        Ok(())
    }

    /// Hands the endpoint's bot conversations to people (see [`HAND_OVER_ENDPOINT_CONVERSATIONS`]:
    /// `channel` `None` for every channel it is the bot of), each announced to every node's
    /// inbox followers once (and only if) the transaction commits, as a bot handing one over
    /// itself is.
    async fn hand_over_bot_conversations<C: GenericClient>(client: &C, id: i64, workspace: Option<i64>, channel: Option<&str>) -> StoreResult<Vec<HandedOver>> {
        client.execute(LOCK_ENDPOINT, &[&id]).await?;
        client.execute(LOCK_ENDPOINT_BINDINGS, &[&id, &channel]).await?;
        let rows = client.query(HAND_OVER_ENDPOINT_CONVERSATIONS, &[&id, &workspace, &channel]).await?;
        let handed = in_order(rows.iter().map(|row| HandedOver { channel_id: row.get(0), conversation_id: row.get(1) }).collect());
        for conversation in &handed {
            super::live::announce(client, "conversation", &conversation.channel_id, conversation.conversation_id, None).await?;
        }
        Ok(handed)
    }

    /// Makes the endpoint the bot of `channels` and of no other: the conversations of the
    /// channels it leaves that were still its go to people, named.
    async fn set_bot_channels<C: GenericClient>(client: &C, id: i64, channels: &[String]) -> StoreResult<Vec<HandedOver>> {
        let current: Vec<String> = client.query(BOT_CHANNELS_OF, &[&id]).await?.iter().map(|r| r.get(0)).collect();
        let mut handed = Vec::new();
        for gone in current.iter().filter(|c| !channels.contains(c)) {
            handed.extend(Self::hand_over_bot_conversations(client, id, None, Some(gone.as_str())).await?);
            client.execute(UNSET_BOT, &[&id, gone]).await?;
        }
        for channel in channels {
            client.execute(SET_BOT, &[channel, &id]).await?;
        }
        Ok(handed)
    }
}

#[async_trait::async_trait]
impl WebhookStore for PgStore {
    async fn create_webhook_endpoint(&self, new: &NewEndpoint) -> StoreResult<Endpoint> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let id: i64 = tx
            .query_one(INSERT_ENDPOINT, &[&new.workspace_id, &new.url, &new.description, &self.secrets.seal(&new.secret), &now_ms()])
            .await?
            .get(0);
        Self::replace_subscriptions(&tx, id, &new.events).await?;
        Self::set_bot_channels(&tx, id, &new.bot_channels).await?;
        tx.commit().await?;
        self.webhook_endpoint(id, Scope::Every).await?.ok_or(StoreError::NotFound)
    }

    async fn webhook_endpoints(&self, scope: Scope) -> StoreResult<Vec<Endpoint>> {
        let client = self.client().await?;
        let mut endpoints = Vec::new();
        for row in client.query(&endpoints_sql(), &[&scope.workspace()]).await? {
            endpoints.push(self.read_webhook_endpoint(&client, &row).await?);
        }
        Ok(endpoints)
    }

    async fn webhook_endpoint(&self, id: i64, scope: Scope) -> StoreResult<Option<Endpoint>> {
        let client = self.client().await?;
        match client.query_opt(&endpoint_sql(), &[&id, &scope.workspace()]).await? {
            Some(row) => Ok(Some(self.read_webhook_endpoint(&client, &row).await?)),
            None => Ok(None),
        }
    }

    async fn update_webhook_endpoint(&self, id: i64, scope: Scope, change: &EndpointChange) -> StoreResult<Option<(Endpoint, Vec<HandedOver>)>> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        // Turned off: every conversation still its bot's goes to people, before the trigger
        // `bot_disabled` would (unnamed).
        let mut handed = if change.enabled == Some(false) { Self::hand_over_bot_conversations(&tx, id, scope.workspace(), None).await? } else { Vec::new() };
        let changed = tx.execute(UPDATE_ENDPOINT, &[&id, &scope.workspace(), &change.url, &change.description, &change.enabled, &now_ms()]).await?;
        if changed == 0 {
            // No such endpoint here: the transaction is dropped (it changed nothing).
            return Ok(None);
        }
        if let Some(events) = &change.events {
            Self::replace_subscriptions(&tx, id, events).await?;
        }
        if let Some(bots) = &change.bot_channels {
            handed.extend(Self::set_bot_channels(&tx, id, bots).await?);
        }
        tx.commit().await?;
        Ok(self.webhook_endpoint(id, scope).await?.map(|endpoint| (endpoint, in_order(handed))))
    }

    async fn rotate_webhook_secret(&self, id: i64, scope: Scope, secret: &str, previous_until: i64) -> StoreResult<Option<Endpoint>> {
        let rotated = self
            .client()
            .await?
            .execute(ROTATE_SECRET, &[&id, &scope.workspace(), &previous_until, &self.secrets.seal(secret), &now_ms()])
            .await?;
        if rotated == 0 {
            return Ok(None);
        }
        self.webhook_endpoint(id, scope).await
    }

    async fn delete_webhook_endpoint(&self, id: i64, scope: Scope) -> StoreResult<Option<Vec<HandedOver>>> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let handed = Self::hand_over_bot_conversations(&tx, id, scope.workspace(), None).await?;
        if tx.execute(DELETE_ENDPOINT, &[&id, &scope.workspace()]).await? == 0 {
            // No such endpoint here: the transaction is dropped (it changed nothing).
            return Ok(None);
        }
        tx.commit().await?;
        Ok(Some(handed))
    }

    async fn due_webhook_deliveries(&self, limit: u32, in_flight: &[i64]) -> StoreResult<Vec<Delivery>> {
        let wanted = i64::from(limit) + in_flight.len() as i64;
        let client = self.client().await?;
        let statement = client.prepare_cached(&due_sql()).await?;
        let due = client.query(&statement, &[&now_ms(), &wanted]).await?;
        Ok(due.iter().map(delivery_row).filter(|d| !in_flight.contains(&d.id)).take(limit as usize).collect())
    }

    async fn claim_webhook_delivery(&self, id: i64, lease: Duration) -> StoreResult<bool> {
        let now = now_ms();
        let client = self.client().await?;
        let statement = client.prepare_cached(CLAIM).await?;
        Ok(client.execute(&statement, &[&id, &self.node, &(now + lease.as_millis() as i64), &now]).await? == 1)
    }

    async fn renew_webhook_claims(&self, in_flight: &[i64], lease: Duration) -> StoreResult<usize> {
        if in_flight.is_empty() {
            return Ok(0);
        }
        let client = self.client().await?;
        let renew = client.prepare_cached("UPDATE webhook_deliveries SET claimed_until = $3 WHERE id = ANY($1) AND claimed_by = $2 AND state = 'pending'").await?;
        Ok(client.execute(&renew, &[&in_flight, &self.node, &(now_ms() + lease.as_millis() as i64)]).await? as usize)
    }

    async fn next_webhook_delivery_at(&self) -> StoreResult<Option<i64>> {
        Ok(self.client().await?.query_one(NEXT_DUE, &[]).await?.get(0))
    }

    async fn webhook_attempted(&self, delivery: &Delivery, attempt: &Attempt, outcome: &Outcome) -> StoreResult<Vec<HandedOver>> {
        let input = (delivery.clone(), attempt.clone(), outcome.clone());
        self.writer
            .write(input, |tx, (delivery, attempt, outcome)| {
                Box::pin(async move {
                    let now = now_ms();
                    let mut handed = Vec::new();
                    tx.execute(INSERT_ATTEMPT, &[&delivery.id, &attempt.at, &attempt.status, &attempt.latency_ms, &attempt.response]).await?;
                    match outcome {
                        Outcome::Delivered => {
                            tx.execute(BACKLOG_DUE_NOW, &[&delivery.endpoint_id, &now]).await?;
                            tx.execute(DELIVERED, &[&delivery.id, &now]).await?
                        }
                        Outcome::Retry { at } => tx.execute(RETRY, &[&delivery.id, at, &now]).await?,
                        Outcome::Failed { disable_endpoint } => {
                            if let Some(reason) = disable_endpoint {
                                handed = Self::hand_over_bot_conversations(tx, delivery.endpoint_id, None, None).await?;
                                tx.execute(DISABLE_ENDPOINT, &[&delivery.endpoint_id, reason, &now]).await?;
                            }
                            tx.execute(FAILED, &[&delivery.id, &now]).await?
                        }
                    };
                    Ok(handed)
                })
            })
            .await
    }

    async fn webhook_deliveries(&self, endpoint_id: i64, limit: u32) -> StoreResult<Vec<(Delivery, Vec<Attempt>)>> {
        let client = self.client().await?;
        let mut listed = Vec::new();
        for row in client.query(&deliveries_sql(), &[&endpoint_id, &i64::from(limit)]).await? {
            let delivery = delivery_row(&row);
            let attempts = client.query(ATTEMPTS_OF, &[&delivery.id]).await?.iter().map(attempt_row).collect();
            listed.push((delivery, attempts));
        }
        Ok(listed)
    }

    async fn redeliver_webhooks(&self, endpoint_id: i64, which: Redeliver) -> StoreResult<u64> {
        let (one, since) = redeliver_params(which);
        Ok(self.client().await?.execute(REDELIVER, &[&endpoint_id, &one, &since, &now_ms()]).await?)
    }

    async fn ping_webhook(&self, endpoint_id: i64, lease: Duration) -> StoreResult<Option<Delivery>> {
        let now = now_ms();
        let until = now + lease.as_millis() as i64;
        let row = self.client().await?.query_opt(&ping_sql(), &[&endpoint_id, &new_event_id(), &now, &self.node, &until]).await?;
        Ok(row.as_ref().map(delivery_row))
    }

    async fn probe_webhook_endpoints(&self, now: i64, idle_since: i64) -> StoreResult<usize> {
        let client = self.client().await?;
        Ok(client.execute(PROBE_ENDPOINTS, &[&now, &idle_since]).await? as usize)
    }

    async fn prune_webhook_history(&self, before: i64) -> StoreResult<()> {
        let client = self.client().await?;
        client.execute(PRUNE_ATTEMPTS, &[&before]).await?;
        client.execute(PRUNE_DELIVERIES, &[&before]).await?;
        Ok(())
    }

    async fn channel_bot(&self, channel_id: &str) -> StoreResult<Option<ChannelBot>> {
        let client = self.client().await?;
        let statement = client.prepare_cached(CHANNEL_BOT).await?;
        Ok(client.query_opt(&statement, &[&channel_id]).await?.map(|row| channel_bot_row(&row)))
    }

    async fn bot_token_channels(&self, token_id: i64) -> StoreResult<Vec<String>> {
        let client = self.client().await?;
        let statement = client.prepare_cached(CHANNELS_OF_BOT_TOKEN).await?;
        Ok(client.query(&statement, &[&token_id]).await?.iter().map(|row| row.get(0)).collect())
    }

    async fn create_bot_token(&self, workspace: i64, label: &str, channels: &[String]) -> StoreResult<Result<(i64, String), String>> {
        let (_, token) = new_token(Role::Bot, Some(workspace));
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        for channel in channels {
            if tx.query_opt(BOT_OF_CHANNEL, &[channel]).await?.is_some() {
                return Ok(Err(channel.clone()));
            }
        }
        let id: i64 = tx.query_one(INSERT_BOT_TOKEN, &[&digest(&token), &workspace, &now_ms(), &label, &token_prefix(&token)]).await?.get(0);
        for channel in channels {
            // Another request (on this node or another) bound it since the check: the
            // transaction is dropped, so nothing is made.
            if tx.execute(SET_BOT_TOKEN, &[channel, &id]).await? == 0 {
                return Ok(Err(channel.clone()));
            }
        }
        tx.commit().await?;
        Ok(Ok((id, token)))
    }
}
