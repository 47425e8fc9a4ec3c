//! Event webhooks' rows: a workspace's endpoints and the events each wants, one delivery per
//! event and endpoint (written by the schema's triggers in the transaction that stores the
//! event), and each attempt. The SQL and its row readers (the rows are in `model::webhooks`), written once for both backends (`$n`
//! placeholders, standard SQL); the operations are in `backend/webhook_endpoints.rs`.

use super::row::ReadRow;
use super::{SecretBox, StoreResult};
use super::model::{Attempt, BotKind, ChannelBot, Delivery, Endpoint, Redeliver};

/// The events an endpoint can ask for.
pub const EVENT_TYPES: &[&str] = &[
    "message.received",
    "message.sent",
    "message.delivered",
    "message.read",
    "message.failed",
    "choice.made",
    "conversation.created",
    "conversation.assigned",
    "conversation.resolved",
    "conversation.reopened",
    "channel.connected",
    "channel.needs_reconnect",
    "channel.disconnected",
];

/// The test an admin sends from the page or the API (never subscribed to, always sent).
pub const PING: &str = "webhook.ping";

pub(crate) const ENDPOINT_COLUMNS: &str =
    "id, workspace_id, url, description, secret, previous_secret, previous_until, enabled, disabled_reason, created_at, updated_at";
pub(crate) const DELIVERY_COLUMNS: &str =
    "id, endpoint_id, event_id, event_type, workspace_id, channel_id, conversation_id, message_id, detail, state, attempts, next_attempt_at, created_at";

pub(crate) fn endpoints_sql() -> String {
    format!("SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE workspace_id = COALESCE($1, workspace_id) ORDER BY id")
}
pub(crate) fn endpoint_sql() -> String {
    format!("SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = $1 AND workspace_id = COALESCE($2, workspace_id)")
}
pub(crate) const EVENTS_OF_ENDPOINT: &str = "SELECT event_type FROM webhook_subscriptions WHERE endpoint_id = $1 ORDER BY event_type";
pub(crate) const BOT_CHANNELS_OF: &str = "SELECT channel_id FROM channel_bots WHERE endpoint_id = $1 ORDER BY channel_id";
/// A channel has one bot, of either kind: the API refuses a second; should two requests race,
/// the later binds nothing (no row: the store refuses the write), whichever kind holds the
/// channel. Binding the endpoint's own channel again is a row. Only a channel of the endpoint's
/// workspace is bound.
pub(crate) const SET_BOT: &str = "INSERT INTO channel_bots (channel_id, endpoint_id)
     SELECT id, CAST($2 AS BIGINT) FROM channels WHERE id = $1 AND workspace_id = (SELECT workspace_id FROM webhook_endpoints WHERE id = $2)
     ON CONFLICT (channel_id) DO UPDATE SET endpoint_id = excluded.endpoint_id WHERE channel_bots.endpoint_id = excluded.endpoint_id";
pub(crate) const UNSET_BOT: &str = "DELETE FROM channel_bots WHERE endpoint_id = $1 AND channel_id = $2";
/// An endpoint's conversations still in status `bot` go to people when it stops being their
/// channel's bot: turned off (by an admin, or past the retry horizon) or deleted (`$3` NULL:
/// every channel it is the bot of), or no longer the bot of the channel `$3`. The same change as
/// the schema's triggers `bot_disabled` and `bot_removed` make, made first in the same
/// transaction so that the store knows which conversations changed, to announce them (the
/// triggers then find none left: on Postgres the bindings are locked first, so a conversation
/// starting on another node has committed, or waits and starts open). `$1` the endpoint, `$2` its workspace
/// (NULL: any; another workspace's endpoint hands over nothing, and is not changed).
/// Postgres: lock an endpoint, then its bindings (to the channel `$2`, or all: NULL), before
/// its conversations are handed over, so that conversations starting on other nodes commit
/// first and are handed over too (see `conversations::bot_or_open`). In the order a starting
/// conversation share-locks them (the endpoint, then the binding), so neither waits on the other
/// in a circle.
pub(crate) const LOCK_ENDPOINT: &str = "SELECT 1 FROM webhook_endpoints WHERE id = $1 FOR UPDATE";
pub(crate) const LOCK_ENDPOINT_BINDINGS: &str = "SELECT 1 FROM channel_bots
     WHERE endpoint_id = $1 AND channel_id = COALESCE($2, channel_id) ORDER BY channel_id FOR UPDATE";
