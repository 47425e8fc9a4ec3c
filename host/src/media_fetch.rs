//! The media fetcher (a worker beside the outbox, above `app`; `media` below it keeps the bytes): downloads inbound attachments after their webhook was stored (never
//! before its answer), as a durable job like the outbox. Each file is asked of its channel's
//! plugin (`media.fetch-media`), which says what request gets the bytes; the host makes that
//! request under the plugin's outbound rules and streams the answer into storage, held to the
//! size limit, the type sniffed from the bytes. Passing failures are retried with backoff;
//! a permanent one (too large, gone at the provider, refused) is recorded on the file with
//! the reason. A fetch cut by a crash is pending still, and runs again after the restart.

use std::sync::Arc;
use std::time::Duration;

use http_body_util::BodyExt;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::app::App;
use crate::leases::{LEASE, RENEW_EVERY};
use crate::runtime::types::{Attachment, AttachmentKind, ChannelError, MediaSource};
use crate::store::model::{MediaFile, MessageContent};
use crate::runtime::{CallError, Retry};
use crate::store::now_ms;

use crate::media::files::SpoolError;
use crate::store::Scope;

/// Attempts before a passing failure becomes a permanent one.
pub const MAX_ATTEMPTS: u32 = 8;
/// Downloads running at once (each mostly waits on the network).
const CONCURRENT: usize = 4;
const IDLE_POLL: Duration = Duration::from_secs(5);
/// How long one download may take in all, and how long the provider may stay silent.
const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(600);
const SILENCE_TIMEOUT: Duration = Duration::from_secs(30);
/// Asked again this soon after the provider answered 202 (still preparing the file).
const NOT_READY_WAIT: Duration = Duration::from_secs(5);

pub async fn run(app: Arc<App>, mut stop: watch::Receiver<bool>) {
    if !app.health.wait_for_plugins(&mut stop).await {
        return;
    }
    let mut fetches: JoinSet<()> = JoinSet::new();
    let mut running: Vec<(tokio::task::Id, i64)> = Vec::new();
    let mut renewed = std::time::Instant::now();
    loop {
        if *stop.borrow() {
            break;
        }
        while let Some(done) = fetches.try_join_next_with_id() {
            finished(&mut running, done);
        }
        if renewed.elapsed() >= RENEW_EVERY {
            renew_claims(&app, &running).await;
            renewed = std::time::Instant::now();
        }
        let room = CONCURRENT.saturating_sub(fetches.len());
        let in_flight: Vec<i64> = running.iter().map(|(_, id)| *id).collect();
        let due = if room == 0 {
            Vec::new()
        } else {
            app.store.due_media(room as u32, &in_flight).await.unwrap_or_else(|e| {
                tracing::error!("reading the media jobs failed: {e}");
                Vec::new()
            })
        };
        let mut started = 0;
        for file in due {
            let id = file.id;
            // Another node may have taken it since (several nodes on Postgres).
            match app.store.claim_media(id, LEASE).await {
                Ok(true) => started += 1,
                Ok(false) => continue,
                Err(e) => {
                    tracing::error!(media_id = id, "claiming a media job failed: {e}");
                    continue;
                }
            }
            let app = app.clone();
            let task = fetches.spawn(async move { fetch(&app, file).await });
            running.push((task.id(), id));
        }
        if started > 0 {
            continue;
        }
        let sleep = match app.store.next_media_at().await {
            Ok(Some(at)) if room > 0 => Duration::from_millis((at - now_ms()).clamp(0, IDLE_POLL.as_millis() as i64) as u64),
            _ => IDLE_POLL,
        };
        // Back in time for the next renewal while fetches run.
        let sleep = if running.is_empty() { sleep } else { sleep.min(RENEW_EVERY.saturating_sub(renewed.elapsed())) };
        tokio::select! {
            Some(done) = fetches.join_next_with_id(), if !fetches.is_empty() => finished(&mut running, done),
            _ = tokio::time::sleep(sleep) => {}
            _ = app.media_wake.notified() => {}
            _ = stop.changed() => break,
        }
    }
    // Downloads in flight are dropped: they stay pending and run again after the restart.
    fetches.shutdown().await;
}

/// Keeps this node's claims on its downloads in flight (see [`crate::leases`]).
async fn renew_claims(app: &App, running: &[(tokio::task::Id, i64)]) {
    let in_flight: Vec<i64> = running.iter().map(|(_, id)| *id).collect();
    if !in_flight.is_empty() {
        crate::leases::report_renewal("attachment downloads", in_flight.len(), app.store.renew_media_claims(&in_flight, LEASE).await);
    }
}

