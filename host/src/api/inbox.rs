//! The inbox: conversations newest first with their window state, their messages with
//! delivery status, and sending (queued in the outbox; the window is enforced here).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::{ApiError, ApiJson, Caller};
use crate::runtime::types::TemplateButton;
use crate::store::model::{AsRead, Assigned, AttachmentContent, Channel, ChannelBot, Conversation, ConversationFilter, InteractiveContent, ListedConversation, MediaContent, Message, MessageContent, NewOutbound, Role, TemplateButtonValue, TemplateContent};
use crate::app::App;
use crate::runtime::types::Capability;
use crate::store::{Scope, StoreError, now_ms};
use crate::window::{self, Window};

/// Longest text we accept in one message (providers cut far lower; this guards the store).
const MAX_TEXT_BYTES: usize = 64 * 1024;
/// The longest file name or media type a reply's media may give (a file system's name limit).
const MAX_NAME_BYTES: usize = 255;
/// Longest search we take (a search is words, not documents).
const MAX_SEARCH_BYTES: usize = 500;

#[derive(utoipa::ToSchema, Serialize)]
pub struct ConversationView {
    #[serde(flatten)]
    conversation: Conversation,
    plugin: Option<String>,
    /// `None` when the channel's plugin is not loaded.
    window: Option<Window>,
    /// Who handles it while its status is `bot`: its channel's bot, a webhook endpoint (`kind`
    /// `endpoint`, named by its description) or an API token with the `bot` role (`kind`
    /// `token`, named by its label). Absent in any other status (people handle it: see
    /// `assignee_id`).
    #[serde(skip_serializing_if = "Option::is_none")]
    bot: Option<ChannelBot>,
}

async fn conversation_view(app: &App, (conversation, channel): (Conversation, Channel)) -> Result<ConversationView, ApiError> {
    let bot = if conversation.status == "bot" { app.store.channel_bot(&conversation.channel_id, Scope::Workspace(channel.workspace_id)).await? } else { None };
    Ok(view_with_plugin(app, conversation, Some(channel.plugin), bot))
}

/// A conversation as listed, its channel's plugin (and bot) already known.
fn view_with_plugin(app: &App, conversation: Conversation, plugin_id: Option<String>, bot: Option<ChannelBot>) -> ConversationView {
    let plugin = plugin_id.as_deref().and_then(|id| app.registry.get(id));
    let window = plugin.map(|p| window::compute(&p.window, conversation.last_inbound_at, now_ms()));
    let bot = bot.filter(|_| conversation.status == "bot");
    ConversationView { conversation, plugin: plugin_id, window, bot }
}

#[derive(utoipa::IntoParams, Deserialize)]
#[into_params(parameter_in = Query)]
pub struct ConversationQuery {
    /// `mine` (signed-in people), `unassigned` or `all` (the default).
    assigned: Option<String>,
    channel: Option<String>,
    status: Option<String>,
    /// Words to search for in the contact's name or handle, the conversation's name and the
    /// messages' text (each word must appear; a word matches as a prefix: `paket` finds `paketnya`).
    q: Option<String>,
    limit: Option<u32>,
}

#[utoipa::path(get, path = "/conversations", tag = "conversations", params(ConversationQuery), responses((status = 200, body = Vec<ConversationView>)))]
pub async fn conversations(
    caller: Caller,
    State(app): State<Arc<App>>,
    Query(query): Query<ConversationQuery>,
) -> Result<Json<Vec<ConversationView>>, ApiError> {
    let assigned = match query.assigned.as_deref() {
        None | Some("all") => Assigned::Anyone,
        Some("unassigned") => Assigned::Nobody,
        Some("mine") => Assigned::To(caller.person.ok_or_else(|| {
            ApiError::unprocessable("not_a_person", "`assigned=mine` needs a signed-in person (an API token is nobody's)")
        })?),
        Some(other) => return Err(ApiError::bad_request(format!("`assigned` must be mine, unassigned or all, not `{other}`"))),
    };
    let filter = ConversationFilter {
        workspace_id: caller.filter(),
        channel_id: query.channel.as_deref(),
        status: query.status.as_deref(),
        assigned,
        search: query.q.as_deref().map(str::trim).filter(|q| !q.is_empty()),
        reader: caller.person,
        // A bot lists its own channels' conversations only.
        bot: caller.bot(),
    };
    if query.q.as_ref().is_some_and(|q| q.len() > MAX_SEARCH_BYTES) {
        return Err(ApiError::bad_request(format!("`q` is longer than {MAX_SEARCH_BYTES} bytes")));
    }
    let limit = query.limit.unwrap_or(100).clamp(1, 500);
    let mut views = Vec::new();
    // Each channel's bot read once, for the conversations it handles.
    let mut bots: std::collections::HashMap<String, Option<ChannelBot>> = std::collections::HashMap::new();
    for ListedConversation { conversation, plugin } in app.store.conversations(&filter, limit).await? {
        let bot = if conversation.status != "bot" {
            None
        } else if let Some(bot) = bots.get(&conversation.channel_id) {
            bot.clone()
        } else {
            let bot = app.store.channel_bot(&conversation.channel_id, caller.scope()).await?;
            bots.insert(conversation.channel_id.clone(), bot.clone());
            bot
        };
        views.push(view_with_plugin(&app, conversation, Some(plugin), bot));
    }
    Ok(Json(views))
}