pub(crate) const HAND_OVER_ENDPOINT_CONVERSATIONS: &str = "UPDATE conversations SET status = 'open'
     WHERE status = 'bot' AND channel_id IN (SELECT b.channel_id FROM channel_bots b JOIN webhook_endpoints e ON e.id = b.endpoint_id
                                              WHERE b.endpoint_id = $1 AND e.workspace_id = COALESCE($2, e.workspace_id)
                                                AND b.channel_id = COALESCE($3, b.channel_id))
     RETURNING channel_id, id";
/// A channel's bot: its endpoint or its token, the name people see (the token's label, the
/// endpoint's description) and whether it answers now (an endpoint turned off does not); of
/// the channel `$1` in the scope `$2`.
pub(crate) fn channel_bot_sql() -> String {
    format!(
        "SELECT b.endpoint_id, b.token_id, COALESCE(t.label, e.description, ''), COALESCE(e.enabled, TRUE)
         FROM channel_bots b LEFT JOIN webhook_endpoints e ON e.id = b.endpoint_id LEFT JOIN api_tokens t ON t.id = b.token_id
         WHERE b.channel_id = {}",
        crate::store::channels::channel_in_scope_sql(2)
    )
}
pub(crate) const BOT_OF_CHANNEL: &str = "SELECT channel_id FROM channel_bots WHERE channel_id = $1";
pub(crate) const CHANNELS_OF_BOT_TOKEN: &str = "SELECT channel_id FROM channel_bots WHERE token_id = $1 ORDER BY channel_id";
pub(crate) const INSERT_BOT_TOKEN: &str = "INSERT INTO api_tokens (token_hash, role, workspace_id, created_at, label, prefix)
     VALUES ($1, 'bot', $2, $3, $4, $5) RETURNING id";
/// Binds a channel of the token's workspace to a bot token; nothing when the channel has a bot
/// (another request's) or is of another workspace.
pub(crate) const SET_BOT_TOKEN: &str = "INSERT INTO channel_bots (channel_id, token_id)
     SELECT id, CAST($2 AS BIGINT) FROM channels WHERE id = $1 AND workspace_id = (SELECT workspace_id FROM api_tokens WHERE id = $2)
     ON CONFLICT (channel_id) DO NOTHING";
pub(crate) const INSERT_ENDPOINT: &str = "INSERT INTO webhook_endpoints (workspace_id, url, description, secret, enabled, created_at, updated_at)
     VALUES ($1, $2, $3, $4, TRUE, $5, $5) RETURNING id";
pub(crate) const SUBSCRIBE: &str = "INSERT INTO webhook_subscriptions (endpoint_id, event_type) VALUES ($1, $2)";
pub(crate) const UNSUBSCRIBE_ALL: &str = "DELETE FROM webhook_subscriptions WHERE endpoint_id = $1";
pub(crate) const UPDATE_ENDPOINT: &str = "UPDATE webhook_endpoints SET url = COALESCE($3, url), description = COALESCE($4, description),
        enabled = COALESCE($5, enabled), disabled_reason = CASE WHEN $5 THEN NULL ELSE disabled_reason END,
        updated_at = CASE WHEN $6 > updated_at THEN $6 ELSE updated_at + 1 END
     WHERE id = $1 AND workspace_id = COALESCE($2, workspace_id)";
/// (`updated_at` moves forward at every change, by 1 ms at least, as a channel's does: what an
/// attempt read is told apart from any change since, `DISABLE_ENDPOINT`.)
pub(crate) const ROTATE_SECRET: &str = "UPDATE webhook_endpoints SET previous_secret = secret, previous_until = $3, secret = $4,
        updated_at = CASE WHEN $5 > updated_at THEN $5 ELSE updated_at + 1 END
     WHERE id = $1 AND workspace_id = COALESCE($2, workspace_id)";
pub(crate) const DELETE_ENDPOINT: &str = "DELETE FROM webhook_endpoints WHERE id = $1 AND workspace_id = COALESCE($2, workspace_id)";
/// Due, unclaimed, its endpoint enabled, and the first of its conversation still pending for
/// its endpoint (a conversation's events go out one after the other, in order).
pub(crate) fn due_sql() -> String {
    let columns = DELIVERY_COLUMNS.split(", ").map(|c| format!("d.{c}")).collect::<Vec<_>>().join(", ");
    format!(
        "SELECT {columns} FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
         WHERE d.state = 'pending' AND d.next_attempt_at <= $1 AND (d.claimed_until IS NULL OR d.claimed_until < $1) AND e.enabled
           AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p WHERE p.endpoint_id = d.endpoint_id
                             AND p.conversation_id = d.conversation_id AND p.state = 'pending' AND p.id < d.id)
         ORDER BY d.next_attempt_at, d.id LIMIT $2"
    )
}
/// The condition is checked again on the row the UPDATE locked: of nodes racing, one wins.
pub(crate) const CLAIM: &str = "UPDATE webhook_deliveries SET claimed_by = $2, claimed_until = $3
     WHERE id = $1 AND state = 'pending' AND (claimed_until IS NULL OR claimed_until < $4)";
