//! Event webhooks (a worker beside the outbox, above `app`): a workspace's CRM, ticketing or
//! bot hears what happens in its inbox. The schema's triggers write one delivery per event and
//! subscribed endpoint in the transaction that stores the event (`store::webhook_endpoints`),
//! so a crash loses none; this worker sends them, signed as the Standard Webhooks
//! specification says (the `standardwebhooks` crate signs; receivers verify with any of its
//! libraries), retries with backoff until the retry horizon, then fails the delivery and
//! disables the endpoint with a notice in the workspace's audit log (a bot endpoint's
//! conversations still in status `bot` go to people then, each announced to the live inbox).
//!
//! Order: an endpoint receives a conversation's events one after the other (the next waits
//! until the one before it was delivered or given up). Isolation: each endpoint has at most
//! [`PER_ENDPOINT`] sends in flight, each bounded by [`ATTEMPT_TIMEOUT`], so a receiver that
//! hangs holds its own slots only. Several nodes: a send is claimed with a lease, as the
//! outbox's are; a killed node's claims lapse and another node sends them (a duplicate is
//! possible only for a send in flight at the kill, and it carries the same `webhook-id`).

pub mod payload;

pub use crate::store::model::RetryPolicy;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::app::App;
use crate::leases::{LEASE, RENEW_EVERY};
use crate::store::model::{Attempt, Delivery, Endpoint, Outcome};
use crate::store::{Scope, now_ms};

/// How long a receiver may take to answer one delivery.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Sends in flight at once, in all and per endpoint.
const CONCURRENT: usize = 64;
pub const PER_ENDPOINT: usize = 8;
/// Looked again this soon when nothing was due (the triggers write deliveries without a word to
/// this worker; a look is one indexed query).
const IDLE_POLL: Duration = Duration::from_millis(200);
/// Attempts, and finished deliveries, are kept this long (shown on the endpoint's page).
const HISTORY: Duration = Duration::from_secs(7 * 24 * 3600);
/// What is kept of a receiver's answer.
const ANSWER_KEPT: usize = 2048;

pub async fn run(app: Arc<App>, mut stop: watch::Receiver<bool>) {
    let mut sends: JoinSet<()> = JoinSet::new();
    let mut running: HashMap<tokio::task::Id, (i64, i64)> = HashMap::new();
    let mut pruned = Instant::now() - Duration::from_secs(3600);
    let mut backlog = Backlog::new();
    let mut renewed = Instant::now();
    let mut probed = Instant::now();
    loop {
        if *stop.borrow() {
            break;
        }
        if renewed.elapsed() >= RENEW_EVERY {
            renewed = Instant::now();
            renew_claims(&app, &running).await;
        }
        while let Some(done) = sends.try_join_next_with_id() {
            let id = match done {
                Ok((id, ())) => id,
                Err(error) => error.id(),
            };
            running.remove(&id);
        }
        if probed.elapsed() >= app.webhook_retry.probe_every {
            probed = Instant::now();
            let (now, probe_every) = (now_ms(), app.webhook_retry.probe_every.as_millis() as i64);
            match app.store.probe_webhook_endpoints(now, now - probe_every).await {
                Ok(0) => {}
                Ok(probed) => tracing::info!(endpoints = probed, "endpoints waiting on retries tried again with their oldest delivery"),
                Err(error) => tracing::warn!("trying endpoints that wait on retries again failed: {error}"),
            }
        }
        if pruned.elapsed() > Duration::from_secs(3600) {
            pruned = Instant::now();
            if let Err(error) = app.store.prune_webhook_history(now_ms() - HISTORY.as_millis() as i64).await {
                tracing::warn!("forgetting old webhook attempts failed: {error}");
            }
        }
        let started = start_due(&app, &mut sends, &mut running, &mut backlog).await;
        if started == 0 {
            let pause = tokio::time::sleep(IDLE_POLL);
            tokio::select! {
                _ = pause => {}
                _ = stop.changed() => {}
                Some(done) = sends.join_next_with_id() => {
                    let id = match done { Ok((id, ())) => id, Err(error) => error.id() };
                    running.remove(&id);
                }
            }
        }
    }
    // Sends in flight finish (each is bounded); what they did not record stays claimed and is
    // sent again after the lease, here or by another node.
    while sends.join_next().await.is_some() {}
}

/// Keeps this node's claims on its sends in flight (see [`crate::leases`]).
async fn renew_claims(app: &App, running: &HashMap<tokio::task::Id, (i64, i64)>) {
    let in_flight: Vec<i64> = running.values().map(|(delivery, _)| *delivery).collect();
    if !in_flight.is_empty() {
        crate::leases::report_renewal("webhook sends", in_flight.len(), app.store.renew_webhook_claims(&in_flight, LEASE).await);
    }
}