/// A conversation the caller may see (its channel is in the caller's workspace, and for a bot
/// one of its channels: both in the query's `WHERE`); else 404.
async fn find(app: &App, caller: &Caller, id: i64) -> Result<Conversation, ApiError> {
    Ok(find_with_channel(app, caller, id).await?.0)
}

/// The conversation and its channel, read in one query whose `WHERE` holds the caller's scope.
async fn find_with_channel(app: &App, caller: &Caller, id: i64) -> Result<(Conversation, Channel), ApiError> {
    app.store.conversation_in_scope(id, caller.scope()).await?.ok_or_else(|| ApiError::not_found(format!("no conversation {id}")))
}

#[utoipa::path(get, path = "/conversations/{id}", tag = "conversations", params(("id" = i64, Path, description = "the conversation")), responses((status = 200, body = ConversationView)))]
pub async fn conversation(caller: Caller, State(app): State<Arc<App>>, Path(id): Path<i64>) -> Result<Json<ConversationView>, ApiError> {
    Ok(Json(conversation_view(&app, find_with_channel(&app, &caller, id).await?).await?))
}

#[derive(utoipa::ToSchema, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangeConversation {
    /// A person of the conversation's workspace, or `null` for nobody.
    #[serde(default, with = "serde_with_null")]
    assignee_id: Option<Option<i64>>,
    /// `open` or `resolved`. A bot hands a conversation in status `bot` to people with `open`
    /// (assigning it does too). A bot token may send only this (`open`, with a `note`).
    status: Option<String>,
    /// Why a bot hands the conversation over, for the people taking it (kept in the audit log).
    note: Option<String>,
}

/// `null` is "set to nobody", absent is "leave as it is".
mod serde_with_null {
    use serde::{Deserialize, Deserializer};
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Option<i64>>, D::Error> {
        Ok(Some(Option::<i64>::deserialize(deserializer)?))
    }
}

/// Assigns a conversation and/or marks it open or resolved. Supervisors and admins assign
/// anyone's to anyone of the workspace; an agent takes an unassigned one (or gives back their
/// own), and anyone of the workspace may resolve or reopen. A bot token hands over one of its
/// channels' conversations with `{"status": "open", "note": …}` and does nothing else here: one
/// people already handle is left as it is (200), a resolved one is 409 `not_with_bot`.
#[utoipa::path(patch, path = "/conversations/{id}", tag = "conversations", params(("id" = i64, Path, description = "the conversation")), request_body = ChangeConversation,
    responses((status = 200, body = ConversationView), (status = 403, body = ApiError, description = "a bot token assigning or resolving"), (status = 409, body = ApiError, description = "a bot token handing over a resolved conversation (not_with_bot), or changed by another request since it was read (changed_meanwhile)")))]