pub(crate) const INSERT_ATTEMPT: &str = "INSERT INTO webhook_attempts (delivery_id, at, status, latency_ms, response) VALUES ($1, $2, $3, $4, $5)";
/// The outcomes below: only while the delivery is this node's `$3` (NULL: one node, no claims),
/// so a late outcome of a node whose claim lapsed does not undo what another node did since.
pub(crate) const DELIVERED: &str = "UPDATE webhook_deliveries SET state = 'delivered', attempts = attempts + 1, claimed_by = NULL, claimed_until = NULL, updated_at = $2
     WHERE id = $1 AND (CAST($3 AS TEXT) IS NULL OR claimed_by = $3)";
/// An endpoint that took a delivery is up again: its deliveries waiting on a retry (tried
/// before, due later) are due now, not hours later by the backoff schedule. `$1` the endpoint,
/// `$2` now. Order is kept by `due_sql` (a conversation's first pending event goes first).
/// Run after every delivery, so it reads only what waits on a retry (the `due` index, range
/// `next_attempt_at > now`): `+endpoint_id` keeps the planner off the endpoint's index, which
/// would visit all its pending deliveries each time (a backlog flushed in quadratic time).
pub(crate) const BACKLOG_DUE_NOW: &str = "UPDATE webhook_deliveries SET next_attempt_at = $2
     WHERE +endpoint_id = $1 AND state = 'pending' AND attempts > 0 AND next_attempt_at > $2";
/// [`RetryPolicy::probe_every`](super::model::RetryPolicy::probe_every): of each enabled endpoint with nothing it could send now (the
/// first pending delivery of each of its conversations waits on a retry, `$1` now) and no
/// attempt since `$2`, the oldest of those firsts is due now (order holds). Several nodes
/// running it at once probe an endpoint once: after the first, one of its deliveries is due.
pub(crate) const PROBE_ENDPOINTS: &str = "UPDATE webhook_deliveries SET next_attempt_at = $1
     WHERE id IN (SELECT MIN(d.id) FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
                  WHERE d.state = 'pending' AND e.enabled
                    AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p WHERE p.endpoint_id = d.endpoint_id
                                      AND p.conversation_id = d.conversation_id AND p.state = 'pending' AND p.id < d.id)
                  GROUP BY d.endpoint_id
                  HAVING MIN(d.next_attempt_at) > $1 AND MAX(d.updated_at) < $2)";
pub(crate) const RETRY: &str = "UPDATE webhook_deliveries SET attempts = attempts + 1, next_attempt_at = $2, claimed_by = NULL, claimed_until = NULL, updated_at = $3
     WHERE id = $1 AND (CAST($4 AS TEXT) IS NULL OR claimed_by = $4)";
pub(crate) const FAILED: &str = "UPDATE webhook_deliveries SET state = 'failed', attempts = attempts + 1, claimed_by = NULL, claimed_until = NULL, updated_at = $2
     WHERE id = $1 AND (CAST($3 AS TEXT) IS NULL OR claimed_by = $3)";
