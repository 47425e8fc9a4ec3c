//! The outbox worker: delivers queued messages through their channel's plugin, retries
//! passing failures with exponential backoff (honouring the provider's retry-after), and
//! records permanent failures with the reason. A message stays in the outbox until one of
//! those happens, so nothing accepted is lost across restarts.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::app::App;
use crate::runtime::types::{ChannelError, InboundSummary, Media, MediaKind, OutboundContent, OutboundMessage, TemplateMessage};
use crate::runtime::{CallError, Retry};
use crate::store::now_ms;
use crate::store::messages::Message;
use crate::store::outbox::PendingDelivery;

/// Attempts before a passing failure becomes a permanent one.
pub const MAX_ATTEMPTS: u32 = 8;
const FIRST_RETRY: Duration = Duration::from_secs(1);
const LONGEST_RETRY: Duration = Duration::from_secs(15 * 60);
/// How long the worker sleeps when nothing is due and nothing wakes it.
const IDLE_POLL: Duration = Duration::from_secs(5);

pub async fn run(app: Arc<App>, mut stop: watch::Receiver<bool>) {
    let _running = app.health.outbox_running();
    loop {
        if *stop.borrow() {
            return;
        }
        let due = app.db.due_deliveries(32).unwrap_or_else(|e| {
            tracing::error!("reading the outbox failed: {e}");
            Vec::new()
        });
        for delivery in &due {
            deliver(&app, delivery).await;
        }
        if !due.is_empty() {
            continue;
        }
        let sleep = match app.db.next_delivery_at() {
            Ok(Some(at)) => Duration::from_millis((at - now_ms()).clamp(0, IDLE_POLL.as_millis() as i64) as u64),
            _ => IDLE_POLL,
        };
        tokio::select! {
            _ = tokio::time::sleep(sleep) => {}
            _ = app.outbox_wake.notified() => {}
            _ = stop.changed() => return,
        }
    }
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
    let outcome = attempt(app, delivery).await;
    let result = match outcome {
        Ok((message, provider_id)) => {
            app.metrics.delivery("sent");
            tracing::info!(message_id = delivery.message_id, provider_id, "message delivered");
            let recorded = app.db.delivery_succeeded(delivery.message_id, &provider_id);
            if recorded.is_ok() {
                app.live.publish(&message);
            }
            recorded
        }
        Err(Next::Fail(reason)) => {
            app.metrics.delivery("failed");
            tracing::warn!(message_id = delivery.message_id, %reason, "message failed");
            app.db.delivery_failed(delivery.message_id, &reason)
        }
        Err(Next::Hold(reason)) => {
            app.metrics.delivery("held");
            tracing::debug!(message_id = delivery.message_id, %reason, "delivery held");
            app.db.delivery_held(delivery.message_id, now_ms() + SUSPENDED_RECHECK.as_millis() as i64, &reason)
        }
        Err(Next::Retry { reason, .. }) if delivery.attempts + 1 >= MAX_ATTEMPTS => {
            app.metrics.delivery("failed");
            let reason = format!("gave up after {MAX_ATTEMPTS} attempts: {reason}");
            tracing::warn!(message_id = delivery.message_id, %reason, "message failed");
            app.db.delivery_failed(delivery.message_id, &reason)
        }
        Err(Next::Retry { after, reason }) => {
            app.metrics.delivery("retry");
            let backoff = after.unwrap_or_else(|| backoff(delivery.attempts)).min(LONGEST_RETRY);
            tracing::info!(message_id = delivery.message_id, %reason, retry_in_ms = backoff.as_millis() as u64, "delivery will be retried");
            app.db.delivery_retry(delivery.message_id, now_ms() + backoff.as_millis() as i64, &reason)
        }
    };
    if let Err(e) = result {
        tracing::error!(message_id = delivery.message_id, "recording a delivery outcome failed: {e}");
    }
}

fn backoff(attempts: u32) -> Duration {
    FIRST_RETRY.saturating_mul(2u32.saturating_pow(attempts))
}