/// Deliveries found due and not started yet (their endpoint was at its limit), with their
/// endpoints: a completed send starts the next from here instead of asking the database again;
/// it is read again when nothing in it can start, or after [`IDLE_POLL`].
struct Backlog {
    due: Vec<Delivery>,
    endpoints: HashMap<i64, Option<Arc<Endpoint>>>,
    read_at: Instant,
}

impl Backlog {
    fn new() -> Self {
        Self { due: Vec::new(), endpoints: HashMap::new(), read_at: Instant::now() }
    }

    async fn refill(&mut self, app: &App, in_flight: &[i64]) {
        // More than there is room for: an endpoint at its limit must not hide the others' sends.
        self.due = app.store.due_webhook_deliveries((CONCURRENT * 4) as u32, in_flight).await.unwrap_or_else(|error| {
            tracing::error!("reading the webhook deliveries failed: {error}");
            Vec::new()
        });
        self.endpoints.clear();
        self.read_at = Instant::now();
        for delivery in &self.due {
            if !self.endpoints.contains_key(&delivery.endpoint_id) {
                let endpoint = app.store.webhook_endpoint(delivery.endpoint_id, Scope::Every).await.ok().flatten().filter(|e| e.enabled).map(Arc::new);
                self.endpoints.insert(delivery.endpoint_id, endpoint);
            }
        }
    }
}

/// Starts the sends that are due and have room; how many.
async fn start_due(app: &Arc<App>, sends: &mut JoinSet<()>, running: &mut HashMap<tokio::task::Id, (i64, i64)>, backlog: &mut Backlog) -> usize {
    if running.len() >= CONCURRENT {
        return 0;
    }
    let mut per_endpoint: HashMap<i64, usize> = HashMap::new();
    for (_, endpoint) in running.values() {
        *per_endpoint.entry(*endpoint).or_default() += 1;
    }
    let startable = |backlog: &Backlog, per_endpoint: &HashMap<i64, usize>| {
        backlog.due.iter().any(|d| per_endpoint.get(&d.endpoint_id).copied().unwrap_or(0) < PER_ENDPOINT)
    };
    if !startable(backlog, &per_endpoint) || backlog.read_at.elapsed() > IDLE_POLL {
        let in_flight: Vec<i64> = running.values().map(|(delivery, _)| *delivery).collect();
        backlog.refill(app, &in_flight).await;
    }
    let mut started = 0;
    let mut kept = Vec::new();
    for delivery in std::mem::take(&mut backlog.due) {
        let busy = per_endpoint.entry(delivery.endpoint_id).or_default();
        if running.len() >= CONCURRENT || *busy >= PER_ENDPOINT {
            kept.push(delivery);
            continue;
        }
        let Some(Some(endpoint)) = backlog.endpoints.get(&delivery.endpoint_id).cloned() else { continue };
        // Another node may have taken it since.
        match app.store.claim_webhook_delivery(delivery.id, LEASE).await {
            Ok(true) => {}
            Ok(false) => continue,
            Err(error) => {
                tracing::warn!(delivery = delivery.id, "claiming a webhook delivery failed: {error}");
                continue;
            }
        }
        *busy += 1;
        let (app, ids) = (app.clone(), (delivery.id, delivery.endpoint_id));
        let task = sends.spawn(async move {
            let (attempt, outcome) = attempt(&app, &endpoint, &delivery).await;
            match app.store.webhook_attempted(&delivery, &attempt, &outcome, endpoint.updated_at).await {
                // Disabled past the retry horizon: a bot's conversations went to people, each
                // announced to the live inbox (on Postgres the store announced them to every
                // node already; this does nothing there).
                Ok(attempted) => {
                    for conversation in &attempted.handed {
                        app.live.conversation(&conversation.channel_id, conversation.conversation_id);
                    }
                    if attempted.disabled
                        && let Outcome::Failed { disable_endpoint: Some(reason) } = &outcome
                    {
                        disabled_notice(&app, &endpoint, reason).await;
                    }
                }
                Err(error) => tracing::error!(delivery = delivery.id, "recording a webhook attempt failed (it is sent again after its lease): {error}"),
            }
        });
        running.insert(task.id(), ids);
        started += 1;
    }
    backlog.due = kept;
    started
}

