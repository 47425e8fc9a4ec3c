//! The outbox worker: delivers queued messages through their channel's plugin, concurrently
//! but in order within a conversation (a message is due only once the one before it was sent
//! or failed), each channel within its plugin's send limits ([`slots`]) so one slow or hanging
//! provider only holds its own channel's slots. Passing failures are retried with exponential
//! backoff (honouring the provider's retry-after; the message shows the reason meanwhile),
//! permanent ones recorded with the reason. A message stays in the outbox until one of those
//! happens, so nothing accepted is lost across restarts.
//!
//! Each send carries the message id as `message-id`, stable across attempts: plugins pass it
//! where the provider takes an idempotency key (LINE's `X-Line-Retry-Key`). Where the
//! provider has none (Telegram, Meta, X, SMTP), a crash after the provider accepted a message
//! and before the host recorded it sends that message again after the restart: at most the
//! sends that were in flight at the crash.

pub mod slots;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::app::App;
use crate::leases::{LEASE, RENEW_EVERY};
use crate::runtime::types::{ButtonParameter, ButtonValue, ChannelError, InboundSummary, InteractiveMessage, Media, MediaKind, OutboundContent, OutboundMessage, SendLimits, TemplateMessage};
use crate::runtime::{CallError, Retry};
use crate::store::model::{DeliveryContext, MessageContent, PendingDelivery, TemplateButtonValue, TemplateContent};
use crate::store::now_ms;
use crate::store::Scope;
use slots::Slots;

/// Attempts before a passing failure becomes a permanent one.
pub const MAX_ATTEMPTS: u32 = 8;
const FIRST_RETRY: Duration = Duration::from_secs(1);
const LONGEST_RETRY: Duration = Duration::from_secs(15 * 60);
/// How long the worker sleeps when nothing is due and nothing wakes it.
const IDLE_POLL: Duration = Duration::from_secs(5);
/// Due deliveries read at once.
const BATCH: u32 = 256;


pub async fn run(app: Arc<App>, mut stop: watch::Receiver<bool>) {
    let _running = app.health.outbox_running();
    if !app.health.wait_for_plugins(&mut stop).await {
        return;
    }
    let mut slots = Slots::default();
    let mut renewed = Instant::now();
    let mut sends: JoinSet<()> = JoinSet::new();
    // Which message each send task delivers (a task that panicked says only its id).
    let mut tasks: HashMap<tokio::task::Id, i64> = HashMap::new();
    // Channels never change plugin: looked up once.
    let mut plugin_of: HashMap<String, Option<String>> = HashMap::new();
    loop {
        if *stop.borrow() {
            break;
        }
        while let Some(done) = sends.try_join_next_with_id() {
            finished(&app, &mut slots, &mut tasks, done).await;
        }
        let now = Instant::now();
        if now.duration_since(renewed) >= RENEW_EVERY {
            renew_claims(&app, &slots).await;
            renewed = now;
        }
        let (paused, rate_wait) = slots.paused(now);
        let due = app.store.claim_deliveries(BATCH, LEASE, &slots.in_flight(), &paused).await.unwrap_or_else(|e| {
            tracing::error!("reading the outbox failed: {e}");
            Vec::new()
        });
        let mut started = 0;
        for delivery in due {
            let limits = send_limits(&app, &mut plugin_of, &delivery.channel_id).await;
            if slots.try_start(delivery.message_id, &delivery.channel_id, limits, now).is_err() {
                continue;
            }
            started += 1;
            let message = delivery.message_id;
            let app = app.clone();
            let task = sends.spawn(async move { deliver(&app, &delivery).await });
            tasks.insert(task.id(), message);
        }
        if started > 0 {
            continue;
        }
        // Nothing could start: sleep until a send finishes, one is queued or due, or a rate allows.
        let (paused, _) = slots.paused(Instant::now());
        let mut sleep = match app.store.next_delivery_at(&paused).await {
            Ok(Some(at)) => Duration::from_millis((at - now_ms()).clamp(0, IDLE_POLL.as_millis() as i64) as u64),
            _ => IDLE_POLL,
        };
        if let Some(at) = rate_wait {
            sleep = sleep.min(at.saturating_duration_since(Instant::now()));
        }
        // Due now but every one of them waits for a slot: only a finished send changes that.
        if sleep.is_zero() && slots.total() > 0 {
            sleep = IDLE_POLL;
        }
        // Sends in flight: awake for their next renewal.
        if slots.total() > 0 {
            sleep = sleep.min(RENEW_EVERY.saturating_sub(renewed.elapsed()));
        }
        tokio::select! {
            Some(done) = sends.join_next_with_id(), if !sends.is_empty() => finished(&app, &mut slots, &mut tasks, done).await,
            _ = tokio::time::sleep(sleep) => {}
            _ = app.outbox_wake.notified() => {}
            _ = stop.changed() => break,
        }
    }
    // Sends in flight finish (each within the plugin timeout); what is not started stays queued.
    while let Some(done) = sends.join_next_with_id().await {
        finished(&app, &mut slots, &mut tasks, done).await;
    }
}