fn finished(running: &mut Vec<(tokio::task::Id, i64)>, done: Result<(tokio::task::Id, ()), tokio::task::JoinError>) {
    let id = match &done {
        Ok((id, ())) => *id,
        Err(error) => error.id(),
    };
    if let Err(error) = &done {
        tracing::error!("a media fetch stopped: {error}");
    }
    running.retain(|(task, _)| *task != id);
}

/// What to do after an attempt.
enum Next {
    Retry { after: Option<Duration>, reason: String },
    Fail(String),
    /// The attachment has no file to fetch: it stays metadata only.
    NoFile(String),
}

async fn fetch(app: &App, file: MediaFile) {
    let outcome = attempt(app, &file).await;
    let recorded = match outcome {
        Ok(bytes) => {
            tracing::info!(media_id = file.id, sha256 = %bytes.sha256, size = bytes.size, mime = %bytes.mime_type, "attachment stored");
            app.store.media_stored(file.id, bytes).await
        }
        Err(Next::NoFile(reason)) => {
            tracing::debug!(media_id = file.id, %reason, "attachment without a file");
            app.store.media_forget(file.id).await
        }
        Err(Next::Fail(reason)) => {
            tracing::warn!(media_id = file.id, %reason, "attachment download failed");
            app.store.media_failed(file.id, reason).await
        }
        Err(Next::Retry { reason, .. }) if file.attempts + 1 >= MAX_ATTEMPTS => {
            let reason = format!("gave up after {MAX_ATTEMPTS} attempts: {reason}");
            tracing::warn!(media_id = file.id, %reason, "attachment download failed");
            app.store.media_failed(file.id, reason).await
        }
        Err(Next::Retry { after, reason }) => {
            let wait = crate::outbox::retry_wait(after, file.attempts);
            tracing::info!(media_id = file.id, %reason, retry_in_ms = wait.as_millis() as u64, "attachment download will be retried");
            app.store.media_retry(file.id, now_ms() + wait.as_millis() as i64, reason, true).await
        }
    };
    let recorded = match recorded {
        Ok(()) => app.store.media_file(file.id, Scope::Every).await,
        Err(e) => Err(e),
    };
    match recorded {
        Ok(Some(MediaFile { channel_id: Some(channel), message_id: Some(message), .. })) => {
            if let Ok(Some(message)) = app.store.message(message).await {
                app.live.media(&channel, message.conversation_id, message.id);
            }
        }
        Ok(_) => {}
        Err(e) => tracing::error!(media_id = file.id, "recording a download's outcome failed: {e}"),
    }
}

