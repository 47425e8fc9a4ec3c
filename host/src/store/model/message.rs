//! Messages in and out, a webhook's events as stored, the outbox's deliveries and media files.

use serde::Serialize;

use super::*;

/// An inbound message as normalized by a plugin.
#[derive(Debug, Clone)]
pub struct NewInbound {
    pub provider_message_id: String,
    pub conversation_external_id: String,
    pub conversation_name: Option<String>,
    pub sender: ContactInfo,
    pub provider_timestamp: i64,
    pub text: Option<String>,
    /// Its attachments.
    pub content: MessageContent,
    pub properties: Vec<(String, String)>,
    pub reply_to: Option<String>,
}

/// An outbound message an agent asked to send.
#[derive(Debug, Clone)]
pub struct NewOutbound {
    pub conversation_id: i64,
    pub text: Option<String>,
    /// A template or media; none for plain text.
    pub content: MessageContent,
    pub reply_to: Option<String>,
    /// An uploaded file the message sends (`media::links` offers it to the provider).
    pub file: Option<i64>,
    /// The person who sent it (`None`: an API token, a bot): their first replies and
    /// resolutions are the workspace's activity figures.
    pub sent_by: Option<i64>,
}

/// A message as stored, in or out.
#[derive(utoipa::ToSchema, Debug, Clone, Serialize)]
pub struct Message {
    pub id: i64,
    pub conversation_id: i64,
    pub channel_id: String,
    pub direction: String,
    pub provider_message_id: Option<String>,
    pub contact_id: Option<i64>,
    pub text: Option<String>,
    pub content: MessageContent,
    #[serde(skip)]
    pub properties: Vec<(String, String)>,
    pub reply_to: Option<String>,
    pub status: DeliveryStatus,
    pub error: Option<String>,
    pub provider_timestamp: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Where a message is: `received` (inbound), or an outbound message's delivery state.
/// Stored and served as the lowercase word.
#[derive(utoipa::ToSchema, Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    Received,
    Queued,
    Sent,
    Delivered,
    Read,
    Failed,
    Deleted,
}

impl DeliveryStatus {
    /// Every status, in the order they happen.
    pub(crate) const ALL: [Self; 7] = [Self::Received, Self::Queued, Self::Sent, Self::Delivered, Self::Read, Self::Failed, Self::Deleted];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Received => "received",
            Self::Queued => "queued",
            Self::Sent => "sent",
            Self::Delivered => "delivered",
            Self::Read => "read",
            Self::Failed => "failed",
            Self::Deleted => "deleted",
        }
    }

    pub(crate) fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == text)
    }

    /// Delivery states in the order they happen; a late `sent` never undoes `read`.
    pub(crate) fn rank(self) -> i32 {
        match self {
            Self::Received => -1,
            Self::Queued => 0,
            Self::Sent => 1,
            Self::Delivered => 2,
            Self::Read => 3,
            Self::Failed | Self::Deleted => 4,
        }
    }
}

/// One event to record.
#[derive(Debug, Clone)]
pub enum EventRecord {
    /// An inbound message, and what each of its attachments with bytes gets (only when the
    /// message is new: a redelivery's files are not recorded again).
    Message { inbound: NewInbound, files: Vec<FileRecord> },
    /// A delivery status for one outbound message, by the provider's id.
    Status { provider_message_id: String, status: DeliveryStatus, error: Option<String> },
    /// A status for every outbound message of a conversation sent up to a time.
    Watermark { conversation_external_id: String, up_to_ms: i64, status: DeliveryStatus },
    /// What the provider says of a contact.
    Contact(ContactInfo),
}

/// An attachment's file.
#[derive(Debug, Clone)]
pub enum FileRecord {
    /// Bytes the plugin handed over during the call (`files.keep`), already in the media files.
    Kept { position: usize, filename: Option<String>, bytes: StoredBytes },
    /// To be fetched from the provider by the media fetcher.
    Fetch { position: usize, filename: Option<String> },
}

/// What recording a batch changed.
#[derive(Debug, Default)]
pub struct RecordedEvents {
    /// New rows (0 for a redelivery).
    pub stored: usize,
    /// The inbound messages stored now.
    pub messages: Vec<Message>,
    /// Conversations (and the message, when one) whose delivery statuses changed.
    pub statuses: Vec<(i64, Option<i64>)>,
    /// Fetch jobs queued.
    pub fetches: usize,
}

impl RecordedEvents {
    /// Counts what another part of the same webhook recorded.
    pub(crate) fn add(&mut self, other: RecordedEvents) {
        self.stored += other.stored;
        self.messages.extend(other.messages);
        self.statuses.extend(other.statuses);
        self.fetches += other.fetches;
    }
}

/// A queued reply the outbox may send now.
#[derive(Debug, Clone)]
pub struct PendingDelivery {
    pub message_id: i64,
    pub channel_id: String,
    pub attempts: u32,
}

/// Everything a delivery attempt reads before it calls the plugin, read in one store call (on
/// Postgres, one flight of pipelined queries): the message, its channel (none: deleted) and
/// whether that channel's workspace is suspended, its conversation (none: deleted) with the
/// customer's last message (the messaging window and the provider's reply context), and the
/// message's files.
#[derive(Debug, Clone)]
pub struct DeliveryContext {
    pub message: Message,
    pub channel: Option<Channel>,
    pub workspace_suspended: bool,
    pub conversation: Option<Conversation>,
    pub last_inbound: Option<Message>,
    pub files: Vec<MediaFile>,
}

/// One file, as the API shows it beside its attachment.
#[derive(utoipa::ToSchema, Debug, Clone, Serialize)]
pub struct MediaFile {
    pub id: i64,
    #[serde(skip)]
    pub workspace_id: i64,
    #[serde(skip)]
    pub channel_id: Option<String>,
    #[serde(skip)]
    pub message_id: Option<i64>,
    #[serde(skip)]
    pub position: i64,
    /// `pending` (being fetched), `stored`, or `failed` (see `error`).
    pub state: String,
    pub sha256: Option<String>,
    pub size: Option<i64>,
    /// Sniffed from the bytes.
    pub mime_type: Option<String>,
    pub filename: Option<String>,
    /// Why the download failed for good, or (while pending) why the last try did not work.
    pub error: Option<String>,
    #[serde(skip)]
    pub attempts: u32,
    /// Where the people of its workspace get it (`GET`).
    pub url: String,
}

/// What the stored bytes are.
#[derive(Debug, Clone)]
pub struct StoredBytes {
    pub sha256: String,
    pub size: i64,
    pub mime_type: String,
}