async fn finished(app: &App, slots: &mut Slots, tasks: &mut HashMap<tokio::task::Id, i64>, done: Result<(tokio::task::Id, ()), tokio::task::JoinError>) {
    let id = match &done {
        Ok((id, ())) => *id,
        Err(error) => error.id(),
    };
    let Some(message) = tasks.remove(&id) else { return };
    slots.finish(message);
    if let Err(error) = done {
        // A bug, not the provider: counted as an attempt, so it cannot loop for ever.
        tracing::error!(message_id = message, "a delivery stopped: {error}");
        let retry_at = now_ms() + LONGEST_RETRY.as_millis() as i64;
        let _ = app.store.delivery_retry(message, retry_at, "the delivery stopped unexpectedly; it will be tried again").await;
    }
}

/// Keeps this node's claims on its sends in flight (see [`crate::leases`]).
async fn renew_claims(app: &App, slots: &Slots) {
    let in_flight = slots.in_flight();
    if !in_flight.is_empty() {
        crate::leases::report_renewal("sends", in_flight.len(), app.store.renew_claims(&in_flight, LEASE).await);
    }
}

/// The channel's plugin's send limits (the host's defaults when it is not loaded).
async fn send_limits(app: &App, plugin_of: &mut HashMap<String, Option<String>>, channel_id: &str) -> SendLimits {
    if !plugin_of.contains_key(channel_id) {
        let plugin = app.store.channel(channel_id, Scope::Every).await.ok().flatten().map(|c| c.plugin);
        plugin_of.insert(channel_id.to_owned(), plugin);
    }
    plugin_of[channel_id].as_ref().and_then(|id| app.registry.get(id)).map(|p| p.send_limits).unwrap_or_default()
}

/// How often a message of a suspended workspace is looked at again.
const SUSPENDED_RECHECK: Duration = Duration::from_secs(30);

/// What to do after an attempt.
enum Next {
    Retry { after: Option<Duration>, reason: String },
    /// Not attempted (the workspace is suspended): look again later, not counted.
    Hold(String),
    Fail(String),
}

async fn deliver(app: &App, delivery: &PendingDelivery) {
    // What the attempt needs, read once: the outcome's announcement names the same message.
    let context = app.store.delivery_context(delivery.message_id, &delivery.channel_id).await;
    let conversation_id = context.as_ref().ok().and_then(|c| c.as_ref()).map(|c| c.message.conversation_id);
    let outcome = match context {
        Ok(Some(context)) => attempt(app, delivery, context).await,
        Ok(None) => Err(Next::Fail("message vanished".into())),
        Err(e) => Err(store_trouble(e)),
    };
    let result = match outcome {
        Ok(provider_id) => {
            app.metrics.delivery("sent");
            tracing::info!(message_id = delivery.message_id, provider_id, "message delivered");
            app.store.delivery_succeeded(delivery.message_id, &provider_id).await
        }
        Err(Next::Fail(reason)) => {
            app.metrics.delivery("failed");
            tracing::warn!(message_id = delivery.message_id, %reason, "message failed");
            app.store.delivery_failed(delivery.message_id, &reason).await
        }
        Err(Next::Hold(reason)) => {
            app.metrics.delivery("held");
            tracing::debug!(message_id = delivery.message_id, %reason, "delivery held");
            app.store.delivery_held(delivery.message_id, now_ms() + SUSPENDED_RECHECK.as_millis() as i64, &reason).await
        }
        Err(Next::Retry { reason, .. }) if delivery.attempts + 1 >= MAX_ATTEMPTS => {
            app.metrics.delivery("failed");
            let reason = format!("gave up after {MAX_ATTEMPTS} attempts: {reason}");
            tracing::warn!(message_id = delivery.message_id, %reason, "message failed");
            app.store.delivery_failed(delivery.message_id, &reason).await
        }
        Err(Next::Retry { after, reason }) => {
            app.metrics.delivery("retry");
            let backoff = retry_wait(after, delivery.attempts);
            tracing::info!(message_id = delivery.message_id, %reason, retry_in_ms = backoff.as_millis() as u64, "delivery will be retried");
            app.store.delivery_retry(delivery.message_id, now_ms() + backoff.as_millis() as i64, &reason).await
        }
    };
    match (result, conversation_id) {
        // Sent, failed or retrying (with the reason): the inbox shows it at once.
        (Ok(()), Some(conversation_id)) => app.live.status(&delivery.channel_id, conversation_id, Some(delivery.message_id)),
        // The context could not be read (a busy database): the retry or failure just recorded
        // is announced from the message's own row, as it was before the context read.
        (Ok(()), None) => {
            if let Ok(Some(message)) = app.store.message(delivery.message_id).await {
                app.live.status(&message.channel_id, message.conversation_id, Some(message.id));
            }
        }
        (Err(e), _) => tracing::error!(message_id = delivery.message_id, "recording a delivery outcome failed: {e}"),
    }
}