pub async fn update_conversation(
    caller: Caller,
    State(app): State<Arc<App>>,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<ChangeConversation>,
) -> Result<Json<ConversationView>, ApiError> {
    let (conversation, channel) = find_with_channel(&app, &caller, id).await?;
    let field = |key: &str, problem: String| ApiError::invalid_fields(std::collections::BTreeMap::from([(key.to_owned(), problem)]));
    let status = match body.status.as_deref() {
        None => None,
        Some(status @ ("open" | "resolved")) => Some(status),
        Some(other) => return Err(field("status", format!("must be open or resolved, not `{other}`"))),
    };
    if caller.bot().is_some() {
        if body.assignee_id.is_some() || status != Some("open") {
            caller.refuse_bot("assign or resolve conversations (hand one over with `{\"status\": \"open\"}`)")?;
        }
        let current = conversation.status.clone();
        match current.as_str() {
            "bot" => {}
            // People handle it already (an agent took it over): nothing to hand over.
            "open" => return Ok(Json(conversation_view(&app, (conversation, channel)).await?)),
            other => {
                return Err(not_with_bot(id, other));
            }
        }
    }
    // What the change is decided on, kept as the condition of its write: of two agents taking
    // one conversation at once, or a bot handing over one an agent resolved meanwhile, the
    // second is refused (409 changed_meanwhile) rather than made over the first.
    let mut as_read = if caller.bot().is_some() { AsRead::Status("bot") } else { AsRead::Anything };
    if let Some(assignee) = body.assignee_id {
        if let Some(person_id) = assignee {
            let person = app.store.person(person_id, Scope::Workspace(channel.workspace_id)).await?.filter(|p| p.active);
            if person.is_none() {
                return Err(field("assignee_id", format!("no active person {person_id} in this workspace")));
            }
        }
        if caller.role == Role::Agent {
            let me = caller.person;
            let taking = assignee.is_some() && assignee == me && conversation.assignee_id.is_none_or(|current| Some(current) == me);
            let giving_back = assignee.is_none() && conversation.assignee_id.is_some() && conversation.assignee_id == me;
            if !(taking || giving_back) {
                return Err(ApiError::forbidden("an agent takes unassigned conversations (or gives back their own); supervisors assign the others"));
            }
            as_read = AsRead::Assignee(conversation.assignee_id);
        }
    }
    if body.note.as_ref().is_some_and(|note| note.chars().count() > 1000) {
        return Err(field("note", "must be at most 1000 characters".into()));
    }
    let updated = match app.store.update_conversation(id, caller.scope(), body.assignee_id, status, as_read).await {
        // A bot's conversation resolved meanwhile: answered as if it had been read now.
        Err(StoreError::ChangedMeanwhile) if caller.bot().is_some() => {
            let (now, _) = find_with_channel(&app, &caller, id).await?;
            return Err(not_with_bot(id, &now.status));
        }
        updated => updated?,
    };
    if !updated {
        return Err(ApiError::not_found(format!("no conversation {id}")));
    }
    app.live.conversation(&conversation.channel_id, id);
    if conversation.status == "bot" && (status == Some("open") || body.assignee_id.is_some()) {
        let workspace = Some(channel.workspace_id);
        let note = body.note.as_deref().map(|n| format!(": {n}")).unwrap_or_default();
        super::audit::record(&app, &caller, workspace, "conversation.handed_over", &format!("{id}{note}")).await;
    }
    Ok(Json(conversation_view(&app, find_with_channel(&app, &caller, id).await?).await?))
}

/// A bot handing over a conversation it does not handle (resolved, say).
fn not_with_bot(id: i64, status: &str) -> ApiError {
    ApiError::new(StatusCode::CONFLICT, "not_with_bot", format!("conversation {id} is {status}: a bot hands over only the conversations it handles"))
}

#[derive(utoipa::IntoParams, Deserialize)]
#[into_params(parameter_in = Query)]
pub struct MessageQuery {
    limit: Option<u32>,
    /// Only messages older than this message id (paging back through history).
    before: Option<i64>,
}

#[utoipa::path(get, path = "/conversations/{id}/messages", tag = "conversations", params(("id" = i64, Path, description = "the conversation"), MessageQuery), responses((status = 200, body = Vec<Message>)))]
pub async fn messages(
    caller: Caller,
    State(app): State<Arc<App>>,
    Path(id): Path<i64>,
    Query(query): Query<MessageQuery>,
) -> Result<Json<Vec<Message>>, ApiError> {
    find(&app, &caller, id).await?;
    let mut messages = app.store.messages(id, caller.scope(), query.before, query.limit.unwrap_or(200).clamp(1, 1000)).await?;
    with_files(&app, &mut messages).await?;
    Ok(Json(messages))
}