async fn attempt(app: &App, file: &MediaFile) -> Result<crate::store::model::StoredBytes, Next> {
    let store_trouble = |e: crate::store::StoreError| Next::Retry { after: None, reason: format!("storage: {e}") };
    let (Some(channel_id), Some(message_id)) = (&file.channel_id, file.message_id) else {
        return Err(Next::Fail("the file belongs to no message".into()));
    };
    let channel = app.store.channel(channel_id, Scope::Every).await.map_err(store_trouble)?.ok_or_else(|| Next::Fail("the channel was deleted".into()))?;
    let message = app.store.message(message_id).await.map_err(store_trouble)?.ok_or_else(|| Next::Fail("the message was deleted".into()))?;
    let attachment = stored_attachment(&message.content, file.position as usize).ok_or_else(|| Next::Fail("the message has no such attachment".into()))?;
    let plugin = app.registry.get(&channel.plugin).ok_or_else(|| Next::Retry {
        after: Some(Duration::from_secs(30)),
        reason: format!("plugin `{}` is not loaded", channel.plugin),
    })?;
    let source = plugin.fetch_media(&app.channel_context(&channel), &attachment).await;
    if let Err(CallError::Channel(ChannelError::Unsupported(reason))) = &source {
        // Not a file after all (a LINE sticker), or a plugin that fetches none.
        return Err(Next::NoFile(reason.clone()));
    }
    if let Err(CallError::Channel(ChannelError::Unauthorized(reason))) = &source {
        tracing::warn!(channel = %channel.id, %reason, "credentials refused: the channel needs reconnecting");
        let _ = app.store.mark_needs_reconnect(&channel.id, reason, channel.updated_at).await;
    }
    let source = source.map_err(|error| classify(&error))?;
    let request = match source {
        MediaSource::NotReady(seconds) => {
            return Err(Next::Retry { after: Some(Duration::from_secs(u64::from(seconds.max(1)))), reason: "the provider is still preparing the file".into() });
        }
        MediaSource::Request(request) => request,
    };
    let response = tokio::time::timeout(SILENCE_TIMEOUT, plugin.request_for(&request, SILENCE_TIMEOUT))
        .await
        .map_err(|_| Next::Retry { after: None, reason: "the provider did not answer in time".into() })?
        .map_err(|refusal| match refusal {
            crate::runtime::RequestRefusal::Denied(reason) => Next::Fail(format!("the download was refused by the outbound rules: {reason}")),
            crate::runtime::RequestRefusal::Failed(reason) => Next::Retry { after: None, reason: format!("the download failed: {reason}") },
        })?;
    let status = response.status().as_u16();
    match status {
        200..=299 if status != 202 => {}
        202 => return Err(Next::Retry { after: Some(NOT_READY_WAIT), reason: "the provider is still preparing the file".into() }),
        // WhatsApp's media URL lives five minutes: one more try asks for a fresh one.
        404 | 410 if file.attempts == 0 => return Err(Next::Retry { after: Some(Duration::from_secs(1)), reason: format!("the provider answered {status}") }),
        404 | 410 => return Err(Next::Fail(format!("gone at the provider (HTTP {status}): it expired or was deleted"))),
        429 | 500..=599 => return Err(Next::Retry { after: retry_after(&response), reason: format!("the provider answered {status}") }),
        401 | 403 => return Err(Next::Fail(format!("the provider refused the download (HTTP {status})"))),
        _ => return Err(Next::Fail(format!("the provider answered HTTP {status}"))),
    }
    let too_large = |limit: u64| Next::Fail(format!("the file is larger than the {} MB limit", limit >> 20));
    if let Some(length) = response.headers().get(http::header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
        && length > app.media.max_bytes
    {
        return Err(too_large(app.media.max_bytes));
    }
    let claimed = response.headers().get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned).or(attachment.mime_type.clone());
    let io_trouble = |e: std::io::Error| Next::Retry { after: None, reason: format!("storage: {e}") };
    let mut spool = app.media.spool().await.map_err(io_trouble)?;
    let mut body = response.into_body();
    let download = async {
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| Next::Retry { after: None, reason: format!("the download broke off: {e}") })?;
            if let Some(chunk) = frame.data_ref() {
                spool.write(chunk).await.map_err(|e| match e {
                    SpoolError::TooLarge { .. } => too_large(app.media.max_bytes),
                    SpoolError::Io(e) => io_trouble(e),
                })?;
            }
        }
        Ok(())
    };
    tokio::time::timeout(DOWNLOAD_TIMEOUT, download)
        .await
        .map_err(|_| Next::Retry { after: None, reason: "the download took too long".into() })??;
    app.media.keep(spool, claimed.as_deref()).await.map_err(|e| Next::Retry { after: None, reason: e.to_string() })
}

fn retry_after(response: &http::Response<crate::runtime::ResponseBody>) -> Option<Duration> {
    let seconds = response.headers().get(http::header::RETRY_AFTER)?.to_str().ok()?.trim().parse::<u64>().ok()?;
    Some(Duration::from_secs(seconds))
}

/// The plugin's error as the job's next step, by the one retry decision ([`CallError::retry`]).
fn classify(error: &CallError) -> Next {
    let reason = error.to_string();
    match error.retry() {
        Retry::Now => Next::Retry { after: None, reason },
        Retry::After(wait) => Next::Retry { after: Some(wait), reason },
        Retry::Never => Next::Fail(reason),
    }
}

/// The attachment at `position` of a stored inbound message, as the plugin reported it; `None`
/// for one without bytes (a location, a contact card).
fn stored_attachment(content: &MessageContent, position: usize) -> Option<Attachment> {
    let stored = content.attachments.get(position)?;
    let kind = AttachmentKind::named(&stored.kind)
        .filter(|kind| matches!(kind, AttachmentKind::Image | AttachmentKind::Video | AttachmentKind::Audio | AttachmentKind::Document | AttachmentKind::Sticker))?;
    Some(Attachment {
        kind,
        provider_media_id: stored.provider_media_id.clone(),
        url: stored.url.clone(),
        mime_type: stored.mime_type.clone(),
        filename: stored.filename.clone(),
        size: stored.size,
        location: None,
        description: stored.description.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_attachment_is_read_back_as_the_plugin_reported_it() {
        let content = MessageContent::from_json(&serde_json::json!({"attachments": [
            {"kind": "location", "location": {"latitude": 1.0, "longitude": 2.0}},
            {"kind": "document", "provider_media_id": "m1", "url": null, "mime_type": "application/pdf", "filename": "inv.pdf", "size": 12, "description": "invoice"},
        ]}).to_string());
        let attachment = stored_attachment(&content, 1).unwrap();
        assert_eq!(attachment.kind, AttachmentKind::Document);
        assert_eq!((attachment.provider_media_id.as_deref(), attachment.filename.as_deref(), attachment.size), (Some("m1"), Some("inv.pdf"), Some(12)));
        assert!(stored_attachment(&content, 0).is_none(), "a location has no bytes");
        assert!(stored_attachment(&content, 2).is_none());
    }
}