/// One delivery attempt; the message and the provider's id for it on success.
async fn attempt(app: &App, delivery: &PendingDelivery) -> Result<(Message, String), Next> {
    let store_trouble = |e: crate::store::StoreError| Next::Retry { after: None, reason: format!("storage: {e}") };
    let message = app.db.message(delivery.message_id).map_err(store_trouble)?.ok_or_else(|| Next::Fail("message vanished".into()))?;
    let channel = app.db.channel(&delivery.channel_id).map_err(store_trouble)?.ok_or_else(|| Next::Fail("the channel was deleted".into()))?;
    if app.db.channel_suspended(&channel.id).map_err(store_trouble)? {
        return Err(Next::Hold("the workspace is suspended: nothing is sent until the operator resumes it".into()));
    }
    let conversation = app
        .db
        .conversation(message.conversation_id)
        .map_err(store_trouble)?
        .ok_or_else(|| Next::Fail("the conversation was deleted".into()))?;
    let plugin = app.registry.get(&channel.plugin).ok_or_else(|| Next::Retry {
        after: Some(Duration::from_secs(30)),
        reason: format!("plugin `{}` is not loaded", channel.plugin),
    })?;
    let last_inbound = app.db.last_inbound(conversation.id).map_err(store_trouble)?;
    let window = crate::window::compute(&plugin.window, conversation.last_inbound_at, now_ms());
    let content = outbound_content(&message.text, &message.content).map_err(Next::Fail)?;
    // Accepted while the window was open, but it closed before delivery (retries, a backlog).
    window.permits(matches!(content, OutboundContent::Template(_))).map_err(Next::Fail)?;
    let outbound = OutboundMessage {
        message_id: message.id.to_string(),
        conversation_id: conversation.id.to_string(),
        recipient: conversation.external_id.clone(),
        content,
        reply_to: message.reply_to.clone(),
        last_inbound: last_inbound.map(|m| InboundSummary {
            provider_message_id: m.provider_message_id.unwrap_or_default(),
            timestamp_ms: m.provider_timestamp.unwrap_or_default().max(0) as u64,
            properties: m.properties,
        }),
        window: window.state,
        attempt: delivery.attempts,
    };
    let ctx = app.channel_context(&channel);
    match plugin.send(&ctx, &outbound).await {
        Ok(receipt) => Ok((message, receipt.provider_message_id)),
        Err(error) => {
            if let CallError::Channel(ChannelError::Unauthorized(reason)) = &error {
                // The provider refused the channel's credentials (a revoked token): the
                // channel shows `needs_reconnect` until the admin connects it again.
                tracing::warn!(channel = %channel.id, %reason, "credentials refused: the channel needs reconnecting");
                app.db.mark_needs_reconnect(&channel.id, reason).map_err(store_trouble)?;
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

/// The stored message as the contract's content.
fn outbound_content(text: &Option<String>, content: &serde_json::Value) -> Result<OutboundContent, String> {
    if let Some(template) = content.get("template") {
        let field = |name: &str| template.get(name).and_then(|v| v.as_str()).unwrap_or_default().to_owned();
        let params = template
            .get("params")
            .and_then(|p| p.as_array())
            .map(|a| a.iter().map(|v| v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string())).collect())
            .unwrap_or_default();
        return Ok(OutboundContent::Template(TemplateMessage { name: field("name"), language: field("language"), params }));
    }
    if let Some(media) = content.get("media") {
        let field = |name: &str| media.get(name).and_then(|v| v.as_str()).map(str::to_owned);
        let kind = match field("kind").as_deref() {
            Some("image") => MediaKind::Image,
            Some("video") => MediaKind::Video,
            Some("audio") => MediaKind::Audio,
            Some("document") => MediaKind::Document,
            Some("sticker") => MediaKind::Sticker,
            other => return Err(format!("the stored media has an unknown kind {other:?}")),
        };
        let url = field("url").ok_or("the stored media has no url")?;
        return Ok(OutboundContent::Media(Media { kind, url, caption: field("caption"), filename: field("filename"), mime_type: field("mime_type") }));
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
    fn backoff_doubles_from_one_second() {
        assert_eq!(backoff(0), Duration::from_secs(1));
        assert_eq!(backoff(3), Duration::from_secs(8));
        assert!(backoff(40) >= LONGEST_RETRY);
    }
}
