//! What a delivery attempt reads over Postgres, in one round trip (the outbox's other
//! operations are written once for both backends: `store::backend::outbox`).

use deadpool_postgres::Client;

use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use super::PgStore;
use crate::store::channels::raw_channel;
use crate::store::conversations::conversation;
use crate::store::messages::{COLUMNS as MESSAGE_COLUMNS, read_message as message};
use crate::store::backend::DeliveryReads;
use crate::store::channels::CHANNEL_COLUMNS;
use crate::store::conversations::{CONVERSATION_COLUMNS, CONVERSATION_FROM};
use crate::store::media::MEDIA_COLUMNS;
use crate::store::model::DeliveryContext;
use crate::store::StoreResult;

#[async_trait::async_trait]
impl DeliveryReads for PgStore {
    async fn delivery_reads(&self, message_id: i64, channel_id: &str) -> StoreResult<Option<DeliveryContext>> {
        let client = self.client().await?;
        // Each read names the message, so none waits for another's answer: polled together,
        // tokio-postgres sends them in one flight and the attempt waits for one round trip.
        let of_message = "(SELECT conversation_id FROM messages WHERE id = $1)";
        let message_sql = format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = $1");
        let channel_sql = format!("SELECT {CHANNEL_COLUMNS} FROM channels WHERE id = $1");
        let suspended_sql = "SELECT w.status FROM channels c JOIN workspaces w ON w.id = c.workspace_id WHERE c.id = $1";
        let conversation_sql = format!("SELECT {CONVERSATION_COLUMNS} FROM {CONVERSATION_FROM} WHERE c.id = {of_message}");
        // NULLS LAST: SQLite sorts NULL lowest, so last in a descending order.
        let last_inbound_sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE conversation_id = {of_message} AND direction = 'inbound'
             ORDER BY provider_timestamp DESC NULLS LAST, id DESC LIMIT 1"
        );
        let files_sql = format!("SELECT {MEDIA_COLUMNS} FROM media WHERE message_id = $1 ORDER BY position");
        let (by_message, by_channel): (&[&(dyn ToSql + Sync)], &[&(dyn ToSql + Sync)]) = (&[&message_id], &[&channel_id]);
        let (message_row, channel, suspended, conversation_row, last_inbound, files) = tokio::try_join!(
            one(&client, &message_sql, by_message),
            one(&client, &channel_sql, by_channel),
            one(&client, suspended_sql, by_channel),
            one(&client, &conversation_sql, by_message),
            one(&client, &last_inbound_sql, by_message),
            all(&client, &files_sql, by_message),
        )?;
        let Some(message_row) = message_row else { return Ok(None) };
        let status: Option<String> = suspended.map(|row| row.get(0));
        Ok(Some(DeliveryContext {
            message: message(&message_row)?,
            channel: channel.map(|row| raw_channel(&row).open(&self.secrets)).transpose()?,
            workspace_suspended: status.as_deref() == Some("suspended"),
            conversation: conversation_row.map(|row| conversation(&row)),
            last_inbound: last_inbound.as_ref().map(message).transpose()?,
            files: files.iter().map(crate::store::media::media_file).collect(),
        }))
    }
}

/// At most one row of a cached statement.
async fn one(client: &Client, sql: &str, params: &[&(dyn ToSql + Sync)]) -> StoreResult<Option<Row>> {
    Ok(client.query_opt(&client.prepare_cached(sql).await?, params).await?)
}

/// Every row of a cached statement.
async fn all(client: &Client, sql: &str, params: &[&(dyn ToSql + Sync)]) -> StoreResult<Vec<Row>> {
    Ok(client.query(&client.prepare_cached(sql).await?, params).await?)
}
