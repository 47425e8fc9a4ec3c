//! Where a webhook goes: the channel's plugin verifies the request (mandatory) and normalizes
//! it into events; the events are stored (deduplicated on the provider's ids); new inbound
//! messages are published to live followers. Every inbound path takes this one: provider
//! webhooks (`api::webhooks`), website chat visitors (`api::webchat`) and mail (`mail`).
//! Each caller only translates [`IngestError`] into its own protocol (HTTP status, SMTP reply).

use std::collections::HashMap;

use crate::app::App;
use crate::interactive::ShortId;
use crate::runtime::types::{AccountEvent, Attachment, Choice, DeliveryState, Event, HttpRequest, HttpResponse, StatusTarget};
use crate::store::storable;
use crate::store::model::{AttachmentContent, Channel, ChoiceContent, ChoiceSource, ContactInfo, DeliveryStatus, EventRecord, FileRecord, LocationContent, Message, MessageContent, NewInbound, StoredBytes};
use crate::runtime::{CallError, Retry};

use crate::media::plugin_files::{KEPT_PREFIX, KeptFile};
use crate::store::StoreError;

/// What came of a request the channel's plugin accepted.
#[derive(Debug)]
pub struct Ingested {
    /// The plugin's answer to the sender.
    pub response: HttpResponse,
    /// How many events the plugin reported.
    pub events: usize,
    /// How many rows were new (0 for a redelivery).
    pub stored: usize,
    /// The inbound messages newly stored (not redeliveries).
    pub messages: Vec<Message>,
}