/// Only while the endpoint is as the attempt read it (`$4`, its `updated_at`).
pub(crate) const DISABLE_ENDPOINT: &str = "UPDATE webhook_endpoints SET enabled = FALSE, disabled_reason = $2, updated_at = $3 WHERE id = $1 AND updated_at = $4";
/// The endpoint `$1` if it is in the scope `$<scope>` (NULL: every workspace), as a subquery.
fn endpoint_in_scope(scope: usize) -> String {
    format!("(SELECT e.id FROM webhook_endpoints e WHERE e.id = $1 AND e.workspace_id = COALESCE(${scope}, e.workspace_id))")
}
pub(crate) fn deliveries_sql() -> String {
    format!("SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE endpoint_id = {} ORDER BY id DESC LIMIT $2", endpoint_in_scope(3))
}
pub(crate) const ATTEMPTS_OF: &str = "SELECT at, status, latency_ms, response FROM webhook_attempts WHERE delivery_id = $1 ORDER BY id";
/// Copies of finished deliveries, due now, keeping their event id: `$2` names one delivery
/// (`$3` NULL) or `$3` a time since which every event goes again; of the endpoint `$1` in the
/// scope `$5`.
pub(crate) fn redeliver_sql() -> String {
    format!(
        "INSERT INTO webhook_deliveries (endpoint_id, event_id, event_type, workspace_id, channel_id, conversation_id, message_id, detail, next_attempt_at, created_at, updated_at)
         SELECT endpoint_id, event_id, event_type, workspace_id, channel_id, conversation_id, message_id, detail, CAST($4 AS BIGINT), created_at, CAST($4 AS BIGINT)
         FROM webhook_deliveries WHERE endpoint_id = {} AND state <> 'pending' AND event_type <> 'webhook.ping'
           AND (id = CAST($2 AS BIGINT) OR created_at >= CAST($3 AS BIGINT)) ORDER BY id",
        endpoint_in_scope(5)
    )
}
pub(crate) fn ping_sql() -> String {
    format!(
        "INSERT INTO webhook_deliveries (endpoint_id, event_id, event_type, workspace_id, next_attempt_at, claimed_by, claimed_until, created_at, updated_at)
         SELECT id, CAST($2 AS TEXT), '{PING}', workspace_id, CAST($3 AS BIGINT), CAST($4 AS TEXT), CAST($5 AS BIGINT), CAST($3 AS BIGINT), CAST($3 AS BIGINT) FROM webhook_endpoints WHERE id = $1 RETURNING {DELIVERY_COLUMNS}"
    )
}
pub(crate) const PRUNE_ATTEMPTS: &str = "DELETE FROM webhook_attempts WHERE at < $1";
pub(crate) const PRUNE_DELIVERIES: &str = "DELETE FROM webhook_deliveries WHERE state <> 'pending' AND updated_at < $1";

/// A [`channel_bot_sql`] row.
pub(crate) fn channel_bot_row(row: &impl ReadRow) -> ChannelBot {
    let (kind, id) = match row.opt_int(1) {
        Some(token) => (BotKind::Token, token),
        None => (BotKind::Endpoint, row.opt_int(0).unwrap_or_default()),
    };
    ChannelBot { kind, id, name: row.text(2), enabled: row.flag(3) }
}

/// An endpoint's row, its secrets still sealed, and its events.
pub(crate) fn endpoint_row(row: &impl ReadRow, events: Vec<String>, bot_channels: Vec<String>, secrets: &SecretBox) -> StoreResult<Endpoint> {
    Ok(Endpoint {
        id: row.int(0),
        workspace_id: row.int(1),
        url: row.text(2),
        description: row.text(3),
        events,
        bot_channels,
        secret: secrets.open(&row.text(4))?,
        previous_secret: row.opt_text(5).map(|s| secrets.open(&s)).transpose()?,
        previous_until: row.opt_int(6),
        enabled: row.flag(7),
        disabled_reason: row.opt_text(8),
        created_at: row.int(9),
        updated_at: row.int(10),
    })
}

pub(crate) fn delivery_row(row: &impl ReadRow) -> Delivery {
    Delivery {
        id: row.int(0),
        endpoint_id: row.int(1),
        event_id: row.text(2),
        event_type: row.text(3),
        workspace_id: row.int(4),
        channel_id: row.opt_text(5),
        conversation_id: row.opt_int(6),
        message_id: row.opt_int(7),
        detail: row.opt_text(8),
        state: row.text(9),
        attempts: row.int(10),
        next_attempt_at: row.int(11),
        created_at: row.int(12),
    }
}

pub(crate) fn attempt_row(row: &impl ReadRow) -> Attempt {
    Attempt { at: row.int(0), status: row.opt_int(1), latency_ms: row.int(2), response: row.text(3) }
}

/// A new delivery's event id (a redelivery keeps its original's).
pub fn new_event_id() -> String {
    format!("evt_{}", hex::encode(rand::random::<[u8; 12]>()))
}

/// `$2` and `$3` of [`REDELIVER`]: one delivery's id, or a time (the other never matches).
pub(crate) fn redeliver_params(which: Redeliver) -> (i64, i64) {
    match which {
        Redeliver::One(id) => (id, i64::MAX),
        Redeliver::Since(at) => (-1, at),
    }
}
