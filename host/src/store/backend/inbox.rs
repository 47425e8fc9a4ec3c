//! The inbox on either backend: what agents see and do (conversations listed, searched, read,
//! assigned and resolved; a conversation's messages page by page), contacts, template switches,
//! the provider resources channels hold, channels that need reconnecting, and the audit log.

use std::collections::BTreeSet;

use crate::store::audit::{AuditEntry, AuditFilter, NewAuditEntry};
use crate::store::contacts::ContactInfo;
use crate::store::conversations::{Conversation, ConversationFilter};
use crate::store::messages::Message;
use crate::store::reconnect::Reconnect;
use crate::store::{Db, StoreResult};

#[async_trait::async_trait]
pub trait InboxStore: Send + Sync {
    // Conversations.
    /// Up to `limit` conversations the filter lets through, newest activity first; with the
    /// reader's unread counts when the filter names a reader. A search with nothing searchable
    /// in it (punctuation only) finds nothing.
    async fn conversations(&self, filter: &ConversationFilter<'_>, limit: u32) -> StoreResult<Vec<Conversation>>;
    /// Marks a conversation read by a person up to a message (`None`: its newest); never moves
    /// the mark back, whichever node marked it last.
    async fn mark_read(&self, person_id: i64, conversation_id: i64, up_to: Option<i64>) -> StoreResult<()>;
    /// Assigns (`Some(None)`: to nobody) and/or sets the status of a conversation; no such
    /// conversation changes nothing.
    async fn update_conversation(&self, id: i64, assignee: Option<Option<i64>>, status: Option<&str>) -> StoreResult<()>;
    /// One conversation with its contact, if it exists.
    async fn conversation(&self, id: i64) -> StoreResult<Option<Conversation>>;
    /// Channels that have a conversation with this provider address, compared
    /// case-insensitively (ASCII), in no particular order.
    async fn channels_with_conversation(&self, external_id: &str) -> StoreResult<Vec<String>>;
    /// The conversation at a provider address (a chat, a visitor), if it exists.
    async fn conversation_at(&self, channel_id: &str, external_id: &str) -> StoreResult<Option<Conversation>>;

    // A conversation's messages.
    /// The newest `limit` messages of a conversation (older than the message `before`, if
    /// given), oldest first.
    async fn messages(&self, conversation_id: i64, before: Option<i64>, limit: u32) -> StoreResult<Vec<Message>>;
    /// The customer's most recent message in a conversation (by provider time).
    async fn last_inbound(&self, conversation_id: i64) -> StoreResult<Option<Message>>;
    /// The outbound messages among the last `last` of the conversation at a provider address,
    /// newest first (what a customer's tap or reply may answer); one query.
    async fn recent_outbound_at(&self, channel_id: &str, external_id: &str, last: u32) -> StoreResult<Vec<Message>>;
    /// Whether the channel ever sent interactive content (options a reply may name).
    async fn offers_choices(&self, channel_id: &str) -> StoreResult<bool>;

    // Contacts.
    /// Inserts or refreshes a contact (known fields kept when the provider omits them); its id.
    async fn upsert_contact(&self, channel_id: &str, contact: &ContactInfo) -> StoreResult<i64>;

    // Template switches.
    /// Names of the channel's templates that are switched off.
    async fn disabled_templates(&self, channel_id: &str) -> StoreResult<BTreeSet<String>>;
    /// Whether a template may be sent (enabled unless switched off).
    async fn template_enabled(&self, channel_id: &str, name: &str) -> StoreResult<bool>;
    /// Switches a channel's template on or off.
    async fn set_template_enabled(&self, channel_id: &str, name: &str, enabled: bool) -> StoreResult<()>;
    /// Drops a deleted template's switch, so a new one of the same name starts enabled.
    async fn forget_template(&self, channel_id: &str, name: &str) -> StoreResult<()>;

    // Resource holds.
    /// Records that a channel relies on a provider resource (holding it again changes nothing).
    async fn hold_resource(&self, channel_id: &str, resource: &str) -> StoreResult<()>;
    /// Drops the channel's hold; whether another channel still holds the resource (of holders
    /// releasing at once, exactly one learns it was the last).
    async fn release_resource(&self, channel_id: &str, resource: &str) -> StoreResult<bool>;

    // Channels that need reconnecting.
    /// Marks a channel whose credentials the provider refused; a later refusal updates the
    /// reason and keeps the first time.
    async fn mark_needs_reconnect(&self, channel_id: &str, reason: &str) -> StoreResult<()>;
    /// Clears the mark (a successful connect).
    async fn clear_needs_reconnect(&self, channel_id: &str) -> StoreResult<()>;
    /// Why and since when a channel needs reconnecting, if it does.
    async fn needs_reconnect(&self, channel_id: &str) -> StoreResult<Option<Reconnect>>;

    // The audit log.
    /// Appends an action to the audit log.
    async fn record_audit(&self, entry: NewAuditEntry<'_>) -> StoreResult<()>;
    /// Newest first, at most `limit` of the entries `filter` lets through (its `before`, an
    /// id, pages back).
    async fn audit_log(&self, filter: &AuditFilter, limit: u32) -> StoreResult<Vec<AuditEntry>>;
}

#[async_trait::async_trait]
impl InboxStore for Db {
    async fn conversations(&self, filter: &ConversationFilter<'_>, limit: u32) -> StoreResult<Vec<Conversation>> {
        let (channel_id, status, search) = (filter.channel_id.map(str::to_owned), filter.status.map(str::to_owned), filter.search.map(str::to_owned));
        let (workspace_id, assigned, reader, bot) = (filter.workspace_id, filter.assigned, filter.reader, filter.bot);
        self.off_worker(move |db| {
            let filter = ConversationFilter { workspace_id, channel_id: channel_id.as_deref(), status: status.as_deref(), assigned, search: search.as_deref(), reader, bot };
            Db::conversations(db, &filter, limit)
        })
        .await
    }

    async fn mark_read(&self, person_id: i64, conversation_id: i64, up_to: Option<i64>) -> StoreResult<()> {
        self.off_worker(move |db| Db::mark_read(db, person_id, conversation_id, up_to)).await
    }

    async fn update_conversation(&self, id: i64, assignee: Option<Option<i64>>, status: Option<&str>) -> StoreResult<()> {
        let status = status.map(str::to_owned);
        self.off_worker(move |db| Db::update_conversation(db, id, assignee, status.as_deref())).await
    }

    async fn conversation(&self, id: i64) -> StoreResult<Option<Conversation>> {
        self.off_worker(move |db| Db::conversation(db, id)).await
    }

    async fn channels_with_conversation(&self, external_id: &str) -> StoreResult<Vec<String>> {
        let external_id = external_id.to_owned();
        self.off_worker(move |db| Db::channels_with_conversation(db, &external_id)).await
    }

    async fn conversation_at(&self, channel_id: &str, external_id: &str) -> StoreResult<Option<Conversation>> {
        let channel_id = channel_id.to_owned();
        let external_id = external_id.to_owned();
        self.off_worker(move |db| Db::conversation_at(db, &channel_id, &external_id)).await
    }

    async fn messages(&self, conversation_id: i64, before: Option<i64>, limit: u32) -> StoreResult<Vec<Message>> {
        self.off_worker(move |db| Db::messages(db, conversation_id, before, limit)).await
    }

    async fn last_inbound(&self, conversation_id: i64) -> StoreResult<Option<Message>> {
        self.off_worker(move |db| Db::last_inbound(db, conversation_id)).await
    }

    async fn recent_outbound_at(&self, channel_id: &str, external_id: &str, last: u32) -> StoreResult<Vec<Message>> {
        let channel_id = channel_id.to_owned();
        let external_id = external_id.to_owned();
        self.off_worker(move |db| Db::recent_outbound_at(db, &channel_id, &external_id, last)).await
    }

    async fn offers_choices(&self, channel_id: &str) -> StoreResult<bool> {
        let channel_id = channel_id.to_owned();
        self.off_worker(move |db| Db::offers_choices(db, &channel_id)).await
    }

    async fn upsert_contact(&self, channel_id: &str, contact: &ContactInfo) -> StoreResult<i64> {
        let channel_id = channel_id.to_owned();
        let contact = contact.clone();
        self.off_worker(move |db| Db::upsert_contact(db, &channel_id, &contact)).await
    }

    async fn disabled_templates(&self, channel_id: &str) -> StoreResult<BTreeSet<String>> {
        let channel_id = channel_id.to_owned();
        self.off_worker(move |db| Db::disabled_templates(db, &channel_id)).await
    }

    async fn template_enabled(&self, channel_id: &str, name: &str) -> StoreResult<bool> {
        let channel_id = channel_id.to_owned();
        let name = name.to_owned();
        self.off_worker(move |db| Db::template_enabled(db, &channel_id, &name)).await
    }

    async fn set_template_enabled(&self, channel_id: &str, name: &str, enabled: bool) -> StoreResult<()> {
        let channel_id = channel_id.to_owned();
        let name = name.to_owned();
        self.off_worker(move |db| Db::set_template_enabled(db, &channel_id, &name, enabled)).await
    }

    async fn forget_template(&self, channel_id: &str, name: &str) -> StoreResult<()> {
        let channel_id = channel_id.to_owned();
        let name = name.to_owned();
        self.off_worker(move |db| Db::forget_template(db, &channel_id, &name)).await
    }

    async fn hold_resource(&self, channel_id: &str, resource: &str) -> StoreResult<()> {
        let channel_id = channel_id.to_owned();
        let resource = resource.to_owned();
        self.off_worker(move |db| Db::hold_resource(db, &channel_id, &resource)).await
    }

    async fn release_resource(&self, channel_id: &str, resource: &str) -> StoreResult<bool> {
        let channel_id = channel_id.to_owned();
        let resource = resource.to_owned();
        self.off_worker(move |db| Db::release_resource(db, &channel_id, &resource)).await
    }

    async fn mark_needs_reconnect(&self, channel_id: &str, reason: &str) -> StoreResult<()> {
        let channel_id = channel_id.to_owned();
        let reason = reason.to_owned();
        self.off_worker(move |db| Db::mark_needs_reconnect(db, &channel_id, &reason)).await
    }

    async fn clear_needs_reconnect(&self, channel_id: &str) -> StoreResult<()> {
        let channel_id = channel_id.to_owned();
        self.off_worker(move |db| Db::clear_needs_reconnect(db, &channel_id)).await
    }

    async fn needs_reconnect(&self, channel_id: &str) -> StoreResult<Option<Reconnect>> {
        let channel_id = channel_id.to_owned();
        self.off_worker(move |db| Db::needs_reconnect(db, &channel_id)).await
    }

    async fn record_audit(&self, entry: NewAuditEntry<'_>) -> StoreResult<()> {
        let NewAuditEntry { workspace_id, actor, address, action, target, detail } = entry;
        let (actor, address, action, target, detail) = (actor.to_owned(), address.map(str::to_owned), action.to_owned(), target.map(str::to_owned), detail.map(str::to_owned));
        self.off_worker(move |db| {
            let entry = NewAuditEntry { workspace_id, actor: &actor, address: address.as_deref(), action: &action, target: target.as_deref(), detail: detail.as_deref() };
            Db::record_audit(db, entry)
        })
        .await
    }

    async fn audit_log(&self, filter: &AuditFilter, limit: u32) -> StoreResult<Vec<AuditEntry>> {
        let filter = filter.clone();
        self.off_worker(move |db| Db::audit_log(db, &filter, limit)).await
    }
}
