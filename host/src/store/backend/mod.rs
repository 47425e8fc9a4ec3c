//! The store's operations as one interface both backends implement: SQLite ([`Db`], the
//! default, one node) and Postgres ([`PgStore`], several nodes). The server runs on it whichever
//! it was started with ([`Backend`]); each aggregate is one trait in its own module here, and one
//! conformance suite (`host/tests/store_conformance/`) runs every operation against both.
//!
//! Every aggregate is written once (`impl<S: RunSql> <Aggregate>Store for S`, over `store::sql`).
//! Where a backend is faster its own way, a small trait says so, implemented per backend:
//! storing a webhook's events ([`StoresEvents`]: `store/events.rs`, `store/pg/events.rs`) and a
//! delivery's reads ([`DeliveryReads`]); the Postgres side's own SQL lives in `store/pg/`.

mod activity;
mod channels;
mod inbox;
mod integrations;
mod media;
mod open;
mod outbox;
mod people;
mod webhook_endpoints;

pub use activity::ActivityStore;
pub use channels::ChannelStore;
pub use inbox::InboxStore;
pub use integrations::IntegrationStore;
pub use media::{BlobBytes, MediaStore};
pub use open::Backend;
pub use outbox::{DeliveryReads, OutboxStore};
pub use people::PeopleStore;
pub use webhook_endpoints::WebhookStore;

use super::model::{DeliveryStatus, EventRecord, Message, NewInbound, NewOutbound, RecordedEvents};
use super::conversations::{MARK_READ, TOUCH_BY_REPLY};
use super::media::SEND_UPLOAD;
use super::messages::{COLUMNS as MESSAGE_COLUMNS, insert_reply_sql, message_in, read_message};
use super::pg::live::announce_in;
use super::pg::PgStore;
use super::row::ReadRow;
use super::sql::{Param, RunSql, batched, body};
use super::{Db, Scope, StoreError, StoreResult, now_ms};

use std::sync::LazyLock;

/// Every aggregate's operations: what a server node needs of its store.
#[async_trait::async_trait]
pub trait Store: ActivityStore + MessageStore + ChannelStore + OutboxStore + InboxStore + IntegrationStore + MediaStore + PeopleStore + WebhookStore {
    /// Whether the database takes writes now (readiness).
    async fn check_writable(&self) -> StoreResult<()>;
}

#[async_trait::async_trait]
impl Store for Db {
    async fn check_writable(&self) -> StoreResult<()> {
        self.off_worker(move |db| db.check_writable()).await
    }
}

#[async_trait::async_trait]
impl Store for PgStore {
    async fn check_writable(&self) -> StoreResult<()> {
        PgStore::check_writable(self).await
    }
}

#[async_trait::async_trait]
pub trait MessageStore: Send + Sync {
    // Inbound messages and what the messaging window needs.
    /// Stores an inbound message with its contact and conversation; `None` when its provider id
    /// was already stored (a redelivery, to this node or another). One webhook of one message,
    /// as [`record_events`](Self::record_events) stores it.
    async fn record_inbound(&self, channel_id: &str, inbound: &NewInbound) -> StoreResult<Option<Message>> {
        let message = EventRecord::Message { inbound: inbound.clone(), files: Vec::new() };
        Ok(self.record_events(channel_id, vec![message]).await?.messages.pop())
    }
    /// Records a webhook's events for one channel in one transaction (see [`EventRecord`]).
    async fn record_events(&self, channel_id: &str, events: Vec<EventRecord>) -> StoreResult<RecordedEvents>;
    async fn message(&self, id: i64) -> StoreResult<Option<Message>>;
    /// The provider time of a conversation's last inbound message (the messaging window's start).
    async fn last_inbound_at(&self, channel_id: &str, conversation_external_id: &str) -> StoreResult<Option<i64>>;