/// Tells the workspace's admins, in the audit log their pages show, that an endpoint stopped.
async fn disabled_notice(app: &App, endpoint: &Endpoint, reason: &str) {
    tracing::warn!(endpoint = endpoint.id, url = %endpoint.url, "webhook endpoint disabled: {reason}");
    let target = format!("{} {}", endpoint.id, endpoint.url);
    let entry = crate::store::model::NewAuditEntry {
        workspace_id: Some(endpoint.workspace_id),
        actor: "switchboard",
        address: None,
        action: "webhook_endpoint.disabled",
        target: Some(&target),
        detail: Some(reason),
    };
    if let Err(error) = app.store.record_audit(entry).await {
        tracing::error!("recording that a webhook endpoint was disabled failed: {error}");
    }
}

/// One attempt: the payload built, signed and posted; what the receiver answered and what
/// becomes of the delivery.
pub async fn attempt(app: &App, endpoint: &Endpoint, delivery: &Delivery) -> (Attempt, Outcome) {
    let started = Instant::now();
    let at = now_ms();
    let result = post(app, endpoint, delivery).await;
    let latency_ms = started.elapsed().as_millis() as i64;
    let now = now_ms();
    match result {
        Ok((status, answer)) if (200..300).contains(&status) => (Attempt { at, status: Some(status.into()), latency_ms, response: answer }, Outcome::Delivered),
        Ok((status, answer)) => {
            let why = format!("answered {status}");
            let outcome = app.webhook_retry.after_failure(delivery, now, &why);
            (Attempt { at, status: Some(status.into()), latency_ms, response: answer }, outcome)
        }
        Err(why) => {
            let outcome = app.webhook_retry.after_failure(delivery, now, &why);
            (Attempt { at, status: None, latency_ms, response: why }, outcome)
        }
    }
}

/// Posts the delivery; the receiver's status and the start of its answer, or why it gave none.
async fn post(app: &App, endpoint: &Endpoint, delivery: &Delivery) -> Result<(u16, String), String> {
    let body = payload::build(app, delivery).await.map_err(|e| format!("the event could not be read: {e}"))?;
    let url = reqwest::Url::parse(&endpoint.url).map_err(|e| format!("`{}` is not a URL: {e}", endpoint.url))?;
    let client = app.webhook_clients.client(&url, &app.outbound_allowed, "webhook endpoints", CONNECT_TIMEOUT, ATTEMPT_TIMEOUT).await.map_err(|e| e.to_string())?;
    let timestamp = now_ms() / 1000;
    let signature = sign(endpoint, &delivery.event_id, timestamp, &body)?;
    let request = client
        .post(url)
        .timeout(ATTEMPT_TIMEOUT)
        .header("content-type", "application/json")
        .header("webhook-id", &delivery.event_id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(body);
    let response = request.send().await.map_err(|e| describe(&e))?;
    let status = response.status().as_u16();
    // What is kept of the answer; a body cut off midway is kept as far as it came.
    let answer = crate::egress::read_at_most(response, ANSWER_KEPT).await.map(|(kept, _)| kept).unwrap_or_default();
    Ok((status, crate::store::storable(&String::from_utf8_lossy(&answer))))
}

/// The `webhook-signature` header: one `v1,<signature>` per valid secret, space separated (a
/// receiver that still has the previous secret keeps verifying during a rotation).
fn sign(endpoint: &Endpoint, event_id: &str, timestamp: i64, body: &[u8]) -> Result<String, String> {
    let mut signatures = Vec::new();
    for secret in endpoint.signing_secrets(now_ms()) {
        let signer = standardwebhooks::Webhook::new(secret).map_err(|e| format!("the endpoint's secret is unusable: {e}"))?;
        signatures.push(signer.sign(event_id, timestamp, body).map_err(|e| format!("signing failed: {e}"))?);
    }
    Ok(signatures.join(" "))
}

fn describe(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        return format!("no answer within {} s", ATTEMPT_TIMEOUT.as_secs());
    }
    crate::egress::error_chain(error)
}

/// The test event an admin sends: sent now, recorded, not retried.
pub async fn ping(app: &App, endpoint: &Endpoint) -> Result<Attempt, crate::store::StoreError> {
    // Sent here, outside the worker's renewals: claimed for longer than the attempt can take.
    let Some(delivery) = app.store.ping_webhook(endpoint.id, ATTEMPT_TIMEOUT + LEASE).await? else { return Err(crate::store::StoreError::NotFound) };
    let (attempt, outcome) = attempt(app, endpoint, &delivery).await;
    let outcome = if outcome == Outcome::Delivered { outcome } else { Outcome::Failed { disable_endpoint: None } };
    app.store.webhook_attempted(&delivery, &attempt, &outcome, endpoint.updated_at).await?;
    Ok(attempt)
}
