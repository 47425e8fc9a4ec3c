//! Contacts and conversations: what the inbox lists, filters and hands over.

use serde::Serialize;

/// A person as the provider describes them.
#[derive(Debug, Clone, Default)]
pub struct ContactInfo {
    pub external_id: String,
    pub name: Option<String>,
    pub handle: Option<String>,
}

/// What a change of a conversation was decided on: the change is made only while the
/// conversation is still so, else it is refused ([`crate::store::StoreError::ChangedMeanwhile`])
/// and nothing changes. Two agents taking one conversation at once: one takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AsRead {
    /// Decided on nothing of it (a supervisor's assignment, a resolve).
    Anything,
    /// On its assignee (an agent taking it, or giving it back).
    Assignee(Option<i64>),
    /// On its status (a bot handing over the conversation it handles).
    Status(&'static str),
}

/// One chat with a contact on one channel: what the inbox lists.
#[derive(utoipa::ToSchema, Debug, Clone, Serialize)]
pub struct Conversation {
    pub id: i64,
    pub channel_id: String,
    /// The conversation's address at the provider.
    pub external_id: String,
    pub name: Option<String>,
    /// `open`, `resolved`, or `bot` (its channel's bot handles it; not in the agents' queue).
    pub status: String,
    /// The person it is assigned to, if any.
    pub assignee_id: Option<i64>,
    pub contact: Option<ContactSummary>,
    /// Provider time (ms) of the customer's last message.
    pub last_inbound_at: Option<i64>,
    pub last_activity_at: i64,
    pub created_at: i64,
    /// Customer messages the reading person has not read (lists for a signed-in person only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unread: Option<i64>,
}

/// A conversation as the inbox lists it, with its channel's plugin (read by the list's own
/// query: a list does not read each channel again).
#[derive(Debug, Clone)]
pub struct ListedConversation {
    pub conversation: Conversation,
    pub plugin: String,
}

/// The contact a listed conversation is with.
#[derive(utoipa::ToSchema, Debug, Clone, Serialize)]
pub struct ContactSummary {
    pub id: i64,
    pub external_id: String,
    pub name: Option<String>,
    pub handle: Option<String>,
}

/// What the inbox's list is narrowed to.
#[derive(Debug, Default)]
pub struct ConversationFilter<'a> {
    /// Only this workspace's (`None`: every workspace, for the operator).
    pub workspace_id: Option<i64>,
    pub channel_id: Option<&'a str>,
    pub status: Option<&'a str>,
    pub assigned: Assigned,
    /// Words the contact's name or handle, the conversation's name or a message's text holds.
    pub search: Option<&'a str>,
    /// The person reading: their unread counts come with the list.
    pub reader: Option<i64>,
    /// Only the channels this bot token is the bot of (a bot reading its conversations).
    pub bot: Option<i64>,
}

/// Whose conversations a list holds.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum Assigned {
    #[default]
    Anyone,
    /// Assigned to nobody.
    Nobody,
    /// Assigned to this person.
    To(i64),
}

/// A conversation handed from a bot to people (its status `bot` became `open`), to announce:
/// the bot token revoked, its endpoint turned off (by an admin or past the retry horizon),
/// deleted, or no longer the bot of the conversation's channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandedOver {
    pub channel_id: String,
    pub conversation_id: i64,
}