    // Delivery statuses: a reply queued, sent, and what providers report of it.
    /// Queues an agent's reply and its delivery; the person who sent it (`sent_by`) has read the
    /// conversation up to it, in the same transaction. `NotFound` when the conversation is not
    /// the channel's or the channel not in `scope`.
    async fn queue_outbound(&self, channel_id: &str, scope: Scope, outbound: &NewOutbound) -> StoreResult<Message>;
    /// The provider accepted a queued message: its id recorded, the message leaves the outbox.
    async fn delivery_succeeded(&self, message_id: i64, provider_message_id: &str) -> StoreResult<()>;
    /// A provider's delivery status for one message, as a webhook's status event; never moves
    /// it back. The message's and its conversation's ids, when one matched.
    async fn record_status(&self, channel_id: &str, provider_message_id: &str, status: DeliveryStatus, error: Option<&str>) -> StoreResult<Option<(i64, i64)>> {
        let event = EventRecord::Status { provider_message_id: provider_message_id.to_owned(), status, error: error.map(str::to_owned) };
        let recorded = self.record_events(channel_id, vec![event]).await?;
        Ok(recorded.statuses.first().and_then(|&(conversation, message)| Some((message?, conversation))))
    }
    /// A provider's watermark (everything up to a time is read), as a webhook's watermark event;
    /// never moves a message back. How many messages changed.
    async fn record_status_watermark(&self, channel_id: &str, conversation_external_id: &str, up_to_ms: i64, status: DeliveryStatus) -> StoreResult<usize> {
        let event = EventRecord::Watermark { conversation_external_id: conversation_external_id.to_owned(), up_to_ms, status };
        Ok(self.record_events(channel_id, vec![event]).await?.stored)
    }
}

/// How a backend stores a webhook's events: each its own way (the webhook path: see
/// `store/events.rs` and `store/pg/events.rs`); the rest of [`MessageStore`] is written once.
#[async_trait::async_trait]
pub(crate) trait StoresEvents {
    async fn store_events(&self, channel_id: &str, events: Vec<EventRecord>) -> StoreResult<RecordedEvents>;
}

#[async_trait::async_trait]
impl<S: RunSql + StoresEvents> MessageStore for S {
    async fn record_events(&self, channel_id: &str, events: Vec<EventRecord>) -> StoreResult<RecordedEvents> {
        self.store_events(channel_id, events).await
    }

    async fn message(&self, id: i64) -> StoreResult<Option<Message>> {
        self.read(body(move |sql| Box::pin(async move { message_in(sql, id).await }))).await
    }

    async fn last_inbound_at(&self, channel_id: &str, conversation_external_id: &str) -> StoreResult<Option<i64>> {
        let (channel_id, external_id) = (channel_id.to_owned(), conversation_external_id.to_owned());
        self.read(body(move |sql| {
            Box::pin(async move {
                let window = sql.row("SELECT last_inbound_at FROM conversations WHERE channel_id = $1 AND external_id = $2", &[&channel_id, &external_id]).await?;
                Ok(window.and_then(|row| row.opt_int(0)))
            })
        }))
        .await
    }

    async fn queue_outbound(&self, channel_id: &str, scope: Scope, outbound: &NewOutbound) -> StoreResult<Message> {
        shared_queue_outbound(self, channel_id, scope, outbound).await
    }

    async fn delivery_succeeded(&self, message_id: i64, provider_message_id: &str) -> StoreResult<()> {
        outbox::delivery_succeeded(self, message_id, provider_message_id).await
    }
}

/// [`MessageStore::queue_outbound`], one body for both backends, in their group commit: the
/// message (only into a conversation of the channel, in `scope`), its delivery, the
/// conversation reopened, the sender's read mark, the uploaded file it sends; announced to
/// every node (Postgres).
async fn shared_queue_outbound(store: &impl RunSql, channel_id: &str, scope: Scope, outbound: &NewOutbound) -> StoreResult<Message> {
    static INSERT: LazyLock<String> = LazyLock::new(|| format!("{} RETURNING {MESSAGE_COLUMNS}", insert_reply_sql()));
    let queue = batched(|sql, (channel_id, scope, outbound): &(String, Scope, NewOutbound)| {
        Box::pin(async move {
            let (now, conversation) = (now_ms(), outbound.conversation_id);
            let params: [&dyn Param; 9] = [&outbound.text, &outbound.content.to_json(), &outbound.reply_to, &now, &outbound.sent_by, &conversation, channel_id, &scope.workspace(), &scope.bot()];
            let stored = read_message(&sql.row(&INSERT, &params).await?.ok_or(StoreError::NotFound)?)?;
            sql.execute("INSERT INTO outbox (message_id, channel_id, conversation_id, next_attempt_at) VALUES ($1, $2, $3, $4)", &[&stored.id, channel_id, &conversation, &now]).await?;
            sql.execute(TOUCH_BY_REPLY, &[&conversation, &now]).await?;
            if let Some(person) = outbound.sent_by {
                sql.execute(MARK_READ, &[&person, &conversation, &Some(stored.id)]).await?;
            }
            if let Some(upload) = outbound.file
                && sql.execute(SEND_UPLOAD, &[channel_id, &stored.id, &now, &upload]).await? == 0
            {
                return Err(StoreError::NotFound);
            }
            announce_in(sql, "message", channel_id, conversation, Some(stored.id)).await?;
            Ok(stored)
        })
    });
    store.write_batched((channel_id.to_owned(), scope, outbound.clone()), queue).await
}