/// Each attachment with bytes gets its `file`: `{id, url, state, sha256, size, mime_type,
/// filename, error}` (`state` pending, stored or failed; `url` serves it once stored).
async fn with_files(app: &App, messages: &mut [Message]) -> Result<(), ApiError> {
    let ids: Vec<i64> = messages.iter().map(|m| m.id).collect();
    for file in app.store.media_of_messages(&ids).await? {
        let Some(message) = messages.iter_mut().find(|m| Some(m.id) == file.message_id) else { continue };
        let Some(attachment) = message.content.attachments.get_mut(file.position as usize) else { continue };
        attachment.file = Some(super::media::shown(&file));
    }
    Ok(())
}

#[derive(utoipa::ToSchema, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendRequest {
    /// The message, or a media message's caption.
    text: Option<String>,
    template: Option<TemplateRequest>,
    media: Option<MediaRequest>,
    /// An uploaded file (`POST /media`) to send, with `text` as its caption.
    file_id: Option<i64>,
    /// Options the customer taps (alone: its `body` is the message's text). Checked against the
    /// channel's limits; a kind the channel does not draw goes as text with numbered options.
    #[schema(example = json!({"body": "Your order #A-17 has shipped. Did it arrive?", "reply_buttons": [{"id": "arrived:A-17", "title": "Yes"}, {"id": "missing:A-17", "title": "Not yet"}]}))]
    interactive: Option<InteractiveContent>,
    reply_to: Option<String>,
}

#[derive(utoipa::ToSchema, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateRequest {
    name: String,
    language: String,
    #[serde(default)]
    params: Vec<String>,
    /// Values for the template's buttons, by position: `{"index": 0, "payload": "stop:A-17"}`
    /// for a quick reply (its tap comes back as a choice with that id), `{"index": 1,
    /// "url_suffix": "A-17"}` for a URL button ending in `{{1}}`.
    #[serde(default)]
    #[schema(example = json!([{"index": 0, "payload": "stop:A-17"}, {"index": 1, "url_suffix": "A-17"}]))]
    buttons: Vec<TemplateButtonValue>,
}

/// The longest quick-reply payload taken: WhatsApp documents none (a choice id elsewhere is at
/// most 256 bytes on WhatsApp), so the same bound.
const MAX_TEMPLATE_PAYLOAD_BYTES: usize = 256;
/// A template has at most 10 buttons (WhatsApp).
const MAX_TEMPLATE_BUTTONS: u32 = 10;

/// Each value fits the template's button at its index: a payload for a quick reply, a suffix
/// for a URL ending in `{{1}}` (the provider would refuse the send otherwise, after queuing).
fn check_button_kinds(name: &str, buttons: &[TemplateButton], values: &[TemplateButtonValue]) -> Result<(), ApiError> {
    let mut errors = std::collections::BTreeMap::new();
    for (i, value) in values.iter().enumerate() {
        let problem = match (buttons.get(value.index as usize), value.payload.is_some()) {
            (None, _) => Some(("index", format!("`{name}` has no button {} ({} buttons)", value.index, buttons.len()))),
            (Some(TemplateButton::QuickReply { .. }), true) => None,
            (Some(TemplateButton::Url { url, .. }), false) if url.ends_with("{{1}}") => None,
            (Some(TemplateButton::QuickReply { .. }), false) => Some(("url_suffix", format!("button {} is a quick reply: give it a `payload`", value.index))),
            (Some(TemplateButton::Url { url, .. }), _) if url.ends_with("{{1}}") => Some(("payload", format!("button {} is a URL button: give it a `url_suffix`", value.index))),
            (Some(_), true) => Some(("payload", format!("button {} takes no value", value.index))),
            (Some(_), false) => Some(("url_suffix", format!("button {} takes no value", value.index))),
        };
        if let Some((field, message)) = problem {
            errors.insert(format!("template.buttons[{i}].{field}"), message);
        }
    }
    if errors.is_empty() { Ok(()) } else { Err(ApiError::invalid_fields(errors)) }
}

