//! A webhook's events over Postgres: recorded in one transaction on whichever node the webhook
//! reached. Redeliveries are decided by the unique keys, as for a single message
//! ([`super::messages`]); a new message's files are recorded with it.

use deadpool_postgres::GenericClient;

use super::PgStore;
use super::messages::{lock_order, record_inbound_in, record_status_in, record_status_watermark_in};
use super::writer::LoneInbound;
use crate::store::model::Message;
use crate::store::StoreResult;
use crate::store::model::{EventRecord, FileRecord, RecordedEvents};
use crate::store::now_ms;

impl PgStore {
    /// Records a webhook's events in the writer's next batch (one group commit).
    pub async fn record_events(&self, channel_id: &str, events: Vec<EventRecord>) -> StoreResult<RecordedEvents> {
        if events.is_empty() {
            return Ok(RecordedEvents::default());
        }
        // A webhook's first message says where its locks start (statuses lock only messages).
        let first_conversation = events.iter().find_map(|event| match event {
            EventRecord::Message { inbound, .. } => Some(inbound.conversation_external_id.as_str()),
            _ => None,
        });
        let order = first_conversation.map(|conversation| lock_order(channel_id, conversation)).unwrap_or_default();
        // A customer's message alone (most webhooks): the batch may store it with others.
        if let [EventRecord::Message { inbound, files }] = events.as_slice()
            && files.is_empty()
        {
            let lone = LoneInbound { channel_id: channel_id.to_owned(), inbound: inbound.clone() };
            let as_result = |stored: Option<Message>| RecordedEvents { stored: usize::from(stored.is_some()), messages: stored.into_iter().collect(), ..RecordedEvents::default() };
            return self.writer.write_lone_inbound(order, lone, as_result, (channel_id.to_owned(), events), write_events).await;
        }
        self.writer.write_in_order(order, (channel_id.to_owned(), events), write_events).await
    }
}

/// [`record_events_in`] as the writer runs it.
fn write_events<'a>(tx: &'a deadpool_postgres::Client, (channel_id, events): &'a (String, Vec<EventRecord>)) -> futures_util::future::BoxFuture<'a, StoreResult<RecordedEvents>> {
    Box::pin(record_events_in(tx, channel_id, events))
}

async fn record_events_in<C: GenericClient + Send + Sync>(tx: &C, channel_id: &str, events: &[EventRecord]) -> StoreResult<RecordedEvents> {
    let mut recorded = RecordedEvents::default();
    for event in events {
        match event {
            EventRecord::Message { inbound, files } => {
                let Some(message) = record_inbound_in(tx, channel_id, inbound).await? else { continue };
                for file in files {
                    record_file_in(tx, channel_id, message.id, file).await?;
                    recorded.fetches += usize::from(matches!(file, FileRecord::Fetch { .. }));
                }
                recorded.stored += 1;
                recorded.messages.push(message);
            }
            EventRecord::Status { provider_message_id, status, error } => {
                let changed = record_status_in(tx, channel_id, provider_message_id, *status, error.as_deref()).await?;
                recorded.stored += usize::from(changed.is_some());
                recorded.statuses.extend(changed.map(|(message, conversation)| (conversation, Some(message))));
            }
            EventRecord::Watermark { conversation_external_id, up_to_ms, status } => {
                let (changed, conversation) = record_status_watermark_in(tx, channel_id, conversation_external_id, *up_to_ms, *status).await?;
                recorded.stored += changed;
                recorded.statuses.extend(conversation.map(|id| (id, None)));
            }
            EventRecord::Contact(contact) => {
                let upsert = tx.prepare_cached(crate::store::contacts::UPSERT_CONTACT).await?;
                tx.execute(&upsert, &[&channel_id, &contact.external_id, &contact.name, &contact.handle, &now_ms()]).await?;
                recorded.stored += 1;
            }
        }
    }
    Ok(recorded)
}

/// A new message's attachment file: kept bytes (already in the shared media files) recorded
/// as stored, or a fetch job any node's fetcher takes.
async fn record_file_in<C: GenericClient + Send + Sync>(tx: &C, channel_id: &str, message_id: i64, file: &FileRecord) -> StoreResult<()> {
    let now = now_ms();
    match file {
        FileRecord::Fetch { position, filename } => {
            let queue = tx
                .prepare_cached(
                    "INSERT INTO media (workspace_id, channel_id, message_id, position, state, filename, next_attempt_at, created_at, updated_at)
                     SELECT workspace_id, id, $2, $3, 'pending', $4, $5, $5, $5 FROM channels WHERE id = $1",
                )
                .await?;
            tx.execute(&queue, &[&channel_id, &message_id, &(*position as i32), filename, &now]).await?;
        }
        FileRecord::Kept { position, filename, bytes } => {
            let keep = tx
                .prepare_cached(
                    "INSERT INTO media (workspace_id, channel_id, message_id, position, state, sha256, size, mime_type, filename, created_at, updated_at)
                     SELECT workspace_id, id, $2, $3, 'stored', $4, $5, $6, $7, $8, $8 FROM channels WHERE id = $1",
                )
                .await?;
            tx.execute(&keep, &[&channel_id, &message_id, &(*position as i32), &bytes.sha256, &bytes.size, &bytes.mime_type, filename, &now]).await?;
            crate::store::media::blob_in(&crate::store::sql::OnPostgres(tx), bytes).await?;
        }
    }
    Ok(())
}
