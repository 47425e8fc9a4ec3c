//! Webhook ingress: the request goes to the channel's plugin, which verifies it (mandatory)
//! and normalizes it into events; the events are stored, then the plugin's response is sent.
//! Unverified -> 401 and nothing stored; a body the plugin cannot read -> 400; never a 500.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};

use super::ApiError;
use crate::app::App;
use crate::channel_errors::describe;
use crate::runtime::types::{ChannelError, DeliveryState, Event, HttpRequest, HttpResponse, StatusTarget};
use crate::runtime::{CallError, PluginFailure};
use crate::store::channels::{Channel, ChannelStatus};
use crate::store::contacts::ContactInfo;
use crate::store::messages::{Message, NewInbound};

pub async fn receive(
    State(app): State<Arc<App>>,
    Path(params): Path<Vec<(String, String)>>,
    method: Method,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let channel_id = params.iter().find(|(k, _)| k == "channel_id").map(|(_, v)| v.as_str()).unwrap_or_default();
    let rest = params.iter().find(|(k, _)| k == "rest").map(|(_, v)| v.as_str()).unwrap_or_default();
    let channel = app
        .db
        .channel(channel_id)?
        .filter(|c| c.status == ChannelStatus::Active)
        .ok_or_else(|| ApiError::not_found(format!("no channel `{channel_id}`")))?;
    let request = HttpRequest {
        method: method.as_str().to_owned(),
        path: rest.to_owned(),
        query: query.unwrap_or_default(),
        headers: headers
            .iter()
            .filter_map(|(name, value)| Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned())))
            .collect(),
        body: body.to_vec(),
    };
    let handled = hand_to_plugin(&app, &channel, &request).await?;
    Ok(provider_response(handled.response))
}

/// What the channel's plugin made of a request.
pub(crate) struct Handled {
    /// The plugin's answer to the sender.
    pub response: HttpResponse,
    /// The inbound messages newly stored (not redeliveries).
    pub messages: Vec<Message>,
}

/// Hands a request to the channel's plugin (which verifies it) and stores the events it
/// reports. Every webhook takes this path; so do the website chat's visitor messages.
/// New inbound messages are published to live followers.
pub(crate) async fn hand_to_plugin(app: &App, channel: &Channel, request: &HttpRequest) -> Result<Handled, ApiError> {
    let plugin = app
        .registry
        .get(&channel.plugin)
        .ok_or_else(|| ApiError::unavailable("plugin_unavailable", format!("plugin `{}` is not loaded", channel.plugin)))?;
    let outcome = plugin.handle_webhook(&app.channel_context(channel), request).await.map_err(webhook_error)?;
    let (stored, messages) = store_events(app, &channel.id, &outcome.events)?;
    tracing::debug!(channel = %channel.id, events = outcome.events.len(), stored, "webhook handled");
    Ok(Handled { response: outcome.response, messages })
}

fn webhook_error(error: CallError) -> ApiError {
    match error {
        CallError::Channel(ChannelError::Unauthorized(reason)) => ApiError::unauthorized(format!("webhook not verified: {reason}")),
        CallError::Channel(ChannelError::Transient(reason)) => ApiError::unavailable("temporarily_unavailable", reason),
        CallError::Channel(ChannelError::RateLimited(_)) => ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", "slow down"),
        CallError::Channel(other) => ApiError::bad_request(describe(&other)),
        CallError::Failed(failure @ PluginFailure::Timeout(_)) => ApiError::unavailable("plugin_timeout", failure.to_string()),
        CallError::Failed(failure) => ApiError::bad_gateway("plugin_failed", failure.to_string()),
    }
}

/// Stores a plugin's events (webhooks, mail); new inbound messages are announced to live
/// followers. Returns how many rows were new and the new inbound messages.
pub(crate) fn store_events(app: &App, channel_id: &str, events: &[Event]) -> Result<(usize, Vec<Message>), ApiError> {
    let mut stored = 0;
    let mut messages = Vec::new();
    for event in events {
        stored += store_event(app, channel_id, event, &mut messages)?;
    }
    for message in &messages {
        app.live.publish(message);
    }
    Ok((stored, messages))
}

