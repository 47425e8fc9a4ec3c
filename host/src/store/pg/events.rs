//! A webhook's events over Postgres: recorded in one transaction on whichever node the webhook
//! reached. Redeliveries are decided by the unique keys, as for a single message
//! ([`super::messages`]); a new message's files are recorded with it, and a webhook's other
//! events, by the bodies both backends share (`store/events.rs`).

use deadpool_postgres::GenericClient;

use super::PgStore;
use super::messages::{lock_order, record_inbound_in};
use super::writer::LoneInbound;
use crate::store::StoreResult;
use crate::store::backend::StoresEvents;
use crate::store::events::{record_files_in, record_update_in};
use crate::store::model::{EventRecord, Message, RecordedEvents};
use crate::store::sql::OnPostgres;

#[async_trait::async_trait]
impl StoresEvents for PgStore {
    /// A webhook's events in the writer's next batch (one group commit).
    async fn store_events(&self, channel_id: &str, events: Vec<EventRecord>) -> StoreResult<RecordedEvents> {
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
        // A customer's message by Postgres's own statement; the rest, and a new message's
        // files, by the bodies both backends share.
        if let EventRecord::Message { inbound, files } = event {
            let Some(message) = record_inbound_in(tx, channel_id, inbound).await? else { continue };
            recorded.fetches += record_files_in(&OnPostgres(tx), channel_id, message.id, files).await?;
            recorded.stored += 1;
            recorded.messages.push(message);
        } else {
            recorded.add(record_update_in(&OnPostgres(tx), channel_id, event).await?);
        }
    }
    Ok(recorded)
}