/// What came of a request to a provider app's callback URL.
#[derive(Debug)]
pub struct AppIngested {
    pub response: HttpResponse,
    /// Per channel the events went to: what was stored there.
    pub channels: Vec<(String, Ingested)>,
    /// Events of accounts no channel is connected with (acknowledged, not stored).
    pub unrouted: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("plugin `{0}` is not loaded")]
    PluginUnavailable(String),
    #[error("plugin `{0}` has no provider app set up on this host")]
    NoApp(String),
    /// The plugin refused the request (unverified, unreadable) or failed.
    #[error(transparent)]
    Plugin(#[from] CallError),
    /// Verified, but not stored: the sender must try again.
    #[error("storing the events failed: {0}")]
    Store(#[from] StoreError),
}

impl IngestError {
    /// Whether the sender should deliver the same request again.
    pub fn retry(&self) -> Retry {
        match self {
            Self::PluginUnavailable(_) | Self::Store(_) => Retry::Now,
            Self::NoApp(_) => Retry::Never,
            Self::Plugin(error) => error.retry(),
        }
    }
}

/// Hands a request to the channel's plugin, stores what it reports and tells live followers.
pub async fn handle(app: &App, channel: &Channel, request: &HttpRequest) -> Result<Ingested, IngestError> {
    let plugin = app.registry.get(&channel.plugin).ok_or_else(|| IngestError::PluginUnavailable(channel.plugin.clone()))?;
    let ctx = app.channel_context(channel);
    let outcome = plugin.handle_webhook(&ctx, request).await;
    if let Some(recorder) = &app.webhook_recorder {
        let (accepted, answer) = match &outcome {
            Ok(outcome) => (true, format!("{} event(s)", outcome.events.len())),
            Err(error) => (false, error.to_string()),
        };
        let fixture = crate::fixtures::recording(request, &ctx, &plugin.settings_schema, accepted, &answer, (plugin.id(), &plugin.version.to_string()));
        recorder.keep(plugin.id(), &fixture);
    }
    let outcome = outcome?;
    let (stored, messages) = store_events(app, &channel.id, &outcome.events, plugin.fetches_media()).await?;
    tracing::debug!(channel = %channel.id, events = outcome.events.len(), stored, "webhook handled");
    Ok(Ingested { response: outcome.response, events: outcome.events.len(), stored, messages })
}

/// Hands a request to a plugin's provider app, which verifies it with the app's credentials,
/// then stores each event in the channel of its provider account, in whatever workspace that
/// is. Events of accounts without a channel are acknowledged (so the provider keeps the
/// webhook on), not stored, and counted in the log.
pub async fn handle_app(app: &App, plugin_id: &str, request: &HttpRequest) -> Result<AppIngested, IngestError> {
    // No app set up for that id (an unknown plugin included) is 404, as documented; an app whose
    // plugin is not loaded right now (being replaced) is 503, so the provider delivers again.
    let no_app = || IngestError::NoApp(plugin_id.to_owned());
    if !crate::ids::is_plugin_id(plugin_id) {
        return Err(no_app());
    }
    let provider_app = app.store.provider_app(plugin_id).await?.ok_or_else(no_app)?;
    let plugin = app.registry.get(plugin_id).ok_or_else(|| IngestError::PluginUnavailable(plugin_id.to_owned()))?;
    if !plugin.has_app() {
        return Err(no_app());
    }
    let outcome = plugin.handle_app_webhook(&app.app_context(&provider_app), request).await?;
    // Events keep their order within an account; accounts in the order they first appear.
    let mut by_account: Vec<(String, Vec<Event>)> = Vec::new();
    for AccountEvent { account, event } in outcome.events {
        match by_account.iter_mut().find(|(a, _)| *a == account) {
            Some((_, events)) => events.push(event),
            None => by_account.push((account, vec![event])),
        }
    }
    let mut channels = Vec::new();
    let mut unrouted = 0;
    for (account, events) in by_account {
        let targets = app.store.channels_of_account(plugin_id, &account).await?;
        if targets.is_empty() {
            unrouted += events.len();
            tracing::info!(plugin = plugin_id, account, events = events.len(), "app webhook events for an account with no channel: dropped");
            continue;
        }
        for channel in targets {
            let (stored, messages) = store_events(app, &channel.id, &events, plugin.fetches_media()).await?;
            let ingested = Ingested { response: outcome.response.clone(), events: events.len(), stored, messages };
            channels.push((channel.id, ingested));
        }
    }
    tracing::debug!(plugin = plugin_id, channels = channels.len(), unrouted, "app webhook handled");
    Ok(AppIngested { response: outcome.response, channels, unrouted })
}

/// Stores a plugin's events in one transaction (acknowledged means stored), with a fetch job
/// for each attachment that has bytes when the plugin fetches media; then announces new
/// inbound messages and changed statuses to live followers and wakes the media fetcher.
/// Returns how many rows were new and the new inbound messages.
async fn store_events(app: &App, channel_id: &str, events: &[Event], fetches_media: bool) -> Result<(usize, Vec<Message>), StoreError> {
    if events.is_empty() {
        return Ok((0, Vec::new()));
    }
    // Files the plugin kept during the call (`files.keep`): taken now, stored with their message.
    let kept = kept_files(app, channel_id, events);
    let picked = choices_of(app, channel_id, events).await?;
    let records = events.iter().zip(picked).map(|(event, choice)| record_of(event, choice, &kept, fetches_media)).collect();
    let recorded = app.store.record_events(channel_id, records).await?;
    if recorded.fetches > 0 {
        app.media_wake.notify_one();
    }
    for message in &recorded.messages {
        app.live.message(message);
    }
    for (conversation_id, message_id) in recorded.statuses {
        app.live.status(channel_id, conversation_id, message_id);
    }
    Ok((recorded.stored, recorded.messages))
}

/// The longest reply read as naming an option (the text rendering's longest title).
const LONGEST_NAMING_REPLY: usize = 100;

/// What each event picked, if anything: a tap the plugin reported (its id mapped back to the
/// business's when the host issued it short), or a customer's short reply naming an option of
/// the conversation's newest outbound message, when that message is interactive.
async fn choices_of(app: &App, channel_id: &str, events: &[Event]) -> Result<Vec<Option<ChoiceContent>>, StoreError> {
    let mut picked = Vec::with_capacity(events.len());
    for event in events {
        picked.push(match event {
            Event::Choice(choice) => Some(tapped(app, channel_id, choice).await?),
            // The first line names the option (a mail's answer sits above the quoted question).
            Event::Message(message) => match message.text.as_deref().and_then(crate::interactive::text::first_line) {
                Some(reply) if message.attachments.is_empty() && reply.chars().count() <= LONGEST_NAMING_REPLY && offers_choices(app, channel_id).await? => {
                    let newest = app.store.recent_outbound_at(channel_id, &message.conversation, REPLIES_LOOKED_AT).await?.into_iter().next();
                    newest.and_then(|offered| {
                        let content = offered.content.interactive.as_ref()?;
                        let option = content.choices()[crate::interactive::text::named_option(content, reply)?];
                        Some(ChoiceContent {
                            id: option.id.clone(),
                            title: Some(option.title.clone()),
                            message_id: Some(offered.id),
                            answers: offered.provider_message_id.clone(),
                            by: ChoiceSource::Reply,
                        })
                    })
                }
                _ => None,
            },
            Event::Status(_) | Event::Contact(_) => None,
        });
    }
    Ok(picked)
}

/// Whether the channel ever offered options (cached: see `interactive::OfferCache`).
async fn offers_choices(app: &App, channel_id: &str) -> Result<bool, StoreError> {
    if let Some(known) = app.choice_offers.known(channel_id) {
        return Ok(known);
    }
    let offers = app.store.offers_choices(channel_id).await?;
    app.choice_offers.remember(channel_id, offers);
    Ok(offers)
}

/// A tap the plugin reported, with the business's id and the option's title (from the
/// conversation's own outbound messages), and the message it was on where the provider did not say.
async fn tapped(app: &App, channel_id: &str, choice: &Choice) -> Result<ChoiceContent, StoreError> {
    let mut picked = ChoiceContent { id: choice.id.clone(), title: choice.title.clone(), message_id: None, answers: choice.answers.clone(), by: ChoiceSource::Tap };
    let short = ShortId::parse(&choice.id);
    // Only this conversation's messages are looked at: a crafted id reaches nothing else.
    for offered in app.store.recent_outbound_at(channel_id, &choice.conversation, TAPS_LOOKED_AT).await? {
        // A template's quick reply: its payload is the id the send gave it.
        let template_payload = offered.content.template.as_ref().is_some_and(|t| t.buttons.iter().any(|b| b.payload.as_deref() == Some(choice.id.as_str())));
        if template_payload && (choice.answers.is_none() || choice.answers == offered.provider_message_id) {
            picked.message_id = Some(offered.id);
            picked.answers = picked.answers.or_else(|| offered.provider_message_id.clone());
            break;
        }
        let Some(content) = &offered.content.interactive else { continue };
        let position = match short {
            Some(short) if short.message_id == offered.id => crate::interactive::issued_position(content, short),
            _ => content.choices().iter().position(|option| option.id == choice.id),
        };
        if let Some(position) = position {
            let option = content.choices()[position];
            picked.id = option.id.clone();
            // The option's own title, whatever the tap said: a customer's client (the chat
            // widget's visitor, say) could name one option and pick another.
            picked.title = Some(option.title.clone());
            picked.message_id = Some(offered.id);
            picked.answers = picked.answers.or_else(|| offered.provider_message_id.clone());
            break;
        }
    }
    Ok(picked)
}

/// How many of a conversation's last messages a tap's message is looked for in: a customer may
/// go back to an older message and tap again. A reply is matched to the newest outbound one
/// among the last few (the customer may write twice before answering).
pub(crate) const TAPS_LOOKED_AT: u32 = 50;
const REPLIES_LOOKED_AT: u32 = 10;


/// A plugin's event as the store records it.
fn record_of(event: &Event, choice: Option<ChoiceContent>, kept: &HashMap<String, KeptFile>, fetches_media: bool) -> EventRecord {
    match event {
        Event::Choice(tap) => EventRecord::Message {
            inbound: NewInbound {
                provider_message_id: storable(&tap.provider_message_id),
                conversation_external_id: storable(&tap.conversation),
                conversation_name: storable_opt(&tap.conversation_name),
                sender: contact_of(&tap.sender.id, &tap.sender.name, &tap.sender.handle),
                provider_timestamp: i64::try_from(tap.timestamp_ms).unwrap_or(i64::MAX),
                // What the customer picked, as a person reads it in the inbox.
                text: choice.as_ref().and_then(|c| c.title.clone()).or_else(|| Some(storable(&tap.id))),
                content: MessageContent { choice, ..Default::default() },
                properties: storable_pairs(&tap.properties),
                reply_to: storable_opt(&tap.answers),
            },
            files: Vec::new(),
        },
        Event::Message(message) => EventRecord::Message {
            inbound: NewInbound {
                provider_message_id: storable(&message.provider_message_id),
                conversation_external_id: storable(&message.conversation),
                conversation_name: storable_opt(&message.conversation_name),
                sender: contact_of(&message.sender.id, &message.sender.name, &message.sender.handle),
                provider_timestamp: i64::try_from(message.timestamp_ms).unwrap_or(i64::MAX),
                text: storable_opt(&message.text),
                content: MessageContent { attachments: message.attachments.iter().map(attachment_content).collect(), choice, ..Default::default() },
                properties: storable_pairs(&message.properties),
                reply_to: storable_opt(&message.reply_to),
            },
            files: files_of(&message.attachments, kept, fetches_media),
        },
        Event::Status(status) => {
            let state = delivery_status(status.state);
            let error = match (&status.error_code, &status.error_message) {
                (Some(code), Some(text)) => Some(format!("{code}: {text}")),
                (code, text) => code.clone().or_else(|| text.clone()),
            }
            .map(|error| storable(&error));
            match &status.target {
                StatusTarget::Message(id) => EventRecord::Status { provider_message_id: storable(id), status: state, error },
                StatusTarget::Watermark((conversation, up_to)) => EventRecord::Watermark {
                    conversation_external_id: storable(conversation),
                    up_to_ms: i64::try_from(*up_to).unwrap_or(i64::MAX),
                    status: state,
                },
            }
        }
        Event::Contact(profile) => EventRecord::Contact(contact_of(&profile.id, &profile.name, &profile.handle)),
    }
}

/// A provider's NUL (`\u0000` in its JSON, a byte in an email) kept as U+FFFD
/// (`store::storable`), rather than the webhook refused and sent again and again.
fn storable_opt(text: &Option<String>) -> Option<String> {
    text.as_deref().map(storable)
}

fn storable_pairs(pairs: &[(String, String)]) -> Vec<(String, String)> {
    pairs.iter().map(|(key, value)| (storable(key), storable(value))).collect()
}

fn contact_of(id: &str, name: &Option<String>, handle: &Option<String>) -> ContactInfo {
    ContactInfo { external_id: storable(id), name: storable_opt(name), handle: storable_opt(handle) }
}

/// The files the plugin kept during the call for these events' attachments, by reference.
fn kept_files(app: &App, channel_id: &str, events: &[Event]) -> HashMap<String, KeptFile> {
    let mut kept = HashMap::new();
    for event in events {
        let Event::Message(message) = event else { continue };
        for reference in message.attachments.iter().filter_map(|a| a.provider_media_id.as_deref()).filter(|id| id.starts_with(KEPT_PREFIX)) {
            if let Some(file) = app.media.kept.take(channel_id, reference) {
                kept.insert(reference.to_owned(), file);
            }
        }
    }
    kept
}

/// What each attachment with bytes gets: the file the plugin kept, or a fetch job when the
/// plugin fetches media.
fn files_of(attachments: &[Attachment], kept: &HashMap<String, KeptFile>, fetches_media: bool) -> Vec<FileRecord> {
    let mut files = Vec::new();
    for (position, attachment) in attachments.iter().enumerate() {
        let filename = storable_opt(&attachment.filename);
        if let Some(file) = attachment.provider_media_id.as_ref().and_then(|id| kept.get(id)) {
            let bytes = StoredBytes { mime_type: storable(&file.bytes.mime_type), ..file.bytes.clone() };
            files.push(FileRecord::Kept { position, filename: filename.or_else(|| storable_opt(&file.filename)), bytes });
        } else if fetches_media && crate::media::has_bytes(attachment.kind) {
            files.push(FileRecord::Fetch { position, filename });
        }
    }
    files
}

fn delivery_status(state: DeliveryState) -> DeliveryStatus {
    match state {
        DeliveryState::Sent => DeliveryStatus::Sent,
        DeliveryState::Delivered => DeliveryStatus::Delivered,
        DeliveryState::Read => DeliveryStatus::Read,
        DeliveryState::Failed => DeliveryStatus::Failed,
        DeliveryState::Deleted => DeliveryStatus::Deleted,
    }
}

/// A plugin's attachment as the message keeps it. A place whose coordinates are not numbers
/// (NaN, infinite) is no place: kept without them, as JSON cannot hold them.
fn attachment_content(attachment: &Attachment) -> AttachmentContent {
    AttachmentContent {
        kind: attachment.kind.name().to_owned(),
        provider_media_id: storable_opt(&attachment.provider_media_id),
        url: storable_opt(&attachment.url),
        mime_type: storable_opt(&attachment.mime_type),
        filename: storable_opt(&attachment.filename),
        size: attachment.size,
        location: attachment
            .location
            .as_ref()
            .filter(|l| l.latitude.is_finite() && l.longitude.is_finite())
            .map(|l| LocationContent { latitude: l.latitude, longitude: l.longitude, name: storable_opt(&l.name), address: storable_opt(&l.address) }),
        description: storable_opt(&attachment.description),
        file: None,
    }
}

#[cfg(test)]
mod tests {
    use super::attachment_content;
    use crate::runtime::types::{Attachment, AttachmentKind, Location};

    fn shared_place(latitude: f64, longitude: f64) -> Attachment {
        let location = Some(Location { latitude, longitude, name: Some("Monas".into()), address: None });
        Attachment { kind: AttachmentKind::Location, provider_media_id: None, url: None, mime_type: None, filename: None, size: None, location, description: None }
    }

    #[test]
    fn a_place_is_kept_with_its_coordinates_unless_they_are_not_numbers() {
        let kept = attachment_content(&shared_place(-6.175392, 106.827153)).location.expect("a place");
        assert_eq!((kept.latitude, kept.longitude, kept.name.as_deref()), (-6.175392, 106.827153, Some("Monas")));
        for (latitude, longitude) in [(f64::NAN, 106.8), (-6.1, f64::INFINITY), (f64::NEG_INFINITY, f64::NAN)] {
            let content = attachment_content(&shared_place(latitude, longitude));
            assert_eq!((content.kind.as_str(), content.location), ("location", None), "{latitude}, {longitude}");
        }
    }
}
