//! What a delivery carries: the event with everything a receiver needs without calling back —
//! the message (content, attachments with signed download links), its conversation and
//! contact, the channel. Read when the delivery is sent, so a message's status is the latest;
//! the event's `type` says what happened. Versioned by `api_version`: fields are only added
//! within a version.
//!
//! ```json
//! {"type": "message.received", "timestamp": "2026-11-25T10:00:00.123Z", "api_version": 1,
//!  "data": {"workspace_id": 1, "channel": {…}, "conversation": {…}, "message": {…}, "detail": null}}
//! ```

use serde_json::{Value, json};

use crate::app::App;
use crate::store::model::Delivery;
use crate::store::{Scope, StoreResult, now_ms};

/// The payloads' version: a change that is not an addition makes a new one.
pub const API_VERSION: u32 = 1;

/// The delivery's body, as sent and signed.
pub async fn build(app: &App, delivery: &Delivery) -> StoreResult<Vec<u8>> {
    let channel = match &delivery.channel_id {
        Some(id) => app.store.channel(id, Scope::Workspace(delivery.workspace_id)).await?,
        None => None,
    };
    let conversation = match delivery.conversation_id {
        Some(id) => app.store.conversation(id).await?.filter(|c| Some(&c.channel_id) == delivery.channel_id.as_ref()),
        None => None,
    };
    let mut message = match delivery.message_id {
        Some(id) => app.store.message(id).await?.filter(|m| Some(m.conversation_id) == delivery.conversation_id),
        None => None,
    };
    if let (Some(message), Some(channel)) = (message.as_mut(), channel.as_ref()) {
        let expires = now_ms() + crate::media::links::LINK_LIFETIME_MS;
        for file in app.store.media_of_messages(&[message.id]).await? {
            let Some(attachment) = message.content.attachments.get_mut(file.position as usize) else { continue };
            let mut shown = serde_json::to_value(&file).unwrap_or_default();
            if file.state == "stored" {
                shown["url"] = Value::String(crate::media::links::link(&app.public_url, channel, file.id, expires, file.filename.as_deref()));
            }
            attachment.file = Some(shown);
        }
    }
    let channel = channel.map(|c| json!({"id": c.id, "name": c.name, "plugin": c.plugin, "display_name": c.display_name}));
    let timestamp = jiff::Timestamp::from_millisecond(delivery.created_at).map(|t| t.to_string()).unwrap_or_default();
    let body = json!({
        "type": delivery.event_type,
        "timestamp": timestamp,
        "api_version": API_VERSION,
        "data": {
            "workspace_id": delivery.workspace_id,
            "channel_id": delivery.channel_id,
            "channel": channel,
            "conversation": conversation,
            "message": message,
            "detail": delivery.detail,
        },
    });
    Ok(serde_json::to_vec(&body).expect("JSON values serialize"))
}