/// Every problem of a template's button values, per field (`template.buttons[1].payload`).
fn check_template_buttons(plugin: &crate::runtime::LoadedPlugin, buttons: &[TemplateButtonValue]) -> Result<(), ApiError> {
    let mut errors = std::collections::BTreeMap::new();
    if !buttons.is_empty() && !plugin.has_template_buttons() {
        errors.insert("template.buttons".to_owned(), format!("{} templates have no buttons", plugin.manifest.name));
        return Err(ApiError::invalid_fields(errors));
    }
    for (i, button) in buttons.iter().enumerate() {
        let field = |name: &str| format!("template.buttons[{i}].{name}");
        if button.index >= MAX_TEMPLATE_BUTTONS {
            errors.insert(field("index"), format!("a template has at most {MAX_TEMPLATE_BUTTONS} buttons: 0 to {}", MAX_TEMPLATE_BUTTONS - 1));
        } else if buttons[..i].iter().any(|b| b.index == button.index) {
            errors.insert(field("index"), format!("button {} is given twice", button.index));
        }
        match (button.payload.as_deref(), button.url_suffix.as_deref()) {
            (Some(payload), None) if payload.trim().is_empty() => {
                errors.insert(field("payload"), "must not be empty".into());
            }
            (Some(payload), None) if payload.len() > MAX_TEMPLATE_PAYLOAD_BYTES => {
                errors.insert(field("payload"), format!("at most {MAX_TEMPLATE_PAYLOAD_BYTES} bytes"));
            }
            (None, Some(suffix)) if suffix.is_empty() => {
                errors.insert(field("url_suffix"), "must not be empty".into());
            }
            (Some(_), None) | (None, Some(_)) => {}
            _ => {
                errors.insert(field("payload"), "give a quick reply's `payload` or a URL button's `url_suffix`, one of them".into());
            }
        }
    }
    if errors.is_empty() { Ok(()) } else { Err(ApiError::invalid_fields(errors)) }
}

/// Media by URL (the provider fetches it); `kind` is one of [`MEDIA_KINDS`]. A caption may
/// come as `caption` or as the request's `text`.
#[derive(utoipa::ToSchema, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MediaRequest {
    kind: String,
    url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    caption: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    filename: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    mime_type: Option<String>,
}

pub const MEDIA_KINDS: &[&str] = &["image", "video", "audio", "document", "sticker"];

impl MediaRequest {
    fn check(&self) -> Result<(), ApiError> {
        if !MEDIA_KINDS.contains(&self.kind.as_str()) {
            return Err(ApiError::bad_request(format!("`media.kind` must be one of: {}", MEDIA_KINDS.join(", "))));
        }
        super::settings::check_http_url(&self.url).map_err(|problem| ApiError::bad_request(format!("`media.url` {problem}")))?;
        // The caption is the message's text: the same limit. A file's name and type are short.
        for (field, value, limit) in [
            ("media.caption", &self.caption, MAX_TEXT_BYTES),
            ("media.filename", &self.filename, MAX_NAME_BYTES),
            ("media.mime_type", &self.mime_type, MAX_NAME_BYTES),
        ] {
            if value.as_ref().is_some_and(|value| value.len() > limit) {
                return Err(ApiError::bad_request(format!("`{field}` is longer than {limit} bytes")));
            }
        }
        Ok(())
    }
}

