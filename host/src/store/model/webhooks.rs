//! Event-webhook endpoints, their deliveries and attempts, and channel bots.

use std::time::Duration;

/// An endpoint, its secrets opened (the worker signs with them; the API shows them only when
/// made).
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub id: i64,
    pub workspace_id: i64,
    pub url: String,
    pub description: String,
    pub events: Vec<String>,
    /// The channels it is the bot of (their new conversations are its until handed over).
    pub bot_channels: Vec<String>,
    pub secret: String,
    /// The secret before the last rotation, valid (signed with too) until `previous_until`.
    pub previous_secret: Option<String>,
    pub previous_until: Option<i64>,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Endpoint {
    /// The secrets a delivery is signed with now: the current one, and the previous one while
    /// it is still valid (a receiver that has not switched yet keeps verifying).
    pub fn signing_secrets(&self, now: i64) -> Vec<&str> {
        let mut secrets = vec![self.secret.as_str()];
        if let (Some(previous), Some(until)) = (&self.previous_secret, self.previous_until)
            && until > now
        {
            secrets.push(previous);
        }
        secrets
    }
}

/// An event-webhook endpoint to create.
pub struct NewEndpoint {
    pub workspace_id: i64,
    pub url: String,
    pub description: String,
    pub events: Vec<String>,
    pub bot_channels: Vec<String>,
    pub secret: String,
}

/// What a PATCH changes; `None` leaves it.
#[derive(Default)]
pub struct EndpointChange {
    pub url: Option<String>,
    pub description: Option<String>,
    pub events: Option<Vec<String>>,
    pub bot_channels: Option<Vec<String>>,
    /// Enabling clears the reason it was disabled.
    pub enabled: Option<bool>,
}

/// One event for one endpoint, and where its sending is.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Delivery {
    pub id: i64,
    pub endpoint_id: i64,
    /// The Standard Webhooks `webhook-id`: the same for every attempt and redelivery.
    pub event_id: String,
    pub event_type: String,
    pub workspace_id: i64,
    pub channel_id: Option<String>,
    pub conversation_id: Option<i64>,
    pub message_id: Option<i64>,
    /// What the event says beyond its ids: a failure's reason, the person assigned, a
    /// disconnected channel's name.
    pub detail: Option<String>,
    /// `pending`, `delivered` or `failed`.
    pub state: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub created_at: i64,
}

/// One try at a delivery.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Attempt {
    pub at: i64,
    /// The receiver's HTTP status; none when it did not answer.
    pub status: Option<i64>,
    pub latency_ms: i64,
    /// The first 2 KiB of its answer, or why there was none.
    pub response: String,
}

/// What became of an attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Delivered,
    /// Tried again then.
    Retry { at: i64 },
    /// Given up; the endpoint is disabled with this reason too, when the retry horizon passed.
    Failed { disable_endpoint: Option<String> },
}

/// What recording an attempt did beyond its delivery.
#[derive(Debug, Default)]
pub struct Attempted {
    /// The endpoint was turned off (past the retry horizon, as the attempt read it).
    pub disabled: bool,
    /// The conversations it handed to people then, to announce (on Postgres, announced already).
    pub handed: Vec<super::HandedOver>,
}

/// When a failed delivery is tried again, and when it is given up.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// The waits after the first, second… failure; the last repeats.
    pub schedule: Vec<Duration>,
    /// Counted from the event: past it, a failure fails the delivery and disables the endpoint.
    pub horizon: Duration,
    /// An endpoint whose deliveries all wait on a retry, none tried for this long, is tried
    /// again with its oldest one (as if due): once it takes it, the rest go at once
    /// ([`BACKLOG_DUE_NOW`](crate::store::webhook_endpoints::BACKLOG_DUE_NOW)), so a receiver
    /// back from an outage waits at most this long, not the schedule's next step (30 min,
    /// 2 h…). One attempt per endpoint, not per delivery.
    pub probe_every: Duration,
}

impl Default for RetryPolicy {
    /// Standard Webhooks' suggested schedule (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h …), for 24 h.
    fn default() -> Self {
        let minutes = |m: u64| Duration::from_secs(m * 60);
        Self {
            schedule: vec![Duration::from_secs(5), minutes(5), minutes(30), minutes(120), minutes(300), minutes(600)],
            horizon: Duration::from_secs(24 * 3600),
            probe_every: minutes(5),
        }
    }
}

impl RetryPolicy {
    /// What becomes of a delivery whose attempt failed at `now`.
    pub fn after_failure(&self, delivery: &Delivery, now: i64, why: &str) -> Outcome {
        let give_up_at = delivery.created_at + self.horizon.as_millis() as i64;
        if now >= give_up_at {
            let hours = self.horizon.as_secs_f64() / 3600.0;
            return Outcome::Failed {
                disable_endpoint: Some(format!("no delivery succeeded for {hours} h (the retry horizon); the last attempt: {why}")),
            };
        }
        let wait = self.schedule.get(delivery.attempts as usize).or(self.schedule.last()).copied().unwrap_or(Duration::from_secs(5));
        Outcome::Retry { at: (now + wait.as_millis() as i64).min(give_up_at) }
    }
}

/// Which deliveries an admin sends again.
#[derive(Debug, Clone, Copy)]
pub enum Redeliver {
    One(i64),
    /// Every event since then (ms).
    Since(i64),
}

/// What a channel's bot is.
#[derive(utoipa::ToSchema, Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BotKind {
    /// A webhook endpoint: it hears the channel's events and answers through the API.
    Endpoint,
    /// An API token with the role `bot`: it reads and answers through the API.
    Token,
}

/// A channel's bot, as the inbox names who handles a conversation in status `bot`.
#[derive(utoipa::ToSchema, Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ChannelBot {
    pub kind: BotKind,
    /// The endpoint's or the token's id.
    pub id: i64,
    /// The token's label, or the endpoint's description (empty when it has none).
    pub name: String,
    /// Whether it answers now (an endpoint turned off does not: its conversations went to people).
    pub enabled: bool,
}
