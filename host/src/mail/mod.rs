//! Inbound mail: which channel an address belongs to, and handing a received message to the
//! channel's plugin (the SMTP listener in [`listener`] uses both).
//!
//! A channel whose plugin imports the contract's `smtp` interface (the email plugin) has a
//! forwarding address and reply addresses (see [`address`]). Mail for them reaches
//! `handle-webhook` as a relay delivery (the contract's `smtp` interface says how), and
//! what the plugin reports is stored by `ingest`, as for any webhook.

pub mod address;
pub mod listener;

use address::{REPLY_PREFIX, forwarding_id, is_reply_token};

use crate::app::App;
use crate::ingest;
use crate::runtime::Retry;
use crate::runtime::types::HttpRequest;
use crate::store::model::{Channel, ChannelStatus};
use crate::store::Scope;

/// The channel that receives mail for `address`, if any.
pub async fn channel_for(app: &App, address: &str) -> Option<Channel> {
    let domain = app.inbound_domain.as_deref()?;
    let (local, at) = address.trim().trim_matches(['<', '>']).rsplit_once('@')?;
    if !at.trim_end_matches('.').eq_ignore_ascii_case(domain) {
        return None;
    }
    let local = local.to_ascii_lowercase();
    let receives_mail = |channel: &Channel| {
        channel.status == ChannelStatus::Active && app.registry.get(&channel.plugin).is_some_and(|p| p.receives_mail)
    };
    if let Some(conversation) = local.strip_prefix(REPLY_PREFIX) {
        if !is_reply_token(conversation) {
            return None;
        }
        let channel_ids: Vec<String> = lookup(app.store.channels_with_conversation(conversation).await)?;
        for id in &channel_ids {
            if let Some(channel) = lookup(app.store.channel(id, Scope::Every).await).flatten().filter(|c| receives_mail(c)) {
                return Some(channel);
            }
        }
        return None;
    }
    let channels = lookup(app.store.channels(Scope::Every).await)?;
    channels.into_iter().find(|channel| receives_mail(channel) && forwarding_id(&channel.webhook_secret) == local)
}

fn lookup<T>(result: crate::store::StoreResult<T>) -> Option<T> {
    result.map_err(|e| tracing::error!("looking up a mail recipient failed: {e}")).ok()
}

/// Why a message was not taken.
#[derive(Debug)]
pub enum Refusal {
    /// Try again later (SMTP 4xx).
    Temporary(String),
    /// Do not send it again (SMTP 5xx).
    Permanent(String),
}

/// Hands one message to a channel's plugin as a relay delivery and stores what it reports.
/// Returns how many new rows were stored (0 for a duplicate or an ignored auto-reply).
pub async fn deliver(
    app: &App,
    channel: &Channel,
    envelope_from: &str,
    recipients: &[String],
    message: &[u8],
) -> Result<usize, Refusal> {
    let request = HttpRequest {
        method: "POST".into(),
        path: channel.webhook_secret.clone(),
        query: String::new(),
        headers: vec![
            ("content-type".into(), "message/rfc822".into()),
            ("x-envelope-from".into(), envelope_from.into()),
            ("x-envelope-to".into(), recipients.join(", ")),
        ],
        body: message.to_vec(),
    };
    // What is worth another try is a 4xx reply: the sending server keeps the message and
    // tries again for days, which is how nothing accepted is lost.
    let ingested = ingest::handle(app, channel, &request).await.map_err(|error| match error.retry() {
        Retry::Now | Retry::After(_) => Refusal::Temporary(error.to_string()),
        Retry::Never => Refusal::Permanent(error.to_string()),
    })?;
    tracing::info!(channel = %channel.id, bytes = message.len(), events = ingested.events, stored = ingested.stored, "mail received");
    Ok(ingested.stored)
}