/// Queues a reply: 202 with the stored message; delivery happens in the outbox worker.
/// The messaging window is enforced here (and again at delivery): outside it only a template
/// goes, and only on channels whose policy allows templates there.
#[utoipa::path(post, path = "/conversations/{id}/messages", tag = "conversations", params(("id" = i64, Path, description = "the conversation")), request_body = SendRequest, responses((status = 202, body = Message, description = "queued for delivery")))]
pub async fn send(
    caller: Caller,
    State(app): State<Arc<App>>,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<SendRequest>,
) -> Result<(StatusCode, Json<Message>), ApiError> {
    let (conversation, channel) = find_with_channel(&app, &caller, id).await?;
    let plugin = app.registry.get(&channel.plugin).ok_or_else(|| {
        ApiError::unavailable("plugin_unavailable", format!("plugin `{}` is not loaded; messages cannot be sent", channel.plugin))
    })?;
    let capable = |capability: Capability, what: &str| {
        if plugin.manifest.capabilities.contains(&capability) {
            Ok(())
        } else {
            Err(ApiError::unprocessable("unsupported", format!("{} channels cannot send {what}", plugin.manifest.name)))
        }
    };
    let text = body.text.as_deref().map(str::trim).filter(|t| !t.is_empty());
    if text.is_some_and(|text| text.len() > MAX_TEXT_BYTES) {
        return Err(ApiError::bad_request(format!("`text` is longer than {MAX_TEXT_BYTES} bytes")));
    }
    if body.reply_to.as_ref().is_some_and(|id| id.len() > super::bad_input::MAX_PATH_SEGMENT) {
        return Err(ApiError::bad_request(format!("`reply_to` is longer than any message id ({} bytes)", super::bad_input::MAX_PATH_SEGMENT)));
    }
    if let Some(file_id) = body.file_id {
        // A bot uploads nothing, and a workspace's other files are not its to send.
        caller.refuse_bot("send uploaded files (send `media` by URL)")?;
        if body.template.is_some() || body.media.is_some() {
            return Err(ApiError::bad_request("send `file_id` (with `text` as its caption) without `media` or `template`"));
        }
        capable(Capability::SendMedia, "files")?;
        let not_found = || ApiError::unprocessable("unknown_file", format!("no file {file_id} in this workspace; upload it with POST /api/v1/media"));
        let upload = app.store.media_file(file_id, Scope::Workspace(channel.workspace_id)).await?.ok_or_else(not_found)?;
        let (Some(mime_type), "stored") = (upload.mime_type.clone(), upload.state.as_str()) else {
            return Err(ApiError::unprocessable("file_not_stored", format!("file {file_id} has no bytes to send: {}", upload.error.as_deref().unwrap_or("it is still being downloaded"))));
        };
        let kind = crate::media::kind_of(&mime_type);
        let media = MediaContent {
            kind: kind.to_owned(),
            url: None,
            file_id: Some(file_id),
            caption: text.map(str::to_owned),
            filename: upload.filename.clone(),
            mime_type: Some(mime_type.clone()),
        };
        let shown = AttachmentContent {
            kind: kind.to_owned(),
            filename: upload.filename.clone(),
            mime_type: Some(mime_type),
            size: upload.size.and_then(|size| u64::try_from(size).ok()),
            ..Default::default()
        };
        let content = MessageContent { media: Some(media), attachments: vec![shown], ..Default::default() };
        let outbound = NewOutbound { conversation_id: id, text: text.map(str::to_owned), content, reply_to: body.reply_to, file: Some(file_id), sent_by: None };
        return queue(&app, &caller, &channel, &plugin, conversation.last_inbound_at, outbound).await;
    }
    if let Some(interactive) = body.interactive {
        if text.is_some() || body.template.is_some() || body.media.is_some() {
            return Err(ApiError::bad_request("send `interactive` alone: its `body` is the message's text"));
        }
        let content = checked_interactive(&plugin, interactive)?;
        // Replies on this channel may name options from now on (other nodes read it from the store).
        app.choice_offers.remember(&channel.id, true);
        let outbound = NewOutbound { conversation_id: id, text: Some(crate::interactive::text::render(&content)), content: MessageContent { interactive: Some(content), ..Default::default() }, reply_to: body.reply_to, file: None, sent_by: None };
        return queue(&app, &caller, &channel, &plugin, conversation.last_inbound_at, outbound).await;
    }
    let (text, content) = match (text, body.template, body.media) {
        (Some(text), None, None) => (Some(text.to_owned()), MessageContent::default()),
        (None, Some(mut template), None) => {
            capable(Capability::SendTemplates, "message templates")?;
            if template.name.trim().is_empty() || template.language.trim().is_empty() {
                return Err(ApiError::bad_request("a template needs `name` and `language`"));
            }
            if !app.store.template_enabled(&channel.id, caller.scope(), &template.name).await? {
                return Err(ApiError::unprocessable(
                    "template_disabled",
                    format!("the template `{}` is switched off for this channel; an admin can switch it on", template.name),
                ));
            }
            check_template_buttons(&plugin, &template.buttons)?;
            if !template.buttons.is_empty() {
                let listed = super::templates::provider_templates(&app, &channel, &plugin).await?;
                let buttons = listed.into_iter().find(|t| t.template.name == template.name && t.template.language == template.language).map(|t| t.buttons);
                let buttons = buttons.ok_or_else(|| ApiError::unprocessable("unknown_template", format!("the channel has no template `{}` in `{}`", template.name, template.language)))?;
                check_button_kinds(&template.name, &buttons, &template.buttons)?;
                for value in &mut template.buttons {
                    value.text = buttons.get(value.index as usize).map(TemplateButton::text).map(str::to_owned);
                }
            }
            let TemplateRequest { name, language, params, buttons } = template;
            (None, MessageContent { template: Some(TemplateContent { name, language, params, buttons }), ..Default::default() })
        }
        (caption, None, Some(mut media)) => {
            capable(Capability::SendMedia, "media")?;
            media.check()?;
            if media.caption.is_none() {
                media.caption = caption.map(str::to_owned);
            }
            let MediaRequest { kind, url, caption, filename, mime_type } = media;
            let media = MediaContent { kind, url: Some(url), file_id: None, caption, filename, mime_type };
            (media.caption.clone(), MessageContent { media: Some(media), ..Default::default() })
        }
        (None, None, None) => return Err(ApiError::bad_request("send `text` (non-empty), `media`, `file_id` or `template`")),
        _ => return Err(ApiError::bad_request("send `text`, `media` or `file_id` (with `text` as its caption) or `template`, one of them")),
    };
    queue(&app, &caller, &channel, &plugin, conversation.last_inbound_at, NewOutbound { conversation_id: id, text, content, reply_to: body.reply_to, file: None, sent_by: None }).await
}