/// Stores one event; returns how many new rows it made (0 for a redelivery). New inbound
/// messages are added to `messages`.
fn store_event(app: &App, channel_id: &str, event: &Event, messages: &mut Vec<Message>) -> Result<usize, ApiError> {
    match event {
        Event::Message(message) => {
            let inbound = NewInbound {
                provider_message_id: message.provider_message_id.clone(),
                conversation_external_id: message.conversation.clone(),
                conversation_name: message.conversation_name.clone(),
                sender: ContactInfo {
                    external_id: message.sender.id.clone(),
                    name: message.sender.name.clone(),
                    handle: message.sender.handle.clone(),
                },
                provider_timestamp: i64::try_from(message.timestamp_ms).unwrap_or(i64::MAX),
                text: message.text.clone(),
                content: serde_json::json!({ "attachments": message.attachments.iter().map(attachment_json).collect::<Vec<_>>() }),
                properties: message.properties.clone(),
                reply_to: message.reply_to.clone(),
            };
            let stored = app.db.record_inbound(channel_id, &inbound)?;
            let new = usize::from(stored.is_some());
            messages.extend(stored);
            Ok(new)
        }
        Event::Status(status) => {
            let state = delivery_state_name(status.state);
            let error = match (&status.error_code, &status.error_message) {
                (Some(code), Some(text)) => Some(format!("{code}: {text}")),
                (code, text) => code.clone().or_else(|| text.clone()),
            };
            match &status.target {
                StatusTarget::Message(id) => Ok(usize::from(app.db.record_status(channel_id, id, state, error.as_deref())?)),
                StatusTarget::Watermark((conversation, up_to)) => {
                    Ok(app.db.record_status_watermark(channel_id, conversation, i64::try_from(*up_to).unwrap_or(i64::MAX), state)?)
                }
            }
        }
        Event::Contact(profile) => {
            let contact = ContactInfo { external_id: profile.id.clone(), name: profile.name.clone(), handle: profile.handle.clone() };
            app.db.upsert_contact(channel_id, &contact)?;
            Ok(1)
        }
    }
}

fn delivery_state_name(state: DeliveryState) -> &'static str {
    match state {
        DeliveryState::Sent => "sent",
        DeliveryState::Delivered => "delivered",
        DeliveryState::Read => "read",
        DeliveryState::Failed => "failed",
        DeliveryState::Deleted => "deleted",
    }
}

fn attachment_json(attachment: &crate::runtime::types::Attachment) -> serde_json::Value {
    use crate::runtime::types::AttachmentKind as Kind;
    let kind = match attachment.kind {
        Kind::Image => "image",
        Kind::Video => "video",
        Kind::Audio => "audio",
        Kind::Document => "document",
        Kind::Sticker => "sticker",
        Kind::Location => "location",
        Kind::Contact => "contact",
        Kind::Unsupported => "unsupported",
    };
    serde_json::json!({
        "kind": kind,
        "provider_media_id": attachment.provider_media_id,
        "url": attachment.url,
        "mime_type": attachment.mime_type,
        "filename": attachment.filename,
        "size": attachment.size,
        "location": attachment.location.as_ref().map(|l| serde_json::json!({
            "latitude": l.latitude, "longitude": l.longitude, "name": l.name, "address": l.address,
        })),
        "description": attachment.description,
    })
}

/// The plugin's answer to the provider; a malformed header from the plugin is dropped.
fn provider_response(response: HttpResponse) -> Response {
    let status = StatusCode::from_u16(response.status).unwrap_or(StatusCode::OK);
    let mut headers = HeaderMap::new();
    for (name, value) in response.headers {
        if let (Ok(name), Ok(value)) = (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            headers.append(name, value);
        }
    }
    (status, headers, response.body).into_response()
}
