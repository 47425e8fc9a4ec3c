//! A webhook's events as the store records them: every event a plugin reported for one channel,
//! stored in one transaction (acknowledged means stored), deduplicated on the provider's ids.
//! Ingest turns the plugin's events into these; each backend records them
//! (`backend::MessageStore::record_events`): SQLite in one group commit, Postgres in one
//! transaction on any node.

use rusqlite::Connection;

use super::contacts;
use super::messages;
use super::{Db, StoreResult};
use super::model::{EventRecord, FileRecord, RecordedEvents};

impl Db {
    /// Records a channel's events in one group commit.
    pub async fn record_events(&self, channel_id: &str, events: Vec<EventRecord>) -> StoreResult<RecordedEvents> {
        if events.is_empty() {
            return Ok(RecordedEvents::default());
        }
        let channel_id = channel_id.to_owned();
        self.write(move |conn| {
            let mut recorded = RecordedEvents::default();
            for event in &events {
                record_in(conn, &channel_id, event, &mut recorded)?;
            }
            Ok(recorded)
        })
        .await
    }
}

fn record_in(conn: &Connection, channel_id: &str, event: &EventRecord, recorded: &mut RecordedEvents) -> StoreResult<()> {
    match event {
        EventRecord::Message { inbound, files } => {
            let Some(message) = messages::record_inbound_in(conn, channel_id, inbound)? else { return Ok(()) };
            for file in files {
                match file {
                    FileRecord::Kept { position, filename, bytes } => {
                        super::media::record_kept_in(conn, channel_id, message.id, *position, filename.as_deref(), bytes)?;
                    }
                    FileRecord::Fetch { position, filename } => {
                        super::media::queue_fetch_in(conn, channel_id, message.id, *position, filename.as_deref())?;
                        recorded.fetches += 1;
                    }
                }
            }
            recorded.stored += 1;
            recorded.messages.push(message);
        }
        EventRecord::Status { provider_message_id, status, error } => {
            let changed = messages::record_status_in(conn, channel_id, provider_message_id, *status, error.as_deref())?;
            recorded.stored += usize::from(changed.is_some());
            recorded.statuses.extend(changed.map(|(message, conversation)| (conversation, Some(message))));
        }
        EventRecord::Watermark { conversation_external_id, up_to_ms, status } => {
            let changed = messages::record_status_watermark_in(conn, channel_id, conversation_external_id, *up_to_ms, *status)?;
            recorded.stored += changed;
            if changed > 0
                && let Some(found) = {
                    let (channel, external) = (channel_id.to_owned(), conversation_external_id.clone());
                    super::sql::on_sqlite(conn, move |sql| Box::pin(async move { super::conversations::conversation_at_in(sql, &channel, &external).await }))?
                }
            {
                recorded.statuses.push((found.id, None));
            }
        }
        EventRecord::Contact(contact) => {
            contacts::upsert(conn, channel_id, contact)?;
            recorded.stored += 1;
        }
    }
    Ok(())
}
