//! The outbox: outbound messages waiting for delivery, with attempts and the next try time.

use super::channels::Channel;
use super::conversations::Conversation;
use super::media::MediaFile;
use super::messages::Message;
use super::{Db, Scope, StoreResult};

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

impl Db {
    /// [`DeliveryContext`] of a queued message; `None` when the message is gone. One read
    /// connection, one blocking hop: the shared reads in turn (SQLite answers each at once).
    pub fn delivery_context(&self, message_id: i64, channel_id: &str) -> StoreResult<Option<DeliveryContext>> {
        use super::{conversations::conversation_in, media::media_of_messages_in, messages::{last_inbound_in, message_in}, workspaces::channel_suspended_in};
        let channel_id = channel_id.to_owned();
        let read = super::sql::on_sqlite(&self.reader(), move |sql| {
            Box::pin(async move {
                let Some(message) = message_in(sql, message_id).await? else { return Ok(None) };
                let channel = super::channels::channel_in(sql, &channel_id, Scope::Every).await?;
                let workspace_suspended = channel_suspended_in(sql, &channel_id).await?;
                let conversation = conversation_in(sql, message.conversation_id).await?;
                let last_inbound = last_inbound_in(sql, message.conversation_id).await?;
                let files = media_of_messages_in(sql, &super::sql::Ids::from(&[message_id][..])).await?;
                Ok(Some((message, channel, workspace_suspended, conversation, last_inbound, files)))
            })
        })?;
        let Some((message, channel, workspace_suspended, conversation, last_inbound, files)) = read else { return Ok(None) };
        let channel = channel.map(|raw| raw.open(&self.secrets)).transpose()?;
        Ok(Some(DeliveryContext { message, channel, workspace_suspended, conversation, last_inbound, files }))
    }
}