/// Interactive content within what the channel takes: its plugin's limits for a kind it draws,
/// the text rendering's otherwise; every field over them is named (422 `invalid_fields`).
fn checked_interactive(plugin: &crate::runtime::LoadedPlugin, content: InteractiveContent) -> Result<InteractiveContent, ApiError> {
    let errors = crate::interactive::limits::check_for(&plugin.interactive, &content, &plugin.manifest.name);
    if errors.is_empty() { Ok(content) } else { Err(ApiError::invalid_fields(errors)) }
}

/// Queues a checked reply, if the messaging window permits it.
async fn queue(
    app: &App,
    caller: &Caller,
    channel: &Channel,
    plugin: &crate::runtime::LoadedPlugin,
    last_inbound_at: Option<i64>,
    mut outbound: NewOutbound,
) -> Result<(StatusCode, Json<Message>), ApiError> {
    outbound.sent_by = caller.person;
    let window = window::compute(&plugin.window, last_inbound_at, now_ms());
    window.permits(outbound.content.template.is_some()).map_err(|why| ApiError::unprocessable("window_closed", why))?;
    // Whoever replies has read the conversation: marked in the same write.
    let mut message = app.store.queue_outbound(&channel.id, caller.scope(), &outbound).await?;
    // Only an uploaded file has a stored file to show.
    if outbound.file.is_some() {
        with_files(app, std::slice::from_mut(&mut message)).await?;
    }
    // Announced before the worker may send it: followers see `message`, then its `status`.
    app.live.message(&message);
    app.outbox_wake.notify_one();
    Ok((StatusCode::ACCEPTED, Json(message)))
}

#[derive(utoipa::ToSchema, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarkRead {
    /// The newest message read (default: the conversation's newest now).
    message_id: Option<i64>,
}

/// Marks a conversation read by the signed-in person, up to a message: its unread count in
/// their conversation list drops accordingly. A mark never moves back.
#[utoipa::path(post, path = "/conversations/{id}/read", tag = "conversations", params(("id" = i64, Path, description = "the conversation")), request_body = MarkRead,
    responses((status = 204, description = "marked"), (status = 422, description = "an API token is nobody: only people have read marks")))]
pub async fn mark_read(caller: Caller, State(app): State<Arc<App>>, Path(id): Path<i64>, ApiJson(body): ApiJson<MarkRead>) -> Result<StatusCode, ApiError> {
    find(&app, &caller, id).await?;
    let person = caller.person.ok_or_else(|| ApiError::unprocessable("not_a_person", "read marks belong to signed-in people; an API token is nobody"))?;
    // Another conversation's message answers the same as none: nothing of it is told.
    let no_such_message = |message_id| ApiError::invalid_fields(std::collections::BTreeMap::from([("message_id".to_owned(), format!("conversation {id} has no message {message_id}"))]));
    match app.store.mark_read(person, id, caller.scope(), body.message_id).await {
        Ok(true) => {}
        Ok(false) => return Err(ApiError::not_found(format!("no conversation {id}"))),
        Err(StoreError::NotFound) => return Err(no_such_message(body.message_id.unwrap_or_default())),
        Err(error) => return Err(error.into()),
    }
    Ok(StatusCode::NO_CONTENT)
}