/// 1 s, doubling with each attempt (the media fetcher's too).
/// How long a send or a download waits before its next attempt: what the provider (or the
/// plugin) asked for, else the backoff; at most [`LONGEST_RETRY`] (a `Retry-After` of years
/// would leave it waiting for good).
pub(crate) fn retry_wait(asked: Option<Duration>, attempts: u32) -> Duration {
    asked.unwrap_or_else(|| backoff(attempts)).min(LONGEST_RETRY)
}

pub(crate) fn backoff(attempts: u32) -> Duration {
    FIRST_RETRY.saturating_mul(2u32.saturating_pow(attempts))
}

/// The database could not answer: the attempt is tried again later.
fn store_trouble(e: crate::store::StoreError) -> Next {
    Next::Retry { after: None, reason: format!("storage: {e}") }
}

/// One delivery attempt with what it read ([`DeliveryContext`]); the provider's id for the message on success.
async fn attempt(app: &App, delivery: &PendingDelivery, context: DeliveryContext) -> Result<String, Next> {
    let DeliveryContext { message, channel, workspace_suspended, conversation, last_inbound, files } = context;
    let channel = channel.ok_or_else(|| Next::Fail("the channel was deleted".into()))?;
    if workspace_suspended {
        return Err(Next::Hold("the workspace is suspended: nothing is sent until the operator resumes it".into()));
    }
    let conversation = conversation.ok_or_else(|| Next::Fail("the conversation was deleted".into()))?;
    let plugin = app.registry.get(&channel.plugin).ok_or_else(|| Next::Retry {
        after: Some(Duration::from_secs(30)),
        reason: format!("plugin `{}` is not loaded", channel.plugin),
    })?;
    let window = crate::window::compute(&plugin.window, conversation.last_inbound_at, now_ms());
    // An agent's file goes as a signed link to the message's own copy (`media::links`).
    let file_link = match message.content.media.as_ref().and_then(|media| media.file_id) {
        None => None,
        Some(_) => {
            let file = files.into_iter().next().ok_or_else(|| Next::Fail("the message's file was deleted".into()))?;
            let expires = now_ms() + crate::media::links::LINK_LIFETIME_MS;
            Some(crate::media::links::link(&app.public_url, &channel, file.id, expires, file.filename.as_deref()))
        }
    };
    let last_inbound = last_inbound.map(|m| InboundSummary {
        provider_message_id: m.provider_message_id.unwrap_or_default(),
        timestamp_ms: m.provider_timestamp.unwrap_or_default().max(0) as u64,
        properties: m.properties,
    });
    let ctx = app.channel_context(&channel);
    // Interactive content of a kind the plugin draws goes natively (ids the provider cannot
    // carry made short); any other kind goes as its text rendering, the message's `text`.
    let native = message.content.interactive.as_ref().filter(|content| plugin.interactive.native(content.kind()).is_some());
    let sent = match native {
        Some(content) => {
            window.permits(false).map_err(Next::Fail)?;
            let outbound = InteractiveMessage {
                message_id: message.id.to_string(),
                conversation_id: conversation.id.to_string(),
                recipient: conversation.external_id.clone(),
                content: crate::interactive::wire_content(content, message.id, plugin.interactive.max_id_bytes),
                reply_to: message.reply_to.clone(),
                last_inbound,
                window: window.state,
                attempt: delivery.attempts,
            };
            plugin.send_interactive(&ctx, &outbound).await
        }
        None => {
            let content = outbound_content(&message.text, &message.content, file_link).map_err(Next::Fail)?;
            // Accepted while the window was open, but it closed before delivery (retries, a backlog).
            window.permits(matches!(content, OutboundContent::Template(_))).map_err(Next::Fail)?;
            let outbound = OutboundMessage {
                message_id: message.id.to_string(),
                conversation_id: conversation.id.to_string(),
                recipient: conversation.external_id.clone(),
                content,
                reply_to: message.reply_to.clone(),
                last_inbound,
                window: window.state,
                attempt: delivery.attempts,
            };
            // A template's button values go through `template-buttons`; everything else is a plain send.
            match message.content.template.as_ref().map(|t| button_parameters(&t.buttons)).filter(|b| !b.is_empty()) {
                Some(buttons) => plugin.send_template(&ctx, &outbound, &buttons).await,
                None => plugin.send(&ctx, &outbound).await,
            }
        }
    };
    match sent {
        Ok(receipt) => Ok(receipt.provider_message_id),
        Err(error) => {
            if let CallError::Channel(ChannelError::Unauthorized(reason)) = &error {
                // The provider refused the channel's credentials (a revoked token): the
                // channel shows `needs_reconnect` until the admin connects it again.
                tracing::warn!(channel = %channel.id, %reason, "credentials refused: the channel needs reconnecting");
                app.store.mark_needs_reconnect(&channel.id, reason, channel.updated_at).await.map_err(store_trouble)?;
            }
            Err(classify(&error))
        }
    }
}

