//! The outbox: outbound messages waiting for delivery, with attempts and the next try time.

use super::{Db, Scope, StoreResult};
use super::model::DeliveryContext;

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