/// The one retry decision ([`CallError::retry`]) as the outbox's next step: try again with
/// backoff, or not before the provider's retry-after, or record the failure.
fn classify(error: &CallError) -> Next {
    let reason = error.to_string();
    match error.retry() {
        Retry::Now => Next::Retry { after: None, reason },
        Retry::After(wait) => Next::Retry { after: Some(wait), reason },
        Retry::Never => Next::Fail(reason),
    }
}

/// A stored template's button values as the contract's (the API let only one of the two through).
fn button_parameters(buttons: &[TemplateButtonValue]) -> Vec<ButtonParameter> {
    let value = |b: &TemplateButtonValue| match (&b.payload, &b.url_suffix) {
        (Some(payload), _) => ButtonValue::Payload(payload.clone()),
        (None, suffix) => ButtonValue::UrlSuffix(suffix.clone().unwrap_or_default()),
    };
    buttons.iter().map(|b| ButtonParameter { index: b.index, value: value(b) }).collect()
}

/// The stored message as the contract's content; `file_link` is the link to its file, if it sends one.
fn outbound_content(text: &Option<String>, content: &MessageContent, file_link: Option<String>) -> Result<OutboundContent, String> {
    if let Some(template) = &content.template {
        let TemplateContent { name, language, params, .. } = template.clone();
        return Ok(OutboundContent::Template(TemplateMessage { name, language, params }));
    }
    if let Some(media) = &content.media {
        let kind = match media.kind.as_str() {
            "image" => MediaKind::Image,
            "video" => MediaKind::Video,
            "audio" => MediaKind::Audio,
            "document" => MediaKind::Document,
            "sticker" => MediaKind::Sticker,
            other => return Err(format!("the stored media has an unknown kind `{other}`")),
        };
        let url = match file_link {
            Some(link) => link,
            None => media.url.clone().ok_or("the stored media has no url")?,
        };
        return Ok(OutboundContent::Media(Media { kind, url, caption: media.caption.clone(), filename: media.filename.clone(), mime_type: media.mime_type.clone() }));
    }
    match text {
        Some(text) => Ok(OutboundContent::Text(text.clone())),
        None => Err("the stored message has no text, template or media".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wait_is_what_was_asked_but_never_longer_than_the_longest_retry() {
        assert_eq!(retry_wait(Some(Duration::from_secs(30)), 0), Duration::from_secs(30));
        assert_eq!(retry_wait(None, 3), Duration::from_secs(8));
        assert_eq!(retry_wait(Some(Duration::from_secs(4_000_000_000)), 0), LONGEST_RETRY, "a Retry-After of a century");
        assert_eq!(retry_wait(Some(Duration::from_secs(u64::from(u32::MAX))), 0), LONGEST_RETRY, "a plugin's NotReady(u32::MAX)");
        assert_eq!(retry_wait(None, 60), LONGEST_RETRY);
    }

    #[test]
    fn backoff_doubles_from_one_second() {
        assert_eq!(backoff(0), Duration::from_secs(1));
        assert_eq!(backoff(3), Duration::from_secs(8));
        assert!(backoff(40) >= LONGEST_RETRY);
    }
}
